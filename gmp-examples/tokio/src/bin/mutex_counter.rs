//! mutex_counter: 1000 tasks each lock, increment and unlock one `tokio::sync::Mutex` 1000
//! times. Checks the counter is 1,000,000; reports ns per lock. Twin of
//! `gmp-examples/go/mutex_counter` and gmp's `bench_mutex_counter`.
//!
//! `tokio::sync::Mutex` is the lock that parks a waiting task, as `sync.Mutex` and
//! `gmp_sync::Mutex` park a waiting goroutine; a `std::sync::Mutex` would block the worker
//! thread instead (tokio's docs allow it only for short sections, and it would measure
//! std's lock, not the runtime). tokio's is fair: waiters are served in order (a semaphore
//! of one permit underneath), where Go's lets a running goroutine barge in unless a waiter
//! has starved for 1 ms. Main waits on a [`Countdown`] (tokio has no WaitGroup).

use gmp_tokio_twins::report::{self, Countdown};
use std::time::Instant;
use tokio::sync::Mutex;

const TASKS: u64 = 1000;
const LOCKS: u64 = 1000;

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 2);
    let (elapsed, counter) = report::run(procs, async {
        let mu: &'static Mutex<u64> = report::leak(Mutex::new(0u64));
        let wg: &'static Countdown = report::leak(Countdown::new(TASKS as usize));
        let start = Instant::now();
        for _ in 0..TASKS {
            tokio::spawn(async move {
                for _ in 0..LOCKS {
                    *mu.lock().await += 1;
                }
                wg.done();
            });
        }
        wg.wait().await;
        let elapsed = start.elapsed();
        let counter = *mu.lock().await;
        (elapsed, counter)
    });
    let want = TASKS * LOCKS;
    report::check(counter == want, || {
        format!("counter {counter}, want {want}")
    });
    report::report("mutex_counter", report::ns_per(elapsed, want), "ns/op", &[]);
}
