//! `Sema`: Go's runtime semaphore (`runtime/sema.go`, `semacquire`/`semrelease`), a counting
//! semaphore on the parking lot: the internal sleep/wake-up primitive under Mutex, RwLock and
//! WaitGroup. The public weighted `Semaphore` is `weighted.rs`.

use crate::loom::atomic::{AtomicU32, Ordering::SeqCst};
use crate::loom::const_fn;
use crate::lot::{self, Abandoned, Parked, UnparkToken};
use gmp_core::park::WaitReason;

/// Unpark token: woken by a release; the count must still be taken (and may have been stolen).
pub(crate) const TOKEN_NORMAL: UnparkToken = 0;
/// Unpark token: the releaser took the count on the waiter's behalf (Go: `s.ticket = 1`).
pub(crate) const TOKEN_HANDOFF: UnparkToken = 1;

/// What a waiter that unwound out of [`Sema::semacquire`] (its goroutine was cancelled while
/// parked) leaves with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Left {
    /// No count: it was still queued, or a release woke it to take a count that it had not
    /// taken yet (the count is still in the semaphore, for anyone). The primitive on top may
    /// still count it as one of its waiters.
    Empty,
    /// A count that a hand-off release took for it (`TOKEN_HANDOFF`): the primitive must
    /// give back what that count stands for.
    Holding,
}

impl Left {
    /// What a waiter parked on a [`Sema`]'s key leaves with.
    pub(crate) fn from_token(token: UnparkToken) -> Left {
        if token == TOKEN_HANDOFF {
            Left::Holding
        } else {
            Left::Empty
        }
    }
}

impl From<Abandoned> for Left {
    fn from(how: Abandoned) -> Left {
        match how {
            Abandoned::Dequeued { .. } => Left::Empty,
            Abandoned::Woken { token, .. } => Left::from_token(token),
        }
    }
}

/// Go's `sema uint32` with `semacquire1`/`semrelease1`.
///
/// `count` is the number of releases not yet consumed:
///
/// | transition | who                                                        |
/// |------------|------------------------------------------------------------|
/// | `n -> n+1` | [`Sema::semrelease`], before looking for a waiter          |
/// | `n -> n-1` | an acquirer, only from `n > 0` (CAS, Go's `cansemacquire`) |
///
/// Waiters queue in the parking lot under the address of `count`. An acquirer rechecks the
/// count under the bucket lock before it queues (`validate`), and a releaser increments it
/// before it takes that lock, so a release is never lost between the two.
#[derive(Debug)]
pub(crate) struct Sema {
    count: AtomicU32,
}

impl Sema {
    const_fn! {
        pub(crate) fn new() -> Sema {
            Sema { count: AtomicU32::new(0) }
        }
    }

    /// Where [`Sema::key`] lies inside a `Sema`.
    pub(crate) const KEY_OFFSET: usize = std::mem::offset_of!(Sema, count);

    /// The parking-lot key of this semaphore's waiters.
    pub(crate) fn key(&self) -> usize {
        &self.count as *const AtomicU32 as usize
    }

    /// Go: `cansemacquire`.
    pub(crate) fn cansemacquire(&self) -> bool {
        let mut v = self.count.load(SeqCst);
        loop {
            if v == 0 {
                return false;
            }
            match self.count.compare_exchange_weak(v, v - 1, SeqCst, SeqCst) {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
    }

    /// Takes one count, parking until one is released (Go: `semacquire1`). `lifo` queues the
    /// caller at the head of the waiters (a mutex waiter that lost a race after waking).
    ///
    /// If the caller's goroutine is cancelled while parked here, `on_abandon` is called
    /// during the unwind with what the caller [`Left`] with (see [`lot::park`]).
    pub(crate) fn semacquire(&self, lifo: bool, reason: WaitReason, on_abandon: impl FnOnce(Left)) {
        let got = self.semacquire_until(lifo, reason, &|| false, on_abandon);
        debug_assert!(got.is_none());
    }

    /// [`semacquire`](Self::semacquire) that also gives up when `interrupted()` (checked at
    /// every wake-up; whoever makes it true unparks the caller). `None`: it took a count.
    /// `Some(left)`: it gave up, and left the queue with `left` (a count handed to it is
    /// `Left::Holding`); a primitive that counts its waiters must settle as for an unwind.
    pub(crate) fn semacquire_until(
        &self,
        lifo: bool,
        reason: WaitReason,
        interrupted: &dyn Fn() -> bool,
        on_abandon: impl FnOnce(Left),
    ) -> Option<Left> {
        if self.cansemacquire() {
            return None;
        }
        let mut on_abandon = Some(on_abandon);
        loop {
            let parked = lot::park_interruptible(
                self.key(),
                0,
                lifo,
                reason,
                || !self.cansemacquire(),
                || {},
                interrupted,
                |how| {
                    if let Some(f) = on_abandon.take() {
                        f(Left::from(how));
                    }
                },
            );
            match parked {
                Parked::NotQueued => return None, // the recheck under the bucket lock took one
                Parked::Woken(t) => {
                    if self.finish_wake(t) {
                        return None;
                    }
                }
                Parked::Interrupted(how) => return Some(Left::from(how)),
            }
        }
    }

    /// Settles a waiter that leaves without parking again (its goroutine was cancelled while
    /// it waited here, and it unwinds) in a primitive that counts its waiters: RwLock's
    /// readers, WaitGroup's waiters, Mutex's waiters. Either it takes a count released for
    /// the waiters (`true`: it has the duty of the waiter that count was meant for), or it
    /// uncounts itself with `uncount` (`false`), so no count is ever left over.
    ///
    /// `uncount` tries once: `Some(true)` if it uncounted the waiter, `Some(false)` if its CAS
    /// lost a race (look again at once), `None` if the waiter is not counted any more: then a
    /// release for it is on its way into this semaphore, on another thread a few instructions
    /// from it, and the loop waits until it shows up.
    ///
    /// Runs during the unwind: never panics, never parks.
    pub(crate) fn take_or_uncount(&self, mut uncount: impl FnMut() -> Option<bool>) -> bool {
        loop {
            if self.cansemacquire() {
                return true;
            }
            match uncount() {
                Some(true) => return false,
                Some(false) => {}
                None => crate::loom::yield_now(),
            }
        }
    }

    /// Whether a waiter woken with `token` now holds a count: handed off, or taken now.
    /// Go: `if s.ticket != 0 || cansemacquire(addr)`.
    pub(crate) fn finish_wake(&self, token: UnparkToken) -> bool {
        token == TOKEN_HANDOFF || self.cansemacquire()
    }

    /// Adds one count and wakes the first waiter (Go: `semrelease1`). With `handoff`, the count
    /// is taken for that waiter directly, so no newcomer can steal it (starvation mode).
    pub(crate) fn semrelease(&self, handoff: bool) {
        self.count.fetch_add(1, SeqCst);
        lot::unpark_one(self.key(), |r| {
            if r.unparked && handoff && self.cansemacquire() {
                TOKEN_HANDOFF
            } else {
                TOKEN_NORMAL
            }
        });
    }
}
