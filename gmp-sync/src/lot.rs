//! The goroutine parking lot: waiters keyed by address in hashed buckets (Go: `sema.go`'s
//! `semtable`; Rust: `parking_lot_core`).
//!
//! Every blocking primitive of this crate sleeps here. A waiter picks a *key* (the address of
//! the word it waits on), takes the lock of that key's bucket, runs a `validate` step that
//! rechecks the primitive's state (so a wake-up between "decide to wait" and "queue" cannot
//! be lost), joins the bucket's FIFO queue, releases the bucket lock, runs `before_sleep`, and
//! parks through [`gmp_core::park`] until a waker hands it an *unpark token*.
//!
//! # Invariants
//!
//! - A bucket lock is held only for short, non-blocking sections: never across a park.
//! - A [`Waiter`] lives in a [`SudogBox`] the parked caller owns: off its stack, from its
//!   P's cache (Go's semaphore waiters are `sudog`s from `acquireSudog` too), so that nothing
//!   but a parked goroutine itself touches its stack. The queue holds a pointer to it. Only
//!   the holder of the bucket lock touches a queued waiter: a waker removes it from the
//!   queue, takes its [`Unparker`], and stores the token into `state` with `Release`; after that store the waker never touches the waiter again, so the
//!   waiter may return (and free its record) as soon as it sees the token.
//! - The waiter's `key` changes only in [`requeue`], with the locks of both buckets held; a
//!   waiter that must find its own bucket (on unwind, or for a future timed wait) locks the
//!   bucket of the key it read, then re-reads the key (parking_lot's `lock_bucket_checked`).
//! - If the park unwinds (a goroutine cancelled while parked), the waiter removes itself from
//!   its queue before its record is freed, so the queue never holds a dangling pointer, and tells
//!   its primitive whether a waker had chosen it ([`Abandoned`]).
//!
//! Timed waits would slot in the same way as the unwind path: on timeout, lock the waiter's
//! bucket (checked), and if the waiter is still queued remove it and report the timeout;
//! otherwise a waker got there first and its token stands.

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{bucket_index, global, BucketGuard, BucketLock, UnsafeCell, TABLE_BITS};
use gmp_core::park::{SudogBox, Unparker, WaitReason};
use std::collections::VecDeque;
use std::fmt;
use std::ptr::NonNull;

/// What a waker hands to the waiter it wakes (parking_lot's `UnparkToken`). Must not be
/// `usize::MAX`, which marks a waiter not yet woken.
pub type UnparkToken = usize;

/// What a waiter leaves for wakers to read while it is queued (parking_lot's `ParkToken`):
/// the weighted semaphore stores the weight it asks for.
pub type ParkToken = usize;

/// `Waiter::state` before a waker stores its token.
const NOT_WOKEN: usize = usize::MAX;

/// One parked goroutine or thread, in a [`SudogBox`] it owns while it is queued.
struct Waiter {
    /// The key it waits on. Written only by [`requeue`] holding both buckets' locks.
    key: AtomicUsize,
    /// Set by the waiter before it is queued; read by wakers under the bucket lock.
    park_token: ParkToken,
    /// Taken by the waker under the bucket lock (so the wake needs no refcount traffic).
    unparker: UnsafeCell<Option<Unparker>>,
    /// The waiter's wake word:
    ///
    /// | value       | meaning                                     | written by                |
    /// |-------------|---------------------------------------------|---------------------------|
    /// | `NOT_WOKEN` | queued (or about to be), not yet woken      | the waiter, at creation   |
    /// | token `t`   | dequeued and woken with `t`; never changes  | one waker, bucket locked  |
    ///
    /// The waker's store is its last touch of the waiter (`Release`); the waiter reads it
    /// with `Acquire` and may return as soon as it sees a token.
    state: AtomicUsize,
}

/// A queued waiter. The pointer stays valid while the waiter is in a queue (see the module
/// invariants), and only the bucket lock holder dereferences it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct WaiterRef(NonNull<Waiter>);

// SAFETY: a WaiterRef is only dereferenced by whoever holds the lock of the bucket whose queue
// holds it, and the Waiter's shared fields are atomics or guarded by that lock; the pointee
// outlives its time in the queue (module invariants).
unsafe impl Send for WaiterRef {}

impl WaiterRef {
    fn waiter(&self) -> &Waiter {
        // SAFETY: only called with the bucket lock held while the waiter is queued (or being
        // dequeued under that lock), during which its owner keeps the record alive.
        unsafe { self.0.as_ref() }
    }

    fn key(&self) -> usize {
        self.waiter().key.load(Ordering::Relaxed)
    }

    /// Wakes a waiter already removed from its queue: takes its unparker and stores `token`.
    /// The caller must call `unpark` on the result after releasing the bucket lock.
    fn wake(self, token: UnparkToken) -> Unparker {
        debug_assert_ne!(token, NOT_WOKEN, "gmp-sync: reserved unpark token");
        let w = self.waiter();
        // SAFETY: the unparker slot is written at creation (before the waiter was queued, under
        // the same bucket lock) and taken only here, by the one waker that dequeued it.
        let unparker = w
            .unparker
            .with_mut(|p| unsafe { (*p).take() })
            .expect("gmp-sync: a waiter was woken twice");
        // Last touch of the waiter: from here it may return and free its record.
        w.state.store(token, Ordering::Release);
        unparker
    }
}

/// One hash bucket: a lock and the FIFO queue of the waiters whose keys hash here.
#[repr(align(64))]
struct Bucket {
    queue: BucketLock<VecDeque<WaiterRef>>,
}

global! {
    static TABLE: Box<[Bucket]> = (0..1usize << TABLE_BITS)
        .map(|_| Bucket { queue: BucketLock::new(VecDeque::new()) })
        .collect();
}

fn lock_bucket(key: usize) -> BucketGuard<'static, VecDeque<WaiterRef>> {
    TABLE[bucket_index(key)].queue.lock()
}

/// Removes every waiter on `key` from the locked bucket queue `q` and returns them in queue
/// order; the waiters of other keys keep theirs.
fn take_waiters(q: &mut VecDeque<WaiterRef>, key: usize) -> Vec<WaiterRef> {
    let mut taken = Vec::new();
    q.retain(|r| {
        if r.key() == key {
            taken.push(*r);
            false
        } else {
            true
        }
    });
    taken
}

/// Calls `abort` if dropped during an unwind: a panic between queueing a waiter and parking
/// would leave a dangling pointer in the queue, so it is not survivable.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        eprintln!("gmp-sync: a parking-lot callback panicked while a waiter was queued; aborting");
        std::process::abort();
    }
}

/// How a waiter left the parking lot when its park unwound (its goroutine was cancelled
/// while parked): what its primitive must now undo or pass on. See [`park`]'s `on_abandon`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abandoned {
    /// It was still queued on `key` (its last key: [`requeue`] may have moved it) and has
    /// been removed. No waker chose it; the primitive may still count it as a waiter.
    Dequeued {
        /// The key it was queued on.
        key: usize,
    },
    /// A waker had already dequeued it from `key` and handed it `token`, but it never got to
    /// act on it: whatever the token granted (a unit, a lock, a wake-up) is the primitive's
    /// to give back or pass on.
    Woken {
        /// The key it was woken from.
        key: usize,
        /// The token its waker handed it.
        token: UnparkToken,
    },
}

/// Removes a queued waiter from its bucket if its park unwinds, then tells its primitive how
/// it left (see the module invariants).
struct DequeueOnUnwind<'a, F: FnOnce(Abandoned)> {
    waiter: &'a Waiter,
    /// Taken when the park returns normally, so a normal return does nothing here.
    on_abandon: Option<F>,
}

impl<F: FnOnce(Abandoned)> Drop for DequeueOnUnwind<'_, F> {
    fn drop(&mut self) {
        let Some(on_abandon) = self.on_abandon.take() else {
            return;
        };
        on_abandon(leave(self.waiter));
    }
}

/// A queued waiter leaves without its wake-up (its park unwound, or it was interrupted):
/// takes it off its queue if it is still there, else reads the token a waker handed it.
fn leave(waiter: &Waiter) -> Abandoned {
    let me = WaiterRef(NonNull::from(waiter));
    loop {
        let key = waiter.key.load(Ordering::Relaxed);
        let mut q = lock_bucket(key);
        if waiter.key.load(Ordering::Relaxed) != key {
            continue; // requeued while we locked: try the new bucket
        }
        if let Some(pos) = q.iter().position(|r| *r == me) {
            q.remove(pos);
            return Abandoned::Dequeued { key };
        }
        // Not queued: a waker dequeued us under this lock and its token is stored; it no
        // longer touches us.
        let token = waiter.state.load(Ordering::Acquire);
        debug_assert_ne!(token, NOT_WOKEN, "gmp-sync: a dequeued waiter has no token");
        return Abandoned::Woken { key, token };
    }
}

/// How [`park_interruptible`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parked {
    /// `validate` said not to wait: nothing was queued.
    NotQueued,
    /// A waker dequeued the waiter and handed it this token.
    Woken(UnparkToken),
    /// `interrupted` said to stop waiting, and the waiter left as an abandoned one does: the
    /// primitive must undo or pass on what the waiter was counted in or granted.
    Interrupted(Abandoned),
}

/// Parks the caller on `key` (parking_lot_core's `park`; Go: `semacquire1`'s queue + park).
///
/// Under the bucket lock, `validate` runs; if it returns `false` nothing is queued and `park`
/// returns `None` at once. Otherwise the caller joins the key's queue (at the back, or at the
/// front if `lifo`, as Go's `queueLifo`), the bucket lock is released, `before_sleep` runs,
/// and the caller parks with `reason` until a waker dequeues it; `park` then returns the
/// waker's token. Spurious returns of [`gmp_core::park::park`] are absorbed here.
///
/// `validate` runs under the bucket lock: it must not block or call into the parking lot, and
/// if it panics nothing has been queued. `before_sleep` runs with no lock held and may call
/// into the parking lot (`Cond::wait` unlocks the mutex there, which may wake a waiter), but
/// must not panic: the waiter is queued by then, so a panic aborts the process.
///
/// If the park unwinds (the goroutine is cancelled while parked: its runtime was dropped),
/// the waiter is taken off its queue if it is still there, and `on_abandon` is called, with
/// no lock held, to say whether it was still queued or a waker had already chosen it, so
/// that the primitive can give back what the waiter was counted in or granted. It runs
/// during the unwind: it must not panic or park, but may call into the parking lot.
pub fn park(
    key: usize,
    park_token: ParkToken,
    lifo: bool,
    reason: WaitReason,
    validate: impl FnOnce() -> bool,
    before_sleep: impl FnOnce(),
    on_abandon: impl FnOnce(Abandoned),
) -> Option<UnparkToken> {
    let never = || false;
    match park_interruptible(
        key,
        park_token,
        lifo,
        reason,
        validate,
        before_sleep,
        &never,
        on_abandon,
    ) {
        Parked::NotQueued => None,
        Parked::Woken(t) => Some(t),
        Parked::Interrupted(_) => unreachable!("never interrupted"),
    }
}

/// [`park`] that also stops waiting when `interrupted()` says so (a context is done). It is
/// checked before each park and after each wake-up, so whoever makes it true must then unpark
/// the waiter (a context's `after_func` does). An interrupted waiter leaves as an abandoned
/// one does, and its primitive is told how ([`Parked::Interrupted`]); a waiter that was woken
/// before it saw the interruption returns [`Parked::Woken`].
#[allow(clippy::too_many_arguments)]
pub fn park_interruptible(
    key: usize,
    park_token: ParkToken,
    lifo: bool,
    reason: WaitReason,
    validate: impl FnOnce() -> bool,
    before_sleep: impl FnOnce(),
    interrupted: &dyn Fn() -> bool,
    on_abandon: impl FnOnce(Abandoned),
) -> Parked {
    // Go: `acquireSudog`.
    let waiter = SudogBox::new_with(|u| Waiter {
        key: AtomicUsize::new(key),
        park_token,
        unparker: UnsafeCell::new(Some(u)),
        state: AtomicUsize::new(NOT_WOKEN),
    });
    {
        let mut q = lock_bucket(key);
        if !validate() {
            return Parked::NotQueued;
        }
        let me = WaiterRef(NonNull::from(&*waiter));
        if lifo {
            q.push_front(me);
        } else {
            q.push_back(me);
        }
    }
    // `waiter` is published: until a waker's token shows up it must not be dropped queued.
    let mut dequeue_on_unwind = DequeueOnUnwind {
        waiter: &waiter,
        on_abandon: Some(on_abandon),
    };
    let bomb = AbortOnUnwind;
    before_sleep();
    std::mem::forget(bomb);
    loop {
        let s = waiter.state.load(Ordering::Acquire);
        if s != NOT_WOKEN {
            dequeue_on_unwind.on_abandon = None;
            return Parked::Woken(s);
        }
        if interrupted() {
            dequeue_on_unwind.on_abandon = None;
            return Parked::Interrupted(leave(&waiter));
        }
        crate::loom::park(reason);
    }
}

/// What an unpark found, passed to its callback under the bucket lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnparkResult {
    /// Whether a waiter was dequeued (and will be woken).
    pub unparked: bool,
    /// Whether waiters on the same key remain queued.
    pub have_more: bool,
}

/// Dequeues and wakes the first waiter on `key` (FIFO) (parking_lot_core's `unpark_one`).
///
/// `callback` runs under the bucket lock, whether or not a waiter was found, and returns the
/// token for the woken waiter. It is where a waker decides to hand off directly (Go's
/// `semrelease(handoff)`), or clears a "has waiters" flag when `have_more` is false.
pub fn unpark_one(key: usize, callback: impl FnOnce(UnparkResult) -> UnparkToken) -> UnparkResult {
    let mut q = lock_bucket(key);
    let Some(pos) = q.iter().position(|r| r.key() == key) else {
        callback(UnparkResult::default());
        return UnparkResult::default();
    };
    let w = q.remove(pos).expect("position is in range");
    let result = UnparkResult {
        unparked: true,
        have_more: q.iter().skip(pos).any(|r| r.key() == key),
    };
    let token = callback(result);
    let unparker = w.wake(token);
    drop(q);
    unparker.wake();
    result
}

/// Dequeues and wakes every waiter on `key` with `token`; returns how many.
pub fn unpark_all(key: usize, token: UnparkToken) -> usize {
    let mut q = lock_bucket(key);
    let woken = take_waiters(&mut q, key);
    let unparkers: Vec<Unparker> = woken.into_iter().map(|w| w.wake(token)).collect();
    drop(q);
    let n = unparkers.len();
    for u in unparkers {
        u.wake();
    }
    n
}

/// The waiters of one key, seen under their bucket lock by [`with_queue`].
pub(crate) struct Queue<'a> {
    key: usize,
    q: &'a mut VecDeque<WaiterRef>,
    to_unpark: Vec<Unparker>,
}

impl fmt::Debug for Queue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("key", &self.key)
            .field("waiters", &self.len())
            .finish()
    }
}

impl Queue<'_> {
    /// The park token of the first waiter on the key, if any.
    pub(crate) fn front(&self) -> Option<ParkToken> {
        self.q
            .iter()
            .find(|r| r.key() == self.key)
            .map(|r| r.waiter().park_token)
    }

    /// Dequeues the first waiter on the key; it is woken with `token` once the bucket lock is
    /// released. Returns whether there was one.
    pub(crate) fn unpark_front(&mut self, token: UnparkToken) -> bool {
        let key = self.key;
        let Some(pos) = self.q.iter().position(|r| r.key() == key) else {
            return false;
        };
        let w = self.q.remove(pos).expect("position is in range");
        self.to_unpark.push(w.wake(token));
        true
    }

    /// Whether any waiter on the key is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.front().is_none()
    }

    /// How many waiters on the key are queued.
    pub(crate) fn len(&self) -> usize {
        self.q.iter().filter(|r| r.key() == self.key).count()
    }
}

/// Runs `f` with the queue of `key` under its bucket lock, then wakes whoever `f` dequeued.
/// For waiters that need more than FIFO unpark-one (the weighted semaphore serves the head
/// while its weight fits, parking_lot's `unpark_filter`). `f` must not block or call into the
/// parking lot.
pub(crate) fn with_queue<R>(key: usize, f: impl FnOnce(&mut Queue<'_>) -> R) -> R {
    let mut guard = lock_bucket(key);
    let mut queue = Queue {
        key,
        q: &mut guard,
        to_unpark: Vec::new(),
    };
    let r = f(&mut queue);
    let to_unpark = std::mem::take(&mut queue.to_unpark);
    drop(guard);
    for u in to_unpark {
        u.wake();
    }
    r
}

/// What [`requeue`] should do with the waiters of `from`, decided under both bucket locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequeueOp {
    /// Leave everything as it is.
    Abort,
    /// Wake the first waiter with the token and move the rest to the back of `to`'s queue.
    UnparkOneRequeueRest(UnparkToken),
    /// Move every waiter to the back of `to`'s queue.
    RequeueAll,
}

/// Moves waiters from key `from` to key `to` without waking them (parking_lot_core's
/// `unpark_requeue`): `Cond::broadcast` moves its waiters onto the mutex instead of waking a
/// herd that would only queue there again.
///
/// With both buckets locked, `validate` runs (returning `false` aborts), then `op` gets the
/// number of waiters on `from` and chooses. Returns `(woken, requeued)`.
pub fn requeue(
    from: usize,
    to: usize,
    validate: impl FnOnce() -> bool,
    op: impl FnOnce(usize) -> RequeueOp,
) -> (usize, usize) {
    let (i, j) = (bucket_index(from), bucket_index(to));
    // Lock in index order so two requeues cannot deadlock (parking_lot's `lock_bucket_pair`).
    let (mut first, mut second) = if i < j {
        let a = TABLE[i].queue.lock();
        let b = TABLE[j].queue.lock();
        (a, Some(b))
    } else if i > j {
        let b = TABLE[j].queue.lock();
        let a = TABLE[i].queue.lock();
        (a, Some(b))
    } else {
        (TABLE[i].queue.lock(), None)
    };
    if !validate() {
        return (0, 0);
    }
    let n = first.iter().filter(|r| r.key() == from).count();
    let op = op(n);
    let (wake_token, skip) = match op {
        RequeueOp::Abort => return (0, 0),
        RequeueOp::UnparkOneRequeueRest(t) => (Some(t), 1),
        RequeueOp::RequeueAll => (None, 0),
    };
    let moving = take_waiters(&mut first, from);
    let mut unparker = None;
    let mut moved = 0;
    for (idx, w) in moving.into_iter().enumerate() {
        if idx < skip {
            unparker = Some(w.wake(wake_token.expect("skip implies a token")));
            continue;
        }
        w.waiter().key.store(to, Ordering::Relaxed);
        match second.as_mut() {
            Some(q) => q.push_back(w),
            None => first.push_back(w),
        }
        moved += 1;
    }
    drop(second);
    drop(first);
    let woken = usize::from(unparker.is_some());
    if let Some(u) = unparker {
        u.wake();
    }
    (woken, moved)
}
