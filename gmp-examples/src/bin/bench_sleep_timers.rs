//! sleep_timers: 100,000 goroutines each sleep 10 ms. Reports ms from the first spawn until
//! all are done (10 ms is the floor). Twin of `gmp-examples/go/sleep_timers`.

use gmp_examples::bench::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const N: u64 = 100_000;
const NAP: Duration = Duration::from_millis(10);

struct Shared {
    done: Countdown,
    woke: AtomicU64,
}

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (elapsed, woke, copied, carved) = rt.run(move || {
        let shared: &'static Shared = bench::leak(Shared {
            done: Countdown::new(N as usize),
            woke: AtomicU64::new(0),
        });
        let start = Instant::now();
        for _ in 0..N {
            gmp_core::go(move || {
                let t = Instant::now();
                gmp_core::sleep(NAP);
                if t.elapsed() >= NAP {
                    shared.woke.fetch_add(1, Ordering::Relaxed);
                }
                shared.done.done();
            });
        }
        shared.done.wait();
        let elapsed = start.elapsed();
        let copied = gmp_core::__private::copyout_stats().0;
        let carved = gmp_core::__private::stacks_carved();
        (elapsed, shared.woke.load(Ordering::Relaxed), copied, carved)
    });
    bench::check(woke == N, || {
        format!("{} of {N} sleeps were shorter than {NAP:?}", N - woke)
    });
    bench::report(
        "sleep_timers",
        bench::ms(elapsed),
        "ms",
        &[("copied_out", copied as f64), ("stacks", carved as f64)],
    );
}
