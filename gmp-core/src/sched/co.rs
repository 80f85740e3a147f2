//! The coroutine a goroutine runs on: a corosensei coroutine on a pooled stack, reused by one
//! goroutine after another (its body is a loop: run the current G's task, report `Finished`).
//!
//! The two directions of a switch are typed: the M resumes with [`Resume`], the goroutine
//! suspends with [`Suspend`], one variant per thing the M must do next (Go's `mcall`
//! targets: `park_m`, `gosched_m`, `goexit0`, `exitsyscall0`). A coroutine is owned by one
//! G while its goroutine lives, then by a P's cache (`newproc.rs`), then by the next G.

use crate::loom::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::stack::Stack;
use corosensei::{Coroutine, CoroutineResult};
use std::sync::OnceLock;

/// What the M passes in when it resumes a coroutine.
#[derive(Debug)]
pub(crate) enum Resume {
    /// Run (or continue) the current goroutine.
    Run,
    /// The coroutine is being retired: return from the body so the stack can be reused.
    Exit,
    /// A parked goroutine is asked for its stack by `dump` (which holds it claimed): it
    /// walks its own frames and suspends again with [`Suspend::Traced`], still parked.
    Trace,
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
    /// The answer to [`Resume::Trace`] (to the dumper, not to an M): the return addresses of
    /// the goroutine's frames are in the dumper's thread-local slot (`dump.rs`:
    /// `take_traced`). No payload here: these enums travel through every switch, and a
    /// larger one grows every parked goroutine's stack copy.
    Traced,
}

pub(crate) type Yielder = corosensei::Yielder<Resume, Suspend>;
type Coro = Coroutine<Resume, Suspend, (), Stack>;

/// A reusable goroutine coroutine. 80 bytes on x86_64 (inside the G while it runs or parks).
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
                // Only parked goroutines are traced: never a coroutine between goroutines.
                Resume::Trace => unreachable!("a coroutine between goroutines was traced"),
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

    /// The usable range of the stack: its lowest address and its top.
    pub(crate) fn stack_bounds(&self) -> (usize, usize) {
        (
            self.bounds.guard_hi,
            self.bounds.guard_hi + self.bounds.size,
        )
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

/// Every switch out of a goroutine: records the stack pointer in `sp` (where the live part
/// of its stack ends, should it be copied out while parked: `copyout.rs`), then suspends.
/// One function for goroutines and for [`switch_depth`]'s probe, so that the probe measures
/// exactly the code goroutines run.
#[inline(never)]
pub(crate) fn switch_out(y: &Yielder, s: Suspend, sp: &AtomicUsize) -> Resume {
    sp.store(super::copyout::stack_pointer(), Relaxed);
    y.suspend(s)
}

/// How far below the stack pointer that [`switch_out`] records the switch writes (its own
/// frame, corosensei's, the saved registers and return address), plus a margin: the bytes a
/// copy-out must save below that pointer. Measured once per process by a probe coroutine
/// whose stack is filled with a pattern: the lowest byte the switch changed marks the depth
/// (48 bytes in a release build on x86_64, about 650 in a debug build).
pub(crate) fn switch_depth() -> usize {
    static DEPTH: OnceLock<usize> = OnceLock::new();
    *DEPTH.get_or_init(|| probe_switch_depth().unwrap_or(PROBE_FALLBACK))
}

/// The probe's switch, a kilobyte below the top of its stack: clear of corosensei's initial
/// frame, which the pattern must not overwrite.
#[inline(never)]
fn probe_switch(y: &Yielder, sp: &AtomicUsize) -> Resume {
    let pad = std::hint::black_box([0u8; 1024]);
    let r = switch_out(y, Suspend::Park, sp);
    std::hint::black_box(&pad);
    r
}

/// The switch depth to assume if the probe cannot run (no memory for its stack).
const PROBE_FALLBACK: usize = 4096;
/// Added to the measured depth: the lowest word the switch wrote may have had low bytes that
/// happened to equal the pattern (at most 7 bytes missed).
const PROBE_MARGIN: usize = 16;
const PATTERN: u8 = 0xA5;
/// The top of the probe's stack, where corosensei writes the coroutine's initial frame (a
/// few words and the closure).
const PROBE_TOP_RESERVE: usize = 512;

fn probe_switch_depth() -> Option<usize> {
    let pool = crate::stack::StackPool::new(crate::stack::MIN_STACK_SIZE);
    let stack = pool.alloc().ok()?;
    let r = stack.running(0);
    let (lo, top) = (r.guard_hi, r.guard_hi + r.size);
    let sp = std::sync::Arc::new(AtomicUsize::new(0));
    let rec = sp.clone();
    let mut coro: Coro = Coroutine::with_stack(stack, move |y: &Yielder, mut input: Resume| loop {
        if let Resume::Exit = input {
            return;
        }
        input = probe_switch(y, &rec);
    });
    // Below corosensei's initial frame (a few words at the top), before the first switch.
    let filled = top - PROBE_TOP_RESERVE - lo;
    // SAFETY: the coroutine has not started: nothing lives in `[lo, lo + filled)`.
    unsafe { std::ptr::write_bytes(lo as *mut u8, PATTERN, filled) };
    let r = coro.resume(Resume::Run);
    debug_assert!(matches!(r, CoroutineResult::Yield(Suspend::Park)));
    // SAFETY: the coroutine is suspended: its stack is plain memory we may read.
    let below = unsafe { std::slice::from_raw_parts(lo as *const u8, filled) };
    let mut lowest = None;
    for (i, &b) in below.iter().enumerate() {
        if b != PATTERN {
            lowest = Some(lo + i);
            break;
        }
    }
    let _ = coro.resume(Resume::Exit);
    pool.free(coro.into_stack());
    let depth = sp.load(Relaxed).checked_sub(lowest?)?;
    Some((depth + PROBE_MARGIN).next_multiple_of(16))
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
