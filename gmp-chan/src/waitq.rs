//! FIFO queues of blocked senders or receivers (Go: `waitq` of `sudog`s).

use crate::loom::UnsafeCell;
use crate::sudog::Sudog;
use gmp_core::park::Unparker;
use std::collections::VecDeque;
use std::ptr::NonNull;

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

/// A waiter a waker has claimed: it may move a value through the packet, then must
/// [`complete`](Claimed::complete) it, still holding the channel lock.
pub(crate) struct Claimed<T> {
    w: Waiter<T>,
}

impl<T> Claimed<T> {
    /// Gives a value to a claimed receiver (Go: `sendDirect`).
    pub(crate) fn put(&self, v: T) {
        // SAFETY: the owner is claimed and waits for `complete`, so its packet is alive and
        // only we touch it until then.
        self.w.packet_cell().with_mut(|p| unsafe { *p = Some(v) });
    }

    /// Takes the value of a claimed sender (Go: `recvDirect`).
    pub(crate) fn take(&self) -> T {
        // SAFETY: as in `put`. A blocked sender's packet holds its value until a receiver
        // takes it, and only one claim exists.
        self.w
            .packet_cell()
            .with_mut(|p| unsafe { (*p).take() })
            .expect("gmp-chan: a blocked sender's packet is empty")
    }

    /// Completes the claimed case and returns the owner's unparker, to be called after the
    /// lock is released.
    pub(crate) fn complete(self) -> Unparker {
        self.w.sg().complete(self.w.case)
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
    q: VecDeque<Waiter<T>>,
}

impl<T> WaitQueue<T> {
    pub(crate) fn new() -> Self {
        WaitQueue { q: VecDeque::new() }
    }

    pub(crate) fn push(&mut self, w: Waiter<T>) {
        self.q.push_back(w);
    }

    /// Dequeues the first waiter that can be claimed (Go: `waitq.dequeue`, which skips
    /// `sudog`s of selects that another case already won). Unclaimable entries are dropped.
    pub(crate) fn pop_claim(&mut self) -> Option<Claimed<T>> {
        while let Some(w) = self.q.pop_front() {
            if w.sg().try_claim(w.case) {
                return Some(Claimed { w });
            }
        }
        None
    }

    /// Removes every entry of `sg` (Go: `dequeueSudoG`).
    pub(crate) fn remove(&mut self, sg: &Sudog) {
        let sg = NonNull::from(sg);
        self.q.retain(|w| w.sg != sg);
    }

    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }
}
