//! Ports of Go's sync/mutex_test.go (TestMutex, TestMutexFairness) and the Mutex part of
//! TestSemaphore's hammer. Go's TestMutexMisuse (unlock of an unlocked mutex) cannot be
//! written in Rust: the guard is the only way to unlock.
//!
//! Each test runs twice (see `common`): `*_threads` on plain threads, and `*_goroutines` as
//! the main goroutine of a runtime with 2 Ps, where its `go` statements start goroutines.

mod common;
use common::{go, Chan};
use gmp_sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Go: HammerMutex.
fn hammer_mutex(m: &Mutex<()>, loops: usize) {
    for i in 0..loops {
        if i % 3 == 0 {
            if let Some(g) = m.try_lock() {
                drop(g);
            }
            continue;
        }
        drop(m.lock());
    }
}

/// Go: TestMutex.
fn test_mutex() {
    let m = Arc::new(Mutex::new(()));
    {
        let _g = m.lock();
        assert!(
            m.try_lock().is_none(),
            "TryLock succeeded with mutex locked"
        );
    }
    assert!(m.try_lock().is_some(), "TryLock failed with mutex unlocked");
    let c = Chan::new();
    for _ in 0..10 {
        let (m, c) = (m.clone(), c.clone());
        go(move || {
            hammer_mutex(&m, 1000);
            c.send(true);
        });
    }
    for _ in 0..10 {
        c.recv();
    }
}

#[test]
fn test_mutex_threads() {
    common::on_threads(test_mutex);
}

#[test]
fn test_mutex_goroutines() {
    common::in_goroutines(test_mutex);
}

/// Go: TestMutexFairness. A goroutine that keeps re-locking (holding the lock 100 µs each
/// time) cannot starve another that wants it 10 times: starvation mode hands it over.
/// Go's bound is 10 s; ours too (it normally takes a few ms).
fn test_mutex_fairness() {
    let mu = Arc::new(Mutex::new(()));
    let stop = Arc::new(AtomicBool::new(false));
    let hog = {
        let (mu, stop) = (mu.clone(), stop.clone());
        go(move || loop {
            {
                let _g = mu.lock();
                common::sleep(Duration::from_micros(100));
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
        })
    };
    let done = Chan::new();
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    {
        let (mu, done) = (mu.clone(), done.clone());
        go(move || {
            let mut worst = Duration::ZERO;
            for _ in 0..10 {
                common::sleep(Duration::from_micros(100));
                let t = Instant::now();
                drop(mu.lock());
                worst = worst.max(t.elapsed());
            }
            done.send(worst);
        });
    }
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(w) = done.try_recv() {
            worst = w;
            break;
        }
        common::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Relaxed);
    hog.join();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "can't acquire Mutex in 10 seconds"
    );
    // Starvation mode should bound a single wait to a few ms; allow a wide margin for a
    // loaded 2-core CI machine.
    assert!(worst < Duration::from_secs(1), "one lock took {worst:?}");
}

#[test]
fn test_mutex_fairness_threads() {
    common::on_threads(test_mutex_fairness);
}

#[test]
fn test_mutex_fairness_goroutines() {
    common::in_goroutines(test_mutex_fairness);
}
