//! idle_cpu: 1000 goroutines each sleep 1 s in a loop; main measures the process's CPU time
//! (utime+stime from /proc/self/stat) over a 3 s window (`--window`). Reports it as % of one
//! core (issue 2: an idle runtime uses under 5%). Twin of `gmp-examples/go/idle_cpu`.

use gmp_examples::bench::{self, Countdown};
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
    let flags = bench::Flags::from_env(&["procs", "window"]);
    let window = flags
        .seconds("window", 3.0)
        .unwrap_or_else(|e| bench::fail(e));
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (ticks, wall, wakeups) = rt.run(move || {
        let shared: &'static Shared = bench::leak(Shared {
            stop: AtomicBool::new(false),
            started: Countdown::new(N as usize),
            done: Countdown::new(N as usize),
            wakeups: AtomicU64::new(0),
        });
        for _ in 0..N {
            gmp_core::go(move || {
                shared.started.done();
                while !shared.stop.load(Ordering::Relaxed) {
                    gmp_core::sleep(Duration::from_secs(1));
                    shared.wakeups.fetch_add(1, Ordering::Relaxed);
                }
                shared.done.done();
            });
        }
        shared.started.wait();
        let (t0, c0) = (Instant::now(), bench::cpu_ticks());
        gmp_core::sleep(window);
        let (c1, wall) = (bench::cpu_ticks(), t0.elapsed());
        shared.stop.store(true, Ordering::Relaxed);
        shared.done.wait();
        (c1 - c0, wall, shared.wakeups.load(Ordering::Relaxed))
    });
    let secs = wall.as_secs_f64();
    // Each goroutine wakes about once a second; on a loaded machine timers fire late, so only
    // demand that each woke once on average (a runtime that never fires timers fails this).
    bench::check(wakeups >= N, || {
        format!("only {wakeups} wake-ups of {N} sleepers in {secs:.1} s")
    });
    let pct = ticks as f64 / bench::USER_HZ / secs * 100.0;
    bench::report("idle_cpu", pct, "%", &[("window_ms", bench::ms(wall))]);
}
