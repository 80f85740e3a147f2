//! What the benchmark workloads (`src/bin/bench_*.rs`) share: everything of
//! `report.rs` (flags, the `/proc/self` probes, the result check and the one
//! output line `cargo xtask bench` parses, the same file the tokio twins include), re-exported
//! here, and gmp's own part: the runtime a workload runs on and a count-down latch.

pub use crate::report::*;

use gmp_core::park::{self, Unparker};
use gmp_core::WaitReason;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The runtime a workload runs on: `procs` Ps, everything else at gmp's defaults.
pub fn runtime(procs: usize) -> gmp_core::Runtime {
    gmp_core::Runtime::builder()
        .procs(procs)
        .build()
        .unwrap_or_else(|e| fail(format!("building a runtime with {procs} Ps: {e}")))
}

/// Moves `value` to the heap for the rest of the process: state every goroutine of a
/// workload shares, captured as one plain reference the way a Go closure captures pointers.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// A count-down latch with one waiter, on `gmp_core::park`: what a workload uses where its
/// Go twin has a `sync.WaitGroup` that only main waits on (one atomic decrement per
/// [`done`](Countdown::done), like `wg.Done()`), until gmp-sync's `WaitGroup` is in the tree.
///
/// `left` counts the [`done`](Countdown::done) calls still expected:
///
/// | `left` | meaning                                 | next                                  |
/// |--------|-----------------------------------------|---------------------------------------|
/// | n > 1  | n calls to go                           | `done` → n - 1                        |
/// | 1      | the next `done` is the last             | `done` → 0 and unparks the waiter     |
/// | 0      | finished: `wait` returns                | `done` fails the run (too many calls) |
#[derive(Debug)]
pub struct Countdown {
    left: AtomicUsize,
    waiter: Unparker,
}

impl Countdown {
    /// A latch expecting `n` calls to [`done`](Countdown::done). The calling goroutine (or
    /// thread) is the one that may [`wait`](Countdown::wait).
    pub fn new(n: usize) -> Countdown {
        Countdown {
            left: AtomicUsize::new(n),
            waiter: park::current(),
        }
    }

    /// Counts one down; the last call wakes the waiter.
    pub fn done(&self) {
        match self.left.fetch_sub(1, Ordering::AcqRel) {
            0 => fail("Countdown::done called more often than counted"),
            1 => self.waiter.unpark(),
            _ => {}
        }
    }

    /// Parks until the count reaches zero. Only the goroutine (or thread) that created the
    /// latch may call it.
    pub fn wait(&self) {
        // The permit of `unpark` covers a `done` between the load and the park; park may
        // also return spuriously: recheck.
        while self.left.load(Ordering::Acquire) != 0 {
            park::park(WaitReason::SyncWaitGroupWait);
        }
    }

    /// Calls to [`done`](Countdown::done) still expected.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_wakes_its_waiter_on_the_last_done() {
        // On plain threads: the creating thread waits, workers count down.
        let latch = leak(Countdown::new(8));
        let workers: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(move || latch.done()))
            .collect();
        latch.wait();
        assert_eq!(latch.left(), 0);
        for w in workers {
            w.join().unwrap();
        }
        // A zero count does not wait.
        Countdown::new(0).wait();
    }

    #[test]
    fn countdown_in_goroutines() {
        let rt = runtime(2);
        let left = rt.run(|| {
            let latch = leak(Countdown::new(1000));
            for _ in 0..1000 {
                gmp_core::go(move || latch.done());
            }
            latch.wait();
            latch.left()
        });
        assert_eq!(left, 0);
    }
}
