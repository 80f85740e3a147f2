//! `Cond`: Go's `sync.Cond` over a [`Mutex`](crate::Mutex), with FIFO `signal` and a
//! `broadcast` that requeues its waiters onto the mutex.

use crate::loom::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::loom::{const_fn, nanotime};
use crate::lot::{self, Abandoned, RequeueOp, UnparkToken};
use crate::mutex::{Mutex, MutexGuard};
use crate::raw_mutex::{RawMutex, SlowStart};
use crate::sema::Left;
use gmp_core::park::WaitReason;
use std::fmt;

/// Unpark token of a waiter woken by `signal` (or the one `broadcast` wakes): it must lock
/// the mutex itself. Distinct from the mutex semaphore's tokens, which a waiter requeued onto
/// the mutex receives when an `unlock` wakes it.
const TOKEN_SIGNALED: UnparkToken = 2;

/// A condition variable (Go: `sync.Cond`): goroutines wait for an event while holding a
/// [`Mutex`], and another goroutine that changed the condition wakes one or all of them.
///
/// [`wait`](Cond::wait) atomically unlocks the mutex and parks; when woken it locks the mutex
/// again before returning the guard. As in Go, a woken waiter cannot assume the condition
/// holds: call `wait` in a loop.
///
/// - [`signal`](Cond::signal) wakes the longest-waiting waiter (FIFO), and never a `wait` that
///   started after it (Go's `TestCondSignalGenerations`).
/// - [`broadcast`](Cond::broadcast) wakes one waiter and moves the others straight onto the
///   mutex's queue, where `unlock` wakes them one at a time: they would only queue there
///   anyway, so no thundering herd (parking_lot's requeue; Go wakes them all).
///
/// A waiter whose goroutine is cancelled while it waits (its runtime was dropped) leaves
/// without a trace; if it had been signalled, the wake-up goes to the next waiter instead of
/// being lost with it (that waiter may have started waiting after the `signal`: a spurious
/// wake-up, which `wait` callers handle anyway).
///
/// A `Cond` is not tied to a mutex at creation (Go's `sync.NewCond(l)` is), but all the
/// waiters present at one time must use the same one: `wait` panics with "sync: Cond used
/// with two different mutexes" otherwise.
///
/// ```
/// use gmp_sync::{Cond, Mutex};
/// use std::sync::Arc;
///
/// let pair = Arc::new((Mutex::new(false), Cond::new()));
/// let p = pair.clone();
/// std::thread::spawn(move || {
///     let (ready, cond) = &*p;
///     *ready.lock() = true;
///     cond.signal();
/// });
/// let (ready, cond) = &*pair;
/// let mut g = ready.lock();
/// while !*g {
///     g = cond.wait(g);
/// }
/// ```
pub struct Cond {
    /// The address of the [`RawMutex`] that the current waiters wait with:
    ///
    /// | value  | meaning                                                         |
    /// |--------|-----------------------------------------------------------------|
    /// | 0      | no waiter is queued                                             |
    /// | addr   | one or more waiters are queued, all using the mutex at `addr`   |
    ///
    /// Written only under the parking-lot bucket lock of this `Cond`'s key: set by a waiter
    /// before it queues, cleared by the `signal`/`broadcast` that removes the last waiter
    /// (or by the last waiter itself if its goroutine is cancelled while it waits).
    /// `signal`/`broadcast` read it without the lock for a fast "no waiters" exit.
    mutex: AtomicUsize,
}

impl Cond {
    const_fn! {
        /// Creates a condition variable with no waiters.
        ///
        /// ```
        /// static COND: gmp_sync::Cond = gmp_sync::Cond::new();
        /// COND.signal(); // nobody waits: nothing happens
        /// ```
        pub fn new() -> Cond {
            Cond { mutex: AtomicUsize::new(0) }
        }
    }

    fn key(&self) -> usize {
        &self.mutex as *const AtomicUsize as usize
    }

    /// Unlocks the guard's mutex, parks until [`signal`](Cond::signal) or
    /// [`broadcast`](Cond::broadcast) wakes this waiter, locks the mutex again and returns
    /// its guard (Go: `Cond.Wait`).
    ///
    /// # Panics
    ///
    /// "sync: Cond used with two different mutexes" if other waiters are waiting with a
    /// different mutex (the mutex is still held when the panic unwinds through the guard).
    ///
    /// ```
    /// use gmp_sync::{Cond, Mutex};
    /// use std::sync::Arc;
    ///
    /// let state = Arc::new((Mutex::new(Vec::new()), Cond::new()));
    /// let s = state.clone();
    /// let consumer = std::thread::spawn(move || {
    ///     let (queue, cond) = &*s;
    ///     let mut q = queue.lock();
    ///     while q.is_empty() {
    ///         q = cond.wait(q);
    ///     }
    ///     q.pop().unwrap()
    /// });
    /// state.0.lock().push(42);
    /// state.1.signal();
    /// assert_eq!(consumer.join().unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        gmp_core::park::checkpoint();
        let mutex: &'a Mutex<T> = guard.into_mutex_locked();
        let raw = mutex.raw();
        let raw_addr = raw as *const RawMutex as usize;
        let mut other_mutex = false;
        let token = lot::park(
            self.key(),
            0,
            false,
            WaitReason::SyncCondWait,
            || match self.mutex.load(Relaxed) {
                0 => {
                    self.mutex.store(raw_addr, Relaxed);
                    true
                }
                m if m == raw_addr => true,
                _ => {
                    other_mutex = true;
                    false
                }
            },
            // SAFETY: the guard was consumed without unlocking, so we hold the lock; nothing
            // else unlocks it for us.
            || unsafe { raw.unlock() },
            |how| self.abandon(raw, how),
        );
        match token {
            None => {
                debug_assert!(other_mutex);
                // SAFETY: validation failed before `before_sleep`, so we still hold the lock.
                let guard = unsafe { MutexGuard::from_locked(mutex) };
                let _unlock_on_unwind = guard;
                panic!("sync: Cond used with two different mutexes");
            }
            Some(TOKEN_SIGNALED) => {
                // Cancelled before we hold the mutex again: the signal was ours, pass it on.
                let pass_on = PassOnSignal { cond: self, raw };
                raw.lock(WaitReason::SyncMutexLock);
                std::mem::forget(pass_on);
            }
            Some(token) => {
                // `broadcast` moved us onto the mutex's queue and an unlock woke us: we are
                // inside the mutex's slow path, right after its semaphore acquire.
                let wait_start = nanotime().max(1);
                raw.lock_slow(
                    WaitReason::SyncMutexLock,
                    SlowStart::Requeued { token, wait_start },
                );
            }
        }
        // SAFETY: we locked `mutex` just above and no guard for it exists.
        unsafe { MutexGuard::from_locked(mutex) }
    }

    /// Undoes a waiter whose goroutine was cancelled while parked in `wait` (its park
    /// unwinds). Runs during the unwind: never panics, never parks.
    fn abandon(&self, raw: &RawMutex, how: Abandoned) {
        match how {
            // Still waiting on us: forget its mutex if it was the last waiter.
            Abandoned::Dequeued { key } if key == self.key() => {
                lot::with_queue(key, |q| {
                    if q.is_empty() {
                        self.mutex.store(0, Relaxed);
                    }
                });
            }
            // A broadcast moved it onto the mutex, which counts it as a waiter.
            Abandoned::Dequeued { .. } => raw.abandon(Left::Empty),
            // Signalled (or the one a broadcast woke): the wake-up goes to another waiter.
            Abandoned::Woken {
                token: TOKEN_SIGNALED,
                ..
            } => pass_on_signal(self, raw),
            // Requeued onto the mutex and woken there by an unlock.
            Abandoned::Woken { token, .. } => raw.abandon(Left::from_token(token)),
        }
    }

    /// Wakes the waiter that has waited longest, if any (Go: `Cond.Signal`). Holding the
    /// mutex while calling it is allowed but not required.
    ///
    /// ```
    /// let cond = gmp_sync::Cond::new();
    /// cond.signal(); // no waiter: no effect, and nothing is remembered for later waiters
    /// ```
    pub fn signal(&self) {
        if self.mutex.load(Relaxed) == 0 {
            return;
        }
        lot::unpark_one(self.key(), |r| {
            if !r.have_more {
                self.mutex.store(0, Relaxed);
            }
            TOKEN_SIGNALED
        });
    }

    /// Wakes every waiter (Go: `Cond.Broadcast`): the first is woken to take the mutex, the
    /// rest are moved onto the mutex's wait queue and are woken by `unlock`, one by one.
    ///
    /// ```
    /// use gmp_sync::{Cond, Mutex, WaitGroup};
    /// use std::sync::Arc;
    ///
    /// let state = Arc::new((Mutex::new(false), Cond::new()));
    /// let wg = WaitGroup::new();
    /// for _ in 0..3 {
    ///     wg.add(1);
    ///     let (s, wg) = (state.clone(), wg.clone());
    ///     std::thread::spawn(move || {
    ///         let (go, cond) = &*s;
    ///         let mut g = go.lock();
    ///         while !*g {
    ///             g = cond.wait(g);
    ///         }
    ///         wg.done();
    ///     });
    /// }
    /// *state.0.lock() = true;
    /// state.1.broadcast();
    /// wg.wait();
    /// ```
    pub fn broadcast(&self) {
        loop {
            let m = self.mutex.load(Relaxed);
            if m == 0 {
                return;
            }
            let mut ran = false;
            lot::requeue(
                self.key(),
                RawMutex::sema_key_at(m),
                || self.mutex.load(Relaxed) == m,
                |n| {
                    ran = true;
                    self.mutex.store(0, Relaxed);
                    if n == 0 {
                        return RequeueOp::Abort;
                    }
                    if n > 1 {
                        let moved = u32::try_from(n - 1).expect("fewer than 2^29 waiters");
                        // SAFETY: `mutex` still names `m` under the bucket lock, so `n >= 1`
                        // waiters are queued, each borrowing that mutex for its `wait`: it is
                        // alive.
                        let raw = unsafe { &*(m as *const RawMutex) };
                        raw.add_requeued_waiters(moved);
                    }
                    RequeueOp::UnparkOneRequeueRest(TOKEN_SIGNALED)
                },
            );
            if ran {
                return;
            }
            // The waiters changed mutex between our read and the lock: look again.
        }
    }
}

/// A waiter that was signalled but is cancelled before it returns from `wait` passes its
/// wake-up on: to the next waiter of the condition, and, if a `broadcast` moved the others
/// onto the mutex and the mutex is free, to one of them (the woken waiter would have woken
/// them by unlocking).
fn pass_on_signal(cond: &Cond, raw: &RawMutex) {
    cond.signal();
    raw.wake_if_idle();
}

/// Calls [`pass_on_signal`] if dropped, which happens only when `wait` unwinds while it
/// locks the mutex again after a signal.
struct PassOnSignal<'a> {
    cond: &'a Cond,
    raw: &'a RawMutex,
}

impl Drop for PassOnSignal<'_> {
    fn drop(&mut self) {
        pass_on_signal(self.cond, self.raw);
    }
}

impl Default for Cond {
    fn default() -> Self {
        Cond::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond")
            .field("has_waiters", &(self.mutex.load(Relaxed) != 0))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    //! Cancelled waiters must leave the mutex exactly as idle as it was: nothing counted,
    //! flagged or released, which the public API cannot see (the counts heal over time).

    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn rt1() -> gmp_core::Runtime {
        gmp_core::Runtime::builder()
            .procs(1)
            .deadlock_detection(false)
            .build()
            .expect("runtime")
    }

    fn wait_until(what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn mutex_waiter_cancelled_while_queued_is_uncounted() {
        let m = Arc::new(Mutex::new(0));
        let g = m.lock();
        let rt = rt1();
        let started = Arc::new(AtomicBool::new(false));
        let (m2, s) = (m.clone(), started.clone());
        rt.go(move || {
            s.store(true, SeqCst);
            *m2.lock() += 1;
        });
        wait_until("the goroutine waits", || started.load(SeqCst));
        std::thread::sleep(Duration::from_millis(20));
        drop(rt);
        drop(g);
        assert!(m.raw().is_idle());
    }

    #[test]
    fn cond_waiters_requeued_onto_the_mutex_then_cancelled_are_uncounted() {
        let state = Arc::new((Mutex::new(false), Cond::new()));
        let rt = rt1();
        for _ in 0..3 {
            let s = state.clone();
            rt.go(move || {
                let mut g = s.0.lock();
                while !*g {
                    g = s.1.wait(g);
                }
            });
        }
        let cond = &state.1;
        wait_until("three waiters", || {
            lot::with_queue(cond.key(), |q| q.len()) == 3
        });
        let mut g = state.0.lock();
        *g = true;
        cond.broadcast(); // one woken (to lock the mutex), two requeued onto the mutex
        drop(rt);
        drop(g);
        assert!(state.0.raw().is_idle());
        assert!(format!("{cond:?}").contains("has_waiters: false"));
    }

    #[test]
    fn cond_waiter_cancelled_while_queued_forgets_its_mutex() {
        let state = Arc::new((Mutex::new(()), Cond::new()));
        let rt = rt1();
        let s = state.clone();
        rt.go(move || drop(s.1.wait(s.0.lock())));
        let cond = &state.1;
        wait_until("a waiter", || lot::with_queue(cond.key(), |q| q.len()) == 1);
        drop(rt);
        assert_eq!(cond.mutex.load(Relaxed), 0);
        assert!(state.0.raw().is_idle());
    }
}
