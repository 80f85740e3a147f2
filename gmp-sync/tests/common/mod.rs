//! Test helpers shared by the test files: Go's `go` statement and a small channel, both
//! working on plain threads and inside goroutines.
#![allow(dead_code, unreachable_pub)]

use gmp_sync::{Cond, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;

/// A spawned task (a thread here).
pub struct Task(std::thread::JoinHandle<()>);

impl Task {
    pub fn join(self) {
        if let Err(e) = self.0.join() {
            std::panic::resume_unwind(e);
        }
    }
}

/// Go's `go f()`: a new thread.
pub fn go(f: impl FnOnce() + Send + 'static) -> Task {
    Task(std::thread::spawn(f))
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

/// Go's `time.Sleep`.
pub fn sleep(d: std::time::Duration) {
    std::thread::sleep(d);
}

/// Go's `runtime.Gosched`.
pub fn gosched() {
    std::thread::yield_now();
}
