//! `Builder::dump_on_sigquit`: SIGQUIT prints every goroutine's stack and the program goes on
//! (tested in a child process, which sends itself the signal). Kills: a missing handler (the
//! child dumps core and dies of SIGQUIT), a dump printed without stacks, or an exit after it.

mod common;

use common::{child_scenario, run_child};
use gmp_core::park::{self, WaitReason};
use gmp_core::{go, sleep, Runtime};
use std::time::Duration;

#[inline(never)]
fn parked_forever_in_sigquit_test() {
    loop {
        park::park(WaitReason::Park);
    }
}

#[test]
fn sigquit_prints_the_dump_and_the_program_goes_on() {
    if child_scenario().is_some() {
        let rt = Runtime::builder()
            .procs(2)
            .dump_on_sigquit(true)
            .deadlock_detection(false)
            .build()
            .unwrap();
        rt.run(|| {
            let _h = go(parked_forever_in_sigquit_test);
            sleep(Duration::from_millis(20));
            // SAFETY: raise(3) sends a signal to this process; our handler only writes a byte.
            unsafe { libc::raise(libc::SIGQUIT) };
            // The dump is printed by another thread: give it time, then go on working.
            sleep(Duration::from_millis(500));
            println!("still running after SIGQUIT");
        });
        std::process::exit(0);
    }
    let out = run_child(
        "sigquit_prints_the_dump_and_the_program_goes_on",
        "sigquit",
        Duration::from_secs(30),
    );
    let status = out.status.expect("the child hung");
    assert!(status.success(), "{status:?}\n{}", out.stderr);
    assert!(
        out.stdout.contains("still running after SIGQUIT"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("SIGQUIT: goroutine dump"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("goroutine 1 ["), "{}", out.stderr);
    assert!(
        out.stderr.contains("parked_forever_in_sigquit_test"),
        "{}",
        out.stderr
    );
}
