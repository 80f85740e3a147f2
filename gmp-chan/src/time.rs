//! Timer channels (Go: time/sleep.go `NewTimer`/`After`, time/tick.go `NewTicker`), with
//! Go 1.23's synchronous semantics: after [`Timer::stop`], [`Timer::reset`],
//! [`Ticker::stop`] or [`Ticker::reset`] returns, no value from before it can be received.
//!
//! Each is a channel with a one-value buffer (`len`/`cap` read 0, as in Go 1.23) fed by a
//! `gmp_core::time::Timer::inline` timer whose callback does a non-blocking send on the timer
//! thread. Staleness without a sequence number from gmp-core: the timer's own state (armed,
//! deadline) sits under a small lock; the callback sends only if, under that lock, the timer
//! is still armed and `now >= deadline`. `stop`/`reset` take the same lock, update the state,
//! stop or re-arm the core timer and drain the channel, so a firing of an earlier arming that
//! runs after them finds the timer disarmed or its deadline still ahead, and drops its value.
//! (Our deadline is computed before the core timer's, so a current firing always passes.)

use crate::handles::{Chan, Receiver};
use crate::lock::Lock;
use crate::loom::Arc;
use gmp_core::time::Timer as CoreTimer;
use std::fmt;
use std::time::{Duration, Instant};

/// Go's `time.After(d)`: a channel that receives the time once, after `d`.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let at = gmp_chan::time::after(Duration::from_millis(10)).recv().unwrap();
/// assert!(at >= start + Duration::from_millis(10));
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    Timer::new(d).c.clone()
}

/// Go's `time.Tick(d)` (and crossbeam's `tick`): a channel that receives the time every `d`,
/// for as long as any clone of the receiver lives. When the last one is dropped, the ticker
/// behind it stops (Go 1.23 collects an unreferenced ticker). For a ticker you stop or reset,
/// use [`Ticker::new`].
///
/// # Panics
/// "non-positive interval for NewTicker" if `d` is zero.
///
/// ```
/// use std::time::Duration;
/// let ticks = gmp_chan::time::tick(Duration::from_millis(2));
/// for _ in 0..3 {
///     ticks.recv().unwrap();
/// }
/// drop(ticks); // the ticker stops
/// ```
#[track_caller]
pub fn tick(d: Duration) -> Receiver<Instant> {
    let (shared, core, c) = Ticker::parts(d);
    // The ticker has no owner but its receivers: it stops itself once they are gone.
    shared.state.lock().unowned = Some(core);
    c
}

/// The state shared with the core timer's callback.
struct Shared {
    state: Lock<State>,
    chan: Chan<Instant>,
}

/// How many [`Shared`] states are alive in the process (for a test that a `tick` whose
/// receivers are gone stops and frees its ticker).
static LIVE_STATES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// See [`LIVE_STATES`].
pub(crate) fn live_timer_states() -> usize {
    LIVE_STATES.load(std::sync::atomic::Ordering::SeqCst)
}

impl Drop for Shared {
    fn drop(&mut self) {
        LIVE_STATES.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

struct State {
    /// Armed: a firing at or after `deadline` delivers a value.
    armed: bool,
    /// The earliest time a firing of the current arming can happen.
    deadline: Instant,
    /// The core timer of a [`tick`] channel, which no `Ticker` owns: the callback stops it
    /// (and drops this handle, so nothing keeps the two alive) once no receiver is left.
    unowned: Option<CoreTimer>,
}

fn deadline_after(d: Duration) -> Instant {
    let now = gmp_core::time::now();
    // Same bound gmp-core uses for durations that overflow `Instant` (a century).
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl Shared {
    fn new(d: Duration) -> Arc<Shared> {
        LIVE_STATES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Arc::new(Shared {
            state: Lock::new(State {
                armed: true,
                deadline: deadline_after(d),
                unowned: None,
            }),
            chan: Chan::new_timer(),
        })
    }

    /// The core timer's callback (Go: `sendTime`); runs on the timer thread, never blocks.
    fn fire(&self, periodic: bool) {
        let mut st = self.state.lock();
        // A `tick` channel whose receivers are all gone: `self.chan` is the only handle left,
        // so none can appear again. Stop for good.
        if st.unowned.is_some() && Arc::strong_count(&self.chan.inner) == 1 {
            if let Some(core) = st.unowned.take() {
                core.stop();
            }
            st.armed = false;
            return;
        }
        let now = gmp_core::time::now();
        if !st.armed || now < st.deadline {
            return; // stopped, or a firing of an earlier arming
        }
        let at = if periodic {
            now
        } else {
            st.armed = false;
            st.deadline
        };
        // Buffer of one: a tick for a slow reader is dropped (Go).
        let _ = self.chan.try_send(at);
    }

    /// Disarm, or re-arm for `d`, then run `core` (stop or reset the core timer) and drain.
    /// Returns whether the timer was armed or a value was waiting (Go 1.23).
    fn rearm(&self, d: Option<Duration>, core: impl FnOnce()) -> bool {
        let mut st = self.state.lock();
        let was = st.armed;
        match d {
            Some(d) => {
                st.deadline = deadline_after(d);
                st.armed = true;
            }
            None => st.armed = false,
        }
        core();
        let drained = self.chan.try_recv().is_ok();
        drop(st);
        was || drained
    }
}

/// Go's `*time.Timer` from `time.NewTimer`: its channel [`c`](Timer::c) receives the time
/// once, when the timer fires.
///
/// ```
/// use gmp_chan::time::Timer;
/// use std::time::Duration;
///
/// let t = Timer::new(Duration::from_secs(3600));
/// assert!(t.stop()); // it was pending
/// assert!(t.c().try_recv().is_err());
/// t.reset(Duration::from_millis(1));
/// assert!(t.c().recv().is_some());
/// ```
pub struct Timer {
    shared: Arc<Shared>,
    core: CoreTimer,
    pub(crate) c: Receiver<Instant>,
}

impl Timer {
    /// Go's `time.NewTimer(d)`: fires once after `d`.
    pub fn new(d: Duration) -> Timer {
        let shared = Shared::new(d);
        let cb = shared.clone();
        let core = CoreTimer::inline(d, move || cb.fire(false));
        let c = shared.chan.receiver();
        Timer { shared, core, c }
    }

    /// The channel the time is sent on (Go: `t.C`).
    pub fn c(&self) -> &Receiver<Instant> {
        &self.c
    }

    /// Go's `t.Stop()`: prevents the timer from firing. Returns `true` if the timer was
    /// pending (or had fired with nobody receiving yet: that value is discarded), `false` if
    /// it had already been received from or stopped. No value is received after it returns.
    pub fn stop(&self) -> bool {
        self.shared.rearm(None, || {
            self.core.stop();
        })
    }

    /// Go's `t.Reset(d)`: re-arms the timer to fire after `d`, discarding a value not yet
    /// received. Returns what [`stop`](Self::stop) would have.
    pub fn reset(&self, d: Duration) -> bool {
        self.shared.rearm(Some(d), || {
            self.core.reset(d);
        })
    }
}

/// Go's `*time.Ticker`: its channel [`c`](Ticker::c) receives the time every period;
/// ticks are dropped for a slow reader. Dropping the `Ticker` stops it (Go's garbage collector
/// stops an unreferenced ticker).
pub struct Ticker {
    shared: Arc<Shared>,
    core: CoreTimer,
    pub(crate) c: Receiver<Instant>,
}

impl Ticker {
    /// Go's `time.NewTicker(d)`: sends the time every `d` until stopped or dropped.
    ///
    /// # Panics
    /// "non-positive interval for NewTicker" if `d` is zero.
    ///
    /// ```
    /// use gmp_chan::time::Ticker;
    /// use std::time::Duration;
    /// let t = Ticker::new(Duration::from_millis(2));
    /// for _ in 0..3 {
    ///     t.c().recv().unwrap();
    /// }
    /// t.stop();
    /// ```
    #[track_caller]
    pub fn new(d: Duration) -> Ticker {
        let (shared, core, c) = Ticker::parts(d);
        Ticker { shared, core, c }
    }

    /// A ticker's state, core timer and channel (for [`Ticker::new`] and [`tick`]).
    #[track_caller]
    fn parts(d: Duration) -> (Arc<Shared>, CoreTimer, Receiver<Instant>) {
        assert!(!d.is_zero(), "non-positive interval for NewTicker");
        let shared = Shared::new(d);
        let cb = shared.clone();
        let core = CoreTimer::inline_periodic(d, d, move || cb.fire(true));
        let c = shared.chan.receiver();
        (shared, core, c)
    }

    /// The channel the ticks are sent on (Go: `t.C`).
    pub fn c(&self) -> &Receiver<Instant> {
        &self.c
    }

    /// Go's `t.Stop()`: no more ticks; a tick not yet received is discarded.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gmp_chan::time::Ticker::new(Duration::from_millis(1));
    /// std::thread::sleep(Duration::from_millis(5));
    /// t.stop();
    /// assert!(t.c().recv_timeout(Duration::from_millis(20)).is_err());
    /// ```
    pub fn stop(&self) {
        self.shared.rearm(None, || {
            self.core.stop();
        });
    }

    /// Go's `t.Reset(d)`: ticks every `d` from now on; a tick not yet received is discarded.
    ///
    /// # Panics
    /// "non-positive interval for Ticker.Reset" if `d` is zero.
    #[track_caller]
    pub fn reset(&self, d: Duration) {
        assert!(!d.is_zero(), "non-positive interval for Ticker.Reset");
        self.shared.rearm(Some(d), || {
            self.core.reset(d);
        });
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.core.stop();
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("armed", &self.shared.state.lock().armed)
            .finish()
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("armed", &self.shared.state.lock().armed)
            .finish()
    }
}
