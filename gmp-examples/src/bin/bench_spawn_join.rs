//! spawn_join: 1,000,000 goroutines each add 1 to an atomic; main waits for all. Reports ns
//! per goroutine. Twin of `gmp-examples/go/spawn_join`: main waits on a WaitGroup, and the
//! goroutines are detached (their `JoinHandle`s dropped), as Go's are.

use gmp_examples::bench;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const N: u64 = 1_000_000;

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    // Leaked so each closure captures one plain reference, as a Go closure captures a pointer.
    let count: &'static AtomicU64 = bench::leak(AtomicU64::new(0));
    let elapsed = rt.run(move || {
        let start = Instant::now();
        let wg = gmp_sync::WaitGroup::new();
        wg.add(N as isize);
        for _ in 0..N {
            let wg = wg.clone();
            gmp_core::go(move || {
                count.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
        start.elapsed()
    });
    let count = count.load(Ordering::Relaxed);
    bench::check(count == N, || format!("count {count}, want {N}"));
    bench::report("spawn_join", bench::ns_per(elapsed, N), "ns/op", &[]);
}
