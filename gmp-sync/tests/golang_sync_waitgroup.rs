//! Ports of Go's sync/waitgroup_test.go: TestWaitGroup, TestWaitGroupMisuse,
//! TestWaitGroupRace, TestWaitGroupAlign.
//!
//! Each test runs twice (see `common`): `*_threads` on plain threads, and `*_goroutines` as
//! the main goroutine of a runtime with 2 Ps, where its `go` statements start goroutines.

mod common;
use common::{go, Chan};
use gmp_sync::WaitGroup;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

/// Go: testWaitGroup.
fn test_wait_group(wg1: &WaitGroup, wg2: &WaitGroup) {
    let n = 16;
    wg1.add(n);
    wg2.add(n);
    let exited = Chan::new();
    for _ in 0..n {
        let (wg1, wg2, exited) = (wg1.clone(), wg2.clone(), exited.clone());
        go(move || {
            wg1.done();
            wg2.wait();
            exited.send(true);
        });
    }
    wg1.wait();
    for _ in 0..n {
        assert!(
            exited.try_recv().is_none(),
            "WaitGroup released group too soon"
        );
        wg2.done();
    }
    for _ in 0..n {
        exited.recv(); // Will block if barrier fails to unlock someone.
    }
}

/// Go: TestWaitGroup.
fn test_wait_group_barrier() {
    let wg1 = WaitGroup::new();
    let wg2 = WaitGroup::new();
    // Run the same test a few times to ensure barrier is in a proper state.
    for _ in 0..8 {
        test_wait_group(&wg1, &wg2);
    }
}

#[test]
fn test_wait_group_barrier_threads() {
    common::on_threads(test_wait_group_barrier);
}

#[test]
fn test_wait_group_barrier_goroutines() {
    common::in_goroutines(test_wait_group_barrier);
}

/// Go: TestWaitGroupMisuse.
fn test_wait_group_misuse() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let err = catch_unwind(AssertUnwindSafe(|| wg.done())).expect_err("Should panic");
    assert_eq!(
        *err.downcast_ref::<&str>().expect("a string panic"),
        "sync: negative WaitGroup counter"
    );
}

#[test]
fn test_wait_group_misuse_threads() {
    common::on_threads(test_wait_group_misuse);
}

#[test]
fn test_wait_group_misuse_goroutines() {
    common::in_goroutines(test_wait_group_misuse);
}

/// Go: TestWaitGroupRace.
fn test_wait_group_race() {
    for _ in 0..200 {
        let wg = WaitGroup::new();
        let n = Arc::new(AtomicI32::new(0));
        for _ in 0..2 {
            wg.add(1);
            let (wg, n) = (wg.clone(), n.clone());
            go(move || {
                n.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(n.load(Ordering::SeqCst), 2, "Spurious wakeup from Wait");
    }
}

#[test]
fn test_wait_group_race_threads() {
    common::on_threads(test_wait_group_race);
}

#[test]
fn test_wait_group_race_goroutines() {
    common::in_goroutines(test_wait_group_race);
}

/// Go: TestWaitGroupAlign (a WaitGroup inside a struct after a byte).
fn test_wait_group_align() {
    struct X {
        _x: u8,
        wg: WaitGroup,
    }
    let x = Arc::new(X {
        _x: 0,
        wg: WaitGroup::new(),
    });
    x.wg.add(1);
    let x2 = x.clone();
    go(move || x2.wg.done());
    x.wg.wait();
}

#[test]
fn test_wait_group_align_threads() {
    common::on_threads(test_wait_group_align);
}

#[test]
fn test_wait_group_align_goroutines() {
    common::in_goroutines(test_wait_group_align);
}
