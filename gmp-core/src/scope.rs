//! Scoped goroutines (`std::thread::scope`, for goroutines): goroutines that borrow from the
//! caller's stack, all joined before [`scope`] returns.
//!
//! # Why it is sound
//!
//! A scoped goroutine's closure and result may borrow anything that outlives `'env`, the
//! caller's locals included; the runtime's goroutines want `'static`. [`Scope::go`] erases the
//! lifetime (the one `unsafe` here), which is sound because **`scope` does not return, by
//! value or by unwinding, before every goroutine spawned in it has dropped everything that
//! borrows**, exactly as std's scope:
//!
//! - Each goroutine's result goes into a [`Packet`] shared with its handle. The packet's
//!   drop, which runs once both the goroutine and the handle are done with it, drops the
//!   result and only then counts the goroutine out of `ScopeData::running`. The goroutine's
//!   closure is dropped before its packet ([`ScopedTask`]'s drop order), whether it ran or the
//!   runtime cancelled it before it started.
//! - Handles cannot leave the closure given to `scope` (`'scope` is higher-ranked), so after
//!   the closure returns or unwinds, the count reaches zero once the goroutines end. `scope`
//!   catches the closure's unwind, waits for zero, and only then resumes it.
//! - The wait cannot be cut short: it parks with [`gopark_uncancellable`], so a runtime
//!   shutting down (which cancels goroutines at their next park by unwinding them) cannot
//!   unwind the owner out of `scope` while its goroutines still run. A cancelled owner unwinds
//!   at its next scheduling point after `scope`.
//! - The owner's stack stays in place while the scope lives ([`pin_stack`]): a goroutine
//!   parked for 20 ms normally has its stack copied to the heap and its pages released
//!   (`sched/copyout.rs`), which would pull the borrowed locals from under the scope's
//!   goroutines.
//!
//! Leaking a handle (`mem::forget`) keeps its packet alive, so `scope` then waits for ever, as
//! std's does: a hang, never a dangling borrow.

use crate::goroutine::{spawn_on, GoId, JoinError, JoinHandle};
use crate::park::{self, Unparker, WaitReason};
use crate::runtime::Runtime;
use crate::sched::{self, gopark_uncancellable, pin_stack};
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;

/// What the owner and its goroutines share.
///
/// | field        | written by                                   | read by                      |
/// |--------------|----------------------------------------------|------------------------------|
/// | `running`    | `go` (+1, owner), a packet's drop (−1, Release) | the owner's wait (Acquire) |
/// | `a_panicked` | a packet's drop, before its −1               | the owner, after the wait    |
struct ScopeData {
    /// Goroutines spawned in the scope whose packet is not dropped yet.
    running: AtomicUsize,
    /// A goroutine panicked and nobody joined it.
    a_panicked: AtomicBool,
    /// Wakes the owner when `running` reaches zero.
    owner: Unparker,
}

impl ScopeData {
    fn decrement(&self, panicked: bool) {
        if panicked {
            self.a_panicked.store(true, Relaxed);
        }
        if self.running.fetch_sub(1, Release) == 1 {
            self.owner.unpark();
        }
    }
}

/// A scope to spawn goroutines in; see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    /// Invariance over `'scope`, so the scope cannot be shrunk (std's trick).
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("running", &self.data.running.load(Relaxed))
            .field("a_panicked", &self.data.a_panicked.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// An owned permission to join a scoped goroutine. It cannot outlive its scope.
pub struct ScopedJoinHandle<'scope, T> {
    handle: JoinHandle<()>,
    packet: Arc<Packet<'scope, T>>,
}

/// A scoped goroutine's result, shared by the goroutine and its handle.
struct Packet<'scope, T> {
    scope: Arc<ScopeData>,
    /// Written once by the goroutine before it drops its reference; read by the handle after
    /// `join` saw the goroutine end (its end publishes with Release, `join` reads Acquire).
    result: UnsafeCell<Option<Result<T, JoinError>>>,
    _scope: PhantomData<&'scope ()>,
}

// SAFETY: `result` is written by the goroutine and then read by the handle's owner, ordered
// by the goroutine's end (JoinHandle's DONE, Release/Acquire); `T: Send` crosses threads.
unsafe impl<T: Send> Sync for Packet<'_, T> {}

impl<T> Drop for Packet<'_, T> {
    fn drop(&mut self) {
        // A panic nobody joined: the scope panics after its wait (std's rule).
        let mut panicked = matches!(self.result.get_mut(), Some(Err(JoinError::Panicked(_))));
        // The result may borrow from the scope: dropped before the goroutine is counted out.
        // Its drop is user code: a panic in it (printed by the hook) counts as the
        // goroutine's, where std would abort.
        let result = self.result.get_mut().take();
        if crate::goroutine::drop_contained(result).is_some() {
            panicked = true;
        }
        self.scope.decrement(panicked);
    }
}

/// A scoped goroutine's body: the closure, then the packet, dropped in that order however the
/// goroutine ends (it ran, or was cancelled before it started).
struct ScopedTask<'scope, F, T> {
    f: Option<F>,
    packet: Option<Arc<Packet<'scope, T>>>,
}

impl<F: FnOnce() -> T, T> ScopedTask<'_, F, T> {
    fn run(mut self) {
        let f = self.f.take().expect("a scoped goroutine runs once");
        let r = panic::catch_unwind(AssertUnwindSafe(f)).map_err(crate::goroutine::join_error);
        let packet = self.packet.take().expect("a scoped goroutine runs once");
        // SAFETY: only this goroutine writes `result`, once, before it lets the packet go;
        // the handle reads it only after seeing the goroutine end.
        unsafe { *packet.result.get() = Some(r) };
        drop(packet);
    }
}

impl<F, T> Drop for ScopedTask<'_, F, T> {
    fn drop(&mut self) {
        drop(self.f.take());
        drop(self.packet.take());
    }
}

/// Runs `f` with a [`Scope`] whose goroutines may borrow non-`'static` data from the caller,
/// and returns its result once **every goroutine spawned in the scope has ended**
/// (`std::thread::scope`, for goroutines; Java's `StructuredTaskScope`).
///
/// The wait parks a goroutine (its M runs others) and blocks a plain thread; on a plain thread
/// the scope's goroutines run on the default runtime. If a goroutine of the scope panicked and
/// was not joined, `scope` panics after the wait (as std's); if `f` panics, `scope` waits, then
/// resumes that panic. The caller's stack stays in place while the scope lives (it is never
/// copied out: the goroutines read it), and the wait is not cut short by a runtime shutting
/// down (the caller is cancelled after it).
///
/// Go has no scope; its idiom is a `sync.WaitGroup` around closures, which Go's garbage
/// collector makes safe and Rust's borrow checker would reject:
///
/// ```
/// let mut totals = [0u64; 4];
/// let data: Vec<u64> = (1..=100).collect();
/// gmp_core::scope(|s| {
///     for (chunk, total) in data.chunks(25).zip(totals.iter_mut()) {
///         s.go(move || *total = chunk.iter().sum());
///     }
/// });
/// assert_eq!(totals.iter().sum::<u64>(), 5050);
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let _pin = pin_stack();
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            a_panicked: AtomicBool::new(false),
            owner: park::current(),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
    scope.wait_all();
    match result {
        Err(p) => panic::resume_unwind(p),
        Ok(_) if scope.data.a_panicked.load(Relaxed) => {
            panic!("a scoped goroutine panicked")
        }
        Ok(v) => v,
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a goroutine in the scope: `f` may borrow anything that outlives the scope. As
    /// [`go`](fn@crate::go) otherwise: on the caller's runtime (the default one on a plain
    /// thread); returns a handle to join it.
    #[track_caller]
    pub fn go<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let site = Location::caller();
        let packet = Arc::new(Packet {
            scope: self.data.clone(),
            result: UnsafeCell::new(None),
            _scope: PhantomData,
        });
        self.data.running.fetch_add(1, Relaxed);
        let task = ScopedTask {
            f: Some(f),
            packet: Some(packet.clone()),
        };
        let body: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || task.run());
        // SAFETY: only the lifetime changes. The body borrows for 'scope, and the goroutine
        // is done with every such borrow before `scope` returns or unwinds: its closure and
        // then its packet are dropped (the packet's drop counts it out) before the owner's
        // uncancellable wait for `running == 0` ends, and the owner's stack is pinned in
        // place meanwhile (module docs).
        let body: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(body) };
        let handle = match sched::current_sched() {
            Some(s) => spawn_on(&s, body, site, false),
            None => spawn_on(Runtime::default_sched(), body, site, false),
        };
        ScopedJoinHandle { handle, packet }
    }

    /// The owner's wait for every goroutine of the scope to be counted out. Not cut short by
    /// a cancellation: the goroutines borrow from the owner's frames.
    fn wait_all(&self) {
        while self.data.running.load(Acquire) != 0 {
            if !gopark_uncancellable(WaitReason::Other("scope")) {
                park::park(WaitReason::Other("scope")); // a plain thread
            }
        }
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the goroutine to finish and returns its value, or how it failed (as
    /// [`JoinHandle::join`]). A panic joined here is handled: it does not make `scope` panic.
    pub fn join(self) -> Result<T, JoinError> {
        self.handle.join()?;
        // SAFETY: the goroutine has ended (`join` saw DONE with Acquire), so it wrote the
        // result and let go of it; this handle is the only other owner of the packet.
        let r = unsafe { (*self.packet.result.get()).take() };
        r.unwrap_or(Err(JoinError::Cancelled))
    }

    /// The goroutine's id.
    pub fn id(&self) -> GoId {
        self.handle.id()
    }

    /// Whether the goroutine has finished.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}
