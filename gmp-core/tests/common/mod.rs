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

/// The environment variable that tells a re-run test binary which scenario to play.
const CHILD_ENV: &str = "GMP_TEST_CHILD";

/// The scenario this process was started for by [`run_child`], if it is such a child.
pub fn child_scenario() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// What a child process did.
#[derive(Debug)]
pub struct ChildOutput {
    /// `None` when it was killed for running past the limit.
    pub status: Option<std::process::ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    /// From its start to its exit (or to the kill).
    pub elapsed: std::time::Duration,
}

impl ChildOutput {
    /// The number printed after `key` in the child's stdout (the test harness may have
    /// printed on the same line).
    pub fn number_after(&self, key: &str) -> u64 {
        let at = self
            .stdout
            .find(key)
            .unwrap_or_else(|| panic!("no {key} in:\n{}", self.stdout));
        let digits: String = self.stdout[at + key.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    }
}

/// Re-runs the test `test` of this test binary in a child process, with [`child_scenario`]
/// returning `scenario` there; kills it if it runs longer than `limit`. Exit, crash and
/// signal behaviour is tested this way, since it would end or hang the test process.
pub fn run_child(test: &str, scenario: &str, limit: std::time::Duration) -> ChildOutput {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::Instant;
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the child process");
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().expect("waiting for the child") {
            break Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    ChildOutput {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed,
    }
}
