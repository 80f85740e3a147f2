//! spawn_join: 1,000,000 tasks each add 1 to an atomic; main waits for all. Reports ns per
//! task. Twin of `gmp-examples/go/spawn_join` and gmp's `bench_spawn_join`: the tasks are
//! detached (`tokio::spawn`, handles dropped) as Go's goroutines are, and main waits on a
//! [`Countdown`] (tokio has no WaitGroup).

use gmp_tokio_twins::report::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const N: u64 = 1_000_000;

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 2);
    let count: &'static AtomicU64 = report::leak(AtomicU64::new(0));
    let elapsed = report::run(procs, async move {
        let start = Instant::now();
        let wg: &'static Countdown = report::leak(Countdown::new(N as usize));
        for _ in 0..N {
            tokio::spawn(async move {
                count.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait().await;
        start.elapsed()
    });
    let count = count.load(Ordering::Relaxed);
    report::check(count == N, || format!("count {count}, want {N}"));
    report::report("spawn_join", report::ns_per(elapsed, N), "ns/op", &[]);
}
