//! yield: 2 tasks each call `tokio::task::yield_now().await` 1,000,000 times. Reports ns per
//! yield (total wall time / 2,000,000). Twin of `gmp-examples/go/yield` (`runtime.Gosched`)
//! and gmp's `bench_yield` (`gosched`).
//!
//! tokio's yield is not Go's: a yielded task is handed to its worker as deferred and woken
//! only once the worker has run out of other ready tasks and polled the I/O and timer driver
//! (tokio 1.54's `yield_now`), where `Gosched` puts the goroutine on the global run queue.

use gmp_tokio_twins::report;
use std::time::Instant;

const WORKERS: u64 = 2;
const YIELDS: u64 = 1_000_000;

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 2);
    let (elapsed, counts) = report::run(procs, async {
        let start = Instant::now();
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                tokio::spawn(async {
                    let mut n = 0u64;
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut counts = Vec::with_capacity(workers.len());
        for w in workers {
            counts.push(
                w.await
                    .unwrap_or_else(|e| report::fail(format!("worker: {e}"))),
            );
        }
        (start.elapsed(), counts)
    });
    for (w, c) in counts.iter().enumerate() {
        report::check(*c == YIELDS, || {
            format!("worker {w} yielded {c} times, want {YIELDS}")
        });
    }
    report::report(
        "yield",
        report::ns_per(elapsed, WORKERS * YIELDS),
        "ns/op",
        &[],
    );
}
