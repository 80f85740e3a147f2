//! The M's loop (Go: `schedule`, `findRunnable`, `execute`, and what runs on g0 after a
//! goroutine suspends: `park_m`, `gosched_m`, `goexit0`).
//!
//! # Invariants
//!
//! - Everything here runs on the M's own stack (Go's g0), never on a goroutine's.
//! - A goroutine dequeued from a run queue is RUNNABLE; `execute` moves it to RUNNING and from
//!   then on this M owns the G's cells (`co`, `task`, `lockedm`, ...) until it publishes the
//!   goroutine again: WAITING in `park_m`, RUNNABLE into a queue in `gosched_m` or
//!   `exitsyscall0`, DEAD in `gdestroy`. The coroutine always goes back into the G *before*
//!   that publication, so whoever takes the G next finds it there.
//! - A suspend handler returns `Some(co)` when the same goroutine should continue at once
//!   (a permit raced its park; it yielded with nothing else to run), so the common ping-pong
//!   and yield paths never touch a queue.
//! - `findrunnable` returns with this M holding a P (possibly another one than it came with)
//!   or `None` when the M should exit; giving the P up and taking one back follow the
//!   spinning protocol of `idle.rs`.

use super::co::{Co, Resume, Suspend, Yielder};
use super::copyout::restore_stack;
use super::g::{self, G};
use super::idle::{become_spinning, give_up_p, resetspinning, stopm, AfterGiveUp};
use super::lockosthread::{startlockedm, stoplockedm};
use super::m::{current_g, fastrand, MCtx};
use super::p::{acquirep, releasep, P, P_RUNNING};
use super::syscall::exitsyscall0;
use super::{Sched, NO_P};
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;
use corosensei::CoroutineResult;

/// Same as Go's `schedtick%61` check in `findRunnable` (runtime/proc.go): how often a P looks
/// at the global queue before its own, so goroutines there are not starved. 61 is prime so
/// it does not fall into step with other periodic behaviour (tokio copies it too).
const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// Same as Go's `stealTries` (runtime/proc.go).
const STEAL_TRIES: usize = 4;

/// Go: `schedule`: one round of find-and-run, forever (until shutdown).
pub(super) fn schedule(c: &MCtx) {
    loop {
        if let Some(lg) = c.lockedg.take() {
            // Our locked goroutine is not running: wait for it (Go: `stoplockedm`).
            c.lockedg.set(Some(lg));
            c.trace_tick_fresh.set(false);
            match stoplockedm(c) {
                Some(g) => execute(c, g, false),
                None => return,
            }
            continue;
        }
        if c.p.get() == NO_P {
            // Our goroutine left `syscall(f)`, found no P and queued itself (Go:
            // `exitsyscall0` → `stopm`).
            if !stopm(c) {
                return;
            }
            continue;
        }
        // A run slice just ended on this P (tracing): its tick dates the next slice's start
        // only if the next goroutine is found at once (`findrunnable`'s first look).
        let fresh = c.trace_tick_fresh.replace(false);
        let Some((g, inherit)) = findrunnable(c, fresh) else {
            return;
        };
        if c.spinning.get() {
            resetspinning(c);
        }
        // SAFETY: we dequeued the G (RUNNABLE), so we own its cells.
        let lockedm = unsafe { g.lockedm.with(|m| (*m).clone()) };
        match lockedm {
            Some(m2) if !Arc::ptr_eq(&m2, &c.m) => {
                c.trace_tick_fresh.set(false);
                startlockedm(c, g, m2);
                if !stopm(c) {
                    return;
                }
            }
            _ => execute(c, g, inherit),
        }
    }
}

/// Go: `findRunnable`. Returns a goroutine to run (and whether it inherits the time slice),
/// or `None` when the M should exit (runtime shut down). `fresh`: the trace tick of the slice
/// that just ended may date the next one (kept only for a goroutine found at once in the
/// P's own queue, with no timer run first).
fn findrunnable(c: &MCtx, mut fresh: bool) -> Option<(Arc<G>, bool)> {
    let s = &*c.sched;
    'top: loop {
        let pp = &s.allp[c.p.get()];
        if s.shutdown.load(SeqCst) && s.ngoroutines.load(SeqCst) == 0 {
            if c.spinning.replace(false) {
                s.nmspinning.fetch_sub(1, SeqCst);
            }
            let p = releasep(c);
            let mut l = s.lock.lock();
            s.pidleput(&mut l, p);
            return None;
        }
        // Read the clock only when there are timers to look at (it is not free on every VM).
        if pp.timer0.load(Relaxed) != 0 {
            fresh = false;
            c.sched.check_timers(pp, s.now());
        }
        // Fairness: look at the global queue first now and then.
        if pp.schedtick.load(Relaxed) % GLOBAL_QUEUE_INTERVAL == 0 && s.runqsize.load(Relaxed) > 0 {
            let g = s.globrunqget(&mut s.lock.lock(), pp, 1);
            if let Some(g) = g {
                return Some((g, false));
            }
        }
        // SAFETY: this M holds `pp`, so it is the queue's owner.
        if let Some(x) = unsafe { pp.runq.get() } {
            c.trace_tick_fresh.set(fresh);
            return Some(x);
        }
        fresh = false;
        if s.runqsize.load(SeqCst) > 0 {
            let g = s.globrunqget(&mut s.lock.lock(), pp, 0);
            if let Some(g) = g {
                return Some((g, false));
            }
        }
        // Poll the network without blocking, if goroutines wait on I/O and no M is blocked
        // in the poller (Go: findRunnable step 8), so a busy runtime still sees I/O.
        if s.netpoll_any_waiters() && s.poll_until.load(SeqCst) == 0 {
            let ready = s.netpoll_nonblock();
            if !ready.is_empty() {
                s.injectglist(ready); // into this P's queue
                                      // SAFETY: this M holds `pp`, so it is the queue's owner.
                if let Some(x) = unsafe { pp.runq.get() } {
                    return Some(x);
                }
            }
        }
        // Steal, as a spinning M; spinners are capped at half the busy Ps.
        let busy = s.gomaxprocs - s.npidle.load(SeqCst);
        if c.spinning.get() || 2 * s.nmspinning.load(SeqCst) < busy {
            if !c.spinning.get() {
                become_spinning(c);
            }
            if let Some(g) = stealwork(c, pp) {
                return Some((g, false));
            }
        }
        // Nothing: give up the P, and as a spinner recheck every queue (`idle.rs`).
        match give_up_p(c, pp) {
            AfterGiveUp::Run(g) => return Some((g, false)),
            AfterGiveUp::Again => continue 'top,
            AfterGiveUp::Idle => {}
        }
        // Timers and I/O: one M waits in the poller until the earliest timer or an I/O event
        // (Go: the blocking netpoll of step 13).
        // (A bubble's timers are not waited for: its clock moves when every goroutine is
        // durably blocked, `synctest.rs`.)
        let until = s.bubble.is_none().then(|| s.earliest_timer()).flatten();
        if until.is_some() || s.netpoll_any_waiters() {
            let mut l = s.lock.lock();
            // During shutdown too, while cancelled goroutines unwind: their destructors may
            // sleep. The last one's exit wakes the poller (`gdestroy` → `wake_all_ms`).
            let done = s.shutdown.load(SeqCst) && s.ngoroutines.load(SeqCst) == 0;
            if l.poller.is_none() && !done {
                l.poller = Some(c.m.clone());
                s.poll_until.store(until.unwrap_or(u64::MAX), SeqCst);
                drop(l);
                let ready = s.netpoll_block(&c.m, until);
                let mut l = s.lock.lock();
                l.poller = None;
                s.poll_until.store(0, SeqCst);
                if let Some(p) = s.pidleget(&mut l) {
                    drop(l);
                    acquirep(c, p);
                    s.injectglist(ready); // into our P (Go: run the first, inject the rest)
                    continue 'top;
                }
                drop(l);
                // Every P is busy: their Ms run their own timers and take these from the
                // global queue.
                s.injectglist(ready);
            } else if until.is_some_and(|u| u < s.poll_until.load(SeqCst)) {
                if let Some(pm) = l.poller.clone() {
                    drop(l);
                    s.break_poller(&pm); // Go: netpollBreak
                }
            }
        }
        if !stopm(c) {
            return None;
        }
    }
}

/// Go: `stealWork`: up to 4 passes over the other Ps in random order; the last pass also
/// runs their due timers and may take their `runnext`.
fn stealwork(c: &MCtx, pp: &P) -> Option<Arc<G>> {
    let s = &*c.sched;
    let n = s.gomaxprocs;
    if n == 1 {
        return None;
    }
    for i in 0..STEAL_TRIES {
        let last = i == STEAL_TRIES - 1;
        let start = (fastrand(c) % n as u64) as usize;
        for k in 0..n {
            let p2 = &s.allp[(start + k) % n];
            if std::ptr::eq(p2, pp) {
                continue;
            }
            if last && p2.timer0.load(Relaxed) != 0 && c.sched.check_timers(p2, c.sched.now()) {
                // SAFETY: this M holds `pp`.
                if let Some((g, _)) = unsafe { pp.runq.get() } {
                    return Some(g);
                }
            }
            // SAFETY: this M holds `pp`, the destination; `p2` is another P.
            if let Some(g) = unsafe {
                p2.runq
                    .runqsteal(&pp.runq, last, p2.status.load(Relaxed) == P_RUNNING)
            } {
                pp.stats.steals.incr();
                super::trace::steal(c, pp, p2.id, &g);
                return Some(g);
            }
        }
    }
    None
}

/// Go: `execute`: runs `g` on this M until it parks, yields or finishes. What the M does
/// with a goroutine that suspended is one function per way it suspends, each named after
/// Go's: [`park_m`], [`gosched_m`], [`goexit0`], [`exitsyscall0`].
fn execute(c: &MCtx, g: Arc<G>, inherit: bool) {
    let s = &*c.sched;
    let pp = &s.allp[c.p.get()];
    if !inherit {
        pp.schedtick.fetch_add(1, Relaxed);
        pp.preempt.store(false, Relaxed); // a new time slice (Go: execute's `gp.preempt = false`)
    }
    pp.curg.store(g.goid(), Relaxed);
    let w = g.state.fetch_add(g::RUNNING - g::RUNNABLE, AcqRel);
    debug_assert_eq!(w & g::STATUS_MASK, g::RUNNABLE);
    // A parked goroutine's stack may have been copied out: put it back. First: until the
    // claim of a sweep or a dump (`STACK_COPYING`) is let go, the claimer may be using the
    // coroutine (a dump resumes it to walk its stack).
    g.pstack.stack_in(&g.state, w, |at, bytes| {
        restore_stack(at, bytes);
        s.stats.stacks_out.fetch_sub(1, Relaxed);
    });
    // SAFETY: we moved the G to RUNNING and no claim is held, so this M owns its cells.
    let co = unsafe { g.co.with_mut(|x| (*x).take()) };
    let mut co = match co {
        Some(co) => co,
        None => match s.coget(pp) {
            Ok(co) => {
                let (lo, top) = co.stack_bounds();
                g.pstack.set_bounds(lo, top);
                co
            }
            Err(e) => {
                // No stack: fail this goroutine with the reason and keep the runtime going.
                // SAFETY: as above.
                if let Some(t) = unsafe { g.task.with_mut(|x| (*x).take()) } {
                    let msg = format!(
                        "gmp: cannot allocate a stack for goroutine {}: {e}",
                        g.goid()
                    );
                    eprintln!("{msg}");
                    t.cancel(
                        crate::JoinError::Panicked(Box::new(msg)),
                        &c.sched,
                        g.goid(),
                    );
                }
                gdestroy(s, pp, g, None);
                return;
            }
        },
    };
    let info = co.running_record(g.goid());
    c.g.set(Arc::as_ptr(&g));
    c.g_arc.set(Some(g));
    loop {
        crate::stack::set_running(Some(info));
        super::trace::go_start(c);
        let r = co.resume(Resume::Run);
        crate::stack::set_running(None);
        let g = c.g_arc.take().expect("running G");
        // The goroutine may have left `syscall(f)` on another P than it started on.
        let pp = match c.p.get() {
            NO_P => None,
            p => Some(&s.allp[p]),
        };
        let again = match r {
            CoroutineResult::Yield(Suspend::Park) => park_m(c, pp, g, co),
            CoroutineResult::Yield(Suspend::Yield) => gosched_m(c, pp, g, co),
            CoroutineResult::Yield(Suspend::Finished) => goexit0(c, pp, g, co),
            CoroutineResult::Yield(Suspend::ExitSyscall) => exitsyscall0(c, pp, g, co),
            CoroutineResult::Yield(Suspend::Traced) => {
                unreachable!("a goroutine answered a trace request its M did not make")
            }
            CoroutineResult::Return(()) => unreachable!("goroutine coroutines return only on Exit"),
        };
        match again {
            Some(back) => co = back,
            None => {
                // No goroutine runs on the P now: sysmon must not name the last one if this
                // M is slow to find the next (a thread the OS does not schedule).
                if c.p.get() != NO_P {
                    s.allp[c.p.get()].curg.store(0, Relaxed);
                }
                return;
            }
        }
    }
}

/// Go: `park_m`: the goroutine suspended to park (`gopark`). Publishes it WAITING (with its
/// coroutine back in the G first, so whoever readies it finds it there), unless a permit
/// raced in: then returns the coroutine, and `execute` resumes the goroutine at once.
///
/// Like every suspend handler: `g` is still RUNNING and owned by this M; `Some(co)` means
/// "resume it" (with `g` back in `c.g_arc`), `None` that the M is done with it.
#[inline]
fn park_m(c: &MCtx, pp: Option<&P>, g: Arc<G>, co: Co) -> Option<Co> {
    super::trace::go_park(c, &g);
    // Before WAITING is published: from here the sweep may copy the stack out.
    if let Some(pp) = pp {
        super::copyout::list_parked(&c.sched, pp, &g);
    }
    // SAFETY: still RUNNING: we own the cells. The coroutine goes back into the G
    // before WAITING is published, so whoever readies the G finds it there.
    unsafe { g.co.with_mut(|x| *x = Some(co)) };
    if g::commit_park(&g.state) {
        c.g.set(std::ptr::null());
        if let Some(pp) = pp {
            pp.stats.parks.incr();
            if pp.preempt.load(Relaxed) {
                end_time_slice(&c.sched, pp);
            }
        }
        // The shutdown sweep may have missed us (we were RUNNING): requeue.
        if g::recheck_cancel_after_park(&g.state, &g.cancel) {
            c.sched.globrunqput(g);
        }
        super::copyout::copyout_assist(&c.sched);
        return None;
    }
    // A permit raced in: resume the goroutine right away (it never was WAITING, so its stack
    // was never copied out).
    // SAFETY: still RUNNING.
    let co = unsafe { g.co.with_mut(|x| (*x).take()) }.expect("coroutine");
    c.g_arc.set(Some(g));
    Some(co)
}

/// Go: `gosched_m`/`goyield_m`: the goroutine yielded (`gosched`, a spent budget, sysmon's
/// flag). With nothing else to run on this P it continues at once, in a new time slice; else
/// it goes to the tail of the local queue (Go's `goyield`).
#[inline]
fn gosched_m(c: &MCtx, pp: Option<&P>, g: Arc<G>, co: Co) -> Option<Co> {
    super::trace::go_sched(c, &g);
    let s = &*c.sched;
    let pp = pp.expect("a goroutine yields only while holding a P");
    if pp.runq.is_empty() && s.runqsize.load(Relaxed) == 0 && pp.timer0.load(Relaxed) == 0 {
        // Nothing else to run here: stay on this goroutine.
        pp.schedtick.fetch_add(1, Relaxed);
        pp.preempt.store(false, Relaxed);
        c.g_arc.set(Some(g));
        return Some(co);
    }
    // SAFETY: still RUNNING.
    unsafe { g.co.with_mut(|x| *x = Some(co)) };
    c.g.set(std::ptr::null());
    g.state.fetch_sub(g::RUNNING - g::RUNNABLE, Release);
    s.runqput(pp, g, false); // Go: goyield puts it on the local tail
    None
}

/// Go: `goexit0`: the goroutine's task returned (or unwound). A goroutine that ends wired to
/// its M releases the M (Go exits the thread instead); then [`gdestroy`].
#[inline]
fn goexit0(c: &MCtx, pp: Option<&P>, g: Arc<G>, co: Co) -> Option<Co> {
    super::trace::go_end(c, &g);
    c.g.set(std::ptr::null());
    // SAFETY: still RUNNING: ours.
    unsafe {
        g.lockedm.with_mut(|m| *m = None);
        g.locked.with_mut(|n| *n = 0);
    }
    if c.lockedg.take().is_some_and(|lg| !Arc::ptr_eq(&lg, &g)) {
        unreachable!("an M runs only its locked goroutine");
    }
    let pp = pp.expect("a goroutine ends only while holding a P");
    gdestroy(&c.sched, pp, g, Some(co));
    None
}

/// sysmon flagged the P (one time slice over 10 ms) and its goroutine just parked: the
/// goroutine it woke last, in `runnext`, must not inherit the slice again, or two goroutines
/// waking each other would keep the P forever (Go's TestPingPongHog). It goes to the tail.
fn end_time_slice(s: &Sched, pp: &P) {
    pp.preempt.store(false, Relaxed);
    pp.schedtick.fetch_add(1, Relaxed);
    // SAFETY: this M holds `pp`, so it is the queue's owner.
    unsafe {
        if let Some((g, from_runnext)) = pp.runq.get() {
            // Not from `runnext`: it was the head; keep it first by putting it in `runnext`.
            s.runqput(pp, g, !from_runnext);
        }
    }
}

/// Go: `gdestroy`: the goroutine finished; keep the G for reuse, and its coroutine
/// (with the stack) in the P's cache for the next goroutine to run here.
fn gdestroy(s: &Sched, pp: &P, g: Arc<G>, co: Option<Co>) {
    // The coroutine stays on this P for the next goroutine; the G is kept without it.
    if let Some(co) = co {
        s.coput(pp, co);
    }
    g.state.store(g::dead_word(g.goid()), Release);
    s.gfput(pp, g);
    let last = s.ngoroutines.fetch_sub(1, SeqCst) == 1;
    // Pairs with the fence after `shutdown` is set: either `shutdown()` wakes the Ms after
    // this decrement, or this sees `shutdown` and wakes them itself.
    crate::loom::seqcst_fence();
    if last && s.shutdown.load(SeqCst) {
        s.wake_all_ms();
    }
    // A bubble's `synctest::test` waits for its last goroutine after `f` returns.
    if last && s.bubble.is_some() {
        for w in s.run_waiters.lock().iter() {
            w.unpark();
        }
    }
}

/// The coroutine body's step: run the current G's task (called on the goroutine's stack).
pub(super) fn run_current_task(y: &Yielder) {
    let g = current_g().expect("a goroutine is running");
    // SAFETY: the running G is owned by this M.
    let task = unsafe {
        g.yielder.with_mut(|p| *p = y as *const Yielder);
        g.task.with_mut(|t| (*t).take())
    };
    if let Some(task) = task {
        if g.cancel.load(SeqCst) {
            task.cancel(crate::JoinError::Cancelled, &g.sched, g.goid());
        } else {
            task.run(&g.sched, g.goid());
        }
    }
}
