//! idle_cpu: 1000 tasks each `tokio::time::sleep` 1 s in a loop; main measures the process's
//! CPU time (utime+stime from /proc/self/stat) over a 3 s window (`--window`). Reports it as
//! % of one core. Twin of `gmp-examples/go/idle_cpu` and gmp's `bench_idle_cpu`.

use gmp_tokio_twins::report::{self, Countdown};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const N: u64 = 1000;

struct Shared {
    stop: AtomicBool,
    started: Countdown,
    done: Countdown,
    wakeups: AtomicU64,
}

fn main() {
    let flags = report::Flags::from_env(&["procs", "window"]);
    let window = flags
        .seconds("window", 3.0)
        .unwrap_or_else(|e| report::fail(e));
    let procs = report::procs(&flags, 2);
    let (ticks, wall, wakeups) = report::run(procs, async move {
        let shared: &'static Shared = report::leak(Shared {
            stop: AtomicBool::new(false),
            started: Countdown::new(N as usize),
            done: Countdown::new(N as usize),
            wakeups: AtomicU64::new(0),
        });
        for _ in 0..N {
            tokio::spawn(async move {
                shared.started.done();
                while !shared.stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    shared.wakeups.fetch_add(1, Ordering::Relaxed);
                }
                shared.done.done();
            });
        }
        shared.started.wait().await;
        let (t0, c0) = (Instant::now(), report::cpu_ticks());
        tokio::time::sleep(window).await;
        let (c1, wall) = (report::cpu_ticks(), t0.elapsed());
        shared.stop.store(true, Ordering::Relaxed);
        shared.done.wait().await;
        (c1 - c0, wall, shared.wakeups.load(Ordering::Relaxed))
    });
    let secs = wall.as_secs_f64();
    // Each task wakes about once a second; on a loaded machine timers fire late, so only
    // demand that each woke once on average (a runtime that never fires timers fails this).
    report::check(wakeups >= N, || {
        format!("only {wakeups} wake-ups of {N} sleepers in {secs:.1} s")
    });
    let pct = ticks as f64 / report::USER_HZ / secs * 100.0;
    report::report("idle_cpu", pct, "%", &[("window_ms", report::ms(wall))]);
}
