//! Spawning, joining, yielding and sleeping goroutines.

use gmp_core::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn run_returns_value() {
    assert_eq!(run(|| 42), 42);
}

#[test]
fn main_is_goroutine_1() {
    assert_eq!(run(|| current_id().unwrap().as_u64()), 1);
}

#[test]
fn spawn_many_join() {
    for procs in [1, 2, 4] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let n = rt.run(|| {
            let c = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..10_000)
                .map(|_| {
                    let c = c.clone();
                    go(move || c.fetch_add(1, Ordering::Relaxed))
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            c.load(Ordering::Relaxed)
        });
        assert_eq!(n, 10_000);
    }
}

#[test]
fn sleep_works() {
    let t = Instant::now();
    run(|| {
        let hs: Vec<_> = (0..100)
            .map(|_| go(|| sleep(Duration::from_millis(20))))
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    let e = t.elapsed();
    assert!(
        e >= Duration::from_millis(20) && e < Duration::from_secs(5),
        "{e:?}"
    );
}

#[test]
fn yield_ping() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(|| {
        let h = go(|| {
            for _ in 0..1000 {
                gosched();
            }
        });
        for _ in 0..1000 {
            gosched();
        }
        h.join().unwrap();
    });
}
