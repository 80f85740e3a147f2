//! Ports of Go's sync/rwmutex_test.go: TestParallelReaders, TestRWMutex (with
//! HammerRWMutex), TestRLocker (as read guards: a second read lock while holding one, and a
//! writer that must wait for both). Go's misuse cases (RUnlock of an unlocked RWMutex, ...)
//! cannot be written in Rust: guards are the only way to unlock.
//!
//! Each test runs twice (see `common`): `*_threads` on plain threads, and `*_goroutines` as
//! the main goroutine of a runtime with 2 Ps, where its `go` statements start goroutines.

mod common;
use common::{go, Chan};
use gmp_sync::{RwLock, WaitGroup};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

/// Go: doTestParallelReaders. Channels `clocked`/`cunlock` become WaitGroups.
fn do_test_parallel_readers(num_readers: usize) {
    let m = Arc::new(RwLock::new(()));
    let clocked = WaitGroup::new();
    let cunlock = WaitGroup::new();
    let cdone = WaitGroup::new();
    clocked.add(num_readers as isize);
    cunlock.add(1);
    cdone.add(num_readers as isize);
    for _ in 0..num_readers {
        let (m, clocked, cunlock, cdone) =
            (m.clone(), clocked.clone(), cunlock.clone(), cdone.clone());
        go(move || {
            let g = m.read();
            clocked.done();
            cunlock.wait();
            drop(g);
            cdone.done();
        });
    }
    // All readers hold the read lock at once, or this wait never returns.
    clocked.wait();
    cunlock.done();
    cdone.wait();
}

/// Go: TestParallelReaders.
fn test_parallel_readers() {
    do_test_parallel_readers(1);
    do_test_parallel_readers(3);
    do_test_parallel_readers(4);
}

#[test]
fn test_parallel_readers_threads() {
    common::on_threads(test_parallel_readers);
}

#[test]
fn test_parallel_readers_goroutines() {
    common::in_goroutines(test_parallel_readers);
}

/// Go: reader.
fn reader(rwm: &RwLock<()>, iterations: usize, activity: &AtomicI32) {
    for _ in 0..iterations {
        let g = rwm.read();
        let n = activity.fetch_add(1, Ordering::SeqCst) + 1;
        assert!((1..10000).contains(&n), "wlock({n})");
        for i in 0..100 {
            std::hint::black_box(i);
        }
        activity.fetch_sub(1, Ordering::SeqCst);
        drop(g);
    }
}

/// Go: writer.
fn writer(rwm: &RwLock<()>, iterations: usize, activity: &AtomicI32) {
    for _ in 0..iterations {
        let g = rwm.write();
        let n = activity.fetch_add(10000, Ordering::SeqCst) + 10000;
        assert_eq!(n, 10000, "wlock({n})");
        for i in 0..100 {
            std::hint::black_box(i);
        }
        activity.fetch_sub(10000, Ordering::SeqCst);
        drop(g);
    }
}

/// Go: HammerRWMutex.
fn hammer_rwmutex(num_readers: usize, iterations: usize) {
    let activity = Arc::new(AtomicI32::new(0));
    let rwm = Arc::new(RwLock::new(()));
    let cdone = Chan::new();
    let spawn_writer = || {
        let (rwm, activity, cdone) = (rwm.clone(), activity.clone(), cdone.clone());
        go(move || {
            writer(&rwm, iterations, &activity);
            cdone.send(true);
        })
    };
    let spawn_reader = || {
        let (rwm, activity, cdone) = (rwm.clone(), activity.clone(), cdone.clone());
        go(move || {
            reader(&rwm, iterations, &activity);
            cdone.send(true);
        })
    };
    spawn_writer();
    let mut i = 0;
    while i < num_readers / 2 {
        spawn_reader();
        i += 1;
    }
    spawn_writer();
    while i < num_readers {
        spawn_reader();
        i += 1;
    }
    for _ in 0..2 + num_readers {
        cdone.recv();
    }
}

/// Go: TestRWMutex.
fn test_rwmutex() {
    let m = RwLock::new(());
    {
        let _w = m.write();
        assert!(
            m.try_write().is_none(),
            "TryLock succeeded with mutex locked"
        );
        assert!(
            m.try_read().is_none(),
            "TryRLock succeeded with mutex locked"
        );
    }
    assert!(
        m.try_write().is_some(),
        "TryLock failed with mutex unlocked"
    );
    {
        let r1 = m.try_read().expect("TryRLock failed with mutex unlocked");
        let r2 = m.try_read().expect("TryRLock failed with mutex rlocked");
        assert!(
            m.try_write().is_none(),
            "TryLock succeeded with mutex rlocked"
        );
        drop((r1, r2));
    }
    let n = 200;
    for readers in [1, 3, 10, 5] {
        hammer_rwmutex(readers, n);
    }
}

#[test]
fn test_rwmutex_threads() {
    common::on_threads(test_rwmutex);
}

#[test]
fn test_rwmutex_goroutines() {
    common::in_goroutines(test_rwmutex);
}

/// Go: TestRLocker. Go's `RLocker` is a Locker doing RLock/RUnlock; in Rust that is just
/// `read()`, so this checks the same thing with read guards: two read locks held at once
/// keep a writer out until both are dropped, and the writer keeps readers out.
fn test_rlocker() {
    let wl = Arc::new(RwLock::new(()));
    let rlocked = Chan::new();
    let wlocked = Chan::new();
    let release_r = Chan::new();
    let release_w = Chan::new();
    let n = 10;
    {
        let (wl, rlocked, wlocked, release_r, release_w) = (
            wl.clone(),
            rlocked.clone(),
            wlocked.clone(),
            release_r.clone(),
            release_w.clone(),
        );
        go(move || {
            for _ in 0..n {
                let r1 = wl.read();
                let r2 = wl.read();
                rlocked.send(true);
                release_r.recv();
                drop(r1);
                release_r.recv();
                drop(r2);
                let w = wl.write();
                wlocked.send(true);
                release_w.recv();
                drop(w);
            }
        });
    }
    for _ in 0..n {
        rlocked.recv();
        assert!(wl.try_write().is_none(), "RLocker() didn't read-lock it");
        release_r.send(());
        assert!(wlocked.try_recv().is_none(), "writer got in with a reader");
        release_r.send(());
        wlocked.recv();
        assert!(
            wl.try_read().is_none(),
            "RLocker() didn't respect the write lock"
        );
        assert!(rlocked.try_recv().is_none());
        release_w.send(());
    }
}

#[test]
fn test_rlocker_threads() {
    common::on_threads(test_rlocker);
}

#[test]
fn test_rlocker_goroutines() {
    common::in_goroutines(test_rlocker);
}
