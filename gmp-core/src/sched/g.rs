//! The G: a goroutine's state word, entry task, coroutine, and the unparker that wakes it
//! (Go: `g`, `goready`, `casgstatus`).
//!
//! # Who may touch what
//!
//! - The state word ([`G::state`], table there) is the one thing every thread may touch, only
//!   by the transitions its table allows. The functions at the end of this file are those
//!   transitions, free functions on a bare `AtomicU64` so that the loom models
//!   (`tests/loom_gstate.rs`) check exactly the code the scheduler runs.
//! - The `UnsafeCell` fields belong to the G's current owner: whoever took it off a free list
//!   until it is published RUNNABLE, then the M that moved it to RUNNING, until that M
//!   publishes it again (`schedule.rs`). Ownership passes through Release/Acquire on `state`
//!   and the run queues.
//! - An [`GoUnparker`] carries the goroutine id it was made for: a G is reused, and an unpark
//!   meant for an earlier goroutine on it does nothing.

use super::co::{Co, Yielder};
use super::Sched;
use crate::loom::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::*};
use crate::loom::{Arc, Mutex, UnsafeCell};
use crate::park::thread::ThreadParker;
use crate::reason::WaitReason;
use std::alloc::Layout;
use std::fmt;
use std::panic::Location;
use std::ptr::NonNull;

/// What a goroutine runs: its closure plus the join slot it reports to.
pub(crate) trait Task: Send + Sized + 'static {
    /// Runs the body of goroutine `goid` of `s` to completion. Nothing escapes: its panics,
    /// and those of the drops the runtime runs for it, are caught and reported to `s`.
    fn run(self, s: &Arc<Sched>, goid: u64);
    /// The goroutine never started: drop the closure (contained, as above) and report `why`.
    fn cancel(self, why: crate::JoinError, s: &Arc<Sched>, goid: u64);
}

/// A [`Task`] of any type, in memory from the P's record caches (`sudog.rs`) rather than the
/// allocator's: like a `Box<dyn Task>`, with its own table of the three operations.
///
/// Why not a `Box`: a spawning goroutine allocates the task and the goroutine frees it when
/// it starts, most often on another thread; glibc's thread caches then never hold what the
/// spawner needs, and spawn_join spent a quarter of its time in `_int_malloc` (profile in the
/// README). The P caches move such blocks between Ps through their central list, as Go's
/// `gfget`/`gfput` do for Gs. A task is moved out of its block before its body runs, so a
/// parked goroutine holds no task memory.
pub(crate) struct TaskBox {
    ptr: NonNull<u8>,
    vt: &'static TaskVt,
}

/// A task type's operations on its block.
struct TaskVt {
    /// Moves the task out, frees the block, runs the task.
    run: unsafe fn(NonNull<u8>, &Arc<Sched>, u64),
    /// Moves the task out, frees the block, cancels the task.
    cancel: unsafe fn(NonNull<u8>, crate::JoinError, &Arc<Sched>, u64),
    /// Drops the task in place and frees the block.
    drop: unsafe fn(NonNull<u8>),
}

/// The [`TaskVt`] of `T` (a constant, so `&VtOf::<T>::VT` is `'static`).
struct VtOf<T>(std::marker::PhantomData<T>);

impl<T: Task> VtOf<T> {
    const VT: TaskVt = TaskVt {
        run: Self::run,
        cancel: Self::cancel,
        drop: Self::drop,
    };

    /// # Safety
    /// `p` is a [`TaskBox`]'s block holding a `T`, which is not used again.
    unsafe fn take(p: NonNull<u8>) -> T {
        // SAFETY: the caller's contract: a `T` is there, read once.
        let t = unsafe { p.cast::<T>().as_ptr().read() };
        // SAFETY: moved out just above; the block came from `alloc_record` for `T`'s layout.
        unsafe { super::sudog::free_record(p, Layout::new::<T>()) };
        t
    }

    /// # Safety
    /// As [`take`](Self::take).
    unsafe fn run(p: NonNull<u8>, s: &Arc<Sched>, goid: u64) {
        // SAFETY: the caller's contract.
        unsafe { Self::take(p) }.run(s, goid)
    }

    /// # Safety
    /// As [`take`](Self::take).
    unsafe fn cancel(p: NonNull<u8>, why: crate::JoinError, s: &Arc<Sched>, goid: u64) {
        // SAFETY: the caller's contract.
        unsafe { Self::take(p) }.cancel(why, s, goid)
    }

    /// # Safety
    /// As [`take`](Self::take).
    unsafe fn drop(p: NonNull<u8>) {
        // SAFETY: the caller's contract.
        drop(unsafe { Self::take(p) })
    }
}

impl TaskBox {
    /// Moves `t` into a block from the caller's P's cache (or the allocator).
    pub(crate) fn new<T: Task>(t: T) -> TaskBox {
        let ptr = super::sudog::alloc_record(Layout::new::<T>());
        // SAFETY: `alloc_record` gave free memory of `T`'s layout (dangling and aligned for
        // a zero-sized `T`, which the write does not touch).
        unsafe { ptr.cast::<T>().as_ptr().write(t) };
        TaskBox {
            ptr,
            vt: &VtOf::<T>::VT,
        }
    }

    /// [`Task::run`].
    pub(crate) fn run(self, s: &Arc<Sched>, goid: u64) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the block holds the task `vt` was made for; `this` is not dropped, so the
        // task is used this once.
        unsafe { (this.vt.run)(this.ptr, s, goid) }
    }

    /// [`Task::cancel`].
    pub(crate) fn cancel(self, why: crate::JoinError, s: &Arc<Sched>, goid: u64) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: as in `run`.
        unsafe { (this.vt.cancel)(this.ptr, why, s, goid) }
    }
}

impl Drop for TaskBox {
    fn drop(&mut self) {
        // SAFETY: the block holds the task `vt` was made for, dropped this once.
        unsafe { (self.vt.drop)(self.ptr) }
    }
}

// SAFETY: a `TaskBox` owns its task as a `Box<T>` would, and every `T: Task` is `Send`.
unsafe impl Send for TaskBox {}

/// Goroutine status, the low bits of `G::state`: free or finished (Go: `_Gdead`).
pub const DEAD: u64 = 0;
/// In a run queue (Go: `_Grunnable`).
pub const RUNNABLE: u64 = 1;
/// On an M (Go: `_Grunning`).
pub const RUNNING: u64 = 2;
/// Parked (Go: `_Gwaiting`).
pub const WAITING: u64 = 3;
/// In `syscall(f)` (Go: `_Gsyscall`).
pub const SYSCALL: u64 = 4;
/// The status bits.
pub const STATUS_MASK: u64 = 0b111;
/// A park permit is pending (an unpark came while the goroutine was not parked).
pub const NOTIFIED: u64 = 1 << 3;
/// The goroutine parked while unwinding, so it blocks its M's thread instead of switching
/// (std's panic count is thread-local): `unpark` must also wake `thread_parker`.
pub const BLOCKING: u64 = 1 << 4;
/// The goroutine's stack is being copied out by sysmon's sweep (`copyout.rs`).
pub const STACK_COPYING: u64 = 1 << 5;
/// The goroutine's stack is copied out: its M restores it before resuming it (`copyout.rs`).
pub const STACK_OUT: u64 = 1 << 6;
const GOID_SHIFT: u32 = 8;

/// The goroutine id in a state word.
pub fn goid_of(w: u64) -> u64 {
    w >> GOID_SHIFT
}

/// A goroutine. Reused after it dies (Go's `gfput`/`gfget`), keeping its coroutine and stack.
///
/// 272 bytes on x86_64 (288 with its `Arc` counts), the largest part of a parked goroutine's
/// heap cost after its stack copy (see the table in `stack/mod.rs`): grow it on purpose only.
/// (The leak check's `waits_on` took it from 264.)
pub(crate) struct G {
    /// The state word: `goid << 8 | STACK_OUT | STACK_COPYING | BLOCKING | NOTIFIED | status`
    /// (the two stack bits are the copy-out protocol's, see `copyout.rs`; every transition
    /// below keeps them).
    ///
    /// | status     | meaning                                  | who moves it out                    |
    /// |------------|------------------------------------------|-------------------------------------|
    /// | `DEAD`     | free (or never used); goid is the last   | `newproc` (owner of the free G)      |
    /// | `RUNNABLE` | in a run queue, or being handed to an M   | the M that dequeued it → `RUNNING`   |
    /// | `RUNNING`  | executing on an M (or committing a park)  | that M → `WAITING`/`RUNNABLE`/`DEAD` |
    /// | `WAITING`  | parked; only an unpark can move it        | `unpark` (CAS, goid must match) or the shutdown sweep → `RUNNABLE` |
    /// | `SYSCALL`  | inside `syscall(f)` on its M             | that M → `RUNNING`                  |
    ///
    /// `NOTIFIED` may be set by any unparker while the status is not `WAITING`; it is cleared
    /// only by the goroutine's own park (consuming the permit). Unparkers carry the goid they
    /// were made for, so an unpark aimed at an earlier goroutine on this reused G is ignored.
    pub(crate) state: AtomicU64,
    pub(crate) sched: Arc<Sched>,
    /// The entry task, until the goroutine starts. Owned by whoever owns the G.
    pub(crate) task: UnsafeCell<Option<TaskBox>>,
    /// The coroutine (with its stack) the goroutine runs on, from its first run until it
    /// finishes; then it goes to the P's coroutine cache for the next goroutine.
    pub(crate) co: UnsafeCell<Option<Co>>,
    /// The coroutine's yielder while the goroutine runs on it.
    pub(crate) yielder: UnsafeCell<*const Yielder>,
    /// Packed `WaitReason` (see `reason_code`): written by the goroutine before it parks,
    /// read by `dump`.
    pub(crate) wait_code: AtomicU8,
    pub(crate) wait_other: AtomicU64,
    /// Nanoseconds since the runtime's epoch when it last parked (Go: `waitsince`).
    pub(crate) wait_since: AtomicU64,
    /// What its blocking operation waits on, for the leak check (`leak.rs`): the address of
    /// the list that `park::waiting_on` keeps in its frame, 0 outside one. Written by the
    /// goroutine only, while it runs; read by a check that froze it.
    pub(crate) waits_on: crate::loom::atomic::AtomicUsize,
    /// Where `go` was called, and by which goroutine (0: not from a goroutine).
    pub(crate) spawn_site: crate::loom::atomic::AtomicPtr<Location<'static>>,
    pub(crate) parent: AtomicU64,
    /// Set by runtime shutdown: unwind at the next scheduling point.
    pub(crate) cancel: AtomicBool,
    /// Operations left before `checkpoint` forces a yield (owner only).
    pub(crate) budget: UnsafeCell<u32>,
    /// The main goroutine of `run`.
    pub(crate) is_main: AtomicBool,
    /// `lock_os_thread` nesting count (owner only).
    pub(crate) locked: UnsafeCell<u32>,
    /// The M this goroutine is locked to (Go: `g.lockedm`); owner only.
    pub(crate) lockedm: UnsafeCell<Option<Arc<super::m::MShared>>>,
    /// Where a `BLOCKING` goroutine's M sleeps.
    pub(crate) thread_parker: Mutex<Option<Arc<ThreadParker>>>,
    /// This G's index in `Sched::allgs`, so releasing it is O(1); written only under the
    /// `allgs` lock.
    pub(crate) allg_index: crate::loom::atomic::AtomicUsize,
    /// Its stack as the copy-out protocol sees it (`copyout.rs`).
    pub(crate) pstack: super::copyout::ParkedStack,
    /// The generation of the goroutine's own timer (`timers.rs`: `sleep`, timed parks): a
    /// heap entry fires only if its seq is still this. Written by the goroutine only.
    pub(crate) timer_seq: AtomicU64,
    /// When that timer fires, in whole milliseconds since the runtime's epoch, rounded up and
    /// saturated (0: no timer armed). Written by the goroutine; read by copy-out, which leaves
    /// a goroutine alone when its own timer is about to wake it (`copyout.rs`). Fits in the
    /// padding after the byte-sized fields: the G does not grow.
    pub(crate) timer_due_ms: crate::loom::atomic::AtomicU32,
}

// SAFETY: the `UnsafeCell` fields are touched only by the goroutine's current owner: the
// spawner before the G is published RUNNABLE, then the M that moved it to RUNNING. Ownership
// passes through Release/Acquire operations on `state` and the run queues.
unsafe impl Send for G {}
// SAFETY: as above; shared access from other threads goes through atomics or `Mutex`.
unsafe impl Sync for G {}

impl fmt::Debug for G {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.state.load(Relaxed);
        f.debug_struct("G")
            .field("goid", &goid_of(w))
            .field("status", &(w & STATUS_MASK))
            .finish()
    }
}

/// Same as tokio's coop budget and Go's 61-tick fairness spirit: how many operations that did
/// not block a goroutine may complete before `checkpoint` makes it yield.
pub(crate) const BUDGET: u32 = 128;

impl G {
    pub(crate) fn new(sched: Arc<Sched>) -> G {
        G {
            state: AtomicU64::new(DEAD),
            sched,
            task: UnsafeCell::new(None),
            co: UnsafeCell::new(None),
            yielder: UnsafeCell::new(std::ptr::null()),
            wait_code: AtomicU8::new(0),
            wait_other: AtomicU64::new(0),
            wait_since: AtomicU64::new(0),
            waits_on: crate::loom::atomic::AtomicUsize::new(0),
            spawn_site: crate::loom::atomic::AtomicPtr::new(std::ptr::null_mut()),
            parent: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            budget: UnsafeCell::new(BUDGET),
            is_main: AtomicBool::new(false),
            locked: UnsafeCell::new(0),
            lockedm: UnsafeCell::new(None),
            thread_parker: Mutex::new(None),
            allg_index: crate::loom::atomic::AtomicUsize::new(usize::MAX),
            pstack: super::copyout::ParkedStack::default(),
            timer_seq: AtomicU64::new(0),
            timer_due_ms: crate::loom::atomic::AtomicU32::new(0),
        }
    }

    pub(crate) fn goid(&self) -> u64 {
        goid_of(self.state.load(Relaxed))
    }

    pub(crate) fn status(&self) -> u64 {
        self.state.load(Acquire) & STATUS_MASK
    }

    pub(crate) fn set_wait_reason(&self, r: WaitReason) {
        if let WaitReason::Other(s) = r {
            self.wait_other.store(pack_str(s), Relaxed);
        }
        self.wait_code.store(reason_code(r), Release);
    }

    pub(crate) fn wait_reason(&self) -> WaitReason {
        let code = self.wait_code.load(Acquire);
        if code == OTHER_CODE {
            return WaitReason::Other(unpack_str(self.wait_other.load(Relaxed)));
        }
        REASONS
            .get(code as usize)
            .copied()
            .unwrap_or(WaitReason::Park)
    }

    /// The wait reason as one word, as a trace records it: the code (below 256) of a built-in
    /// reason, the packed string of an `Other` (an address shifted left by 16: at least 2^16).
    /// Cheaper than `wait_reason` for a hook that only stores it.
    pub(crate) fn wait_word(&self) -> u64 {
        let code = self.wait_code.load(Acquire);
        if code == OTHER_CODE {
            self.wait_other.load(Relaxed)
        } else {
            code as u64
        }
    }

    /// Consumes a pending permit, if any (the goroutine's own park fast path).
    pub(crate) fn take_permit(&self) -> bool {
        let w = self.state.load(Acquire);
        w & NOTIFIED != 0
            && self
                .state
                .compare_exchange(w, w & !NOTIFIED, AcqRel, Acquire)
                .is_ok()
    }

    pub(crate) fn spawn_site(&self) -> Option<&'static Location<'static>> {
        let p = self.spawn_site.load(Relaxed);
        // SAFETY: only ever set from `&'static Location` references.
        unsafe { p.as_ref() }
    }
}

/// Known reasons by code; `Other` is `OTHER_CODE` plus a packed `&'static str`.
const REASONS: [WaitReason; 18] = [
    WaitReason::Park,
    WaitReason::ChanReceive,
    WaitReason::ChanSend,
    WaitReason::ChanReceiveNilChan,
    WaitReason::ChanSendNilChan,
    WaitReason::Select,
    WaitReason::SelectNoCases,
    WaitReason::SyncMutexLock,
    WaitReason::SyncRWMutexRLock,
    WaitReason::SyncRWMutexLock,
    WaitReason::SyncWaitGroupWait,
    WaitReason::SyncCondWait,
    WaitReason::SemAcquire,
    WaitReason::Sleep,
    WaitReason::IoWait,
    WaitReason::Join,
    WaitReason::SyncOnce,
    WaitReason::BlockOn,
];
const OTHER_CODE: u8 = 255;

fn reason_code(r: WaitReason) -> u8 {
    if let WaitReason::Other(_) = r {
        return OTHER_CODE;
    }
    REASONS.iter().position(|x| *x == r).map_or(0, |i| i as u8)
}

/// The reason a [`G::wait_word`] names.
pub(crate) fn reason_of_word(w: u64) -> WaitReason {
    if w < 256 {
        REASONS.get(w as usize).copied().unwrap_or(WaitReason::Park)
    } else {
        WaitReason::Other(unpack_str(w))
    }
}

/// The [`G::wait_word`] of `r`.
#[cfg(test)]
pub(crate) fn word_of_reason(r: WaitReason) -> u64 {
    match r {
        WaitReason::Other(s) => pack_str(s),
        r => reason_code(r) as u64,
    }
}

/// Packs a `&'static str` into one word (48-bit address, 16-bit length) so `dump` can read it
/// without tearing; longer strings are cut at 65535 bytes (on a char boundary).
fn pack_str(s: &'static str) -> u64 {
    let mut len = s.len().min(0xffff);
    while !s.is_char_boundary(len) {
        len -= 1;
    }
    debug_assert!((s.as_ptr() as u64) >> 48 == 0);
    ((s.as_ptr() as u64) << 16) | len as u64
}

fn unpack_str(w: u64) -> &'static str {
    if w == 0 {
        return "";
    }
    let ptr = (w >> 16) as *const u8;
    let len = (w & 0xffff) as usize;
    // SAFETY: `w` was produced by `pack_str` from a `&'static str` (every value ever stored
    // is one), and `len` is a char boundary of it.
    unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) }
}

/// Wakes one goroutine: the `Unparker` of a goroutine (Go: `goready`).
#[derive(Clone)]
pub(crate) struct GoUnparker {
    g: Arc<G>,
    goid: u64,
}

impl fmt::Debug for GoUnparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoUnparker({})", self.goid)
    }
}

impl GoUnparker {
    pub(crate) fn new(g: Arc<G>) -> Self {
        let goid = g.goid();
        GoUnparker { g, goid }
    }

    /// The unparker of goroutine `goid`, which runs (or ran) on `g`.
    pub(crate) fn with_goid(g: Arc<G>, goid: u64) -> Self {
        GoUnparker { g, goid }
    }

    pub(crate) fn id(&self) -> u64 {
        self.goid
    }

    pub(crate) fn same(&self, other: &GoUnparker) -> bool {
        Arc::ptr_eq(&self.g, &other.g) && self.goid == other.goid
    }

    /// Permit semantics: a `WAITING` goroutine becomes runnable; any other live one gets the
    /// permit, consumed by its next park.
    pub(crate) fn unpark(&self) {
        match unpark_state(&self.g.state, self.goid) {
            UnparkAction::Ready => self.g.sched.ready(self.g.clone(), self.goid),
            UnparkAction::Notified { blocking: true } => self.unpark_thread(),
            UnparkAction::Notified { blocking: false } | UnparkAction::Nothing => {}
        }
    }

    /// The goroutine, given a permit, parks on its thread (unwinding, or inside
    /// `syscall(f)`): wake that thread too.
    fn unpark_thread(&self) {
        if let Some(t) = self.g.thread_parker.lock().as_ref() {
            t.unpark();
        }
    }

    /// [`unpark`](Self::unpark), consuming: a goroutine made runnable goes into the run queue
    /// with this unparker's reference to its G (no reference count touched on an M of its
    /// runtime).
    pub(crate) fn wake(self) {
        match unpark_state(&self.g.state, self.goid) {
            UnparkAction::Ready => super::Sched::ready_owned(self.g, self.goid),
            UnparkAction::Notified { blocking: true } => self.unpark_thread(),
            UnparkAction::Notified { blocking: false } | UnparkAction::Nothing => {}
        }
    }
}

/// What an unpark did to a goroutine's state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnparkAction {
    /// It was WAITING and is now RUNNABLE: the caller must queue it (Go: `goready`).
    Ready,
    /// It was not parked: a permit is now pending. `blocking`: it parks on its thread (it
    /// was unwinding), so that thread must be woken too.
    Notified {
        /// Wake the goroutine's thread parker as well.
        blocking: bool,
    },
    /// Nothing to do: a permit was already pending, the goroutine is dead, or the G now runs
    /// another goroutine.
    Nothing,
}

/// The unpark transition on a state word, for goroutine `goid` (see `G::state`).
pub fn unpark_state(state: &AtomicU64, goid: u64) -> UnparkAction {
    let mut w = state.load(Acquire);
    loop {
        if goid_of(w) != goid {
            return UnparkAction::Nothing;
        }
        let new = match w & STATUS_MASK {
            DEAD => return UnparkAction::Nothing,
            WAITING => (w & !STATUS_MASK) | RUNNABLE,
            _ if w & NOTIFIED != 0 => return UnparkAction::Nothing,
            _ => w | NOTIFIED,
        };
        match state.compare_exchange_weak(w, new, AcqRel, Acquire) {
            Ok(_) if w & STATUS_MASK == WAITING => return UnparkAction::Ready,
            Ok(_) => {
                return UnparkAction::Notified {
                    blocking: w & BLOCKING != 0,
                }
            }
            Err(x) => w = x,
        }
    }
}

/// The goroutine's own fast path: consumes a pending permit, if any.
pub fn take_permit(state: &AtomicU64) -> bool {
    let mut w = state.load(Acquire);
    while w & NOTIFIED != 0 {
        match state.compare_exchange_weak(w, w & !NOTIFIED, AcqRel, Acquire) {
            Ok(_) => return true,
            Err(x) => w = x,
        }
    }
    false
}

/// Go: `park_m`, run by the M after the goroutine suspended with a park request:
/// RUNNING → WAITING, unless a permit is pending. Returns `false` (and consumes the permit)
/// when the goroutine must continue instead.
pub fn commit_park(state: &AtomicU64) -> bool {
    let mut w = state.load(SeqCst);
    loop {
        debug_assert_eq!(w & STATUS_MASK, RUNNING);
        let (new, parks) = if w & NOTIFIED != 0 {
            (w & !NOTIFIED, false)
        } else {
            ((w & !STATUS_MASK) | WAITING, true)
        };
        match state.compare_exchange_weak(w, new, SeqCst, SeqCst) {
            Ok(_) => return parks,
            Err(x) => w = x,
        }
    }
}

/// The shutdown sweep's transition: WAITING → RUNNABLE for a goroutine being cancelled.
/// Returns whether the caller must queue it.
pub fn cancel_waiting(state: &AtomicU64) -> bool {
    let w = state.load(SeqCst);
    w & STATUS_MASK == WAITING
        && state
            .compare_exchange(w, (w & !STATUS_MASK) | RUNNABLE, SeqCst, SeqCst)
            .is_ok()
}

/// The shutdown sweep's half of the cancel hand-shake: flag the goroutine, then move it
/// WAITING → RUNNABLE if it is parked. Returns whether the caller must queue it.
///
/// Races the M's half ([`recheck_cancel_after_park`]): the M publishes WAITING then reads the
/// flag; the sweep publishes the flag then reads the state (store-buffering). With both
/// orders SeqCst, at least one side sees the other's write, and `cancel_waiting`'s CAS lets
/// at most one of them queue the goroutine.
pub fn sweep_cancel(state: &AtomicU64, cancel: &AtomicBool) -> bool {
    cancel.store(true, SeqCst);
    crate::loom::seqcst_fence();
    cancel_waiting(state)
}

/// The M's half of the cancel hand-shake, after [`commit_park`] published WAITING: whether
/// a shutdown sweep that ran while the goroutine was still RUNNING (and so skipped it) flagged
/// it, in which case the M must queue it so it unwinds.
pub fn recheck_cancel_after_park(state: &AtomicU64, cancel: &AtomicBool) -> bool {
    crate::loom::seqcst_fence();
    cancel.load(SeqCst) && cancel_waiting(state)
}

/// Builds the state word of a freshly started goroutine.
pub fn runnable_word(goid: u64) -> u64 {
    (goid << GOID_SHIFT) | RUNNABLE
}

/// The state word of a dead goroutine that last had `goid`.
pub fn dead_word(goid: u64) -> u64 {
    goid << GOID_SHIFT
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that counts what happens to it.
    struct Counted {
        ran: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        drops: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        /// Sizes the task into a block class, or past every class (a plain allocation).
        _pad: Vec<u64>,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.drops.fetch_add(1, SeqCst);
        }
    }

    impl Task for Counted {
        fn run(self, _: &Arc<Sched>, goid: u64) {
            self.ran.fetch_add(goid as usize, SeqCst);
        }
        fn cancel(self, _: crate::JoinError, _: &Arc<Sched>, _: u64) {
            self.ran.fetch_add(100, SeqCst);
        }
    }

    /// A `TaskBox` runs, cancels or drops its task exactly once, whatever its size. Kills: a
    /// table built for the wrong type; `run` dropping the task a second time after moving it
    /// out; `drop` leaking the task.
    #[test]
    fn a_task_box_runs_cancels_or_drops_its_task_once() {
        use std::sync::atomic::AtomicUsize;
        let s = crate::Runtime::default_sched().clone();
        let ran = std::sync::Arc::new(AtomicUsize::new(0));
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let task = || Counted {
            ran: ran.clone(),
            drops: drops.clone(),
            _pad: Vec::new(),
        };
        TaskBox::new(task()).run(&s, 7);
        assert_eq!((ran.load(SeqCst), drops.load(SeqCst)), (7, 1));
        TaskBox::new(task()).cancel(crate::JoinError::Cancelled, &s, 7);
        assert_eq!((ran.load(SeqCst), drops.load(SeqCst)), (107, 2));
        drop(TaskBox::new(task()));
        assert_eq!((ran.load(SeqCst), drops.load(SeqCst)), (107, 3));
        // Too large for any block class: a plain allocation, the same once.
        struct Big(Counted, [u64; 64]);
        impl Task for Big {
            fn run(self, s: &Arc<Sched>, goid: u64) {
                let Big(c, pad) = self;
                c.run(s, goid + pad[63]);
            }
            fn cancel(self, why: crate::JoinError, s: &Arc<Sched>, goid: u64) {
                self.0.cancel(why, s, goid)
            }
        }
        TaskBox::new(Big(task(), [1; 64])).run(&s, 1);
        assert_eq!((ran.load(SeqCst), drops.load(SeqCst)), (109, 4));
        drop(TaskBox::new(Big(task(), [1; 64])));
        assert_eq!(drops.load(SeqCst), 5);
    }

    #[test]
    fn reason_codes_round_trip() {
        for r in REASONS {
            assert_eq!(REASONS[reason_code(r) as usize], r);
        }
        let s: &'static str = "waiting for godot";
        assert_eq!(unpack_str(pack_str(s)), s);
        assert_eq!(unpack_str(0), "");
    }

    /// `wake` moves the unparker's reference to the G into the run queue: a park ended by
    /// `wake` leaves the G with as many references as one ended by `unpark` (which clones
    /// one and drops the unparker's), and a wake of a goroutine that is not parked (a permit)
    /// drops the unparker's. A reference too many or too few would leak every parked
    /// goroutine's G, or free one that still runs.
    #[test]
    fn wake_moves_the_unparkers_reference_into_the_run_queue() {
        /// Parks until another goroutine wakes us, with `wake` or with `unpark`.
        fn park_until_woken(consume: bool) {
            let me = crate::park::current();
            let woke = Arc::new(AtomicBool::new(false));
            let w = woke.clone();
            crate::go(move || {
                w.store(true, SeqCst);
                if consume {
                    me.wake();
                } else {
                    me.unpark();
                }
            });
            while !woke.load(SeqCst) {
                crate::park::park(WaitReason::Park);
            }
        }
        let rt = crate::Runtime::builder().procs(1).build().unwrap();
        rt.run(|| {
            let c = super::super::m::ctx().expect("on an M");
            let g = super::super::m::current_g_arc(c).expect("a goroutine");
            // (The first park also lists the G for the copy-out sweep, which holds one more.)
            park_until_woken(false);
            let base = Arc::strong_count(&g);
            for _ in 0..3 {
                park_until_woken(true);
                assert_eq!(Arc::strong_count(&g), base, "after a park ended by wake");
                park_until_woken(false);
                assert_eq!(Arc::strong_count(&g), base, "after a park ended by unpark");
                // Woken while running: a permit, and the unparker's reference is dropped.
                crate::park::current().wake();
                assert_eq!(Arc::strong_count(&g), base, "after a permit");
                crate::park::park(WaitReason::Park); // consumes the permit: returns at once
            }
        });
    }
}
