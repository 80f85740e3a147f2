//! loom model of RwLock: readers and a writer never overlap, and no wake-up is lost.
#![cfg(loom)]

use gmp_sync::RwLock;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

#[test]
fn readers_vs_writer() {
    loom::model(|| {
        let l = Arc::new(RwLock::new(UnsafeCell::new(0)));
        let inside = Arc::new(AtomicIsize::new(0));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (l, inside) = (l.clone(), inside.clone());
                thread::spawn(move || {
                    let g = l.read();
                    assert!(inside.fetch_add(1, SeqCst) >= 0, "reader with a writer");
                    // SAFETY: read-locked: only shared access happens meanwhile.
                    let v = g.with(|p| unsafe { *p });
                    inside.fetch_sub(1, SeqCst);
                    v
                })
            })
            .collect();
        {
            let g = l.write();
            assert_eq!(inside.swap(-1, SeqCst), 0, "writer with readers");
            // SAFETY: write-locked.
            g.with_mut(|p| unsafe { *p = 1 });
            inside.store(0, SeqCst);
        }
        for r in readers {
            let v = r.join().unwrap();
            assert!(v == 0 || v == 1);
        }
    });
}

#[test]
fn two_writers_and_a_reader() {
    loom::model(|| {
        let l = Arc::new(RwLock::new(UnsafeCell::new(0)));
        let w = {
            let l = l.clone();
            thread::spawn(move || {
                let g = l.write();
                // SAFETY: write-locked.
                g.with_mut(|p| unsafe { *p += 1 });
            })
        };
        let r = {
            let l = l.clone();
            thread::spawn(move || {
                let g = l.read();
                // SAFETY: read-locked.
                g.with(|p| unsafe { *p })
            })
        };
        {
            let g = l.write();
            // SAFETY: write-locked.
            g.with_mut(|p| unsafe { *p += 1 });
        }
        w.join().unwrap();
        assert!(r.join().unwrap() <= 2);
        let g = l.read();
        // SAFETY: read-locked.
        assert_eq!(g.with(|p| unsafe { *p }), 2);
    });
}
