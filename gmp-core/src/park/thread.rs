//! Parking a plain OS thread with permit semantics (tokio's `park.rs` shape).

use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::{Condvar, Mutex};
use std::time::Instant;

/// The parker of one OS thread.
///
/// `state` is the permit word:
///
/// | value      | meaning                                              | set by             |
/// |------------|------------------------------------------------------|--------------------|
/// | `EMPTY`    | no permit, nobody asleep                             | the parked thread  |
/// | `PARKED`   | the owner is asleep (or about to be) on `condvar`    | the owner, `mutex` held |
/// | `NOTIFIED` | a permit is waiting: the next park returns at once   | any `unpark`       |
///
/// The owner consumes `NOTIFIED` (→ `EMPTY`); `unpark` that finds `PARKED` takes `mutex`
/// before notifying, so the wake-up cannot fall between the owner's check and its wait.
#[derive(Debug)]
pub(crate) struct ThreadParker {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

impl ThreadParker {
    pub(crate) fn new() -> Self {
        ThreadParker {
            state: AtomicUsize::new(EMPTY),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Blocks until a permit is available, consuming it.
    pub(crate) fn park(&self) {
        self.park_inner(None);
    }

    /// Blocks until a permit is available or `deadline` passes. Returns `true` if it consumed
    /// a permit, `false` on timeout.
    pub(crate) fn park_deadline(&self, deadline: Instant) -> bool {
        self.park_inner(Some(deadline))
    }

    fn park_inner(&self, deadline: Option<Instant>) -> bool {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return true;
        }
        let mut guard = self.mutex.lock();
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return true;
            }
            Err(s) => panic!("gmp: inconsistent thread park state {s}"),
        }
        loop {
            match deadline {
                None => guard = self.condvar.wait(guard),
                Some(d) => {
                    let (g, timed_out) = self.condvar.wait_until(guard, d);
                    guard = g;
                    if timed_out {
                        // Whatever happened, leave EMPTY; a racing unpark counts as delivered.
                        return self.state.swap(EMPTY, SeqCst) == NOTIFIED;
                    }
                }
            }
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return true;
            }
            // Spurious wake-up: still PARKED, wait again.
        }
    }

    /// Makes a permit available, waking the owner if it is parked.
    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Taking the lock orders us after the owner's wait began.
                drop(self.mutex.lock());
                self.condvar.notify_one();
            }
            s => panic!("gmp: inconsistent thread park state {s}"),
        }
    }
}
