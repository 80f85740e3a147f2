//! Semaphore from plain threads: weights, FIFO, misuse panics.

use gmp_sync::Semaphore;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{panic_message, wait_until};

#[test]
fn acquire_over_capacity_panics() {
    let s = Semaphore::new(3);
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| s.acquire(4))));
    assert_eq!(msg, "semaphore: acquire of 4 exceeds capacity 3");
    assert!(!s.try_acquire(4));
}

#[test]
fn release_more_than_held_panics() {
    let s = Semaphore::new(3);
    s.acquire(1);
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| s.release(2))));
    assert_eq!(msg, "semaphore: released more than held");
    s.release(1);
}

#[test]
fn capacity_too_large_panics() {
    let msg = panic_message(catch_unwind(|| {
        let _ = Semaphore::new(usize::MAX);
    }));
    assert_eq!(msg, "semaphore: capacity too large");
}

/// A large request at the head blocks a smaller one behind it that would fit.
#[test]
fn large_head_blocks_smaller_followers() {
    let s = Arc::new(Semaphore::new(4));
    s.acquire(3); // 1 free
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let big = {
        let (s, order) = (s.clone(), order.clone());
        std::thread::spawn(move || {
            s.acquire(4);
            order.lock().unwrap().push("big");
            s.release(4);
        })
    };
    wait_until("the big acquire waits", || {
        format!("{s:?}").contains("waiters: 1")
    });
    // One unit is free, but the big waiter is first: a newcomer may not take it.
    assert!(!s.try_acquire(1));
    let small = {
        let (s, order) = (s.clone(), order.clone());
        std::thread::spawn(move || {
            s.acquire(1);
            order.lock().unwrap().push("small");
            s.release(1);
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        order.lock().unwrap().is_empty(),
        "someone got in while 3 of 4 were held"
    );
    s.release(3);
    big.join().unwrap();
    small.join().unwrap();
    assert_eq!(*order.lock().unwrap(), ["big", "small"]);
    assert!(s.try_acquire(4));
}

#[test]
fn never_over_admits_threads() {
    let s = Arc::new(Semaphore::new(5));
    let held = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (s, held) = (s.clone(), held.clone());
            std::thread::spawn(move || {
                for j in 0..2000 {
                    let n = 1 + (i + j) % 3;
                    s.acquire(n);
                    let now = held.fetch_add(n, Ordering::SeqCst) + n;
                    assert!(now <= 5, "{now} units held of 5");
                    held.fetch_sub(n, Ordering::SeqCst);
                    s.release(n);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(s.try_acquire(5));
}

#[test]
fn zero_weight_and_debug() {
    let s = Semaphore::new(1);
    s.acquire(0);
    assert!(s.try_acquire(0));
    assert_eq!(
        format!("{s:?}"),
        "Semaphore { capacity: 1, held: 0, waiters: 0 }"
    );
    s.acquire(1);
    assert_eq!(
        format!("{s:?}"),
        "Semaphore { capacity: 1, held: 1, waiters: 0 }"
    );
}
