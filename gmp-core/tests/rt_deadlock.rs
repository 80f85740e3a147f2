//! The deadlock detector (Go: `checkdead`) and the goroutine dump (Go: `tracebackothers`).

use gmp_core::park::{self, WaitReason};
use gmp_core::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

mod common;
use common::panic_message;

#[test]
fn main_parked_forever_is_a_deadlock() {
    let r = catch_unwind(|| run(|| park::park(WaitReason::ChanReceive)));
    let msg = panic_message(r);
    assert!(
        msg.starts_with("all goroutines are asleep - deadlock!"),
        "{msg}"
    );
    assert!(msg.contains("goroutine 1 [chan receive]:"), "{msg}");
}

#[test]
fn deadlock_dump_lists_every_goroutine_with_its_reason() {
    let r = catch_unwind(|| {
        run(|| {
            go(|| park::park(WaitReason::ChanSend));
            go(|| park::park(WaitReason::SyncMutexLock));
            go(|| park::park(WaitReason::Other("my reason")));
            park::park(WaitReason::Select);
        })
    });
    let msg = panic_message(r);
    assert!(msg.contains("goroutine 1 [select]:"), "{msg}");
    assert!(msg.contains("[chan send]:"), "{msg}");
    assert!(msg.contains("[sync.Mutex.Lock]:"), "{msg}");
    assert!(msg.contains("[my reason]:"), "{msg}");
    assert!(
        msg.contains("created by gmp-core/tests/rt_deadlock.rs:"),
        "{msg}"
    );
    assert!(msg.contains("in goroutine 1"), "{msg}");
}

#[test]
fn never_fires_while_a_timer_is_pending() {
    // main sleeps; a goroutine wakes it from a timer later: no deadlock in between.
    let t0 = Instant::now();
    run(|| {
        let me = park::current();
        time::after_fn(Duration::from_millis(150), move || me.unpark());
        park::park(WaitReason::Park);
    });
    assert!(t0.elapsed() >= Duration::from_millis(150));
    // Every goroutine sleeping: still no deadlock.
    run(|| {
        let hs: Vec<_> = (0..20)
            .map(|i| go(move || sleep(Duration::from_millis(10 + i * 3))))
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

#[test]
fn a_stale_timer_delays_but_does_not_hide_a_deadlock() {
    let r = catch_unwind(|| {
        run(|| {
            let t = time::after_fn(Duration::from_millis(50), || {});
            t.stop(); // leaves a zombie heap entry
            park::park(WaitReason::Park);
        })
    });
    assert!(panic_message(r).starts_with("all goroutines are asleep - deadlock!"));
}

#[test]
fn detection_can_be_turned_off() {
    let rt = Runtime::builder()
        .deadlock_detection(false)
        .build()
        .unwrap();
    let me = std::sync::Arc::new(parking_lot::Mutex::new(None));
    let m2 = me.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        loop {
            if let Some(u) = m2.lock().take() {
                park::Unparker::unpark(&u);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    rt.run(move || {
        *me.lock() = Some(park::current());
        park::park(WaitReason::Park);
    });
    h.join().unwrap();
}

#[test]
fn goexit_in_main_reports_no_goroutines() {
    let r = catch_unwind(|| {
        run(|| {
            go(|| sleep(Duration::from_millis(20)));
            goexit();
        })
    });
    let msg = panic_message(r);
    assert_eq!(
        msg,
        "no goroutines (main called runtime.Goexit) - deadlock!"
    );
}

#[test]
fn goexit_in_main_with_parked_goroutines_is_a_deadlock() {
    let r = catch_unwind(|| {
        run(|| {
            go(|| park::park(WaitReason::ChanReceive));
            goexit();
        })
    });
    let msg = panic_message(r);
    assert!(
        msg.starts_with("all goroutines are asleep - deadlock!"),
        "{msg}"
    );
}

#[test]
fn dump_shows_states_and_spawn_sites() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(|| {
        let h = go(|| park::park(WaitReason::SyncWaitGroupWait));
        while !dump().contains("[sync.WaitGroup.Wait]") {
            gosched();
        }
        let d = dump();
        assert!(d.contains("goroutine 1 [running]:"), "{d}");
        assert!(
            d.contains(&format!("goroutine {} [sync.WaitGroup.Wait]:", h.id())),
            "{d}"
        );
        assert!(
            d.contains("created by gmp-core/tests/rt_deadlock.rs:"),
            "{d}"
        );
        drop(h);
    });
    let _ = AssertUnwindSafe(());
}
