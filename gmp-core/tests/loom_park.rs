//! loom: the park permit of a plain thread (a goroutine is modelled by a loom thread):
//! unpark before park, after it, concurrently, and from two unparkers.
#![cfg(loom)]

use gmp_core::park::{self, WaitReason};
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

#[test]
fn unpark_before_park_returns_at_once() {
    loom::model(|| {
        let me = park::current();
        me.unpark();
        me.unpark(); // permits do not accumulate
        park::park(WaitReason::Park);
    });
}

/// A thread sets a flag and wakes the owner, who parks until it sees the flag: with
/// `unpark` (by reference) or `wake` (consuming the unparker: the waker's last use of a
/// record's; loom's `Arc` checks that nothing leaks).
fn unpark_races_park(consume: bool) {
    loom::model(move || {
        let done = Arc::new(AtomicUsize::new(0));
        let me = park::current();
        let d = done.clone();
        let t = thread::spawn(move || {
            d.store(1, SeqCst);
            if consume {
                me.wake();
            } else {
                me.unpark();
            }
        });
        while done.load(SeqCst) == 0 {
            park::park(WaitReason::Park);
        }
        t.join().unwrap();
    });
}

#[test]
fn unpark_races_park_no_lost_wakeup() {
    unpark_races_park(false);
}

#[test]
fn a_consuming_wake_races_park_no_lost_wakeup() {
    unpark_races_park(true);
}

#[test]
fn two_unparkers() {
    loom::model(|| {
        let n = Arc::new(AtomicUsize::new(0));
        let me = park::current();
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (n, me) = (n.clone(), me.clone());
                thread::spawn(move || {
                    n.fetch_add(1, SeqCst);
                    me.unpark();
                })
            })
            .collect();
        while n.load(SeqCst) < 2 {
            park::park(WaitReason::Park);
        }
        for t in ts {
            t.join().unwrap();
        }
    });
}
