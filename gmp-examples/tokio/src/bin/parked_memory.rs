//! parked_memory: 100,000 tasks parked on a receive from one channel. Reports the RSS growth
//! per task in bytes (VmRSS once all are parked minus VmRSS before the spawns). Twin of
//! `gmp-examples/go/parked_memory` and gmp's `bench_parked_memory`.
//!
//! The one channel is a `tokio::sync::watch`: tokio's `mpsc` has a single receiver, and a
//! watch channel is its one-sender, many-receivers channel whose receivers all wake when the
//! sender is dropped, as every goroutine receiving from a Go channel wakes at `close(ch)`.

use gmp_tokio_twins::report::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const N: u64 = 100_000;

struct Shared {
    ready: Countdown,
    done: Countdown,
    woken: AtomicU64,
}

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 2);
    let (before, after, elapsed, woken) = report::run(procs, async {
        let shared: &'static Shared = report::leak(Shared {
            ready: Countdown::new(N as usize),
            done: Countdown::new(N as usize),
            woken: AtomicU64::new(0),
        });
        let (ch, rx) = watch::channel(());
        let before = report::rss_kib();
        let start = Instant::now();
        for _ in 0..N {
            let mut rx = rx.clone();
            tokio::spawn(async move {
                shared.ready.done();
                let _ = rx.changed().await;
                shared.woken.fetch_add(1, Ordering::Relaxed);
                shared.done.done();
            });
        }
        shared.ready.wait().await;
        // Every task has signalled; give the last ones time to reach the receive.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = report::rss_kib();
        drop(rx);
        drop(ch);
        shared.done.wait().await;
        let woken = shared.woken.load(Ordering::Relaxed);
        (before, after, start.elapsed(), woken)
    });
    report::check(woken == N, || format!("woke {woken}, want {N}"));
    report::report(
        "parked_memory",
        report::bytes_per(before, after, N),
        "bytes",
        &[("total_ms", report::ms(elapsed))],
    );
}
