//! Go's `sync.Mutex` algorithm on a state word and a [`Sema`] (Go: `sync/mutex.go`): the
//! lock under [`Mutex`](crate::Mutex), [`RwLock`](crate::RwLock)'s writer lock and [`Once`](crate::Once).

use crate::loom::atomic::{AtomicU32, Ordering};
use crate::loom::{can_spin, const_fn, do_spin, nanotime};
use crate::sema::{Left, Sema};
use gmp_core::park::WaitReason;

/// Bit 0 of the state: the mutex is held. Same as Go's `mutexLocked`.
pub(crate) const MUTEX_LOCKED: u32 = 1;
/// Bit 1: a waiter is awake (woken or spinning), so `unlock` need not wake another.
/// Same as Go's `mutexWoken`.
pub(crate) const MUTEX_WOKEN: u32 = 2;
/// Bit 2: starvation mode, ownership passes directly to the queue head. Go's `mutexStarving`.
pub(crate) const MUTEX_STARVING: u32 = 4;
/// The waiter count starts at bit 3. Same as Go's `mutexWaiterShift`.
pub(crate) const MUTEX_WAITER_SHIFT: u32 = 3;
/// A waiter that waited longer than this switches the mutex to starvation mode. Same as Go's
/// `starvationThresholdNs` (sync/mutex.go): 1 ms, long enough that normal mode (much faster,
/// newcomers on a CPU win) is kept unless a waiter is really being passed over.
pub(crate) const STARVATION_THRESHOLD_NS: u64 = 1_000_000;

/// Go's `sync.Mutex` without data.
#[derive(Debug)]
pub(crate) struct RawMutex {
    /// The lock word, as Go's `state int32`:
    ///
    /// | bits  | name      | meaning                                                    |
    /// |-------|-----------|------------------------------------------------------------|
    /// | 0     | LOCKED    | held by someone                                            |
    /// | 1     | WOKEN     | a waiter is awake and competing: `unlock` wakes nobody     |
    /// | 2     | STARVING  | starvation mode: `unlock` hands ownership to the queue head |
    /// | 3..32 | waiters   | goroutines/threads queued on `sema` or about to queue      |
    ///
    /// Transitions (all by CAS or add):
    /// - `0 -> LOCKED`: the fast path of `lock`; `try_lock` sets LOCKED if neither LOCKED nor
    ///   STARVING is set.
    /// - `lock_slow` sets LOCKED (normal mode only), adds a waiter when it will queue, sets
    ///   STARVING when it waited > 1 ms while the mutex is locked, sets WOKEN while spinning
    ///   and clears it once it was the awake one.
    /// - `unlock` subtracts LOCKED. In normal mode, if there are waiters and none of LOCKED,
    ///   WOKEN, STARVING is set, it removes one waiter, sets WOKEN and releases `sema`.
    ///   In starvation mode it releases `sema` with hand-off; LOCKED stays clear and the
    ///   woken waiter adds `LOCKED - 1 waiter` itself (clearing STARVING if it was the last
    ///   waiter or waited < 1 ms). While STARVING is set, nobody else may take the lock.
    /// - `Cond::broadcast` adds waiters it moved onto `sema` from the condition variable.
    /// - A waiter whose goroutine is cancelled while parked removes itself ([`abandon`]).
    ///
    /// [`abandon`]: RawMutex::abandon
    state: AtomicU32,
    sema: Sema,
}

/// Where `lock_slow` starts: a fresh call, or a waiter that a `Cond::broadcast` moved onto the
/// mutex queue and that has now been woken from it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SlowStart {
    Fresh,
    /// Woken from `sema` with this parking-lot token; the waiter started waiting at
    /// `wait_start` (nanotime).
    Requeued {
        token: crate::lot::UnparkToken,
        wait_start: u64,
    },
}

impl RawMutex {
    const_fn! {
        pub(crate) fn new() -> RawMutex {
            RawMutex { state: AtomicU32::new(0), sema: Sema::new() }
        }
    }

    /// Locks, parking with `reason` while it waits (Go: `Mutex.Lock`).
    #[inline]
    pub(crate) fn lock(&self, reason: WaitReason) {
        gmp_core::park::checkpoint();
        if self
            .state
            .compare_exchange(0, MUTEX_LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(reason, SlowStart::Fresh);
        }
    }

    /// Go: `Mutex.TryLock`.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let old = self.state.load(Ordering::Relaxed);
        if old & (MUTEX_LOCKED | MUTEX_STARVING) != 0 {
            return false;
        }
        self.state
            .compare_exchange(
                old,
                old | MUTEX_LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// The parking-lot key of the waiters of the `RawMutex` at address `addr`, computed
    /// without dereferencing it (`Cond::broadcast` validates `addr` under a lock first).
    pub(crate) fn sema_key_at(addr: usize) -> usize {
        addr + std::mem::offset_of!(RawMutex, sema) + Sema::KEY_OFFSET
    }

    /// Counts `n` waiters that `Cond::broadcast` moved onto this mutex's queue. Called with
    /// the parking-lot buckets of both keys locked, so the waiters are queued before any
    /// `unlock` can look for them.
    pub(crate) fn add_requeued_waiters(&self, n: u32) {
        self.state
            .fetch_add(n << MUTEX_WAITER_SHIFT, Ordering::SeqCst);
    }

    /// Go: `Mutex.lockSlow`.
    #[cold]
    pub(crate) fn lock_slow(&self, reason: WaitReason, start: SlowStart) {
        let mut wait_start: u64 = 0;
        let mut starving = false;
        let mut awoke = false;
        let mut iter: u32 = 0;
        if let SlowStart::Requeued {
            token,
            wait_start: ws,
        } = start
        {
            wait_start = ws;
            if !self.sema.finish_wake(token) {
                self.sema
                    .semacquire(true, reason, |left| self.abandon(left));
            }
            if self.after_wake(wait_start, &mut starving) {
                return;
            }
            awoke = true;
        }
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Don't spin in starvation mode: ownership goes to the waiters.
            if old & (MUTEX_LOCKED | MUTEX_STARVING) == MUTEX_LOCKED && can_spin(iter) {
                // Set WOKEN so that unlock does not wake another waiter.
                if !awoke
                    && old & MUTEX_WOKEN == 0
                    && old >> MUTEX_WAITER_SHIFT != 0
                    && self
                        .state
                        .compare_exchange(
                            old,
                            old | MUTEX_WOKEN,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                {
                    awoke = true;
                }
                do_spin();
                iter += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            // Don't try to take a starving mutex: newcomers queue.
            if old & MUTEX_STARVING == 0 {
                new |= MUTEX_LOCKED;
            }
            if old & (MUTEX_LOCKED | MUTEX_STARVING) != 0 {
                new += 1 << MUTEX_WAITER_SHIFT;
            }
            // Switch to starvation mode, unless the mutex was just unlocked (then unlock
            // would expect waiters that a starving mutex does not have).
            if starving && old & MUTEX_LOCKED != 0 {
                new |= MUTEX_STARVING;
            }
            if awoke {
                // We were woken (or spun with WOKEN set): the flag is ours to clear.
                assert!(new & MUTEX_WOKEN != 0, "sync: inconsistent mutex state");
                new &= !MUTEX_WOKEN;
            }
            match self
                .state
                .compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => {
                    if old & (MUTEX_LOCKED | MUTEX_STARVING) == 0 {
                        return; // locked with the CAS
                    }
                    // A waiter woken before queues at the front (Go's queueLifo).
                    let lifo = wait_start != 0;
                    if wait_start == 0 {
                        wait_start = nanotime().max(1);
                    }
                    self.sema
                        .semacquire(lifo, reason, |left| self.abandon(left));
                    if self.after_wake(wait_start, &mut starving) {
                        return;
                    }
                    awoke = true;
                    iter = 0;
                    old = self.state.load(Ordering::Relaxed);
                }
                Err(now) => old = now,
            }
        }
    }

    /// The part of `lockSlow` after `runtime_SemacquireMutex` returns: updates `starving`,
    /// and in starvation mode takes the handed-off lock. Returns whether we now hold it.
    fn after_wake(&self, wait_start: u64, starving: &mut bool) -> bool {
        *starving = *starving || nanotime().saturating_sub(wait_start) > STARVATION_THRESHOLD_NS;
        let old = self.state.load(Ordering::SeqCst);
        if old & MUTEX_STARVING == 0 {
            return false;
        }
        // Ownership was handed to us: LOCKED and WOKEN are clear, and we are counted.
        assert!(
            old & (MUTEX_LOCKED | MUTEX_WOKEN) == 0 && old >> MUTEX_WAITER_SHIFT != 0,
            "sync: inconsistent mutex state"
        );
        let mut delta = MUTEX_LOCKED.wrapping_sub(1 << MUTEX_WAITER_SHIFT);
        if !*starving || old >> MUTEX_WAITER_SHIFT == 1 {
            // Leave starvation mode: it is inefficient, two goroutines can go lock-step
            // forever once it is on.
            delta = delta.wrapping_sub(MUTEX_STARVING);
        }
        self.state.fetch_add(delta, Ordering::SeqCst);
        true
    }

    /// Unlocks (Go: `Mutex.Unlock`).
    ///
    /// # Safety
    ///
    /// The caller holds the lock (it owns the guard being dropped, or locked it itself).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        let new = self
            .state
            .fetch_sub(MUTEX_LOCKED, Ordering::Release)
            .wrapping_sub(MUTEX_LOCKED);
        if new != 0 {
            self.unlock_slow(new);
        }
    }

    /// Go: `Mutex.unlockSlow`.
    #[cold]
    fn unlock_slow(&self, new: u32) {
        if new.wrapping_add(MUTEX_LOCKED) & MUTEX_LOCKED == 0 {
            // Unreachable through guards; Go makes it a fatal error.
            eprintln!("fatal error: sync: unlock of unlocked mutex");
            std::process::abort();
        }
        if new & MUTEX_STARVING == 0 {
            self.wake_one_if_idle(new);
        } else {
            // Starvation mode: hand ownership to the next waiter. LOCKED stays clear, but
            // STARVING keeps newcomers out until the waiter takes it.
            self.sema.semrelease(true);
        }
    }

    /// The normal-mode half of `unlockSlow`, from state `old`: if waiters are counted and
    /// none of LOCKED, WOKEN, STARVING is set, uncounts one, sets WOKEN and wakes it.
    pub(crate) fn wake_one_if_idle(&self, mut old: u32) {
        loop {
            // No waiters, or one is already awake or has the lock: nothing to wake.
            if old >> MUTEX_WAITER_SHIFT == 0
                || old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING) != 0
            {
                return;
            }
            // Take one waiter off the count and wake it, with WOKEN set.
            let new = (old - (1 << MUTEX_WAITER_SHIFT)) | MUTEX_WOKEN;
            match self
                .state
                .compare_exchange(old, new, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.sema.semrelease(false);
                    return;
                }
                Err(now) => old = now,
            }
        }
    }

    /// Wakes a waiter if the lock is free and nobody is awake to take it: what a cancelled
    /// `Cond` waiter that a `broadcast` woke does for the waiters it requeued onto us.
    pub(crate) fn wake_if_idle(&self) {
        self.wake_one_if_idle(self.state.load(Ordering::SeqCst));
    }

    /// Undoes a waiter of `lock_slow` whose goroutine was cancelled while parked on `sema`
    /// (it unwinds out of `lock`, or out of `Cond::wait` after a `broadcast` requeued it
    /// here). It is counted in the waiter count, and may have been woken, or even handed the
    /// lock, before it could act on it.
    ///
    /// The counting argument. In normal mode every waiter that the state counts, or that an
    /// unlock uncounted to wake it (releasing a count into `sema`, with WOKEN set), is queued
    /// on `sema` or on its way there or back: `waiters + counts released = waiters around the
    /// queue`. A leaving waiter restores that either by taking a released count, and with it
    /// the woken waiter's duty (clear WOKEN; wake another if the lock is free), or else by
    /// uncounting itself. If no waiter is counted, some unlock uncounted one and its count is
    /// on its way into `sema` (the unlock runs on another thread, a few instructions from
    /// it): wait for it. In starvation mode unlocks leave the count alone and a count in `sema`
    /// is the lock itself being handed off: a leaving waiter that takes one owns the lock and
    /// unlocks it; the last waiter leaving a held lock turns starvation mode off, so that the
    /// holder's unlock does not hand the lock to nobody.
    ///
    /// Runs during an unwind: it never panics and never parks.
    pub(crate) fn abandon(&self, left: Left) {
        if left == Left::Holding {
            self.abandon_owner();
            return;
        }
        let took_count = self.sema.take_or_uncount(|| {
            let old = self.state.load(Ordering::SeqCst);
            let waiters = old >> MUTEX_WAITER_SHIFT;
            let handing_off = old & (MUTEX_LOCKED | MUTEX_STARVING) == MUTEX_STARVING;
            // `None` when no waiter is counted (a normal-mode wake-up is on its way), or we are
            // the only one and the lock is being handed off: the count will show up in `sema`.
            (waiters > 1 || (waiters == 1 && !handing_off)).then(|| {
                let mut new = old - (1 << MUTEX_WAITER_SHIFT);
                if waiters == 1 {
                    new &= !MUTEX_STARVING;
                }
                self.state
                    .compare_exchange(old, new, Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
            })
        });
        if took_count {
            if self.state.load(Ordering::SeqCst) & MUTEX_STARVING != 0 {
                self.abandon_owner();
            } else {
                self.abandon_woken();
            }
        }
    }

    /// A cancelled waiter took a count released in normal mode: it is the awake waiter now.
    /// It clears WOKEN, and wakes another waiter if the lock is free.
    fn abandon_woken(&self) {
        let mut old = self.state.load(Ordering::SeqCst);
        while old & MUTEX_WOKEN != 0 {
            match self.state.compare_exchange(
                old,
                old & !MUTEX_WOKEN,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        self.wake_if_idle();
    }

    /// A cancelled waiter was handed the lock (starvation mode): it takes it as `after_wake`
    /// does, uncounting itself and ending starvation mode (it is not starving any more), and
    /// unlocks it, which wakes the next waiter in normal mode.
    fn abandon_owner(&self) {
        let mut old = self.state.load(Ordering::SeqCst);
        loop {
            let mut new = (old | MUTEX_LOCKED) & !MUTEX_STARVING;
            if new >> MUTEX_WAITER_SHIFT != 0 {
                new -= 1 << MUTEX_WAITER_SHIFT;
            }
            match self
                .state
                .compare_exchange(old, new, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        // SAFETY: the hand-off made us the owner, and we set LOCKED just above.
        unsafe { self.unlock() }
    }

    /// Whether the mutex is unlocked with nothing counted, flagged or released: what every
    /// mutex must come back to once nobody uses it.
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        self.state.load(Ordering::SeqCst) == 0 && !self.sema.cansemacquire()
    }
}
