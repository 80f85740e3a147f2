//! million: 1,000,000 goroutines alive at once, each parked on its own channel; once all are
//! parked, main releases them one by one and waits for all. Reports total ms; the peak RSS is
//! the point. Twin of `gmp-examples/go/million`.

use gmp_chan::Chan;
use gmp_examples::bench::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const N: u64 = 1_000_000;

struct Shared {
    ready: Countdown,
    done: Countdown,
    released: AtomicU64,
}

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (elapsed, parked_kib, released) = rt.run(move || {
        let shared: &'static Shared = bench::leak(Shared {
            ready: Countdown::new(N as usize),
            done: Countdown::new(N as usize),
            released: AtomicU64::new(0),
        });
        let chans: Vec<Chan<()>> = (0..N).map(|_| Chan::new(0)).collect();
        let start = Instant::now();
        for c in &chans {
            let c = c.clone();
            gmp_core::go(move || {
                shared.ready.done();
                if c.recv().is_some() {
                    shared.released.fetch_add(1, Ordering::Relaxed);
                }
                shared.done.done();
            });
        }
        shared.ready.wait();
        let parked_kib = bench::rss_kib();
        for c in &chans {
            if c.send(()).is_err() {
                bench::fail("send on a closed channel");
            }
        }
        shared.done.wait();
        let elapsed = start.elapsed();
        (elapsed, parked_kib, shared.released.load(Ordering::Relaxed))
    });
    bench::check(released == N, || format!("released {released}, want {N}"));
    bench::report(
        "million",
        bench::ms(elapsed),
        "ms",
        &[("parked_rss_kib", parked_kib as f64)],
    );
}
