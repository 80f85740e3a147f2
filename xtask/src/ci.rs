//! `cargo xtask ci`: fmt check, clippy `-D warnings`, the workspace tests, the memory pin of
//! a parked goroutine in a release build (its stack copy is only meaningful optimised: a debug
//! build keeps every local in its own slot), gmp-sync without its `context` feature, then
//! `verify`.

use crate::cmd::{cargo, run_cmd};
use crate::{verify, DynError};

pub(crate) fn run() -> Result<(), DynError> {
    run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_cmd(cargo().args(["test", "--workspace"]))?;
    run_cmd(cargo().args([
        "test",
        "--release",
        "-p",
        "gmp-chan",
        "--test",
        "mem_parked",
    ]))?;
    run_cmd(cargo().args(["test", "-p", "gmp-sync", "--no-default-features", "--lib"]))?;
    verify::run(&[])
}
