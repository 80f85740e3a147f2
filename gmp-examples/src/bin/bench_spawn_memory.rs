//! spawn_memory: with 1 P, main spawns 1,000,000 goroutines without yielding between spawns
//! (so none has run yet), then reads VmRSS. Reports the RSS growth per goroutine in bytes.
//! Each goroutine then waits on a shared channel, as its Go twin's do; main closes it and
//! waits for all. Twin of `gmp-examples/go/spawn_memory`.

use gmp_chan::Chan;
use gmp_examples::bench::{self, Countdown};
use std::time::Instant;

const N: u64 = 1_000_000;

struct Shared {
    release: Chan<()>,
    done: Countdown,
}

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 1));
    let (before, after, spawned) = rt.run(move || {
        let shared: &'static Shared = bench::leak(Shared {
            release: Chan::new(0),
            done: Countdown::new(N as usize),
        });
        let before = bench::rss_kib();
        let start = Instant::now();
        for _ in 0..N {
            gmp_core::go(move || {
                let _ = shared.release.recv();
                shared.done.done();
            });
        }
        let spawned = start.elapsed();
        let after = bench::rss_kib();
        shared.release.close();
        shared.done.wait();
        (before, after, spawned)
    });
    bench::report(
        "spawn_memory",
        bench::bytes_per(before, after, N),
        "bytes",
        &[("spawn_ns", bench::ns_per(spawned, N))],
    );
}
