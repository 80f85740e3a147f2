//! `gmp_core::leaked()` and the leak report at exit, with a primitive of the test's own built on
//! `park::waiting_on` and `WaitsOn::handle` (the way gmp-chan and gmp-sync register), and with
//! joins. The report at `run`'s exit is checked in a child process (stderr).

mod common;

use common::{child_scenario, run_child};
use gmp_core::__private::settle;
use gmp_core::park::{self, WaitReason, WaitsOn};
use gmp_core::{go, leaked, sleep, Runtime};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A one-shot event with handles: any clone can `set` it, `wait` parks until it is set.
#[derive(Clone)]
struct Event(Arc<EventInner>);

#[derive(Default)]
struct EventInner {
    set: AtomicBool,
    waiters: Mutex<Vec<park::Unparker>>,
}

impl Event {
    fn new() -> Event {
        Event(Arc::default())
    }

    fn set(&self) {
        self.0.set.store(true, SeqCst);
        for u in self.0.waiters.lock().unwrap().drain(..) {
            u.unpark();
        }
    }

    #[inline(never)]
    fn wait_for_event(&self) {
        let on = [WaitsOn::handle(&self.0, self)];
        park::waiting_on(&on, || {
            self.0.waiters.lock().unwrap().push(park::current());
            while !self.0.set.load(SeqCst) {
                park::park(WaitReason::Other("event"));
            }
        });
    }
}

/// A runtime with `procs` Ps and no report at its drop.
fn rt(procs: usize) -> Runtime {
    Runtime::builder()
        .procs(procs)
        .leak_report(false)
        .build()
        .unwrap()
}

fn everywhere(test: fn()) {
    for procs in [1, 2] {
        rt(procs).run(test);
    }
}

#[test]
fn a_primitive_of_ones_own_registers_what_it_waits_on() {
    everywhere(|| {
        let e = Event::new();
        let e2 = e.clone();
        let h = go(move || e2.wait_for_event());
        settle(1, 2);
        assert_eq!(leaked(), "");
        drop(e);
        let report = leaked();
        assert!(
            report.contains(&format!("goroutine {} [event (leaked)]:", h.id())),
            "{report}"
        );
        assert!(report.contains("wait_for_event"), "{report}");
    });
}

#[test]
fn a_set_event_wakes_a_goroutine_that_was_never_reported() {
    everywhere(|| {
        let e = Event::new();
        let e2 = e.clone();
        let h = go(move || e2.wait_for_event());
        settle(1, 2);
        for _ in 0..10 {
            assert_eq!(leaked(), "");
        }
        e.set();
        h.join().unwrap();
    });
}

#[test]
fn joins_of_leaked_goroutines_are_leaked_and_others_are_not() {
    everywhere(|| {
        let e = Event::new();
        let e2 = e.clone();
        let stuck = go(move || e2.wait_for_event());
        let stuck_id = stuck.id();
        let joiner = go(move || stuck.join().is_ok());
        let free = go(|| sleep(Duration::from_millis(50)));
        let free_joiner = go(move || free.join().is_ok());
        settle(3, 5);
        assert_eq!(leaked(), "");
        drop(e);
        let report = leaked();
        assert!(
            report.contains(&format!("goroutine {stuck_id} [event (leaked)]")),
            "{report}"
        );
        assert!(
            report.contains(&format!("goroutine {} [join (leaked)]", joiner.id())),
            "{report}"
        );
        assert!(
            !report.contains(&format!("goroutine {} ", free_joiner.id())),
            "{report}"
        );
        assert!(free_joiner.join().unwrap());
    });
}

#[test]
fn an_empty_registration_is_leaked_at_once() {
    everywhere(|| {
        let h = go(|| {
            park::waiting_on(&[], || loop {
                park::park(WaitReason::Park);
            })
        });
        settle(1, 2);
        let report = leaked();
        assert!(
            report.contains(&format!("goroutine {} [park (leaked)]", h.id())),
            "{report}"
        );
    });
}

#[test]
fn a_plain_thread_has_no_leaks_to_report() {
    // Outside any runtime, with the default one never built: empty, and nothing is started.
    if gmp_core::current_id().is_none() {
        assert_eq!(leaked(), "");
    }
}

#[test]
fn run_prints_the_leak_report_at_exit() {
    if let Some(s) = child_scenario() {
        let leak = || {
            let e = Event::new();
            let e2 = e.clone();
            let _h = go(move || e2.wait_for_event());
            settle(1, 2);
            drop(e);
            println!("main returns");
        };
        match s.as_str() {
            "on" => gmp_core::run(leak),
            "off" => Runtime::builder()
                .leak_report(false)
                .build()
                .unwrap()
                .run(leak),
            "many" => gmp_core::run(|| {
                let e = Event::new();
                for _ in 0..25 {
                    let e2 = e.clone();
                    go(move || e2.wait_for_event());
                }
                settle(25, 26);
                drop(e);
                if let Ok(n) = std::env::var("GMP_TEST_LEAKS") {
                    // A timing run (by hand): `n` more, and how long the exit takes.
                    let n: usize = n.parse().unwrap();
                    let e = Event::new();
                    for _ in 0..n {
                        let e2 = e.clone();
                        go(move || e2.wait_for_event());
                    }
                    settle(25 + n, 26 + n);
                    drop(e);
                }
            }),
            "none" => gmp_core::run(|| {
                let e = Event::new();
                let e2 = e.clone();
                let h = go(move || e2.wait_for_event());
                settle(1, 2);
                e.set();
                h.join().unwrap();
            }),
            other => panic!("unknown scenario {other}"),
        }
        std::process::exit(0);
    }
    let test = "run_prints_the_leak_report_at_exit";
    let on = run_child(test, "on", Duration::from_secs(30));
    assert!(on.status.expect("hung").success(), "{}", on.stderr);
    assert!(on.stdout.contains("main returns"), "{}", on.stdout);
    assert!(
        on.stderr
            .contains("gmp: 1 goroutine leaked (parked where nothing can ever wake them):"),
        "{}",
        on.stderr
    );
    assert!(on.stderr.contains("[event (leaked)]:"), "{}", on.stderr);
    assert!(on.stderr.contains("wait_for_event"), "{}", on.stderr);
    let many = run_child(test, "many", Duration::from_secs(30));
    assert!(many.status.expect("hung").success(), "{}", many.stderr);
    assert!(
        many.stderr.contains("gmp: 25 goroutines leaked"),
        "{}",
        many.stderr
    );
    assert_eq!(many.stderr.matches("[event (leaked)]:").count(), 20);
    assert!(
        many.stderr
            .contains("... and 5 more (gmp_core::leaked() lists every one)"),
        "{}",
        many.stderr
    );
    for quiet in ["off", "none"] {
        let out = run_child(test, quiet, Duration::from_secs(30));
        assert!(out.status.expect("hung").success(), "{}", out.stderr);
        assert!(!out.stderr.contains("leaked"), "{quiet}: {}", out.stderr);
    }
}
