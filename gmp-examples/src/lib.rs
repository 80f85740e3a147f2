//! Shared helpers for the example and benchmark binaries.

pub mod bench;
