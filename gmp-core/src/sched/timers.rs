//! Timers (Go: runtime/time.go): the shared timer record, a 4-ary min-heap of them per P, the
//! scheduler's side (arming on a P, running what is due), and the thread that fires the timers
//! of code running outside any runtime. The public face is `crate::time`.
//!
//! # Invariants
//!
//! - A timer lives in an `Arc<TimerShared>`. Arming pushes a heap entry `(when, seq)`;
//!   stopping or re-arming bumps `seq`, which turns older entries into zombies that are
//!   dropped when they reach the top (Go's `timerZombie`), so stop and reset never search a
//!   heap.
//! - Inside a runtime a timer goes on the heap of the arming M's P (`P::timers`, under its own
//!   lock); `P::timer0` mirrors the heap's earliest `when` so other Ms find the next timer
//!   without the lock. An M runs its P's due timers in `findrunnable`; a thief runs a
//!   victim's on its last stealing pass; the poller M sleeps until the earliest `timer0` of
//!   all Ps and is woken (`wake_netpoller`) when an earlier timer is armed.
//! - Callbacks run outside every heap lock: an inline callback (a channel timer's `try_send`)
//!   on the firing thread, an `after_fn` callback in a new goroutine.

use super::g::{GoUnparker, G};
use super::m::{ctx, current_g, current_g_arc};
use super::p::P;
use super::{Sched, NO_P};
use crate::loom::atomic::Ordering::*;
use crate::loom::{Arc, Condvar, Mutex};
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What a timer runs when it fires.
pub(crate) enum Callback {
    /// Runs on the thread that fires timers; must not block (Go's `sendTime`).
    Inline(Box<dyn FnMut() + Send>),
    /// Runs in a new goroutine (Go's `goFunc` for `AfterFunc`).
    Goroutine(Arc<Mutex<Box<dyn FnMut() + Send>>>),
}

/// The mutable half of a timer, under `TimerShared::state`.
#[derive(Debug)]
pub(crate) struct TimerState {
    /// `Some(t)` while armed: it fires at `t`.
    pub(crate) when: Option<Instant>,
    /// Non-zero for a ticker: after firing it re-arms `period` later (missed ticks dropped).
    pub(crate) period: Option<Duration>,
    /// Bumped on every stop/reset/fire; a heap entry with an older seq is a zombie.
    pub(crate) seq: u64,
}

pub(crate) struct TimerShared {
    pub(crate) state: Mutex<TimerState>,
    pub(crate) callback: Mutex<Callback>,
}

impl fmt::Debug for TimerShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerShared")
            .field("state", &*self.state.lock())
            .finish_non_exhaustive()
    }
}

/// One heap entry.
#[derive(Debug)]
pub(crate) struct TimerWhen {
    pub(crate) when: Instant,
    pub(crate) seq: u64,
    pub(crate) timer: TimerRef,
    /// Orders timers due at the same instant (Go: `timer.rand`): random in a synctest bubble,
    /// where many timers share an instant and a test must not come to rely on their order;
    /// 0 elsewhere. Set by `add_timer_on`.
    pub(crate) rand: u32,
}

impl TimerWhen {
    /// The heap's order: by `when`, then `rand`.
    fn key(&self) -> (Instant, u32) {
        (self.when, self.rand)
    }
}

/// Go's `cheaprand` for the timers of bubbles: a splitmix64 step on a process-wide counter.
fn cheaprand() -> u32 {
    static STATE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

/// What a heap entry fires.
pub(crate) enum TimerRef {
    /// A [`crate::time::Timer`]: channels' timers, `after_fn`, tickers.
    Shared(Arc<TimerShared>),
    /// The timer embedded in a goroutine's G (Go 1.23: `gp.timer`): `sleep` and timed parks.
    /// Arming it allocates nothing; it fires by unparking goroutine `goid` if the G's
    /// `timer_seq` still equals the entry's `seq`.
    G { g: Arc<G>, goid: u64 },
}

impl fmt::Debug for TimerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimerRef::Shared(t) => t.fmt(f),
            TimerRef::G { goid, .. } => write!(f, "G({goid})"),
        }
    }
}

impl TimerWhen {
    /// Whether the entry was stopped or re-armed since it was pushed (Go's `timerZombie`).
    fn is_zombie(&self) -> bool {
        match &self.timer {
            TimerRef::Shared(t) => {
                let st = t.state.lock();
                st.seq != self.seq || st.when.is_none()
            }
            TimerRef::G { g, .. } => g.timer_seq.load(Acquire) != self.seq,
        }
    }
}

/// A 4-ary min-heap of timers (Go: `timers.heap`, `timerHeapN = 4`).
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    heap: Vec<TimerWhen>,
    /// The heap's length after its last clean: it is cleaned of zombies whenever it has
    /// doubled since (Go cleans when a quarter of it is zombies, which it counts).
    clean_len: usize,
}

/// Heaps shorter than this are never cleaned: their zombies cost nothing.
const CLEAN_MIN: usize = 64;

/// Same as Go's `timerHeapN` (runtime/time.go): a 4-ary heap is shallower than a binary one.
const HEAP_N: usize = 4;

impl TimerHeap {
    /// The earliest entry's time (possibly a zombie's: firing early just finds it stale).
    pub(crate) fn peek_when(&self) -> Option<Instant> {
        self.heap.first().map(|t| t.when)
    }

    pub(crate) fn push(&mut self, t: TimerWhen) {
        if self.heap.len() >= CLEAN_MIN.max(2 * self.clean_len) {
            self.clean();
        }
        self.heap.push(t);
        self.sift_up(self.heap.len() - 1);
    }

    /// Drops every zombie entry and rebuilds the heap (Go: `timers.clean`): timers stopped
    /// long before they were due (a `recv_timeout` answered at once) do not pile up.
    fn clean(&mut self) {
        self.heap.retain(|t| !t.is_zombie());
        for i in (0..self.heap.len()).rev() {
            self.sift_down(i);
        }
        self.clean_len = self.heap.len();
    }

    /// How many entries the heap holds, zombies included.
    #[allow(dead_code)] // the unit tests
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Pops the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<TimerWhen> {
        if self.heap.first()?.when > now {
            return None;
        }
        let last = self.heap.len() - 1;
        self.heap.swap(0, last);
        let top = self.heap.pop();
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
        top
    }

    /// Removes every entry (for moving timers off a P or dropping a runtime).
    pub(crate) fn drain(&mut self) -> Vec<TimerWhen> {
        std::mem::take(&mut self.heap)
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / HEAP_N;
            if self.heap[i].key() >= self.heap[parent].key() {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let first = i * HEAP_N + 1;
            if first >= n {
                break;
            }
            let last = (first + HEAP_N).min(n);
            let mut min = first;
            for c in first + 1..last {
                if self.heap[c].key() < self.heap[min].key() {
                    min = c;
                }
            }
            if self.heap[min].key() >= self.heap[i].key() {
                break;
            }
            self.heap.swap(i, min);
            i = min;
        }
    }
}

impl Drop for TimerShared {
    /// The callback is user code (an `after_fn` closure and what it captured), and the last
    /// reference may go anywhere, on an M too (a stopped timer's entry leaving a heap): its
    /// drop is contained.
    fn drop(&mut self) {
        let cb = std::mem::replace(
            &mut *self.callback.lock(),
            Callback::Inline(Box::new(|| {})),
        );
        crate::goroutine::drop_contained(cb);
    }
}

impl TimerShared {
    pub(crate) fn new(callback: Callback, period: Option<Duration>) -> Arc<Self> {
        Arc::new(TimerShared {
            state: Mutex::new(TimerState {
                when: None,
                period,
                seq: 0,
            }),
            callback: Mutex::new(callback),
        })
    }
}

/// Fires one popped heap entry if it is still current: wakes a sleeping goroutine, or
/// re-arms a ticker and then runs the callback (outside the state lock). `spawn` starts the
/// goroutine of an `AfterFunc` timer. Returns the re-armed entry of a ticker, for the caller
/// to push.
pub(crate) fn fire(
    entry: TimerWhen,
    now: Instant,
    spawn: &dyn Fn(Box<dyn FnOnce() + Send>),
) -> Option<TimerWhen> {
    let timer = match entry.timer {
        TimerRef::G { g, goid } => {
            if g.timer_seq.load(Acquire) == entry.seq {
                GoUnparker::with_goid(g, goid).wake();
            }
            return None;
        }
        TimerRef::Shared(t) => t,
    };
    let rearm = {
        let mut st = timer.state.lock();
        if st.seq != entry.seq || st.when.is_none() {
            return None; // zombie: stopped or re-armed since this entry was pushed
        }
        st.seq += 1;
        match st.period {
            Some(p) => {
                // Go drops missed ticks: next = when + period * (1 + delay / period).
                let when = st.when.expect("armed");
                let delay = now.saturating_duration_since(when);
                let skip = (delay.as_nanos() / p.as_nanos().max(1)) as u32;
                let next = p
                    .checked_mul(skip.saturating_add(1))
                    .and_then(|step| when.checked_add(step))
                    .unwrap_or_else(far_future);
                st.when = Some(next);
                Some(TimerWhen {
                    when: next,
                    seq: st.seq,
                    timer: TimerRef::Shared(timer.clone()),
                    rand: 0,
                })
            }
            None => {
                st.when = None;
                None
            }
        }
    };
    let mut cb = timer.callback.lock();
    match &mut *cb {
        // On the thread that fires timers (an M): a panic must not escape it.
        Callback::Inline(f) => {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                crate::goroutine::drop_contained(p);
            }
        }
        Callback::Goroutine(f) => {
            let f = f.clone();
            drop(cb);
            spawn(Box::new(move || (f.lock())()));
        }
    }
    rearm
}

/// A deadline so far away it never comes: where a timer whose duration overflows `Instant`
/// is armed ("for ever", as Go's `maxWhen`).
pub(crate) fn far_future() -> Instant {
    crate::loom::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// The thread that fires timers armed outside any runtime.
#[derive(Debug)]
pub(crate) struct TimerThread {
    heap: Mutex<TimerHeap>,
    cond: Condvar,
}

impl TimerThread {
    pub(crate) fn new() -> Self {
        TimerThread {
            heap: Mutex::new(TimerHeap::default()),
            cond: Condvar::new(),
        }
    }

    pub(crate) fn add(&self, t: TimerWhen) {
        let mut h = self.heap.lock();
        let earliest = h.peek_when().is_none_or(|w| t.when < w);
        h.push(t);
        drop(h);
        if earliest {
            self.cond.notify_one();
        }
    }

    /// The timer thread's loop: fire what is due, sleep until the next, forever.
    pub(crate) fn run(&self, spawn: &dyn Fn(Box<dyn FnOnce() + Send>)) {
        let mut h = self.heap.lock();
        loop {
            let now = crate::loom::now();
            if let Some(e) = h.pop_due(now) {
                drop(h);
                if let Some(next) = fire(e, now, spawn) {
                    self.add(next);
                }
                h = self.heap.lock();
                continue;
            }
            h = match h.peek_when() {
                Some(w) => self.cond.wait_until(h, w).0,
                None => self.cond.wait(h),
            };
        }
    }
}

// ---- the scheduler's side ----------------------------------------------------------------

impl Sched {
    /// Arms a timer on P `pp` (Go: `timer.maybeAdd`), waking the poller if it became earliest.
    pub(crate) fn add_timer_on(self: &Arc<Self>, pp: &P, mut t: TimerWhen) {
        if self.bubble.is_some() {
            t.rand = cheaprand();
        }
        let when = self.nanotime(t.when);
        let mut h = pp.timers.lock();
        h.push(t);
        let first = self.nanotime(h.peek_when().expect("just pushed"));
        pp.timer0.store(first, SeqCst);
        drop(h);
        // A bubble's poller never waits for a timer (`synctest.rs`).
        if self.bubble.is_none() {
            self.wake_netpoller(when);
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
            if let Some(next) = fire(e, now, &spawn) {
                self.add_timer_on(pp, next);
            }
        }
        ran
    }

    /// The earliest timer over all Ps, in ns since the epoch (Go: `checkTimersNoP`).
    pub(super) fn earliest_timer(&self) -> Option<u64> {
        self.allp
            .iter()
            .map(|p| p.timer0.load(SeqCst))
            .filter(|&t| t != 0)
            .min()
    }
}

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
    if let Err(t) = add_timer_here(t) {
        timer_thread().add(t);
    }
}

/// Arms `t` on the current M's P; gives it back if the caller has none.
fn add_timer_here(t: TimerWhen) -> Result<(), TimerWhen> {
    match ctx() {
        Some(c) if c.p.get() != NO_P => {
            let pp = &c.sched.allp[c.p.get()];
            c.sched.add_timer_on(pp, t);
            Ok(())
        }
        _ => Err(t),
    }
}

// ---- the timer in the G (Go 1.23: `gp.timer`) --------------------------------------------

/// The running goroutine's own timer, armed (Go 1.23: `gp.timer`); disarmed when dropped,
/// however the wait ends (a cancelled goroutine unwinds out of it).
struct GTimer {
    /// The running goroutine's G: alive as long as the goroutine (and so this guard, which
    /// lives on its stack). A reference, not an `Arc`: a count bumped and dropped on every
    /// sleep was a contended atomic on the G's first cache line.
    g: &'static G,
    seq: u64,
}

impl GTimer {
    /// Arms the running goroutine's timer for `deadline` (on its P's heap; on the timer
    /// thread's inside `syscall(f)`). Allocates nothing. `None` outside a goroutine.
    fn arm(deadline: Instant) -> Option<GTimer> {
        let c = ctx()?;
        let g = current_g_arc(c)?;
        let me = current_g()?;
        // Owner only: the goroutine arms and disarms its own timer.
        let seq = g.timer_seq.load(Relaxed) + 1;
        g.timer_seq.store(seq, Release);
        let due_ms = g.sched.nanotime(deadline).div_ceil(1_000_000);
        g.timer_due_ms
            .store(u32::try_from(due_ms).unwrap_or(u32::MAX), Relaxed);
        add_timer(TimerWhen {
            when: deadline,
            seq,
            timer: TimerRef::G { goid: g.goid(), g },
            rand: 0,
        });
        Some(GTimer { g: me, seq })
    }
}

impl Drop for GTimer {
    /// Turns the armed entry into a zombie, if it has not fired.
    fn drop(&mut self) {
        self.g.timer_seq.store(self.seq + 1, Release);
        self.g.timer_due_ms.store(0, Relaxed);
    }
}

/// Go: `timeSleep`: parks the running goroutine for `d` on its own timer (a duration too
/// large for an `Instant` sleeps for ever). Returns `false`, without sleeping, outside a
/// goroutine.
pub(crate) fn time_sleep(d: Duration) -> bool {
    // `None`: for ever (the timer is then armed at a far future, as Go's would be).
    let deadline = super::synctest::clock_now().checked_add(d);
    let Some(_timer) = GTimer::arm(deadline.unwrap_or_else(far_future)) else {
        return false;
    };
    while deadline.is_none_or(|dl| super::synctest::clock_now() < dl) {
        crate::park::park(crate::reason::WaitReason::Sleep);
    }
    true
}

/// Parks the running goroutine until unparked or `deadline`, with its own timer: `Some(true)`
/// if it was unparked (or woke spuriously) before the deadline, `Some(false)` if the
/// deadline passed; `None` outside a goroutine. The caller has checked for a permit.
pub(crate) fn park_until(reason: crate::reason::WaitReason, deadline: Instant) -> Option<bool> {
    let _timer = GTimer::arm(deadline)?;
    super::gopark(reason);
    Some(super::synctest::clock_now() < deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_entry(when: Instant, live: bool) -> TimerWhen {
        let t = TimerShared::new(Callback::Inline(Box::new(|| {})), None);
        let mut st = t.state.lock();
        st.seq = 1;
        st.when = Some(when);
        drop(st);
        TimerWhen {
            when,
            seq: if live { 1 } else { 0 },
            timer: TimerRef::Shared(t),
            rand: 0,
        }
    }

    #[test]
    fn zombies_are_cleaned_and_live_timers_kept_in_order() {
        let base = Instant::now();
        let mut h = TimerHeap::default();
        for i in 0..10_000u64 {
            let live = i % 100 == 0;
            h.push(shared_entry(base + Duration::from_millis(10_000 - i), live));
            // Stopped timers never make the heap grow past twice its live part (or the
            // minimum that is never cleaned).
            assert!(
                h.len() <= CLEAN_MIN.max(2 * (i as usize / 100 + 1)) + 1,
                "{}",
                h.len()
            );
        }
        let mut last = base;
        let mut live = 0;
        while let Some(e) = h.pop_due(base + Duration::from_secs(3600)) {
            assert!(e.when >= last);
            last = e.when;
            if !e.is_zombie() {
                live += 1;
            }
        }
        assert_eq!(live, 100);
    }
}
