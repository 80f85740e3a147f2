//! The one place that chooses between std/parking_lot and loom (tokio's `src/loom/`).
//!
//! Every module of gmp-sync takes its atomics, cells, bucket locks, globals, clock and spin
//! policy from here. Under `--cfg loom` they are loom's model-checked versions, the parking
//! lot shrinks to two buckets (so unrelated keys share a bucket and the key matching is
//! exercised), spinning is off, and the clock is a model-controlled counter that
//! [`advance_clock`] moves, so a model can drive Mutex's "waited more than 1 ms" decision.
//!
//! The loom models reach [`advance_clock`] and the cancellation hooks through the crate's
//! hidden `__private` module; none of this is part of the crate's API.

#![allow(dead_code, unused_imports, unreachable_pub)]

/// Defines `const fn` in normal builds and a plain `fn` under loom (loom's atomics have no
/// `const` constructors), so `Mutex::new` stays usable in a `static`.
macro_rules! const_fn {
    ($(#[$m:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$m])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$m])* $vis fn $($rest)*
    };
}
pub(crate) use const_fn;

/// `global! { static NAME: Type = init; }`: a lazily built global (`LazyLock`), or under loom
/// a `loom::lazy_static!`, rebuilt for every execution of a model.
macro_rules! global {
    (static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(loom))]
        static $name: std::sync::LazyLock<$t> = std::sync::LazyLock::new(|| $init);
        #[cfg(loom)]
        loom::lazy_static! {
            static ref $name: $t = $init;
        }
    };
}
pub(crate) use global;

/// The user data of `Mutex`/`RwLock` always lives in a std cell: loom models that want race
/// detection on the data put a `loom::cell::UnsafeCell` inside.
pub(crate) type DataCell<T> = std::cell::UnsafeCell<T>;

#[cfg(not(loom))]
mod imp {
    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            fence, AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }
    pub(crate) use std::sync::Arc;

    /// `log2` of the number of parking-lot buckets (Go's semtable has 251 roots).
    pub(crate) const TABLE_BITS: u32 = 8;

    /// The parking-lot bucket of `key` (Fibonacci hashing, as parking_lot_core's `hash`).
    #[inline]
    pub(crate) fn bucket_index(key: usize) -> usize {
        ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - TABLE_BITS)) as usize
    }

    /// A short-critical-section lock for a parking-lot bucket (never held across a park).
    pub(crate) type BucketLock<T> = parking_lot::Mutex<T>;
    pub(crate) type BucketGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    /// `UnsafeCell` with loom's closure API so call sites read the same in both modes.
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
    }

    /// Monotonic nanoseconds since the first call (Go: `runtime_nanotime`).
    pub(crate) fn nanotime() -> u64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let start = *START.get_or_init(std::time::Instant::now);
        // A u64 of nanoseconds lasts 584 years.
        start.elapsed().as_nanos() as u64
    }

    /// Whether a lock may spin now (Go: `runtime_canSpin`).
    #[inline]
    pub(crate) fn can_spin(iteration: u32) -> bool {
        gmp_core::park::can_spin(iteration)
    }

    /// Parks the calling goroutine or thread (the parking lot's only way to sleep). It
    /// unwinds instead of returning if the goroutine is cancelled.
    #[inline]
    pub(crate) fn park(reason: gmp_core::park::WaitReason) {
        gmp_core::park::park(reason)
    }

    /// Gives up the CPU for a moment: a cancelled waiter waiting for a waker that is between
    /// two of its instructions on another thread.
    #[inline]
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }

    /// Same as Go's `active_spin_cnt` (runtime/proc.go): pause instructions per spin.
    const ACTIVE_SPIN_CNT: u32 = 30;

    /// One spin (Go: `runtime_doSpin` = `procyield(active_spin_cnt)`).
    #[inline]
    pub(crate) fn do_spin() {
        for _ in 0..ACTIVE_SPIN_CNT {
            std::hint::spin_loop();
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }
    pub(crate) use loom::sync::Arc;

    /// Two buckets under loom: unrelated keys collide, which exercises the key matching.
    pub(crate) const TABLE_BITS: u32 = 1;

    /// The bucket of `key` under loom: bit 3 of the address. A hash of the whole address
    /// would make the bucket (and so which lock a thread takes) differ between executions
    /// of a model, as heap addresses do, and loom requires every execution to be
    /// deterministic. Bit 3 is stable: the keys of one model live in a few allocations whose
    /// bases are 16-byte aligned, so it depends only on a field's offset in its allocation.
    pub(crate) fn bucket_index(key: usize) -> usize {
        (key >> 3) & 1
    }

    /// loom's mutex with parking_lot's `lock() -> guard` shape.
    #[derive(Debug, Default)]
    pub(crate) struct BucketLock<T>(loom::sync::Mutex<T>);
    pub(crate) type BucketGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
    impl<T> BucketLock<T> {
        pub(crate) fn new(v: T) -> Self {
            BucketLock(loom::sync::Mutex::new(v))
        }
        pub(crate) fn lock(&self) -> BucketGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }

    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);
    impl<T> UnsafeCell<T> {
        pub(crate) fn new(v: T) -> Self {
            UnsafeCell(loom::cell::UnsafeCell::new(v))
        }
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.0.with_mut(f)
        }
    }

    loom::lazy_static! {
        static ref CLOCK: loom::sync::atomic::AtomicU64 = loom::sync::atomic::AtomicU64::new(0);
    }

    /// The model's clock: it moves only when a model calls [`advance_clock`].
    pub(crate) fn nanotime() -> u64 {
        CLOCK.load(loom::sync::atomic::Ordering::Relaxed)
    }

    /// Moves the model clock forward by `d`, so that a Mutex waiter parked before the call
    /// sees that it waited that long when it wakes (starvation mode after 1 ms).
    pub fn advance_clock(d: std::time::Duration) {
        CLOCK.fetch_add(d.as_nanos() as u64, loom::sync::atomic::Ordering::Relaxed);
    }

    // loom's thread-locals: model threads share one OS thread.
    loom::thread_local! {
        /// 0: no cancellation armed; `n`: the `n`-th park from now unwinds.
        static CANCEL_AT_PARK: std::cell::Cell<usize> = std::cell::Cell::new(0);
        /// Whether the armed park unwinds after sleeping (woken) rather than before.
        static CANCEL_AFTER: std::cell::Cell<bool> = std::cell::Cell::new(false);
    }

    /// The unwind payload of a cancellation that [`cancel_next_park`] injects.
    #[derive(Debug)]
    pub struct Cancelled;

    /// Makes the calling thread's next park unwind with [`Cancelled`] instead of sleeping, as
    /// a goroutine whose runtime is dropped while it parks does (gmp-core checks for
    /// cancellation when a goroutine parks). The waiter is queued by then, and a waker may
    /// have dequeued it already: loom explores both. A model catches the unwind
    /// (`catch_unwind`) and checks that the primitive is left consistent.
    ///
    /// Such models run with at most 2 preemptions ([`model_with_cancellation`]).
    pub fn cancel_next_park() {
        CANCEL_AT_PARK.with(|c| c.set(1));
        CANCEL_AFTER.with(|c| c.set(false));
    }

    /// Makes the calling thread's `n`-th park from now unwind with [`Cancelled`] once it has
    /// been woken, as a goroutine cancelled after a waker chose it but before it ran does
    /// (gmp-core checks for cancellation again when a parked goroutine resumes).
    pub fn cancel_after_park(n: usize) {
        assert!(n >= 1);
        CANCEL_AT_PARK.with(|c| c.set(n));
        CANCEL_AFTER.with(|c| c.set(true));
    }

    /// `loom::model` for models that cancel a thread while it parks ([`cancel_next_park`],
    /// [`cancel_after_park`]), with the preemption bound capped at 2 (the default of
    /// `cargo xtask verify`).
    ///
    /// Why the cap: loom runs every model thread on one OS thread, so they share its panic
    /// count. With 3 preemptions loom may switch threads in the middle of a cancelled
    /// waiter's unwind; another thread that then drops a `loom::sync::Mutex` guard (our
    /// bucket locks) sees a panic in progress, and the `std` mutex inside loom's is poisoned,
    /// which loom reports as a failure of its own. That is an artefact of the harness, not of
    /// the code under test.
    pub fn model_with_cancellation<F>(f: F)
    where
        F: Fn() + Sync + Send + 'static,
    {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(builder.preemption_bound.map_or(2, |b| b.min(2)));
        builder.check(f);
    }

    /// Parks the calling loom thread, unwinding before or after if a model armed it.
    pub(crate) fn park(reason: gmp_core::park::WaitReason) {
        let armed = CANCEL_AT_PARK.with(|c| {
            let n = c.get();
            if n > 0 {
                c.set(n - 1);
            }
            n == 1
        });
        let after = CANCEL_AFTER.with(|c| c.get());
        if armed && !after {
            std::panic::resume_unwind(Box::new(Cancelled));
        }
        gmp_core::park::park(reason);
        if armed {
            std::panic::resume_unwind(Box::new(Cancelled));
        }
    }

    /// No spinning under loom: a spin is just more interleavings to explore.
    pub(crate) fn can_spin(_iteration: u32) -> bool {
        false
    }

    pub(crate) fn do_spin() {
        loom::thread::yield_now();
    }

    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }
}

pub use imp::*;
