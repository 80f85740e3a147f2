//! `WaitGroup`: Go's `sync.WaitGroup`, a counter that `wait` blocks on until it reaches zero.

use crate::loom::atomic::{AtomicU64, Ordering::SeqCst};
use crate::loom::Arc;
use crate::sema::{Left, Sema};
use gmp_core::park::{self, WaitReason, WaitsOn};
use std::fmt;

/// Waits for a collection of goroutines (or threads) to finish (Go: `sync.WaitGroup`).
///
/// [`add`](WaitGroup::add) raises the counter by the number of tasks, each task calls
/// [`done`](WaitGroup::done) when it finishes, and [`wait`](WaitGroup::wait) parks until the
/// counter is zero. [`go`](WaitGroup::go) does all three for one goroutine (Go 1.25's
/// `wg.Go`). Clones share one counter, as Go code shares a `*sync.WaitGroup`.
///
/// Misuse panics with Go's messages: a counter that goes negative ("sync: negative WaitGroup
/// counter"), `add` racing with a `wait` that is returning ("sync: WaitGroup misuse: Add
/// called concurrently with Wait"), and a `wait` that finds the group reused before it could
/// return ("sync: WaitGroup is reused before previous Wait has returned").
///
/// ```
/// use gmp_sync::{Mutex, WaitGroup};
/// use std::sync::Arc;
///
/// let wg = WaitGroup::new();
/// let sum = Arc::new(Mutex::new(0));
/// for i in 1..=3 {
///     wg.add(1);
///     let (wg, sum) = (wg.clone(), sum.clone());
///     std::thread::spawn(move || {
///         *sum.lock() += i;
///         wg.done();
///     });
/// }
/// wg.wait();
/// assert_eq!(*sum.lock(), 6);
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

struct Inner {
    /// Go's `state atomic.Uint64`:
    ///
    /// | bits   | meaning                                                        |
    /// |--------|----------------------------------------------------------------|
    /// | 32..64 | the counter, a signed 32-bit number (`add` changes it)         |
    /// | 0..32  | waiters: `wait` calls parked (or parking) on `sema`            |
    ///
    /// `wait` adds a waiter by CAS only while the counter is non-zero. The `add` that brings
    /// the counter to zero with waiters stores 0 (resetting the waiter count) and releases
    /// `sema` once per waiter; a woken waiter checks that the state is still 0.
    state: AtomicU64,
    sema: Sema,
}

impl WaitGroup {
    /// Creates a group with a zero counter.
    ///
    /// ```
    /// let wg = gmp_sync::WaitGroup::new();
    /// wg.wait(); // returns at once: nothing to wait for
    /// ```
    pub fn new() -> WaitGroup {
        WaitGroup {
            inner: Arc::new(Inner {
                state: AtomicU64::new(0),
                sema: Sema::new(),
            }),
        }
    }

    /// Adds `delta` (which may be negative) to the counter (Go: `WaitGroup.Add`). When it
    /// reaches zero every `wait` returns.
    ///
    /// Call `add` with a positive delta *before* starting the task it counts (before the `go`
    /// statement, in Go terms), not inside it.
    ///
    /// # Panics
    ///
    /// "sync: negative WaitGroup counter" if the counter goes below zero, "sync: WaitGroup
    /// misuse: Add called concurrently with Wait" when that misuse is detected, and
    /// "sync: WaitGroup delta out of range" if `delta` does not fit Go's 32-bit counter.
    ///
    /// ```
    /// let wg = gmp_sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.done();
    /// wg.add(-1);
    /// wg.wait();
    /// ```
    #[track_caller]
    pub fn add(&self, delta: isize) {
        let Ok(delta) = i32::try_from(delta) else {
            panic!("sync: WaitGroup delta out of range");
        };
        let inner = &*self.inner;
        let state = inner
            .state
            .fetch_add((delta as i64 as u64) << 32, SeqCst)
            .wrapping_add((delta as i64 as u64) << 32);
        let v = (state >> 32) as i32;
        let w = state as u32;
        if v < 0 {
            panic!("sync: negative WaitGroup counter");
        }
        if w != 0 && delta > 0 && v == delta {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        if v > 0 || w == 0 {
            return;
        }
        // The counter is 0 and there are waiters. Nobody may change the state now: a
        // concurrent add is misuse, and wait only adds waiters while the counter is > 0.
        if inner.state.load(SeqCst) != state {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        // Reset the waiter count to 0 and wake every waiter.
        inner.state.store(0, SeqCst);
        for _ in 0..w {
            inner.sema.semrelease(false);
        }
    }

    /// Decrements the counter by one (Go: `WaitGroup.Done`).
    ///
    /// # Panics
    ///
    /// "sync: negative WaitGroup counter" if the counter was already zero.
    ///
    /// ```
    /// let wg = gmp_sync::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// wg.wait();
    /// ```
    #[track_caller]
    pub fn done(&self) {
        self.add(-1);
    }

    /// Runs `f` in a new goroutine counted by this group (Go 1.25: `WaitGroup.Go`): `add(1)`,
    /// spawn with [`gmp_core::go`](fn@gmp_core::go), and `done` when `f` returns or unwinds.
    ///
    /// ```
    /// use gmp_sync::{Mutex, WaitGroup};
    /// use std::sync::Arc;
    ///
    /// let wg = WaitGroup::new();
    /// let total = Arc::new(Mutex::new(0));
    /// for i in 1..=4 {
    ///     let total = total.clone();
    ///     wg.go(move || *total.lock() += i);
    /// }
    /// wg.wait();
    /// assert_eq!(*total.lock(), 10);
    /// ```
    #[track_caller]
    pub fn go<F: FnOnce() + Send + 'static>(&self, f: F) -> gmp_core::JoinHandle<()> {
        self.add(1);
        let done = DoneOnDrop(self.clone());
        gmp_core::go(move || {
            let _done = done;
            f();
        })
    }

    /// Parks until the counter is zero (Go: `WaitGroup.Wait`).
    ///
    /// # Panics
    ///
    /// "sync: WaitGroup is reused before previous Wait has returned" if, by the time this
    /// waiter wakes, the group was already `add`ed to again.
    ///
    /// ```
    /// let wg = gmp_sync::WaitGroup::new();
    /// wg.add(1);
    /// let w = wg.clone();
    /// std::thread::spawn(move || w.done());
    /// wg.wait();
    /// ```
    #[track_caller]
    pub fn wait(&self) {
        // Only `done` through a handle of this group can end the wait: the leak check
        // (`gmp_core::leaked`) reports it once every other handle is gone.
        let on = [WaitsOn::handle(&self.inner, self)];
        let done = park::waiting_on(&on, || self.wait_until(&|| false));
        debug_assert!(done);
    }

    /// [`wait`](Self::wait) that also gives up when `interrupted()` (checked at every
    /// wake-up; whoever makes it true unparks the caller). Returns whether the counter reached
    /// zero; one that gives up leaves the group as a cancelled waiter does (uncounted, or
    /// having taken the wake-up meant for it: then it reports the zero).
    pub(crate) fn wait_until(&self, interrupted: &dyn Fn() -> bool) -> bool {
        gmp_core::park::checkpoint();
        let inner = &*self.inner;
        let mut state = inner.state.load(SeqCst);
        loop {
            let v = (state >> 32) as i32;
            if v == 0 {
                return true; // counter is 0, no need to wait
            }
            if interrupted() {
                return false;
            }
            // Increment the waiter count.
            match inner
                .state
                .compare_exchange(state, state + 1, SeqCst, SeqCst)
            {
                Ok(_) => {
                    let left = inner.sema.semacquire_until(
                        false,
                        WaitReason::SyncWaitGroupWait,
                        interrupted,
                        |_| {
                            inner.abandon_wait();
                        },
                    );
                    match left {
                        None | Some(Left::Holding) => {}
                        // Gave up: uncounted (false), or the zero came first (true).
                        Some(Left::Empty) => {
                            if !inner.abandon_wait() {
                                return false;
                            }
                        }
                    }
                    if inner.state.load(SeqCst) != 0 {
                        panic!("sync: WaitGroup is reused before previous Wait has returned");
                    }
                    return true;
                }
                Err(now) => state = now,
            }
        }
    }
}

/// Calls `done` when dropped, so a goroutine started by [`WaitGroup::go`] counts as done
/// whether `f` returns or unwinds.
impl Inner {
    /// Undoes a `wait` whose goroutine was cancelled while parked (it unwinds): it is counted
    /// in the waiter count, or, if the counter has reached zero, the last `done` is releasing
    /// one wake-up for it. It takes that wake-up if it is there, uncounts itself if it is
    /// still counted, and otherwise waits the few instructions until the wake-up shows up
    /// (the `done` runs on another thread). So no wake-up is left over for the next round.
    /// Runs during the unwind: never panics, never parks. Returns whether it took the wake-up
    /// (the counter reached zero first).
    fn abandon_wait(&self) -> bool {
        // A wake-up taken is one of this round (ours, or a sibling's that will take ours).
        self.sema.take_or_uncount(|| {
            let state = self.state.load(SeqCst);
            let (v, w) = ((state >> 32) as i32, state as u32);
            // `None` once the counter is zero: the last `done` is releasing the wake-ups.
            (v > 0 && w > 0).then(|| {
                self.state
                    .compare_exchange(state, state - 1, SeqCst, SeqCst)
                    .is_ok()
            })
        })
    }
}

struct DoneOnDrop(WaitGroup);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.done();
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.load(SeqCst);
        f.debug_struct("WaitGroup")
            .field("counter", &((state >> 32) as i32))
            .field("waiters", &(state as u32))
            .finish()
    }
}
