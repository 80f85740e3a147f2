//! The M: an OS thread that runs goroutines (Go: `m`, `mstart`), and how code running on it
//! finds its M, P and G (Go: `getg()`).
//!
//! # Who may touch what
//!
//! - [`MShared`] is the part other threads touch: `note` (where the M sleeps), `nextp` (the P
//!   `startm` hands it), `spinning`, and `locked_handoff` (its wired goroutine, handed back by
//!   `startlockedm`). Writers store `nextp` before `note.unpark()`; the M reads it after
//!   waking.
//! - [`MCtx`] is the M's own view, on its thread's stack: the P it holds, the goroutine it
//!   runs, its spinning flag, its random state. Only its thread touches it, through the
//!   thread-local `MCTX`, set for as long as `mstart` runs.
//! - The thread-local is reached only through the `#[inline(never)]` [`ctx`], so a goroutine
//!   that migrates between Ms never reuses another thread's TLS address cached by LLVM
//!   (research/rust-peers.md §2.4).

use super::g::{GoUnparker, G};
use super::p::{acquirep, P};
use super::{Sched, NO_P};
use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::loom::Arc;
use crate::park::thread::ThreadParker;
use std::cell::Cell;

/// The part of an M other threads touch: where it sleeps, and the P handed to it.
#[derive(Debug)]
pub(crate) struct MShared {
    pub(crate) id: usize,
    /// Where the M sleeps when idle or polling (Go: `m.park`).
    pub(crate) note: ThreadParker,
    /// The P `startm` hands over (Go: `m.nextp`); `NO_P` when none.
    pub(crate) nextp: AtomicUsize,
    /// Whether the M should start spinning when woken (Go: `m.spinning` set by `startm`).
    pub(crate) spinning: AtomicBool,
    /// The goroutine locked to this M, handed over by `startlockedm` (Go: `m.lockedg`).
    pub(crate) locked_handoff: crate::loom::Mutex<Option<Arc<G>>>,
}

impl MShared {
    pub(crate) fn new(id: usize) -> Self {
        MShared {
            id,
            note: ThreadParker::new(),
            nextp: AtomicUsize::new(NO_P),
            spinning: AtomicBool::new(false),
            locked_handoff: crate::loom::Mutex::new(None),
        }
    }
}

/// The M's own view, on its thread's stack and reachable from its thread-local.
pub(super) struct MCtx {
    pub(super) sched: Arc<Sched>,
    pub(super) m: Arc<MShared>,
    /// The P held, or `NO_P` (also while the running goroutine is inside `syscall(f)`).
    pub(super) p: Cell<usize>,
    /// The P this M had when its goroutine entered `syscall(f)` (Go: `m.oldp`), or `NO_P`.
    pub(super) oldp: Cell<usize>,
    /// The goroutine running on this M right now (null on the scheduler stack).
    pub(super) g: Cell<*const G>,
    /// The same goroutine's `Arc`, which keeps `g` alive while it runs.
    pub(super) g_arc: Cell<Option<Arc<G>>>,
    /// Whether this M counts in `Sched::nmspinning` (Go: `m.spinning`).
    pub(super) spinning: Cell<bool>,
    /// State of [`fastrand`].
    pub(super) rand: Cell<u64>,
    /// The goroutine locked to this M by `lock_os_thread` (Go: `m.lockedg`).
    pub(super) lockedg: Cell<Option<Arc<G>>>,
    /// Tracing only: the tick this M last recorded on its P is still "now" for the next
    /// run slice it starts (set when a slice ends; kept only when `schedule` finds the next
    /// goroutine at once in the P's own queue: `trace.rs`, "Clock reads").
    pub(super) trace_tick_fresh: Cell<bool>,
}

// The scheduler's thread-local (the facade's, so each loom thread modelling an M has its own).
// It is reached only through the `#[inline(never)]` `ctx()`, so a goroutine that migrates
// never reuses another thread's TLS address (research/rust-peers.md §2.4).
crate::loom::thread_local! {
    #[allow(clippy::missing_const_for_thread_local)] // loom's thread_local! has no const form
    static MCTX: Cell<*const MCtx> = Cell::new(std::ptr::null());
}

#[inline(never)]
pub(super) fn ctx() -> Option<&'static MCtx> {
    let p = MCTX.with(|c| c.get());
    // SAFETY: MCTX points at the MCtx on this M's stack for as long as `mstart` runs, and is
    // null otherwise; callers use the reference only until their next scheduling point.
    unsafe { p.as_ref() }
}

/// The running goroutine of this thread, if any.
#[inline(never)]
pub(super) fn current_g() -> Option<&'static G> {
    let c = ctx()?;
    // SAFETY: `g` is set by `execute` around `resume` and points at a G kept alive by the Arc in
    // `g_arc`; a G stays alive while its goroutine does.
    unsafe { c.g.get().as_ref() }
}

pub(super) fn current_g_arc(c: &MCtx) -> Option<Arc<G>> {
    let g = c.g_arc.take();
    let r = g.clone();
    c.g_arc.set(g);
    r
}

/// P of `sched` held by the calling thread's M, if the caller runs on one.
pub(crate) fn current_p_of(sched: &Arc<Sched>) -> Option<&'static P> {
    let c = ctx()?;
    if !Arc::ptr_eq(&c.sched, sched) {
        return None;
    }
    held_p(c)
}

/// The P the M of context `c` holds, if any.
pub(super) fn held_p(c: &'static MCtx) -> Option<&'static P> {
    match c.p.get() {
        NO_P => None,
        p => Some(&c.sched.allp[p]),
    }
}

/// Runs `f` on the waiter-record cache of the caller's P, its runtime's central cache and
/// the M's context (for the running goroutine); `None` (without calling `f`) on a plain thread
/// or inside `syscall(f)`.
#[inline]
pub(crate) fn with_sudogcache<R>(
    f: impl FnOnce(&mut super::sudog::SudogCache, &super::sudog::SudogCentral, &MCtx) -> R,
) -> Option<R> {
    let c = ctx()?;
    let p = c.p.get();
    if p == NO_P {
        return None;
    }
    // SAFETY: this M holds P `p`, so it alone touches the P's owner-side state, and `f` has
    // no scheduling point (it cannot migrate in the middle).
    Some(
        c.sched.allp[p]
            .sudogcache
            .with_mut(|cache| f(unsafe { &mut *cache }, &c.sched.sudogcentral, c)),
    )
}

/// The runtime of the calling goroutine or M.
pub(crate) fn current_sched() -> Option<Arc<Sched>> {
    ctx().map(|c| c.sched.clone())
}

pub(crate) fn current_goid() -> Option<u64> {
    current_g().map(|g| g.goid())
}

pub(crate) fn current_unparker() -> Option<GoUnparker> {
    let c = ctx()?;
    current_g_arc(c).map(GoUnparker::new)
}

// ---- the M ------------------------------------------------------------------------------

/// Go: `mstart`: the body of every M thread.
pub(crate) fn mstart(sched: Arc<Sched>, m: Arc<MShared>) {
    if let Err(e) = crate::stack::ensure_altstack() {
        eprintln!("gmp: M {} has no alternate signal stack ({e}): a stack overflow on it will not be reported", m.id);
    }
    let seed = (m.id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let c = MCtx {
        sched,
        m,
        p: Cell::new(NO_P),
        oldp: Cell::new(NO_P),
        g: Cell::new(std::ptr::null()),
        g_arc: Cell::new(None),
        spinning: Cell::new(false),
        rand: Cell::new(seed),
        lockedg: Cell::new(None),
        trace_tick_fresh: Cell::new(false),
    };
    MCTX.with(|x| x.set(&c));
    let p = c.m.nextp.swap(NO_P, SeqCst);
    acquirep(&c, p);
    c.spinning.set(c.m.spinning.load(SeqCst));
    super::schedule::schedule(&c);
    MCTX.with(|x| x.set(std::ptr::null()));
    c.sched.lock.lock().mcount -= 1;
}

/// The M's random source, for the order in which it tries victims (Go: `cheaprand`).
pub(super) fn fastrand(c: &MCtx) -> u64 {
    // xorshift64*
    let mut x = c.rand.get();
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c.rand.set(x);
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// The number of CPUs the process may use (Go: `ncpu`).
pub(crate) fn ncpu() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
