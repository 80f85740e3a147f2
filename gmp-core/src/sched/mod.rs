//! The G/M/P scheduler (Go: runtime/proc.go). Goroutines land in the next change; until then
//! every caller is a plain thread and parking falls through to the thread parker.

pub(crate) mod runq;

use crate::reason::WaitReason;
use crate::timer::{TimerThread, TimerWhen};
use std::sync::OnceLock;
use std::time::Instant;

/// Wakes a parked goroutine (no goroutines exist yet in this build).
#[derive(Clone, Debug)]
pub(crate) enum GoUnparker {}

impl GoUnparker {
    pub(crate) fn id(&self) -> u64 {
        match *self {}
    }
    pub(crate) fn unpark(&self) {
        match *self {}
    }
    pub(crate) fn same(&self, _other: &GoUnparker) -> bool {
        match *self {}
    }
}

/// The calling goroutine's unparker; `None` on a plain thread.
pub(crate) fn current_unparker() -> Option<GoUnparker> {
    None
}

/// Parks the calling goroutine; `false` if the caller is a plain thread.
pub(crate) fn gopark(_reason: WaitReason, _deadline: Option<Instant>) -> bool {
    false
}

/// Parks the calling goroutine until unparked or `deadline`; `None` on a plain thread.
pub(crate) fn gopark_deadline(_reason: WaitReason, _deadline: Instant) -> Option<bool> {
    None
}

/// A cooperative preemption point (no-op on threads).
pub(crate) fn checkpoint() {}

/// The timer thread for timers armed outside any runtime.
fn timer_thread() -> &'static TimerThread {
    static TT: OnceLock<&'static TimerThread> = OnceLock::new();
    TT.get_or_init(|| {
        let tt: &'static TimerThread = Box::leak(Box::new(TimerThread::new()));
        std::thread::Builder::new()
            .name("gmp-timer".into())
            .spawn(move || tt.run(&spawn_detached))
            .expect("gmp: cannot start the timer thread");
        tt
    })
}

/// Arms a timer: on the current P's heap inside a runtime, else on the timer thread.
pub(crate) fn add_timer(t: TimerWhen) {
    timer_thread().add(t);
}

/// Runs `f` detached (a goroutine once the scheduler lands; a thread until then).
pub(crate) fn spawn_detached(f: Box<dyn FnOnce() + Send>) {
    std::thread::spawn(f);
}

/// Same as Go's `active_spin` (runtime/proc.go): how many times a lock may spin.
const ACTIVE_SPIN: u32 = 4;

/// Go's `sync_runtime_canSpin`, for a plain thread until the scheduler lands.
pub(crate) fn can_spin(iteration: u32) -> bool {
    iteration < ACTIVE_SPIN && ncpu() > 1
}

fn ncpu() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
