//! sleep_timers: 100,000 tasks each `tokio::time::sleep` 10 ms. Reports ms from the first
//! spawn until all are done (10 ms is the floor). Twin of `gmp-examples/go/sleep_timers` and
//! gmp's `bench_sleep_timers`.
//!
//! tokio's timer wheel has a 1 ms resolution and rounds a deadline up to the next tick, so
//! no sleep is shorter than asked (the check below holds on all three sides).

use gmp_tokio_twins::report::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const N: u64 = 100_000;
const NAP: Duration = Duration::from_millis(10);

struct Shared {
    done: Countdown,
    woke: AtomicU64,
}

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 2);
    let (elapsed, woke) = report::run(procs, async {
        let shared: &'static Shared = report::leak(Shared {
            done: Countdown::new(N as usize),
            woke: AtomicU64::new(0),
        });
        let start = Instant::now();
        for _ in 0..N {
            tokio::spawn(async move {
                let t = Instant::now();
                tokio::time::sleep(NAP).await;
                if t.elapsed() >= NAP {
                    shared.woke.fetch_add(1, Ordering::Relaxed);
                }
                shared.done.done();
            });
        }
        shared.done.wait().await;
        (start.elapsed(), shared.woke.load(Ordering::Relaxed))
    });
    report::check(woke == N, || {
        format!("{} of {N} sleeps were shorter than {NAP:?}", N - woke)
    });
    report::report("sleep_timers", report::ms(elapsed), "ms", &[]);
}
