//! The waiter record of an async task (a pending `recv_async` or `send_async` future), and the
//! queue of async receivers that senders notify (`recv_tasks`).

use crate::loom::UnsafeCell;
use crate::waitq::Wakeup;
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::task::Waker;

/// A pending future's registration on its channel: the async counterpart of a
/// [`Sudog`](crate::sudog::Sudog) and its packet.
///
/// It lives in a [`SudogBox`](gmp_core::park::SudogBox) the future owns, never in the future
/// itself: the future may sit on a goroutine's stack (a goroutine's `block_on`), which nobody
/// but that goroutine may touch while it is parked. While `queued`, one queue of the channel
/// (`sendq` for a send, `recv_tasks` for a receive) holds a pointer to it.
///
/// **Contract.** Every access happens under the lock of the channel it is registered with,
/// so there is no claim word: the lock orders everything. Whoever takes the entry out of its
/// queue sets `queued = false` in the same critical section; the owner frees the record only
/// after seeing `queued == false` under the lock (taking its entry out itself if need be), so
/// no queue ever points at a freed record.
///
/// The states, by `(queued, value)`:
///
/// | `queued` | `value` | a send future's record                  | a receive future's record |
/// |----------|---------|-----------------------------------------|---------------------------|
/// | `true`   | `Some`  | waiting in `sendq`, its value on offer   | —                         |
/// | `true`   | `None`  | —                                       | waiting in `recv_tasks`   |
/// | `false`  | `None`  | delivered: a receiver took the value     | notified: woken to look again |
/// | `false`  | `Some`  | the channel was closed; the value is back | —                        |
///
/// Transitions, all under the channel lock: a receiver (blocking, select or future) dequeues
/// a waiting send, takes its value and wakes it (`Claimed::take`, `complete`); `close`
/// dequeues and wakes it with its value; a sender that leaves a value where a receiver can
/// take it, or `close`, notifies a waiting receive (`TaskQueue::notify_one`, `notify_all`);
/// the owner queues its record ([`Hchan`](crate::chan::Hchan)'s `enqueue_*_task`), re-queues
/// a notified receive that found nothing, and takes a waiting one out when it is dropped.
/// `waker` is `Some` while `queued`; the dequeuer takes it and wakes it after unlocking.
#[derive(Debug)]
pub(crate) struct TaskWaiter<T> {
    slot: UnsafeCell<TaskSlot<T>>,
}

/// What a [`TaskWaiter`] holds (see its state table).
#[derive(Debug)]
pub(crate) struct TaskSlot<T> {
    /// The waker of the future's latest poll; taken by whoever dequeues the record.
    pub(crate) waker: Option<Waker>,
    /// Whether a queue of the channel holds the record.
    pub(crate) queued: bool,
    /// A send's value while on offer, and after a close; `None` for a receive.
    pub(crate) value: Option<T>,
}

impl<T> TaskWaiter<T> {
    /// A record about to be queued (`queued` is set by the queueing): waking `waker`, with a
    /// send's `value`.
    pub(crate) fn new(waker: Waker, value: Option<T>) -> Self {
        TaskWaiter {
            slot: UnsafeCell::new(TaskSlot {
                waker: Some(waker),
                queued: false,
                value,
            }),
        }
    }

    /// Runs `f` on the record's contents.
    ///
    /// # Safety
    /// The caller holds the lock of the channel the record is registered with (the record's
    /// contract), and the record is alive.
    #[inline]
    pub(crate) unsafe fn with<R>(&self, f: impl FnOnce(&mut TaskSlot<T>) -> R) -> R {
        // SAFETY: the channel lock gives us exclusive access (the caller's contract); the
        // reference does not outlive the closure.
        self.slot.with_mut(|p| f(unsafe { &mut *p }))
    }

    /// Marks the record taken out of its queue and returns its waker, to wake after
    /// unlocking.
    ///
    /// # Safety
    /// As for [`with`](Self::with); the caller has just removed the record's entry.
    #[inline]
    pub(crate) unsafe fn dequeued(&self) -> Waker {
        // SAFETY: forwarded contract.
        unsafe {
            self.with(|s| {
                s.queued = false;
                s.waker.take()
            })
        }
        .expect("gmp-chan: a queued task has no waker")
    }

    /// Makes `waker` the one to wake (a re-poll may come with another task's waker); returns
    /// the one it replaces, to drop after unlocking (a waker's drop may run anything).
    ///
    /// # Safety
    /// As for [`with`](Self::with).
    #[inline]
    pub(crate) unsafe fn set_waker(&self, waker: &Waker) -> Option<Waker> {
        // SAFETY: forwarded contract.
        unsafe {
            self.with(|s| match &s.waker {
                Some(w) if w.will_wake(waker) => None,
                _ => s.waker.replace(waker.clone()),
            })
        }
    }
}

/// The async receivers of a channel waiting for something to receive (a value in the buffer,
/// a sender in `sendq`, or the close): FIFO, kept under the channel lock.
///
/// Unlike `recvq`, whose parked receivers are handed their value, these are only notified:
/// the woken future takes a value itself, under the lock, when it is next polled. So a value
/// never sits in a future that may be dropped without being polled again.
pub(crate) struct TaskQueue<T> {
    q: VecDeque<NonNull<TaskWaiter<T>>>,
}

// SAFETY: the pointers reach records that their owners keep alive while queued (the
// `TaskWaiter` contract); moving the queue to another thread moves at most `T`s through them.
unsafe impl<T: Send> Send for TaskQueue<T> {}

impl<T> TaskQueue<T> {
    pub(crate) fn new() -> Self {
        TaskQueue { q: VecDeque::new() }
    }

    /// Queues a receive future's record. The caller holds the channel lock and keeps the
    /// record alive until it is out of the queue ([`TaskWaiter`]'s contract).
    pub(crate) fn push(&mut self, t: &TaskWaiter<T>) {
        // SAFETY: the caller holds the channel lock.
        unsafe { t.with(|s| s.queued = true) };
        self.q.push_back(NonNull::from(t));
    }

    /// Takes the first waiting receiver out and returns its waker: there is something for it
    /// to receive. One branch when nobody waits (the buffered send's fast path).
    #[inline]
    pub(crate) fn notify_one(&mut self) -> Option<Wakeup> {
        if self.q.is_empty() {
            None
        } else {
            self.notify_first()
        }
    }

    #[cold]
    fn notify_first(&mut self) -> Option<Wakeup> {
        let t = self.q.pop_front()?;
        // SAFETY: it was queued a moment ago, so it is alive; the caller holds the lock.
        Some(Wakeup::Task(unsafe { t.as_ref().dequeued() }))
    }

    /// Notifies every waiting receiver (the close).
    pub(crate) fn notify_all(&mut self, wake: &mut Vec<Wakeup>) {
        while let Some(w) = self.notify_one() {
            wake.push(w);
        }
    }

    /// Removes a record's entry, if queued (its future is dropped, or received without being
    /// notified), and marks it not queued.
    pub(crate) fn remove(&mut self, t: &TaskWaiter<T>) {
        // SAFETY: the caller holds the channel lock.
        if unsafe { t.with(|s| std::mem::replace(&mut s.queued, false)) } {
            let p = NonNull::from(t);
            self.q.retain(|q| *q != p);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }
}
