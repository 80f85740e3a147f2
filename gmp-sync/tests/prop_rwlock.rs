//! proptest: random read/write schedules on an RwLock never let a writer in with readers
//! (or with another writer), and every schedule completes.

use gmp_sync::RwLock;
use proptest::prelude::*;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

/// One access: write or read, and how long to hold it (in yields).
type Access = (bool, u8);

fn run(schedules: Vec<Vec<Access>>) {
    let lock = Arc::new(RwLock::new(0usize));
    // > 0: that many readers inside; -1: a writer inside.
    let inside = Arc::new(AtomicIsize::new(0));
    let writes: usize = schedules.iter().flatten().filter(|a| a.0).count();
    let threads: Vec<_> = schedules
        .into_iter()
        .map(|sched| {
            let (lock, inside) = (lock.clone(), inside.clone());
            std::thread::spawn(move || {
                for (write, hold) in sched {
                    if write {
                        let mut g = lock.write();
                        let before = inside.swap(-1, Ordering::SeqCst);
                        assert_eq!(before, 0, "a writer got in with {before} inside");
                        *g += 1;
                        for _ in 0..hold {
                            std::thread::yield_now();
                        }
                        inside.store(0, Ordering::SeqCst);
                    } else {
                        let g = lock.read();
                        let before = inside.fetch_add(1, Ordering::SeqCst);
                        assert!(before >= 0, "a reader got in with a writer");
                        std::hint::black_box(*g);
                        for _ in 0..hold {
                            std::thread::yield_now();
                        }
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*lock.read(), writes);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn never_a_writer_with_readers(
        schedules in prop::collection::vec(
            prop::collection::vec((any::<bool>(), 0u8..4), 1..40),
            2..5,
        )
    ) {
        run(schedules);
    }
}
