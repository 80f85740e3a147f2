//! sysmon names a goroutine that holds its P without a scheduling point while others wait
//! (`Builder::hog_warning`): gmp's preemption is cooperative, and a stalled P should not be a
//! silent mystery. Each scenario runs in a child process, whose stderr the parent reads.

mod common;

use common::{child_scenario, run_child};
use gmp_core::{go, sleep, Runtime};
use std::time::{Duration, Instant};

const CHILD_LIMIT: Duration = Duration::from_secs(20);

/// Spins for `d` without a gmp call.
fn hog(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// One P: main sleeps 5 ms while goroutine 2 hogs the P for 400 ms, so main's timer is due
/// and waits behind it (the "main slept 10 ms, woke after 300 ms").
fn hog_behind_a_sleeper(warning: Option<Duration>) {
    let rt = Runtime::builder()
        .procs(1)
        .hog_warning(warning)
        .build()
        .unwrap();
    rt.run(|| {
        let line = line!() + 1;
        let h = go(|| hog(Duration::from_millis(400)));
        println!("SPAWN_LINE={line}");
        sleep(Duration::from_millis(5));
        h.join().unwrap();
    });
}

#[test]
fn a_goroutine_that_holds_its_p_while_others_wait_is_named() {
    if child_scenario().is_some() {
        hog_behind_a_sleeper(Some(Duration::from_millis(50)));
        return;
    }
    let out = run_child(
        "a_goroutine_that_holds_its_p_while_others_wait_is_named",
        "on",
        CHILD_LIMIT,
    );
    assert!(out.status.is_some_and(|s| s.success()), "{out:?}");
    let line = out.number_after("SPAWN_LINE=");
    let want = format!(
        "gmp: goroutine 2 has run 50 ms without a scheduling point (spawned at {}:{line}:",
        file!()
    );
    assert!(
        out.stderr.contains(&want),
        "{want:?} not in:\n{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("); other goroutines on its P are waiting\n"),
        "{}",
        out.stderr
    );
    // Once per time slice, not once per sysmon round.
    assert_eq!(
        out.stderr.matches("without a scheduling point").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn hog_warning_none_turns_it_off() {
    if child_scenario().is_some() {
        hog_behind_a_sleeper(None);
        return;
    }
    let out = run_child("hog_warning_none_turns_it_off", "off", CHILD_LIMIT);
    assert!(out.status.is_some_and(|s| s.success()), "{out:?}");
    assert!(!out.stderr.contains("scheduling point"), "{}", out.stderr);
}

#[test]
fn a_goroutine_alone_on_its_p_is_not_named() {
    if child_scenario().is_some() {
        // Two Ps: main waits on the other one, nothing waits for the hog's P.
        let rt = Runtime::builder()
            .procs(2)
            .hog_warning(Some(Duration::from_millis(20)))
            .build()
            .unwrap();
        rt.run(|| {
            let h = go(|| hog(Duration::from_millis(200)));
            h.join().unwrap();
        });
        return;
    }
    let out = run_child(
        "a_goroutine_alone_on_its_p_is_not_named",
        "alone",
        CHILD_LIMIT,
    );
    assert!(out.status.is_some_and(|s| s.success()), "{out:?}");
    assert!(!out.stderr.contains("scheduling point"), "{}", out.stderr);
}
