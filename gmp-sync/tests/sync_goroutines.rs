//! Every primitive inside goroutines, on 1 and 2 Ps, and mixed with plain threads.

use gmp_sync::{Cond, Mutex, Once, RwLock, Semaphore, WaitGroup};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod common;
use common::runtime_without_detector;

fn mutex_counter() {
    let counter = Arc::new(Mutex::new(0));
    let wg = WaitGroup::new();
    for _ in 0..1000 {
        let counter = counter.clone();
        wg.go(move || {
            for _ in 0..10 {
                let mut g = counter.lock();
                let v = *g;
                gmp_core::gosched(); // let others pile up on the lock while it is held
                *g = v + 1;
            }
        });
    }
    wg.wait();
    assert_eq!(*counter.lock(), 10_000);
}

fn rwlock_readers_writers() {
    let l = Arc::new(RwLock::new(0usize));
    let wg = WaitGroup::new();
    for i in 0..50 {
        let l = l.clone();
        wg.go(move || {
            for _ in 0..20 {
                if i % 5 == 0 {
                    *l.write() += 1;
                } else {
                    let g = l.read();
                    gmp_core::gosched();
                    assert!(*g <= 200);
                }
            }
        });
    }
    wg.wait();
    assert_eq!(*l.read(), 200);
}

fn once_cond_semaphore() {
    let once = Arc::new(Once::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let sem = Arc::new(Semaphore::new(3));
    let held = Arc::new(AtomicUsize::new(0));
    let state = Arc::new((Mutex::new(0usize), Cond::new()));
    let wg = WaitGroup::new();
    for _ in 0..20 {
        let (once, runs, sem, held, state) = (
            once.clone(),
            runs.clone(),
            sem.clone(),
            held.clone(),
            state.clone(),
        );
        wg.go(move || {
            once.call_once(|| {
                gmp_core::gosched();
                runs.fetch_add(1, Ordering::SeqCst);
            });
            sem.acquire(2);
            assert!(held.fetch_add(2, Ordering::SeqCst) + 2 <= 3);
            gmp_core::gosched();
            held.fetch_sub(2, Ordering::SeqCst);
            sem.release(2);
            let mut g = state.0.lock();
            *g += 1;
            if *g == 20 {
                state.1.broadcast();
            }
            while *g < 20 {
                g = state.1.wait(g);
            }
        });
    }
    wg.wait();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn goroutines_1p() {
    runtime_without_detector(1).run(|| {
        mutex_counter();
        rwlock_readers_writers();
        once_cond_semaphore();
    });
}

#[test]
fn goroutines_2p() {
    runtime_without_detector(2).run(|| {
        mutex_counter();
        rwlock_readers_writers();
        once_cond_semaphore();
    });
}

/// A plain thread and goroutines share one Mutex and WaitGroup: the thread holds the lock
/// while goroutines wait parked, then goroutines wake the thread's `wait`.
#[test]
fn mixed_threads_and_goroutines() {
    let m = Arc::new(Mutex::new(0));
    let wg = WaitGroup::new();
    let g = m.lock();
    let rt = runtime_without_detector(2);
    for _ in 0..10 {
        let (m, wg2) = (m.clone(), wg.clone());
        wg.add(1);
        rt.go(move || {
            *m.lock() += 1;
            wg2.done();
        });
    }
    std::thread::sleep(std::time::Duration::from_millis(10));
    drop(g);
    wg.wait(); // a plain thread woken by goroutines
    assert_eq!(*m.lock(), 10);
}

/// WaitGroup::go counts a goroutine that panics as done.
#[test]
fn waitgroup_go_panicking_goroutine_is_done() {
    runtime_without_detector(1).run(|| {
        let wg = WaitGroup::new();
        let h = wg.go(|| panic!("boom"));
        wg.wait();
        assert!(h.join().is_err());
    });
}
