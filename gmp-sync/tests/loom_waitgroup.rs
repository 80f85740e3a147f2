//! loom model of WaitGroup: wait against the last done; what the tasks wrote is visible
//! after wait returns.
#![cfg(loom)]

use gmp_sync::WaitGroup;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

struct Slots([UnsafeCell<usize>; 2]);
// SAFETY: each task writes only its own slot, and the main thread reads after `wait`.
unsafe impl Sync for Slots {}

#[test]
fn wait_vs_last_done() {
    loom::model(|| {
        let wg = WaitGroup::new();
        let slots = Arc::new(Slots([UnsafeCell::new(0), UnsafeCell::new(0)]));
        wg.add(2);
        for i in 0..2 {
            let (wg, slots) = (wg.clone(), slots.clone());
            thread::spawn(move || {
                // SAFETY: slot i is this task's alone until `done`.
                slots.0[i].with_mut(|p| unsafe { *p = i + 1 });
                wg.done();
            });
        }
        wg.wait();
        for i in 0..2 {
            // SAFETY: both tasks called done, so their writes happened before this read
            // (loom flags a race otherwise).
            assert_eq!(slots.0[i].with(|p| unsafe { *p }), i + 1);
        }
    });
}

#[test]
fn two_waiters() {
    loom::model(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let w = {
            let wg = wg.clone();
            thread::spawn(move || wg.wait())
        };
        let d = {
            let wg = wg.clone();
            thread::spawn(move || wg.done())
        };
        wg.wait();
        w.join().unwrap();
        d.join().unwrap();
    });
}
