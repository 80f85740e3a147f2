//! `Semaphore`: the public weighted FIFO semaphore (Go: `golang.org/x/sync/semaphore.Weighted`);
//! not Go's runtime semaphore, which is `sema.rs`.

use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::const_fn;
use crate::lot::{self, Abandoned, Parked, Queue, UnparkToken};
use gmp_core::park::WaitReason;
use std::fmt;

/// Top bit of the state word: waiters are queued.
const WAITERS: usize = 1 << (usize::BITS - 1);
/// The largest capacity: the rest of the word.
const MAX_CAPACITY: usize = WAITERS - 1;
/// Unpark token: the releaser added our weight to the held count for us.
const TOKEN_ACQUIRED: UnparkToken = 0;

/// A weighted semaphore (Go: `x/sync/semaphore.Weighted`): `capacity` units, acquired and
/// released in any amounts.
///
/// Waiters are served strictly in FIFO order: a large request at the head of the queue
/// blocks smaller requests behind it even when they would fit, so a large request cannot be
/// starved by a stream of small ones. A request larger than the capacity could never be
/// served: [`acquire`](Semaphore::acquire) panics instead of blocking forever.
///
/// A waiter whose goroutine is cancelled while it waits (its runtime was dropped) leaves the
/// queue as x/sync's cancelled `Acquire` does: units granted to it at that moment are
/// released again, and the waiters behind it are served if they now fit.
///
/// ```
/// use gmp_sync::{Semaphore, WaitGroup};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// // At most 2 workers at a time.
/// let sem = Arc::new(Semaphore::new(2));
/// let running = Arc::new(AtomicUsize::new(0));
/// let wg = WaitGroup::new();
/// for _ in 0..6 {
///     wg.add(1);
///     let (sem, running, wg) = (sem.clone(), running.clone(), wg.clone());
///     std::thread::spawn(move || {
///         sem.acquire(1);
///         assert!(running.fetch_add(1, Ordering::SeqCst) < 2);
///         running.fetch_sub(1, Ordering::SeqCst);
///         sem.release(1);
///         wg.done();
///     });
/// }
/// wg.wait();
/// ```
pub struct Semaphore {
    size: usize,
    /// The units held, plus a flag:
    ///
    /// | bits            | meaning                                                   |
    /// |-----------------|-----------------------------------------------------------|
    /// | `WAITERS` (top) | waiters are queued in the parking lot under this address  |
    /// | the rest        | `cur`: units held, `0..=size`                              |
    ///
    /// `WAITERS` is set and cleared only under the parking-lot bucket lock of this key, and
    /// is set exactly when the queue is non-empty. While it is clear, `acquire`/`release`
    /// change `cur` with a CAS and no lock. While it is set, every change happens under the
    /// bucket lock: a release serves the queue head while its weight fits (x/sync's
    /// `notifyWaiters`), adding each served weight to `cur` for the waiter.
    state: AtomicUsize,
}

impl Semaphore {
    const_fn! {
        /// Creates a semaphore with `capacity` units, none held.
        ///
        /// # Panics
        ///
        /// If `capacity` exceeds `usize::MAX / 2` ("semaphore: capacity too large").
        ///
        /// ```
        /// let sem = gmp_sync::Semaphore::new(3);
        /// assert!(sem.try_acquire(3));
        /// ```
        #[track_caller]
        pub fn new(capacity: usize) -> Semaphore {
            assert!(capacity <= MAX_CAPACITY, "semaphore: capacity too large");
            Semaphore { size: capacity, state: AtomicUsize::new(0) }
        }
    }

    fn key(&self) -> usize {
        &self.state as *const AtomicUsize as usize
    }

    /// The number of units (x/sync keeps it private; gmp's context-aware acquire needs it).
    pub fn capacity(&self) -> usize {
        self.size
    }

    /// Takes `n` units if they are free and nobody is queued. Lock-free.
    fn try_acquire_fast(&self, n: usize) -> bool {
        let mut s = self.state.load(SeqCst);
        loop {
            if s & WAITERS != 0 || self.size - s < n {
                return false;
            }
            match self.state.compare_exchange_weak(s, s + n, SeqCst, SeqCst) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Acquires `n` units, parking until they are available and every earlier waiter has
    /// been served (x/sync: `Acquire`).
    ///
    /// # Panics
    ///
    /// "semaphore: acquire of N exceeds capacity M" if `n` is larger than the capacity.
    ///
    /// ```
    /// let sem = gmp_sync::Semaphore::new(10);
    /// sem.acquire(7);
    /// assert!(!sem.try_acquire(4));
    /// sem.release(7);
    /// ```
    #[track_caller]
    pub fn acquire(&self, n: usize) {
        gmp_core::park::checkpoint();
        if n > self.size {
            panic!("semaphore: acquire of {n} exceeds capacity {}", self.size);
        }
        if self.try_acquire_fast(n) {
            return;
        }
        let acquired = self.acquire_slow(n, &|| false);
        debug_assert!(acquired);
    }

    /// Queues for `n` units (`n` ≤ capacity) until served, or until `interrupted()` (checked
    /// at every wake-up; whoever makes it true unparks the caller). Returns whether the units
    /// were acquired. An interrupted waiter leaves the queue as a cancelled one does (and
    /// one served meanwhile keeps its units: it was served first).
    pub(crate) fn acquire_slow(&self, n: usize, interrupted: &dyn Fn() -> bool) -> bool {
        let mut acquired = false;
        let parked = lot::park_interruptible(
            self.key(),
            n,
            false,
            WaitReason::SemAcquire,
            || {
                let mut s = self.state.load(SeqCst);
                loop {
                    let (want, park) = if s & WAITERS == 0 && self.size - s >= n {
                        (s + n, false) // free and nobody queued: take it
                    } else if s & WAITERS != 0 {
                        return true; // queue behind the others
                    } else {
                        (s | WAITERS, true) // first waiter: flag the queue
                    };
                    match self.state.compare_exchange(s, want, SeqCst, SeqCst) {
                        Ok(_) => {
                            acquired = !park;
                            return park;
                        }
                        Err(now) => s = now,
                    }
                }
            },
            || {},
            interrupted,
            |how| match how {
                // Still queued: it may have been the head that blocked smaller requests.
                Abandoned::Dequeued { .. } => self.serve_after_leaving(),
                // A release added our units to `cur` for us: give them back (x/sync: "Acquired
                // the semaphore after we were canceled ... put the tokens back").
                Abandoned::Woken { .. } => self.release(n),
            },
        );
        match parked {
            Parked::NotQueued => {
                debug_assert!(acquired);
                true
            }
            Parked::Woken(t) => {
                debug_assert_eq!(t, TOKEN_ACQUIRED);
                true
            }
            // Served while it gave up: the units are ours (the release added them for us).
            Parked::Interrupted(Abandoned::Woken { .. }) => true,
            Parked::Interrupted(Abandoned::Dequeued { .. }) => {
                self.serve_after_leaving();
                false
            }
        }
    }

    /// A queued waiter left (its goroutine was cancelled): serve the waiters that now fit at
    /// the head, and clear `WAITERS` if it was the last (x/sync: `Acquire`'s cancellation,
    /// "if we're at the front and there're extra tokens left, notify other waiters").
    fn serve_after_leaving(&self) {
        lot::with_queue(self.key(), |q| {
            let s = self.state.load(SeqCst);
            if s & WAITERS != 0 {
                self.serve(q, s & !WAITERS);
            }
        });
    }

    /// With `WAITERS` set and the queue locked, `cur` units held: wakes the waiters at the
    /// head whose requests fit, in order, and stores the new state (x/sync: `notifyWaiters`).
    fn serve(&self, q: &mut Queue<'_>, mut cur: usize) {
        while let Some(weight) = q.front() {
            if self.size - cur < weight {
                // Not enough for the head: it blocks everyone behind it (FIFO).
                break;
            }
            cur += weight;
            q.unpark_front(TOKEN_ACQUIRED);
        }
        let flag = if q.is_empty() { 0 } else { WAITERS };
        self.state.store(cur | flag, SeqCst);
    }

    /// Acquires `n` units if they are free now and nobody is waiting; never parks
    /// (x/sync: `TryAcquire`). `false` for `n` above the capacity.
    ///
    /// ```
    /// let sem = gmp_sync::Semaphore::new(2);
    /// assert!(sem.try_acquire(2));
    /// assert!(!sem.try_acquire(1));
    /// sem.release(2);
    /// assert!(sem.try_acquire(1));
    /// ```
    pub fn try_acquire(&self, n: usize) -> bool {
        n <= self.size && self.try_acquire_fast(n)
    }

    /// Releases `n` units and serves the waiters at the head of the queue whose requests now
    /// fit, in order (x/sync: `Release`).
    ///
    /// # Panics
    ///
    /// "semaphore: released more than held" if fewer than `n` units are held.
    ///
    /// ```
    /// let sem = gmp_sync::Semaphore::new(4);
    /// sem.acquire(3);
    /// sem.release(1);
    /// sem.release(2);
    /// assert!(sem.try_acquire(4));
    /// ```
    #[track_caller]
    pub fn release(&self, n: usize) {
        if self.try_release_fast(n).is_some() {
            self.release_slow(n);
        }
    }

    /// Gives back `n` units with a CAS while nobody is queued: `None` when done, or the state
    /// word (with `WAITERS` set) when the release must serve the queue under its lock.
    ///
    /// # Panics
    ///
    /// "semaphore: released more than held" if fewer than `n` units are held.
    #[inline]
    #[track_caller]
    fn try_release_fast(&self, n: usize) -> Option<usize> {
        let mut s = self.state.load(SeqCst);
        loop {
            if s & !WAITERS < n {
                panic!("semaphore: released more than held");
            }
            if s & WAITERS != 0 {
                return Some(s);
            }
            match self.state.compare_exchange_weak(s, s - n, SeqCst, SeqCst) {
                Ok(_) => return None,
                Err(now) => s = now,
            }
        }
    }

    /// Release with waiters queued: under the bucket lock (x/sync: `notifyWaiters`).
    #[cold]
    #[track_caller]
    fn release_slow(&self, n: usize) {
        lot::with_queue(self.key(), |q| {
            // Another release may have emptied the queue meanwhile: then the lock-free rule
            // applies, and the CAS is all there is to do.
            if let Some(s) = self.try_release_fast(n) {
                // WAITERS is set, so nobody changes the state without this lock.
                self.serve(q, (s & !WAITERS) - n);
            }
        });
    }
}

/// Shows the capacity, the units held and the number of queued waiters (a snapshot taken
/// under the queue's lock).
impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, waiters) = lot::with_queue(self.key(), |q| (self.state.load(SeqCst), q.len()));
        f.debug_struct("Semaphore")
            .field("capacity", &self.size)
            .field("held", &(s & !WAITERS))
            .field("waiters", &waiters)
            .finish()
    }
}
