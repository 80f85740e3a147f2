//! `Once`: Go's `sync.Once`, runs a function exactly once.

use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::const_fn;
use crate::raw_mutex::RawMutex;
use gmp_core::park::WaitReason;
use std::fmt;

/// Runs one initialization exactly once, however many goroutines ask (Go: `sync.Once`).
///
/// Every caller of [`call_once`](Once::call_once) returns only after the function has run,
/// so what it did is visible to all of them. Callers that arrive while it runs park until it
/// finishes.
///
/// A function that panics still counts as done (Go's `TestOncePanic`): the panic propagates
/// to the caller that ran it, and later calls return at once without running anything.
/// Unlike `std::sync::Once` the `Once` is not poisoned.
///
/// Calling `call_once` on the same `Once` from inside its function deadlocks, as in Go.
///
/// ```
/// use gmp_sync::Once;
///
/// static INIT: Once = Once::new();
/// let mut runs = 0;
/// INIT.call_once(|| runs += 1);
/// INIT.call_once(|| runs += 1);
/// assert_eq!(runs, 1);
/// assert!(INIT.is_completed());
/// ```
pub struct Once {
    /// Go's `done`:
    ///
    /// | value   | meaning                                                   |
    /// |---------|-----------------------------------------------------------|
    /// | `false` | the function has not returned (or unwound) yet            |
    /// | `true`  | it has; set once (`Release`) under `m`, never cleared     |
    done: AtomicBool,
    /// Serializes the callers that find `done` false; the first one runs the function.
    m: RawMutex,
}

impl Once {
    const_fn! {
        /// Creates a `Once` that has not run.
        ///
        /// ```
        /// let once = gmp_sync::Once::new();
        /// assert!(!once.is_completed());
        /// ```
        pub fn new() -> Once {
            Once { done: AtomicBool::new(false), m: RawMutex::new() }
        }
    }

    /// Runs `f` if no call on this `Once` has run one yet; otherwise waits for that run to
    /// finish and returns (Go: `Once.Do`).
    ///
    /// ```
    /// use gmp_sync::Once;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let once = Arc::new(Once::new());
    /// let runs = Arc::new(AtomicUsize::new(0));
    /// let threads: Vec<_> = (0..4)
    ///     .map(|_| {
    ///         let (once, runs) = (once.clone(), runs.clone());
    ///         std::thread::spawn(move || once.call_once(|| { runs.fetch_add(1, Ordering::SeqCst); }))
    ///     })
    ///     .collect();
    /// for t in threads {
    ///     t.join().unwrap();
    /// }
    /// assert_eq!(runs.load(Ordering::SeqCst), 1);
    /// ```
    ///
    /// A panicking `f` counts as done:
    ///
    /// ```
    /// let once = gmp_sync::Once::new();
    /// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     once.call_once(|| panic!("failed"))
    /// }));
    /// assert!(r.is_err());
    /// assert!(once.is_completed());
    /// once.call_once(|| unreachable!()); // returns at once
    /// ```
    #[inline]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        // Fast path: `Acquire` pairs with the `Release` store after `f`, so `f`'s effects are
        // visible to every caller that returns here.
        if !self.done.load(Ordering::Acquire) {
            self.call_once_slow(f);
        }
    }

    /// Go: `Once.doSlow`.
    #[cold]
    fn call_once_slow<F: FnOnce()>(&self, f: F) {
        gmp_core::park::checkpoint();
        self.m.lock(WaitReason::SyncOnce);
        // Unlocks `m` (after `done` is set, even if `f` panics: guards drop in reverse order).
        let _unlock = UnlockOnDrop(&self.m);
        if !self.done.load(Ordering::Relaxed) {
            let _set_done = SetDoneOnDrop(&self.done);
            f();
        }
    }

    /// Whether a call has run its function to the end (or to its panic).
    ///
    /// ```
    /// let once = gmp_sync::Once::new();
    /// once.call_once(|| {});
    /// assert!(once.is_completed());
    /// ```
    pub fn is_completed(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

/// Go's `defer o.m.Unlock()`.
struct UnlockOnDrop<'a>(&'a RawMutex);

impl Drop for UnlockOnDrop<'_> {
    fn drop(&mut self) {
        // SAFETY: created right after `lock` succeeded, dropped once.
        unsafe { self.0.unlock() }
    }
}

/// Go's `defer o.done.Store(1)`.
struct SetDoneOnDrop<'a>(&'a AtomicBool);

impl Drop for SetDoneOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("completed", &self.is_completed())
            .finish()
    }
}
