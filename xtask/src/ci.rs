//! `cargo xtask ci`: fmt check, clippy `-D warnings`, the workspace tests, then `verify`.

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
    verify::run(&[])
}
