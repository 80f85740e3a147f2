//! The one place that chooses between std/parking_lot and loom (tokio's `src/loom/`).
//!
//! Every module of gmp-core takes its atomics, cells, locks, thread-locals and thread
//! spawning from here. Under `--cfg loom` they are loom's model-checked versions, queue
//! capacities shrink (see `runq.rs`) and a goroutine is modelled by a loom thread.

#[cfg(not(loom))]
#[allow(dead_code, unused_imports)]
mod imp {
    pub(crate) use std::sync::Arc;
    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
            Ordering,
        };
    }
    pub(crate) use std::thread_local;

    /// `UnsafeCell` with loom's closure API so call sites read the same in both modes.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);
    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(v: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(v))
        }
    }
    impl<T: ?Sized> UnsafeCell<T> {
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// A mutex whose `lock` returns the guard (parking_lot's shape).
    pub(crate) type Mutex<T> = parking_lot::Mutex<T>;
    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    /// A condition variable with by-value waits, the same in both modes.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(parking_lot::Condvar);
    impl Condvar {
        pub(crate) const fn new() -> Self {
            Condvar(parking_lot::Condvar::new())
        }
        pub(crate) fn wait<'a, T>(&self, mut g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(&mut g);
            g
        }
        /// Waits until notified or `deadline`; returns the guard and whether it timed out.
        pub(crate) fn wait_until<'a, T>(
            &self,
            mut g: MutexGuard<'a, T>,
            deadline: std::time::Instant,
        ) -> (MutexGuard<'a, T>, bool) {
            let r = self.0.wait_until(&mut g, deadline);
            (g, r.timed_out())
        }
        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
    }

    pub(crate) mod thread {
        pub(crate) use std::thread::{yield_now, Builder, JoinHandle};
    }

    /// Spin-loop hint (loom: a yield, so the model knows progress needs another thread).
    #[inline(always)]
    pub(crate) fn spin_loop() {
        std::hint::spin_loop();
    }
    /// Same as Go's `len(p.runq)` (runtime/runtime2.go): 256 slots per P, as tokio's
    /// `LOCAL_QUEUE_CAPACITY`.
    pub(crate) const LOCAL_QUEUE_CAPACITY: usize = 256;

    /// Same as Go's `p.sudogcache` capacity (runtime/runtime2.go: `[128]*sudog`): waiter
    /// records per size class a P keeps free.
    pub(crate) const SUDOG_CACHE_CAP: usize = 128;
    /// Free waiter records per size class the runtime keeps centrally, beyond the Ps'
    /// (Go's central list is unbounded: its GC empties it; here the surplus is freed).
    pub(crate) const SUDOG_CENTRAL_CAP: usize = 1024;

    /// Orders a SeqCst store or RMW before a later SeqCst load of another atomic (the
    /// store-buffering, or Dekker, pattern). The C++/Rust memory model already guarantees this
    /// when both accesses are `SeqCst` (they are in the single total order), so in real builds
    /// this is only a compiler fence. loom models `SeqCst` accesses as `AcqRel`
    /// (tokio-rs/loom#180) and would report a false failure; under loom it is a real
    /// `fence(SeqCst)`, which loom does model.
    #[inline(always)]
    pub(crate) fn seqcst_fence() {
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether to install the `goroutine N panicked at` hook (not under loom: a hook that
    /// reads the scheduler's thread-local while loom tears a model down aborts the process).
    pub(crate) const PANIC_HOOK: bool = true;

    /// Whether runtimes start a sysmon thread (loom models run without one: it never ends).
    pub(crate) const SYSMON: bool = true;

    /// Whether shutdown gives up on goroutines after the exit grace (loom models wait for
    /// every goroutine instead: a model must join all its threads).
    pub(crate) const BOUNDED_EXIT: bool = true;

    /// The runtime's clock (Go: `nanotime`): `Instant::now()`. Under loom it is a virtual
    /// clock, so that a model never branches on how fast the machine ran it.
    #[inline(always)]
    pub(crate) fn now() -> std::time::Instant {
        std::time::Instant::now()
    }

    /// Go's `usleep` (used by `runqgrab` before stealing a running P's `runnext`): sleeps the
    /// OS thread for about `us` microseconds (the kernel's timer slack may stretch it, as in Go).
    #[inline]
    pub(crate) fn usleep(us: u64) {
        std::thread::sleep(std::time::Duration::from_micros(us));
    }
}

#[cfg(loom)]
#[allow(dead_code, unused_imports)]
mod imp {
    // std's Arc under loom too: refcounts are not what the models check, and the scheduler
    // takes `self: &Arc<Self>` receivers, which loom's Arc cannot be.
    pub(crate) use std::sync::Arc;
    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
            Ordering,
        };
    }
    pub(crate) use loom::thread_local;

    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);
    impl<T> UnsafeCell<T> {
        pub(crate) fn new(v: T) -> Self {
            UnsafeCell(loom::cell::UnsafeCell::new(v))
        }
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            self.0.with(f)
        }
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.0.with_mut(f)
        }
    }

    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);
    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
    impl<T> Mutex<T> {
        pub(crate) fn new(v: T) -> Self {
            Mutex(loom::sync::Mutex::new(v))
        }
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock().ok()
        }
    }

    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);
    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }
        pub(crate) fn wait<'a, T>(&self, g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(g).unwrap()
        }
        /// loom has no clock. A timed wait times out at once (after letting others run),
        /// which models the "deadline raced the notification" path, and moves the virtual
        /// clock (see [`now`]) to the deadline, as a real timeout would. A wait for
        /// [`NEVER_FIRES`] or longer is an untimed wait.
        pub(crate) fn wait_until<'a, T>(
            &self,
            g: MutexGuard<'a, T>,
            deadline: std::time::Instant,
        ) -> (MutexGuard<'a, T>, bool) {
            if deadline.saturating_duration_since(now()) >= NEVER_FIRES {
                return (self.wait(g), false);
            }
            advance_to(deadline);
            (g, true)
        }
        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
    }

    pub(crate) mod thread {
        pub(crate) use loom::thread::{yield_now, Builder, JoinHandle};
    }

    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    /// Small enough for loom to reach the full, overflow and wrap-around paths in a few
    /// operations ("shouldn't impact logic, but allows loom to test more edge cases", tokio).
    pub(crate) const LOCAL_QUEUE_CAPACITY: usize = 4;
    /// Small, so the models reach the full-cache and central-overflow paths.
    pub(crate) const SUDOG_CACHE_CAP: usize = 2;
    pub(crate) const SUDOG_CENTRAL_CAP: usize = 2;

    /// See the non-loom version: loom needs a real fence to see the SeqCst total order.
    pub(crate) fn seqcst_fence() {
        loom::sync::atomic::fence(loom::sync::atomic::Ordering::SeqCst);
    }

    /// No panic hook under loom (see the non-loom version).
    pub(crate) const PANIC_HOOK: bool = false;

    /// No sysmon under loom: a thread that sleeps and loops forever cannot be model-checked.
    pub(crate) const SYSMON: bool = false;

    /// See the std half: under loom, shutdown waits for every goroutine.
    pub(crate) const BOUNDED_EXIT: bool = false;

    loom::lazy_static! {
        /// Nanoseconds the model's virtual clock stands past [`base`]. One per execution
        /// (loom resets its statics), so concurrently running models do not share it; a plain
        /// atomic, since loom runs one thread at a time and only timeouts move it.
        static ref CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    }

    /// The origin of the virtual clock: a constant once read, so models stay deterministic.
    fn base() -> std::time::Instant {
        static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        *BASE.get_or_init(std::time::Instant::now)
    }

    /// The model's virtual clock: it stands still until a timed wait times out, then jumps to
    /// that wait's deadline. Real time would make the model's branches (`deadline <= now`)
    /// depend on how fast the machine replays it, which loom reports as "Reached unexpected
    /// exploration state".
    pub(crate) fn now() -> std::time::Instant {
        base() + std::time::Duration::from_nanos(CLOCK.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn advance_to(deadline: std::time::Instant) {
        let at = deadline.saturating_duration_since(base()).as_nanos();
        let at = u64::try_from(at).unwrap_or(u64::MAX);
        CLOCK.fetch_max(at, std::sync::atomic::Ordering::Relaxed);
    }

    /// Timed waits at least this far ahead never time out in a model: they stand for "a
    /// timer that has not fired yet", so a wake-up that should have come and was lost shows as
    /// a loom deadlock instead of being papered over by the timeout.
    pub(crate) const NEVER_FIRES: std::time::Duration = std::time::Duration::from_secs(3600);

    /// loom has no clock: a sleep is a yield, so the model lets other threads run first.
    pub(crate) fn usleep(_us: u64) {
        loom::thread::yield_now();
    }

    // The other crates' handles are loom's `Arc`s in their models: they register what they
    // wait on with them (`park::WaitsOn::handle`), and the leak model counts them.
    impl<T> crate::sched::leak::sealed::Sealed for loom::sync::Arc<T> {}

    impl<T> crate::park::SharedHandles for loom::sync::Arc<T> {
        fn shared_ptr(&self) -> *const () {
            loom::sync::Arc::as_ptr(self).cast()
        }
        unsafe fn count_at(shared: *const ()) -> usize {
            // SAFETY: the caller's contract: `shared` is the pointee of a live loom `Arc<T>`;
            // the rebuilt one is never dropped.
            let a = std::mem::ManuallyDrop::new(unsafe {
                loom::sync::Arc::from_raw(shared.cast::<T>())
            });
            loom::sync::Arc::strong_count(&a)
        }
    }
}

#[allow(unused_imports)]
pub(crate) use imp::*;
