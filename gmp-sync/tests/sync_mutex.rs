//! Mutex from plain threads (and, in `goroutines`, from goroutines).

use gmp_sync::{Mutex, MutexGuard};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts with a non-atomic read-modify-write under the lock: a lost update means two
/// holders at once.
#[test]
fn mutual_exclusion_threads() {
    let m = Arc::new(Mutex::new(0u64));
    let inside = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (m, inside) = (m.clone(), inside.clone());
            std::thread::spawn(move || {
                for _ in 0..5000 {
                    let mut g = m.lock();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                    let v = *g;
                    std::hint::black_box(&v);
                    *g = v + 1;
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.lock(), 20_000);
}

#[test]
fn try_lock_get_mut_into_inner() {
    let mut m = Mutex::new(vec![1]);
    {
        let g = m.try_lock().expect("unlocked");
        assert!(m.try_lock().is_none(), "try_lock of a held mutex");
        drop(g);
    }
    m.get_mut().push(2);
    assert_eq!(*m.lock(), [1, 2]);
    assert_eq!(m.into_inner(), vec![1, 2]);
}

#[test]
fn unsized_data() {
    let m: &Mutex<[i32]> = &Mutex::new([1, 2, 3]);
    m.lock()[1] = 20;
    assert_eq!(&*m.lock(), &[1, 20, 3]);
    let d: Arc<Mutex<dyn std::fmt::Debug + Send>> = Arc::new(Mutex::new(5u8));
    assert_eq!(format!("{:?}", &*d.lock()), "5");
}

#[test]
fn static_mutex() {
    static M: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    M.lock().push(1);
    M.lock().push(2);
    assert_eq!(M.lock().len(), 2);
}

#[test]
fn debug_shows_data_or_locked() {
    let m = Mutex::new(7);
    assert_eq!(format!("{m:?}"), "Mutex { data: 7, .. }");
    let g = m.lock();
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked>, .. }");
    assert_eq!(format!("{g:?} {g}"), "7 7");
}

/// No poisoning: a panic while holding the guard unlocks, and the data stays usable.
#[test]
fn panic_while_locked_unlocks() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let r = std::thread::spawn(move || {
        let mut g = m2.lock();
        *g = 2;
        panic!("boom");
    })
    .join();
    assert!(r.is_err());
    assert_eq!(*m.try_lock().expect("unlocked by the unwind"), 2);
}

/// A thread parked in `lock` is woken by the unlock (not by polling).
#[test]
fn blocked_locker_wakes() {
    let m = Arc::new(Mutex::new(0));
    let g = m.lock();
    let started = Arc::new(AtomicBool::new(false));
    let (m2, s2) = (m.clone(), started.clone());
    let t = std::thread::spawn(move || {
        s2.store(true, Ordering::SeqCst);
        *m2.lock() += 1;
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(20));
    assert!(!t.is_finished(), "lock returned while the mutex was held");
    drop(g);
    t.join().unwrap();
    assert_eq!(*m.lock(), 1);
}

/// Starvation mode: a waiter that waited > 1 ms gets the lock directly from the unlocker, even
/// though the unlocker immediately tries to lock again.
#[test]
fn starving_waiter_gets_hand_off() {
    let m = Arc::new(Mutex::new(()));
    let stop = Arc::new(AtomicBool::new(false));
    let hog = {
        let (m, stop) = (m.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _g = m.lock();
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let _g = m.lock();
        worst = worst.max(t.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    hog.join().unwrap();
    assert!(
        worst < Duration::from_secs(2),
        "a waiter starved for {worst:?} (total {:?})",
        start.elapsed()
    );
}

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

#[test]
fn auto_traits() {
    assert_send::<Mutex<Vec<u8>>>();
    assert_sync::<Mutex<Vec<u8>>>();
    assert_sync::<Mutex<Cell<u8>>>(); // Mutex makes a Send, !Sync value shareable
    assert_send::<MutexGuard<'static, Vec<u8>>>();
    assert_sync::<MutexGuard<'static, Vec<u8>>>();
}
