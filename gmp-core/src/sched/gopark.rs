//! The goroutine's side of scheduling (Go: `gopark`, `Gosched`, the preemption checks,
//! `sync_runtime_canSpin`): everything here runs on the goroutine's own stack.
//!
//! # Invariants
//!
//! - A goroutine leaves its stack only through [`suspend`], handing its M a [`Suspend`]
//!   request; the M acts on it on its own stack (`schedule.rs`: `park_m`, `gosched_m`, ...).
//!   A goroutine never publishes itself as parked while still running here.
//! - Parking has permit semantics: `gopark` first consumes a pending permit (an unpark that
//!   came early) and returns at once; `park_m` re-checks for a permit when it commits.
//! - Inside `syscall(f)` the goroutine has no P: parking blocks its M's thread (as `f`
//!   does), yielding does nothing.
//! - A goroutine that suspends while unwinding is wired to its M for the suspension (std's
//!   panic count is thread-local), and is never cancelled a second time (`check_cancel`).
//! - The preemption points (`checkpoint`, `go`'s `preempt_check`, every park) are the only
//!   places a goroutine yields: preemption is cooperative.

use super::co::{Resume, Suspend, Yielder};
use super::g::{self, G};
use super::lockosthread::{lock_os_thread, unlock_os_thread};
use super::m::{ctx, current_g, ncpu, MCtx};
use super::NO_P;
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;
use crate::park::thread::ThreadParker;
use crate::reason::WaitReason;
use std::time::Instant;

/// The running goroutine's end of its coroutine, through which it suspends.
fn yielder_of(g: &G) -> &Yielder {
    // SAFETY: set by `run_current_task` before the task runs; the coroutine (and so the
    // yielder) outlives the task.
    unsafe { &*g.yielder.with(|p| *p) }
}

/// Suspends the running goroutine `g` with `s` (its M then parks, requeues or stops it).
///
/// std's panic count is thread-local (research/rust-peers.md §2.4, hazard 4): a goroutine that
/// suspends while unwinding (a destructor that locks, receives, sleeps or yields) must resume
/// on the same thread, and that thread must run nothing else meanwhile. Wiring it to its M
/// for the suspension does exactly that, and the M hands its P to the others
/// (`stoplockedm`).
pub(super) fn suspend(g: &G, s: Suspend) {
    let unwinding = std::thread::panicking();
    if unwinding {
        lock_os_thread();
    }
    let mut s = s;
    // A dump may resume a parked goroutine to walk its stack (`Resume::Trace`): it answers
    // and suspends again, still parked, until its M resumes it for real.
    while let Resume::Trace = super::co::switch_out(yielder_of(g), s, g.pstack.sp()) {
        s = answer_trace();
    }
    if unwinding {
        unlock_os_thread();
    }
}

/// A parked goroutine's answer to a dump's `Resume::Trace`: its frames, left for the dump.
/// Out of line, so that `suspend`'s frame (part of every parked stack's copy) stays small.
#[cold]
#[inline(never)]
fn answer_trace() -> Suspend {
    super::dump::put_traced(super::dump::own_frames());
    Suspend::Traced
}

/// Every scheduling point's check: a goroutine the shutdown sweep flagged unwinds here.
pub(super) fn check_cancel(g: &G) {
    // Not while unwinding already (a panic, or this very cancellation): a second unwind out of
    // a destructor aborts the process. The unwind in progress ends the goroutine anyway.
    if g.cancel.load(Relaxed) && g.sched.shutdown.load(Relaxed) && !std::thread::panicking() {
        crate::goroutine::cancel_unwind();
    }
}

/// Go: `gopark`. Returns `false` when the caller is not a goroutine.
#[inline(never)]
pub(crate) fn gopark(reason: WaitReason) -> bool {
    let Some(g) = current_g() else { return false };
    check_cancel(g);
    park_g(g, reason);
    check_cancel(g);
    true
}

/// [`gopark`] for a wait that must not unwind even when the runtime cancels the goroutine:
/// a scope's owner waiting for goroutines that borrow its stack. The caller rechecks
/// cancellation itself once the wait is over. Returns `false` when the caller is not a
/// goroutine.
#[inline(never)]
pub(crate) fn gopark_uncancellable(reason: WaitReason) -> bool {
    let Some(g) = current_g() else { return false };
    park_g(g, reason);
    true
}

/// The park itself: a pending permit, or a blocked thread inside `syscall(f)`, or a switch
/// to the M.
fn park_g(g: &G, reason: WaitReason) {
    if g.take_permit() {
        return;
    }
    if in_syscall() {
        // Inside `syscall(f)` the goroutine has no P to give back: blocking calls block its
        // M, as the syscall itself does.
        park_on_thread(g);
        return;
    }
    g.set_wait_reason(reason);
    // sysmon's coarse clock: a clock read on every park costs more than the park itself on
    // some VMs, and `dump` only shows whole minutes.
    g.wait_since
        .store(g.sched.coarse_now.load(Relaxed), Relaxed);
    suspend(g, Suspend::Park);
}

fn park_on_thread(g: &G) {
    let tp = Arc::new(ThreadParker::new());
    *g.thread_parker.lock() = Some(tp.clone());
    g.state.fetch_or(g::BLOCKING, SeqCst);
    while !g.take_permit() {
        tp.park();
    }
    g.state.fetch_and(!g::BLOCKING, SeqCst);
    *g.thread_parker.lock() = None;
}

/// Parks until unparked or `deadline`. `None` when the caller is not a goroutine.
#[inline(never)]
pub(crate) fn gopark_deadline(reason: WaitReason, deadline: Instant) -> Option<bool> {
    let g = current_g()?;
    check_cancel(g);
    if g.take_permit() {
        return Some(true);
    }
    let now = g.sched.now();
    if deadline <= now {
        return Some(false);
    }
    super::timers::park_until(reason, deadline)
}

/// The calling goroutine waits for a wake-up that may come from outside the runtime (a
/// future's waker): the deadlock detector must not count it as stuck while this lives.
/// `None` on a plain thread.
pub(crate) struct ExternalWait(Arc<super::Sched>);

pub(crate) fn external_wait() -> Option<ExternalWait> {
    let g = current_g()?;
    g.sched.external_waits.fetch_add(1, SeqCst);
    Some(ExternalWait(g.sched.clone()))
}

impl Drop for ExternalWait {
    fn drop(&mut self) {
        self.0.external_waits.fetch_sub(1, SeqCst);
    }
}

/// Go: `Gosched`. Returns `false` when the caller is not a goroutine.
#[inline(never)]
pub(crate) fn gosched() -> bool {
    let Some(g) = current_g() else { return false };
    if in_syscall() {
        return true; // no P to yield (see `gopark`)
    }
    check_cancel(g);
    suspend(g, Suspend::Yield);
    check_cancel(g);
    true
}

/// Whether the calling goroutine is inside `syscall(f)` (it runs without a P).
fn in_syscall() -> bool {
    ctx().is_some_and(|c| c.p.get() == NO_P)
}

/// Whether sysmon asked the goroutine on this M's P to yield (Go: `gp.preempt`).
fn preempt_requested(c: &MCtx) -> bool {
    match c.p.get() {
        NO_P => false,
        p => c.sched.allp[p].preempt.load(Relaxed),
    }
}

/// The preemption point of `go`: yields if sysmon flagged the goroutine (no budget spent).
pub(crate) fn preempt_check() {
    if let Some(c) = ctx() {
        if !c.g.get().is_null() && preempt_requested(c) {
            gosched();
        }
    }
}

/// A cooperative preemption point: spends budget, yields when it runs out or when sysmon
/// flagged the goroutine for holding its P over 10 ms.
#[inline]
pub(crate) fn checkpoint() {
    let Some(c) = ctx() else { return };
    // SAFETY: see `current_g`.
    if let Some(g) = unsafe { c.g.get().as_ref() } {
        if c.p.get() == NO_P {
            return; // inside `syscall(f)`
        }
        check_cancel(g);
        // SAFETY: the running G's budget is touched only by the goroutine itself.
        let spent = g.budget.with_mut(|b| unsafe {
            *b -= 1;
            if *b == 0 {
                *b = g::BUDGET;
                true
            } else {
                false
            }
        });
        if spent || preempt_requested(c) {
            gosched();
        }
    }
}

/// Same as Go's `active_spin` (runtime/proc.go).
const ACTIVE_SPIN: u32 = 4;

/// Go: `sync_runtime_canSpin`.
pub(crate) fn can_spin(iteration: u32) -> bool {
    if iteration >= ACTIVE_SPIN || ncpu() <= 1 {
        return false;
    }
    match ctx() {
        Some(c) if c.p.get() != NO_P => {
            let s = &c.sched;
            let busy_others =
                s.gomaxprocs > s.npidle.load(Relaxed) + s.nmspinning.load(Relaxed) + 1;
            busy_others && s.allp[c.p.get()].runq.is_empty()
        }
        _ => true,
    }
}
