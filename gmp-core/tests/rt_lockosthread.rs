//! `lock_os_thread`: a locked goroutine stays on its thread, and its thread runs nothing else.

use gmp_core::park::{self, WaitReason};
use gmp_core::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

mod common;

#[test]
fn locked_goroutine_keeps_its_thread_across_blocking() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let locked_thread: Arc<Mutex<Option<ThreadId>>> = Arc::default();
        let others: Arc<Mutex<HashSet<ThreadId>>> = Arc::default();
        let lt = locked_thread.clone();
        let ot = others.clone();
        let window = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w1 = window.clone();
        rt.run(move || {
            let h = go(move || {
                lock_os_thread();
                let me = std::thread::current().id();
                *lt.lock().unwrap() = Some(me);
                w1.store(true, std::sync::atomic::Ordering::SeqCst);
                for _ in 0..20 {
                    sleep(Duration::from_millis(1));
                    gosched();
                    assert_eq!(std::thread::current().id(), me);
                }
                assert!(dump().contains("locked to thread"));
                w1.store(false, std::sync::atomic::Ordering::SeqCst);
                unlock_os_thread();
            });
            // Meanwhile other goroutines run, never on the locked thread.
            let hs: Vec<_> = (0..50)
                .map(|_| {
                    let ot = ot.clone();
                    let window = window.clone();
                    go(move || {
                        for _ in 0..5 {
                            if window.load(std::sync::atomic::Ordering::SeqCst) {
                                ot.lock().unwrap().insert(std::thread::current().id());
                            }
                            sleep(Duration::from_micros(300));
                        }
                    })
                })
                .collect();
            h.join().unwrap();
            for h in hs {
                h.join().unwrap();
            }
        });
        let locked = locked_thread.lock().unwrap().unwrap();
        assert!(
            !others.lock().unwrap().contains(&locked),
            "procs={procs}: another goroutine ran on the locked thread"
        );
    }
}

#[test]
fn nested_locks_and_exit_while_locked() {
    run(|| {
        go(|| {
            lock_os_thread();
            lock_os_thread();
            unlock_os_thread();
            let t = std::thread::current().id();
            sleep(Duration::from_millis(2));
            assert_eq!(
                std::thread::current().id(),
                t,
                "still locked after one unlock of two"
            );
            // Ends locked: its M is released.
        })
        .join()
        .unwrap();
        // The runtime keeps working afterwards.
        let hs: Vec<_> = (0..100).map(|i| go(move || i)).collect();
        assert_eq!(hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>(), 4950);
    });
    // No-ops on a plain thread.
    lock_os_thread();
    unlock_os_thread();
}

#[test]
fn locked_goroutine_blocked_forever_is_a_deadlock() {
    let r = std::panic::catch_unwind(|| {
        run(|| {
            lock_os_thread();
            park::park(WaitReason::ChanReceive);
        })
    });
    let msg = common::panic_message(r);
    assert!(
        msg.starts_with("all goroutines are asleep - deadlock!"),
        "{msg}"
    );
    assert!(
        msg.contains("goroutine 1 [chan receive, locked to thread]:"),
        "{msg}"
    );
}
