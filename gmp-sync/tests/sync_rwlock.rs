//! RwLock from plain threads.

use gmp_sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::wait_until;

#[test]
fn readers_share_writers_exclude() {
    let l = Arc::new(RwLock::new(0u64));
    // -1 = a writer inside, n > 0 = n readers inside.
    let inside = Arc::new(AtomicIsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (l, inside) = (l.clone(), inside.clone());
            std::thread::spawn(move || {
                for j in 0..2000 {
                    if (i + j) % 4 == 0 {
                        let mut g = l.write();
                        assert_eq!(inside.swap(-1, Ordering::SeqCst), 0, "writer with others");
                        *g += 1;
                        inside.store(0, Ordering::SeqCst);
                    } else {
                        let g = l.read();
                        assert!(
                            inside.fetch_add(1, Ordering::SeqCst) >= 0,
                            "reader with writer"
                        );
                        std::hint::black_box(*g);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*l.read(), 2000);
}

/// Go semantics: a waiting writer blocks new readers, and gets the lock when the old readers
/// leave, before the new readers.
#[test]
fn waiting_writer_blocks_new_readers() {
    let l = Arc::new(RwLock::new(0));
    let r1 = l.read();
    let wrote = Arc::new(AtomicBool::new(false));
    let writer = {
        let (l, wrote) = (l.clone(), wrote.clone());
        std::thread::spawn(move || {
            *l.write() = 1;
            wrote.store(true, Ordering::SeqCst);
        })
    };
    // Once the writer is pending, new readers are refused...
    wait_until("the writer is pending", || l.try_read().is_none());
    assert!(l.try_write().is_none());
    // ...and a blocking reader queues behind the writer, so it sees the write.
    let reader = {
        let l = l.clone();
        std::thread::spawn(move || *l.read())
    };
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        !wrote.load(Ordering::SeqCst),
        "writer ran while a reader held the lock"
    );
    drop(r1);
    writer.join().unwrap();
    assert_eq!(
        reader.join().unwrap(),
        1,
        "the new reader went before the pending writer"
    );
}

#[test]
fn try_variants_get_mut_into_inner_debug() {
    let mut l = RwLock::new(String::from("a"));
    {
        let r = l.try_read().unwrap();
        assert!(l.try_read().is_some());
        assert!(l.try_write().is_none());
        assert_eq!(format!("{l:?}"), "RwLock { data: \"a\", .. }");
        drop(r);
        let w = l.try_write().unwrap();
        assert!(l.try_read().is_none());
        assert!(l.try_write().is_none());
        assert_eq!(format!("{l:?}"), "RwLock { data: <locked>, .. }");
        drop(w);
    }
    l.get_mut().push('b');
    assert_eq!(l.into_inner(), "ab");
    let u: &RwLock<[u8]> = &RwLock::new([1, 2]);
    assert_eq!(u.read().len(), 2);
}

#[test]
fn panic_while_writing_unlocks() {
    let l = Arc::new(RwLock::new(1));
    let l2 = l.clone();
    assert!(std::thread::spawn(move || {
        let _w = l2.write();
        panic!("boom");
    })
    .join()
    .is_err());
    assert_eq!(*l.try_write().expect("not poisoned"), 1);
}
