//! Test helpers shared by gmp-sync's test files.
//!
//! For any test: [`runtime_without_detector`] (goroutines that plain threads wake),
//! [`wait_until`] (poll for a condition) and [`panic_message`].
//!
//! For loom models (compiled only under `--cfg loom`): [`incr`] and [`value`] of a counter
//! whose loom cell makes loom flag a data race if the Mutex around it does not exclude.
//!
//! The harness of the ports of Go's sync tests (`golang_sync_*.rs`), which run each test
//! twice: on plain threads ([`on_threads`]) and as the main goroutine of a runtime with 2 Ps
//! ([`in_goroutines`]). Their Go statements work in both: [`go`] starts a goroutine when
//! called from one and a thread otherwise; [`Task::join`], [`Chan`], [`sleep`] and
//! [`gosched`] park a goroutine and block a thread.
#![allow(dead_code, unreachable_pub)]

use gmp_core::{JoinError, Runtime};
use gmp_sync::{Cond, Mutex};
use std::collections::VecDeque;
use std::panic::resume_unwind;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A runtime with `procs` Ps and no deadlock detector, for tests in which plain threads wake
/// its goroutines (the detector cannot see them).
pub fn runtime_without_detector(procs: usize) -> Runtime {
    Runtime::builder()
        .procs(procs)
        .deadlock_detection(false)
        // Dropping it waits for every cancelled goroutine to unwind (the tests check what
        // their unwinding leaves behind), not just the default 100 ms.
        .exit_grace(Duration::from_secs(60))
        .build()
        .expect("runtime")
}

/// Polls `cond` until it holds, 200 µs apart (parking a goroutine, sleeping a thread); fails
/// the test, naming `what`, after a generous 20 s (the conditions are expected within ms).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        gmp_core::sleep(Duration::from_micros(200));
    }
}

/// The message of the panic `r` caught (`catch_unwind`): its `&str` or `String` payload, or
/// "" for another payload. Fails the test if nothing panicked.
pub fn panic_message<T>(r: std::thread::Result<T>) -> String {
    let Err(e) = r else {
        panic!("expected a panic");
    };
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Adds one to the counter under its lock (loom models).
#[cfg(loom)]
pub fn incr(m: &Mutex<loom::cell::UnsafeCell<usize>>) {
    let g = m.lock();
    // SAFETY: the guard gives exclusive access; loom flags a race if it does not.
    g.with_mut(|p| unsafe { *p += 1 });
}

/// The counter's value, read under its lock (loom models).
#[cfg(loom)]
pub fn value(m: &Mutex<loom::cell::UnsafeCell<usize>>) -> usize {
    let g = m.lock();
    // SAFETY: locked.
    g.with(|p| unsafe { *p })
}

/// Runs `test` on this plain thread, then as the main goroutine of runtimes with 1 and 2 Ps
/// (deadlock detection on): the tests of the context-aware waits and errgroup.
pub fn everywhere(test: fn()) {
    test();
    for procs in [1, 2] {
        Runtime::builder()
            .procs(procs)
            .build()
            .expect("runtime")
            .run(test);
    }
}

/// Runs a port's test body on this plain thread: its `go` statements start threads.
pub fn on_threads(test: fn()) {
    assert!(gmp_core::current_id().is_none(), "not on a plain thread");
    test();
}

/// Runs a port's test body as the main goroutine of a runtime with 2 Ps (deadlock detection
/// on: a lost wake-up fails the test instead of hanging it): its `go` statements start
/// goroutines.
pub fn in_goroutines(test: fn()) {
    let rt = Runtime::builder().procs(2).build().expect("runtime");
    rt.run(move || {
        assert!(gmp_core::current_id().is_some(), "not in a goroutine");
        test();
    });
}

/// A task started by [`go`]: a goroutine or a thread.
pub enum Task {
    Goroutine(gmp_core::JoinHandle<()>),
    Thread(std::thread::JoinHandle<()>),
}

impl Task {
    /// Waits for the task (parks a goroutine, blocks a thread); a panic in the task is
    /// resumed here.
    pub fn join(self) {
        match self {
            Task::Goroutine(h) => match h.join() {
                Ok(()) => {}
                Err(JoinError::Panicked(p)) => resume_unwind(p),
                Err(e) => panic!("the goroutine did not finish: {e}"),
            },
            Task::Thread(h) => h.join().unwrap_or_else(|p| resume_unwind(p)),
        }
    }
}

/// Go's `go f()`: a goroutine when called from one (the `_goroutines` variant of a port),
/// else a new thread (the `_threads` variant). `f` checks that it runs as the same kind.
pub fn go(f: impl FnOnce() + Send + 'static) -> Task {
    let from_goroutine = gmp_core::current_id().is_some();
    let f = move || {
        assert_eq!(
            gmp_core::current_id().is_some(),
            from_goroutine,
            "go() started a thread from a goroutine, or a goroutine from a thread"
        );
        f();
    };
    if from_goroutine {
        Task::Goroutine(gmp_core::go(f))
    } else {
        Task::Thread(std::thread::spawn(f))
    }
}

/// A Go channel with an unbounded buffer, built on this crate's Mutex and Cond (so it parks
/// goroutines as well as threads). Enough for the ports of Go's sync tests, which use
/// channels only to hand out events.
pub struct Chan<T>(Arc<(Mutex<VecDeque<T>>, Cond)>);

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan(self.0.clone())
    }
}

impl<T> Chan<T> {
    pub fn new() -> Self {
        Chan(Arc::new((Mutex::new(VecDeque::new()), Cond::new())))
    }

    pub fn send(&self, v: T) {
        self.0 .0.lock().push_back(v);
        self.0 .1.signal();
    }

    pub fn recv(&self) -> T {
        let mut q = self.0 .0.lock();
        loop {
            if let Some(v) = q.pop_front() {
                return v;
            }
            q = self.0 .1.wait(q);
        }
    }

    pub fn try_recv(&self) -> Option<T> {
        self.0 .0.lock().pop_front()
    }
}

/// Go's `time.Sleep`: parks a goroutine on a timer, sleeps a plain thread.
pub fn sleep(d: Duration) {
    gmp_core::sleep(d);
}

/// Go's `runtime.Gosched`: a goroutine yields its P, a plain thread yields its CPU.
pub fn gosched() {
    gmp_core::gosched();
}
