//! Ports of Go's sync/once_test.go: TestOnce, TestOncePanic.
//!
//! Each test runs twice (see `common`): `*_threads` on plain threads, and `*_goroutines` as
//! the main goroutine of a runtime with 2 Ps, where its `go` statements start goroutines.

mod common;
use common::{go, Chan};
use gmp_sync::{Mutex, Once};
use std::sync::Arc;

/// Go: run.
fn run(once: &Once, o: &Mutex<i32>, c: &Chan<bool>) {
    once.call_once(|| *o.lock() += 1);
    let v = *o.lock();
    assert_eq!(v, 1, "once failed inside run: {v} is not 1");
    c.send(true);
}

/// Go: TestOnce.
fn test_once() {
    let o = Arc::new(Mutex::new(0));
    let once = Arc::new(Once::new());
    let c = Chan::new();
    const N: usize = 10;
    for _ in 0..N {
        let (o, once, c) = (o.clone(), once.clone(), c.clone());
        go(move || run(&once, &o, &c));
    }
    for _ in 0..N {
        c.recv();
    }
    assert_eq!(*o.lock(), 1, "once failed outside run");
}

#[test]
fn test_once_threads() {
    common::on_threads(test_once);
}

#[test]
fn test_once_goroutines() {
    common::in_goroutines(test_once);
}

/// Go: TestOncePanic.
fn test_once_panic() {
    let once = Once::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        once.call_once(|| panic!("failed"));
    }));
    assert!(r.is_err(), "Once.Do did not panic");
    once.call_once(|| panic!("Once.Do called twice"));
}

#[test]
fn test_once_panic_threads() {
    common::on_threads(test_once_panic);
}

#[test]
fn test_once_panic_goroutines() {
    common::in_goroutines(test_once_panic);
}
