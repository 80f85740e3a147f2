//! `recv_async` and `send_async`: the channel operations as futures, for async code on any
//! executor, sharing channels with goroutines and threads that block on them.
//!
//! Go has no futures; these are its `chanrecv` and `chansend` for a caller that must not
//! block. Where those park the caller, these leave a [`TaskWaiter`] record holding the task's
//! waker (and a send's value) where a peer finds it, and return `Pending`; the peer wakes
//! the waker after unlocking. There is no helper thread and no polling: a pending future
//! costs one record (from the P's cache in a goroutine) and its waker. Every poll and drop
//! takes the channel lock, so a value arriving between a check and the registration is seen
//! by the registration (it is one critical section), and a poll with a new waker replaces
//! the old one in the same section.
//!
//! # Cancel safety
//!
//! - A receive future is never handed a value. It waits in the channel's `recv_tasks` and is
//!   only *notified* when there is something to receive; it takes the value itself, under the
//!   lock, in the poll that returns it. Dropping it at any time loses nothing: if it was
//!   notified, its drop passes the notification on to the next waiting receive future.
//! - A send future's value moves into its record when it starts to wait, queued in `sendq`
//!   like a parked sender's. Under the lock a receiver takes it, or `close` gives it back, or
//!   the future's drop withdraws it: exactly one of these happens. So a dropped pending send
//!   either delivered its value exactly once (before the drop) or delivered nothing (the value
//!   is dropped with the future), and a send future that reports `Err(SendError(v))` was never
//!   seen by a receiver.

use crate::chan::Hchan;
use crate::error::{SendError, TryRecvError, TrySendError};
use crate::task::TaskWaiter;
use gmp_core::park::SudogBox;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future of [`Chan::recv_async`](crate::Chan::recv_async) and
/// [`Receiver::recv_async`](crate::Receiver::recv_async): `Some(v)`, or `None` once the
/// channel is closed and drained.
///
/// Cancel-safe: dropping it, pending or not, never loses a value (it takes a value only in
/// the poll that returns it). `Send` when `T: Send`. Polling it again after it returned
/// `Ready` panics.
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    chan: &'a Hchan<T>,
    state: RecvState<T>,
}

enum RecvState<T> {
    /// Not polled yet, or polled without having to wait.
    Idle,
    /// Registered: its record is in `recv_tasks`, or was taken out by a notification.
    Waiting(SudogBox<TaskWaiter<T>>),
    /// Returned `Ready`.
    Done,
}

/// The future of [`Chan::send_async`](crate::Chan::send_async) and
/// [`Sender::send_async`](crate::Sender::send_async): `Ok(())` once the value is delivered
/// (buffered, or taken by a receiver), `Err(SendError(v))` with the value if the channel is
/// or gets closed first.
///
/// Dropping it while pending either leaves the value undelivered (it is dropped with the
/// future) or finds it already delivered, exactly once; see
/// [`Chan::send_async`](crate::Chan::send_async). `Send` when `T: Send`. Polling it again
/// after it returned `Ready` panics.
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    chan: &'a Hchan<T>,
    state: SendState<T>,
}

enum SendState<T> {
    /// Not polled yet: the value is still here.
    Idle(T),
    /// The value is in the record, on offer in `sendq` (or taken, or given back by `close`).
    Waiting(SudogBox<TaskWaiter<T>>),
    /// Returned `Ready`.
    Done,
}

// Neither future is ever pinned structurally: the value and the record move freely (the
// record is behind a pointer), so both are `Unpin` whatever `T` is.
impl<T> Unpin for RecvFuture<'_, T> {}
impl<T> Unpin for SendFuture<'_, T> {}

impl<'a, T> RecvFuture<'a, T> {
    pub(crate) fn new(chan: &'a Hchan<T>) -> Self {
        RecvFuture {
            chan,
            state: RecvState::Idle,
        }
    }
}

impl<'a, T> SendFuture<'a, T> {
    pub(crate) fn new(chan: &'a Hchan<T>, v: T) -> Self {
        SendFuture {
            chan,
            state: SendState::Idle(v),
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    /// Go: `chanrecv` without blocking: receive if something is there (a buffered value, a
    /// waiting sender, the close), else register (or refresh) the waker in `recv_tasks`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if let RecvState::Done = this.state {
            panic!("`RecvFuture` polled after completion");
        }
        let ch = this.chan;
        let mut st = ch.lock();
        let got = match ch.try_recv_locked(&mut st) {
            Ok((v, wake)) => Some((Some(v), wake)),
            Err(TryRecvError::Closed) => Some((None, None)),
            Err(TryRecvError::Empty) => None,
        };
        let Some((v, wake)) = got else {
            // Nothing yet: wait in `recv_tasks`, in the same critical section as the check.
            let stale = match &this.state {
                RecvState::Waiting(rec) => {
                    // SAFETY: we hold the lock of the channel `rec` is registered with.
                    let stale = unsafe { rec.set_waker(cx.waker()) };
                    // SAFETY: as above.
                    if !unsafe { rec.with(|s| s.queued) } {
                        // Notified, but another receiver was first: wait again, at the back.
                        Hchan::enqueue_recv_task(&mut st, rec);
                    }
                    stale
                }
                _ => {
                    let rec = SudogBox::new(TaskWaiter::new(cx.waker().clone(), None));
                    Hchan::enqueue_recv_task(&mut st, &rec);
                    this.state = RecvState::Waiting(rec);
                    None
                }
            };
            drop(st);
            drop(stale);
            return Poll::Pending;
        };
        // Received (or closed): leave `recv_tasks` if still there. A notification that went
        // to another future meanwhile only makes it look in vain and wait again.
        let rec = match mem::replace(&mut this.state, RecvState::Done) {
            RecvState::Waiting(rec) => Some(rec),
            _ => None,
        };
        let stale = rec.as_ref().and_then(|rec| {
            Hchan::dequeue_recv_task(&mut st, rec);
            // SAFETY: we hold the channel lock.
            unsafe { rec.with(|s| s.waker.take()) }
        });
        drop(st);
        if let Some(w) = wake {
            w.wake();
        }
        drop(stale);
        drop(rec);
        Poll::Ready(v)
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    /// Leaves `recv_tasks`; if a notification had taken the record out (something to receive
    /// arrived) and this future never looked, passes it on to the next receive future.
    fn drop(&mut self) {
        let RecvState::Waiting(rec) = mem::replace(&mut self.state, RecvState::Done) else {
            return;
        };
        let mut st = self.chan.lock();
        // SAFETY: we hold the lock of the channel `rec` is registered with.
        let (queued, stale) = unsafe { rec.with(|s| (s.queued, s.waker.take())) };
        let pass_on = if queued {
            Hchan::dequeue_recv_task(&mut st, &rec);
            None
        } else {
            Hchan::pass_on_notification(&mut st)
        };
        drop(st);
        drop(stale);
        if let Some(w) = pass_on {
            w.wake();
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    /// Go: `chansend` without blocking: the first poll sends at once if a parked receiver
    /// waits or the buffer has room, else queues the value in `sendq` with the waker; later
    /// polls report what became of it, or refresh the waker.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let SendState::Done = this.state {
            panic!("`SendFuture` polled after completion");
        }
        let ch = this.chan;
        let mut st = ch.lock();
        match mem::replace(&mut this.state, SendState::Done) {
            SendState::Idle(v) => match ch.try_send_locked(&mut st, v) {
                Ok(wake) => {
                    drop(st);
                    if let Some(w) = wake {
                        w.wake();
                    }
                    Poll::Ready(Ok(()))
                }
                Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
                Err(TrySendError::Full(v)) => {
                    let rec = SudogBox::new(TaskWaiter::new(cx.waker().clone(), Some(v)));
                    let notify = Hchan::enqueue_send_task(&mut st, &rec);
                    this.state = SendState::Waiting(rec);
                    drop(st);
                    if let Some(w) = notify {
                        w.wake();
                    }
                    Poll::Pending
                }
            },
            SendState::Waiting(rec) => {
                // SAFETY: we hold the lock of the channel `rec` is registered with.
                let left = unsafe { rec.with(|s| (!s.queued).then(|| s.value.take())) };
                match left {
                    // Still on offer.
                    None => {
                        // SAFETY: as above.
                        let stale = unsafe { rec.set_waker(cx.waker()) };
                        this.state = SendState::Waiting(rec);
                        drop(st);
                        drop(stale);
                        Poll::Pending
                    }
                    Some(left) => {
                        drop(st);
                        drop(rec);
                        match left {
                            // Taken by a receiver.
                            None => Poll::Ready(Ok(())),
                            // Given back by the close.
                            Some(v) => Poll::Ready(Err(SendError(v))),
                        }
                    }
                }
            }
            SendState::Done => unreachable!("checked above"),
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    /// Withdraws a value still on offer; it is dropped with the record, after unlocking (its
    /// drop may use the channel). A value already taken stays delivered.
    fn drop(&mut self) {
        let SendState::Waiting(rec) = mem::replace(&mut self.state, SendState::Done) else {
            return;
        };
        let mut st = self.chan.lock();
        Hchan::dequeue_send_task(&mut st, &rec);
        // SAFETY: we hold the lock of the channel `rec` is registered with.
        let stale = unsafe { rec.with(|s| s.waker.take()) };
        drop(st);
        drop(stale);
        drop(rec);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            RecvState::Idle => "idle",
            RecvState::Waiting(_) => "waiting",
            RecvState::Done => "done",
        };
        f.debug_struct("RecvFuture").field("state", &state).finish()
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            SendState::Idle(_) => "idle",
            SendState::Waiting(_) => "waiting",
            SendState::Done => "done",
        };
        f.debug_struct("SendFuture").field("state", &state).finish()
    }
}
