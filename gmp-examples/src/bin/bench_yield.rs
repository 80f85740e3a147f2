//! yield: 2 goroutines each call `gosched` 1,000,000 times. Reports ns per yield (total wall
//! time / 2,000,000). Twin of `gmp-examples/go/yield`.

use gmp_examples::bench;
use std::time::Instant;

const WORKERS: u64 = 2;
const YIELDS: u64 = 1_000_000;

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (elapsed, counts) = rt.run(|| {
        let start = Instant::now();
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                gmp_core::go(|| {
                    let mut n = 0u64;
                    for _ in 0..YIELDS {
                        gmp_core::gosched();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let counts: Vec<u64> = workers
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|e| bench::fail(format!("worker: {e}")))
            })
            .collect();
        (start.elapsed(), counts)
    });
    for (w, c) in counts.iter().enumerate() {
        bench::check(*c == YIELDS, || {
            format!("worker {w} yielded {c} times, want {YIELDS}")
        });
    }
    bench::report(
        "yield",
        bench::ns_per(elapsed, WORKERS * YIELDS),
        "ns/op",
        &[],
    );
}
