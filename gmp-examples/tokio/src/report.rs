//! What the tokio twins share: the flags, the `/proc/self` probes, the result check and the
//! one output line that `cargo xtask bench` parses, from the very file gmp's workloads use
//! (`gmp-examples/src/report.rs`, included by path: this package depends on no gmp crate),
//! and the tokio part: the runtime every twin runs on and a count-down latch.

// The shared file (flags, probes, `fail`, `report`): one copy for gmp's workloads and these.
#[path = "../../src/report.rs"]
mod common;
pub use common::*;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

/// The runtime a twin runs on: tokio's multi-thread scheduler with `procs` worker threads
/// (`worker_threads(1)` for the `_p1` rows, not the current-thread scheduler: one worker
/// thread is what "1 P" means on the gmp and Go sides), I/O and timers enabled, everything
/// else at tokio's defaults: what `#[tokio::main(worker_threads = N)]` builds.
pub fn runtime(procs: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("building a runtime with {procs} workers: {e}")))
}

/// Runs `main` to completion on a [`runtime`] of `procs` workers and returns its output.
///
/// `main` runs as a spawned task, not as the future `block_on` polls: `#[tokio::main]`
/// polls its body on the program's main thread, beside the workers, so `procs` workers would
/// be `procs` + 1 threads running the workload. Spawned, the whole workload runs on the
/// `procs` workers, as Go's main goroutine runs on one of its GOMAXPROCS Ps and gmp's on one
/// of its `procs` Ps. A panic in `main` fails the run.
pub fn run<F>(procs: usize, main: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime(procs);
    let handle = rt.spawn(main);
    rt.block_on(handle)
        .unwrap_or_else(|e| fail(format!("main task: {e}")))
}

/// Moves `value` to the heap for the rest of the process: state every task of a workload
/// shares, captured as one plain reference the way a Go closure captures pointers (and as
/// gmp's twins do), so no twin pays an `Arc` count per task that the others do not.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// A count-down latch with one waiter: the twin's `sync.WaitGroup` where only main waits.
/// tokio has no WaitGroup; this is the cheapest equivalent from its parts, one atomic
/// decrement per [`done`](Countdown::done) (as `wg.Done()`) and a [`Notify`] that the last
/// one wakes (`notify_one` stores a permit when nobody waits yet, so no wake-up is lost).
///
/// `left` counts the [`done`](Countdown::done) calls still expected:
///
/// | `left` | meaning                                 | next                                  |
/// |--------|-----------------------------------------|---------------------------------------|
/// | n > 1  | n calls to go                           | `done` → n - 1                        |
/// | 1      | the next `done` is the last             | `done` → 0 and notifies the waiter    |
/// | 0      | finished: `wait` returns                | `done` fails the run (too many calls) |
#[derive(Debug)]
pub struct Countdown {
    left: AtomicUsize,
    zero: Notify,
}

impl Countdown {
    /// A latch expecting `n` calls to [`done`](Countdown::done).
    pub fn new(n: usize) -> Countdown {
        Countdown {
            left: AtomicUsize::new(n),
            zero: Notify::new(),
        }
    }

    /// Counts one down; the last call wakes the waiter.
    pub fn done(&self) {
        match self.left.fetch_sub(1, Ordering::AcqRel) {
            0 => fail("Countdown::done called more often than counted"),
            1 => self.zero.notify_one(),
            _ => {}
        }
    }

    /// Waits until the count reaches zero. One task at a time may wait.
    pub async fn wait(&self) {
        while self.left.load(Ordering::Acquire) != 0 {
            self.zero.notified().await;
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
        for procs in [1, 2] {
            let left = run(procs, async {
                let latch = leak(Countdown::new(1000));
                for _ in 0..1000 {
                    tokio::spawn(async move { latch.done() });
                }
                latch.wait().await;
                latch.left()
            });
            assert_eq!(left, 0);
        }
        // A zero count does not wait; a count reached before the wait does not either.
        run(1, async {
            Countdown::new(0).wait().await;
            let c = Countdown::new(1);
            c.done();
            c.wait().await;
        });
    }
}
