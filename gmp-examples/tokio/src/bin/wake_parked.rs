//! wake_parked: 100,000 tasks, each parked on its own channel for 2 s, then all woken through
//! their channels. Reports ns per wake: from the first send until the last task has run,
//! divided by the tasks. `--park SECONDS` changes the 2 s. Twin of
//! `gmp-examples/go/wake_parked` and gmp's `bench_wake_parked`.
//!
//! Each channel is a `tokio::sync::oneshot` (one message to one receiver), as in `million`.
//! A parked tokio task is its future's state in the heap, never a stack, so the 2 s change
//! nothing on this side: it is there so that all three twins do the same work.

use gmp_tokio_twins::report::{self, Countdown};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::oneshot;

const N: u64 = 100_000;

struct Shared {
    ready: Countdown,
    done: Countdown,
    woken: AtomicU64,
}

fn main() {
    let flags = report::Flags::from_env(&["procs", "park"]);
    let park = flags
        .seconds("park", 2.0)
        .unwrap_or_else(|e| report::fail(e));
    let procs = report::procs(&flags, 2);
    let (elapsed, woken) = report::run(procs, async move {
        let shared: &'static Shared = report::leak(Shared {
            ready: Countdown::new(N as usize),
            done: Countdown::new(N as usize),
            woken: AtomicU64::new(0),
        });
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..N).map(|_| oneshot::channel()).unzip();
        for rx in receivers {
            tokio::spawn(async move {
                shared.ready.done();
                if rx.await.is_ok() {
                    shared.woken.fetch_add(1, Ordering::Relaxed);
                }
                shared.done.done();
            });
        }
        shared.ready.wait().await;
        tokio::time::sleep(park).await;
        let start = Instant::now();
        for tx in senders {
            if tx.send(()).is_err() {
                report::fail("send to a dropped receiver");
            }
        }
        shared.done.wait().await;
        (start.elapsed(), shared.woken.load(Ordering::Relaxed))
    });
    report::check(woken == N, || format!("woke {woken}, want {N}"));
    report::report("wake_parked", report::ns_per(elapsed, N), "ns/op", &[]);
}
