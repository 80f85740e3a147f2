//! # gmp-sync: Go's `sync` package for goroutines (and plain threads)
//!
//! [`Mutex`], [`RwLock`], [`WaitGroup`], [`Once`], [`Cond`] and a weighted [`Semaphore`]
//! that *park goroutines* instead of blocking threads: a goroutine that waits for a lock is
//! suspended and its thread runs other goroutines. The same types work from plain OS threads
//! (the thread blocks), and goroutines and threads can share them.
//!
//! Everything sleeps in one goroutine *parking lot* keyed by address (Go's `runtime/sema.go`,
//! Rust's `parking_lot_core`) built on [`gmp_core::park`] alone, so this crate knows nothing
//! of the scheduler.
//!
//! ```
//! use gmp_sync::{Mutex, WaitGroup};
//! use std::sync::Arc;
//!
//! let counter = Arc::new(Mutex::new(0));
//! let wg = WaitGroup::new();
//! for _ in 0..10 {
//!     wg.add(1);
//!     let (counter, wg) = (counter.clone(), wg.clone());
//!     std::thread::spawn(move || {
//!         *counter.lock() += 1;
//!         wg.done();
//!     });
//! }
//! wg.wait();
//! println!("Final counter value: {}", *counter.lock());
//! # assert_eq!(*counter.lock(), 10);
//! ```
//!
//! ## Mutex
//!
//! [`Mutex<T>`](Mutex) holds its data; [`lock`](Mutex::lock) returns a guard that unlocks on
//! drop. It follows Go's `sync.Mutex`: a *normal mode* where arriving goroutines compete with
//! woken ones (and may spin briefly while the holder runs on another P), and a *starvation
//! mode*, entered when a waiter has waited more than 1 ms, in which the lock is handed
//! directly to the longest waiter. There is no poisoning.
//!
//! ```
//! static HITS: gmp_sync::Mutex<u64> = gmp_sync::Mutex::new(0);
//! *HITS.lock() += 1;
//! assert_eq!(*HITS.lock(), 1);
//! ```
//!
//! ## RwLock
//!
//! [`RwLock<T>`](RwLock) is Go's writer-preferring `sync.RWMutex`: once a writer waits, new
//! readers queue behind it.
//!
//! ```
//! let l = gmp_sync::RwLock::new(5);
//! assert_eq!(*l.read() + *l.read(), 10);
//! *l.write() += 1;
//! assert_eq!(*l.read(), 6);
//! ```
//!
//! ## WaitGroup
//!
//! [`WaitGroup`] counts outstanding tasks; `wait` parks until the count is zero. Clones share
//! one counter. Misuse panics with Go's messages.
//!
//! ```
//! let wg = gmp_sync::WaitGroup::new();
//! wg.add(1);
//! let w = wg.clone();
//! std::thread::spawn(move || w.done());
//! wg.wait();
//! ```
//!
//! ## Once
//!
//! [`Once::call_once`] runs its function exactly once; concurrent callers wait for it. A
//! panicking function counts as done, as in Go.
//!
//! ```
//! static INIT: gmp_sync::Once = gmp_sync::Once::new();
//! INIT.call_once(|| println!("initialized"));
//! INIT.call_once(|| unreachable!());
//! ```
//!
//! ## Cond
//!
//! [`Cond`] waits on a [`Mutex`]'s guard: `wait(guard) -> guard`. `signal` wakes the oldest
//! waiter; `broadcast` wakes one and moves the rest onto the mutex's queue.
//!
//! ```
//! use gmp_sync::{Cond, Mutex};
//! use std::sync::Arc;
//!
//! let state = Arc::new((Mutex::new(0), Cond::new()));
//! let s = state.clone();
//! std::thread::spawn(move || {
//!     *s.0.lock() = 1;
//!     s.1.signal();
//! });
//! let mut g = state.0.lock();
//! while *g == 0 {
//!     g = state.1.wait(g);
//! }
//! ```
//!
//! ## Semaphore
//!
//! [`Semaphore`] is `x/sync/semaphore.Weighted`: weighted, strictly FIFO.
//!
//! ```
//! let sem = gmp_sync::Semaphore::new(3);
//! sem.acquire(2);
//! assert!(!sem.try_acquire(2));
//! sem.release(2);
//! ```
//!
//! ## errgroup
//!
//! [`errgroup::Group`] is `x/sync/errgroup`: goroutines working on parts of one task, the
//! first error returned by `wait`, and (with `with_context`) a context cancelled at the first
//! failure so the others can stop early; `set_limit` bounds how many run at once.
//!
//! ```text
//! // Go                                        // gmp
//! g, ctx := errgroup.WithContext(ctx)          let (g, ctx) = Group::with_context(&ctx);
//! g.SetLimit(4)                                g.set_limit(4);
//! for _, f := range files {                    for f in files {
//!     g.Go(func() error {                          let ctx = ctx.clone();
//!         return process(ctx, f)                   g.go(move || process(&ctx, f));
//!     })                                       }
//! }                                            g.wait()?;
//! if err := g.Wait(); err != nil { ... }
//! ```
//!
//! ## Context-aware waits (feature `context`, on by default)
//!
//! [`Semaphore::acquire_ctx`] and [`WaitGroup::wait_ctx`] give up when a
//! [`gmp_chan::context::Context`] is done and return its error, leaving the primitive as if
//! they had never waited (x/sync's `Acquire(ctx, n)`). Without the feature gmp-sync builds on
//! gmp-core alone, without these and without `Group::with_context`.
//!
//! ## Goroutines and threads
//!
//! Every blocking call here first passes a cooperative scheduling point
//! ([`gmp_core::park::checkpoint`]) and then, if it must wait, parks through
//! [`gmp_core::park`]: inside a goroutine that suspends the goroutine with Go's wait reason
//! (`sync.Mutex.Lock`, `sync.WaitGroup.Wait`, ...), shown by `gmp_core::dump`; on a plain
//! thread it blocks the thread. Guards are `Send`, because a goroutine holding one may be
//! resumed on another thread.

#![cfg_attr(loom, allow(dead_code, unreachable_pub))]

mod cond;
#[cfg(feature = "context")]
mod ctx;
pub mod errgroup;
mod loom;
mod lot;
mod mutex;
mod once;
mod raw_mutex;
mod rwlock;
mod sema;
mod waitgroup;
mod weighted;

pub use cond::Cond;
pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use waitgroup::WaitGroup;
pub use weighted::Semaphore;

/// Parking-lot and loom-facade internals for gmp-sync's own loom models. Not a public API:
/// no stability, no docs.
#[doc(hidden)]
pub mod __private {
    #[cfg(loom)]
    pub use crate::loom::{
        advance_clock, cancel_after_park, cancel_next_park, model_with_cancellation,
    };
    /// `Semaphore::acquire` that gives up when `interrupted()` (what `acquire_ctx` runs, with
    /// "the context is done"): for the loom model of a cancel racing a release.
    pub fn semaphore_acquire_until(
        sem: &crate::Semaphore,
        n: usize,
        interrupted: &dyn Fn() -> bool,
    ) -> bool {
        sem.acquire_slow(n, interrupted)
    }
    pub use crate::lot::{
        park, park_interruptible, requeue, unpark_all, unpark_one, Abandoned, ParkToken, Parked,
        RequeueOp, UnparkResult, UnparkToken,
    };
}
