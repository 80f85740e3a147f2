//! The global run queue (Go: `sched.runq`, `globrunqput`, `globrunqget`) and where a
//! runnable goroutine goes (`runqput`, `ready`).
//!
//! # Invariants
//!
//! - The global queue is a `VecDeque` in [`Locked`], under `Sched::lock`; `runqsize` mirrors
//!   its length so that Ms can skip the lock when it is empty. Every change stores `runqsize`
//!   while the lock is held.
//! - A goroutine made runnable by an M that holds one of this runtime's Ps goes into that P's
//!   ring (`runnext` for a wake-up or a spawn, so it shares the waker's time slice); anything
//!   else (a plain thread, an M without a P, a full ring's spill) goes to the global queue.
//!   Either way the caller then calls `wakep` (`idle.rs`), so a sleeping M is started if the
//!   work needs one.
//! - `globrunqget` takes a fair share (`len / gomaxprocs + 1`, at most half a ring) so one P
//!   does not drain the queue while others idle.

use super::g::G;
use super::m::current_p_of;
use super::p::P;
use super::runq;
use super::{Locked, Sched};
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;

impl Sched {
    /// Go: `runqput`, spilling to the global queue when the ring is full (`runqputslow`).
    pub(crate) fn runqput(&self, pp: &P, g: Arc<G>, next: bool) {
        // SAFETY: callers pass the P their M holds (`current_p_of`), so we are its owner.
        if let Err(batch) = unsafe { pp.runq.put(g, next) } {
            self.globrunqputbatch(batch);
        }
    }

    /// Go: `globrunqput`.
    pub(crate) fn globrunqput(&self, g: Arc<G>) {
        let mut l = self.lock.lock();
        l.runq.push_back(g);
        self.runqsize.store(l.runq.len(), SeqCst);
    }

    /// Go: `globrunqputbatch`: the half of a full local ring that `runqput` spills.
    fn globrunqputbatch(&self, batch: Vec<Arc<G>>) {
        let mut l = self.lock.lock();
        l.runq.extend(batch);
        self.runqsize.store(l.runq.len(), SeqCst);
    }

    /// Go: `globrunqget`: takes a fair share of the global queue, returns one G and moves the
    /// rest into `pp`'s local queue. `max` 0 means no limit beyond the fair share.
    pub(super) fn globrunqget(&self, l: &mut Locked, pp: &P, max: usize) -> Option<Arc<G>> {
        let size = l.runq.len();
        if size == 0 {
            return None;
        }
        let mut n = size
            .min(size / self.gomaxprocs + 1)
            .min(runq::LOCAL_QUEUE_CAPACITY / 2);
        if max > 0 {
            n = n.min(max);
        }
        let g = l.runq.pop_front();
        let rest: Vec<Arc<G>> = l.runq.drain(..n - 1).collect();
        self.runqsize.store(l.runq.len(), SeqCst);
        // SAFETY: the caller's M holds `pp`.
        if let Err(back) = unsafe { pp.runq.put_batch(rest) } {
            for g in back.into_iter().rev() {
                l.runq.push_front(g);
            }
            self.runqsize.store(l.runq.len(), SeqCst);
        }
        g
    }

    /// Go: `ready`/`goready`: makes a woken G runnable, in the waker's `runnext` when the waker
    /// runs on this runtime (so the woken G shares its time slice), else the global queue.
    /// `goid` is the goroutine woken, for the trace.
    pub(crate) fn ready(self: &Arc<Self>, g: Arc<G>, goid: u64) {
        self.ready_on(current_p_of(self), g, goid);
    }

    /// [`ready`](Self::ready) with the waker's P of this runtime (`None`: it holds none)
    /// already looked up.
    fn ready_on(self: &Arc<Self>, pp: Option<&P>, g: Arc<G>, goid: u64) {
        super::trace::go_unpark(self, pp, goid);
        match pp {
            Some(pp) => self.runqput(pp, g, true),
            None => self.globrunqput(g),
        }
        self.wakep();
    }

    /// [`ready`](Self::ready) of a G whose runtime the caller does not hold: the caller's M
    /// lends its own reference to the runtime when it is one of `g`'s (the hot path: a
    /// goroutine wakes another), else `g`'s reference is cloned.
    pub(crate) fn ready_owned(g: Arc<G>, goid: u64) {
        match super::m::ctx() {
            Some(c) if Arc::ptr_eq(&c.sched, &g.sched) => {
                c.sched.ready_on(super::m::held_p(c), g, goid)
            }
            _ => {
                let s = g.sched.clone();
                s.ready(g, goid);
            }
        }
    }
}
