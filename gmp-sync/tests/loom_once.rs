//! loom model of Once: exactly one caller runs f, and every caller sees what f did.
#![cfg(loom)]

use gmp_sync::Once;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

struct Shared {
    once: Once,
    value: UnsafeCell<usize>,
    runs: AtomicUsize,
}
// SAFETY: `value` is written only inside `call_once`'s f and read after `call_once` returns.
unsafe impl Sync for Shared {}

fn call(s: &Shared) -> usize {
    s.once.call_once(|| {
        s.runs.fetch_add(1, SeqCst);
        // SAFETY: only the one f writes, before any reader returns from call_once.
        s.value.with_mut(|p| unsafe { *p = 42 });
    });
    // SAFETY: call_once returned, so f's write happened before (loom checks it).
    s.value.with(|p| unsafe { *p })
}

#[test]
fn one_runs_all_see_it() {
    loom::model(|| {
        let s = Arc::new(Shared {
            once: Once::new(),
            value: UnsafeCell::new(0),
            runs: AtomicUsize::new(0),
        });
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || call(&s))
            })
            .collect();
        assert_eq!(call(&s), 42);
        for t in ts {
            assert_eq!(t.join().unwrap(), 42);
        }
        assert_eq!(s.runs.load(SeqCst), 1);
        assert!(s.once.is_completed());
    });
}
