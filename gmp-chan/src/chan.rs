//! `Hchan`: the channel itself (Go: `hchan` in runtime/chan.go).
//!
//! # Design
//!
//! A channel is Go's `hchan`: one lock ([`Lock`], Go's `c.lock`) around a ring buffer of fixed
//! capacity (a `VecDeque` allocated once, at `make` time), a `closed` flag, and two FIFO queues
//! of blocked parties (`recvq`, `sendq`). Everything below happens under that lock; nothing is
//! lock-free except reading the `closed` mirror. Simple and correct first: the lock is held for
//! a few dozen instructions and never across a park.
//!
//! **Invariants** (as in chan.go): outside a select's registration window at most one of
//! `sendq`/`recvq` holds live waiters; a buffered channel with queued senders has a full buffer,
//! with queued receivers an empty one. Entries of selects that already completed another case
//! (or timed out) may linger until their owner removes them; every dequeue skips them.
//!
//! **Waiter records live off the stack.** A blocked operation takes a record from its P's
//! cache ([`SudogBox`](gmp_core::park::SudogBox), Go: `acquireSudog`) holding a [`Sudog`]
//! (who to wake + the claim word) and a [`Packet`] (the value slot: Go's `sudog.elem`, which
//! in Go points into the blocked goroutine's stack), and enqueues a [`Waiter`] pointing at
//! both. Nothing a waker writes lands on the blocked goroutine's stack, so a parked
//! goroutine's stack can be copied out and its pages released while it waits. The owner
//! frees the record only when no entry pointing at it can still be used:
//!
//! 1. Wakers only reach an entry under the lock of the channel whose queue holds it. They
//!    claim it with one CAS on the record (`WAITING → claimed(k)`); a failed CAS means the
//!    owner won elsewhere or gave up, and the waker just drops the entry.
//! 2. A successful claimer moves the value through the packet and stores `completed(k)`, all
//!    still under the lock, taking a clone of the owner's `Unparker` first; after the store it
//!    touches nothing of the owner and unparks it after unlocking (Go: `goready` after
//!    `unlock(&c.lock)`, so a woken party never spins on a lock its waker holds).
//! 3. The owner returns only (a) after seeing `completed(k)`, and after removing its other
//!    entries (a select's losing cases) under their channels' locks; or (b) after aborting
//!    (`WAITING → ABORTED`, done while holding the lock of every channel it is queued on, so no
//!    claim can be in flight) and removing all its entries. A timeout takes path (b) or, if a
//!    claim won the race, path (a). Unwinding through a blocked operation (a cancelled
//!    goroutine) runs the same abort-or-complete cleanup from a drop guard.
//!
//! **Select** follows Go's `selectgo` rather than crossbeam's register/retry protocol: it
//! locks every case's channel in address order (each distinct channel once, Go: `sellock`),
//! polls the cases in a random order (Go: `pollorder`), and if none is ready enqueues one
//! entry per case (all sharing one record, so the claim CAS lets exactly one case win),
//! unlocks, and parks. Woken, it relocks all, removes its losing entries, unlocks. Holding all
//! locks while registering means no case can become ready unseen, so there is no
//! abort-and-retry loop and no livelock between two selects. A select never meets its own
//! entries: it has none queued while it polls.
//!
//! Blocking is only through `gmp_core::park`, so the same code blocks a goroutine (the
//! goroutine parks, its M runs others) or a plain thread, and under loom a loom thread.
//!
//! **Async tasks** (`recv_async`, `send_async`; the futures are in `future.rs`) never park:
//! a pending future leaves a [`TaskWaiter`] record (its waker, and a send's value) where a
//! peer finds it, and every access to it is under this lock, so it needs no claim word. A
//! pending send is an entry of `sendq` like a parked sender, in the same FIFO order: a
//! receiver takes its value and wakes its waker. A pending receive is *not* in `recvq`, and
//! is never handed a value (a future may be dropped at any time, and the value with it): it
//! waits in `recv_tasks`, and whoever leaves something to receive where a receiver finds it
//! (a value in the buffer, a sender queued in `sendq`, the close) notifies the first one.
//! The woken future takes the value itself under the lock when polled; if it is dropped
//! instead, its drop passes the notification on. Parked receivers are served first: a
//! sender hands its value straight to one in `recvq`, and only buffers it, or waits, for an
//! async one.

use crate::error::{TryRecvError, TrySendError};
use crate::handles::Chan;
use crate::lock::{Lock, LockGuard};
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::sudog::{Sudog, Waiting};
use crate::task::{TaskQueue, TaskWaiter};
use crate::waitq::{Packet, WaitQueue, Waiter, Wakeup};
use gmp_core::park::{self, WaitReason, WaitsOn};
use std::collections::VecDeque;
use std::time::Instant;

/// The channel (Go: `hchan`). Shared by every handle through an `Arc`.
pub(crate) struct Hchan<T> {
    lock: Lock<State<T>>,
    /// Capacity, fixed at creation (Go: `dataqsiz`).
    cap: usize,
    /// Mirror of `State::closed` for lock-free `is_closed` (written under the lock).
    closed: AtomicBool,
    /// A timer's channel: `len`/`cap` report 0 (Go 1.23 synchronous timer channels).
    timer: bool,
}

/// What `Hchan::lock` protects.
pub(crate) struct State<T> {
    /// The ring (Go: `buf`, `sendx`, `recvx`, `qcount`); never longer than `cap`.
    buf: VecDeque<T>,
    closed: bool,
    recvq: WaitQueue<T>,
    /// Parked senders and pending send futures, in arrival order.
    sendq: WaitQueue<T>,
    /// Pending receive futures, notified (not handed values): see the design above.
    recv_tasks: TaskQueue<T>,
}

/// Outcome of a blocking wait with a deadline.
pub(crate) enum Timed<R> {
    Done(R),
    TimedOut,
}

impl<T> Hchan<T> {
    /// Go: `makechan`. Panics "makechan: size out of range" when the buffer cannot be
    /// allocated, instead of aborting on an allocation failure.
    #[track_caller]
    pub(crate) fn new(cap: usize, timer: bool) -> Self {
        let mut buf = VecDeque::new();
        if buf.try_reserve_exact(cap).is_err() {
            panic!("makechan: size out of range");
        }
        Hchan {
            lock: Lock::new(State {
                buf,
                closed: false,
                recvq: WaitQueue::new(),
                sendq: WaitQueue::new(),
                recv_tasks: TaskQueue::new(),
            }),
            cap,
            closed: AtomicBool::new(false),
            timer,
        }
    }

    pub(crate) fn cap(&self) -> usize {
        if self.timer {
            0
        } else {
            self.cap
        }
    }

    pub(crate) fn len(&self) -> usize {
        if self.timer {
            0
        } else {
            self.lock.lock().buf.len()
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Number of (possibly stale) queued receivers (parked and async) and senders, for tests
    /// and `Debug`.
    pub(crate) fn queued(&self) -> (usize, usize) {
        let st = self.lock.lock();
        (st.recvq.len() + st.recv_tasks.len(), st.sendq.len())
    }

    // ---- operations under the lock, shared by the plain operations and select ----

    /// Go: the non-blocking part of `chansend` (`send` to a waiting receiver, else the
    /// buffer). On success returns the receiver to wake after unlocking: a parked one handed
    /// the value, or an async one notified of the value in the buffer.
    ///
    /// An async receiver is not a partner for a rendezvous here: on an unbuffered channel
    /// with only pending receive futures this fails with `Full` (the caller that goes on to
    /// wait in `sendq` notifies one, see [`enqueue_send`](Self::enqueue_send)).
    pub(crate) fn try_send_locked(
        &self,
        st: &mut State<T>,
        v: T,
    ) -> Result<Option<Wakeup>, TrySendError<T>> {
        if st.closed {
            return Err(TrySendError::Closed(v));
        }
        if let Some(r) = st.recvq.pop_claim() {
            // Direct hand-off: the buffer is empty whenever a receiver waits.
            r.put(v);
            return Ok(Some(r.complete()));
        }
        if st.buf.len() < self.cap {
            st.buf.push_back(v);
            return Ok(st.recv_tasks.notify_one());
        }
        Err(TrySendError::Full(v))
    }

    /// Returns a received value to the channel, ahead of everything else (a dynamic select's
    /// receive whose result was never read): to a waiting receiver, else to the head of the
    /// buffer, where the next receive finds it. An unbuffered or full channel holds it there
    /// too, one over its capacity, until it is received (senders wait meanwhile).
    pub(crate) fn unrecv(&self, v: T) {
        let mut st = self.lock.lock();
        let waker = if let Some(r) = st.recvq.pop_claim() {
            r.put(v);
            Some(r.complete())
        } else {
            st.buf.push_front(v);
            st.recv_tasks.notify_one()
        };
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Go: the non-blocking part of `chanrecv`. On success returns the value and the sender
    /// (parked, or a pending future) to wake after unlocking.
    pub(crate) fn try_recv_locked(
        &self,
        st: &mut State<T>,
    ) -> Result<(T, Option<Wakeup>), TryRecvError> {
        if let Some(v) = st.buf.pop_front() {
            // Go: `recv` on a full buffer with a waiting sender: take the head, move the
            // sender's value to the tail, so FIFO order holds across the hand-off. (Not when
            // the buffer is still full: it held a value returned by `unrecv` over capacity.)
            let waker = if st.buf.len() < self.cap {
                st.sendq.pop_claim().map(|s| {
                    st.buf.push_back(s.take());
                    s.complete()
                })
            } else {
                None
            };
            return Ok((v, waker));
        }
        if let Some(s) = st.sendq.pop_claim() {
            // Unbuffered: take the value straight from the blocked sender.
            let v = s.take();
            return Ok((v, Some(s.complete())));
        }
        if st.closed {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Lock the channel (for the plain operations).
    pub(crate) fn lock(&self) -> LockGuard<'_, State<T>> {
        self.lock.lock()
    }

    /// For select: lock by hand (Go: `sellock`).
    pub(crate) fn raw_lock(&self) {
        self.lock.raw_lock();
    }

    /// For select: unlock by hand (Go: `selunlock`).
    ///
    /// # Safety
    /// The caller took the lock with [`Hchan::raw_lock`] and holds no `State` reference.
    pub(crate) unsafe fn raw_unlock(&self) {
        // SAFETY: forwarded contract.
        unsafe { self.lock.raw_unlock() }
    }

    /// Runs `f` on the state of a channel the caller locked with [`Hchan::raw_lock`].
    ///
    /// # Safety
    /// The caller holds the lock through `raw_lock`.
    pub(crate) unsafe fn with_locked<R>(&self, f: impl FnOnce(&mut State<T>) -> R) -> R {
        // SAFETY: the caller holds the lock; the pointer is dropped before we return.
        let p = unsafe { self.lock.data() };
        // SAFETY: as above: exclusive access while the lock is held.
        f(unsafe { p.as_mut() })
    }

    /// Enqueue a receiver entry (the caller holds the lock).
    pub(crate) fn enqueue_recv(st: &mut State<T>, sg: &Sudog, case: usize, p: &Packet<T>) {
        st.recvq.push(Waiter::new(sg, case, p));
    }

    /// Enqueue a sender entry (the caller holds the lock). Returns an async receiver to wake
    /// after unlocking: it will find the sender in `sendq` when polled.
    #[must_use = "an async receiver to wake after unlocking"]
    pub(crate) fn enqueue_send(
        st: &mut State<T>,
        sg: &Sudog,
        case: usize,
        p: &Packet<T>,
    ) -> Option<Wakeup> {
        st.sendq.push(Waiter::new(sg, case, p));
        st.recv_tasks.notify_one()
    }

    /// Remove `sg`'s entries from both queues (the caller holds the lock).
    pub(crate) fn dequeue(st: &mut State<T>, sg: &Sudog) {
        st.recvq.remove(sg);
        st.sendq.remove(sg);
    }

    // ---- the plain operations ----

    /// Go: `chansend(c, ep, block=true)`, or with a deadline. On failure the value comes back
    /// in `Err((v, timed_out))`: `timed_out` is `false` if the channel is (or gets) closed,
    /// `true` if the deadline passed first. `via` is the handle the caller sends through (of
    /// this channel), for the leak check.
    pub(crate) fn chansend(
        &self,
        v: T,
        deadline: Option<Instant>,
        via: &Chan<T>,
    ) -> Result<(), (T, bool)> {
        gmp_core::park::checkpoint();
        let mut st = self.lock.lock();
        let v = match self.try_send_locked(&mut st, v) {
            Ok(waker) => {
                drop(st);
                if let Some(w) = waker {
                    w.wake();
                }
                return Ok(());
            }
            Err(TrySendError::Closed(v)) => return Err((v, false)),
            Err(TrySendError::Full(v)) => v,
        };
        if deadline.is_some_and(|d| d <= gmp_core::time::now()) {
            return Err((v, true));
        }
        // Block (Go: `acquireSudog`, enqueue it on sendq, gopark).
        let rec = Waiting::acquire(Some(v));
        let notify = Self::enqueue_send(&mut st, &rec.sg, 0, &rec.packet);
        drop(st);
        if let Some(w) = notify {
            w.wake();
        }
        let guard = Blocked {
            chan: self,
            sg: &rec.sg,
        };
        let timed = guard.wait(WaitReason::ChanSend, deadline, via);
        // The record is settled either way: completed (delivered, or closed when the value is
        // still in the packet) or aborted with the entry removed (timeout).
        let left = rec.into_inner().packet.into_inner();
        match (timed, left) {
            (Timed::Done(_), None) => Ok(()),
            (Timed::Done(_), Some(v)) => Err((v, false)),
            (Timed::TimedOut, Some(v)) => Err((v, true)),
            (Timed::TimedOut, None) => unreachable!("gmp-chan: an aborted send lost its value"),
        }
    }

    /// Go: `chanrecv(c, ep, block=true)`, or with a deadline. `Done(None)`: closed and drained.
    /// `via` is the handle the caller receives through (of this channel), for the leak check.
    pub(crate) fn chanrecv(&self, deadline: Option<Instant>, via: &Chan<T>) -> Timed<Option<T>> {
        gmp_core::park::checkpoint();
        let mut st = self.lock.lock();
        match self.try_recv_locked(&mut st) {
            Ok((v, waker)) => {
                drop(st);
                if let Some(w) = waker {
                    w.wake();
                }
                return Timed::Done(Some(v));
            }
            Err(TryRecvError::Closed) => return Timed::Done(None),
            Err(TryRecvError::Empty) => {}
        }
        if deadline.is_some_and(|d| d <= gmp_core::time::now()) {
            return Timed::TimedOut;
        }
        let rec = Waiting::acquire(None);
        Self::enqueue_recv(&mut st, &rec.sg, 0, &rec.packet);
        drop(st);
        let guard = Blocked {
            chan: self,
            sg: &rec.sg,
        };
        match guard.wait(WaitReason::ChanReceive, deadline, via) {
            // `None` in the packet: woken by close.
            Timed::Done(_) => Timed::Done(rec.into_inner().packet.into_inner()),
            Timed::TimedOut => Timed::TimedOut,
        }
    }

    /// Go: `closechan`. `false` if it was already closed (Go panics there).
    pub(crate) fn close(&self) -> bool {
        let mut wake = Vec::new();
        {
            let mut st = self.lock.lock();
            if st.closed {
                return false;
            }
            st.closed = true;
            self.closed.store(true, Ordering::Release);
            // Receivers get `None` (their packet stays empty); senders find their value still
            // in their packet and report it back in `Err`. Async receivers look again and see
            // the close once the buffer is drained.
            while let Some(r) = st.recvq.pop_claim() {
                wake.push(r.complete());
            }
            while let Some(s) = st.sendq.pop_claim() {
                wake.push(s.complete());
            }
            st.recv_tasks.notify_all(&mut wake);
        }
        for w in wake {
            w.wake();
        }
        true
    }

    // ---- async tasks: the registrations of pending futures (see `future.rs`) ----

    /// Queues a pending receive future's record in `recv_tasks` (the caller holds the lock
    /// and has just found nothing to receive).
    pub(crate) fn enqueue_recv_task(st: &mut State<T>, t: &TaskWaiter<T>) {
        st.recv_tasks.push(t);
    }

    /// Takes a receive future's record out of `recv_tasks`, if there (the caller holds the
    /// lock).
    pub(crate) fn dequeue_recv_task(st: &mut State<T>, t: &TaskWaiter<T>) {
        st.recv_tasks.remove(t);
    }

    /// A notified receive future is dropped before it looked: if there is still something to
    /// receive, the next async receiver is told instead (returned, to wake after unlocking).
    /// Without this, a value could sit in the buffer, or a sender wait in `sendq`, while an
    /// async receiver waits for a notification that went to the dropped one.
    #[must_use = "an async receiver to wake after unlocking"]
    pub(crate) fn pass_on_notification(st: &mut State<T>) -> Option<Wakeup> {
        // (`sendq` may hold stale select entries: at worst a spurious wake-up.)
        if st.buf.is_empty() && st.sendq.is_empty() {
            return None;
        }
        st.recv_tasks.notify_one()
    }

    /// Queues a pending send future's record in `sendq`, as a parked sender is (the caller
    /// holds the lock and found no room and no parked receiver). Returns an async receiver to
    /// wake after unlocking.
    #[must_use = "an async receiver to wake after unlocking"]
    pub(crate) fn enqueue_send_task(st: &mut State<T>, t: &TaskWaiter<T>) -> Option<Wakeup> {
        st.sendq.push_task(t);
        st.recv_tasks.notify_one()
    }

    /// Takes a send future's record out of `sendq`, if there (the caller holds the lock).
    pub(crate) fn dequeue_send_task(st: &mut State<T>, t: &TaskWaiter<T>) {
        st.sendq.remove_task(t);
    }
}

/// A plain operation's registration: waits for completion, and on timeout or unwinding
/// aborts and removes the entry (rule 3 of the design).
struct Blocked<'a, T> {
    chan: &'a Hchan<T>,
    sg: &'a Sudog,
}

impl<T> Blocked<'_, T> {
    /// Waits for completion, or `deadline`. A wait without one may last forever: it tells the
    /// leak check (`gmp_core::leaked`) that only `via`'s channel can end it.
    fn wait(self, reason: WaitReason, deadline: Option<Instant>, via: &Chan<T>) -> Timed<usize> {
        let r = match deadline {
            None => {
                let on = [WaitsOn::handle(&via.inner, via)];
                Timed::Done(park::waiting_on(&on, || self.sg.wait(reason)))
            }
            Some(d) => match self.sg.wait_until(reason, d) {
                Some(case) => Timed::Done(case),
                None => self.settle(),
            },
        };
        std::mem::forget(self);
        r
    }

    /// Under the lock: abort and dequeue, or find that a claim won (and so completed, since
    /// the claimer works under this lock).
    fn settle(&self) -> Timed<usize> {
        let mut st = self.chan.lock.lock();
        if self.sg.try_abort() {
            Hchan::dequeue(&mut st, self.sg);
            Timed::TimedOut
        } else {
            Timed::Done(
                self.sg
                    .completed()
                    .expect("gmp-chan: claimed but not completed"),
            )
        }
    }
}

impl<T> Drop for Blocked<'_, T> {
    /// Only reached when unwinding out of `park` (a cancelled goroutine): the record is about
    /// to be freed, so no entry may point at it any more.
    fn drop(&mut self) {
        let _ = self.settle();
    }
}
