//! loom models of Mutex: mutual exclusion with race detection on the data, no lost wake-up,
//! and the starvation hand-off (driven by the model clock).
#![cfg(loom)]

use gmp_sync::Mutex;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;

mod common;
use common::{incr, value};

#[test]
fn mutual_exclusion_and_no_lost_wakeup() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(UnsafeCell::new(0)));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || incr(&m))
            })
            .collect();
        incr(&m);
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(value(&m), 3);
    });
}

#[test]
fn try_lock_against_lock() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(UnsafeCell::new(0)));
        let m2 = m.clone();
        let t = thread::spawn(move || incr(&m2));
        if let Some(g) = m.try_lock() {
            // SAFETY: locked.
            g.with_mut(|p| unsafe { *p += 1 });
        }
        t.join().unwrap();
    });
}

/// The main thread holds the lock while B waits; the clock then jumps 2 ms, so B is
/// starving when it wakes. C keeps re-locking. Whatever happens, B gets the lock (through a
/// direct hand-off when C barges in) and mutual exclusion holds.
#[test]
fn starvation_hand_off() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(UnsafeCell::new(0)));
        let g = m.lock();
        let b = {
            let m = m.clone();
            thread::spawn(move || incr(&m))
        };
        let c = {
            let m = m.clone();
            thread::spawn(move || {
                incr(&m);
                incr(&m);
            })
        };
        gmp_sync::__private::advance_clock(Duration::from_millis(2));
        drop(g);
        b.join().unwrap();
        c.join().unwrap();
        assert_eq!(value(&m), 3);
    });
}
