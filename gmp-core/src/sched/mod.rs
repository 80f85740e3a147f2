//! The G/M/P scheduler (Go: runtime/proc.go).
//!
//! # Design
//!
//! - A **G** (`g.rs`) is a goroutine: a state word, its entry task, and the coroutine (`co.rs`)
//!   it runs on. Dead Gs are kept in per-P free lists and reused (Go: `gfput`/`gfget`); a new G
//!   gets a stack only when it first runs, so a goroutine that was spawned but has not run
//!   costs a few hundred bytes.
//! - An **M** (`m.rs`) is an OS thread running `schedule`: find a G, resume it, handle what it
//!   suspended with, repeat. A goroutine never publishes itself as parked while still on its
//!   own stack: it suspends with `Suspend::Park` and its M commits the park (Go: `gopark` →
//!   `park_m`), so a wake-up can never resume a G that is still running on another M.
//! - A **P** (`p.rs`) is the right to run goroutines, `gomaxprocs` of them: a local run queue
//!   with `runnext` (`runq.rs`), a timer heap, a free-G list, a coroutine cache and a
//!   goroutine-id cache. Only the M holding a P touches its owner-side state.
//! - The **global** queue and the idle lists live under `Sched::lock` (Go: `sched.lock`).
//!
//! # Rooms
//!
//! Each file holds one protocol and opens with its invariants; each function that mirrors
//! one of Go's carries Go's name, so a Go reader who greps for `park_m` lands on it.
//!
//! | file             | protocol                                                    | Go (runtime/) |
//! |------------------|-------------------------------------------------------------|---------------|
//! | `m.rs`           | the M: its shared half, its thread-local context, `mstart`  | `mstart`, `getg` |
//! | `p.rs`           | the P: status word, `acquirep`/`releasep`                   | `p`, `acquirep` |
//! | `schedule.rs`    | the M's loop: `schedule`, `findrunnable`, `execute` and one function per way a goroutine suspends: `park_m`, `gosched_m`, `goexit0` | proc.go |
//! | `gopark.rs`      | the goroutine's side, on its own stack: `gopark`, `gosched`, `checkpoint`, `can_spin` | `gopark`, `Gosched` |
//! | `idle.rs`        | the spinning/idle dance: `wakep`, `startm`, `stopm`, `handoffp`, `pidleget`/`pidleput`, `resetspinning` | proc.go |
//! | `newproc.rs`     | goroutine creation and the per-P caches that make it cheap | `newproc`, `gfget`, `stackcache` |
//! | `sudog.rs`       | waiter records off the stack, from per-P caches             | `acquireSudog`, `releaseSudog` |
//! | `globrunq.rs`    | the global run queue and `ready`                            | `globrunqget`, `goready` |
//! | `runq.rs`        | the per-P lock-free ring with `runnext`                     | `runqput`, `runqsteal` |
//! | `lockosthread.rs`| goroutines wired to their M                                 | `LockOSThread`, `stoplockedm` |
//! | `syscall.rs`     | `syscall(f)`: the P left up for grabs, `exitsyscall0`       | `entersyscall` |
//! | `copyout.rs`     | parked stacks copied to the heap, pages released, restored before the goroutine runs | (Java's unmount) |
//! | `sysmon.rs`      | the monitor thread: retake, preemption flags, network poll  | `sysmon`, `retake` |
//! | `netpoll.rs`     | the network poller and the M that sleeps in it              | netpoll.go |
//! | `timers.rs`      | timer records, per-P heaps, the timer thread                | time.go |
//! | `shutdown.rs`    | cancelling every goroutine and stopping the Ms              | (main returning) |
//! | `dump.rs`        | the goroutine dump (with stacks), the deadlock detector, the panic hook | `tracebackothers`, `checkdead` |
//! | `sigquit.rs`     | the dump on SIGQUIT (`Builder::dump_on_sigquit`)            | `sighandler`'s SIGQUIT traceback |
//! | `metrics.rs`     | `metrics()`: per-P event counters, gauges derived from the queues | runtime/metrics.go |
//! | `trace.rs`       | the hooks that record trace events (`crate::trace`)        | `traceGoStart`, ... |
//!
//! # Finding work
//!
//! `findrunnable` follows Go's `findRunnable`: own timers, the global queue every 61 ticks,
//! the local queue, the global queue, the network, stealing (as a *spinning* M, at most half
//! the busy Ps' worth of them), then giving up the P with Go's "delicate dance" (`idle.rs`):
//! drop `nmspinning` first, then recheck every source, so that either a submitter sees no
//! spinner and wakes one (`wakep`), or the departing spinner sees the work. With nothing to do,
//! one M (the *poller*) sleeps until the earliest timer of any P or an I/O event; the others
//! sleep in `stopm` until `startm` hands them a P. When the last M goes idle, `checkdead`
//! looks for a deadlock.
//!
//! # Locks
//!
//! `Sched::lock` guards [`Locked`]. A function that needs it held takes the guard's
//! `&mut Locked` as a parameter (`pidleget`, `pidleput`, `globrunqget`): the signature says
//! the lock is held, and the caller takes it. (In gmp-chan a `_locked` suffix means the same:
//! the caller holds the lock.) Lock order: `Sched::lock`, then a P's `timers`, then
//! `allgs`; an M's `locked_handoff` and a G's `thread_parker` are leaves.

mod co;
pub(crate) mod copyout;
mod dump;
pub(crate) mod g;
mod globrunq;
mod gopark;
mod idle;
pub(crate) mod leak;
mod lockosthread;
mod m;
mod metrics;
pub(crate) mod netpoll;
mod newproc;
mod p;
pub(crate) mod runq;
mod schedule;
mod shutdown;
pub(crate) mod sigquit;
pub(crate) mod sudog;
pub(crate) mod synctest;
mod syscall;
mod sysmon;
pub(crate) mod timers;
mod trace;

pub(crate) use copyout::pin_stack;
pub(crate) use dump::{dump, leaked};
pub(crate) use g::GoUnparker;
pub(crate) use gopark::{
    can_spin, checkpoint, external_wait, gopark, gopark_deadline, gopark_uncancellable, gosched,
    preempt_check,
};
pub(crate) use lockosthread::{lock_os_thread, unlock_os_thread};
pub(crate) use m::{current_goid, current_sched, current_unparker, ncpu};
pub use metrics::{metrics, Metrics};
pub(crate) use p::{P, P_IDLE, P_RUNNING, P_SYSCALL};
pub(crate) use syscall::{entersyscall, exitsyscall};
pub(crate) use timers::add_timer;
pub(crate) use trace::running_goroutines;

use crate::loom::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::{Arc, Mutex};
use crate::park::Unparker;
use crate::stack::StackPool;
use g::G;
use m::MShared;
use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// "No P": the value of an M's P slot (and of `MShared::nextp`) while it holds none.
pub(crate) const NO_P: usize = usize::MAX;
/// Same as Go's `sched.maxmcount` default (runtime/proc.go): at most 10,000 Ms.
pub(crate) const DEFAULT_MAX_THREADS: usize = 10_000;

/// How long a goroutine may hold its P without a scheduling point, while others wait, before
/// sysmon names it on stderr (`Builder::hog_warning`).
pub(crate) const DEFAULT_HOG_WARNING: Duration = Duration::from_millis(100);

/// Same as Go's exit: a program ends when `main` returns. gmp first gives the other goroutines
/// this long to unwind (their drops run), then abandons the rest (`Builder::exit_grace`).
pub(crate) const DEFAULT_EXIT_GRACE: Duration = Duration::from_millis(100);

/// What a [`Builder`](crate::Builder) decided about a runtime.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Go's `GOMAXPROCS`.
    pub(crate) procs: usize,
    /// Each goroutine's stack, in bytes (validated).
    pub(crate) stack_size: usize,
    pub(crate) deadlock_detection: bool,
    /// Go's `sched.maxmcount`.
    pub(crate) max_threads: usize,
    /// How long shutdown waits for goroutines to end before abandoning them.
    pub(crate) exit_grace: Duration,
    /// What a panic nobody joins does.
    pub(crate) unhandled_panic: crate::UnhandledPanic,
    /// After how long without a scheduling point sysmon names a goroutine on stderr.
    pub(crate) hog_warning: Option<Duration>,
    /// A synctest bubble: the clock is virtual (`synctest.rs`).
    pub(crate) bubble: bool,
}

/// How many earlier unhandled panics a runtime remembers for its deadlock report.
const PANICKED_EARLIER_MAX: usize = 16;

/// Every live runtime by id, so that a `JoinHandle` dropped on any thread can report its
/// goroutine's unhandled panic to the runtime it ran on. Touched only when a runtime is built
/// or dropped, and on that report.
static RUNTIMES: std::sync::Mutex<Vec<(u64, std::sync::Weak<Sched>)>> =
    std::sync::Mutex::new(Vec::new());
static NEXT_RUNTIME_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The live runtime `id` (see `Sched::id`).
pub(crate) fn runtime_by_id(id: u64) -> Option<Arc<Sched>> {
    let all = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner());
    all.iter()
        .find(|(i, _)| *i == id)
        .and_then(|(_, w)| w.upgrade())
}

/// Scheduler state under `Sched::lock` (Go: the fields of `schedt` guarded by `sched.lock`).
#[derive(Debug)]
pub(crate) struct Locked {
    /// The global run queue.
    runq: VecDeque<Arc<G>>,
    /// Idle Ps (Go: `pidle`).
    pidle: Vec<usize>,
    /// Idle Ms (Go: `midle`).
    midle: Vec<Arc<MShared>>,
    /// Ms alive, and how many are idle in `stopm` (Go: `mcount()`, `nmidle`).
    pub(crate) mcount: usize,
    pub(crate) nmidle: usize,
    /// Ms waiting for their locked goroutine (Go: `nmidlelocked`).
    pub(crate) nmidlelocked: usize,
    /// Every M, to wake them all at shutdown (Go: `allm`).
    allm: Vec<Arc<MShared>>,
    /// The M sleeping until the earliest timer (Go: the M in `netpoll`, `lastpoll == 0`).
    poller: Option<Arc<MShared>>,
    /// Free Gs beyond the per-P lists (Go: `sched.gFree`).
    gfree: Vec<Arc<G>>,
    /// Thread handles of the Ms, joined at shutdown.
    threads: Vec<crate::loom::thread::JoinHandle<()>>,
}

/// One runtime's scheduler.
pub(crate) struct Sched {
    /// Unique in the process (see `runtime_by_id`).
    pub(crate) id: u64,
    pub(crate) allp: Box<[P]>,
    pub(crate) gomaxprocs: usize,
    pub(crate) lock: Mutex<Locked>,
    /// Length of `Locked::runq`, readable without the lock (Go: `sched.runqsize`).
    runqsize: AtomicUsize,
    /// Number of idle Ps (Go: `sched.npidle`).
    npidle: AtomicUsize,
    /// Number of spinning Ms (Go: `sched.nmspinning`).
    pub(crate) nmspinning: AtomicUsize,
    /// A spinner found work but no idle P: the next M to drop its P spins instead (Go:
    /// `sched.needspinning`, go.dev/issue/43997).
    needspinning: AtomicBool,
    goidgen: AtomicU64,
    /// Live user goroutines (Go: `gcount()`).
    pub(crate) ngoroutines: AtomicUsize,
    /// Every G ever made and not released (Go: `allgs`).
    pub(crate) allgs: Mutex<Vec<Arc<G>>>,
    /// The runtime-wide counters of `metrics()` (the per-P ones are in `P::stats`).
    pub(crate) stats: metrics::SchedStats,
    pub(crate) stacks: StackPool,
    /// Free waiter records beyond the Ps' caches (Go: `sched.sudogcache`).
    pub(crate) sudogcentral: sudog::SudogCentral,
    /// Lists of parked goroutines handed over by the Ps, for sysmon (`copyout.rs`).
    pub(crate) copyout_queue: Mutex<VecDeque<Vec<Arc<G>>>>,
    /// Goroutines in `copyout_queue`, readable without its lock.
    pub(crate) copyout_queued: AtomicUsize,
    /// Stacks copied out so far, and their bytes (for the memory accounting test).
    pub(crate) copyout_stats: (AtomicUsize, AtomicUsize),
    pub(crate) shutdown: AtomicBool,
    pub(crate) deadlock_detection: bool,
    /// Goroutines waiting in `block_on` for a waker that may fire outside the runtime (a
    /// tokio task): while any does, `checkdead` reports no deadlock (as for sockets).
    pub(crate) external_waits: AtomicUsize,
    /// Deadline of the sleeping poller in ns since `epoch` (0: nobody is polling; `u64::MAX`:
    /// it waits for I/O with no timer pending).
    poll_until: AtomicU64,
    /// Ms inside [`Sched::netpoll_block`]: 0 or 1 (checked there; the `poller` slot under
    /// `lock` is what keeps it so, this counter is the witness the loom models check).
    in_poller: AtomicUsize,
    /// The network poller, created when a goroutine first waits on a socket (Go:
    /// `netpollInited`).
    pub(crate) netpoll: OnceLock<Arc<netpoll::NetPoll>>,
    /// When the network was last polled, in ns since `epoch` (Go: `sched.lastpoll`): sysmon
    /// polls if nobody has for 10 ms.
    pub(crate) lastpoll: AtomicU64,
    /// A clock in ns since `epoch` that sysmon refreshes every round (at most 10 ms stale
    /// while goroutines run): for `wait_since`, which `dump` shows in whole minutes.
    pub(crate) coarse_now: AtomicU64,
    /// Where the clock's ns count from: the runtime's start, or every bubble's start.
    pub(crate) epoch: Instant,
    /// A synctest bubble's virtual clock and its waiter (`synctest.rs`); `None` elsewhere.
    pub(crate) bubble: Option<synctest::Bubble>,
    /// The deadlock report, once `checkdead` has made one.
    pub(crate) fatal: Mutex<Option<String>>,
    /// Threads blocked in `run` waiting for the main goroutine or a fatal report.
    pub(crate) run_waiters: Mutex<Vec<Unparker>>,
    /// The main goroutine of `run` called `goexit`.
    pub(crate) main_goexited: AtomicBool,
    next_mid: AtomicUsize,
    /// At most this many Ms (Go: `sched.maxmcount`).
    max_threads: usize,
    /// sysmon's hog warning threshold in ns (`Builder::hog_warning`), 0 for none.
    pub(crate) hog_warning_ns: u64,
    /// What a panic nobody joins does (`unhandled_panic`).
    unhandled: crate::UnhandledPanic,
    /// Goroutines whose panic nobody joined, for the deadlock report (the first few).
    panicked_earlier: Mutex<Vec<(u64, String)>>,
    /// How long `shutdown` waits for the goroutines to end; `None`: for ever (loom models,
    /// which must join every thread).
    exit_grace: Option<Duration>,
    /// Where `shutdown` waits for the last goroutine to end (`wake_all_ms` wakes it).
    exit_note: crate::park::thread::ThreadParker,
    /// The sysmon thread's sleep (Go: `sched.sysmonnote`) and whether it is in its deep sleep
    /// waiting for a P to become busy (Go: `sched.sysmonwait`).
    pub(crate) sysmon_note: crate::park::thread::ThreadParker,
    pub(crate) sysmon_wait: AtomicBool,
    /// Its execution tracing (`crate::trace`): buffers made at the first `trace::start`.
    pub(crate) trace: crate::trace::RuntimeTrace,
}

impl std::fmt::Debug for Sched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sched")
            .field("gomaxprocs", &self.gomaxprocs)
            .field("ngoroutines", &self.ngoroutines.load(Relaxed))
            .field("stack_size", &self.stacks.stack_size())
            .finish_non_exhaustive()
    }
}

impl Sched {
    pub(crate) fn new(cfg: Config) -> Arc<Sched> {
        let Config {
            procs,
            stack_size,
            deadlock_detection,
            max_threads,
            exit_grace,
            unhandled_panic,
            hog_warning,
            bubble,
        } = cfg;
        crate::stack::install_overflow_handler();
        dump::install_panic_hook();
        let allp: Vec<P> = (0..procs).map(P::new).collect();
        let s = Arc::new(Sched {
            id: NEXT_RUNTIME_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            allp: allp.into_boxed_slice(),
            gomaxprocs: procs,
            lock: Mutex::new(Locked {
                runq: VecDeque::new(),
                pidle: (0..procs).rev().collect(),
                midle: Vec::new(),
                mcount: 0,
                nmidle: 0,
                nmidlelocked: 0,
                allm: Vec::new(),
                poller: None,
                gfree: Vec::new(),
                threads: Vec::new(),
            }),
            runqsize: AtomicUsize::new(0),
            npidle: AtomicUsize::new(procs),
            nmspinning: AtomicUsize::new(0),
            needspinning: AtomicBool::new(false),
            goidgen: AtomicU64::new(0),
            ngoroutines: AtomicUsize::new(0),
            allgs: Mutex::new(Vec::new()),
            stats: metrics::SchedStats::default(),
            stacks: StackPool::new(stack_size),
            sudogcentral: sudog::SudogCentral::default(),
            copyout_queue: Mutex::new(VecDeque::new()),
            copyout_queued: AtomicUsize::new(0),
            copyout_stats: (AtomicUsize::new(0), AtomicUsize::new(0)),
            shutdown: AtomicBool::new(false),
            deadlock_detection,
            external_waits: AtomicUsize::new(0),
            poll_until: AtomicU64::new(0),
            in_poller: AtomicUsize::new(0),
            netpoll: OnceLock::new(),
            lastpoll: AtomicU64::new(0),
            coarse_now: AtomicU64::new(1),
            epoch: if bubble {
                synctest::bubble_epoch()
            } else {
                crate::loom::now()
            },
            bubble: bubble.then(synctest::Bubble::default),
            fatal: Mutex::new(None),
            run_waiters: Mutex::new(Vec::new()),
            main_goexited: AtomicBool::new(false),
            next_mid: AtomicUsize::new(0),
            max_threads,
            hog_warning_ns: hog_warning
                .map_or(0, |d| d.as_nanos().clamp(1, u64::MAX as u128) as u64),
            unhandled: unhandled_panic,
            panicked_earlier: Mutex::new(Vec::new()),
            exit_grace: crate::loom::BOUNDED_EXIT.then_some(exit_grace),
            exit_note: crate::park::thread::ThreadParker::new(),
            sysmon_note: crate::park::thread::ThreadParker::new(),
            sysmon_wait: AtomicBool::new(false),
            trace: crate::trace::RuntimeTrace::default(),
        });
        RUNTIMES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((s.id, Arc::downgrade(&s)));
        if crate::loom::SYSMON {
            let (s2, counted) = (s.clone(), metrics::ThreadCounted::new(&s));
            let h = crate::loom::thread::Builder::new()
                .name("gmp-sysmon".into())
                .spawn(move || counted.run(|| sysmon::sysmon(s2)));
            match h {
                Ok(h) => s.lock.lock().threads.push(h),
                // Goroutines still run; only the syscall hand-off and preemption are lost.
                Err(e) => {
                    eprintln!("gmp: cannot start sysmon ({e}): syscall(f) will not hand off its P")
                }
            }
        }
        crate::trace::start_from_env(&s);
        s
    }

    pub(crate) fn nanotime(&self, t: Instant) -> u64 {
        // +1 so that 0 can mean "none".
        t.saturating_duration_since(self.epoch).as_nanos() as u64 + 1
    }

    fn instant_of(&self, ns: u64) -> Instant {
        self.epoch + Duration::from_nanos(ns - 1)
    }
}

impl Drop for Sched {
    fn drop(&mut self) {
        let mut all = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(i, _)| *i != self.id);
    }
}
