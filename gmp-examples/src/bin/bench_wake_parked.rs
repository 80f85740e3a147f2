//! wake_parked: 100,000 goroutines, each parked on its own channel for 2 s (long enough for
//! their stacks to be copied out), then all woken through their channels. Reports ns per
//! wake: from the first send until the last goroutine has run, divided by the goroutines.
//! The cost of waking a copied-out goroutine (a page fault and a copy back), measured, not
//! assumed. `--park SECONDS` changes the 2 s (below 20 ms no stack is copied out, which
//! measures the wake of a resident goroutine). Twin of `gmp-examples/go/wake_parked`.

use gmp_chan::Chan;
use gmp_examples::bench::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const N: u64 = 100_000;

struct Shared {
    ready: Countdown,
    done: Countdown,
    woken: AtomicU64,
}

fn main() {
    let flags = bench::Flags::from_env(&["procs", "park"]);
    let park = flags
        .seconds("park", 2.0)
        .unwrap_or_else(|e| bench::fail(e));
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (elapsed, woken, copied) = rt.run(move || {
        let shared: &'static Shared = bench::leak(Shared {
            ready: Countdown::new(N as usize),
            done: Countdown::new(N as usize),
            woken: AtomicU64::new(0),
        });
        let chans: Vec<Chan<()>> = (0..N).map(|_| Chan::new(0)).collect();
        for c in &chans {
            let c = c.clone();
            gmp_core::go(move || {
                shared.ready.done();
                if c.recv().is_some() {
                    shared.woken.fetch_add(1, Ordering::Relaxed);
                }
                shared.done.done();
            });
        }
        shared.ready.wait();
        gmp_core::sleep(park);
        let copied = gmp_core::__private::stacks_copied_out();
        let start = Instant::now();
        for c in &chans {
            if c.send(()).is_err() {
                bench::fail("send on a closed channel");
            }
        }
        shared.done.wait();
        (
            start.elapsed(),
            shared.woken.load(Ordering::Relaxed),
            copied,
        )
    });
    bench::check(woken == N, || format!("woke {woken}, want {N}"));
    bench::report(
        "wake_parked",
        bench::ns_per(elapsed, N),
        "ns/op",
        &[("copied_out", copied as f64)],
    );
}
