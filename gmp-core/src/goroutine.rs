//! Goroutines: `go`, `JoinHandle`, and the runtime-package functions (`gosched`, `goexit`,
//! `sleep`, `num_goroutine`, ...).

use crate::loom::atomic::{AtomicU8, Ordering::*};
use crate::loom::{Arc, Mutex, UnsafeCell};
use crate::park::{self, Unparker, WaitReason};
use crate::runtime::Runtime;
use crate::sched::{self, g::Task};
use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location};
use std::time::Duration;

/// A goroutine id (Go's `goid`). `Display` prints the number; the main goroutine of
/// [`run`](crate::run) is 1. Ids are unique within a runtime and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoId(pub(crate) u64);

impl GoId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for GoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why [`JoinHandle::join`] has no value.
pub enum JoinError {
    /// The goroutine panicked; this is the panic payload.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The goroutine called [`goexit`].
    Exited,
    /// The runtime shut down before the goroutine finished (its stack was unwound).
    Cancelled,
}

impl JoinError {
    /// The panic message, if the goroutine panicked with a string.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(p) => p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(|s| s.as_str())),
            _ => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(_) => match self.panic_message() {
                Some(m) => f.debug_tuple("Panicked").field(&m).finish(),
                None => f.write_str("Panicked(..)"),
            },
            JoinError::Exited => f.write_str("Exited"),
            JoinError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(_) => match self.panic_message() {
                Some(m) => write!(f, "goroutine panicked: {m}"),
                None => f.write_str("goroutine panicked"),
            },
            JoinError::Exited => f.write_str("goroutine called goexit"),
            JoinError::Cancelled => f.write_str("goroutine cancelled: its runtime shut down"),
        }
    }
}

impl std::error::Error for JoinError {}

/// The unwind payload of [`goexit`]; user code that catches it must resume it.
pub(crate) struct GoexitPayload;
/// The unwind payload of cancellation at shutdown.
pub(crate) struct CancelPayload;

/// Unwinds the calling goroutine because its runtime is shutting down.
pub(crate) fn cancel_unwind() -> ! {
    panic::resume_unwind(Box::new(CancelPayload))
}

/// Where a goroutine leaves its result for [`JoinHandle::join`].
///
/// `state`: `PENDING` → `DONE` (stored by the finishing goroutine after writing `result`,
/// Release); the joiner reads `result` only after seeing `DONE` (Acquire), once.
struct JoinSlot<T> {
    state: AtomicU8,
    result: UnsafeCell<Option<Result<T, JoinError>>>,
    waiter: Mutex<Option<Unparker>>,
}

const PENDING: u8 = 0;
const DONE: u8 = 1;

// SAFETY: `result` is written once by the goroutine before DONE and read once by the joiner
// after DONE; `T: Send` crosses threads through it.
unsafe impl<T: Send> Sync for JoinSlot<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for JoinSlot<T> {}

impl<T> JoinSlot<T> {
    fn complete(&self, r: Result<T, JoinError>) {
        // SAFETY: only the finishing goroutine writes, before publishing DONE.
        self.result.with_mut(|x| unsafe { *x = Some(r) });
        self.state.store(DONE, Release);
        if let Some(w) = self.waiter.lock().take() {
            w.unpark();
        }
    }
}

struct GoTask<F, T> {
    f: F,
    slot: Arc<JoinSlot<T>>,
}

impl<F: FnOnce() -> T + Send, T: Send> Task for GoTask<F, T> {
    fn run(self: Box<Self>) {
        let GoTask { f, slot } = *self;
        let r = panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
            if p.is::<GoexitPayload>() {
                JoinError::Exited
            } else if p.is::<CancelPayload>() {
                JoinError::Cancelled
            } else {
                JoinError::Panicked(p)
            }
        });
        slot.complete(r);
    }

    fn cancel(self: Box<Self>, why: JoinError) {
        let GoTask { f, slot } = *self;
        drop(f); // the captures' drops run here
        slot.complete(Err(why));
    }
}

/// Wraps a closure as a task and its join slot.
fn make_task<F, T>(f: F) -> (Box<dyn Task>, Arc<JoinSlot<T>>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new(JoinSlot {
        state: AtomicU8::new(PENDING),
        result: UnsafeCell::new(None),
        waiter: Mutex::new(None),
    });
    (
        Box::new(GoTask {
            f,
            slot: slot.clone(),
        }),
        slot,
    )
}

/// A detached task for runtime-internal goroutines.
pub(crate) fn task_for(f: Box<dyn FnOnce() + Send>) -> Box<dyn Task> {
    make_task(f).0
}

/// An owned permission to join a goroutine. Dropping it detaches the goroutine (Go has no
/// join: the goroutine just runs on).
pub struct JoinHandle<T> {
    slot: Arc<JoinSlot<T>>,
    id: GoId,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the goroutine to finish and returns its value. Parks a goroutine, blocks a
    /// thread.
    pub fn join(self) -> Result<T, JoinError> {
        loop {
            if self.slot.state.load(Acquire) == DONE {
                // SAFETY: DONE was published after the write; `join` consumes the handle, so
                // this is the only read.
                return self
                    .slot
                    .result
                    .with_mut(|x| unsafe { (*x).take() })
                    .expect("result of a finished goroutine");
            }
            *self.slot.waiter.lock() = Some(park::current());
            if self.slot.state.load(Acquire) == DONE {
                continue;
            }
            park::park(WaitReason::Join);
        }
    }

    /// Makes the goroutine's completion unpark `u` (for waiters that also watch other events).
    pub(crate) fn set_waiter(&self, u: Unparker) {
        *self.slot.waiter.lock() = Some(u);
    }

    /// The goroutine's id.
    pub fn id(&self) -> GoId {
        self.id
    }

    /// Whether the goroutine has finished (returned, panicked, exited or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.slot.state.load(Acquire) == DONE
    }
}

/// Spawns `f` on runtime `s` (the internal path of `go` and `Runtime::go`).
pub(crate) fn spawn_on<F, T>(
    s: &Arc<sched::Sched>,
    f: F,
    site: &'static Location<'static>,
    is_main: bool,
) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (task, slot) = make_task(f);
    let parent = sched::current_goid().unwrap_or(0);
    let id = s.newproc(task, site, parent, is_main);
    sched::preempt_check(); // `go` is a preemption point
    JoinHandle { slot, id: GoId(id) }
}

/// Go's `go f()`: runs `f` in a new goroutine and returns a handle to join it.
///
/// Inside a goroutine, it spawns on the current runtime; outside any runtime, on the lazily
/// built default runtime (one P per core, deadlock detection off).
///
/// ```
/// let h = gmp_core::go(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
#[track_caller]
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let site = Location::caller();
    match sched::current_sched() {
        Some(s) => spawn_on(&s, f, site, false),
        None => spawn_on(Runtime::default_sched(), f, site, false),
    }
}

/// Go's `go` statement: `go!(say("world"))` or `go!({ ... })` runs the expression in a new
/// goroutine (its captures are moved in) and returns its [`JoinHandle`].
///
/// ```
/// fn say(s: &str) -> String { s.to_uppercase() }
/// let h = gmp_core::go!(say("world"));
/// assert_eq!(h.join().unwrap(), "WORLD");
/// ```
#[macro_export]
macro_rules! go {
    ($e:expr) => {
        $crate::go(move || $e)
    };
}

/// Go's `runtime.Gosched`: yields the processor; the goroutine stays runnable. On a plain
/// thread it yields the thread.
pub fn gosched() {
    if !sched::gosched() {
        std::thread::yield_now();
    }
}

/// Go's `runtime.Goexit`: ends the calling goroutine after unwinding its stack (drops run in
/// order, as Go's deferred calls do). Its [`JoinHandle::join`] returns
/// [`JoinError::Exited`].
///
/// # Panics
/// When called outside a goroutine.
pub fn goexit() -> ! {
    if current_id().is_none() {
        panic!("gmp: goexit called outside a goroutine");
    }
    panic::resume_unwind(Box::new(GoexitPayload))
}

/// Go's `time.Sleep`: parks the goroutine for at least `d` (a plain thread sleeps). A zero
/// duration returns at once.
pub fn sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let Some(u) = sched::current_unparker() else {
        std::thread::sleep(d);
        return;
    };
    let deadline = crate::loom::now() + d;
    let t = crate::time::Timer::inline(d, move || u.unpark());
    while crate::loom::now() < deadline {
        park::park(WaitReason::Sleep);
    }
    t.stop();
}

/// Runs blocking code without stalling the other goroutines (Go's `entersyscall` /
/// `exitsyscall` around a system call).
///
/// `f` runs on the calling goroutine's M (thread). Its P is left up for grabs: if `f` has not
/// returned after about 20 µs and other goroutines are waiting, the runtime's monitor thread
/// (sysmon) hands the P to another M, starting one if needed, so they keep running. When `f`
/// returns, the goroutine takes a P back (its own if still free) or waits in the run queue
/// for one. A quick `f` costs a few atomic operations.
///
/// Use it around anything that blocks the thread: a blocking system call, file I/O, a C
/// library call, `std::thread::sleep`, a `std::sync` lock that may wait. Inside `f`, gmp's
/// own blocking calls block the thread too (the goroutine has no P to give back), and
/// goroutines it spawns go to the global run queue. Outside a goroutine it just calls `f`.
///
/// ```
/// use std::time::Duration;
/// let rt = gmp_core::Runtime::builder().procs(1).build().unwrap();
/// let n = rt.run(|| {
///     let slow = gmp_core::go(|| gmp_core::syscall(|| std::thread::sleep(Duration::from_millis(50))));
///     // With one P, this goroutine still runs while the other sleeps in the syscall.
///     let quick = gmp_core::go(|| 1 + 1);
///     let n = quick.join().unwrap();
///     slow.join().unwrap();
///     n
/// });
/// assert_eq!(n, 2);
/// ```
pub fn syscall<R>(f: impl FnOnce() -> R) -> R {
    struct Exit(bool);
    impl Drop for Exit {
        fn drop(&mut self) {
            sched::exitsyscall(self.0);
        }
    }
    let _exit = Exit(sched::entersyscall());
    f()
}

/// Go's `runtime.NumGoroutine`: live goroutines of the current runtime (or of the default
/// runtime outside any), main included.
pub fn num_goroutine() -> usize {
    match sched::current_sched() {
        Some(s) => s.ngoroutines.load(Relaxed),
        None => Runtime::default_if_built().map_or(0, |s| s.ngoroutines.load(Relaxed)),
    }
}

/// Go's `runtime.GOMAXPROCS(0)`: the number of Ps of the current (or default) runtime.
pub fn gomaxprocs() -> usize {
    match sched::current_sched() {
        Some(s) => s.gomaxprocs,
        None => Runtime::default_if_built().map_or_else(sched::ncpu, |s| s.gomaxprocs),
    }
}

/// The calling goroutine's id; `None` on a plain thread.
pub fn current_id() -> Option<GoId> {
    sched::current_goid().map(GoId)
}

/// Go's SIGQUIT dump of the current runtime (or the default runtime outside any): one block
/// per goroutine, `goroutine 7 [chan receive]:` and where it was spawned.
pub fn dump() -> String {
    match sched::current_sched() {
        Some(s) => sched::dump(&s),
        None => Runtime::default_if_built().map_or_else(String::new, |s| sched::dump(s)),
    }
}

/// Go's `runtime.LockOSThread`: wires the calling goroutine to its current OS thread. Until
/// the matching [`unlock_os_thread`], the goroutine runs only on this thread and the thread
/// runs no other goroutine (when the goroutine blocks, the thread hands its P to another and
/// waits). Calls nest. For thread-bound state: a `thread_local!`, a GUI or GL context, an FFI
/// library that must be called from one thread. No-op on a plain thread.
///
/// ```
/// gmp_core::run(|| {
///     gmp_core::lock_os_thread();
///     let t = std::thread::current().id();
///     gmp_core::sleep(std::time::Duration::from_millis(1));
///     assert_eq!(std::thread::current().id(), t);
///     gmp_core::unlock_os_thread();
/// });
/// ```
///
/// # Panics
/// "LockOSThread nesting overflow" after 2³² nested calls.
pub fn lock_os_thread() {
    sched::lock_os_thread();
}

/// Go's `runtime.UnlockOSThread`: undoes one [`lock_os_thread`]; the outermost unwires the
/// goroutine. No-op when not locked, or on a plain thread.
pub fn unlock_os_thread() {
    sched::unlock_os_thread();
}
