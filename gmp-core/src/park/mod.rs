//! Parking: the one primitive every blocking operation is built on (Go: `gopark`/`goready`).
//!
//! A blocking operation publishes an [`Unparker`] for the caller (from [`current`]) wherever
//! its waker will find it, rechecks its condition, and calls [`park`]. The waker calls
//! [`Unparker::unpark`]. Unparkers have *permit* semantics: an `unpark` that happens before
//! the `park` makes that `park` return at once, so the race between "publish, recheck, park"
//! and "wake" never loses a wake-up. `park` may also return spuriously: always recheck.
//!
//! Inside a goroutine, `park` suspends the goroutine and its M runs other goroutines; on a
//! plain OS thread it blocks the thread. The same code therefore works in both places, which
//! is how `gmp-chan` and `gmp-sync` serve goroutines and threads alike.
//!
//! ```
//! use gmp_core::park::{self, WaitReason};
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//!
//! let done = Arc::new(AtomicBool::new(false));
//! let me = park::current();
//! let d = done.clone();
//! let t = std::thread::spawn(move || {
//!     d.store(true, Ordering::SeqCst);
//!     me.unpark();
//! });
//! while !done.load(Ordering::SeqCst) {
//!     park::park(WaitReason::Park);
//! }
//! t.join().unwrap();
//! ```

use crate::loom::{thread_local, Arc};
pub use crate::reason::WaitReason;
use crate::sched;
pub use crate::sched::leak::{waiting_on, SharedHandles, WaitsOn};
pub use crate::sched::sudog::{SudogBox, SudogBytes};

pub(crate) mod thread;
use std::fmt;
use std::time::Instant;
use thread::ThreadParker;

/// Wakes one parked goroutine or thread. `Send + Sync + Clone`; cheap to clone.
///
/// Obtained from [`current`] by the party that is about to park. An unpark after the owner
/// has finished is harmless.
#[derive(Clone)]
pub struct Unparker {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Thread(Arc<ThreadParker>),
    Goroutine(sched::GoUnparker),
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Thread(_) => f.write_str("Unparker(thread)"),
            Inner::Goroutine(g) => write!(f, "Unparker(goroutine {})", g.id()),
        }
    }
}

impl Unparker {
    pub(crate) fn goroutine(g: sched::GoUnparker) -> Unparker {
        Unparker {
            inner: Inner::Goroutine(g),
        }
    }

    /// Makes the owner's next (or current) [`park`] return. Permit semantics: several unparks
    /// before one park count as one.
    pub fn unpark(&self) {
        match &self.inner {
            Inner::Thread(t) => t.unpark(),
            Inner::Goroutine(g) => g.unpark(),
        }
    }

    /// [`unpark`](Self::unpark), consuming the unparker (as `Waker::wake` is to
    /// `wake_by_ref`): a goroutine made runnable takes the unparker's reference to it into
    /// the run queue, where `unpark` must take a new one. The waker's last use of a record's
    /// unparker should be this.
    pub fn wake(self) {
        match self.inner {
            Inner::Thread(t) => t.unpark(),
            Inner::Goroutine(g) => g.wake(),
        }
    }

    /// Whether two unparkers wake the same goroutine or thread.
    pub fn will_wake(&self, other: &Unparker) -> bool {
        match (&self.inner, &other.inner) {
            (Inner::Thread(a), Inner::Thread(b)) => Arc::ptr_eq(a, b),
            (Inner::Goroutine(a), Inner::Goroutine(b)) => a.same(b),
            _ => false,
        }
    }
}

thread_local! {
    static THREAD_PARKER: Arc<ThreadParker> = Arc::new(ThreadParker::new());
}

// Thread-locals are reached only through `#[inline(never)]` accessors, so no caller can cache
// a TLS address across a goroutine switch (research/rust-peers.md §2.4).
#[inline(never)]
fn thread_parker() -> Arc<ThreadParker> {
    THREAD_PARKER.with(|p| p.clone())
}

/// The [`Unparker`] of the calling goroutine, or of the calling thread outside goroutines.
#[inline(never)]
pub fn current() -> Unparker {
    match sched::current_unparker() {
        Some(g) => Unparker {
            inner: Inner::Goroutine(g),
        },
        None => Unparker {
            inner: Inner::Thread(thread_parker()),
        },
    }
}

/// Parks the caller until its [`Unparker`] is used (or spuriously: recheck your condition).
///
/// In a goroutine this is Go's `gopark`: the goroutine is suspended with `reason` (shown by
/// [`dump`](crate::dump)) and its M runs others. On a plain thread it blocks the thread.
#[inline(never)]
pub fn park(reason: WaitReason) {
    if !sched::gopark(reason) {
        thread_parker().park();
    }
}

/// Like [`park`], but gives up at `deadline`. Returns `true` if woken by an unpark (or
/// spuriously), `false` if the deadline passed first.
#[inline(never)]
pub fn park_deadline(reason: WaitReason, deadline: Instant) -> bool {
    match sched::gopark_deadline(reason, deadline) {
        Some(woken) => woken,
        None => thread_parker().park_deadline(deadline),
    }
}

/// A cooperative scheduling point for an operation that completed without blocking.
///
/// Blocking operations call it on their fast path: it spends one unit of the goroutine's
/// budget and yields (as [`gosched`](crate::gosched) does) when the budget is spent or the
/// goroutine has been flagged for preemption, so goroutines that keep succeeding (two of them
/// ping-ponging on a buffered channel) cannot starve the rest of their P. No-op on a thread.
#[inline]
pub fn checkpoint() {
    sched::checkpoint();
}

/// Whether a lock may spin a little before parking (Go: `sync_runtime_canSpin`).
///
/// `iteration` counts the caller's spins so far. Spinning pays only while other Ps are running
/// goroutines that may release the lock soon: it is allowed for the first few iterations, on a
/// multi-core machine, when the caller's P has no other work waiting. On a plain thread it
/// follows the same iteration and core-count limits.
pub fn can_spin(iteration: u32) -> bool {
    sched::can_spin(iteration)
}
