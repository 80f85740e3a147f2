//! The channel lock (Go: `hchan.lock`): a mutex whose data can also be reached by hand while
//! `select` holds the locks of several channels at once.

use crate::loom::{MutPtr, RawLock, UnsafeCell};
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

/// A mutex around `T` that can be locked with a guard ([`Lock::lock`]) or by hand
/// ([`Lock::raw_lock`] / [`Lock::raw_unlock`] with [`Lock::data`] in between).
pub(crate) struct Lock<T> {
    raw: RawLock,
    data: UnsafeCell<T>,
}

// SAFETY: the lock gives one thread at a time access to `data`, so sharing a `Lock<T>` is
// sharing a `T` by moving it between threads: `T: Send` is enough (as for `std::sync::Mutex`).
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: a `Lock<T>` owns its `T`.
unsafe impl<T: Send> Send for Lock<T> {}

impl<T> Lock<T> {
    pub(crate) fn new(v: T) -> Self {
        Lock {
            raw: RawLock::new(),
            data: UnsafeCell::new(v),
        }
    }

    /// Locks and returns a guard that unlocks on drop.
    #[inline]
    pub(crate) fn lock(&self) -> LockGuard<'_, T> {
        self.raw.lock();
        LockGuard {
            lock: self,
            data: ManuallyDrop::new(self.data.get_mut()),
        }
    }

    /// Locks without a guard (Go: `lock(&c.lock)` in `sellock`).
    #[inline]
    pub(crate) fn raw_lock(&self) {
        self.raw.lock();
    }

    /// Unlocks a lock taken with [`Lock::raw_lock`].
    ///
    /// # Safety
    /// The caller holds the lock through `raw_lock` and no reference from [`Lock::data`]
    /// outlives this call.
    #[inline]
    pub(crate) unsafe fn raw_unlock(&self) {
        // SAFETY: forwarded contract.
        unsafe { self.raw.unlock() }
    }

    /// The protected data, for a caller that holds the lock through `raw_lock`.
    ///
    /// # Safety
    /// The caller holds the lock and drops the returned pointer before unlocking.
    #[inline]
    pub(crate) unsafe fn data(&self) -> MutPtr<T> {
        self.data.get_mut()
    }
}

impl<T> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lock { .. }")
    }
}

/// Holds a [`Lock`]; unlocks it when dropped.
pub(crate) struct LockGuard<'a, T> {
    lock: &'a Lock<T>,
    /// Dropped by hand before unlocking (loom tracks the access until the pointer drops).
    data: ManuallyDrop<MutPtr<T>>,
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so nobody else reaches the data.
        unsafe { self.data.as_mut() }
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, so nobody else reaches the data.
        unsafe { self.data.as_mut() }
    }
}

impl<T> Drop for LockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `data` is dropped once, here, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.data) };
        // SAFETY: this guard took the lock in `Lock::lock` and its data pointer is gone.
        unsafe { self.lock.raw.unlock() }
    }
}
