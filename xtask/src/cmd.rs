//! Running commands from the workspace root: `project_root`, `cargo()`, `run_cmd`.

use crate::DynError;
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of `xtask/`).
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(1)
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The cargo that runs this xtask (`$CARGO`), started in the workspace root.
pub(crate) fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(project_root());
    c
}

/// Runs `cmd`, echoing it first; an error unless it exits successfully.
pub(crate) fn run_cmd(cmd: &mut Command) -> Result<(), DynError> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("command failed ({status}): {cmd:?}").into())
    }
}

/// Where cargo puts its output (`$CARGO_TARGET_DIR`, else `target/` in the workspace).
pub(crate) fn cargo_target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                project_root().join(d)
            }
        }
        None => project_root().join("target"),
    }
}
