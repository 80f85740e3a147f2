//! [`metrics`]: the scheduler's counters and gauges (Go: `runtime/metrics`, the `/sched/*`
//! metrics of Go 1.26, runtime/metrics.go's `schedStatsAggregate`).
//!
//! # Design
//!
//! Reading must be cheap enough for a loop (a dashboard goroutine polling every millisecond),
//! and counting must cost the scheduler nothing it would notice. So:
//!
//! - **Events are counted per P** ([`PStats`], on the P's own cache line): goroutines
//!   created, steals, parks, syscalls, stacks copied back in. Only the M holding the P writes
//!   them, with a relaxed load and a relaxed store (no `lock` prefix, no contention: a
//!   single writer loses no increment); readers sum them over `allp`. Go keeps
//!   `p.goroutinesCreated` the same way.
//! - **Rare events are counted once per runtime** ([`SchedStats`], a relaxed `fetch_add`):
//!   spawns from outside a P, Ps handed off, goroutines left in a syscall without their P,
//!   threads.
//! - **Gauges are not maintained, they are derived**, as Go's `schedStatsAggregate.compute`
//!   does, from state the scheduler keeps anyway: runnable = the length of every P's run
//!   queue plus the global queue; running = Ps that run a goroutine (`P_RUNNING` with a
//!   `curg`); in a syscall = Ps in `P_SYSCALL` plus the goroutines whose P sysmon took;
//!   waiting = the rest of the live goroutines. Nothing is added to the park/unpark paths,
//!   which run on any thread (a waker is often a plain thread, with no P to count on).
//!
//! Every word here is a statistic: it orders nothing and guards nothing, so the atomics are
//! std's, not the loom facade's (a loom model would only explore their interleavings for
//! nothing), and every access is `Relaxed`. A reader sees each value as it was at some moment
//! during the call; the values need not add up (Go's "Not guaranteed to add up to
//! /sched/goroutines:goroutines with other goroutine metrics").
//!
//! # Why not count the states at their transitions, or scan `allgs`
//!
//! Exact runnable/waiting gauges would need an increment and a decrement at every park and
//! wake-up; a wake-up runs on the waker's thread (any thread, a P or none), so it would be a
//! shared atomic RMW on the hottest path (a channel hand-off is ~100 ns). Scanning `allgs`
//! under its lock costs a load per goroutine, a cache miss each when cold, while `go` and the
//! copy-out sweep wait for the lock: 6.1 µs for 10,000 parked goroutines with a hot cache
//! (`__private::stacks_copied_out`, the same scan), 200 times the derivation, which costs
//! O(`gomaxprocs`) loads and takes no scheduler lock.
//!
//! # Cost
//!
//! A call (x86_64, release build): a loop of ~35 instructions per P (the P's counter line,
//! `status`, `curg`, the run queue's `head`/`tail`/`runnext` snapshot), ~90 more for the
//! runtime-wide words and the stack pool (whose lock is taken, uncontended, for three loads:
//! two CASes), no allocation, no system call. 30 ns per call on the project's 2-core VM with
//! 2 Ps and 10,000 parked goroutines, whatever their number.
//!
//! On the scheduler: each per-P count compiles to one `incq` on the P's own line (no `lock`
//! prefix), in `newproc`, `stealwork` (a success), `park_m` (a committed park),
//! `entersyscall` and `execute` (a test of the state word it already loaded). The shared
//! counters are a relaxed `fetch_add` on paths that already take a lock or start a thread:
//! `handoffp`, sysmon's `retake` and its slow `exitsyscall`, `startm`, and `go` from a plain
//! thread.

use super::p::{P, P_RUNNING, P_SYSCALL};
use super::Sched;
use crate::loom::Arc;
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// The scheduler's counters and gauges, as Go 1.26's `runtime/metrics` reports them under
/// `/sched/`: a snapshot returned by [`metrics`].
///
/// Gauges (goroutine counts, threads) are approximate while the program runs, as Go's are;
/// counters (`*_created`, `steals`, `parks`, `syscalls`, `handoffs`) only grow. More fields
/// may follow.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// Live goroutines, the main goroutine included (Go: `/sched/goroutines:goroutines`,
    /// `runtime.NumGoroutine`).
    pub goroutines: usize,
    /// Goroutines ready to run, in a run queue (Go: `/sched/goroutines/runnable:goroutines`).
    pub goroutines_runnable: usize,
    /// Goroutines parked: on a channel, a lock, `sleep`, a socket, `join`, ... (Go:
    /// `/sched/goroutines/waiting:goroutines`). Derived: the live goroutines that are not
    /// running, runnable or in a syscall, so a goroutine in the instant between a run queue
    /// and its M counts here.
    pub goroutines_waiting: usize,
    /// Goroutines running on a P right now, at most [`procs`](Self::procs) (Go:
    /// `/sched/goroutines/running:goroutines`).
    pub goroutines_running: usize,
    /// Goroutines inside [`syscall`](crate::syscall) (Go:
    /// `/sched/goroutines/not-in-go:goroutines`).
    pub goroutines_syscall: usize,
    /// Goroutines created since the runtime started, the main goroutine included (Go:
    /// `/sched/goroutines-created:goroutines`).
    pub goroutines_created: u64,
    /// OS threads the runtime owns: its Ms (running, idle, or blocked in a syscall) and
    /// sysmon (Go: `/sched/threads/total:threads`). Ms are started on demand and kept when
    /// idle, so this is at least 1 + the most Ps that ever ran at once.
    pub threads: usize,
    /// Ps, the runtime's `GOMAXPROCS` (Go: `/sched/gomaxprocs:threads`).
    pub procs: usize,
    /// Times an M without work took goroutines from another P's run queue (each steal takes a
    /// batch, half the victim's queue: Go's `runqsteal`). Go has no metric for it
    /// (`GODEBUG=schedtrace` shows the queues).
    pub steals: u64,
    /// Times a goroutine parked: suspended to wait, its M free to run others (Go's `gopark`).
    /// A park that found its wake-up already there, or a goroutine blocking its thread inside
    /// `syscall`, does not count.
    pub parks: u64,
    /// Calls of [`syscall`](crate::syscall) that left their P up for grabs (from a goroutine;
    /// a nested call, or one on a plain thread, does not count).
    pub syscalls: u64,
    /// Times a P was handed to another M because its own could not run goroutines: sysmon
    /// took it from a goroutine blocked in `syscall` (Go: `retake` → `handoffp`), or a
    /// goroutine wired to its thread ([`lock_os_thread`](crate::lock_os_thread)) parked.
    pub handoffs: u64,
    /// Bytes of goroutine stacks known to be in memory: one page for each stack that holds a
    /// goroutine's frames (not copied out) or sits warm in the pool. A lower bound: a stack
    /// is committed page by page as it is touched, and how deep each one was touched is not
    /// knowable without a system call per stack (`mincore`); most goroutines touch one page.
    /// (Go's stacks are committed whole: `/memory/classes/heap/stacks:bytes`.)
    pub stack_bytes_committed: usize,
    /// Bytes of address space mapped for goroutine stacks, guard pages included: the stack
    /// pool's slabs, which it never unmaps while the runtime lives.
    pub stack_bytes_reserved: usize,
}

/// The scheduler's metrics, Go 1.26's `/sched/*` (`runtime/metrics.Read`), of the runtime the
/// caller runs in: the caller's goroutine's or M's, else the default runtime that
/// [`go`](fn@crate::go) outside any runtime starts. If that default runtime was never
/// started, every field is 0 (`procs` too: there are no Ps); reading never starts it.
///
/// Cheap enough to call in a loop: O(`procs`) relaxed loads, no stop-the-world, no scheduler
/// lock (only the stack pool's, for three loads), no allocation: about 30 ns with 2 Ps,
/// whatever the number of goroutines. The events are counted where they happen with one
/// relaxed store to the counting P's own cache line (no atomic read-modify-write), so
/// counting costs the scheduler nearly nothing.
///
/// ```
/// use gmp_core::{go, metrics, Runtime};
///
/// let rt = Runtime::builder().procs(2).build().unwrap();
/// rt.run(|| {
///     let before = metrics();
///     let hs: Vec<_> = (0..10).map(|i| go(move || i * 2)).collect();
///     for h in hs {
///         h.join().unwrap();
///     }
///     let m = metrics();
///     assert_eq!(m.goroutines_created - before.goroutines_created, 10);
///     assert_eq!(m.procs, 2);
///     assert!(m.threads >= 1);
/// });
/// ```
pub fn metrics() -> Metrics {
    if let Some(c) = super::m::ctx() {
        return read(&c.sched);
    }
    crate::Runtime::default_if_built().map_or_else(Metrics::default, |s| read(s))
}

/// Sums the counters and derives the gauges of `s` (Go: `schedStatsAggregate.compute`).
fn read(s: &Sched) -> Metrics {
    let mut m = Metrics {
        goroutines: s.ngoroutines.load(Relaxed),
        procs: s.gomaxprocs,
        ..Metrics::default()
    };
    for pp in s.allp.iter() {
        let st = &*pp.stats;
        m.goroutines_created += st.goroutines_created.get();
        m.steals += st.steals.get();
        m.parks += st.parks.get();
        m.syscalls += st.syscalls.get();
        match pp.status.load(Relaxed) {
            P_RUNNING if pp.curg.load(Relaxed) != 0 => m.goroutines_running += 1,
            P_SYSCALL => m.goroutines_syscall += 1,
            _ => {}
        }
        m.goroutines_runnable += pp.runq.len();
    }
    m.goroutines_runnable += s.runqsize.load(Relaxed);
    let st = &s.stats;
    m.goroutines_created += st.goroutines_created.load(Relaxed);
    m.handoffs = st.handoffs.load(Relaxed);
    m.threads = st.threads.load(Relaxed);
    // Negative for a moment when a goroutine leaves its syscall before sysmon counted it.
    m.goroutines_syscall += st.ngsyscall_nop.load(Relaxed).max(0) as usize;
    m.goroutines_waiting = m
        .goroutines
        .saturating_sub(m.goroutines_running + m.goroutines_runnable + m.goroutines_syscall);
    let pool = s.stacks.usage();
    // Stacks copied out (pages released) and not yet copied back in.
    let copied_out = st.stacks_out.load(Relaxed);
    let resident = (pool.in_use.saturating_sub(copied_out) + pool.pooled_resident)
        .min(pool.reserved / crate::stack::page_size());
    m.stack_bytes_committed = resident * crate::stack::page_size();
    m.stack_bytes_reserved = pool.reserved;
    m
}

/// An event counter with a single writer.
///
/// | value | meaning               | transition                                         |
/// |-------|-----------------------|----------------------------------------------------|
/// | `n`   | `n` events so far     | `n` → `n + 1`: only by the M holding the P ([`incr`](Self::incr)) |
///
/// The holder of a P changes only through `Sched::lock`, `MShared::nextp` or the CAS on
/// `P::status` (all SeqCst), which order the old holder's last store before the new
/// holder's first load, so a load and a store lose no increment. Any thread may read.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Counts one event. Only the M holding the counter's P may call it.
    #[inline(always)]
    pub(crate) fn incr(&self) {
        self.0.store(self.0.load(Relaxed).wrapping_add(1), Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// A P's event counters (Go: `p.goroutinesCreated`), on a cache line of their own in the P:
/// written by the M holding the P, read by [`metrics`]. Each is a [`Counter`].
#[derive(Debug, Default)]
pub(crate) struct PStats {
    /// Goroutines created by goroutines running on this P (`newproc`).
    pub(crate) goroutines_created: Counter,
    /// Successful steals by this P's M from other Ps (`stealwork`).
    pub(crate) steals: Counter,
    /// Parks committed on this P (`park_m`).
    pub(crate) parks: Counter,
    /// Entries into `syscall(f)` from this P (`entersyscall`).
    pub(crate) syscalls: Counter,
}

/// The runtime-wide counters, for events without a P to count them on or too rare to shard.
///
/// | field                | value `n` means                                  | changed by (Relaxed) |
/// |----------------------|--------------------------------------------------|----------------------|
/// | `goroutines_created` | goroutines spawned by callers without a P of this runtime (plain threads, `syscall(f)`) | `newproc`: +1 |
/// | `handoffs`           | Ps handed off so far                             | `handoffp`: +1       |
/// | `ngsyscall_nop`      | goroutines in `syscall(f)` whose P sysmon took (may dip below 0 for a moment) | `retake`: +1; `exitsyscall` finding its P gone: −1 |
/// | `threads`            | M and sysmon threads spawned and not ended       | [`ThreadCounted`]: +1 before the spawn, −1 at the end of the body |
/// | `stacks_out`         | goroutine stacks copied out now (pages released) | copy-out's batch: +n when published; each copy put back (`execute`, a dump, shutdown): −1 |
#[derive(Debug, Default)]
pub(crate) struct SchedStats {
    pub(crate) goroutines_created: AtomicU64,
    pub(crate) handoffs: AtomicU64,
    /// Go: `sched.nGsyscallNoP`.
    pub(crate) ngsyscall_nop: AtomicIsize,
    pub(crate) threads: AtomicUsize,
    pub(crate) stacks_out: AtomicUsize,
}

impl SchedStats {
    /// `newproc` created a goroutine; `pp` is the spawner's P, if it holds one.
    #[inline(always)]
    pub(crate) fn count_created(&self, pp: Option<&P>) {
        match pp {
            Some(pp) => pp.stats.goroutines_created.incr(),
            None => {
                self.goroutines_created.fetch_add(1, Relaxed);
            }
        }
    }
}

/// One thread of the runtime in [`SchedStats::threads`], from just before it is spawned (so
/// a reader never misses a thread that is starting) to the end of its body, or to the failed
/// spawn that drops the closure holding it (Go's `mcount()` counts an M from `allocm`).
#[derive(Debug)]
pub(crate) struct ThreadCounted(Arc<Sched>);

impl ThreadCounted {
    pub(crate) fn new(s: &Arc<Sched>) -> Self {
        s.stats.threads.fetch_add(1, Relaxed);
        ThreadCounted(s.clone())
    }

    /// Runs the thread's body `f`, counted until it returns.
    pub(crate) fn run<R>(self, f: impl FnOnce() -> R) -> R {
        f()
    }
}

impl Drop for ThreadCounted {
    fn drop(&mut self) {
        self.0.stats.threads.fetch_sub(1, Relaxed);
    }
}
