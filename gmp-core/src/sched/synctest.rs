//! Bubbles (Go 1.25's `testing/synctest`, runtime/synctest.go): a runtime whose clock is a
//! variable that moves only when every goroutine is durably blocked.
//!
//! # The clock
//!
//! A bubble's [`Sched::now`] is `epoch + now_ns`: every bubble starts at the same instant
//! ([`bubble_epoch`], taken once per process), and `now_ns` starts at 0. Every clock read of the
//! runtime goes through it: `time::now`, the deadlines of timed parks and sleeps, timer heaps,
//! `check_timers`. Plain threads, `std::time::Instant::now()`, `std::thread::sleep`, I/O
//! deadlines and sysmon keep real time.
//!
//! # Durably blocked, and what happens then
//!
//! Go's "durably blocked" is gmp's deadlock predicate (`dump.rs`: `checkdead`): no M runs a
//! goroutine, nothing is runnable, no goroutine is in `syscall` or blocks its thread, none
//! waits on I/O or in `block_on`, and every live goroutine is parked. `checkdead` runs when
//! the last M goes idle; in a bubble it asks [`Bubble::quiescent`] what to do:
//!
//! 1. a goroutine in [`wait`] is released (it returns: every other goroutine is durably
//!    blocked), and the clock stays;
//! 2. else, if a timer is pending, the clock jumps to the earliest one (never backwards), and
//!    an M is started on the P that holds it, which fires every timer due by then; the clock
//!    moves again only at the next quiescence, so every timer due at an instant fires first;
//! 3. else, once `f` has returned, the goroutines left are leaked:
//!    `synctest: goroutines still blocked at end of bubble`;
//! 4. else it is a deadlock: `deadlock: all goroutines in bubble are blocked`.
//!
//! The action runs after the scheduler lock is dropped ([`Quiet`]). Idle Ms never sleep until a
//! bubble's timer: the poller waits only for I/O (`findrunnable`), sysmon ignores a bubble's
//! timers, and adding a timer does not break the poller.
//!
//! # Bubble state
//!
//! | field      | meaning                                        | written by |
//! |------------|------------------------------------------------|------------|
//! | `now_ns`   | the virtual clock, ns since `epoch`; only grows | `quiescent`, under the scheduler lock |
//! | `waiter`   | the goroutine in `wait`, and its unparker      | `wait` sets it; `quiescent` takes it (scheduler lock) |
//! | `released` | `wait`'s caller may return                     | `quiescent` sets it before unparking; `wait` clears it |
//! | `ended`    | `f` returned: blocked goroutines are leaks     | `synctest::test` |

use super::{Locked, Sched};
use crate::loom::atomic::{AtomicBool, AtomicU64, Ordering::*};
use crate::loom::Mutex;
use crate::park::{self, Unparker, WaitReason};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A bubble's part of its runtime (see the module docs' table).
#[derive(Default)]
pub(crate) struct Bubble {
    now_ns: AtomicU64,
    waiter: Mutex<Option<(u64, Unparker)>>,
    released: AtomicBool,
    pub(crate) ended: AtomicBool,
}

impl std::fmt::Debug for Bubble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bubble")
            .field("now_ns", &self.now_ns.load(Relaxed))
            .finish()
    }
}

/// The instant every bubble's clock starts at (Go: midnight UTC 2000-01-01 for `time.Now`).
pub(crate) fn bubble_epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// What `checkdead` asks its caller to do once the scheduler lock is dropped.
#[must_use = "the action runs after the lock is dropped"]
pub(crate) enum Quiet {
    /// Nothing to do.
    Nothing,
    /// Release the goroutine in `synctest::wait`.
    Wake(Unparker),
    /// Start an M on this (idle) P: its timers are due at the new time.
    RunTimers(usize),
}

impl Quiet {
    /// Does it (no scheduler lock held).
    pub(crate) fn run(self, s: &std::sync::Arc<Sched>) {
        match self {
            Quiet::Nothing => {}
            Quiet::Wake(u) => u.wake(),
            Quiet::RunTimers(p) => s.startm(Some(p), false),
        }
    }
}

impl Bubble {
    /// The clock, in ns since the epoch.
    pub(crate) fn now_ns(&self) -> u64 {
        self.now_ns.load(Acquire)
    }

    /// Every goroutine of the bubble is durably blocked (`checkdead`'s predicate holds, with
    /// `l` held): steps 1–4 of the module docs.
    pub(crate) fn quiescent(&self, s: &Sched, l: &mut Locked) -> Quiet {
        if let Some((_, u)) = self.waiter.lock().take() {
            self.released.store(true, Release);
            return Quiet::Wake(u);
        }
        // The P with the earliest timer (timer0 is ns since the epoch, plus one).
        let earliest = s
            .allp
            .iter()
            .filter_map(|p| match p.timer0.load(SeqCst) {
                0 => None,
                t => Some((t, p.id)),
            })
            .min();
        if let Some((t0, p)) = earliest {
            let at = t0 - 1;
            if at > self.now_ns.load(Relaxed) {
                self.now_ns.store(at, Release);
            }
            // Quiescent: every P is idle, this one too.
            if let Some(i) = l.pidle.iter().position(|&q| q == p) {
                l.pidle.swap_remove(i);
                s.npidle.fetch_sub(1, SeqCst);
                return Quiet::RunTimers(p);
            }
            return Quiet::Nothing;
        }
        let dump = super::dump(s);
        if self.ended.load(Acquire) {
            s.report_fatal(format!(
                "synctest: goroutines still blocked at end of bubble\n\n{dump}"
            ));
        } else {
            s.report_fatal(format!(
                "deadlock: all goroutines in bubble are blocked\n\n{dump}"
            ));
        }
        Quiet::Nothing
    }
}

impl Sched {
    /// The runtime's clock: real time, or a bubble's virtual time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match &self.bubble {
            None => crate::loom::now(),
            Some(b) => self.epoch + Duration::from_nanos(b.now_ns()),
        }
    }
}

/// The clock of the caller's runtime (a bubble's is virtual), real time on a plain thread.
#[inline]
pub(crate) fn clock_now() -> Instant {
    match super::m::ctx() {
        Some(c) if c.sched.bubble.is_some() => c.sched.now(),
        _ => crate::loom::now(),
    }
}

/// `synctest::wait`: parks the calling goroutine until every other goroutine of its bubble is
/// durably blocked.
///
/// # Panics
/// Outside a bubble, or while another goroutine of the bubble waits.
pub(crate) fn wait() {
    let (s, goid) = match (super::m::current_sched(), super::m::current_goid()) {
        (Some(s), Some(goid)) if s.bubble.is_some() => (s, goid),
        _ => panic!("synctest.Wait not called from inside a bubble"),
    };
    let b = s.bubble.as_ref().expect("checked above");
    {
        let mut w = b.waiter.lock();
        if w.is_some() {
            panic!("synctest.Wait called concurrently by two goroutines of one bubble");
        }
        b.released.store(false, Relaxed);
        *w = Some((goid, park::current()));
    }
    /// Takes the registration back if the wait unwinds (its runtime cancels the goroutine).
    struct Unregister<'a>(&'a Bubble);
    impl Drop for Unregister<'_> {
        fn drop(&mut self) {
            self.0.waiter.lock().take();
        }
    }
    let _unregister = Unregister(b);
    while !b.released.load(Acquire) {
        park::park(WaitReason::Other("synctest.Wait"));
    }
}
