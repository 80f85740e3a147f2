//! Test helpers shared by gmp-core's test files: running a test on a plain thread and in
//! goroutines, spawning where the caller runs, and reading a panic's message.
#![allow(dead_code, unreachable_pub)]

use gmp_core::{JoinError, Runtime};
use std::panic::resume_unwind;

/// Runs `test` on this thread, then as the main goroutine of runtimes with 1 and 2 Ps.
pub fn everywhere(test: fn()) {
    test();
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        rt.run(test);
    }
}

/// A task started by [`spawn`]: a goroutine or a thread.
pub enum Task<T> {
    Goroutine(gmp_core::JoinHandle<T>),
    Thread(std::thread::JoinHandle<T>),
}

/// Starts `f` in a goroutine when called from one, else on a new thread.
pub fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Task<T> {
    if gmp_core::current_id().is_some() {
        Task::Goroutine(gmp_core::go(f))
    } else {
        Task::Thread(std::thread::spawn(f))
    }
}

impl<T> Task<T> {
    /// Waits for the task (parks a goroutine, blocks a thread) and returns its value; a
    /// panic in the task is resumed here.
    pub fn join(self) -> T {
        match self {
            Task::Goroutine(h) => match h.join() {
                Ok(v) => v,
                Err(JoinError::Panicked(p)) => resume_unwind(p),
                Err(e) => panic!("the goroutine did not finish: {e}"),
            },
            Task::Thread(h) => h.join().unwrap_or_else(|p| resume_unwind(p)),
        }
    }
}

/// The message of the panic `r` caught (`catch_unwind`): its `String` or `&str` payload, or
/// "" for another payload. Fails the test if nothing panicked.
pub fn panic_message<T>(r: std::thread::Result<T>) -> String {
    let Err(e) = r else {
        panic!("expected a panic");
    };
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
