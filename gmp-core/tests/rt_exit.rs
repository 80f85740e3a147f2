//! The program ends when main ends (Go): `run` and `Runtime`'s drop return within the exit
//! grace whatever the other goroutines do, abandoning those that do not end with one stderr
//! line each; dropping the last handle of a runtime inside one of its own goroutines works.
//! Each exit scenario runs in a child process (this test binary re-run), so that a hang or an
//! abandoned thread cannot take the test process with it.

mod common;

use common::{child_scenario, run_child, ChildOutput};
use gmp_core::{go, sleep, syscall, Runtime};
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a child may take in all (process start, the scenario, the exit): generous, for a
/// loaded 2-core machine; the bound that matters is [`EXIT_BOUND`].
const CHILD_LIMIT: Duration = Duration::from_secs(20);
/// How soon `run` must return after its main goroutine finished (the 2 s on a loaded
/// machine; the grace itself is 100 ms).
const EXIT_BOUND: Duration = Duration::from_secs(2);

/// Prints how long the end of the runtime took, from `main_done` on, for the parent to check.
fn report_exit(main_done: Instant) {
    println!("EXIT_MS={}", main_done.elapsed().as_millis());
}

/// The child's `EXIT_MS` line, checked against [`EXIT_BOUND`], and its clean exit.
fn assert_prompt_exit(out: &ChildOutput) {
    assert!(
        out.status.is_some_and(|s| s.success()),
        "the child did not exit cleanly within {CHILD_LIMIT:?}: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    let ms = out.number_after("EXIT_MS=");
    assert!(
        Duration::from_millis(ms) < EXIT_BOUND,
        "the runtime took {ms} ms to end\n{}",
        out.stderr
    );
}

/// [`assert_prompt_exit`], and exactly one goroutine abandoned: `line` (main ended normally).
fn assert_exit_abandoning_one(out: &ChildOutput, line: &str) {
    assert_prompt_exit(out);
    assert!(out.stderr.contains(line), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("abandoned at exit").count(),
        1,
        "{}",
        out.stderr
    );
}

/// What `run` does (build, run main, drop), with 2 Ps whatever the machine: on 1 P a goroutine
/// that never yields would keep main from ever running again (no asynchronous preemption).
fn run2<T: Send + 'static>(main: impl FnOnce() -> T + Send + 'static) -> T {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(main)
}

/// A `run` whose main leaves `other` behind, started, and returns.
fn run_leaving(other: impl FnOnce() + Send + 'static) {
    let main_done = run2(|| {
        go(other);
        sleep(Duration::from_millis(20)); // let it start
        Instant::now()
    });
    report_exit(main_done);
}

#[test]
fn the_run_function_returns_while_a_goroutine_spins() {
    if child_scenario().is_some() {
        let main_done = gmp_core::run(|| {
            go(|| loop {
                std::hint::spin_loop();
            });
            sleep(Duration::from_millis(20));
            Instant::now()
        });
        report_exit(main_done);
        return;
    }
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return; // `run` has one P here: see `run2`
    }
    let out = run_child(
        "the_run_function_returns_while_a_goroutine_spins",
        "spin",
        CHILD_LIMIT,
    );
    assert_exit_abandoning_one(&out, "gmp: goroutine 2 [running] abandoned at exit");
}

#[test]
fn run_returns_while_a_goroutine_spins_without_a_gmp_call() {
    if child_scenario().is_some() {
        run_leaving(|| loop {
            std::hint::spin_loop();
        });
        return;
    }
    let out = run_child(
        "run_returns_while_a_goroutine_spins_without_a_gmp_call",
        "spin",
        CHILD_LIMIT,
    );
    assert_exit_abandoning_one(&out, "gmp: goroutine 2 [running] abandoned at exit");
}

#[test]
fn run_returns_while_a_goroutine_blocks_in_syscall() {
    if child_scenario().is_some() {
        // The peer end stays open and silent: the read never returns.
        let (mut a, b) = UnixStream::pair().unwrap();
        run_leaving(move || {
            let _keep = b;
            let mut buf = [0u8; 1];
            let _ = syscall(|| a.read(&mut buf));
        });
        return;
    }
    let out = run_child(
        "run_returns_while_a_goroutine_blocks_in_syscall",
        "syscall",
        CHILD_LIMIT,
    );
    assert_exit_abandoning_one(&out, "gmp: goroutine 2 [syscall] abandoned at exit");
}

#[test]
fn run_returns_while_a_goroutine_does_plain_blocking_io() {
    if child_scenario().is_some() {
        let (mut a, b) = UnixStream::pair().unwrap();
        run_leaving(move || {
            let _keep = b;
            let mut buf = [0u8; 1];
            let _ = a.read(&mut buf); // blocks its M, P and all
        });
        return;
    }
    let out = run_child(
        "run_returns_while_a_goroutine_does_plain_blocking_io",
        "io",
        CHILD_LIMIT,
    );
    assert_exit_abandoning_one(&out, "gmp: goroutine 2 [running] abandoned at exit");
}

#[test]
fn goroutines_that_end_in_the_grace_are_unwound_not_abandoned() {
    if child_scenario().is_some() {
        struct Dropped;
        impl Drop for Dropped {
            fn drop(&mut self) {
                println!("DROPPED");
            }
        }
        run_leaving(|| {
            let _d = Dropped;
            sleep(Duration::from_secs(3600)); // cancelled at this scheduling point
        });
        return;
    }
    let out = run_child(
        "goroutines_that_end_in_the_grace_are_unwound_not_abandoned",
        "parked",
        CHILD_LIMIT,
    );
    assert_prompt_exit(&out);
    assert!(out.stdout.contains("DROPPED"), "{}", out.stdout);
    assert!(!out.stderr.contains("abandoned"), "{}", out.stderr);
}

#[test]
fn runtime_drop_has_the_same_bound_and_exit_grace_sets_it() {
    if let Some(grace_ms) = child_scenario() {
        let grace = Duration::from_millis(grace_ms.parse().unwrap());
        let rt = Runtime::builder()
            .procs(2)
            .exit_grace(grace)
            .build()
            .unwrap();
        rt.go(|| loop {
            std::hint::spin_loop();
        });
        // A second one waits in syscall: both are named, in goroutine order.
        let (mut a, b) = UnixStream::pair().unwrap();
        rt.go(move || {
            let _keep = b;
            let mut buf = [0u8; 1];
            let _ = syscall(|| a.read(&mut buf));
        });
        std::thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        drop(rt);
        report_exit(t);
        println!("DROP_MS={}", t.elapsed().as_millis());
        return;
    }
    for grace_ms in [100u64, 600] {
        let out = run_child(
            "runtime_drop_has_the_same_bound_and_exit_grace_sets_it",
            &grace_ms.to_string(),
            CHILD_LIMIT,
        );
        assert_prompt_exit(&out);
        let want = "gmp: goroutine 1 [running] abandoned at exit\n\
                    gmp: goroutine 2 [syscall] abandoned at exit\n";
        assert!(out.stderr.contains(want), "{}", out.stderr);
        // The grace is waited in full before anything is abandoned.
        let ms = out.number_after("DROP_MS=");
        assert!(ms >= grace_ms, "dropped after {ms} ms, grace {grace_ms} ms");
    }
}

#[test]
fn dropping_the_last_runtime_handle_inside_its_goroutine_works() {
    let rt = Arc::new(Runtime::builder().procs(2).build().unwrap());
    let (tx, rx) = mpsc::channel::<&'static str>();
    let mine = rt.clone();
    let h = rt.go(move || {
        struct Unwound(mpsc::Sender<&'static str>);
        impl Drop for Unwound {
            fn drop(&mut self) {
                let _ = self.0.send("unwound");
            }
        }
        let _u = Unwound(tx.clone());
        // Wait until ours is the last handle, then drop it here.
        while Arc::strong_count(&mine) > 1 {
            sleep(Duration::from_millis(1));
        }
        drop(mine);
        tx.send("dropped").unwrap();
        sleep(Duration::from_secs(3600)); // cancelled here
        tx.send("not cancelled").unwrap();
    });
    drop(rt);
    assert_eq!(rx.recv_timeout(EXIT_BOUND * 5), Ok("dropped"));
    assert_eq!(rx.recv_timeout(EXIT_BOUND * 5), Ok("unwound"));
    let t = Instant::now();
    // The goroutine's handle reports the cancellation; joining it from this thread works.
    assert!(matches!(h.join(), Err(gmp_core::JoinError::Cancelled)));
    assert!(t.elapsed() < EXIT_BOUND);
}
