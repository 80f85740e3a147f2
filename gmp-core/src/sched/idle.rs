//! The spinning/idle dance (Go: `wakep`, `startm`, `stopm`, `handoffp`, `pidleget`,
//! `pidleput`, `resetspinning`, and the "delicate dance" of `findRunnable`'s end).
//!
//! # The protocol
//!
//! Work can appear anywhere (a spawn, a wake-up, a timer, I/O, a syscall's end) while Ms
//! sleep. The rule that keeps it from being stranded, Go's:
//!
//! - A submitter makes the work visible first, then calls [`Sched::wakep`], which (after a
//!   SeqCst fence) starts a *spinning* M only if there is an idle P and no M spins already.
//! - A spinning M (counted in `nmspinning`) looks for work in every queue. One that finds
//!   work stops spinning with [`resetspinning`], which wakes another spinner in its place,
//!   since there may be more work than one M can take.
//! - A spinner that finds nothing gives up its P (`pidleput`), then decrements `nmspinning`,
//!   fences, and rechecks every queue (`findrunnable`'s end). Either the submitter's `wakep`
//!   saw `nmspinning == 0` and started an M, or this recheck sees the work: never neither.
//! - A spinner that found work but no idle P sets `needspinning` (go.dev/issue/43997): the
//!   next M to give up a P spins instead of sleeping.
//! - At most half the busy Ps' worth of Ms spin at once (`findrunnable`).
//!
//! # Who may touch what
//!
//! The idle lists (`pidle`, `midle`) and M bookkeeping live in [`Locked`] under
//! `Sched::lock`; `npidle`, `nmspinning` and `needspinning` are atomics readable without it.
//! `startm` hands a P to an idle M by storing `MShared::nextp` and then unparking its note;
//! the M reads `nextp` after it wakes. An M's `spinning` flag is its own (`MCtx`).

use super::dump::checkdead;
use super::g::G;
use super::m::{MCtx, MShared};
use super::p::{acquirep, releasep, P};
use super::{Locked, Sched, NO_P};
use crate::loom::atomic::{fence, Ordering::*};
use crate::loom::Arc;

impl Sched {
    /// Go: `pidleget`.
    pub(super) fn pidleget(&self, l: &mut Locked) -> Option<usize> {
        let p = l.pidle.pop()?;
        self.npidle.fetch_sub(1, SeqCst);
        // A P gets busy: sysmon must watch again (Go: the `sched.sysmonwait` wake-ups).
        crate::loom::seqcst_fence();
        if self.sysmon_wait.load(SeqCst) {
            self.sysmon_wait.store(false, SeqCst);
            self.sysmon_note.unpark();
        }
        Some(p)
    }

    /// Go: `pidleput`.
    pub(super) fn pidleput(&self, l: &mut Locked, p: usize) {
        l.pidle.push(p);
        self.npidle.fetch_add(1, SeqCst);
    }

    /// Go: `wakep`: starts a spinning M if there is an idle P and nobody is spinning.
    pub(crate) fn wakep(self: &Arc<Self>) {
        // StoreLoad: the work the caller just queued before the spinner count (pairs with the
        // fence after a departing spinner's decrement in `findrunnable`).
        fence(SeqCst);
        if self.nmspinning.load(SeqCst) != 0 || self.npidle.load(SeqCst) == 0 {
            return;
        }
        if self
            .nmspinning
            .compare_exchange(0, 1, SeqCst, SeqCst)
            .is_err()
        {
            return;
        }
        self.startm(None, true);
    }

    /// Go: `startm`: gives P `pp` (or an idle one) to an idle M, or to a new M. With `spinning`,
    /// the caller has already counted the M in `nmspinning`.
    pub(super) fn startm(self: &Arc<Self>, pp: Option<usize>, spinning: bool) {
        let mut l = self.lock.lock();
        let pp = match pp.or_else(|| self.pidleget(&mut l)) {
            Some(p) => p,
            None => {
                if spinning {
                    // Go: pidlegetSpinning found no P: ask the next M that drops one to spin.
                    self.needspinning.store(true, SeqCst);
                    self.nmspinning.fetch_sub(1, SeqCst);
                }
                return;
            }
        };
        if self.shutdown.load(SeqCst) && self.ngoroutines.load(SeqCst) == 0 {
            self.pidleput(&mut l, pp);
            if spinning {
                self.nmspinning.fetch_sub(1, SeqCst);
            }
            return;
        }
        if let Some(mm) = l.midle.pop() {
            l.nmidle -= 1;
            drop(l);
            mm.spinning.store(spinning, SeqCst);
            mm.nextp.store(pp, SeqCst);
            mm.note.unpark();
            return;
        }
        if l.mcount >= self.max_threads {
            // Go: "runtime: program exceeds 10000-thread limit" (checkmcount), fatal.
            self.pidleput(&mut l, pp);
            if spinning {
                self.nmspinning.fetch_sub(1, SeqCst);
            }
            drop(l);
            let msg = format!(
                "gmp: program exceeds the {}-thread limit (Builder::max_threads): too many Ms \
                 are blocked in syscall(f)",
                self.max_threads
            );
            eprintln!("{msg}");
            self.report_fatal(msg);
            return;
        }
        l.mcount += 1;
        let id = self.next_mid.fetch_add(1, Relaxed);
        let mm = Arc::new(MShared::new(id));
        l.allm.push(mm.clone());
        mm.spinning.store(spinning, SeqCst);
        mm.nextp.store(pp, SeqCst);
        let (sched, counted) = (self.clone(), super::metrics::ThreadCounted::new(self));
        let spawned = crate::loom::thread::Builder::new()
            .name(format!("gmp-m{id}"))
            .spawn(move || counted.run(|| super::m::mstart(sched, mm)));
        match spawned {
            Ok(h) => l.threads.push(h),
            Err(e) => {
                // Go: "fatal error: newosproc". Put things back and report loudly; the work stays
                // queued for the Ms that exist.
                l.mcount -= 1;
                self.pidleput(&mut l, pp);
                if spinning {
                    self.nmspinning.fetch_sub(1, SeqCst);
                }
                drop(l);
                eprintln!("gmp: cannot start an M (OS thread): {e}");
            }
        }
    }

    /// Go: `handoffp`: the M holding `pp` is going away from it (locked goroutine, syscall):
    /// give the P to an M if there is anything it should do, else make it idle.
    pub(crate) fn handoffp(self: &Arc<Self>, pp: usize) {
        self.stats.handoffs.fetch_add(1, Relaxed);
        let p = &self.allp[pp];
        if !p.runq.is_empty() || self.runqsize.load(SeqCst) > 0 {
            self.startm(Some(pp), false);
            return;
        }
        if self.nmspinning.load(SeqCst) + self.npidle.load(SeqCst) == 0
            && self
                .nmspinning
                .compare_exchange(0, 1, SeqCst, SeqCst)
                .is_ok()
        {
            self.startm(Some(pp), true);
            return;
        }
        let mut l = self.lock.lock();
        if self.runqsize.load(SeqCst) > 0 {
            drop(l);
            self.startm(Some(pp), false);
            return;
        }
        // If this would be the last P to go idle while timers or I/O waiters are pending and
        // nobody polls, someone must wait for them (Go: handoffp's "last running P" case).
        if (p.timer0.load(SeqCst) != 0 || self.netpoll_any_waiters()) && l.poller.is_none() {
            drop(l);
            self.startm(Some(pp), false);
            return;
        }
        let when = p.timer0.load(SeqCst);
        self.pidleput(&mut l, pp);
        drop(l);
        // The poller may sleep past this P's first timer: break it (Go: handoffp ends with
        // `wakeNetPoller(when)`).
        if when != 0 {
            self.wake_netpoller(when);
        }
    }
}

/// Go: `resetspinning`: a spinner found work; if it was the last spinner, start another,
/// since there may be more work than this M can take.
pub(super) fn resetspinning(c: &MCtx) {
    c.spinning.set(false);
    let prev = c.sched.nmspinning.fetch_sub(1, SeqCst);
    debug_assert!(prev > 0, "nmspinning underflow");
    c.sched.wakep();
}

/// Go: `m.becomeSpinning`: this M starts looking for work to steal, and counts in
/// `nmspinning` so that `wakep` does not start another.
pub(super) fn become_spinning(c: &MCtx) {
    c.spinning.set(true);
    c.sched.nmspinning.fetch_add(1, SeqCst);
}

/// Go: `stopm`: sleep on the idle list until `startm` hands this M a P. Returns `false` when
/// the M should exit instead (shutdown with no goroutines left).
pub(super) fn stopm(c: &MCtx) -> bool {
    let s = &*c.sched;
    let mut l = s.lock.lock();
    if s.shutdown.load(SeqCst) && s.ngoroutines.load(SeqCst) == 0 {
        return false;
    }
    l.midle.push(c.m.clone());
    l.nmidle += 1;
    let quiet = checkdead(s, &mut l);
    drop(l);
    quiet.run(&c.sched);
    loop {
        c.m.note.park();
        let p = c.m.nextp.swap(NO_P, SeqCst);
        if p != NO_P {
            acquirep(c, p);
            c.spinning.set(c.m.spinning.load(SeqCst));
            return true;
        }
        if s.shutdown.load(SeqCst) && s.ngoroutines.load(SeqCst) == 0 {
            let mut l = s.lock.lock();
            if let Some(i) = l.midle.iter().position(|x| Arc::ptr_eq(x, &c.m)) {
                l.midle.swap_remove(i);
                l.nmidle -= 1;
                return false;
            }
            // startm already took us off the idle list: a P is on its way.
        }
    }
}

/// What an M that found nothing does next (see [`give_up_p`]).
pub(super) enum AfterGiveUp {
    /// Work turned up before the P was released: run it.
    Run(Arc<G>),
    /// The recheck found work and took a P again: look for work from the top, spinning.
    Again,
    /// The M holds no P and nothing was found: wait for timers or I/O, or sleep (`stopm`).
    Idle,
}

/// The end of Go's `findRunnable` when nothing was found: take the global queue's work if some
/// arrived, spin again if a spinner asked for it (`needspinning`), else give up P `pp`
/// (`releasep`, `pidleput`). Then, if this M was spinning, the delicate dance: stop counting
/// as a spinner *before* the final recheck of every queue, so that a submitter either sees
/// `nmspinning == 0` and wakes an M (`wakep`), or its work is seen here.
pub(super) fn give_up_p(c: &MCtx, pp: &P) -> AfterGiveUp {
    let s = &*c.sched;
    let mut l = s.lock.lock();
    if let Some(g) = s.globrunqget(&mut l, pp, 0) {
        return AfterGiveUp::Run(g);
    }
    if !c.spinning.get() && s.needspinning.swap(false, SeqCst) {
        drop(l);
        become_spinning(c);
        return AfterGiveUp::Again;
    }
    let p = releasep(c);
    s.pidleput(&mut l, p);
    drop(l);
    // The delicate dance (Go: findRunnable step 12): stop counting as a spinner *before*
    // the final recheck, so a submitter either sees nmspinning == 0 and wakes an M, or its
    // work is seen here.
    if c.spinning.replace(false) {
        s.nmspinning.fetch_sub(1, SeqCst);
        // StoreLoad: the decrement above before the queue checks below (pairs with the
        // fence in `wakep`).
        fence(SeqCst);
        if s.runqsize.load(SeqCst) > 0 {
            let mut l = s.lock.lock();
            if !l.runq.is_empty() {
                if let Some(p) = s.pidleget(&mut l) {
                    acquirep(c, p);
                    become_spinning(c);
                    let pp = &s.allp[p];
                    if let Some(g) = s.globrunqget(&mut l, pp, 0) {
                        return AfterGiveUp::Run(g);
                    }
                    drop(l);
                    return AfterGiveUp::Again;
                }
            }
        }
        for p2 in s.allp.iter() {
            if !p2.runq.is_empty() {
                let mut l = s.lock.lock();
                if let Some(p) = s.pidleget(&mut l) {
                    drop(l);
                    acquirep(c, p);
                    become_spinning(c);
                    return AfterGiveUp::Again;
                }
                break;
            }
        }
    }
    AfterGiveUp::Idle
}
