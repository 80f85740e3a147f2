//! The G/M/P scheduler (Go: runtime/proc.go). Goroutines land in the next change; until then
//! every caller is a plain thread and parking falls through to the thread parker.

use crate::reason::WaitReason;
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
