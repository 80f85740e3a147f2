//! `cargo xtask`: the project's automation (matklad/cargo-xtask).
//!
//! - `cargo xtask ci`: fmt check, clippy `-D warnings`, the workspace tests, then `verify`.
//! - `cargo xtask verify [--crate NAME] [--preemptions N]`: each crate's loom models, on their
//!   own, in release with debug assertions and a separate target dir.
//! - `cargo xtask bench [ROW...]`: gmp's workloads beside their Go and tokio twins (see
//!   `bench/mod.rs`); Go is installed only with `--install-go`.
//! - `cargo xtask stress`: the long tests kept out of CI (`--ignored`).
//! - `cargo xtask trace PROGRAM [--out FILE]`: a tour program run with a trace (`trace.rs`).
//!
//! This file only dispatches: each task is its own module, and `cmd` holds what they share.

use std::env;
use std::process::ExitCode;

mod bench;
mod ci;
mod cmd;
mod stress;
mod trace;
mod verify;

type DynError = Box<dyn std::error::Error>;

/// The tasks, for `cargo xtask --help`.
fn usage() -> String {
    format!(
        "usage: cargo xtask <task>\n\n\
         tasks:\n  \
         ci                                  fmt, clippy, tests, loom (what .ci/run runs)\n  \
         verify [--crate C] [--preemptions N] [--quick]   loom models per crate\n  \
         bench [ROW...]                      gmp vs Go and tokio, median (min–max) of 5, quiet machine\n    \
           {}\n  \
         stress                              long-running tests (--ignored)\n  \
         {}",
        bench::FLAGS,
        trace::USAGE
    )
}

fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn try_main() -> Result<(), DynError> {
    let args: Vec<String> = env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, rest)) => (t.as_str(), rest),
        None => ("help", &[][..]),
    };
    match task {
        "ci" => ci::run(),
        "verify" => verify::run(rest),
        "bench" => bench::run(rest),
        "stress" => stress::run(),
        "trace" => trace::run(rest),
        _ => {
            eprintln!("{}", usage());
            if task == "help" || task == "--help" || task == "-h" {
                Ok(())
            } else {
                Err(format!("unknown task `{task}`").into())
            }
        }
    }
}
