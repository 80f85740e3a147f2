//! mutex_counter: 1000 goroutines each lock, increment and unlock one `gmp_sync::Mutex` 1000
//! times. Checks the counter is 1,000,000; reports ns per lock. Twin of
//! `gmp-examples/go/mutex_counter`.

use gmp_examples::bench;
use gmp_sync::{Mutex, WaitGroup};
use std::time::Instant;

const GOROUTINES: u64 = 1000;
const LOCKS: u64 = 1000;

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let procs = bench::procs(&flags, 2);
    let rt = bench::runtime(procs);
    let (elapsed, counter) = rt.run(|| {
        let mu = bench::leak(Mutex::new(0u64));
        let wg = WaitGroup::new();
        let start = Instant::now();
        wg.add(GOROUTINES as isize);
        for _ in 0..GOROUTINES {
            let wg = wg.clone();
            gmp_core::go(move || {
                for _ in 0..LOCKS {
                    *mu.lock() += 1;
                }
                wg.done();
            });
        }
        wg.wait();
        let elapsed = start.elapsed();
        let counter = *mu.lock();
        (elapsed, counter)
    });
    let want = GOROUTINES * LOCKS;
    bench::check(counter == want, || {
        format!("counter {counter}, want {want}")
    });
    bench::report("mutex_counter", bench::ns_per(elapsed, want), "ns/op", &[]);
}
