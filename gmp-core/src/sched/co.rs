//! The coroutine a goroutine runs on: a corosensei coroutine on a pooled stack, reused by one
//! goroutine after another (its body is a loop: run the current G's task, report `Finished`).
//!
//! The two directions of a switch are typed: the M resumes with [`Resume`], the goroutine
//! suspends with [`Suspend`], one variant per thing the M must do next (Go's `mcall`
//! targets: `park_m`, `gosched_m`, `goexit0`, `exitsyscall0`). A coroutine is owned by one
//! G while its goroutine lives, then by a P's cache (`newproc.rs`), then by the next G.

use crate::stack::Stack;
use corosensei::{Coroutine, CoroutineResult};

/// What the M passes in when it resumes a coroutine.
#[derive(Debug)]
pub(crate) enum Resume {
    /// Run (or continue) the current goroutine.
    Run,
    /// The coroutine is being retired: return from the body so the stack can be reused.
    Exit,
}

/// What a goroutine hands its M when it suspends (Go: the `mcall` targets).
#[derive(Debug)]
pub(crate) enum Suspend {
    /// `gopark`: commit the park (WAITING) on the M's stack, unless a permit raced in.
    Park,
    /// `gosched`/`goyield`: stay runnable.
    Yield,
    /// The task returned (or unwound): the goroutine is dead (Go: `goexit0`).
    Finished,
    /// The goroutine left `syscall(f)` and found no P: queue it, stop the M (Go:
    /// `exitsyscall0`).
    ExitSyscall,
}

pub(crate) type Yielder = corosensei::Yielder<Resume, Suspend>;
type Coro = Coroutine<Resume, Suspend, (), Stack>;

/// A reusable goroutine coroutine.
pub(crate) struct Co {
    coro: Option<Coro>,
    /// The overflow handler's record of the stack (its goid is filled in per run).
    bounds: crate::stack::RunningStack,
}

// SAFETY: a `Co` moves between Ms only while suspended, at one of gmp's scheduling points.
// Everything alive on its stack at that moment was created by a goroutine closure that is
// `Send + 'static` (enforced by `go`), and the crate docs state the rule this relies on: no
// `!Send` value (an `Rc`, a std lock guard, a thread-local borrow) may be held across a
// blocking gmp call (research/rust-peers.md §2.4). The scheduler's own frames on the stack
// hold only `Send` data.
unsafe impl Send for Co {}

impl std::fmt::Debug for Co {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Co")
    }
}

impl Co {
    /// A coroutine on `stack` that runs goroutine tasks for the scheduler.
    pub(crate) fn new(stack: Stack) -> Co {
        let bounds = stack.running(0);
        let coro = Coroutine::with_stack(stack, |y: &Yielder, mut input: Resume| loop {
            match input {
                Resume::Exit => return,
                Resume::Run => super::schedule::run_current_task(y),
            }
            input = y.suspend(Suspend::Finished);
        });
        Co {
            coro: Some(coro),
            bounds,
        }
    }

    pub(crate) fn resume(&mut self, r: Resume) -> CoroutineResult<Suspend, ()> {
        self.coro.as_mut().expect("live coroutine").resume(r)
    }

    /// The overflow handler's record for goroutine `goid` running on this coroutine.
    pub(crate) fn running_record(&self, goid: u64) -> crate::stack::RunningStack {
        crate::stack::RunningStack {
            goid,
            ..self.bounds
        }
    }

    /// Retires the coroutine and returns its stack to be pooled.
    pub(crate) fn into_stack(mut self) -> Stack {
        let mut coro = self.coro.take().expect("live coroutine");
        if coro.started() && !coro.done() {
            let r = coro.resume(Resume::Exit);
            debug_assert!(matches!(r, CoroutineResult::Return(())));
        }
        coro.into_stack()
    }
}

impl Drop for Co {
    fn drop(&mut self) {
        if let Some(mut coro) = self.coro.take() {
            if coro.started() && !coro.done() {
                // The body sits at `suspend(Finished)`: let it return instead of force-unwinding.
                let _ = coro.resume(Resume::Exit);
            }
        }
    }
}
