//! `cargo xtask stress`: the long tests kept out of CI (`--ignored`), in release, one at a time.

use crate::cmd::{cargo, run_cmd};
use crate::DynError;

pub(crate) fn run() -> Result<(), DynError> {
    run_cmd(cargo().args([
        "test",
        "--workspace",
        "--release",
        "--",
        "--ignored",
        "--test-threads=1",
    ]))
}
