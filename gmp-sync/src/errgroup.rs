//! `errgroup`: Go's `golang.org/x/sync/errgroup` — goroutines working on parts of one task,
//! the first error kept, the group's context cancelled at the first failure, and a limit on
//! how many run at once.
//!
//! # How it works
//!
//! A [`Group`] is a [`WaitGroup`] plus the first failure. `go` counts a goroutine in (after
//! taking a slot of the limit, if any), and the goroutine counts itself out when it ends,
//! however it ends: a guard releases its slot and calls `done`. The first error (or panic) is
//! kept under a lock and cancels the group's context, if it has one; later ones are dropped.
//! `wait` waits for the count to reach zero, cancels the context (Go: "the first time Wait
//! returns"), then resumes a pending panic or hands out the first error, once.
//!
//! Go 1.25's x/sync experimented with carrying a panic of `f` to `Wait` and then reverted it;
//! gmp keeps it (API.md): a panic that nobody would see in a detached goroutine resumes in the
//! goroutine that waits for the group, where a Rust caller expects it.

use crate::{Semaphore, WaitGroup};
use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

/// A collection of goroutines working on subtasks of one task (Go: `errgroup.Group`).
///
/// [`go`](Group::go) runs a fallible function in a new goroutine; [`wait`](Group::wait) waits
/// for all of them and returns the first error. With [`with_context`](Group::with_context)
/// the group also derives a [`Context`](gmp_chan::context::Context) that is cancelled by the
/// first error or panic, or when `wait` returns, so the other goroutines can stop early.
/// [`set_limit`](Group::set_limit) bounds how many run at once.
///
/// `Group` is `Send + Sync`: share it by reference (a scope, a static) or in an `Arc`.
///
/// ```
/// use gmp_sync::errgroup::Group;
///
/// let g: Group<String> = Group::new();
/// for url in ["a", "b", "bad", "c"] {
///     g.go(move || {
///         if url == "bad" {
///             return Err(format!("fetch {url}: failed"));
///         }
///         Ok(())
///     });
/// }
/// assert_eq!(g.wait(), Err("fetch bad: failed".to_string()));
/// assert_eq!(g.wait(), Ok(())); // the first error is returned once
/// ```
pub struct Group<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    wg: WaitGroup,
    /// Goroutines started and not yet ended (for `set_limit`'s misuse check).
    active: AtomicUsize,
    /// The limit: `None` for none; `n` and a semaphore of `n` slots otherwise.
    limit: parking_lot::Mutex<Option<(usize, Arc<Semaphore>)>>,
    first: parking_lot::Mutex<First<E>>,
    /// Cancels the group's context (`with_context`); dropping the group cancels it too.
    #[cfg(feature = "context")]
    cancel: Option<gmp_chan::context::CancelFn>,
}

/// The group's failures, under `Inner::first`.
struct First<E> {
    /// The first error, until `wait` hands it out.
    err: Option<E>,
    /// An error was recorded (later ones are dropped even after `wait` took the first).
    failed: bool,
    /// The first panic, until `wait` resumes it.
    panic: Option<Box<dyn Any + Send>>,
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E: Send + 'static> Group<E> {
    /// A group with no limit and no context (Go: a zero `errgroup.Group`).
    pub fn new() -> Group<E> {
        Group {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                active: AtomicUsize::new(0),
                limit: parking_lot::Mutex::new(None),
                first: parking_lot::Mutex::new(First {
                    err: None,
                    failed: false,
                    panic: None,
                }),
                #[cfg(feature = "context")]
                cancel: None,
            }),
        }
    }

    /// A group and a context derived from `ctx` (Go: `errgroup.WithContext`): the context is
    /// cancelled the first time a goroutine of the group returns an error or panics, or the
    /// first time [`wait`](Group::wait) returns, whichever comes first (or when the group is
    /// dropped). Its cause says which.
    #[cfg(feature = "context")]
    pub fn with_context(
        ctx: &gmp_chan::context::Context,
    ) -> (Group<E>, gmp_chan::context::Context) {
        let (child, cancel) = ctx.with_cancel();
        let mut g = Group::new();
        Arc::get_mut(&mut g.inner)
            .expect("a new group is not shared")
            .cancel = Some(cancel);
        (g, child)
    }

    /// Runs `f` in a new goroutine (on the caller's runtime, or the default one on a plain
    /// thread). With a limit set, first waits (parks) until fewer than the limit run. The
    /// first error `f` returns is kept for [`wait`](Group::wait) and cancels the group's
    /// context; so does a panic, which `wait` resumes.
    pub fn go(&self, f: impl FnOnce() -> Result<(), E> + Send + 'static) {
        let limit = self.inner.limit.lock().clone();
        let slot = limit.map(|(n, sem)| {
            if n == 0 {
                // Go: a limit of zero blocks every Go for ever.
                loop {
                    gmp_core::park::park(gmp_core::park::WaitReason::SemAcquire);
                }
            }
            sem.acquire(1);
            sem
        });
        self.start(f, slot);
    }

    /// Runs `f` in a new goroutine only if fewer than the limit run now (Go: `TryGo`);
    /// returns whether it started it. Never waits.
    pub fn try_go(&self, f: impl FnOnce() -> Result<(), E> + Send + 'static) -> bool {
        let limit = self.inner.limit.lock().clone();
        let slot = match limit {
            None => None,
            Some((_, sem)) if sem.try_acquire(1) => Some(sem),
            Some(_) => return false, // full, or a limit of 0
        };
        self.start(f, slot);
        true
    }

    fn start(
        &self,
        f: impl FnOnce() -> Result<(), E> + Send + 'static,
        slot: Option<Arc<Semaphore>>,
    ) {
        self.inner.active.fetch_add(1, SeqCst);
        self.inner.wg.add(1);
        let inner = self.inner.clone();
        let h = gmp_core::go(move || {
            let done = Done {
                inner: &inner,
                slot,
            };
            match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => inner.fail(Failure::Err(e)),
                Err(p) => inner.fail(Failure::Panic(p)),
            }
            drop(done);
        });
        drop(h); // detached: its end is counted by the WaitGroup
    }

    /// Limits the goroutines of the group running at once to `n` (Go: `SetLimit`); later
    /// [`go`](Group::go) calls wait for a slot. `usize::MAX` removes the limit. A limit of 0
    /// lets no goroutine start: `go` then waits for ever, as in Go.
    ///
    /// # Panics
    ///
    /// "errgroup: modify limit while N goroutines in the group are still active", as Go.
    #[track_caller]
    pub fn set_limit(&self, n: usize) {
        let active = self.inner.active.load(SeqCst);
        if active != 0 {
            panic!(
                "errgroup: modify limit while {active} goroutines in the group are still active"
            );
        }
        *self.inner.limit.lock() = (n != usize::MAX).then(|| (n, Arc::new(Semaphore::new(n))));
    }

    /// Waits (parks) until every goroutine started with [`go`](Group::go) has ended, cancels
    /// the group's context, and returns the first error (Go: `Wait`). The first error is
    /// handed out once: a later `wait` returns `Ok(())` (an `E` need not be `Clone`).
    ///
    /// # Panics
    ///
    /// Resumes the first panic of a goroutine of the group (once).
    pub fn wait(&self) -> Result<(), E> {
        self.inner.wg.wait();
        #[cfg(feature = "context")]
        if let Some(c) = &self.inner.cancel {
            c.cancel();
        }
        let mut first = self.inner.first.lock();
        if let Some(p) = first.panic.take() {
            drop(first);
            panic::resume_unwind(p);
        }
        match first.err.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// What ended a goroutine of the group badly.
enum Failure<E> {
    Err(E),
    Panic(Box<dyn Any + Send>),
}

impl<E> Inner<E> {
    /// Keeps the first error and the first panic, and cancels the context at the first of
    /// either (Go: `errOnce`).
    fn fail(&self, f: Failure<E>) {
        let mut first = self.first.lock();
        let first_failure = !first.failed && first.panic.is_none();
        match f {
            Failure::Err(e) if !first.failed => {
                first.failed = true;
                first.err = Some(e);
            }
            Failure::Panic(p) if first.panic.is_none() => first.panic = Some(p),
            // Later failures are dropped (outside the lock: their drops are user code).
            later => {
                drop(first);
                drop(later);
                return;
            }
        }
        drop(first);
        if first_failure {
            self.cancel_context();
        }
    }

    /// Cancels the group's context, if it has one, because a goroutine failed.
    #[cfg(feature = "context")]
    fn cancel_context(&self) {
        if let Some(c) = &self.cancel {
            c.cancel_with_cause("errgroup: a goroutine of the group failed");
        }
    }

    #[cfg(not(feature = "context"))]
    fn cancel_context(&self) {}
}

/// Counts a goroutine of the group out when it ends, however it ends.
struct Done<'a, E> {
    inner: &'a Inner<E>,
    slot: Option<Arc<Semaphore>>,
}

impl<E> Drop for Done<'_, E> {
    fn drop(&mut self) {
        if let Some(sem) = self.slot.take() {
            sem.release(1);
        }
        self.inner.active.fetch_sub(1, SeqCst);
        self.inner.wg.done();
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.inner.first.lock();
        f.debug_struct("Group")
            .field("active", &self.inner.active.load(SeqCst))
            .field("failed", &first.failed)
            .field("panicked", &first.panic.is_some())
            .finish_non_exhaustive()
    }
}
