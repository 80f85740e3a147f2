//! Goroutine lifecycle: panics, goexit, cancellation at shutdown (with drop counters), bad
//! builder input, the default runtime, and the runtime-package queries.

use gmp_core::park::{self, WaitReason};
use gmp_core::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn procs_zero_is_an_error() {
    let e = Runtime::builder().procs(0).build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("procs"), "{e}");
}

#[test]
fn tiny_stack_is_an_error() {
    let e = Runtime::builder().stack_size(1024).build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("minimum"), "{e}");
    // Rounded up to pages, not rejected.
    Runtime::builder()
        .stack_size(64 * 1024 + 1)
        .build()
        .unwrap();
}

#[test]
fn panic_is_caught_and_reported_by_join() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let r = rt.run(|| go(|| -> u32 { panic!("boom {}", 7) }).join());
    match r {
        Err(e @ JoinError::Panicked(_)) => {
            assert_eq!(e.panic_message(), Some("boom 7"));
            assert_eq!(e.to_string(), "goroutine panicked: boom 7");
        }
        other => panic!("unexpected {other:?}"),
    }
    // The runtime survives the panic.
    assert_eq!(rt.run(|| 5), 5);
}

#[test]
fn goexit_runs_drops_in_order_and_join_says_exited() {
    let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
    struct Defer(&'static str, Arc<parking_lot::Mutex<Vec<&'static str>>>);
    impl Drop for Defer {
        fn drop(&mut self) {
            self.1.lock().push(self.0);
        }
    }
    let l = log.clone();
    let r = run(move || {
        go(move || {
            let _a = Defer("A.defer", l.clone());
            {
                let _b = Defer("B.defer", l.clone());
                goexit();
            }
        })
        .join()
    });
    assert!(matches!(r, Err(JoinError::Exited)), "{r:?}");
    assert_eq!(*log.lock(), vec!["B.defer", "A.defer"]);
}

#[test]
fn run_cancels_parked_goroutines_and_runs_their_drops() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    run(move || {
        for _ in 0..100 {
            let guard = DropCount(d.clone());
            go(move || {
                let _g = guard;
                loop {
                    park::park(WaitReason::Park); // parked forever
                }
            });
        }
        // Let them all park.
        while num_goroutine() > 1 && dump().matches("[park]").count() < 100 {
            sleep(Duration::from_millis(1));
        }
    });
    assert_eq!(drops.load(SeqCst), 100);
}

#[test]
fn dropping_a_runtime_cancels_everything_and_joins() {
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::builder().procs(2).build().unwrap();
    let mut hs = Vec::new();
    for i in 0..50 {
        let g = DropCount(drops.clone());
        hs.push(rt.go(move || {
            let _g = g;
            if i % 2 == 0 {
                loop {
                    park::park(WaitReason::Park);
                }
            } else {
                loop {
                    sleep(Duration::from_millis(5));
                }
            }
        }));
    }
    // Not-yet-started goroutines are cancelled too (their closures are dropped).
    drop(rt);
    assert_eq!(drops.load(SeqCst), 50);
    for h in hs {
        assert!(matches!(h.join(), Err(JoinError::Cancelled)));
    }
}

#[test]
fn swallowed_cancellation_is_cancelled_again() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let h = rt.go(move || {
        let r = std::panic::catch_unwind(|| loop {
            park::park(WaitReason::Park);
        });
        tx.send(r.is_err()).unwrap();
        // Swallowed: the next scheduling point cancels again.
        loop {
            gosched();
        }
    });
    sleep(Duration::from_millis(20));
    drop(rt);
    assert!(rx.recv().unwrap());
    assert!(matches!(h.join(), Err(JoinError::Cancelled)));
}

#[test]
fn runtime_run_keeps_other_goroutines_alive() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    rt.run(move || {
        go(move || {
            sleep(Duration::from_millis(30));
            tx.send(current_id().unwrap()).unwrap();
        });
    });
    // The background goroutine still runs after `run` returned.
    let id = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(id.as_u64() > 1);
    assert_eq!(rt.run(|| 1 + 1), 2);
}

#[test]
fn queries() {
    let rt = Runtime::builder().procs(3).build().unwrap();
    rt.run(|| {
        assert_eq!(gomaxprocs(), 3);
        assert!(current_id().is_some());
        let gate = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let gate = gate.clone();
                go(move || {
                    while gate.load(SeqCst) == 0 {
                        sleep(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        assert_eq!(num_goroutine(), 11);
        gate.store(1, SeqCst);
        for h in hs {
            h.join().unwrap();
        }
        // Dead goroutines are gone from the count once their Ms have retired them.
        while num_goroutine() != 1 {
            gosched();
        }
    });
    assert_eq!(current_id(), None);
}

#[test]
fn default_runtime_outside_any() {
    let h = go(|| current_id().unwrap());
    let id = h.join().unwrap();
    assert!(id.as_u64() >= 1);
    assert!(gomaxprocs() >= 1);
}

#[test]
fn park_and_unpark_across_goroutines_and_threads() {
    // A plain thread wakes a goroutine here: the deadlock detector cannot see it.
    let rt = Runtime::builder()
        .procs(2)
        .deadlock_detection(false)
        .build()
        .unwrap();
    rt.run(|| {
        // goroutine → goroutine
        let me = park::current();
        let flag = Arc::new(AtomicUsize::new(0));
        let f = flag.clone();
        go(move || {
            f.store(1, SeqCst);
            me.unpark();
        });
        while flag.load(SeqCst) == 0 {
            park::park(WaitReason::Park);
        }
        // thread → goroutine
        let me = park::current();
        let f = flag.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            f.store(2, SeqCst);
            me.unpark();
        });
        while flag.load(SeqCst) != 2 {
            park::park(WaitReason::Park);
        }
        t.join().unwrap();
        // unpark before park: the permit makes the park return at once
        park::current().unpark();
        park::park(WaitReason::Park);
        // park_deadline times out
        let t0 = std::time::Instant::now();
        assert!(!park::park_deadline(
            WaitReason::Park,
            t0 + Duration::from_millis(20)
        ));
        assert!(t0.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn after_fn_runs_in_a_goroutine_and_stop_reset_report() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(|| {
        let (tx, rx) = mpsc::channel();
        let t = time::after_fn(Duration::from_millis(10), move || {
            tx.send(current_id()).unwrap()
        });
        let id = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(id.is_some(), "after_fn's f runs in a goroutine");
        assert!(!t.stop(), "already fired");
        assert!(!t.reset(Duration::from_millis(5)), "was not active");
        assert!(
            rx.recv_timeout(Duration::from_secs(10)).unwrap().is_some(),
            "reset after firing runs f again"
        );

        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let t = time::after_fn(Duration::from_millis(50), move || {
            h.fetch_add(1, SeqCst);
        });
        assert!(t.stop());
        sleep(Duration::from_millis(80));
        assert_eq!(hits.load(SeqCst), 0);
    });
}
