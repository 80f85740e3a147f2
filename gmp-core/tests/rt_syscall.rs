//! `syscall(f)`: the P of a goroutine blocked in `f` is handed to another M (Go's
//! entersyscall/exitsyscall and sysmon's retake), the fast path keeps the P, and the limits.

use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{go, gosched, sleep, syscall, Runtime};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

/// Two goroutines bounce a turn back and forth `n` times with park/unpark.
fn park_round_trips(n: usize) {
    let turn = Arc::new(AtomicUsize::new(0));
    let slot: Arc<Mutex<Option<Unparker>>> = Arc::new(Mutex::new(None));
    let main_u = park::current();
    let (t2, s2) = (turn.clone(), slot.clone());
    let other = go(move || {
        *s2.lock().unwrap() = Some(park::current());
        main_u.unpark();
        for i in 0..n {
            while t2.load(SeqCst) != 2 * i + 1 {
                park::park(WaitReason::Park);
            }
            t2.store(2 * i + 2, SeqCst);
            main_u.unpark();
        }
    });
    let peer = loop {
        if let Some(u) = slot.lock().unwrap().take() {
            break u;
        }
        park::park(WaitReason::Park);
    };
    for i in 0..n {
        turn.store(2 * i + 1, SeqCst);
        peer.unpark();
        while turn.load(SeqCst) != 2 * i + 2 {
            park::park(WaitReason::Park);
        }
    }
    other.join().unwrap();
}

#[test]
fn a_blocked_syscall_does_not_stop_the_other_goroutines_on_one_p() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (blocked_done_first, took) = rt.run(|| {
        let in_syscall = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (i2, d2) = (in_syscall.clone(), done.clone());
        let blocker = go(move || {
            syscall(|| {
                i2.store(true, SeqCst);
                std::thread::sleep(Duration::from_millis(500));
            });
            d2.store(true, SeqCst);
        });
        while !in_syscall.load(SeqCst) {
            gosched();
        }
        let t = Instant::now();
        park_round_trips(100);
        let took = t.elapsed();
        let first = done.load(SeqCst);
        blocker.join().unwrap();
        (first, took)
    });
    assert!(
        !blocked_done_first,
        "100 park round trips waited for the 500 ms syscall ({took:?})"
    );
}

#[test]
fn quick_syscalls_keep_their_p_and_return_values() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let sum = rt.run(|| {
            let hs: Vec<_> = (0..8u64)
                .map(|k| go(move || (0..2_000u64).map(|i| syscall(|| i * k)).sum::<u64>()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(sum, (0..8u64).map(|k| k * 1_999 * 2_000 / 2).sum::<u64>());
    }
}

#[test]
fn syscall_outside_a_goroutine_just_calls() {
    assert_eq!(syscall(|| 40 + 2), 42);
    assert_eq!(syscall(|| syscall(|| 7)), 7);
}

#[test]
fn gmp_calls_inside_a_syscall_block_the_thread_and_work() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let v = rt.run(|| {
            syscall(|| {
                // Nested, a sleep, a spawn and a join: all block this thread, none may hang.
                let inner = syscall(|| 5);
                sleep(Duration::from_millis(5));
                let h = go(move || inner * 2);
                gosched();
                h.join().unwrap()
            })
        });
        assert_eq!(v, 10);
    }
}

#[test]
fn leaving_a_syscall_without_a_free_p_queues_the_goroutine() {
    // One P, kept busy by a yielding goroutine while the other's syscall ends: the returning
    // goroutine finds its P taken and no idle one, queues itself, and runs again later.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let after = rt.run(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let busy = go(move || {
            let t = Instant::now();
            while !s2.load(SeqCst) && t.elapsed() < Duration::from_secs(10) {
                gosched();
            }
        });
        let h = go(|| {
            let before = gmp_core::current_id();
            syscall(|| std::thread::sleep(Duration::from_millis(100)));
            // Still the same goroutine, and it can still park and be woken.
            assert_eq!(gmp_core::current_id(), before);
            sleep(Duration::from_millis(1));
            7
        });
        let v = h.join().unwrap();
        stop.store(true, SeqCst);
        busy.join().unwrap();
        v
    });
    assert_eq!(after, 7);
}

#[test]
fn a_locked_goroutine_keeps_its_thread_across_a_blocked_syscall() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let same = rt.run(|| {
        let other_ran = Arc::new(AtomicBool::new(false));
        let o2 = other_ran.clone();
        let h = go(move || {
            gmp_core::lock_os_thread();
            let me = std::thread::current().id();
            syscall(|| std::thread::sleep(Duration::from_millis(100)));
            let still = std::thread::current().id() == me;
            gmp_core::unlock_os_thread();
            still && o2.load(SeqCst)
        });
        go(move || other_ran.store(true, SeqCst));
        h.join().unwrap()
    });
    assert!(
        same,
        "the locked goroutine moved threads, or the other one never ran"
    );
}

#[test]
fn a_panic_inside_a_syscall_reaches_join() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let msg = rt.run(|| {
        let h = go(|| {
            syscall(|| {
                std::thread::sleep(Duration::from_millis(30));
                panic!("boom in syscall")
            })
        });
        // Keep the P busy meanwhile so the exit takes the slow path sometimes.
        for _ in 0..100 {
            gosched();
        }
        h.join().unwrap_err().panic_message().map(str::to_owned)
    });
    assert_eq!(msg.as_deref(), Some("boom in syscall"));
}

#[test]
fn max_threads_below_procs_is_an_error() {
    let e = Runtime::builder()
        .procs(4)
        .max_threads(3)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e
        .to_string()
        .contains("max_threads (3) must be at least procs (4)"));
}

#[test]
fn exceeding_max_threads_fails_run_with_a_clear_message() {
    let rt = Runtime::builder().procs(1).max_threads(2).build().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.run(|| {
            let hs: Vec<_> = (0..4)
                .map(|_| go(|| syscall(|| std::thread::sleep(Duration::from_millis(300)))))
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        })
    }));
    let msg = common::panic_message(r);
    assert!(
        msg.contains("program exceeds the 2-thread limit"),
        "unexpected: {msg}"
    );
}
