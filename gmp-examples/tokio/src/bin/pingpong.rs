//! pingpong: 2 tasks bounce an int over 2 channels, 1,000,000 round trips. Reports ns per
//! round trip. `--procs=1` is the pingpong_p1 row (one worker thread, as one P); `--trips=N`
//! runs N round trips instead. Twin of `gmp-examples/go/pingpong` and gmp's `bench_pingpong`.
//!
//! The channels are `tokio::sync::mpsc::channel(1)`: tokio has no unbuffered (rendezvous)
//! channel, and 1 is its smallest capacity. With one value in flight at a time, as here, a
//! capacity-1 channel and an unbuffered one pass the same values in the same order; the
//! sender just does not wait for the receiver to take it.

use gmp_tokio_twins::report;
use std::time::Instant;
use tokio::sync::mpsc;

const TRIPS: u64 = 1_000_000;

fn main() {
    let flags = report::Flags::from_env(&["procs", "trips"]);
    let procs = report::procs(&flags, 2);
    let trips = flags
        .count("trips", TRIPS as usize)
        .unwrap_or_else(|e| report::fail(e)) as u64;
    let (elapsed, v, open) = report::run(procs, async move {
        let (ping, mut ping_rx) = mpsc::channel::<u64>(1);
        let (pong_tx, mut pong) = mpsc::channel::<u64>(1);
        let start = Instant::now();
        tokio::spawn(async move {
            while let Some(v) = ping_rx.recv().await {
                if pong_tx.send(v + 1).await.is_err() {
                    return;
                }
            }
            // Dropping pong_tx here closes pong, as the Go twin's close(pong).
        });
        let mut v = 0;
        for _ in 0..trips {
            if ping.send(v).await.is_err() {
                report::fail("ping closed");
            }
            v = pong
                .recv()
                .await
                .unwrap_or_else(|| report::fail("pong closed"));
        }
        drop(ping);
        let open = pong.recv().await.is_some();
        (start.elapsed(), v, open)
    });
    report::check(v == trips, || {
        format!("value {v} after {trips} round trips")
    });
    report::check(!open, || "pong not closed");
    let row = if procs == 1 {
        "pingpong_p1"
    } else {
        "pingpong"
    };
    report::report(row, report::ns_per(elapsed, trips), "ns/op", &[]);
}
