//! FIFO queues of blocked senders or receivers (Go: `waitq` of `sudog`s), and whom a waker
//! wakes once it has unlocked ([`Wakeup`]).

use crate::loom::UnsafeCell;
use crate::sudog::Sudog;
use crate::task::TaskWaiter;
use gmp_core::park::Unparker;
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::task::Waker;

/// Whom an operation wakes after unlocking the channel (Go: `goready` after
/// `unlock(&c.lock)`): a parked goroutine or thread, or an async task (a pending
/// [`RecvFuture`](crate::RecvFuture) or [`SendFuture`](crate::SendFuture)).
#[derive(Debug)]
#[must_use = "wake it once the channel lock is released"]
pub(crate) enum Wakeup {
    /// A goroutine or thread parked in a blocking operation or select.
    Unpark(Unparker),
    /// The waker a pending future was last polled with.
    Task(Waker),
}

impl Wakeup {
    /// Wakes it. Call with no channel lock held.
    #[inline]
    pub(crate) fn wake(self) {
        match self {
            Wakeup::Unpark(u) => u.wake(),
            Wakeup::Task(w) => w.wake(),
        }
    }
}

/// Where a blocked operation's value travels: a blocked sender's value waits here for a
/// receiver to take it; a blocked receiver's value is written here by a sender. `None` in a
/// sender's packet after completion means "delivered"; `None` in a receiver's means "closed".
pub(crate) type Packet<T> = UnsafeCell<Option<T>>;

/// One queue entry (Go: one case's `sudog` in a `waitq`): the blocked party's [`Sudog`], the
/// case of its select (0 for a plain send/recv) and its packet (`sudog.elem`). Both pointers
/// point into records the blocked caller owns (`SudogBox`es, off its stack).
pub(crate) struct Waiter<T> {
    sg: NonNull<Sudog>,
    case: usize,
    packet: NonNull<Packet<T>>,
}

// SAFETY: a `Waiter` is a pair of pointers into records whose owner waits until the entry is
// gone; moving the entry to another thread moves (at most) a `T` through the packet, so
// `T: Send` is what it takes.
unsafe impl<T: Send> Send for Waiter<T> {}

impl<T> Waiter<T> {
    /// An entry for `sg`'s case `case` with value slot `packet`.
    ///
    /// The caller guarantees both outlive the entry's stay in any queue, and that after a
    /// claim they stay valid until [`Claimed::complete`] (the owner waits for it).
    pub(crate) fn new(sg: &Sudog, case: usize, packet: &Packet<T>) -> Self {
        Waiter {
            sg: NonNull::from(sg),
            case,
            packet: NonNull::from(packet),
        }
    }

    fn sg(&self) -> &Sudog {
        // SAFETY: the entry is in a queue (we reach it under that queue's lock), so its owner
        // has not returned: the record is alive (`Waiter::new`'s contract).
        unsafe { self.sg.as_ref() }
    }
}

/// One entry of a [`WaitQueue`]: a parked party (a blocking operation or a select's case), or
/// a pending [`SendFuture`](crate::SendFuture)'s record. Only `sendq` holds tasks: a pending
/// receive future waits in the channel's `recv_tasks` and is never handed a value (see
/// `future.rs`). 24 bytes, as a `Waiter` alone (the task pointer sits in the niche).
enum Entry<T> {
    Parked(Waiter<T>),
    /// Valid while in the queue: its owner takes it out, under the same lock, before freeing
    /// it (`TaskWaiter`'s contract).
    Task(NonNull<TaskWaiter<T>>),
}

// SAFETY: as for `Waiter`: the pointers reach records whose owners wait (or, for a task,
// dequeue under the lock) before freeing them; moving the entry moves at most a `T`.
unsafe impl<T: Send> Send for Entry<T> {}

/// A waiter a waker has claimed: it may move a value through the packet, then must
/// [`complete`](Claimed::complete) it, still holding the channel lock. A task entry is
/// claimed by being dequeued: nobody else can reach it once it is out of the queue.
pub(crate) struct Claimed<T> {
    e: Entry<T>,
}

impl<T> Claimed<T> {
    /// Gives a value to a claimed receiver (Go: `sendDirect`).
    pub(crate) fn put(&self, v: T) {
        match &self.e {
            // SAFETY: the owner is claimed and waits for `complete`, so its packet is alive
            // and only we touch it until then.
            Entry::Parked(w) => w.packet_cell().with_mut(|p| unsafe { *p = Some(v) }),
            Entry::Task(_) => unreachable!("gmp-chan: a receive queue holds an async task"),
        }
    }

    /// Takes the value of a claimed sender (Go: `recvDirect`).
    pub(crate) fn take(&self) -> T {
        let v = match &self.e {
            // SAFETY: as in `put`. A blocked sender's packet holds its value until a receiver
            // takes it, and only one claim exists.
            Entry::Parked(w) => w.packet_cell().with_mut(|p| unsafe { (*p).take() }),
            // SAFETY: we hold the channel lock and the record was in its queue a moment ago,
            // so its owner has not freed it (`TaskWaiter`'s contract).
            Entry::Task(t) => unsafe { t.as_ref().with(|s| s.value.take()) },
        };
        v.expect("gmp-chan: a blocked sender's packet is empty")
    }

    /// Completes the claimed case and returns whom to wake after the lock is released.
    pub(crate) fn complete(self) -> Wakeup {
        match self.e {
            Entry::Parked(w) => Wakeup::Unpark(w.sg().complete(w.case)),
            // SAFETY: as in `take`.
            Entry::Task(t) => Wakeup::Task(unsafe { t.as_ref().dequeued() }),
        }
    }
}

impl<T> Waiter<T> {
    fn packet_cell(&self) -> &Packet<T> {
        // SAFETY: see `Waiter::new`: valid while queued or claimed-and-not-completed.
        unsafe { self.packet.as_ref() }
    }
}

/// A FIFO queue of waiters, kept under the channel lock.
pub(crate) struct WaitQueue<T> {
    q: VecDeque<Entry<T>>,
}

impl<T> WaitQueue<T> {
    pub(crate) fn new() -> Self {
        WaitQueue { q: VecDeque::new() }
    }

    pub(crate) fn push(&mut self, w: Waiter<T>) {
        self.q.push_back(Entry::Parked(w));
    }

    /// Queues a pending send future's record. The caller holds the channel lock and keeps the
    /// record alive until it is out of the queue ([`TaskWaiter`]'s contract).
    pub(crate) fn push_task(&mut self, t: &TaskWaiter<T>) {
        // SAFETY: the caller holds the channel lock.
        unsafe { t.with(|s| s.queued = true) };
        self.q.push_back(Entry::Task(NonNull::from(t)));
    }

    /// Dequeues the first waiter that can be claimed (Go: `waitq.dequeue`, which skips
    /// `sudog`s of selects that another case already won). Unclaimable entries are dropped.
    pub(crate) fn pop_claim(&mut self) -> Option<Claimed<T>> {
        while let Some(e) = self.q.pop_front() {
            let claimed = match &e {
                Entry::Parked(w) => w.sg().try_claim(w.case),
                Entry::Task(_) => true,
            };
            if claimed {
                return Some(Claimed { e });
            }
        }
        None
    }

    /// Removes every entry of `sg` (Go: `dequeueSudoG`).
    pub(crate) fn remove(&mut self, sg: &Sudog) {
        let sg = NonNull::from(sg);
        self.q
            .retain(|e| !matches!(e, Entry::Parked(w) if w.sg == sg));
    }

    /// Removes the entry of a task's record, if queued (its future is dropped), and marks it
    /// not queued. The caller holds the channel lock.
    pub(crate) fn remove_task(&mut self, t: &TaskWaiter<T>) {
        // SAFETY: the caller holds the channel lock.
        if unsafe { t.with(|s| std::mem::replace(&mut s.queued, false)) } {
            let p = NonNull::from(t);
            self.q.retain(|e| !matches!(e, Entry::Task(q) if *q == p));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.q.is_empty()
    }
}
