//! # gmp-core: goroutines for Rust
//!
//! Go's concurrency model on a G/M/P work-stealing scheduler over stackful coroutines.
//! This crate holds the scheduler, parking, timers and diagnostics; `gmp-chan` adds channels
//! and `select!`, `gmp-sync` adds `Mutex`, `WaitGroup` and friends.
//!
//! ## Parking
//!
//! [`park`] is the narrow waist every blocking operation is built on: publish an
//! [`Unparker`](park::Unparker), recheck, [`park::park`]. It works the same in a goroutine
//! (the goroutine is suspended) and on a plain thread (the thread blocks).

#![cfg_attr(loom, allow(dead_code, unreachable_pub))]

mod loom;
pub mod park;
mod reason;
mod sched;
mod thread_parker;
pub mod time;
mod timer;

pub use reason::WaitReason;

/// Scheduler internals for gmp's own integration tests and loom models. Not a public API:
/// no stability, no docs.
#[doc(hidden)]
pub mod __private {
    pub use crate::sched::runq::{Ptr, RunQueue, LOCAL_QUEUE_CAPACITY};
}
