//! Timers (Go: `time.AfterFunc`, and the runtime timers under `time.NewTimer`/`NewTicker`).
//!
//! [`after_fn`] is Go's `time.AfterFunc`: after `d`, `f` runs in a goroutine of its own. The
//! [`Timer::inline`] and [`Timer::inline_periodic`] constructors are the lower-level timers that
//! channel timers are built from (Go's runtime `sendTime`): their callback runs on whichever
//! thread fires timers, so it must not block, only do something short like a `try_send`.
//!
//! Inside a runtime, timers live in per-P heaps and are fired by the scheduler; timers armed
//! on a plain thread outside any runtime are fired by one lazily started timer thread.
//!
//! ```
//! use gmp_core::time;
//! use std::sync::mpsc;
//! use std::time::Duration;
//!
//! let (tx, rx) = mpsc::channel();
//! let _t = time::after_fn(Duration::from_millis(10), move || tx.send("fired").unwrap());
//! assert_eq!(rx.recv().unwrap(), "fired");
//! ```

use crate::loom::{Arc, Mutex};
use crate::sched;
use crate::sched::timers::{far_future, Callback, TimerRef, TimerShared, TimerWhen};
use std::fmt;
use std::time::{Duration, Instant};

/// The runtime's clock (Go: `nanotime`), from which gmp-chan and gmp-sync compute deadlines.
///
/// It is `Instant::now()`, except inside a [`synctest`](crate::synctest) bubble, whose clock
/// is virtual: it starts at the same instant in every bubble and moves only when every
/// goroutine of the bubble is durably blocked. (`std::time::Instant::now()` itself is never
/// virtual.) In builds with `--cfg loom` it is a virtual clock that moves only when a timed
/// park times out, so model checks are deterministic.
///
/// ```
/// let t = gmp_core::time::now();
/// assert!(gmp_core::time::now() >= t);
/// ```
#[inline]
pub fn now() -> Instant {
    sched::synctest::clock_now()
}

/// A timer (Go: `*time.Timer` from `AfterFunc`). Cloning shares the timer; dropping it does
/// *not* stop the timer (Go).
#[derive(Clone)]
pub struct Timer {
    shared: Arc<TimerShared>,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("Timer")
            .field("when", &st.when)
            .field("period", &st.period)
            .finish()
    }
}

/// Go's `time.AfterFunc`: after `d`, runs `f` in its own goroutine (in the current runtime, or
/// the default runtime when called outside one). [`Timer::reset`] after it fired runs `f` again.
pub fn after_fn(d: Duration, f: impl FnMut() + Send + 'static) -> Timer {
    let t = Timer {
        shared: TimerShared::new(Callback::Goroutine(Arc::new(Mutex::new(Box::new(f)))), None),
    };
    t.arm(d, None);
    t
}

impl Timer {
    /// A one-shot timer whose `f` runs on the thread that fires timers, after `d`.
    ///
    /// `f` must not block or take long: it runs inside the scheduler (Go's runtime-internal
    /// `sendTime`). Channel timers use it for a non-blocking send.
    pub fn inline(d: Duration, f: impl FnMut() + Send + 'static) -> Timer {
        let t = Timer {
            shared: TimerShared::new(Callback::Inline(Box::new(f)), None),
        };
        t.arm(d, None);
        t
    }

    /// A periodic timer: `f` runs inline (see [`Timer::inline`]) first after `d`, then every
    /// `period`; ticks missed by a late firing are dropped, as Go's tickers do.
    ///
    /// # Panics
    /// If `period` is zero (Go: "non-positive interval for NewTicker").
    #[track_caller]
    pub fn inline_periodic(
        d: Duration,
        period: Duration,
        f: impl FnMut() + Send + 'static,
    ) -> Timer {
        assert!(!period.is_zero(), "non-positive interval for NewTicker");
        let t = Timer {
            shared: TimerShared::new(Callback::Inline(Box::new(f)), Some(period)),
        };
        t.arm(d, None);
        t
    }

    /// Stops the timer. Returns `true` if it was armed, `false` if it had already fired (a
    /// one-shot) or been stopped. It does not wait for a callback already running.
    pub fn stop(&self) -> bool {
        let mut st = self.shared.state.lock();
        st.seq += 1;
        st.when.take().is_some()
    }

    /// Re-arms the timer to fire `d` from now (for a periodic timer, also makes `d` its period).
    /// Returns `true` if it was armed. A one-shot timer that already fired runs again.
    ///
    /// # Panics
    /// For a periodic timer, if `d` is zero (Go: "non-positive interval for Ticker.Reset").
    #[track_caller]
    pub fn reset(&self, d: Duration) -> bool {
        let period = self.shared.state.lock().period;
        if period.is_some() {
            assert!(!d.is_zero(), "non-positive interval for Ticker.Reset");
            self.arm(d, Some(d))
        } else {
            self.arm(d, None)
        }
    }

    fn arm(&self, d: Duration, new_period: Option<Duration>) -> bool {
        let when = now().checked_add(d).unwrap_or_else(far_future);
        let (was, entry) = {
            let mut st = self.shared.state.lock();
            if new_period.is_some() {
                st.period = new_period;
            }
            st.seq += 1;
            let was = st.when.replace(when).is_some();
            (
                was,
                TimerWhen {
                    when,
                    seq: st.seq,
                    timer: TimerRef::Shared(self.shared.clone()),
                    rand: 0,
                },
            )
        };
        sched::add_timer(entry);
        was
    }
}
