//! The G/M/P scheduler (Go: runtime/proc.go).
//!
//! # Design
//!
//! - A **G** (`g.rs`) is a goroutine: a state word, its entry task, and the coroutine (`co.rs`)
//!   it runs on. Dead Gs are kept, with their coroutine and stack, in per-P free lists and
//!   reused (Go: `gfput`/`gfget`); a new G gets a stack only when it first runs, so a
//!   goroutine that was spawned but has not run costs a few hundred bytes.
//! - An **M** (`m.rs`) is an OS thread running `schedule`: find a G, resume it, handle what it
//!   suspended with (park, yield, finished), repeat. A goroutine never publishes itself as
//!   parked while still on its own stack: it suspends with `Suspend::Park` and its M commits
//!   the park (Go: `gopark` → `park_m`), so a wake-up can never resume a G that is still
//!   running on another M.
//! - A **P** (`P` below) is the right to run goroutines, `gomaxprocs` of them: a local run queue
//!   with `runnext` (`runq.rs`, Go: `runqput`/`runqget`/`runqsteal`), a timer heap, a free-G
//!   list and a goroutine-id cache. Only the M holding a P touches its owner-side state.
//! - The **global** queue and the idle lists live under `Sched::lock` (Go: `sched.lock`).
//!
//! Finding work follows Go's `findRunnable`: own timers, the global queue every 61 ticks, the
//! local queue, the global queue, stealing (as a *spinning* M, at most half the busy Ps' worth
//! of them), then giving up the P with Go's "delicate dance": drop `nmspinning` first, then
//! recheck every source, so that either a submitter sees no spinner and wakes one (`wakep`),
//! or the departing spinner sees the work. With nothing to do, one M (the *poller*) sleeps
//! until the earliest timer of any P; the others sleep until `startm` hands them a P. When
//! the last M goes idle, `checkdead` looks for a deadlock.

pub(crate) mod co;
mod dump;
pub(crate) mod g;
pub(crate) mod m;
pub(crate) mod netpoll;
pub(crate) mod runq;
pub(crate) mod syscall;
mod sysmon;

pub(crate) use dump::dump;
pub(crate) use g::GoUnparker;
pub(crate) use m::{can_spin, checkpoint, current_unparker, gopark, gopark_deadline};

use crate::loom::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::*,
};
use crate::loom::{Arc, Mutex, UnsafeCell};
use crate::park::Unparker;
use crate::stack::StackPool;
use crate::timer::{TimerHeap, TimerThread, TimerWhen};
use co::Co;
use g::{Task, G};
use m::MShared;
use runq::RunQueue;
use std::collections::VecDeque;
use std::panic::Location;
use std::sync::OnceLock;
use std::time::Instant;

/// Same as Go's `schedtick%61` check in `findRunnable` (runtime/proc.go): how often a P looks
/// at the global queue before its own, so goroutines there are not starved. 61 is prime so
/// it does not fall into step with other periodic behaviour (tokio copies it too).
const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// Same as Go's `stealTries` (runtime/proc.go).
const STEAL_TRIES: usize = 4;
/// Per-P free-G list bounds (Go: `gfput` moves Gs to the global list at 64, down to 32).
const GFREE_MAX: usize = 64;
const GFREE_KEEP: usize = 32;
/// Beyond this many free Gs in the global list, dead Gs are released.
const GFREE_GLOBAL_MAX: usize = 4096;
/// Per-P cache of idle coroutines (with their stacks): at this many, half go back to the
/// stack pool (Go: `stackcache` per P, `_StackCacheSize`, refilled and released by halves).
const CO_CACHE_MAX: usize = 32;
/// Same as Go's `_GoidCacheBatch` (runtime/proc.go).
const GOID_CACHE_BATCH: u64 = 16;
pub(crate) const NO_P: usize = usize::MAX;
/// Same as Go's `sched.maxmcount` default (runtime/proc.go): at most 10,000 Ms.
pub(crate) const DEFAULT_MAX_THREADS: usize = 10_000;

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
    pub(crate) stacks: StackPool,
    pub(crate) shutdown: AtomicBool,
    pub(crate) deadlock_detection: bool,
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
    pub(crate) epoch: Instant,
    /// The deadlock report, once `checkdead` has made one.
    pub(crate) fatal: Mutex<Option<String>>,
    /// Threads blocked in `run` waiting for the main goroutine or a fatal report.
    pub(crate) run_waiters: Mutex<Vec<Unparker>>,
    /// The main goroutine of `run` called `goexit`.
    pub(crate) main_goexited: AtomicBool,
    next_mid: AtomicUsize,
    /// At most this many Ms (Go: `sched.maxmcount`).
    max_threads: usize,
    /// The sysmon thread's sleep (Go: `sched.sysmonnote`) and whether it is in its deep sleep
    /// waiting for a P to become busy (Go: `sched.sysmonwait`).
    pub(crate) sysmon_note: crate::thread_parker::ThreadParker,
    pub(crate) sysmon_wait: AtomicBool,
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
    pub(crate) fn new(
        procs: usize,
        stack_size: usize,
        deadlock_detection: bool,
        max_threads: usize,
    ) -> Arc<Sched> {
        crate::stack::install_overflow_handler();
        m::install_panic_hook();
        let allp: Vec<P> = (0..procs)
            .map(|id| P {
                id,
                runq: RunQueue::new(),
                schedtick: AtomicU32::new(0),
                timers: Mutex::new(TimerHeap::default()),
                timer0: AtomicU64::new(0),
                status: AtomicU8::new(P_IDLE),
                syscall_when: AtomicU64::new(0),
                preempt: AtomicBool::new(false),
                gfree: UnsafeCell::new(Vec::new()),
                cocache: UnsafeCell::new(Vec::new()),
                goidcache: UnsafeCell::new((0, 0)),
            })
            .collect();
        let s = Arc::new(Sched {
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
            stacks: StackPool::new(stack_size),
            shutdown: AtomicBool::new(false),
            deadlock_detection,
            poll_until: AtomicU64::new(0),
            in_poller: AtomicUsize::new(0),
            netpoll: OnceLock::new(),
            lastpoll: AtomicU64::new(0),
            coarse_now: AtomicU64::new(1),
            epoch: crate::loom::now(),
            fatal: Mutex::new(None),
            run_waiters: Mutex::new(Vec::new()),
            main_goexited: AtomicBool::new(false),
            next_mid: AtomicUsize::new(0),
            max_threads,
            sysmon_note: crate::thread_parker::ThreadParker::new(),
            sysmon_wait: AtomicBool::new(false),
        });
        if crate::loom::SYSMON {
            let s2 = s.clone();
            let h = crate::loom::thread::Builder::new()
                .name("gmp-sysmon".into())
                .spawn(move || sysmon::sysmon(s2));
            match h {
                Ok(h) => s.lock.lock().threads.push(h),
                // Goroutines still run; only the syscall hand-off and preemption are lost.
                Err(e) => {
                    eprintln!("gmp: cannot start sysmon ({e}): syscall(f) will not hand off its P")
                }
            }
        }
        s
    }

    pub(crate) fn nanotime(&self, t: Instant) -> u64 {
        // +1 so that 0 can mean "none".
        t.saturating_duration_since(self.epoch).as_nanos() as u64 + 1
    }

    fn instant_of(&self, ns: u64) -> Instant {
        self.epoch + std::time::Duration::from_nanos(ns - 1)
    }

    // ---- goroutine creation -------------------------------------------------------------

    /// Go: `newproc`. Creates a goroutine running `task` and makes it runnable. `pp` is the
    /// caller's P when the caller is an M of this runtime. Returns the goroutine id.
    pub(crate) fn newproc(
        self: &Arc<Self>,
        task: Box<dyn Task>,
        site: &'static Location<'static>,
        parent: u64,
        is_main: bool,
    ) -> u64 {
        let pp = m::current_p_of(self);
        let g = match pp {
            Some(pp) => self.gfget(pp),
            None => self.gfget_global(),
        }
        .unwrap_or_else(|| self.malg());
        let goid = match pp {
            Some(pp) => self.goid_from_cache(pp),
            None => self.goidgen.fetch_add(1, Relaxed) + 1,
        };
        if self.shutdown.load(SeqCst) {
            task.cancel(crate::JoinError::Cancelled);
            return goid;
        }
        // SAFETY: a free G is owned by whoever took it off a free list; it is not published
        // until the state store below.
        unsafe {
            g.task.with_mut(|t| *t = Some(task));
            g.budget.with_mut(|b| *b = g::BUDGET);
            g.locked.with_mut(|l| *l = 0);
        }
        g.spawn_site
            .store(site as *const Location<'static> as *mut _, Relaxed);
        g.parent.store(parent, Relaxed);
        g.cancel.store(false, Relaxed);
        g.is_main.store(is_main, Relaxed);
        self.ngoroutines.fetch_add(1, Relaxed);
        g.state.store(g::runnable_word(goid), Release);
        match pp {
            Some(pp) => self.runqput(pp, g, true),
            None => self.globrunqput(g),
        }
        self.wakep();
        goid
    }

    /// Go: `malg` + `allgadd`: a brand-new G, without a stack until it first runs.
    fn malg(self: &Arc<Self>) -> Arc<G> {
        let g = Arc::new(G::new(self.clone()));
        let mut all = self.allgs.lock();
        g.allg_index.store(all.len(), Relaxed);
        all.push(g.clone());
        g
    }

    fn goid_from_cache(&self, pp: &P) -> u64 {
        // SAFETY: owner-only field of the P this M holds.
        pp.goidcache.with_mut(|c| unsafe {
            let c = &mut *c;
            if c.0 == c.1 {
                let end = self.goidgen.fetch_add(GOID_CACHE_BATCH, Relaxed) + GOID_CACHE_BATCH;
                *c = (end - GOID_CACHE_BATCH + 1, end + 1);
            }
            let id = c.0;
            c.0 += 1;
            id
        })
    }

    /// Go: `gfget`.
    fn gfget(&self, pp: &P) -> Option<Arc<G>> {
        // SAFETY: owner-only field of the P this M holds.
        let local = pp.gfree.with_mut(|v| unsafe { (*v).pop() });
        if local.is_some() {
            return local;
        }
        let mut l = self.lock.lock();
        if l.gfree.is_empty() {
            return None;
        }
        let n = l.gfree.len().min(GFREE_KEEP);
        let at = l.gfree.len() - n;
        let mut batch = l.gfree.split_off(at);
        drop(l);
        let g = batch.pop();
        // SAFETY: as above.
        pp.gfree.with_mut(|v| unsafe { (*v).extend(batch) });
        g
    }

    fn gfget_global(&self) -> Option<Arc<G>> {
        self.lock.lock().gfree.pop()
    }

    /// Go: `gfput`: keeps a dead G (its coroutine went to the P's cache) for reuse.
    pub(crate) fn gfput(&self, pp: &P, g: Arc<G>) {
        // SAFETY: owner-only field of the P this M holds.
        let spill = pp.gfree.with_mut(|v| unsafe {
            let v = &mut *v;
            v.push(g);
            if v.len() >= GFREE_MAX {
                v.split_off(GFREE_KEEP)
            } else {
                Vec::new()
            }
        });
        if spill.is_empty() {
            return;
        }
        let mut l = self.lock.lock();
        l.gfree.extend(spill);
        let excess = if l.gfree.len() > GFREE_GLOBAL_MAX {
            l.gfree.split_off(GFREE_GLOBAL_MAX)
        } else {
            Vec::new()
        };
        drop(l);
        for g in excess {
            self.release_g(g);
        }
    }

    /// Drops a dead G for good: its stack goes back to the pool, and it leaves `allgs`.
    fn release_g(&self, g: Arc<G>) {
        // SAFETY: a G on a free list is owned by whoever took it off.
        if let Some(co) = unsafe { g.co.with_mut(|c| (*c).take()) } {
            self.stacks.free(co.into_stack());
        }
        let mut all = self.allgs.lock();
        let i = g.allg_index.load(Relaxed);
        debug_assert!(Arc::ptr_eq(&all[i], &g), "allgs index out of date");
        all.swap_remove(i);
        if let Some(moved) = all.get(i) {
            moved.allg_index.store(i, Relaxed);
        }
    }

    /// Go: `stackalloc` from the P's `stackcache`: an idle coroutine for a goroutine about
    /// to run its first time on `pp`, else a new one on a stack from the pool.
    pub(crate) fn coget(&self, pp: &P) -> std::io::Result<Co> {
        // SAFETY: owner-only field of the P this M holds.
        if let Some(co) = pp.cocache.with_mut(|v| unsafe { (*v).pop() }) {
            return Ok(co);
        }
        self.stacks.alloc().map(Co::new)
    }

    /// Go: `stackfree` into the P's `stackcache` (`stackcacherelease` at the limit): keeps a
    /// finished goroutine's coroutine for the next one.
    pub(crate) fn coput(&self, pp: &P, co: Co) {
        // SAFETY: owner-only field of the P this M holds.
        let spill = pp.cocache.with_mut(|v| unsafe {
            let v = &mut *v;
            v.push(co);
            if v.len() >= CO_CACHE_MAX {
                v.split_off(CO_CACHE_MAX / 2)
            } else {
                Vec::new()
            }
        });
        for co in spill {
            self.stacks.free(co.into_stack());
        }
    }

    // ---- run queues ---------------------------------------------------------------------

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

    fn globrunqputbatch(&self, batch: Vec<Arc<G>>) {
        let mut l = self.lock.lock();
        l.runq.extend(batch);
        self.runqsize.store(l.runq.len(), SeqCst);
    }

    /// Go: `globrunqget`: takes a fair share of the global queue, returns one G and moves the
    /// rest into `pp`'s local queue. `max` 0 means no limit beyond the fair share.
    fn globrunqget_locked(&self, l: &mut Locked, pp: &P, max: usize) -> Option<Arc<G>> {
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

    fn globrunqget(&self, pp: &P, max: usize) -> Option<Arc<G>> {
        let mut l = self.lock.lock();
        self.globrunqget_locked(&mut l, pp, max)
    }

    /// Go: `ready`/`goready`: makes a woken G runnable, in the waker's `runnext` when the waker
    /// runs on this runtime (so the woken G shares its time slice), else the global queue.
    pub(crate) fn ready(self: &Arc<Self>, g: Arc<G>) {
        match m::current_p_of(self) {
            Some(pp) => self.runqput(pp, g, true),
            None => self.globrunqput(g),
        }
        self.wakep();
    }

    // ---- Ps and Ms ----------------------------------------------------------------------

    /// Go: `pidleget`.
    fn pidleget(&self, l: &mut Locked) -> Option<usize> {
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

    /// `pidleget` taking the lock itself.
    pub(crate) fn pidleget_locked(&self) -> Option<usize> {
        let mut l = self.lock.lock();
        self.pidleget(&mut l)
    }

    /// Go: `pidleput`.
    fn pidleput(&self, l: &mut Locked, p: usize) {
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
    fn startm(self: &Arc<Self>, pp: Option<usize>, spinning: bool) {
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
        let sched = self.clone();
        let spawned = crate::loom::thread::Builder::new()
            .name(format!("gmp-m{id}"))
            .spawn(move || m::mstart(sched, mm));
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

    // ---- timers -------------------------------------------------------------------------

    /// Arms a timer on P `pp` (Go: `timer.maybeAdd`), waking the poller if it became earliest.
    pub(crate) fn add_timer_on(self: &Arc<Self>, pp: &P, t: TimerWhen) {
        let when = self.nanotime(t.when);
        let mut h = pp.timers.lock();
        h.push(t);
        let first = self.nanotime(h.peek_when().expect("just pushed"));
        pp.timer0.store(first, SeqCst);
        drop(h);
        self.wake_netpoller(when);
    }

    /// Go: `wakeNetPoller`: the poller sleeps too long for a timer at `when`: break its sleep;
    /// nobody polls: make sure some M will look.
    fn wake_netpoller(self: &Arc<Self>, when: u64) {
        let pu = self.poll_until.load(SeqCst);
        if pu != 0 {
            if when < pu {
                if let Some(mm) = self.lock.lock().poller.clone() {
                    self.break_poller(&mm);
                }
            }
        } else {
            self.wakep();
        }
    }

    /// Runs P `pp`'s due timers (Go: `timers.check`). Returns whether any ran.
    pub(crate) fn check_timers(self: &Arc<Self>, pp: &P, now: Instant) -> bool {
        let t0 = pp.timer0.load(Acquire);
        if t0 == 0 || t0 > self.nanotime(now) {
            return false;
        }
        let mut ran = false;
        loop {
            let mut h = pp.timers.lock();
            let e = h.pop_due(now);
            pp.timer0
                .store(h.peek_when().map_or(0, |w| self.nanotime(w)), SeqCst);
            drop(h);
            let Some(e) = e else { break };
            ran = true;
            let sched = self.clone();
            let spawn = move |f: Box<dyn FnOnce() + Send>| sched.spawn_internal(f);
            if let Some(next) = crate::timer::fire(e, now, &spawn) {
                self.add_timer_on(pp, next);
            }
        }
        ran
    }

    /// The earliest timer over all Ps, in ns since the epoch (Go: `checkTimersNoP`).
    fn earliest_timer(&self) -> Option<u64> {
        self.allp
            .iter()
            .map(|p| p.timer0.load(SeqCst))
            .filter(|&t| t != 0)
            .min()
    }

    /// Spawns a runtime-internal goroutine (an `after_fn` callback).
    fn spawn_internal(self: &Arc<Self>, f: Box<dyn FnOnce() + Send>) {
        let task = crate::goroutine::task_for(f);
        self.newproc(task, Location::caller(), 0, false);
    }

    // ---- shutdown -----------------------------------------------------------------------

    /// Cancels every goroutine and stops the Ms (Go: main returning, but unwinding instead of
    /// exiting the process). Returns once every M thread has exited.
    pub(crate) fn shutdown(self: &Arc<Self>) {
        self.shutdown.store(true, SeqCst);
        // Pairs with the fence in `gdestroy` (the last goroutine's exit wakes the Ms).
        crate::loom::seqcst_fence();
        let gs: Vec<Arc<G>> = self.allgs.lock().clone();
        for g in &gs {
            if g::sweep_cancel(&g.state, &g.cancel) {
                self.globrunqput(g.clone());
            }
        }
        drop(gs);
        // Get Ms onto the cancelled goroutines (at least one M per P with work).
        for _ in 0..self.gomaxprocs {
            if self.runqsize.load(SeqCst) == 0 {
                break;
            }
            self.startm(None, false);
        }
        self.wake_all_ms();
        loop {
            let threads = std::mem::take(&mut self.lock.lock().threads);
            if threads.is_empty() {
                break;
            }
            for t in threads {
                let _ = t.join();
            }
        }
        // Free what is left: timers, free Gs (and their stacks), and the G registry.
        for p in self.allp.iter() {
            drop(p.timers.lock().drain());
            p.timer0.store(0, SeqCst);
            // SAFETY: every M has exited, so nobody else owns this P's queue.
            for g in unsafe { p.runq.drain() } {
                drop(g);
            }
            // SAFETY: every M has exited, so nobody holds this P.
            let free = p.gfree.with_mut(|v| unsafe { std::mem::take(&mut *v) });
            for g in free {
                self.release_g(g);
            }
            // SAFETY: as above.
            let cos = p.cocache.with_mut(|v| unsafe { std::mem::take(&mut *v) });
            for co in cos {
                self.stacks.free(co.into_stack());
            }
        }
        let free = std::mem::take(&mut self.lock.lock().gfree);
        for g in free {
            self.release_g(g);
        }
        let rest = std::mem::take(&mut *self.allgs.lock());
        for g in rest {
            // SAFETY: all Ms are gone; nothing runs these Gs any more.
            if let Some(co) = unsafe { g.co.with_mut(|c| (*c).take()) } {
                self.stacks.free(co.into_stack());
            }
            // SAFETY: as above.
            if let Some(t) = unsafe { g.task.with_mut(|t| (*t).take()) } {
                t.cancel(crate::JoinError::Cancelled);
            }
        }
    }

    /// Wakes every idle M and the poller, so they notice shutdown.
    pub(crate) fn wake_all_ms(&self) {
        let l = self.lock.lock();
        let ms: Vec<Arc<MShared>> = l.allm.clone();
        drop(l);
        for mm in ms {
            mm.note.unpark();
        }
        self.sysmon_note.unpark();
        // The poller may be blocked in epoll rather than on its note (Go: netpollBreak).
        if let Some(np) = self.netpoll.get() {
            np.netpoll_break();
        }
    }

    /// Reports a fatal condition (deadlock) to the threads waiting in `run`.
    pub(crate) fn report_fatal(&self, msg: String) {
        let mut f = self.fatal.lock();
        if f.is_some() {
            return;
        }
        *f = Some(msg);
        drop(f);
        for w in self.run_waiters.lock().iter() {
            w.unpark();
        }
    }
}

// ---- timers outside any runtime, and the park/time entry points ------------------------

/// The timer thread for timers armed outside any runtime.
fn timer_thread() -> &'static TimerThread {
    static TT: OnceLock<&'static TimerThread> = OnceLock::new();
    TT.get_or_init(|| {
        let tt: &'static TimerThread = Box::leak(Box::new(TimerThread::new()));
        std::thread::Builder::new()
            .name("gmp-timer".into())
            .spawn(move || {
                tt.run(&|f: Box<dyn FnOnce() + Send>| {
                    crate::go(f);
                })
            })
            .expect("gmp: cannot start the timer thread");
        tt
    })
}

/// Arms a timer: on the current P's heap inside a runtime, else on the timer thread.
pub(crate) fn add_timer(t: TimerWhen) {
    if let Err(t) = m::add_timer_here(t) {
        timer_thread().add(t);
    }
}
