//! loom model of `Semaphore::acquire_ctx` (without the `context` feature: the interruption
//! is what a context's cancel does, a flag set and the waiter unparked): a cancel racing a
//! release never loses a unit or grants one twice, and never leaves the waiter parked. The
//! waiter either gets the unit (and releases it) or reports the cancel and owns nothing.
#![cfg(loom)]

use gmp_core::park::Unparker;
use gmp_sync::Semaphore;
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

#[test]
fn a_cancel_racing_a_release() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        assert!(sem.try_acquire(1)); // held: the waiter queues
        let cancelled = Arc::new(AtomicBool::new(false));
        let waiter_unparker: Arc<Mutex<Option<Unparker>>> = Arc::new(Mutex::new(None));
        let waiter = {
            let (sem, cancelled, slot) = (sem.clone(), cancelled.clone(), waiter_unparker.clone());
            thread::spawn(move || {
                *slot.lock().unwrap() = Some(gmp_core::park::current());
                let got = gmp_sync::__private::semaphore_acquire_until(&sem, 1, &|| {
                    cancelled.load(SeqCst)
                });
                if got {
                    sem.release(1);
                }
                got
            })
        };
        let canceller = {
            let (cancelled, slot) = (cancelled.clone(), waiter_unparker.clone());
            thread::spawn(move || {
                cancelled.store(true, SeqCst);
                if let Some(u) = slot.lock().unwrap().clone() {
                    u.unpark();
                }
            })
        };
        sem.release(1);
        let _got = waiter.join().unwrap();
        canceller.join().unwrap();
        // Whoever won, the unit is back and nobody else holds it.
        assert!(sem.try_acquire(1), "the unit was lost");
    });
}
