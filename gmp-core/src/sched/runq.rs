//! The per-P local run queue: a bounded single-producer, multi-consumer ring plus `runnext`
//! (Go: `runqput`, `runqget`, `runqgrab`, `runqsteal` in runtime/proc.go).
//!
//! # Who may touch what
//!
//! A [`RunQueue`] belongs to one P. Whoever holds that P (its *owner*) is the single
//! producer: only it calls [`put`](RunQueue::put), [`put_batch`](RunQueue::put_batch),
//! [`get`](RunQueue::get) and [`drain`](RunQueue::drain), and only it passes the queue as the
//! `dst` of [`runqsteal`](RunQueue::runqsteal). Any thread may call `runqsteal` with the
//! queue as the *victim* (`self`), and [`len`](RunQueue::len)/[`is_empty`](RunQueue::is_empty).
//! The owner-only methods are `unsafe fn`: two producers at once would let `tail` move
//! backwards and hand out the same item twice.
//!
//! # The three words
//!
//! `head` and `tail` are free-running counters (they wrap); slot `i % LOCAL_QUEUE_CAPACITY`
//! holds the item at position `i`. The ring holds the items at positions `head..tail`.
//!
//! | word      | Go name    | written by                                  | how              |
//! |-----------|------------|---------------------------------------------|------------------|
//! | `tail`    | `runqtail` | the owner only                              | store-release    |
//! | `head`    | `runqhead` | any consumer: owner (`get`, `drain`, overflow), thieves | CAS-release |
//! | `runnext` | `runnext`  | owner: anything → item, item → null; thieves: item → null | swap / CAS |
//!
//! Invariants:
//! - `0 <= tail - head <= LOCAL_QUEUE_CAPACITY` (wrapping subtraction), as seen by the owner.
//!   A thief that loads `head` then `tail` may see `tail - head > LOCAL_QUEUE_CAPACITY` (its
//!   `head` is stale) and retries, as Go's `runqgrab` does. It never sees `tail < head`: see
//!   ordering rule 3 below.
//! - The slots of positions `head..tail` own one item each (a pointer from [`Ptr::into_raw`]).
//!   Other slots hold stale pointers that own nothing.
//! - Only the owner makes `runnext` non-null, so when the owner's CAS `item → null` fails,
//!   a thief has taken the item (Go's `runqget` comment) and there is nothing to retry.
//!
//! `runnext` states:
//!
//! | `runnext` | meaning                  | next states                                               |
//! |-----------|--------------------------|-----------------------------------------------------------|
//! | null      | no runnext               | item (owner `put(_, true)`)                               |
//! | item `g`  | `g` runs next, inheriting the time slice | item `g2` (owner `put(g2, true)`, `g` is kicked to the tail); null (owner `get`/`drain`, or a thief's `runqsteal(_, true, _)` when the ring is empty) |
//!
//! # Consuming
//!
//! A consumer reads the slots of `head..head+n` *first* and commits with one CAS of `head`
//! from `h` to `h+n` (Go's design). If the CAS fails, what it read may be stale, even
//! overwritten, and is thrown away. The slots are [`AtomicPtr`]s so that such a speculative
//! read of a slot the owner is rewriting is a benign race, not a data race.
//!
//! Why Go's two-word scheme rather than tokio's packed `(steal, real)` head: our items are
//! one pointer, so copying them speculatively costs nothing and needs no `MaybeUninit`.
//! Thieves never block the owner or each other; a loser just retries its CAS. In tokio, a steal
//! in flight makes other thieves give up, and the owner sees less room. The overflow path
//! takes the oldest half with one CAS, exactly as Go's `runqputslow`, and loom has one fewer
//! word to model. The price is that a thief which loses its CAS has copied up to 128 pointers
//! for nothing.
//!
//! ABA: Go's counters are `uint32`. Ours are `usize`, so on 64-bit targets a thief's stale CAS
//! could only succeed wrongly after 2^64 consumes (tokio#5041 was this bug with 16-bit indices).
//!
//! # Memory ordering
//!
//! 1. *Publish:* the owner stores a slot (relaxed) and then `tail` (release). A consumer loads
//!    `tail` (acquire) before reading slots below it, so it sees the slot, and everything the
//!    producer wrote into the item before putting it.
//! 2. *Recycle:* a consumer reads its slots before its release CAS on `head`. The owner loads
//!    `head` (acquire) before storing into a slot that belonged to an old position. So a
//!    winning consumer's reads happen before the owner's overwrite. Later CASes by other
//!    consumers continue the release sequence.
//! 3. *`tail >= head`:* a consumer moving `head` to `h` had seen `tail >= h`. Loading `head`
//!    with acquire *before* `tail` makes our `tail` load at least that (read-read coherence).
//! 4. *runnext:* the owner's swap is release (publishes the item); a taker's CAS is acquire.
//!    Every non-null value is written by an owner swap, so the taker syncs with its writer.
//! 5. *Not sequentially consistent:* [`is_empty`](RunQueue::is_empty) and
//!    [`len`](RunQueue::len) are snapshots. Go's `runqempty` re-reads `runqtail` to catch a
//!    runnext kicked to the ring between its reads. Here that re-read catches the kick when the
//!    observer saw `runnext == null` written by the owner (`get`'s CAS is AcqRel). When a thief
//!    took the new runnext instead, the observer may still see the old tail and report empty
//!    while the kicked item sits in the ring. Go's seq-cst atomics rule that out. Here it is
//!    ruled out by a `fence(SeqCst)` on both sides, which Go's lost-wakeup protocol needs
//!    anyway: "put work; StoreLoad; check `nmspinning`", and the spinning M's "decrement
//!    `nmspinning`; StoreLoad; check every `runqempty`". Those fences belong to the scheduler;
//!    this queue gives only acquire/release.

use crate::loom::atomic::{
    AtomicPtr, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use crate::loom::Arc;
use std::fmt;
use std::marker::PhantomData;
use std::ptr;

/// Slots in a P's local ring: 256 as Go's `len(p.runq)` (runtime/runtime2.go), 4 under loom so
/// that models reach the full and wrap-around paths (chosen in `crate::loom`).
pub const LOCAL_QUEUE_CAPACITY: usize = crate::loom::LOCAL_QUEUE_CAPACITY;

const _: () = assert!(
    LOCAL_QUEUE_CAPACITY.is_power_of_two() && LOCAL_QUEUE_CAPACITY >= 2,
    "LOCAL_QUEUE_CAPACITY must be a power of two >= 2",
);

const MASK: usize = LOCAL_QUEUE_CAPACITY - 1;

/// How many items a full ring spills to the global queue (Go: `len(pp.runq)/2` in
/// `runqputslow`); the new item makes the batch one longer.
const OVERFLOW_BATCH: usize = LOCAL_QUEUE_CAPACITY / 2;

/// Same as Go's `usleep(3)` in `runqgrab`: a thief gives a running victim about 3 µs to
/// schedule its own `runnext` before stealing it. Go: "A sync chan send/recv takes ~50ns as of
/// time of writing, so 3us gives ~50x overshoot."
const RUNNEXT_STEAL_BACKOFF_US: u64 = 3;

/// An owned, pointer-sized handle that can travel through a [`RunQueue`] as a raw pointer.
///
/// # Safety
///
/// `into_raw` must return a non-null pointer and give up ownership of the value without
/// dropping it. `from_raw`, applied to that pointer, must give back the same value. The queue
/// calls `from_raw` at most once for each `into_raw`, and never dereferences the pointer.
pub unsafe trait Ptr {
    /// Gives up ownership and returns a non-null pointer that stands for the value.
    fn into_raw(self) -> *mut ();

    /// Takes the value back.
    ///
    /// # Safety
    ///
    /// `p` was returned by `into_raw` of this type, and it is not used again afterwards.
    unsafe fn from_raw(p: *mut ()) -> Self;
}

// SAFETY: `Box::into_raw` returns a non-null pointer and leaks the box; `Box::from_raw` on that
// pointer rebuilds the same box (the cast to and from `()` keeps the address).
unsafe impl<X> Ptr for Box<X> {
    #[inline]
    fn into_raw(self) -> *mut () {
        Box::into_raw(self).cast()
    }

    #[inline]
    unsafe fn from_raw(p: *mut ()) -> Self {
        // SAFETY: by the caller's contract `p` came from `Box::<X>::into_raw` above.
        unsafe { Box::from_raw(p.cast::<X>()) }
    }
}

// SAFETY: `Arc::into_raw` returns a non-null pointer to the value and keeps the strong count;
// `Arc::from_raw` on that pointer takes the count back.
unsafe impl<X> Ptr for Arc<X> {
    #[inline]
    fn into_raw(self) -> *mut () {
        Arc::into_raw(self).cast_mut().cast()
    }

    #[inline]
    unsafe fn from_raw(p: *mut ()) -> Self {
        // SAFETY: by the caller's contract `p` came from `Arc::<X>::into_raw` above.
        unsafe { Arc::from_raw(p.cast_const().cast::<X>()) }
    }
}

/// A P's local run queue (Go: `p.runqhead`, `p.runqtail`, `p.runq`, `p.runnext`): a ring of
/// [`LOCAL_QUEUE_CAPACITY`] items with one producer (the owner) and many consumers (the owner
/// and thieves), plus the `runnext` slot for the item that runs next. The module doc has the
/// state tables and the memory-ordering argument.
pub struct RunQueue<T: Ptr> {
    /// Go: `runqhead`. Position of the oldest item; advanced by a release CAS of any
    /// consumer after it has read the slots it takes.
    head: AtomicUsize,
    /// Go: `runqtail`. One past the newest item; stored (release) by the owner only, after the
    /// slot is written.
    tail: AtomicUsize,
    /// Go: `runnext`. Null, or the item that runs before the ring; see the module doc's table.
    runnext: AtomicPtr<()>,
    /// Go: `runq`. Slot `i & MASK` holds position `i`; it owns an item iff `head <= i < tail`.
    ring: [AtomicPtr<()>; LOCAL_QUEUE_CAPACITY],
    /// The queue owns its items (for `Send`/`Sync` and drop check).
    _items: PhantomData<T>,
}

// SAFETY: the queue hands each item to exactly one thread (the CASes on `head` and `runnext`
// decide who), so sharing the queue only ever moves items between threads: `T: Send` suffices.
// All shared state is atomic.
unsafe impl<T: Ptr + Send> Sync for RunQueue<T> {}

impl<T: Ptr> Default for RunQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Ptr> fmt::Debug for RunQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ring, runnext) = self.snapshot();
        f.debug_struct("RunQueue")
            .field("ring_len", &ring)
            .field("runnext", &runnext)
            .finish()
    }
}

impl<T: Ptr> RunQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        RunQueue {
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            runnext: AtomicPtr::new(ptr::null_mut()),
            ring: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            _items: PhantomData,
        }
    }

    #[inline]
    fn slot(&self, pos: usize) -> &AtomicPtr<()> {
        &self.ring[pos & MASK]
    }

    /// Puts `item` on the queue: into `runnext` if `next` (the old `runnext`, if any, is kicked
    /// to the tail of the ring), else at the tail of the ring.
    ///
    /// When the ring is full, the oldest half of it plus the item that did not fit come back
    /// as `Err(batch)`, oldest first. The caller pushes the batch onto the global queue
    /// (Go: `runqputslow` → `globrunqputbatch`).
    ///
    /// # Safety
    ///
    /// The caller is the queue's owner: no other thread runs `put`, `put_batch`, `get`,
    /// `drain`, or `runqsteal` with this queue as `dst`, at the same time.
    pub unsafe fn put(&self, item: T, next: bool) -> Result<(), Vec<T>> {
        // Go: runqput
        let mut raw = item.into_raw();
        debug_assert!(!raw.is_null(), "Ptr::into_raw returned null");
        if next {
            // Go loops on a CAS; only the owner stores non-null, so a swap is the same thing.
            // Release publishes the item to a thief's CAS (ordering rule 4).
            let old = self.runnext.swap(raw, AcqRel);
            if old.is_null() {
                return Ok(());
            }
            // Kick the old runnext out to the regular run queue.
            raw = old;
        }
        loop {
            let h = self.head.load(Acquire); // synchronize with consumers (rule 2)
            let t = self.tail.load(Relaxed); // our own word
            let len = t.wrapping_sub(h);
            if len < LOCAL_QUEUE_CAPACITY {
                self.slot(t).store(raw, Relaxed);
                self.tail.store(t.wrapping_add(1), Release); // publish (rule 1)
                return Ok(());
            }
            debug_assert_eq!(len, LOCAL_QUEUE_CAPACITY, "runqput: tail - head > capacity");
            // SAFETY: we are the owner (our caller's contract), `raw` owns an item and `h`, `t`
            // were just read with the ring full.
            if let Some(batch) = unsafe { self.put_slow(raw, h, t) } {
                return Err(batch);
            }
            // A consumer took something: the fast path now succeeds.
        }
    }

    /// Takes the oldest half of a full ring with one CAS and returns it followed by `raw`, or
    /// `None` if a consumer moved `head` first.
    ///
    /// # Safety
    ///
    /// Owner only; `raw` came from `T::into_raw`; `t - h == LOCAL_QUEUE_CAPACITY` as read by
    /// the owner.
    unsafe fn put_slow(&self, raw: *mut (), h: usize, t: usize) -> Option<Vec<T>> {
        // Go: runqputslow
        debug_assert_eq!(
            t.wrapping_sub(h) / 2,
            OVERFLOW_BATCH,
            "runqputslow: queue is not full"
        );
        let taken = h.wrapping_add(OVERFLOW_BATCH);
        if self
            .head
            .compare_exchange(h, taken, Release, Relaxed)
            .is_err()
        {
            return None;
        }
        // As Go's runqdrain, read after the CAS: only the owner (us) stores into slots, so
        // positions h..h+OVERFLOW_BATCH, now ours, cannot change under us.
        let mut batch = Vec::with_capacity(OVERFLOW_BATCH + 1);
        for pos in 0..OVERFLOW_BATCH {
            let p = self.slot(h.wrapping_add(pos)).load(Relaxed);
            // SAFETY: the CAS gave us positions h..h+OVERFLOW_BATCH, each owning one item
            // from `T::into_raw`; nobody else will read them as owned again.
            batch.push(unsafe { T::from_raw(p) });
        }
        // SAFETY: `raw` came from `T::into_raw` (our caller's contract) and is used once.
        batch.push(unsafe { T::from_raw(raw) });
        Some(batch)
    }

    /// Puts `items` at the tail of the ring, oldest first, as long as there is room (Go:
    /// `runqputbatch`, used to move a batch from the global queue). What does not fit comes
    /// back as `Err(rest)` in order, for the caller to leave on the global queue; `runnext`
    /// is not touched.
    ///
    /// # Safety
    ///
    /// The caller is the queue's owner (see [`put`](Self::put)).
    pub unsafe fn put_batch<I: IntoIterator<Item = T>>(&self, items: I) -> Result<(), Vec<T>> {
        // Go: runqputbatch
        /// Publishes what was stored so far even if the iterator panics.
        struct Publish<'a> {
            tail: &'a AtomicUsize,
            t: usize,
        }
        impl Drop for Publish<'_> {
            fn drop(&mut self) {
                self.tail.store(self.t, Release); // publish (rule 1)
            }
        }

        let mut items = items.into_iter();
        let h = self.head.load(Acquire); // synchronize with consumers (rule 2)
        let mut publish = Publish {
            tail: &self.tail,
            t: self.tail.load(Relaxed),
        };
        while publish.t.wrapping_sub(h) < LOCAL_QUEUE_CAPACITY {
            let Some(item) = items.next() else { break };
            self.slot(publish.t).store(item.into_raw(), Relaxed);
            publish.t = publish.t.wrapping_add(1);
        }
        drop(publish);
        let rest: Vec<T> = items.collect();
        if rest.is_empty() {
            Ok(())
        } else {
            Err(rest)
        }
    }

    /// Takes the next item to run: `runnext` first, with `true` (it inherits the current time
    /// slice), else the head of the ring, with `false` (Go: `runqget`'s `inheritTime`).
    ///
    /// # Safety
    ///
    /// The caller is the queue's owner (see [`put`](Self::put)).
    pub unsafe fn get(&self) -> Option<(T, bool)> {
        // Go: runqget
        let next = self.runnext.load(Relaxed);
        // If the CAS fails, a thief took it: only the owner makes runnext non-null, so there is
        // nothing to retry. AcqRel: the release half lets `is_empty`'s tail recheck see a kick
        // that preceded this take.
        if !next.is_null()
            && self
                .runnext
                .compare_exchange(next, ptr::null_mut(), AcqRel, Relaxed)
                .is_ok()
        {
            // SAFETY: the CAS moved the item out of `runnext`; it came from `T::into_raw`.
            return Some((unsafe { T::from_raw(next) }, true));
        }
        loop {
            let h = self.head.load(Acquire); // synchronize with other consumers
            let t = self.tail.load(Relaxed); // our own word
            if t == h {
                return None;
            }
            let p = self.slot(h).load(Relaxed);
            if self
                .head
                .compare_exchange(h, h.wrapping_add(1), Release, Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS gave us position h, which owned the item in its slot (the
                // owner wrote it, and only the owner writes slots).
                return Some((unsafe { T::from_raw(p) }, false));
            }
        }
    }

    /// Steals from `self` (the victim) into `dst` (the caller's own queue) and returns one
    /// item to run (Go: `runqsteal` + `runqgrab`).
    ///
    /// Takes the oldest ceil-half of the victim's ring (at most what fits in `dst`, plus the
    /// one returned). The newest of them is returned; the others go to `dst`'s tail, oldest
    /// first. If the victim's ring is empty and `steal_runnext`, takes the victim's `runnext`
    /// instead. With `victim_running` (the victim P is running), it first backs off about 3 µs,
    /// so that the victim can run its own `runnext`. That avoids thrashing a goroutine that
    /// was readied just before its P blocked.
    ///
    /// # Safety
    ///
    /// The caller is `dst`'s owner (see [`put`](Self::put)).
    ///
    /// # Panics
    ///
    /// If `dst` is `self`.
    pub unsafe fn runqsteal(
        &self,
        dst: &RunQueue<T>,
        steal_runnext: bool,
        victim_running: bool,
    ) -> Option<T> {
        assert!(
            !ptr::eq(self, dst),
            "runqsteal: a P cannot steal from its own queue"
        );
        let t = dst.tail.load(Relaxed); // dst's owner's own word
        let len = t.wrapping_sub(dst.head.load(Acquire)); // dst's consumers are done (rule 2)
        let room = LOCAL_QUEUE_CAPACITY - len.min(LOCAL_QUEUE_CAPACITY);
        let (stored, run) = self.runqgrab(dst, t, room + 1, steal_runnext, victim_running)?;
        if stored > 0 {
            dst.tail.store(t.wrapping_add(stored), Release); // publish (rule 1)
        }
        // SAFETY: `runqgrab` moved this item's ownership to us by a successful CAS; it came from
        // `T::into_raw`.
        Some(unsafe { T::from_raw(run) })
    }

    /// Takes up to `max` (>= 1) items from `self`: all but the newest are copied to `dst`'s
    /// slots from position `dst_tail` on (not yet published), the newest is returned. Returns
    /// `(copied, newest)`, or `None` if there was nothing to take.
    fn runqgrab(
        &self,
        dst: &RunQueue<T>,
        dst_tail: usize,
        max: usize,
        steal_runnext: bool,
        victim_running: bool,
    ) -> Option<(usize, *mut ())> {
        debug_assert!(max >= 1);
        loop {
            let h = self.head.load(Acquire); // synchronize with other consumers (rule 3)
            let t = self.tail.load(Acquire); // synchronize with the producer (rule 1)
            let len = t.wrapping_sub(h);
            let n = len - len / 2;
            if n == 0 {
                if !steal_runnext {
                    return None;
                }
                let next = self.runnext.load(Acquire);
                if next.is_null() {
                    return None;
                }
                if victim_running {
                    // Let the victim run its own runnext rather than steal it from under it.
                    crate::loom::usleep(RUNNEXT_STEAL_BACKOFF_US);
                }
                if self
                    .runnext
                    .compare_exchange(next, ptr::null_mut(), Acquire, Relaxed)
                    .is_err()
                {
                    // The owner ran it, or kicked it to the ring: look again.
                    continue;
                }
                return Some((0, next));
            }
            if n > LOCAL_QUEUE_CAPACITY / 2 {
                // Inconsistent h and t (h went stale while t moved on): read them again.
                crate::loom::spin_loop();
                continue;
            }
            let n = n.min(max);
            for i in 0..n - 1 {
                // Speculative: if the owner is already rewriting this slot, our CAS fails.
                let p = self.slot(h.wrapping_add(i)).load(Relaxed);
                dst.slot(dst_tail.wrapping_add(i)).store(p, Relaxed);
            }
            let newest = self.slot(h.wrapping_add(n - 1)).load(Relaxed);
            if self
                .head
                .compare_exchange(h, h.wrapping_add(n), Release, Relaxed)
                .is_ok()
            {
                return Some((n - 1, newest));
            }
        }
    }

    /// Takes everything: `runnext` first, then the ring oldest first (Go: `runqdrain`, for
    /// `procresize` and shutdown).
    ///
    /// # Safety
    ///
    /// The caller is the queue's owner (see [`put`](Self::put)).
    pub unsafe fn drain(&self) -> Vec<T> {
        // Go: runqdrain
        let mut out = Vec::new();
        let next = self.runnext.swap(ptr::null_mut(), AcqRel);
        if !next.is_null() {
            // SAFETY: the swap moved the item out of `runnext`; it came from `T::into_raw`.
            out.push(unsafe { T::from_raw(next) });
        }
        loop {
            let h = self.head.load(Acquire); // synchronize with other consumers
            let t = self.tail.load(Relaxed); // our own word
            let n = t.wrapping_sub(h);
            if n == 0 {
                return out;
            }
            debug_assert!(
                n <= LOCAL_QUEUE_CAPACITY,
                "runqdrain: tail - head > capacity"
            );
            if self.head.compare_exchange(h, t, Release, Relaxed).is_ok() {
                // Read after the CAS (as Go): only the owner stores into slots.
                out.reserve(n);
                for pos in 0..n {
                    let p = self.slot(h.wrapping_add(pos)).load(Relaxed);
                    // SAFETY: the CAS gave us positions h..t, each owning one item.
                    out.push(unsafe { T::from_raw(p) });
                }
                return out;
            }
        }
    }

    /// How many items are queued, counting `runnext`. A snapshot: exact for the owner, possibly
    /// stale for other threads (module doc, ordering rule 5).
    pub fn len(&self) -> usize {
        let (ring, runnext) = self.snapshot();
        ring + usize::from(runnext)
    }

    /// Whether the ring and `runnext` are both empty (Go: `runqempty`). A snapshot, as
    /// [`len`](Self::len); `is_empty() == (len() == 0)` for the same snapshot.
    pub fn is_empty(&self) -> bool {
        let (ring, runnext) = self.snapshot();
        ring == 0 && !runnext
    }

    /// `(ring length, runnext is set)`, read consistently as Go's `runqempty`: seeing
    /// `head == tail` and then `runnext == null` does not mean empty if, in between, the
    /// owner kicked runnext to the ring and then took the new runnext. Re-reading `tail`
    /// catches the kick.
    fn snapshot(&self) -> (usize, bool) {
        loop {
            let h = self.head.load(Acquire); // before tail (rule 3)
            let t = self.tail.load(Acquire);
            let runnext = !self.runnext.load(Acquire).is_null();
            if t == self.tail.load(Acquire) {
                return (t.wrapping_sub(h).min(LOCAL_QUEUE_CAPACITY), runnext);
            }
            crate::loom::spin_loop();
        }
    }
}

impl<T: Ptr> Drop for RunQueue<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self` means no other thread can use the queue, so we are its owner.
        while unsafe { self.get() }.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loom::atomic::{AtomicU8, Ordering::SeqCst};
    use crate::loom::Mutex;
    use std::collections::HashSet;

    const CAP: usize = LOCAL_QUEUE_CAPACITY;

    type Q = RunQueue<Box<usize>>;

    fn b(v: usize) -> Box<usize> {
        Box::new(v)
    }

    fn vals(v: impl IntoIterator<Item = Box<usize>>) -> Vec<usize> {
        v.into_iter().map(|x| *x).collect()
    }

    /// Owner-side helpers: every test thread below owns the queues it calls these on.
    fn put(q: &Q, v: usize, next: bool) -> Result<(), Vec<usize>> {
        // SAFETY: the calling test thread is the queue's only owner.
        unsafe { q.put(b(v), next) }.map_err(vals)
    }

    fn get(q: &Q) -> Option<(usize, bool)> {
        // SAFETY: the calling test thread is the queue's only owner.
        unsafe { q.get() }.map(|(x, inherit)| (*x, inherit))
    }

    fn steal(victim: &Q, dst: &Q, runnext: bool) -> Option<usize> {
        // SAFETY: the calling test thread is `dst`'s only owner.
        unsafe { victim.runqsteal(dst, runnext, false) }.map(|x| *x)
    }

    fn drain(q: &Q) -> Vec<usize> {
        // SAFETY: the calling test thread is the queue's only owner.
        vals(unsafe { q.drain() })
    }

    #[test]
    fn fifo_ring_and_runnext_first() {
        let q = Q::new();
        assert!(q.is_empty());
        assert_eq!(get(&q), None);
        for i in 0..5 {
            put(&q, i, false).unwrap();
        }
        assert_eq!(q.len(), 5);
        put(&q, 100, true).unwrap();
        assert_eq!(q.len(), 6);
        assert_eq!(get(&q), Some((100, true)));
        for i in 0..5 {
            assert_eq!(get(&q), Some((i, false)));
        }
        assert_eq!(get(&q), None);
        assert!(q.is_empty());
    }

    /// Go's observable order with GOMAXPROCS=1: `for i := 0; i < 5; i++ { go print(i) }` prints
    /// `4 0 1 2 3`: each `go` puts the new G in runnext and kicks the previous one to the tail.
    #[test]
    fn runnext_kicks_previous_to_tail() {
        let q = Q::new();
        for i in 0..5 {
            put(&q, i, true).unwrap();
        }
        let order: Vec<_> = std::iter::from_fn(|| get(&q)).collect();
        assert_eq!(
            order,
            [(4, true), (0, false), (1, false), (2, false), (3, false)]
        );
    }

    #[test]
    fn full_ring_spills_oldest_half_plus_item() {
        let q = Q::new();
        for i in 0..CAP {
            put(&q, i, false).unwrap();
        }
        assert_eq!(q.len(), CAP);
        let batch = put(&q, 1000, false).unwrap_err();
        let expect: Vec<_> = (0..CAP / 2).chain([1000]).collect();
        assert_eq!(batch, expect);
        assert_eq!(q.len(), CAP / 2);
        // Room again: the fast path works and FIFO continues with the newer half.
        put(&q, 2000, false).unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| get(&q)).map(|(v, _)| v).collect();
        let expect: Vec<_> = (CAP / 2..CAP).chain([2000]).collect();
        assert_eq!(rest, expect);
    }

    #[test]
    fn full_ring_with_next_spills_kicked_runnext() {
        let q = Q::new();
        put(&q, 500, true).unwrap();
        for i in 0..CAP {
            put(&q, i, false).unwrap();
        }
        // 501 goes to runnext; 500 is kicked into a full ring and spills with the oldest half.
        let batch = put(&q, 501, true).unwrap_err();
        let expect: Vec<_> = (0..CAP / 2).chain([500]).collect();
        assert_eq!(batch, expect);
        assert_eq!(get(&q), Some((501, true)));
        assert_eq!(q.len(), CAP / 2);
    }

    #[test]
    fn wraps_around_many_times() {
        let q = Q::new();
        let mut next_in = 0;
        let mut next_out = 0;
        for round in 0..10 * CAP {
            for _ in 0..(round % 3) + 1 {
                put(&q, next_in, false).unwrap();
                next_in += 1;
            }
            for _ in 0..(round % 3) + 1 {
                assert_eq!(get(&q), Some((next_out, false)));
                next_out += 1;
            }
        }
        assert!(q.is_empty());
    }

    #[test]
    fn steal_takes_ceil_half_and_runs_newest() {
        let victim = Q::new();
        let thief = Q::new();
        for i in 0..5 {
            put(&victim, i, false).unwrap();
        }
        put(&victim, 99, true).unwrap();
        // ceil(5/2) = 3: 0 and 1 go to the thief's ring, 2 is returned; runnext stays.
        assert_eq!(steal(&victim, &thief, true), Some(2));
        assert_eq!(thief.len(), 2);
        assert_eq!(drain(&thief), [0, 1]);
        assert_eq!(drain(&victim), [99, 3, 4]);
    }

    #[test]
    fn steal_runnext_only_when_ring_empty_and_asked() {
        let victim = Q::new();
        let thief = Q::new();
        put(&victim, 7, true).unwrap();
        assert_eq!(steal(&victim, &thief, false), None);
        assert_eq!(victim.len(), 1);
        // SAFETY: this thread owns `thief`.
        let got = unsafe { victim.runqsteal(&thief, true, true) }.map(|x| *x);
        assert_eq!(got, Some(7));
        assert!(victim.is_empty() && thief.is_empty());
        assert_eq!(steal(&victim, &thief, true), None);
    }

    #[test]
    fn steal_is_bounded_by_room_in_dst() {
        let victim = Q::new();
        let thief = Q::new();
        for i in 0..CAP {
            put(&victim, i, false).unwrap();
            put(&thief, 1000 + i, false).unwrap();
        }
        // The thief is full: it can take only the one it runs.
        assert_eq!(steal(&victim, &thief, true), Some(0));
        assert_eq!(thief.len(), CAP);
        // With one slot free it takes two: one stored, one to run.
        get(&thief).unwrap();
        assert_eq!(steal(&victim, &thief, true), Some(2));
        assert_eq!(thief.len(), CAP);
        assert_eq!(victim.len(), CAP - 3);
    }

    #[test]
    #[should_panic(expected = "runqsteal: a P cannot steal from its own queue")]
    fn steal_from_self_panics() {
        let q = Q::new();
        put(&q, 1, false).unwrap();
        steal(&q, &q, true);
    }

    #[test]
    fn put_batch_fills_then_returns_rest() {
        let q = Q::new();
        put(&q, 1000, true).unwrap();
        put(&q, 0, false).unwrap();
        // SAFETY: this thread owns `q`.
        let rest = unsafe { q.put_batch((1..CAP + 3).map(b)) }.map_err(vals);
        assert_eq!(rest, Err(vec![CAP, CAP + 1, CAP + 2]));
        assert_eq!(q.len(), CAP + 1);
        // SAFETY: this thread owns `q`.
        assert_eq!(unsafe { q.put_batch(Vec::new()) }.map_err(vals), Ok(()));
        let expect: Vec<_> = [1000].into_iter().chain(0..CAP).collect();
        assert_eq!(drain(&q), expect);
        // SAFETY: this thread owns `q`.
        assert_eq!(unsafe { q.put_batch((0..3).map(b)) }.map_err(vals), Ok(()));
        assert_eq!(drain(&q), [0, 1, 2]);
    }

    #[test]
    fn put_batch_publishes_what_it_took_when_the_iterator_panics() {
        let q = Q::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: this thread owns `q`.
            let _ = unsafe {
                q.put_batch((0..5).map(|i| {
                    assert!(i < 3, "iterator fails");
                    b(i)
                }))
            };
        }));
        assert!(r.is_err());
        assert_eq!(drain(&q), [0, 1, 2]);
    }

    /// Counts drops so that leaks and double drops show up.
    #[derive(Debug)]
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn drop_frees_ring_and_runnext() {
        let drops = Arc::new(AtomicUsize::new(0));
        let q: RunQueue<Box<Tracked>> = RunQueue::new();
        for _ in 0..10 {
            // SAFETY: this thread owns `q`.
            unsafe { q.put(Box::new(Tracked(drops.clone())), false) }.unwrap();
        }
        // SAFETY: this thread owns `q`.
        unsafe { q.put(Box::new(Tracked(drops.clone())), true) }.unwrap();
        // SAFETY: this thread owns `q`.
        drop(unsafe { q.get() });
        assert_eq!(drops.load(SeqCst), 1);
        drop(q);
        assert_eq!(drops.load(SeqCst), 11);
    }

    #[test]
    fn arc_items_keep_their_count() {
        let x = Arc::new(5usize);
        let q: RunQueue<Arc<usize>> = RunQueue::new();
        for next in [false, true, false] {
            // SAFETY: this thread owns `q`.
            unsafe { q.put(x.clone(), next) }.unwrap();
        }
        assert_eq!(Arc::strong_count(&x), 4);
        // SAFETY: this thread owns `q`.
        let (y, inherit) = unsafe { q.get() }.unwrap();
        assert!(inherit && Arc::ptr_eq(&x, &y));
        drop(y);
        drop(q);
        assert_eq!(Arc::strong_count(&x), 1);
    }

    #[test]
    fn debug_shows_lengths() {
        let q = Q::new();
        put(&q, 1, false).unwrap();
        put(&q, 2, true).unwrap();
        assert_eq!(format!("{q:?}"), "RunQueue { ring_len: 1, runnext: true }");
    }

    /// An item of the stress tests: its id, checked off exactly once by whoever runs it.
    fn run(seen: &[AtomicU8], done: &AtomicUsize, v: usize) {
        assert_eq!(seen[v].fetch_add(1, SeqCst), 0, "item {v} ran twice");
        done.fetch_add(1, SeqCst);
    }

    /// One owner puts (with and without `next`) and gets, spilling overflow to a "global
    /// queue" it refills from; two thieves steal from the owner and from each other (with and
    /// without runnext) and run what they took. Every item must run exactly once.
    fn stress(items: usize, seed: u64) {
        let owner = Q::new();
        let thieves = [Q::new(), Q::new()];
        let global = Mutex::new(Vec::<Box<usize>>::new());
        let seen: Vec<AtomicU8> = (0..items).map(|_| AtomicU8::new(0)).collect();
        let done = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for me in 0..2 {
                let (mine, other) = (&thieves[me], &thieves[1 - me]);
                let (owner, seen, done) = (&owner, &seen, &done);
                s.spawn(move || {
                    let mut rng = seed ^ (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    while done.load(SeqCst) < items {
                        rng = xorshift(rng);
                        let victim = if rng % 4 == 0 { other } else { owner };
                        // SAFETY: this thread is `mine`'s only owner.
                        let got = unsafe { victim.runqsteal(mine, rng % 3 == 0, rng % 64 == 0) };
                        let Some(x) = got else {
                            // Nothing to steal: let the owner (on this 2-core box) run.
                            std::thread::yield_now();
                            continue;
                        };
                        run(seen, done, *x);
                        // SAFETY: this thread is `mine`'s only owner.
                        while let Some((x, _)) = unsafe { mine.get() } {
                            run(seen, done, *x);
                            if rng % 2 == 0 {
                                break; // leave some for the other thief
                            }
                        }
                    }
                });
            }
            // The owner: this thread.
            let mut rng = seed | 1;
            let spill = |batch: Vec<Box<usize>>| global.lock().extend(batch);
            for v in 0..items {
                rng = xorshift(rng);
                // SAFETY: this thread is `owner`'s only owner.
                if let Err(batch) = unsafe { owner.put(b(v), rng % 4 == 0) } {
                    spill(batch);
                }
                if rng % 3 == 0 {
                    // SAFETY: this thread is `owner`'s only owner.
                    if let Some((x, _)) = unsafe { owner.get() } {
                        run(&seen, &done, *x);
                    }
                }
            }
            while done.load(SeqCst) < items {
                // SAFETY: this thread is `owner`'s only owner.
                if let Some((x, _)) = unsafe { owner.get() } {
                    run(&seen, &done, *x);
                    continue;
                }
                // Go: globrunqget: run one, move some into the local ring.
                let mut g = global.lock();
                let n = g.len().min(CAP / 2);
                let batch: Vec<_> = g.drain(..n).collect();
                drop(g);
                let mut batch = batch.into_iter();
                match batch.next() {
                    Some(x) => {
                        run(&seen, &done, *x);
                        // SAFETY: this thread is `owner`'s only owner.
                        if let Err(rest) = unsafe { owner.put_batch(batch) } {
                            spill(rest);
                        }
                    }
                    None => std::thread::yield_now(),
                }
            }
        });
        assert!(owner.is_empty() && thieves.iter().all(RunQueue::is_empty));
        assert!(global.lock().is_empty());
        let missing: HashSet<usize> = (0..items).filter(|&v| seen[v].load(SeqCst) != 1).collect();
        assert!(
            missing.is_empty(),
            "items not run exactly once: {missing:?}"
        );
    }

    fn xorshift(mut x: u64) -> u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }

    #[test]
    fn stress_owner_and_two_thieves() {
        stress(100_000, 0x5EED);
    }

    #[test]
    #[ignore = "long stress run: cargo test -p gmp-core --release -- --ignored"]
    fn stress_owner_and_two_thieves_long() {
        for seed in 1..=20u64 {
            stress(1_000_000, seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
        }
    }
}
