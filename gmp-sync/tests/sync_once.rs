//! Once from plain threads.

use gmp_sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Late callers wait for the running `f` and see its effect.
#[test]
fn concurrent_callers_wait_for_the_first() {
    let once = Arc::new(Once::new());
    let value = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (once, value) = (once.clone(), value.clone());
            std::thread::spawn(move || {
                once.call_once(|| {
                    std::thread::sleep(Duration::from_millis(20));
                    value.fetch_add(42, Ordering::Relaxed);
                });
                assert_eq!(
                    value.load(Ordering::Relaxed),
                    42,
                    "returned before f finished"
                );
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(once.is_completed());
    assert_eq!(format!("{once:?}"), "Once { completed: true }");
}

#[test]
fn panic_counts_as_done() {
    let once = Once::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        once.call_once(|| panic!("first"));
    }));
    assert!(r.is_err());
    assert!(once.is_completed());
    let mut ran = false;
    once.call_once(|| ran = true);
    assert!(!ran);
}
