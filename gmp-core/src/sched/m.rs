//! The M: an OS thread running the schedule loop (Go: `mstart`, `schedule`, `findRunnable`,
//! `execute`, `stopm`), and the goroutine side of parking (`gopark`, `gosched`).

use super::co::{Co, Resume, Suspend, Yielder};
use super::g::{self, GoUnparker, G};
use super::{Sched, GLOBAL_QUEUE_INTERVAL, NO_P, P, P_IDLE, P_RUNNING, STEAL_TRIES};
use crate::loom::atomic::{fence, AtomicBool, AtomicUsize, Ordering::*};
use crate::loom::Arc;
use crate::reason::WaitReason;
use crate::thread_parker::ThreadParker;
use corosensei::CoroutineResult;
use std::cell::Cell;
use std::time::Instant;

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
    m: Arc<MShared>,
    /// The P held, or `NO_P` (also while the running goroutine is inside `syscall(f)`).
    pub(super) p: Cell<usize>,
    /// The P this M had when its goroutine entered `syscall(f)` (Go: `m.oldp`), or `NO_P`.
    pub(super) oldp: Cell<usize>,
    /// The goroutine running on this M right now (null on the scheduler stack).
    g: Cell<*const G>,
    g_arc: Cell<Option<Arc<G>>>,
    spinning: Cell<bool>,
    rand: Cell<u64>,
    /// The goroutine locked to this M by `lock_os_thread` (Go: `m.lockedg`).
    lockedg: Cell<Option<Arc<G>>>,
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

fn current_g_arc(c: &MCtx) -> Option<Arc<G>> {
    let g = c.g_arc.take();
    let r = g.clone();
    c.g_arc.set(g);
    r
}

/// P of `sched` held by the calling thread's M, if the caller runs on one.
pub(crate) fn current_p_of(sched: &Arc<Sched>) -> Option<&'static P> {
    let c = ctx()?;
    let p = c.p.get();
    if p == NO_P || !Arc::ptr_eq(&c.sched, sched) {
        return None;
    }
    // SAFETY: `sched` outlives the call (the caller holds it); `allp` is never resized.
    Some(unsafe { &*(&c.sched.allp[p] as *const P) })
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

/// Arms `t` on the current M's P; gives it back if the caller has none.
pub(crate) fn add_timer_here(t: crate::timer::TimerWhen) -> Result<(), crate::timer::TimerWhen> {
    match ctx() {
        Some(c) if c.p.get() != NO_P => {
            let pp = &c.sched.allp[c.p.get()];
            c.sched.add_timer_on(pp, t);
            Ok(())
        }
        _ => Err(t),
    }
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
    };
    MCTX.with(|x| x.set(&c));
    let p = c.m.nextp.swap(NO_P, SeqCst);
    acquirep(&c, p);
    c.spinning.set(c.m.spinning.load(SeqCst));
    schedule(&c);
    MCTX.with(|x| x.set(std::ptr::null()));
    c.sched.lock.lock().mcount -= 1;
}

pub(super) fn acquirep(c: &MCtx, p: usize) {
    debug_assert!(p != NO_P && c.p.get() == NO_P);
    c.sched.allp[p].status.store(P_RUNNING, SeqCst);
    c.p.set(p);
}

fn releasep(c: &MCtx) -> usize {
    let p = c.p.replace(NO_P);
    debug_assert!(p != NO_P);
    c.sched.allp[p].status.store(P_IDLE, SeqCst);
    p
}

/// Go: `schedule`: one round of find-and-run, forever (until shutdown).
fn schedule(c: &MCtx) {
    loop {
        if let Some(lg) = c.lockedg.take() {
            // Our locked goroutine is not running: wait for it (Go: `stoplockedm`).
            c.lockedg.set(Some(lg));
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
        let Some((g, inherit)) = findrunnable(c) else {
            return;
        };
        if c.spinning.get() {
            resetspinning(c);
        }
        // SAFETY: we dequeued the G (RUNNABLE), so we own its cells.
        let lockedm = unsafe { g.lockedm.with(|m| (*m).clone()) };
        match lockedm {
            Some(m2) if !Arc::ptr_eq(&m2, &c.m) => {
                startlockedm(c, g, m2);
                if !stopm(c) {
                    return;
                }
            }
            _ => execute(c, g, inherit),
        }
    }
}

/// Go: `startlockedm`: `g` is locked to `m2`: give it our P and the goroutine.
fn startlockedm(c: &MCtx, g: Arc<G>, m2: Arc<MShared>) {
    let p = releasep(c);
    *m2.locked_handoff.lock() = Some(g);
    m2.nextp.store(p, SeqCst);
    m2.note.unpark();
}

/// Go: `stoplockedm`: hand our P to someone else and sleep until our locked goroutine is
/// handed back with a P. `None` when the M should exit.
fn stoplockedm(c: &MCtx) -> Option<Arc<G>> {
    let s = &c.sched;
    if c.p.get() != NO_P {
        let p = releasep(c);
        s.handoffp(p);
    }
    {
        let mut l = s.lock.lock();
        l.nmidlelocked += 1;
        super::dump::checkdead(s, &l);
    }
    let g = loop {
        if let Some(g) = c.m.locked_handoff.lock().take() {
            break Some(g);
        }
        if s.shutdown.load(SeqCst) && s.ngoroutines.load(SeqCst) == 0 {
            break None;
        }
        c.m.note.park();
    };
    s.lock.lock().nmidlelocked -= 1;
    if g.is_some() {
        let p = c.m.nextp.swap(NO_P, SeqCst);
        acquirep(c, p);
    }
    g
}

/// Go: `LockOSThread`: wires the calling goroutine to its M. Returns `false` on a plain thread.
pub(crate) fn lock_os_thread() -> bool {
    let Some(c) = ctx() else { return false };
    let Some(g) = current_g_arc(c) else {
        return false;
    };
    // SAFETY: the running goroutine's own cells.
    let first = g.locked.with_mut(|n| unsafe {
        *n = (*n).checked_add(1).expect("LockOSThread nesting overflow");
        *n == 1
    });
    if first {
        // SAFETY: as above.
        unsafe { g.lockedm.with_mut(|m| *m = Some(c.m.clone())) };
        c.lockedg.set(Some(g));
    }
    true
}

/// Go: `UnlockOSThread`: undoes one `lock_os_thread`; the last one unwires.
pub(crate) fn unlock_os_thread() {
    let Some(c) = ctx() else { return };
    let Some(g) = current_g_arc(c) else { return };
    // SAFETY: the running goroutine's own cells.
    let last = g.locked.with_mut(|n| unsafe {
        if *n == 0 {
            return false;
        }
        *n -= 1;
        *n == 0
    });
    if last {
        // SAFETY: as above.
        unsafe { g.lockedm.with_mut(|m| *m = None) };
        c.lockedg.set(None);
    }
}

/// Go: `resetspinning`: a spinner found work; if it was the last spinner, start another,
/// since there may be more work than this M can take.
fn resetspinning(c: &MCtx) {
    c.spinning.set(false);
    let prev = c.sched.nmspinning.fetch_sub(1, SeqCst);
    debug_assert!(prev > 0, "nmspinning underflow");
    c.sched.wakep();
}

fn become_spinning(c: &MCtx) {
    c.spinning.set(true);
    c.sched.nmspinning.fetch_add(1, SeqCst);
}

fn fastrand(c: &MCtx) -> u64 {
    // xorshift64*
    let mut x = c.rand.get();
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c.rand.set(x);
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Go: `findRunnable`. Returns a goroutine to run (and whether it inherits the time slice),
/// or `None` when the M should exit (runtime shut down).
fn findrunnable(c: &MCtx) -> Option<(Arc<G>, bool)> {
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
            c.sched.check_timers(pp, crate::loom::now());
        }
        // Fairness: look at the global queue first now and then.
        if pp.schedtick.load(Relaxed) % GLOBAL_QUEUE_INTERVAL == 0 && s.runqsize.load(Relaxed) > 0 {
            if let Some(g) = s.globrunqget(pp, 1) {
                return Some((g, false));
            }
        }
        // SAFETY: this M holds `pp`, so it is the queue's owner.
        if let Some(x) = unsafe { pp.runq.get() } {
            return Some(x);
        }
        if s.runqsize.load(SeqCst) > 0 {
            if let Some(g) = s.globrunqget(pp, 0) {
                return Some((g, false));
            }
        }
        // Poll the network without blocking, if goroutines wait on I/O and no M is blocked
        // in the poller (Go: findRunnable step 8), so a busy runtime still sees I/O.
        if s.netpoll_any_waiters() && s.poll_until.load(SeqCst) == 0 {
            let ready = s.netpoll();
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
            if let Some(g) = steal_work(c, pp) {
                return Some((g, false));
            }
        }
        // Nothing: give up the P.
        let mut l = s.lock.lock();
        if let Some(g) = s.globrunqget_locked(&mut l, pp, 0) {
            return Some((g, false));
        }
        if !c.spinning.get() && s.needspinning.swap(false, SeqCst) {
            drop(l);
            become_spinning(c);
            continue 'top;
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
                        if let Some(g) = s.globrunqget_locked(&mut l, pp, 0) {
                            return Some((g, false));
                        }
                        drop(l);
                        continue 'top;
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
                        continue 'top;
                    }
                    break;
                }
            }
        }
        // Timers and I/O: one M waits in the poller until the earliest timer or an I/O event
        // (Go: the blocking netpoll of step 13).
        let until = s.earliest_timer();
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
fn steal_work(c: &MCtx, pp: &P) -> Option<Arc<G>> {
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
            if last && p2.timer0.load(Relaxed) != 0 && c.sched.check_timers(p2, crate::loom::now())
            {
                // SAFETY: this M holds `pp`.
                if let Some((g, _)) = unsafe { pp.runq.get() } {
                    return Some(g);
                }
            }
            // SAFETY: this M holds `pp`, the destination; `p2` is another P.
            if let Some(g) = unsafe {
                p2.runq
                    .steal_into(&pp.runq, last, p2.status.load(Relaxed) == P_RUNNING)
            } {
                return Some(g);
            }
        }
    }
    None
}

/// Go: `stopm`: sleep on the idle list until `startm` hands this M a P. Returns `false` when
/// the M should exit instead (shutdown with no goroutines left).
fn stopm(c: &MCtx) -> bool {
    let s = &*c.sched;
    let mut l = s.lock.lock();
    if s.shutdown.load(SeqCst) && s.ngoroutines.load(SeqCst) == 0 {
        return false;
    }
    l.midle.push(c.m.clone());
    l.nmidle += 1;
    super::dump::checkdead(s, &l);
    drop(l);
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

/// Go: `execute`: runs `g` on this M until it parks, yields or finishes.
fn execute(c: &MCtx, g: Arc<G>, inherit: bool) {
    let s = &*c.sched;
    let pp = &s.allp[c.p.get()];
    if !inherit {
        pp.schedtick.fetch_add(1, Relaxed);
        pp.preempt.store(false, Relaxed); // a new time slice (Go: execute's `gp.preempt = false`)
    }
    let w = g.state.fetch_add(g::RUNNING - g::RUNNABLE, AcqRel);
    debug_assert_eq!(w & g::STATUS_MASK, g::RUNNABLE);
    // SAFETY: we moved the G to RUNNING, so this M owns its cells.
    let co = unsafe { g.co.with_mut(|x| (*x).take()) };
    let mut co = match co {
        Some(co) => co,
        None => match s.coget(pp) {
            Ok(co) => co,
            Err(e) => {
                // No stack: fail this goroutine with the reason and keep the runtime going.
                // SAFETY: as above.
                if let Some(t) = unsafe { g.task.with_mut(|x| (*x).take()) } {
                    let msg = format!(
                        "gmp: cannot allocate a stack for goroutine {}: {e}",
                        g.goid()
                    );
                    eprintln!("{msg}");
                    t.cancel(crate::JoinError::Panicked(Box::new(msg)));
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
        let r = co.resume(Resume::Run);
        crate::stack::set_running(None);
        let g = c.g_arc.take().expect("running G");
        // The goroutine may have left `syscall(f)` on another P than it started on.
        let pp = match c.p.get() {
            NO_P => None,
            p => Some(&s.allp[p]),
        };
        match r {
            CoroutineResult::Yield(Suspend::Park) => {
                // SAFETY: still RUNNING: we own the cells. The coroutine goes back into the G
                // before WAITING is published, so whoever readies the G finds it there.
                unsafe { g.co.with_mut(|x| *x = Some(co)) };
                if g::commit_park(&g.state) {
                    c.g.set(std::ptr::null());
                    if let Some(pp) = pp {
                        if pp.preempt.load(Relaxed) {
                            end_time_slice(s, pp);
                        }
                    }
                    // The shutdown sweep may have missed us (we were RUNNING): requeue.
                    if g::recheck_cancel_after_park(&g.state, &g.cancel) {
                        s.globrunqput(g);
                    }
                    return;
                }
                // A permit raced in: resume the goroutine right away.
                // SAFETY: still RUNNING.
                co = unsafe { g.co.with_mut(|x| (*x).take()) }.expect("coroutine");
                c.g_arc.set(Some(g));
            }
            CoroutineResult::Yield(Suspend::ExitSyscall) => {
                // Go: `exitsyscall0`: the goroutine left `syscall(f)` and found no P: queue it
                // globally; this M has no P and stops in `schedule`.
                debug_assert!(pp.is_none());
                // SAFETY: still RUNNING: we own the cells until the status store below.
                unsafe { g.co.with_mut(|x| *x = Some(co)) };
                c.g.set(std::ptr::null());
                g.state.fetch_sub(g::RUNNING - g::RUNNABLE, Release);
                s.globrunqput(g);
                c.sched.wakep();
                return;
            }
            CoroutineResult::Yield(Suspend::Yield) => {
                let pp = pp.expect("a goroutine yields only while holding a P");
                if pp.runq.is_empty()
                    && s.runqsize.load(Relaxed) == 0
                    && pp.timer0.load(Relaxed) == 0
                {
                    // Nothing else to run here: stay on this goroutine.
                    pp.schedtick.fetch_add(1, Relaxed);
                    pp.preempt.store(false, Relaxed);
                    c.g_arc.set(Some(g));
                    continue;
                }
                // SAFETY: still RUNNING.
                unsafe { g.co.with_mut(|x| *x = Some(co)) };
                c.g.set(std::ptr::null());
                g.state.fetch_sub(g::RUNNING - g::RUNNABLE, Release);
                s.runqput(pp, g, false); // Go: goyield puts it on the local tail
                return;
            }
            CoroutineResult::Yield(Suspend::Finished) => {
                c.g.set(std::ptr::null());
                // A goroutine that ends locked releases its M (Go exits the thread instead).
                // SAFETY: still RUNNING: ours.
                unsafe {
                    g.lockedm.with_mut(|m| *m = None);
                    g.locked.with_mut(|n| *n = 0);
                }
                if c.lockedg.take().is_some_and(|lg| !Arc::ptr_eq(&lg, &g)) {
                    unreachable!("an M runs only its locked goroutine");
                }
                let pp = pp.expect("a goroutine ends only while holding a P");
                gdestroy(s, pp, g, Some(co));
                return;
            }
            CoroutineResult::Return(()) => unreachable!("goroutine coroutines return only on Exit"),
        }
    }
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

/// Go: `goexit0`/`gdestroy`: the goroutine finished; keep the G for reuse, and its coroutine
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
}

/// The coroutine body's step: run the current G's task (called on the goroutine's stack).
pub(crate) fn run_current_task(y: &Yielder) {
    let g = current_g().expect("a goroutine is running");
    // SAFETY: the running G is owned by this M.
    let task = unsafe {
        g.yielder.with_mut(|p| *p = y as *const Yielder);
        g.task.with_mut(|t| (*t).take())
    };
    if let Some(task) = task {
        if g.cancel.load(SeqCst) {
            task.cancel(crate::JoinError::Cancelled);
        } else {
            task.run();
        }
    }
}

// ---- the goroutine side -----------------------------------------------------------------

pub(super) fn yielder_of(g: &G) -> &Yielder {
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
    yielder_of(g).suspend(s);
    if unwinding {
        unlock_os_thread();
    }
}

pub(super) fn check_cancel(g: &G) {
    // Not while unwinding already (a panic, or this very cancellation): a second unwind out of
    // a destructor aborts the process. The unwind in progress ends the goroutine anyway.
    if g.cancel.load(Relaxed) && g.sched.shutdown.load(Relaxed) && !std::thread::panicking() {
        crate::goroutine::cancel_unwind();
    }
}

/// Go: `gopark`. Returns `false` when the caller is not a goroutine.
#[inline(never)]
pub(crate) fn gopark(reason: WaitReason, _deadline: Option<Instant>) -> bool {
    let Some(g) = current_g() else { return false };
    check_cancel(g);
    if g.take_permit() {
        return true;
    }
    if in_syscall() {
        // Inside `syscall(f)` the goroutine has no P to give back: blocking calls block its
        // M, as the syscall itself does.
        park_on_thread(g);
        return true;
    }
    g.set_wait_reason(reason);
    // sysmon's coarse clock: a clock read on every park costs more than the park itself on
    // some VMs, and `dump` only shows whole minutes.
    g.wait_since
        .store(g.sched.coarse_now.load(Relaxed), Relaxed);
    suspend(g, Suspend::Park);
    check_cancel(g);
    true
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
    let now = crate::loom::now();
    if deadline <= now {
        return Some(false);
    }
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let u = current_unparker().expect("running goroutine");
    let f = fired.clone();
    let t = crate::time::Timer::inline(deadline - now, move || {
        f.store(true, SeqCst);
        u.unpark();
    });
    gopark(reason, None);
    t.stop();
    Some(!fired.load(SeqCst))
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

pub(crate) fn ncpu() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Prints `goroutine N panicked at ...` for panics inside goroutines (std prints the thread
/// name); everything else goes to the hook that was installed before.
pub(crate) fn install_panic_hook() {
    if !crate::loom::PANIC_HOOK {
        return;
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match current_goid() {
            Some(id) => {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| info.payload().downcast_ref::<String>().map(|s| s.as_str()))
                    .unwrap_or("Box<dyn Any>");
                match info.location() {
                    Some(loc) => eprintln!("goroutine {id} panicked at {loc}:\n{msg}"),
                    None => eprintln!("goroutine {id} panicked:\n{msg}"),
                }
            }
            None => prev(info),
        }));
    });
}
