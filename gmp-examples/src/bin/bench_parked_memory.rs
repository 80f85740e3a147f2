//! parked_memory: 100,000 goroutines parked on a receive from one channel. Reports the RSS
//! growth per goroutine in bytes (VmRSS once all are parked minus VmRSS before the spawns).
//! Twin of `gmp-examples/go/parked_memory`.

use gmp_chan::Chan;
use gmp_examples::bench::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const N: u64 = 100_000;

struct Shared {
    ch: Chan<()>,
    ready: Countdown,
    done: Countdown,
    woken: AtomicU64,
}

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (before, after, elapsed, woken) = rt.run(move || {
        let shared: &'static Shared = bench::leak(Shared {
            ch: Chan::new(0),
            ready: Countdown::new(N as usize),
            done: Countdown::new(N as usize),
            woken: AtomicU64::new(0),
        });
        let before = bench::rss_kib();
        let start = Instant::now();
        for _ in 0..N {
            gmp_core::go(move || {
                shared.ready.done();
                let _ = shared.ch.recv();
                shared.woken.fetch_add(1, Ordering::Relaxed);
                shared.done.done();
            });
        }
        shared.ready.wait();
        // Every goroutine has signalled; give the last ones time to reach the receive.
        gmp_core::sleep(Duration::from_millis(100));
        let after = bench::rss_kib();
        shared.ch.close();
        shared.done.wait();
        let woken = shared.woken.load(Ordering::Relaxed);
        (before, after, start.elapsed(), woken)
    });
    bench::check(woken == N, || format!("woke {woken}, want {N}"));
    bench::report(
        "parked_memory",
        bench::bytes_per(before, after, N),
        "bytes",
        &[("total_ms", bench::ms(elapsed))],
    );
}
