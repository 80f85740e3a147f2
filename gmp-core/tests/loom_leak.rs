//! loom models of the leak check (`sched/leak.rs`) against the parties it races: a waker that
//! wakes the parked goroutine and then drops its handle (the check must never call that
//! goroutine leaked), and an M that picks up a goroutine woken while the check holds it frozen
//! (it must not run it until the check lets go).
//!
//! The handle count stands for the channel's `Arc` count, with std's orderings: a handle's
//! drop is a Release decrement, `Arc::strong_count` a Relaxed load.
//!
//! Run: `cargo xtask verify --crate gmp-core`
#![cfg(loom)]

use gmp_core::__private::{
    commit_park, counts_read, runnable_word, still_parked, unpark_state, ParkedStack, UnparkAction,
    RUNNABLE, RUNNING,
};
use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use loom::sync::Arc;
use loom::thread;

const GOID: u64 = 1;

/// A goroutine parked on a channel through its own handle; `handles` counts its channel's
/// handles (the goroutine's, and whoever else's).
struct Model {
    state: AtomicU64,
    ps: ParkedStack,
    handles: AtomicUsize,
}

fn parked_goroutine(handles: usize) -> Arc<Model> {
    let m = Arc::new(Model {
        state: AtomicU64::new(runnable_word(GOID)),
        ps: ParkedStack::default(),
        handles: AtomicUsize::new(handles),
    });
    m.ps.set_bounds(96, 104);
    m.state.fetch_add(RUNNING - RUNNABLE, AcqRel);
    assert!(commit_park(&m.state));
    m
}

/// The check on one goroutine: freeze, read the count, fence, confirm. `Some(leaked)` if the
/// goroutine was parked when the check looked.
fn check(m: &Model) -> Option<bool> {
    m.ps.freeze(&m.state)?;
    let count = m.handles.load(Relaxed);
    counts_read();
    // Its own handle is the only one, and nobody woke it.
    let leaked = count == 1 && still_parked(&m.state);
    m.ps.release_claim(&m.state);
    Some(leaked)
}

/// The other party wakes the goroutine (as a sender completing its receive does) and then
/// drops its handle: whatever the interleaving, the check never reports the goroutine.
#[test]
fn a_woken_goroutine_is_never_reported() {
    loom::model(|| {
        let m = parked_goroutine(2);
        let waker = {
            let m = m.clone();
            thread::spawn(move || {
                assert_eq!(unpark_state(&m.state, GOID), UnparkAction::Ready);
                m.handles.fetch_sub(1, Release);
            })
        };
        let verdict = check(&m);
        waker.join().unwrap();
        assert_ne!(
            verdict,
            Some(true),
            "a goroutine that was woken was reported"
        );
    });
}

/// The other party drops its handle without waking anyone: once the check reads the count
/// after the drop, it reports the goroutine (nothing else can wake it).
#[test]
fn a_goroutine_whose_last_other_handle_is_dropped_is_reported() {
    loom::model(|| {
        let m = parked_goroutine(2);
        let dropper = {
            let m = m.clone();
            thread::spawn(move || {
                m.handles.fetch_sub(1, Release);
            })
        };
        dropper.join().unwrap();
        assert_eq!(check(&m), Some(true));
    });
}

/// A goroutine woken while the check holds it frozen is picked up by an M, which must wait
/// for the check to let go before it resumes the goroutine.
#[test]
fn a_frozen_goroutine_is_not_resumed_until_the_check_lets_go() {
    loom::model(|| {
        let m = parked_goroutine(2);
        let checking = Arc::new(AtomicBool::new(false));
        let checker = {
            let (m, checking) = (m.clone(), checking.clone());
            thread::spawn(move || {
                if m.ps.freeze(&m.state).is_some() {
                    checking.store(true, SeqCst);
                    let _ = m.handles.load(Relaxed);
                    counts_read();
                    let _ = still_parked(&m.state);
                    checking.store(false, SeqCst);
                    m.ps.release_claim(&m.state);
                }
            })
        };
        // A waker readies it and an M picks it up (`execute`).
        assert_eq!(unpark_state(&m.state, GOID), UnparkAction::Ready);
        let w = m.state.fetch_add(RUNNING - RUNNABLE, AcqRel);
        m.ps.stack_in(&m.state, w, |_, _| unreachable!("never copied out"));
        assert!(
            !checking.load(SeqCst),
            "the goroutine resumed while the check held it"
        );
        checker.join().unwrap();
    });
}
