//! loom model of the weighted Semaphore: never more than its capacity is held, and every
//! waiter is served.
#![cfg(loom)]

use gmp_sync::Semaphore;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

#[test]
fn never_over_admits() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let held = Arc::new(AtomicUsize::new(0));
        let work = |n: usize, sem: Arc<Semaphore>, held: Arc<AtomicUsize>| {
            sem.acquire(n);
            let now = held.fetch_add(n, SeqCst) + n;
            assert!(now <= 2, "{now} units held of 2");
            held.fetch_sub(n, SeqCst);
            sem.release(n);
        };
        let ts: Vec<_> = [2usize, 1]
            .into_iter()
            .map(|n| {
                let (sem, held) = (sem.clone(), held.clone());
                thread::spawn(move || work(n, sem, held))
            })
            .collect();
        work(1, sem.clone(), held.clone());
        for t in ts {
            t.join().unwrap();
        }
        assert!(sem.try_acquire(2));
    });
}
