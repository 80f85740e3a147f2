//! loom model of copy-out against wake-up (`sched/copyout.rs`): sysmon's sweep claims a
//! parked goroutine's stack, copies it and releases its pages, while a waker readies the
//! goroutine and an M picks it up to resume it. The protocol lives in two bits of the G's
//! state word, next to its status; whoever wins, the goroutine resumes on exactly the bytes
//! it parked with: never on released pages, never on a half-made copy.
//!
//! Run: `cargo xtask verify --crate gmp-core`
#![cfg(loom)]

use gmp_core::__private::{
    commit_park, runnable_word, unpark_state, ParkedStack, UnparkAction, RUNNABLE, RUNNING,
    STACK_COPYING, STACK_OUT,
};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicU64, Ordering::*};
use loom::sync::Arc;
use loom::thread;

/// A goroutine in the model: its state word, its copy-out record, and a four-byte stack.
struct Model {
    state: AtomicU64,
    ps: ParkedStack,
    stack: UnsafeCell<[u8; 4]>,
}

const GOID: u64 = 1;
const LIVE: [u8; 4] = [1, 2, 3, 4];
const LO: usize = 96;
const TOP: usize = 104;

/// The sweep: claim, copy, release (the pages read as zeros afterwards), publish.
fn sweep(m: &Model) -> bool {
    let Some(_) = m.ps.try_claim(&m.state) else {
        return false;
    };
    // SAFETY: loom checks the accesses; the claim makes the stack ours until published.
    let copy: Box<[u8]> = m.stack.with(|s| unsafe { (*s).to_vec() }).into();
    m.ps.set_copy(copy);
    // SAFETY: as above.
    m.stack.with_mut(|s| unsafe { *s = [0; 4] });
    m.ps.publish_out(&m.state);
    true
}

/// The M that dequeued the goroutine: RUNNABLE → RUNNING (`execute`), stack in, "resume".
fn execute(m: &Model) -> [u8; 4] {
    let w = m.state.fetch_add(RUNNING - RUNNABLE, AcqRel);
    m.ps.stack_in(&m.state, w, |at, bytes| {
        assert_eq!(at + bytes.len(), TOP, "the copy ends at the stack's top");
        // SAFETY: loom checks the access; `stack_in` hands us the stack.
        m.stack.with_mut(|s| unsafe { (*s).copy_from_slice(bytes) });
    });
    assert_eq!(m.state.load(SeqCst) & (STACK_COPYING | STACK_OUT), 0);
    // SAFETY: as above: the goroutine is ours to resume.
    m.stack.with(|s| unsafe { *s })
}

/// A goroutine that has run and written its stack, its M about to switch it out at sp = 100.
/// Before any other thread exists.
fn running_goroutine() -> Arc<Model> {
    let m = Arc::new(Model {
        state: AtomicU64::new(runnable_word(GOID)),
        ps: ParkedStack::default(),
        stack: UnsafeCell::new([0; 4]),
    });
    m.ps.set_bounds(LO, TOP);
    assert_eq!(execute(&m), [0; 4]);
    // SAFETY: no other thread exists yet.
    m.stack.with_mut(|s| unsafe { *s = LIVE });
    m.ps.sp().store(100, Relaxed);
    m
}

/// The goroutine runs, then its M parks it (`park_m`).
fn park(m: &Model) {
    assert!(commit_park(&m.state));
}

#[test]
fn the_sweep_against_a_wake_up() {
    loom::model(|| {
        // The goroutine runs, writes its stack, switches out at sp = 100 and parks.
        let m = running_goroutine();
        park(&m);
        let sweeper = {
            let m = m.clone();
            thread::spawn(move || sweep(&m))
        };
        // Meanwhile it is woken, and an M picks it up.
        assert_eq!(unpark_state(&m.state, GOID), UnparkAction::Ready);
        assert_eq!(execute(&m), LIVE);
        sweeper.join().unwrap();
        // It parks again later, is copied out for sure, and resumes once more.
        park(&m);
        assert!(sweep(&m));
        assert_ne!(m.state.load(SeqCst) & STACK_OUT, 0);
        assert_eq!(unpark_state(&m.state, GOID), UnparkAction::Ready);
        assert_eq!(execute(&m), LIVE);
    });
}

/// A goroutine inside a scope pins its stack while it runs, then parks; a sweep racing its
/// wake-up (and a borrower reading its stack, as a scoped goroutine does) must never claim it,
/// even when the sweep read the state word of an earlier, unpinned park (the claim is a CAS on
/// the whole word, and the pin is read after it). After the unpin, the next park is fair game.
#[test]
fn a_pinned_stack_is_never_claimed() {
    loom::model(|| {
        let m = running_goroutine();
        m.ps.pin();
        park(&m);
        let sweeper = {
            let m = m.clone();
            thread::spawn(move || sweep(&m))
        };
        let borrower = {
            let m = m.clone();
            // SAFETY: loom checks it: a read racing a claim's copy-and-release would be
            // reported (and would see zeros).
            thread::spawn(move || m.stack.with(|s| unsafe { *s }))
        };
        assert_eq!(borrower.join().unwrap(), LIVE);
        assert!(!sweeper.join().unwrap(), "a pinned stack was claimed");
        assert_eq!(unpark_state(&m.state, GOID), UnparkAction::Ready);
        assert_eq!(execute(&m), LIVE);
        m.ps.unpin();
        park(&m);
        assert!(sweep(&m));
        assert_eq!(unpark_state(&m.state, GOID), UnparkAction::Ready);
        assert_eq!(execute(&m), LIVE);
    });
}
