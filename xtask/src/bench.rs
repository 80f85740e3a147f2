//! `cargo xtask bench`: gmp's workload binaries beside their Go twins.
use crate::DynError;

pub(crate) fn run(_args: &[String]) -> Result<(), DynError> {
    Err("bench: the workload table is being built (see issue 2)".into())
}
