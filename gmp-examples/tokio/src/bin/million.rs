//! million: 1,000,000 tasks alive at once, each parked on its own channel; once all are
//! parked, main releases them one by one and waits for all. Reports total ms; the peak RSS is
//! the point. Twin of `gmp-examples/go/million` and gmp's `bench_million`.
//!
//! Each task's channel is a `tokio::sync::oneshot`, tokio's channel for exactly one message
//! to one receiver (what each of these unbuffered Go channels carries). A oneshot send does
//! not wait for the receiver as an unbuffered Go send does; here every receiver is already
//! waiting, so on all three sides a send hands the value over and wakes its task.

use gmp_tokio_twins::report::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::oneshot;

const N: u64 = 1_000_000;

struct Shared {
    ready: Countdown,
    done: Countdown,
    released: AtomicU64,
}

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 2);
    let (elapsed, parked_kib, released) = report::run(procs, async {
        let shared: &'static Shared = report::leak(Shared {
            ready: Countdown::new(N as usize),
            done: Countdown::new(N as usize),
            released: AtomicU64::new(0),
        });
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..N).map(|_| oneshot::channel()).unzip();
        let start = Instant::now();
        for rx in receivers {
            tokio::spawn(async move {
                shared.ready.done();
                if rx.await.is_ok() {
                    shared.released.fetch_add(1, Ordering::Relaxed);
                }
                shared.done.done();
            });
        }
        shared.ready.wait().await;
        let parked_kib = report::rss_kib();
        for tx in senders {
            if tx.send(()).is_err() {
                report::fail("send to a dropped receiver");
            }
        }
        shared.done.wait().await;
        let elapsed = start.elapsed();
        (elapsed, parked_kib, shared.released.load(Ordering::Relaxed))
    });
    report::check(released == N, || format!("released {released}, want {N}"));
    report::report(
        "million",
        report::ms(elapsed),
        "ms",
        &[("parked_rss_kib", parked_kib as f64)],
    );
}
