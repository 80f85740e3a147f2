//! loom: a goroutine's result against its `JoinHandle` (the `JoinSlot` hand-off of
//! goroutine.rs). The goroutine publishing `DONE` races the handle's drop publishing
//! `HANDLE_GONE`; whichever comes second owns the result, so it is dropped exactly once and
//! never read after it was dropped, and a joined result arrives whole.
//! (Whether the result is dropped while the handle is still there or afterwards depends on the
//! interleaving; both appear among loom's executions.)
//! The slot's two references (`SlotRef`: the task's and the handle's) race to free it: the
//! last drop frees it after the other side's writes.
#![cfg(loom)]

use gmp_core::Runtime;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn runtime() -> Runtime {
    Runtime::builder()
        .procs(1)
        .deadlock_detection(false)
        .build()
        .unwrap()
}

#[test]
fn a_result_whose_handle_is_dropped_meanwhile_is_dropped_once() {
    loom::model(|| {
        let rt = runtime();
        let drops = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let (d, r) = (drops.clone(), ran.clone());
        let h = rt.go(move || {
            r.store(1, SeqCst);
            Counted(d)
        });
        // The drop races the goroutine's end.
        drop(h);
        // Waits for the goroutine; one that had not started by then is cancelled before its
        // body runs (Go: main returning), so it made no result to drop.
        drop(rt);
        assert_eq!(drops.load(SeqCst), ran.load(SeqCst));
    });
}

#[test]
fn a_joined_result_arrives_whole_and_is_dropped_by_its_reader() {
    loom::model(|| {
        let rt = runtime();
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let h = rt.go(move || Counted(d));
        let v = h.join().unwrap();
        assert_eq!(drops.load(SeqCst), 0);
        drop(v);
        assert_eq!(drops.load(SeqCst), 1);
        drop(rt);
    });
}

/// The slot's references: the goroutine's side writes its result and drops its reference
/// while the handle's side drops its own; whichever is last frees the slot (dropping the
/// result through its cell), after the other's write. Kills: the decrement not Release, or
/// no Acquire fence before the free (loom reports the free's access racing the write).
#[test]
fn the_last_reference_frees_the_slot_after_the_others_writes() {
    loom::model(|| {
        let (task, handle) = gmp_core::__private::SlotRefProbe::pair();
        let t = loom::thread::spawn(move || {
            task.write(7);
            drop(task);
        });
        drop(handle);
        t.join().unwrap();
    });
}
