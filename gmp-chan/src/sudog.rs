//! `Sudog`: the waiter record of a blocked channel operation or select (Go: `sudog` in
//! runtime/runtime2.go, with the `g` it points to and that g's `selectDone` flag): who to
//! wake, and the claim word that lets exactly one waker win.
//!
//! Go gives a select one `sudog` per case, all pointing at one `g` whose `selectDone` decides
//! which case wins. Here one `Sudog` per blocked operation holds who to wake and the claim,
//! and each queue entry ([`Waiter`](crate::waitq::Waiter)) adds what Go's per-case `sudog`
//! adds: the case and the value slot (`sudog.elem`).
//!
//! Every record a waker touches lives off the blocked party's stack, in a
//! [`SudogBox`](gmp_core::park::SudogBox) from its P's cache (Go: `acquireSudog`): a parked
//! goroutine's stack is touched by nobody but itself, so it can be copied out while it waits.

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::waitq::Packet;
use gmp_core::park::{self, SudogBox, Unparker, WaitReason};
use std::mem::ManuallyDrop;
use std::time::Instant;

/// One blocking `send`, `recv` or `select`, waiting to be completed by another party (Go:
/// `sudog`).
///
/// It lives in a [`SudogBox`] owned by the blocked caller (see the design essay in `chan.rs`):
/// the caller does not free it before every queue entry pointing here is gone.
///
/// 32 bytes on x86_64. `state` is the claim word (Go: `g.selectDone` plus `sudog.success`):
///
/// | value                | meaning                                                 | set by |
/// |----------------------|---------------------------------------------------------|--------|
/// | `WAITING` (0)        | registered, not yet claimed                             | `new` |
/// | `ABORTED` (1)        | the owner gave up (timeout, unwinding); nobody may claim | owner, CAS from `WAITING`, holding every lock its entries sit under |
/// | `2(k+1)` (even ≥ 2)  | case `k` claimed by a waker, transfer in progress        | a waker, CAS from `WAITING`, holding case `k`'s channel lock |
/// | `2(k+1)+1` (odd ≥ 3) | case `k` completed: its packet holds the result          | the same waker, still holding that lock |
/// | `ONE_LOCK` (top bit) | with any of the above: a plain send's or receive's record | `new_one_lock`, kept for the record's life |
///
/// Only one CAS from `WAITING` can succeed, so exactly one case of a select completes, and a
/// timed-out operation either completes or is aborted, never both. A plain operation's record
/// (`ONE_LOCK`) sits in one channel's queue, so its claims and its abort all run under that
/// one lock: there a load and a store do what the CAS does, one atomic read-modify-write less
/// a hand-off (Go's plain `chansend`/`chanrecv` take no `selectDone` CAS either). The completing store is the
/// waker's last access to the record: it moves the [`Unparker`] out before (a completed
/// record's `unparker` is moved-from, and its drop skips it).
#[derive(Debug)]
pub(crate) struct Sudog {
    state: AtomicUsize,
    unparker: ManuallyDrop<Unparker>,
}

const WAITING: usize = 0;
const ABORTED: usize = 1;
/// The flag of a record whose every claim and abort run under one channel lock.
const ONE_LOCK: usize = 1 << (usize::BITS - 1);

#[inline]
fn claimed(case: usize) -> usize {
    (case + 1) << 1
}

impl Sudog {
    /// A fresh record for the goroutine or thread that `unparker` wakes (the caller's).
    pub(crate) fn new(unparker: Unparker) -> Self {
        Sudog {
            state: AtomicUsize::new(WAITING),
            unparker: ManuallyDrop::new(unparker),
        }
    }

    /// A record that is queued on one channel only (a plain send or receive): its claims and
    /// its abort are made under that channel's lock.
    pub(crate) fn new_one_lock(unparker: Unparker) -> Self {
        Sudog {
            state: AtomicUsize::new(ONE_LOCK | WAITING),
            unparker: ManuallyDrop::new(unparker),
        }
    }

    /// Claims case `case` for a waker (Go: `sg.g.selectDone.CompareAndSwap(0, 1)`).
    /// Fails if another case was claimed or the owner aborted.
    #[inline]
    pub(crate) fn try_claim(&self, case: usize) -> bool {
        let s = self.state.load(Ordering::Relaxed);
        if s & ONE_LOCK != 0 {
            // The caller holds the one lock under which every write of this word is made
            // (the state table), and a plain record in a queue is always unclaimed: a claim
            // pops it, an abort dequeues it, each under that lock.
            debug_assert_eq!(
                s,
                ONE_LOCK | WAITING,
                "gmp-chan: a settled record still queued"
            );
            self.state
                .store(ONE_LOCK | claimed(case), Ordering::Relaxed);
            return true;
        }
        self.state
            .compare_exchange(WAITING, claimed(case), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Marks a claimed case complete and returns the owner's unparker, to be used after the
    /// channel lock is released (Go: `goready` after `unlock`). Last touch of the record.
    ///
    /// The unparker is moved out, not cloned (a clone and its drop are two atomic read-modify-
    /// writes on the G's count, on every wake-up).
    #[inline]
    pub(crate) fn complete(&self, case: usize) -> Unparker {
        // SAFETY: only the waker that claimed `case` gets here, once (`try_claim` succeeds
        // once per record), and the owner neither reads nor drops `unparker` of a completed
        // record (see `Drop`), which it sees completed only after the Release store below:
        // this read is the one use of the value it moves out.
        let u = unsafe { std::ptr::read(&*self.unparker) };
        // Our own claim (with the record's `ONE_LOCK` flag, if any): nobody else writes now.
        let word = self.state.load(Ordering::Relaxed);
        debug_assert_eq!(
            word & !ONE_LOCK,
            claimed(case),
            "gmp-chan: completing an unclaimed case"
        );
        self.state.store(word | 1, Ordering::Release);
        u
    }

    /// The owner gives up. `true` if it did (nobody had claimed it); `false` if a case was
    /// claimed (and, as the owner holds the claimer's lock when it calls this, completed).
    #[inline]
    pub(crate) fn try_abort(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        if s & ONE_LOCK != 0 {
            // The owner holds the record's one lock, as every claimer does (the state table).
            if s != ONE_LOCK | WAITING {
                return false;
            }
            self.state.store(ONE_LOCK | ABORTED, Ordering::Relaxed);
            return true;
        }
        self.state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The completed case, if any.
    #[inline]
    pub(crate) fn completed(&self) -> Option<usize> {
        let s = self.state.load(Ordering::Acquire) & !ONE_LOCK;
        if Self::is_completed(s) {
            Some((s >> 1) - 1)
        } else {
            None
        }
    }

    /// Whether the state word `s` says completed.
    #[inline]
    fn is_completed(s: usize) -> bool {
        s >= 2 && s & 1 == 1
    }

    /// Parks until a case is completed; returns it.
    pub(crate) fn wait(&self, reason: WaitReason) -> usize {
        loop {
            if let Some(case) = self.completed() {
                return case;
            }
            park::park(reason);
        }
    }

    /// Parks until a case is completed (`Some`) or `deadline` passes (`None`). On `None`
    /// the caller must lock its channels and [`try_abort`](Self::try_abort).
    pub(crate) fn wait_until(&self, reason: WaitReason, deadline: Instant) -> Option<usize> {
        loop {
            if let Some(case) = self.completed() {
                return Some(case);
            }
            if !park::park_deadline(reason, deadline) {
                return self.completed();
            }
        }
    }
}

impl Drop for Sudog {
    /// The unparker is dropped unless a waker moved it out (`complete`). The owner drops its
    /// record only when no entry points at it any more (completed, or aborted and dequeued):
    /// no waker runs `complete` concurrently.
    fn drop(&mut self) {
        if !Self::is_completed(self.state.load(Ordering::Acquire) & !ONE_LOCK) {
            // SAFETY: not completed, so `complete` never moved it out; dropped once, here.
            unsafe { ManuallyDrop::drop(&mut self.unparker) };
        }
    }
}

/// A plain send's or receive's record: its [`Sudog`] and its value slot, in one block. 40
/// bytes plus the slot's `Option<T>` on x86_64: a 64-byte block for values up to 16 bytes.
pub(crate) struct Waiting<T> {
    pub(crate) sg: Sudog,
    pub(crate) packet: Packet<T>,
}

impl<T> Waiting<T> {
    /// A record for the calling goroutine or thread, its packet holding `v`.
    pub(crate) fn acquire(v: Option<T>) -> SudogBox<Self> {
        SudogBox::new_with(|u| Waiting {
            sg: Sudog::new_one_lock(u),
            packet: Packet::new(v),
        })
    }
}
