//! The P: the right to run goroutines (Go: `p`, `acquirep`, `releasep`).
//!
//! There are `gomaxprocs` Ps, made once with the runtime and never resized, so a `&P` from
//! `Sched::allp` lives as long as the runtime. An M runs goroutines only while it holds a P.
//!
//! # Who may touch what
//!
//! - The M holding the P (between `acquirep` and `releasep`) owns its owner-side state: the
//!   producer end of `runq`, `gfree`, `cocache`, `goidcache`, `sudogcache`, `copyout_list`. Handing a P to another M goes
//!   through `Sched::lock` (`pidleput`/`pidleget`) or `MShared::nextp`, which order the
//!   hand-over.
//! - Any M may steal from `runq` (the consumer end), read `timer0`, `schedtick` and `status`,
//!   and lock `timers`.
//! - sysmon reads `schedtick`, sets `preempt`, and takes a P out of `P_SYSCALL` by CAS.
//! - `stats` (for `metrics()`) is written by the M holding the P and read by anyone.

use super::co::Co;
use super::g::G;
use super::m::MCtx;
use super::runq::RunQueue;
use super::sudog::SudogCache;
use super::timers::TimerHeap;
use super::NO_P;
use crate::loom::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::*};
use crate::loom::{Arc, Mutex, UnsafeCell};
use crossbeam_utils::CachePadded;

/// P status, [`P::status`] (Go: `_Pidle`, `_Prunning`, `_Psyscall`).
pub(crate) const P_IDLE: u8 = 0;
pub(crate) const P_RUNNING: u8 = 1;
pub(crate) const P_SYSCALL: u8 = 2;

/// A P: the right to run goroutines.
pub(crate) struct P {
    pub(crate) id: usize,
    pub(crate) runq: RunQueue<Arc<G>>,
    /// Incremented on every schedule that did not inherit a time slice (Go: `schedtick`).
    pub(crate) schedtick: AtomicU32,
    pub(crate) timers: Mutex<TimerHeap>,
    /// Earliest entry of `timers` in ns since the runtime's epoch, or 0 if none: lets other Ms
    /// find the next timer without taking the heap lock.
    pub(crate) timer0: AtomicU64,
    /// Who has this P (Go: `p.status`).
    ///
    /// | value       | meaning                                        | moved out by                      |
    /// |-------------|------------------------------------------------|-----------------------------------|
    /// | `P_IDLE`    | on the idle list, or being handed to an M      | `acquirep` → `P_RUNNING`          |
    /// | `P_RUNNING` | an M holds it and runs goroutines              | its M: `releasep` → `P_IDLE`, `entersyscall` → `P_SYSCALL` |
    /// | `P_SYSCALL` | its M is inside `syscall(f)`; the P is up for grabs | CAS by the M (`exitsyscall` → `P_RUNNING`) or by sysmon (`retake` → `P_IDLE`, then `handoffp`) |
    ///
    /// The CAS out of `P_SYSCALL` decides who owns the P; the loser must not touch it.
    pub(crate) status: AtomicU8,
    /// When the M entered `syscall(f)`, in ns since the epoch (Go: `pd.syscallwhen`).
    pub(crate) syscall_when: AtomicU64,
    /// The goroutine this P runs: its id, for sysmon's hog warning (0 between goroutines).
    pub(crate) curg: AtomicU64,
    /// Set by sysmon when the same goroutine has held this P for over 10 ms: the goroutine
    /// yields at its next preemption point (Go: `gp.preempt`, set by `preemptone`).
    pub(crate) preempt: AtomicBool,
    /// Dead Gs for reuse, without stacks (owner only).
    pub(crate) gfree: UnsafeCell<Vec<Arc<G>>>,
    /// Idle coroutines: a goroutine that finishes leaves its coroutine (and stack) here, and
    /// the next goroutine to run here without one takes it (owner only; Go: `p.mcache`'s
    /// `stackcache`). Stacks follow running goroutines, not dead ones: a spawner that
    /// outruns its goroutines leaves many Gs alive but few coroutines in use.
    pub(crate) cocache: UnsafeCell<Vec<Co>>,
    /// Goroutine ids reserved for this P: `[next, end)` (owner only).
    pub(crate) goidcache: UnsafeCell<(u64, u64)>,
    /// Free waiter records (owner only; Go: `p.sudogcache`, see `sudog.rs`). On a cache
    /// line of its own: the other Ms read this P's run queue and timers all the time, and
    /// the cache is touched on every blocking operation.
    pub(crate) sudogcache: CachePadded<UnsafeCell<SudogCache>>,
    /// Goroutines that parked here, for sysmon's copy-out sweep (owner only; `copyout.rs`).
    pub(crate) copyout_list: UnsafeCell<Vec<Arc<G>>>,
    /// Event counters for `metrics()`: written by the owner only, summed by readers; on a
    /// cache line of their own so that counting does not disturb the thieves' reads above.
    pub(crate) stats: CachePadded<super::metrics::PStats>,
}

// SAFETY: the `UnsafeCell` fields are touched only by the M that holds the P (acquirep/releasep
// hand the P over under `Sched::lock`); everything else is atomic or locked.
unsafe impl Sync for P {}
// SAFETY: as above.
unsafe impl Send for P {}

impl std::fmt::Debug for P {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P")
            .field("id", &self.id)
            .field("runq", &self.runq.len())
            .finish()
    }
}

impl P {
    pub(super) fn new(id: usize) -> P {
        P {
            id,
            runq: RunQueue::new(),
            schedtick: AtomicU32::new(0),
            timers: Mutex::new(TimerHeap::default()),
            timer0: AtomicU64::new(0),
            status: AtomicU8::new(P_IDLE),
            syscall_when: AtomicU64::new(0),
            curg: AtomicU64::new(0),
            preempt: AtomicBool::new(false),
            gfree: UnsafeCell::new(Vec::new()),
            cocache: UnsafeCell::new(Vec::new()),
            goidcache: UnsafeCell::new((0, 0)),
            sudogcache: CachePadded::new(UnsafeCell::new(SudogCache::default())),
            copyout_list: UnsafeCell::new(Vec::new()),
            stats: CachePadded::new(Default::default()),
        }
    }
}

/// Go: `acquirep`: the M `c` takes P `p` (idle, handed to it).
pub(super) fn acquirep(c: &MCtx, p: usize) {
    debug_assert!(p != NO_P && c.p.get() == NO_P);
    c.sched.allp[p].status.store(P_RUNNING, SeqCst);
    c.p.set(p);
}

/// Go: `releasep`: the M gives up its P, which becomes idle; returns it.
pub(super) fn releasep(c: &MCtx) -> usize {
    let p = c.p.get();
    debug_assert!(p != NO_P);
    super::trace::proc_stop(c, p);
    c.p.set(NO_P);
    // The goroutines that parked here go to sysmon now: nothing may run here for a while.
    super::copyout::handoff_list(&c.sched, &c.sched.allp[p]);
    c.sched.allp[p].status.store(P_IDLE, SeqCst);
    p
}
