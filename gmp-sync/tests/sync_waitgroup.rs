//! WaitGroup from plain threads, including Go's misuse panics.

use gmp_sync::WaitGroup;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::panic_message;

#[test]
fn wait_returns_after_all_done() {
    let wg = WaitGroup::new();
    let n = Arc::new(AtomicUsize::new(0));
    for _ in 0..8 {
        wg.add(1);
        let (wg, n) = (wg.clone(), n.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2));
            n.fetch_add(1, Ordering::SeqCst);
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(n.load(Ordering::SeqCst), 8);
    wg.wait(); // zero counter: returns at once
}

#[test]
fn many_waiters_all_released() {
    let wg = WaitGroup::new();
    wg.add(1);
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let wg = wg.clone();
            std::thread::spawn(move || wg.wait())
        })
        .collect();
    std::thread::sleep(Duration::from_millis(10));
    wg.done();
    for w in waiters {
        w.join().unwrap();
    }
}

#[test]
fn negative_counter_panics_with_go_message() {
    let wg = WaitGroup::new();
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| wg.done())));
    assert_eq!(msg, "sync: negative WaitGroup counter");
    let wg = WaitGroup::new();
    wg.add(1);
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| wg.add(-2))));
    assert_eq!(msg, "sync: negative WaitGroup counter");
}

#[test]
fn delta_out_of_range_panics() {
    let wg = WaitGroup::new();
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| wg.add(isize::MAX))));
    assert_eq!(msg, "sync: WaitGroup delta out of range");
}

#[test]
fn reuse_after_wait_and_debug() {
    let wg = WaitGroup::default();
    for round in 0..3 {
        wg.add(2);
        assert_eq!(
            format!("{wg:?}"),
            "WaitGroup { counter: 2, waiters: 0 }",
            "round {round}"
        );
        let w = wg.clone();
        let t = std::thread::spawn(move || {
            w.done();
            w.done();
        });
        wg.wait();
        t.join().unwrap();
    }
}
