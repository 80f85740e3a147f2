//! Panics the runtime must survive or report: a panic in a drop the runtime runs for a
//! goroutine (its result, its panic payload, the captures of one cancelled before it ran) is
//! contained, so no M and no P dies of user code; a panic nobody joins is unhandled, which
//! `run` turns into Go's crash and a deadlock report names. Scenarios whose failure would be a
//! hang run in a child process.

mod common;

use common::{child_scenario, run_child, ChildOutput};
use gmp_core::park::{self, WaitReason};
use gmp_core::{go, run, sleep, Runtime, UnhandledPanic};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD_LIMIT: Duration = Duration::from_secs(20);
/// How soon `run` must end after the news (the 2 s on a loaded machine).
const BOUND: Duration = Duration::from_secs(2);

/// A value whose drop panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("bomb went off");
    }
}

/// The child printed `SURVIVED`, exited cleanly, and nothing was abandoned.
fn assert_survived(out: &ChildOutput) {
    assert!(
        out.status.is_some_and(|s| s.success()) && out.stdout.contains("SURVIVED"),
        "the child did not survive within {CHILD_LIMIT:?}: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    assert!(!out.stderr.contains("abandoned"), "{}", out.stderr);
    assert!(out.stderr.contains("bomb went off"), "{}", out.stderr);
}

/// With 1 P, after `bomb` ran on it, the runtime still runs goroutines, and drops cleanly.
fn survives_on_one_p(bomb: impl FnOnce(&Runtime)) {
    let rt = Runtime::builder().procs(1).build().unwrap();
    bomb(&rt);
    let t = Instant::now();
    assert_eq!(rt.run(|| go(|| 40).join().unwrap() + 2), 42);
    drop(rt);
    assert!(t.elapsed() < BOUND, "took {:?}", t.elapsed());
    println!("SURVIVED");
}

#[test]
fn a_panicking_drop_of_a_detached_goroutines_result_is_contained() {
    if child_scenario().is_some() {
        survives_on_one_p(|rt| drop(rt.go(|| Bomb)));
        return;
    }
    let out = run_child(
        "a_panicking_drop_of_a_detached_goroutines_result_is_contained",
        "result",
        CHILD_LIMIT,
    );
    assert_survived(&out);
}

#[test]
fn a_panicking_drop_of_a_detached_goroutines_panic_payload_is_contained() {
    if child_scenario().is_some() {
        survives_on_one_p(|rt| drop(rt.go(|| std::panic::panic_any(Bomb))));
        return;
    }
    let out = run_child(
        "a_panicking_drop_of_a_detached_goroutines_panic_payload_is_contained",
        "payload",
        CHILD_LIMIT,
    );
    assert_survived(&out);
}

#[test]
fn a_panicking_capture_of_a_goroutine_cancelled_before_it_ran_is_contained() {
    if child_scenario().is_some() {
        let rt = Runtime::builder().procs(1).build().unwrap();
        // Goroutine 1 holds the only P until `stop`; goroutine 2 waits behind it, and is
        // cancelled by the drop below before it ever runs: its captured Bomb drops then.
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        rt.go(move || {
            while !s.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
        });
        let bomb = Bomb;
        rt.go(move || {
            let _b = &bomb;
            println!("RAN"); // never
        });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            stop.store(true, Ordering::SeqCst);
        });
        drop(rt);
        println!("SURVIVED");
        return;
    }
    let out = run_child(
        "a_panicking_capture_of_a_goroutine_cancelled_before_it_ran_is_contained",
        "capture",
        CHILD_LIMIT,
    );
    assert_survived(&out);
    assert!(!out.stdout.contains("RAN"), "{}", out.stdout);
}

#[test]
fn the_run_function_crashes_on_a_detached_goroutines_panic() {
    let t = Instant::now();
    let r = catch_unwind(|| {
        run(|| {
            drop(go(|| panic!("boom")));
            sleep(Duration::from_secs(3600));
        })
    });
    assert_eq!(common::panic_message(r), "goroutine 2 panicked: boom");
    assert!(t.elapsed() < BOUND, "took {:?}", t.elapsed());
}

#[test]
fn a_handle_dropped_later_without_join_makes_the_panic_unhandled() {
    let r = catch_unwind(|| {
        run(|| {
            let h = go(|| panic!("late"));
            while !h.is_finished() {
                sleep(Duration::from_millis(1));
            }
            drop(h);
            sleep(Duration::from_secs(3600));
        })
    });
    assert_eq!(common::panic_message(r), "goroutine 2 panicked: late");
}

#[test]
fn a_joined_panic_is_handled() {
    let v = run(|| {
        let h = go(|| -> u32 { panic!("handled") });
        assert_eq!(h.join().unwrap_err().panic_message(), Some("handled"));
        7
    });
    assert_eq!(v, 7);
}

#[test]
fn a_panicking_drop_counts_as_unhandled_under_shutdown_runtime() {
    let r = catch_unwind(|| {
        run(|| {
            drop(go(|| Bomb));
            sleep(Duration::from_secs(3600));
        })
    });
    assert_eq!(
        common::panic_message(r),
        "goroutine 2 panicked: bomb went off"
    );
}

#[test]
fn runtime_builder_ignores_unhandled_panics_by_default() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let v = rt.run(|| {
        drop(go(|| panic!("ignored")));
        sleep(Duration::from_millis(20));
        7
    });
    assert_eq!(v, 7);
    // And the runtime goes on.
    assert_eq!(rt.run(|| 8), 8);
}

#[test]
fn shutdown_runtime_cancels_everything_even_without_a_run() {
    let rt = Runtime::builder()
        .procs(2)
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    let parked = rt.go(|| sleep(Duration::from_secs(3600)));
    drop(rt.go(|| panic!("fatal")));
    let t = Instant::now();
    assert!(matches!(parked.join(), Err(gmp_core::JoinError::Cancelled)));
    assert!(t.elapsed() < BOUND);
    let r = catch_unwind(AssertUnwindSafe(|| rt.run(|| 1)));
    assert_eq!(common::panic_message(r), "goroutine 2 panicked: fatal");
}

#[test]
fn the_deadlock_report_names_goroutines_that_panicked_earlier() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| {
        rt.run(|| {
            // Go's usual cause: a worker that panics never calls done().
            drop(go(|| panic!("lost done")));
            loop {
                park::park(WaitReason::SyncWaitGroupWait);
            }
        })
    }));
    let msg = common::panic_message(r);
    assert!(
        msg.starts_with(
            "all goroutines are asleep - deadlock!\n\ngoroutine 2 panicked earlier: lost done\n\n"
        ),
        "{msg}"
    );
    assert!(msg.contains("goroutine 1 [sync.WaitGroup.Wait]:"), "{msg}");
}
