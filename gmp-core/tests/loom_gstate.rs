//! loom: the goroutine state word (`G::state`): the goroutine's park (permit fast path, then
//! the M's `commit_park`) against concurrent unparks, stale unparks aimed at a previous
//! goroutine of a reused G, and the shutdown sweep. The transitions are the scheduler's own
//! functions; a loom thread stands in for the M and one for each unparker.
#![cfg(loom)]

use gmp_core::__private::*;
use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// The goroutine (and its M) parks until it is readied; returns how it got past the park.
fn park_until_ready(state: &AtomicU64, readied: &AtomicBool) {
    if take_permit(state) {
        return;
    }
    if !commit_park(state) {
        return; // a permit raced in between the suspend and the commit
    }
    // WAITING: only an unpark (Ready) brings it back; the M that dequeues it runs it.
    while !readied.load(SeqCst) {
        thread::park();
    }
    let w = state.fetch_add(RUNNING - RUNNABLE, SeqCst);
    assert_eq!(w & STATUS_MASK, RUNNABLE);
}

#[test]
fn park_vs_unpark_never_loses_the_wakeup() {
    loom::model(|| {
        let state = Arc::new(AtomicU64::new(runnable_word(7)));
        state.fetch_add(RUNNING - RUNNABLE, SeqCst); // an M picked it up
        let readied = Arc::new(AtomicBool::new(false));
        let m = thread::current();
        let (s2, r2) = (state.clone(), readied.clone());
        let waker = thread::spawn(move || match unpark_state(&s2, 7) {
            UnparkAction::Ready => {
                r2.store(true, SeqCst);
                m.unpark();
            }
            UnparkAction::Notified { blocking } => assert!(!blocking),
            UnparkAction::Nothing => panic!("a live goroutine's unpark did nothing"),
        });
        park_until_ready(&state, &readied);
        waker.join().unwrap();
        let w = state.load(SeqCst);
        assert_eq!(w & STATUS_MASK, RUNNING);
        assert_eq!(goid_of(w), 7);
    });
}

#[test]
fn two_unparks_ready_at_most_once() {
    loom::model(|| {
        let state = Arc::new(AtomicU64::new(runnable_word(3)));
        state.fetch_add(RUNNING - RUNNABLE, SeqCst);
        let readied = Arc::new(AtomicBool::new(false));
        let readies = Arc::new(AtomicUsize::new(0));
        let m = thread::current();
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let (s, r, n, m) = (state.clone(), readied.clone(), readies.clone(), m.clone());
                thread::spawn(move || {
                    if unpark_state(&s, 3) == UnparkAction::Ready {
                        n.fetch_add(1, SeqCst);
                        r.store(true, SeqCst);
                        m.unpark();
                    }
                })
            })
            .collect();
        park_until_ready(&state, &readied);
        for w in wakers {
            w.join().unwrap();
        }
        assert!(readies.load(SeqCst) <= 1, "a goroutine was queued twice");
    });
}

#[test]
fn stale_unpark_does_not_touch_the_next_goroutine() {
    loom::model(|| {
        // The G ran goroutine 5, which died; it is reused for goroutine 6, which parks.
        let state = Arc::new(AtomicU64::new(dead_word(5)));
        let s2 = state.clone();
        let stale = thread::spawn(move || assert_eq!(unpark_state(&s2, 5), UnparkAction::Nothing));
        state.store(runnable_word(6), SeqCst);
        state.fetch_add(RUNNING - RUNNABLE, SeqCst);
        assert!(!take_permit(&state), "a stale unpark left a permit");
        stale.join().unwrap();
        assert!(commit_park(&state));
        assert_eq!(state.load(SeqCst) & STATUS_MASK, WAITING);
    });
}

#[test]
fn shutdown_sweep_vs_park_commit() {
    // The sweep sets `cancel` then tries WAITING → RUNNABLE; the M commits WAITING then checks
    // `cancel` (execute's Park branch). Either way the goroutine is requeued exactly once.
    loom::model(|| {
        let state = Arc::new(AtomicU64::new(runnable_word(9)));
        state.fetch_add(RUNNING - RUNNABLE, SeqCst);
        let cancel = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(AtomicUsize::new(0));
        let (s2, c2, q2) = (state.clone(), cancel.clone(), queued.clone());
        let sweep = thread::spawn(move || {
            if sweep_cancel(&s2, &c2) {
                q2.fetch_add(1, SeqCst);
            }
        });
        let parked = commit_park(&state);
        assert!(parked);
        if recheck_cancel_after_park(&state, &cancel) {
            queued.fetch_add(1, SeqCst);
        }
        sweep.join().unwrap();
        assert_eq!(
            queued.load(SeqCst),
            1,
            "cancelled goroutine lost or queued twice"
        );
    });
}
