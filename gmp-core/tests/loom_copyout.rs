//! loom model of copy-out against wake-up (`sched/copyout.rs`): sysmon's sweep claims a
//! parked goroutine's stack, copies it and releases its pages, while an M that readied the
//! goroutine reclaims the stack to resume it. Whoever wins, the goroutine resumes on exactly
//! the bytes it parked with: never on released pages, never on a half-made copy.
//!
//! Run: `cargo xtask verify --crate gmp-core`
#![cfg(loom)]

use gmp_core::__private::ParkedStack;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// A goroutine's stack in the model: four bytes, and `lo`/`top` addresses for the record.
struct Model {
    ps: ParkedStack,
    stack: UnsafeCell<[u8; 4]>,
}

const LIVE: [u8; 4] = [1, 2, 3, 4];

/// The sweep: claim, copy, release (the pages read as zeros afterwards), publish.
fn sweep(m: &Model) -> bool {
    let Some(_) = m.ps.try_claim() else {
        return false;
    };
    // SAFETY: loom cells check the accesses themselves; the claim makes the stack ours
    // until `publish_out`.
    let copy: Box<[u8]> = m.stack.with(|s| unsafe { (*s).to_vec() }).into();
    m.ps.set_copy(copy);
    // SAFETY: as above.
    m.stack.with_mut(|s| unsafe { *s = [0; 4] });
    m.ps.publish_out();
    true
}

/// The M that owns the goroutine: reclaim, then "resume" (read the stack).
fn resume(m: &Model) -> [u8; 4] {
    m.ps.reclaim(|at, bytes| {
        assert_eq!(at + bytes.len(), 104, "the copy ends at the stack's top");
        // SAFETY: loom checks the access; `reclaim` hands us the stack.
        m.stack.with_mut(|s| unsafe { (*s).copy_from_slice(bytes) });
    });
    // SAFETY: as above: the goroutine is ours to resume.
    m.stack.with(|s| unsafe { *s })
}

#[test]
fn the_sweep_against_a_wake_up() {
    loom::model(|| {
        let m = Arc::new(Model {
            ps: ParkedStack::default(),
            stack: UnsafeCell::new([0; 4]),
        });
        // The goroutine wrote its stack, switched out at sp = 100; its M parks it.
        // SAFETY: no other thread exists yet.
        m.stack.with_mut(|s| unsafe { *s = LIVE });
        m.ps.sp().store(100, std::sync::atomic::Ordering::Relaxed);
        m.ps.stack_park(96, 104);
        let sweeper = {
            let m = m.clone();
            thread::spawn(move || sweep(&m))
        };
        // Meanwhile it is woken and an M resumes it.
        assert_eq!(resume(&m), LIVE);
        sweeper.join().unwrap();
        // It parks again later, and is copied out and resumed once more.
        m.ps.stack_park(96, 104);
        assert!(sweep(&m));
        assert!(m.ps.is_out());
        assert_eq!(resume(&m), LIVE);
    });
}
