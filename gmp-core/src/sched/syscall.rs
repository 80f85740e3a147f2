//! Blocking calls (Go: `entersyscall`, `exitsyscall`, `exitsyscallfast`, `exitsyscall0`):
//! `syscall(f)` runs `f` on the calling M with its P left up for grabs, so a blocking `f`
//! does not stall the P's other goroutines.
//!
//! # Protocol
//!
//! `entersyscall` moves the goroutine RUNNING → SYSCALL and its P `P_RUNNING` →
//! `P_SYSCALL`, and parks the P in the M's `oldp` (the M holds no P while `f` runs). Then:
//!
//! - `f` returns quickly: `exitsyscall` wins the CAS `P_SYSCALL` → `P_RUNNING` and carries on
//!   with its P, having paid two atomic writes and a CAS (Go's `exitsyscallfast`).
//! - `f` blocks: sysmon sees the P in `P_SYSCALL` for over 20 µs with work waiting (or for
//!   over 10 ms), wins the CAS `P_SYSCALL` → `P_IDLE` and hands the P off (`handoffp`), so
//!   another M runs its goroutines. When `f` returns, `exitsyscall` loses the CAS and looks
//!   for an idle P; with none, the goroutine suspends, its M queues it on the global queue
//!   and stops (Go's `exitsyscall0`), and it continues on whichever M picks it up.
//!
//! While `f` runs the goroutine has no P, so gmp's blocking calls inside `f` block the M's
//! thread (as `f` itself does), `gosched` does nothing, and goroutines it spawns or wakes go to
//! the global queue.

use super::co::{Co, Suspend};
use super::g::{self, G};
use super::gopark::{check_cancel, suspend};
use super::m::{ctx, current_g, MCtx};
use super::p::{acquirep, P, P_RUNNING, P_SYSCALL};
use super::NO_P;
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;

/// Go: `entersyscall`. Returns whether the caller entered a syscall (`false` on a plain
/// thread or when already inside one), to pass to [`exitsyscall`].
pub(crate) fn entersyscall() -> bool {
    let Some(c) = ctx() else { return false };
    let Some(gp) = current_g() else { return false };
    let p = c.p.get();
    if p == NO_P {
        return false; // nested `syscall`: the outer one already gave the P up
    }
    check_cancel(gp);
    let s = &*c.sched;
    let pp = &s.allp[p];
    super::trace::go_syscall(c, p, gp);
    // RUNNING → SYSCALL in the status bits; a racing unpark's CAS retries (permit bits kept).
    gp.state.fetch_add(g::SYSCALL - g::RUNNING, SeqCst);
    c.p.set(NO_P);
    c.oldp.set(p);
    pp.syscall_when
        .store(s.nanotime(crate::loom::now()), Relaxed);
    pp.stats.syscalls.incr();
    // Publishes the P (and the M's writes to its owner-side state) to sysmon's CAS.
    pp.status.store(P_SYSCALL, SeqCst);
    true
}

/// Go: `exitsyscall`: takes the P back if sysmon left it, else any idle P, else queues the
/// goroutine and lets it continue wherever an M picks it up.
pub(crate) fn exitsyscall(entered: bool) {
    if !entered {
        return;
    }
    let c = ctx().expect("exitsyscall on the M that entered the syscall");
    let gp = current_g().expect("exitsyscall in the goroutine that entered the syscall");
    let s = &*c.sched;
    let p = c.oldp.replace(NO_P);
    // Go: `exitsyscallfast`: our P is still ours.
    if s.allp[p]
        .status
        .compare_exchange(P_SYSCALL, P_RUNNING, SeqCst, SeqCst)
        .is_ok()
    {
        c.p.set(p);
        gp.state.fetch_sub(g::SYSCALL - g::RUNNING, SeqCst);
        super::trace::go_sysexit(c, gp);
        return;
    }
    // sysmon retook it. Go: `exitsyscallfast_pidle`.
    s.stats.ngsyscall_nop.fetch_sub(1, Relaxed);
    let idle = s.pidleget(&mut s.lock.lock());
    if let Some(p) = idle {
        acquirep(c, p);
        gp.state.fetch_sub(g::SYSCALL - g::RUNNING, SeqCst);
        super::trace::go_sysexit(c, gp);
        return;
    }
    // No P: suspend; our M queues us (Go: `exitsyscall0`) and we resume on some M with a P,
    // or on this one if a panic escaped `f` and the goroutine is unwinding (see `suspend`).
    gp.state.fetch_sub(g::SYSCALL - g::RUNNING, SeqCst);
    super::trace::go_sysexit(c, gp);
    suspend(gp, Suspend::ExitSyscall);
    check_cancel(gp);
}

/// Go: `exitsyscall0`, on the M: the goroutine left `syscall(f)` and found no P
/// (`Suspend::ExitSyscall`). It is queued globally, and this M, which has no P, stops in
/// `schedule`. (A suspend handler of `execute`: see `park_m`.)
#[inline]
pub(super) fn exitsyscall0(c: &MCtx, pp: Option<&P>, g: Arc<G>, co: Co) -> Option<Co> {
    debug_assert!(pp.is_none());
    // SAFETY: still RUNNING: we own the cells until the status store below.
    unsafe { g.co.with_mut(|x| *x = Some(co)) };
    c.g.set(std::ptr::null());
    g.state.fetch_sub(g::RUNNING - g::RUNNABLE, Release);
    c.sched.globrunqput(g);
    c.sched.wakep();
    None
}
