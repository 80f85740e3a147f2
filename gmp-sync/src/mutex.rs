//! `Mutex<T>`: Go's `sync.Mutex` holding its data, with an RAII guard.

use crate::loom::{const_fn, DataCell};
use crate::raw_mutex::RawMutex;
use gmp_core::park::WaitReason;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// A mutual-exclusion lock that parks goroutines (Go: `sync.Mutex`), holding the data it
/// protects.
///
/// [`lock`](Mutex::lock) returns a [`MutexGuard`]; the lock is released when the guard is
/// dropped. A goroutine that has to wait is parked and its thread runs other goroutines; a
/// plain OS thread that has to wait blocks.
///
/// # Fairness (Go's two modes)
///
/// In *normal mode* waiters queue in FIFO order, but a woken waiter competes with goroutines
/// that are just arriving (and may spin briefly while the holder runs on another P); the
/// newcomers usually win, which keeps throughput high. A waiter that fails to get the lock
/// for more than 1 ms switches the mutex to *starvation mode*: the unlocker hands the lock
/// directly to the waiter at the head of the queue, and newcomers neither spin nor grab it but
/// queue at the tail. The mutex returns to normal mode when the waiter that gets it is the
/// last one, or waited less than 1 ms. So no goroutine is passed over for long.
///
/// # Differences from `std::sync::Mutex`
///
/// - No poisoning: a panic while the guard is held just unlocks the mutex (as Go's `defer
///   mu.Unlock()` would).
/// - [`try_lock`](Mutex::try_lock) returns an `Option`.
/// - [`Mutex::new`] is `const`, so a `Mutex` can live in a `static`.
/// - The guard is `Send` (for `T: Send`): Go lets another goroutine unlock, and a goroutine
///   holding a guard may be moved to another thread while it is parked anyway.
/// - Not re-entrant: locking a mutex you hold deadlocks (as in Go).
///
/// # Examples
///
/// ```
/// use gmp_sync::Mutex;
/// use std::sync::Arc;
///
/// let counter = Arc::new(Mutex::new(0));
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let counter = counter.clone();
///         std::thread::spawn(move || {
///             for _ in 0..1000 {
///                 *counter.lock() += 1;
///             }
///         })
///     })
///     .collect();
/// for t in threads {
///     t.join().unwrap();
/// }
/// assert_eq!(*counter.lock(), 4000);
/// ```
///
/// In a `static`:
///
/// ```
/// use gmp_sync::Mutex;
///
/// static NAMES: Mutex<Vec<&str>> = Mutex::new(Vec::new());
/// NAMES.lock().push("gopher");
/// assert_eq!(NAMES.lock().len(), 1);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: DataCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one holder at a time, so it may be shared
// between threads when `T` may be sent between them (as std's Mutex).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the `T` it owns.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    const_fn! {
        /// Creates an unlocked mutex holding `value`.
        ///
        /// ```
        /// let m = gmp_sync::Mutex::new(5);
        /// assert_eq!(*m.lock(), 5);
        /// ```
        pub fn new(value: T) -> Mutex<T> {
            Mutex { raw: RawMutex::new(), data: DataCell::new(value) }
        }
    }

    /// Consumes the mutex and returns its data.
    ///
    /// ```
    /// let m = gmp_sync::Mutex::new(String::from("go"));
    /// assert_eq!(m.into_inner(), "go");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, parking the caller while another holds it (Go: `Mutex.Lock`).
    ///
    /// ```
    /// let m = gmp_sync::Mutex::new(vec![1]);
    /// m.lock().push(2);
    /// assert_eq!(*m.lock(), [1, 2]);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock(WaitReason::SyncMutexLock);
        MutexGuard { mutex: self }
    }

    /// Locks the mutex if it is free right now (Go: `Mutex.TryLock`). Like Go's, it fails
    /// while the mutex is in starvation mode, so it never jumps the queue.
    ///
    /// ```
    /// let m = gmp_sync::Mutex::new(0);
    /// let g = m.try_lock().expect("free");
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.raw.try_lock() {
            Some(MutexGuard { mutex: self })
        } else {
            None
        }
    }

    /// Mutable access without locking: `&mut self` proves nobody else can hold the lock.
    ///
    /// ```
    /// let mut m = gmp_sync::Mutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    pub(crate) fn raw(&self) -> &RawMutex {
        &self.raw
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_lock(f, "Mutex", self.try_lock().as_deref())
    }
}

/// `Debug` of a lock named `name`: its data if a `try_lock` got it, else `<locked>` (as std's).
pub(crate) fn fmt_lock<T: ?Sized + fmt::Debug>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    data: Option<&T>,
) -> fmt::Result {
    let mut d = f.debug_struct(name);
    match data {
        Some(data) => d.field("data", &data),
        None => d.field("data", &format_args!("<locked>")),
    };
    d.finish_non_exhaustive()
}

/// Formats a lock guard as the data it gives access to: `fmt_as_data!(Debug for MutexGuard)`.
macro_rules! fmt_as_data {
    ($($trait:ident for $guard:ident),+ $(,)?) => {$(
        impl<T: ?Sized + fmt::$trait> fmt::$trait for $guard<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::$trait::fmt(&**self, f)
            }
        }
    )+};
}
pub(crate) use fmt_as_data;

/// Access to the data of a locked [`Mutex`]; unlocks it when dropped (Go: `defer mu.Unlock()`).
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

// SAFETY: the guard gives `&T` to whoever holds `&guard`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: the lock has no owner thread (Go lets any goroutine unlock), so moving the guard
// moves only the exclusive access to `T`, which needs `T: Send`.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Rebuilds a guard for a mutex the caller has locked without one (`Cond::wait`).
    ///
    /// # Safety
    ///
    /// The caller holds `mutex`'s lock and no other guard for it exists.
    pub(crate) unsafe fn from_locked(mutex: &'a Mutex<T>) -> Self {
        MutexGuard { mutex }
    }

    /// The mutex this guard holds, consuming the guard *without* unlocking (`Cond::wait`).
    pub(crate) fn into_mutex_locked(self) -> &'a Mutex<T> {
        let m = self.mutex;
        std::mem::forget(self);
        m
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means the lock is held, so no `&mut T` exists elsewhere.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held and `&mut self` is unique, so this is the only access.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a guard exists only while its holder owns the lock.
        unsafe { self.mutex.raw.unlock() }
    }
}

fmt_as_data!(Debug for MutexGuard, Display for MutexGuard);
