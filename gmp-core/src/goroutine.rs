//! Goroutines: `go`, `JoinHandle`, and the runtime-package functions (`gosched`, `goexit`,
//! `sleep`, `num_goroutine`, ...).

use crate::loom::atomic::{fence, AtomicU8, AtomicUsize, Ordering::*};
use crate::loom::{Arc, Mutex, UnsafeCell};
use crate::park::{self, Unparker, WaitReason};
use crate::runtime::Runtime;
use crate::sched::{
    self,
    g::{Task, TaskBox},
};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
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
/// `state` is two bits, each set once, by one side:
///
/// | bit           | meaning                                   | set by                        |
/// |---------------|-------------------------------------------|-------------------------------|
/// | `DONE`        | `result` is written (Release after it)    | the goroutine (`complete`)    |
/// | `HANDLE_GONE` | no `JoinHandle` will ever read `result`   | the handle's drop; at spawn for runtime-internal goroutines |
///
/// Whichever side sets its bit second owns what is left in `result`: the goroutine drops it
/// if the handle is gone, the handle's drop takes it if the goroutine is done. Either way a
/// panic nobody joined is *unhandled*, and is reported to the runtime once. `join` takes the
/// result after seeing `DONE` (Acquire).
///
/// `notify` says whom the goroutine's end wakes: the handle's owner, parked in `join` or
/// polling the handle as a future (one at a time: the handle is not `Clone`), and any
/// callbacks registered by [`JoinHandle::on_finish`] (`gmp_chan::done`), which run at the end
/// even if the handle is gone by then.
///
/// 72 bytes for `T = ()` on x86_64 (80 with its reference count, [`SlotRef`]).
struct JoinSlot<T> {
    state: AtomicU8,
    result: UnsafeCell<Option<Result<T, JoinError>>>,
    notify: Mutex<Notify>,
}

/// Who is told when a goroutine ends (under `JoinSlot::notify`).
#[derive(Default)]
struct Notify {
    owner: Option<OwnerWake>,
    /// Boxed: rare, and the slot is part of every goroutine's cost (8 bytes, not a `Vec`'s 24).
    #[allow(clippy::box_collection)]
    on_finish: Option<Box<Vec<Callback>>>,
}

/// A callback registered with [`JoinHandle::on_finish`].
type Callback = Box<dyn FnOnce() + Send>;

/// How the handle's owner waits.
enum OwnerWake {
    Unpark(Unparker),
    Waker(Waker),
}

impl Notify {
    /// Wakes the owner and runs the callbacks (taken out of the lock first, so none runs
    /// under it); a panic in one is contained and returned.
    fn fire(mut taken: Notify) -> Option<String> {
        match taken.owner.take() {
            Some(OwnerWake::Unpark(u)) => u.wake(),
            // An executor's waker is user code: contained like a drop.
            Some(OwnerWake::Waker(w)) => {
                if let Some(msg) = call_contained(move || w.wake()) {
                    return Some(msg);
                }
            }
            None => {}
        }
        let mut first = None;
        for f in taken.on_finish.take().into_iter().flat_map(|v| *v) {
            if let Some(msg) = call_contained(f) {
                first.get_or_insert(msg);
            }
        }
        first
    }
}

/// The size of the join slot of a goroutine returning `T`, with its reference count (the
/// memory accounting test).
pub(crate) fn join_slot_size<T>() -> usize {
    std::mem::size_of::<SlotCell<T>>()
}

impl<T> Drop for JoinSlot<T> {
    fn drop(&mut self) {
        // The result left in it, if any, dropped through the cell (an access loom sees, so
        // `loom_join` checks that the last reference's free comes after the other side's
        // writes: `SlotRef`'s ordering).
        // SAFETY: the slot is being dropped: nobody else can reach it.
        drop(self.result.with_mut(|x| unsafe { (*x).take() }));
    }
}

/// loom models (`tests/loom_join.rs`, through `__private`): a goroutine's join slot shared by
/// its task and its handle ([`SlotRef`]); dropping both references frees the slot once.
pub struct SlotRefProbe(SlotRef<u64>);

impl SlotRefProbe {
    /// The two references of a new slot, as a spawn makes them.
    pub fn pair() -> (SlotRefProbe, SlotRefProbe) {
        let (a, b) = SlotRef::pair(0);
        (SlotRefProbe(a), SlotRefProbe(b))
    }

    /// Writes `v` as the goroutine's result, as `JoinSlot::complete` does first (no state
    /// change).
    pub fn write(&self, v: u64) {
        // SAFETY: the models write from one of the two references only.
        self.0.result.with_mut(|x| unsafe { *x = Some(Ok(v)) });
    }
}

impl fmt::Debug for SlotRefProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlotRefProbe")
    }
}

/// A join slot and its reference count, in one block of the P caches.
struct SlotCell<T> {
    /// References left: the goroutine's task and its handle.
    ///
    /// | value | meaning                                  | moved by                        |
    /// |-------|------------------------------------------|---------------------------------|
    /// | 2     | the task and the handle hold the slot    | spawn (`SlotRef::pair`)         |
    /// | 1     | one of them is done with it              | the first drop (Release)        |
    /// | 0     | freed                                    | the second drop (then Acquire)  |
    refs: AtomicUsize,
    slot: JoinSlot<T>,
}

/// A counted reference to a goroutine's join slot, shared by its task and its
/// [`JoinHandle`]: `Arc<JoinSlot<T>>`'s job, with the memory from the P caches (`sudog.rs`)
/// instead of the allocator, as [`TaskBox`]'s (which says why: the spawner allocates, the
/// goroutine's thread frees). The slot outlives the goroutine's start (its handle waits on
/// it), so its block stays while the goroutine is parked: 80 bytes for `T = ()`, in the
/// 88-byte class, whose block is the 96-byte glibc chunk the `Arc` took.
struct SlotRef<T> {
    cell: std::ptr::NonNull<SlotCell<T>>,
    _owns: std::marker::PhantomData<SlotCell<T>>,
}

// SAFETY: shared access to the slot is through `&JoinSlot<T>`, which is `Sync` for `T: Send`
// (its own protocol); the count is atomic; the last reference drops the slot, which moves a
// `T` between threads, as `Arc<JoinSlot<T>>` did.
unsafe impl<T: Send> Send for SlotRef<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SlotRef<T> {}

// A pointer, as `Arc` is: moving it never moves the slot.
impl<T> Unpin for SlotRef<T> {}

impl<T> SlotRef<T> {
    /// A new slot (its state `state`) and its two references: the task's and the handle's.
    fn pair(state: u8) -> (SlotRef<T>, SlotRef<T>) {
        let layout = std::alloc::Layout::new::<SlotCell<T>>();
        let cell = crate::sched::sudog::alloc_record(layout).cast::<SlotCell<T>>();
        // SAFETY: free memory of the cell's layout, from `alloc_record`.
        unsafe {
            cell.as_ptr().write(SlotCell {
                refs: AtomicUsize::new(2),
                slot: JoinSlot::new(state),
            })
        };
        let r = || SlotRef {
            cell,
            _owns: std::marker::PhantomData,
        };
        (r(), r())
    }
}

impl<T> std::ops::Deref for SlotRef<T> {
    type Target = JoinSlot<T>;
    fn deref(&self) -> &JoinSlot<T> {
        // SAFETY: the cell lives while a reference does (the count).
        unsafe { &self.cell.as_ref().slot }
    }
}

impl<T> Drop for SlotRef<T> {
    fn drop(&mut self) {
        // SAFETY: as in `deref`: this reference still counts.
        let refs = unsafe { &self.cell.as_ref().refs };
        // Release: this side's uses of the slot come before the other side's free (Arc's
        // protocol).
        if refs.fetch_sub(1, Release) != 1 {
            return;
        }
        // Acquire: the other side's uses (its Release decrement) come before the free.
        fence(Acquire);
        // SAFETY: the last reference: nobody else uses the cell; dropped once, then its block
        // (from `alloc_record` for this layout) is given back.
        unsafe {
            std::ptr::drop_in_place(self.cell.as_ptr());
            crate::sched::sudog::free_record(
                self.cell.cast(),
                std::alloc::Layout::new::<SlotCell<T>>(),
            );
        }
    }
}

const DONE: u8 = 1;
const HANDLE_GONE: u8 = 2;

// SAFETY: `result` is written once by the goroutine before DONE, and then read once by the
// side that owns it (see the table); `T: Send` crosses threads through it.
unsafe impl<T: Send> Sync for JoinSlot<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for JoinSlot<T> {}

impl<T> JoinSlot<T> {
    fn new(state: u8) -> Self {
        JoinSlot {
            state: AtomicU8::new(state),
            result: UnsafeCell::new(None),
            notify: Mutex::new(Notify::default()),
        }
    }

    /// The goroutine's last act: publishes its result for the handle, or, when the handle is
    /// gone, drops it (a panic nobody will join is reported to `s` as unhandled, and so is a
    /// panic in that drop).
    fn complete(&self, r: Result<T, JoinError>, s: &Arc<sched::Sched>, goid: u64) {
        // SAFETY: only the finishing goroutine writes, before publishing DONE.
        self.result.with_mut(|x| unsafe { *x = Some(r) });
        let prev = self.state.fetch_or(DONE, AcqRel);
        if prev & HANDLE_GONE != 0 {
            // SAFETY: the handle is gone and set its bit first: the result is ours alone.
            let r = self.result.with_mut(|x| unsafe { (*x).take() });
            if let Some(Err(JoinError::Panicked(p))) = &r {
                s.unhandled_panic(goid, payload_message(&**p));
            }
            // The result's (or the payload's) drop is user code, run here by the runtime.
            if let Some(msg) = drop_contained(r) {
                s.unhandled_panic(goid, msg);
            }
        }
        // DONE is set: whoever registers from now on sees it and does not wait.
        let taken = std::mem::take(&mut *self.notify.lock());
        if let Some(msg) = Notify::fire(taken) {
            s.unhandled_panic(goid, msg);
        }
    }

    /// Registers the handle's owner to be woken at the end. Returns `false` (registering
    /// nothing) when the goroutine has finished already.
    fn wait_with(&self, w: OwnerWake) -> bool {
        let mut n = self.notify.lock();
        if self.state.load(Acquire) & DONE != 0 {
            return false;
        }
        n.owner = Some(w);
        true
    }

    /// The result, once, if the goroutine is done and nobody took it.
    fn take_result(&self) -> Option<Result<T, JoinError>> {
        // SAFETY: called after DONE was seen (Acquire), by the handle's owner, which is the
        // only reader once DONE is set and the handle is alive.
        self.result.with_mut(|x| unsafe { (*x).take() })
    }
}

/// How a goroutine whose body unwound with payload `p` ended.
pub(crate) fn join_error(p: Box<dyn Any + Send>) -> JoinError {
    if p.is::<GoexitPayload>() {
        JoinError::Exited
    } else if p.is::<CancelPayload>() {
        JoinError::Cancelled
    } else {
        JoinError::Panicked(p)
    }
}

/// The message of a panic payload, as std's hook prints it.
pub(crate) fn payload_message(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".to_string())
}

/// Drops `v`, which holds user values, where the runtime runs the drop (on an M, or a thread
/// shutting a runtime down): a panic in it is caught, as a goroutine's panic is, so that no
/// thread of the runtime dies of user code (the panic hook has printed it already). Returns
/// the panic's message. A payload whose own drop panics is forgotten, not dropped again.
pub(crate) fn drop_contained<V>(v: V) -> Option<String> {
    call_contained(move || drop(v))
}

/// Calls `f`, user code the runtime runs for someone else (a drop, a waker, a callback), as
/// [`drop_contained`] drops: a panic is caught and its message returned.
pub(crate) fn call_contained(f: impl FnOnce()) -> Option<String> {
    let p = panic::catch_unwind(AssertUnwindSafe(f)).err()?;
    let msg = payload_message(&*p);
    if let Err(p2) = panic::catch_unwind(AssertUnwindSafe(move || drop(p))) {
        std::mem::forget(p2);
    }
    Some(msg)
}

struct GoTask<F, T> {
    f: F,
    slot: SlotRef<T>,
}

impl<F: FnOnce() -> T + Send + 'static, T: Send + 'static> Task for GoTask<F, T> {
    fn run(self, s: &Arc<sched::Sched>, goid: u64) {
        let GoTask { f, slot } = self;
        let r = panic::catch_unwind(AssertUnwindSafe(f)).map_err(join_error);
        slot.complete(r, s, goid);
    }

    fn cancel(self, why: JoinError, s: &Arc<sched::Sched>, goid: u64) {
        let GoTask { f, slot } = self;
        // The captures' drops run here, wherever the runtime cancels the goroutine.
        if let Some(msg) = drop_contained(f) {
            s.unhandled_panic(goid, msg);
        }
        slot.complete(Err(why), s, goid);
    }
}

/// Wraps a closure as a task and its join slot (whose state starts as `state`).
fn make_task<F, T>(f: F, state: u8) -> (TaskBox, SlotRef<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (mine, handle) = SlotRef::pair(state);
    (TaskBox::new(GoTask { f, slot: mine }), handle)
}

/// A detached task for runtime-internal goroutines.
pub(crate) fn task_for(f: Box<dyn FnOnce() + Send>) -> TaskBox {
    make_task(f, HANDLE_GONE).0
}

/// An owned permission to join a goroutine. Dropping it detaches the goroutine (Go has no
/// join: the goroutine just runs on).
pub struct JoinHandle<T> {
    slot: SlotRef<T>,
    id: GoId,
    /// The runtime the goroutine runs on (`Sched::id`), to report a panic nobody joined.
    runtime: u64,
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
            if self.is_finished() {
                // `join` consumes the handle: this is the one read.
                return self.slot.take_result().expect(
                    "JoinHandle::join: the result was already taken by polling the handle",
                );
            }
            if self.slot.wait_with(OwnerWake::Unpark(park::current())) {
                // Only the goroutine's end wakes this park: a join of a leaked goroutine is
                // leaked too (`sched/leak.rs`).
                let end = park::WaitsOn::end(self.runtime, self.id.0);
                park::waiting_on(&[end], || park::park(WaitReason::Join));
            }
        }
    }

    /// Makes the goroutine's completion unpark `u` (for waiters that also watch other events).
    pub(crate) fn set_waiter(&self, u: Unparker) {
        if !self.slot.wait_with(OwnerWake::Unpark(u.clone())) {
            u.wake();
        }
    }

    /// Runs `f` once the goroutine has ended (returned, panicked, exited or been cancelled),
    /// on the thread that ends it, or at once on the caller's if it has ended already; it
    /// runs even if this handle is dropped first. `f` must not block: it runs where the
    /// runtime finishes the goroutine (a panic in it is caught and reported as the
    /// goroutine's). This is what `gmp_chan::done(&handle)` is built on.
    pub fn on_finish(&self, f: impl FnOnce() + Send + 'static) {
        let mut n = self.slot.notify.lock();
        if self.is_finished() {
            drop(n);
            f();
            return;
        }
        n.on_finish
            .get_or_insert_with(Default::default)
            .push(Box::new(f));
    }

    /// The goroutine's id.
    pub fn id(&self) -> GoId {
        self.id
    }

    /// Whether the goroutine has finished (returned, panicked, exited or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.slot.state.load(Acquire) & DONE != 0
    }
}

/// A `JoinHandle` is a future of the goroutine's result, so async code can await a
/// goroutine: `let v = handle.await?;`. Polling registers the task's waker, which the
/// goroutine's end wakes (no thread blocks). Once it has returned `Ready`, the handle is
/// spent: polling it again, or calling [`join`](JoinHandle::join), panics.
impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.is_finished() || !this.slot.wait_with(OwnerWake::Waker(cx.waker().clone())) {
            return Poll::Ready(
                this.slot
                    .take_result()
                    .expect("JoinHandle polled again after it returned Ready"),
            );
        }
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    /// Detaches the goroutine (Go semantics). If it has finished with a panic nobody joined,
    /// that panic is unhandled: it is reported to its runtime (which, under
    /// [`UnhandledPanic::ShutdownRuntime`](crate::UnhandledPanic), shuts down).
    fn drop(&mut self) {
        let prev = self.slot.state.fetch_or(HANDLE_GONE, AcqRel);
        if prev & DONE == 0 {
            return; // the goroutine will drop its result itself
        }
        let r = self.slot.take_result(); // `None` after `join`
        if let Some(Err(JoinError::Panicked(p))) = &r {
            if let Some(s) = sched::runtime_by_id(self.runtime) {
                s.unhandled_panic(self.id.0, payload_message(&**p));
            }
        }
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
    let (task, slot) = make_task(f, 0);
    let parent = sched::current_goid().unwrap_or(0);
    let id = s.newproc(task, site, parent, is_main);
    sched::preempt_check(); // `go` is a preemption point
    JoinHandle {
        slot,
        id: GoId(id),
        runtime: s.id,
    }
}

/// Go's `go f()`: runs `f` in a new goroutine and returns a handle to join it.
///
/// Inside a goroutine, it spawns on the current runtime; outside any runtime, on the lazily
/// built default runtime (one P per core, never shut down). The default runtime has **no
/// deadlock detector**: plain threads may wake its goroutines (through a channel, a lock),
/// and the detector cannot see them, so it could not tell a deadlock from a wait. A goroutine
/// blocked for ever there just waits, silently. Run the program as
/// [`run`](crate::run)`(|| ...)` to get Go's `all goroutines are asleep - deadlock!` report.
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

/// Go's `go` statement: runs a call (or a block) in a new goroutine and returns its
/// [`JoinHandle`].
///
/// As in Go ("the function value and parameters are evaluated as usual in the calling
/// goroutine"), `go!(f(a, b))` and `go!(recv.method(a, b))` evaluate the arguments, and the
/// receiver, **here**, in the caller; only the call runs in the new goroutine. So a loop can
/// hand each goroutine what it needs without moving the things it came from:
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
/// use std::sync::Arc;
///
/// fn worker(id: u32, total: Arc<AtomicU32>) {
///     total.fetch_add(id, SeqCst);
/// }
///
/// let total = Arc::new(AtomicU32::new(0));
/// // Go: for w := 1; w <= 3; w++ { go worker(w, total) }. `total.clone()` runs here, so
/// // `total` itself stays usable (a closure would have moved it on the first turn).
/// let hs: Vec<_> = (1..=3).map(|w| gmp_core::go!(worker(w, total.clone()))).collect();
/// for h in hs {
///     h.join().unwrap();
/// }
/// assert_eq!(total.load(SeqCst), 6);
/// ```
///
/// The receiver of `recv.method(..)` is everything before the last `.method(..)`; it is
/// evaluated in the caller when it is a single token (a variable, a parenthesized expression)
/// or ends in a call (`pool.get().run(x)`). A place such as `v[0]` or `a.b` stays in the
/// goroutine (moving what it names, as a closure would), since moving it out would not
/// compile. `go!({ ... })` runs a block, moving its captures; any other expression runs in
/// the goroutine as written.
///
/// ```
/// fn say(s: &str) -> String { s.to_uppercase() }
/// let h = gmp_core::go!(say("world"));
/// assert_eq!(h.join().unwrap(), "WORLD");
/// let msg = String::from("moved");
/// let h = gmp_core::go!({ msg.len() });
/// assert_eq!(h.join().unwrap(), 5);
/// ```
#[macro_export]
macro_rules! go {
    // A block: runs in the goroutine, moving what it captures.
    ({ $($body:tt)* }) => {
        $crate::go(move || { $($body)* })
    };
    // A call of a function (a path): its arguments are evaluated here.
    ($($f:ident)::+ ( $($arg:expr),* $(,)? )) => {
        $crate::__go_call!([$($f)::+] [] $($arg,)*)
    };
    // Anything else: a method call `recv.method(args)` is split off its receiver.
    ($($t:tt)+) => {
        $crate::__go_method!([] none $($t)+)
    };
}

/// `go!`'s call: binds each argument in the caller (one hygienic `arg` per recursion), then
/// spawns `f(arg, ...)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __go_call {
    ([$($f:tt)*] [$($a:ident)*]) => {
        $crate::go(move || $($f)*($($a),*))
    };
    ([$($f:tt)*] [$($a:ident)*] $head:expr, $($rest:expr,)*) => {{
        let arg = $head;
        $crate::__go_call!([$($f)*] [$($a)* arg] $($rest,)*)
    }};
}

/// `go!`'s method call: moves tokens into the receiver until only `.method(args)` is left,
/// tracking what the receiver is so far: `none`, `one` token, ending in a `call`, or
/// `other` (a place: a field or an index).
#[doc(hidden)]
#[macro_export]
macro_rules! __go_method {
    // A value receiver (one token, or ending in a call): evaluated here.
    ([$($r:tt)+] one . $m:ident ( $($arg:expr),* $(,)? )) => {{
        #[allow(unused_parens)] // `go!((new_thing()).method())`, Go's `go (new(T)).m()`
        let recv = $($r)+;
        $crate::__go_call!([recv . $m] [] $($arg,)*)
    }};
    ([$($r:tt)+] call . $m:ident ( $($arg:expr),* $(,)? )) => {{
        let recv = $($r)+;
        $crate::__go_call!([recv . $m] [] $($arg,)*)
    }};
    // A place receiver: stays in the goroutine; the arguments are still evaluated here.
    ([$($r:tt)+] other . $m:ident ( $($arg:expr),* $(,)? )) => {
        $crate::__go_call!([$($r)+ . $m] [] $($arg,)*)
    };
    ([] none $next:tt $($rest:tt)*) => {
        $crate::__go_method!([$next] one $($rest)*)
    };
    ([$($r:tt)+] $k:ident ( $($g:tt)* ) $($rest:tt)*) => {
        $crate::__go_method!([$($r)+ ( $($g)* )] call $($rest)*)
    };
    ([$($r:tt)+] $k:ident $next:tt $($rest:tt)*) => {
        $crate::__go_method!([$($r)+ $next] other $($rest)*)
    };
    // No method call at the end: the expression runs in the goroutine as written.
    ([$($e:tt)*] $k:ident) => {
        $crate::go(move || $($e)*)
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
#[track_caller]
pub fn goexit() -> ! {
    if current_id().is_none() {
        panic!("gmp: goexit called outside a goroutine");
    }
    panic::resume_unwind(Box::new(GoexitPayload))
}

/// Go's `time.Sleep`: parks the goroutine for at least `d` (a plain thread sleeps). A zero
/// duration returns at once; one too large for an `Instant` sleeps for ever (until the
/// runtime cancels the goroutine).
pub fn sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    if !sched::timers::time_sleep(d) {
        std::thread::sleep(d);
    }
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

/// Go's SIGQUIT traceback of the current runtime (or the default runtime outside any): one
/// block per goroutine, its state, its stack innermost first, and where it was spawned:
///
/// ```text
/// goroutine 7 [chan receive]:
/// gmp_chan::handles::Chan<T>::recv(...)
/// myapp::worker
///     src/main.rs:31
/// myapp::main::{{closure}}
///     src/main.rs:12
/// created by src/main.rs:12:5 in goroutine 1
/// ```
///
/// The first line of a stack is the gmp call the goroutine waits in; gmp's and std's own
/// frames are folded. A parked goroutine is walked without being woken (see `sched/dump.rs`);
/// a runnable one, or one running on another thread, shows no stack (a snapshot). Function
/// names carry their module path with full debug info; gmp's release profile keeps line
/// tables only, which name functions without it. [`Builder::dump_on_sigquit`](crate::Builder::dump_on_sigquit)
/// prints this on SIGQUIT.
pub fn dump() -> String {
    match sched::current_sched() {
        Some(s) => sched::dump(&s),
        None => Runtime::default_if_built().map_or_else(String::new, |s| sched::dump(s)),
    }
}

/// Go 1.27's goroutine-leak profile (`/debug/pprof/goroutineleak`): the goroutines of the
/// caller's runtime (or of the default runtime, from a plain thread) that are parked on a gmp
/// channel, `WaitGroup` or `JoinHandle` and that nothing can ever wake, in [`dump`]'s format
/// with `(leaked)` after the wait reason; empty if there are none.
///
/// ```text
/// goroutine 9 [chan send (leaked)]:
/// gmp_chan::handles::Chan<T>::send(...)
/// tour::leaky::first::{{closure}}
///     gmp-examples/src/tour/leaky.rs:24
/// created by gmp-examples/src/tour/leaky.rs:22:9 in goroutine 1
/// ```
///
/// A goroutine is leaked when every handle of what it waits on (every `Chan`, `Sender` or
/// `Receiver` of its channel, or of each channel of its `select`; every clone of its
/// `WaitGroup`) is one that a leaked goroutine waits through, from its own stack; or when it
/// joins a leaked goroutine. Then no handle exists anywhere else and none can be made, so
/// nothing can ever send, receive, close or call `done`. This is the ownership version of Go's
/// GC-based check, and it is **never wrong**: a goroutine that could still be woken is never
/// reported. Goroutines blocked on a `Mutex`, `RwLock`, `Cond` or `Semaphore` are never
/// reported: those have no handles (they live in an `Arc` or a static anybody may reach); nor
/// are timed waits, `sleep`, I/O or `block_on`.
///
/// It can miss leaks (the limits, in `sched/leak.rs`):
/// - handles that are merely held, not waited through, are not seen: a leaked goroutine that
///   keeps the only other handle of a channel keeps that channel's waiters from being reported
///   (the check is transitive only through handles goroutines wait through, and through joins);
/// - handles kept on the heap (in a `Vec`, a `Box`, an `Arc`), in a static or in a
///   thread-local count as reachable;
/// - a goroutine inside a [`scope`](crate::scope) may have lent its handles to the scope's
///   goroutines, so it is not reported, nor is one that waits through a borrowed handle.
///
/// The check freezes the goroutines it looks at (the way [`dump`] does, without waking or
/// running them) and reads one count per object: no stop-the-world. [`run`](crate::run) prints
/// the report on stderr when it returns, and a [`Runtime`] when it is dropped, if not empty
/// ([`Builder::leak_report`](crate::Builder::leak_report)).
pub fn leaked() -> String {
    match sched::current_sched() {
        Some(s) => sched::leaked(&s, usize::MAX).1,
        None => {
            Runtime::default_if_built().map_or_else(String::new, |s| sched::leaked(s, usize::MAX).1)
        }
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
