//! The one place that chooses between std/parking_lot and loom (tokio's `src/loom/`).
//!
//! gmp-chan takes its atomics, cells, the channel lock, its random numbers and its one
//! process-wide value (`Context::background`) from here. Under `--cfg loom` they are loom's
//! model-checked versions (and `park` in gmp-core parks a loom thread), so the channel and
//! context protocols can be checked exhaustively.

#[cfg(not(loom))]
mod imp {
    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    }
    pub(crate) use std::sync::Arc;

    /// `UnsafeCell` with loom's closure API, so call sites read the same in both modes.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(v: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(v))
        }
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
        /// A raw pointer to the contents (loom: a tracked `MutPtr`, live until dropped).
        #[inline(always)]
        pub(crate) fn get_mut(&self) -> MutPtr<T> {
            MutPtr(self.0.get())
        }
        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    /// A pointer obtained from [`UnsafeCell::get_mut`].
    #[derive(Debug)]
    pub(crate) struct MutPtr<T>(*mut T);

    impl<T> MutPtr<T> {
        /// # Safety
        /// The caller has exclusive access to the cell for the returned lifetime.
        #[inline(always)]
        #[allow(clippy::mut_from_ref)]
        pub(crate) unsafe fn as_mut(&self) -> &mut T {
            // SAFETY: exclusive access is the caller's contract.
            unsafe { &mut *self.0 }
        }
    }

    /// A mutual-exclusion lock with no data, locked and unlocked by hand, so that `select`
    /// can hold the locks of several channels at once (Go: `sellock`/`selunlock`).
    pub(crate) struct RawLock(parking_lot::RawMutex);

    impl std::fmt::Debug for RawLock {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("RawLock")
        }
    }

    impl RawLock {
        pub(crate) const fn new() -> Self {
            RawLock(<parking_lot::RawMutex as parking_lot::lock_api::RawMutex>::INIT)
        }
        #[inline]
        pub(crate) fn lock(&self) {
            parking_lot::lock_api::RawMutex::lock(&self.0);
        }
        /// # Safety
        /// The calling thread holds the lock.
        #[inline]
        pub(crate) unsafe fn unlock(&self) {
            // SAFETY: the caller holds the lock (this function's contract).
            unsafe { parking_lot::lock_api::RawMutex::unlock(&self.0) }
        }
    }

    /// A random number in `0..n` (`n > 0`) from a per-thread xorshift generator
    /// (Go: `cheaprandn`), used for select's poll order.
    pub(crate) fn rand_below(n: usize) -> usize {
        use std::cell::Cell;
        std::thread_local! {
            static STATE: Cell<u64> = Cell::new({
                // Seed from the thread's stack address and the clock: distinct per thread.
                let local = 0u8;
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                (&local as *const u8 as u64) ^ t ^ 0x9E37_79B9_7F4A_7C15 | 1
            });
        }
        let x = STATE.with(|s| {
            let mut x = s.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.set(x);
            x
        });
        // Lemire's multiply-shift: unbiased enough for fairness, no division.
        ((u128::from(x) * n as u128) >> 64) as usize
    }

    /// A value made once per process and handed out by clone (std's `OnceLock`): the shared
    /// `Context::background()`.
    #[derive(Debug)]
    pub(crate) struct OnceValue<T>(std::sync::OnceLock<T>);

    impl<T: Clone> OnceValue<T> {
        pub(crate) const fn new() -> Self {
            OnceValue(std::sync::OnceLock::new())
        }
        /// A clone of the value, made by `init` on the first call.
        #[inline]
        pub(crate) fn get_or_init(&'static self, init: impl FnOnce() -> T) -> T {
            self.0.get_or_init(init).clone()
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    }
    pub(crate) use loom::sync::Arc;

    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) fn new(v: T) -> Self {
            UnsafeCell(loom::cell::UnsafeCell::new(v))
        }
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.0.with_mut(f)
        }
        pub(crate) fn get_mut(&self) -> MutPtr<T> {
            MutPtr(self.0.get_mut())
        }
        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    #[derive(Debug)]
    pub(crate) struct MutPtr<T>(loom::cell::MutPtr<T>);

    impl<T> MutPtr<T> {
        #[allow(clippy::mut_from_ref)]
        pub(crate) unsafe fn as_mut(&self) -> &mut T {
            // SAFETY: exclusive access is the caller's contract.
            unsafe { self.0.deref() }
        }
    }

    /// loom's modelled mutex and condvar, arranged as a lock without a guard.
    #[derive(Debug)]
    pub(crate) struct RawLock {
        locked: loom::sync::Mutex<bool>,
        cv: loom::sync::Condvar,
    }

    impl RawLock {
        pub(crate) fn new() -> Self {
            RawLock {
                locked: loom::sync::Mutex::new(false),
                cv: loom::sync::Condvar::new(),
            }
        }
        pub(crate) fn lock(&self) {
            let mut g = self.locked.lock().unwrap();
            while *g {
                g = self.cv.wait(g).unwrap();
            }
            *g = true;
        }
        pub(crate) unsafe fn unlock(&self) {
            *self.locked.lock().unwrap() = false;
            self.cv.notify_all();
        }
    }

    /// Deterministic under loom (the model must replay): the identity poll order.
    pub(crate) fn rand_below(_n: usize) -> usize {
        0
    }

    /// Made afresh on every call: loom's objects (a channel's lock and atomics) belong to one
    /// model execution, so none may outlive it in a static.
    #[derive(Debug)]
    pub(crate) struct OnceValue<T>(std::marker::PhantomData<T>);

    impl<T: Clone> OnceValue<T> {
        pub(crate) const fn new() -> Self {
            OnceValue(std::marker::PhantomData)
        }
        pub(crate) fn get_or_init(&'static self, init: impl FnOnce() -> T) -> T {
            init()
        }
    }
}

pub(crate) use imp::*;
