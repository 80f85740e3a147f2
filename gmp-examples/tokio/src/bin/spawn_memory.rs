//! spawn_memory: with 1 worker, main spawns 1,000,000 tasks without yielding between spawns
//! (so none has run yet), then reads VmRSS. Reports the RSS growth per task in bytes. Each
//! task then waits for a shared release, as the Go twin's goroutines wait on a shared
//! channel; main releases them all and waits. Twin of `gmp-examples/go/spawn_memory` and
//! gmp's `bench_spawn_memory`.
//!
//! The release is a `tokio::sync::watch` channel whose sender main drops: tokio's `mpsc` has
//! one receiver, and dropping a watch sender wakes every receiver waiting in `changed()`,
//! as `close(release)` wakes every goroutine receiving from it.

use gmp_tokio_twins::report::{self, Countdown};
use std::time::Instant;
use tokio::sync::watch;

const N: u64 = 1_000_000;

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 1);
    let (before, after, spawned) = report::run(procs, async {
        let (release, waiting) = watch::channel(());
        let done: &'static Countdown = report::leak(Countdown::new(N as usize));
        let before = report::rss_kib();
        let start = Instant::now();
        for _ in 0..N {
            let mut waiting = waiting.clone();
            tokio::spawn(async move {
                let _ = waiting.changed().await;
                done.done();
            });
        }
        let spawned = start.elapsed();
        let after = report::rss_kib();
        drop(waiting);
        drop(release);
        done.wait().await;
        (before, after, spawned)
    });
    report::report(
        "spawn_memory",
        report::bytes_per(before, after, N),
        "bytes",
        &[("spawn_ns", report::ns_per(spawned, N))],
    );
}
