//! `cargo xtask`: the project's automation (matklad/cargo-xtask).
//!
//! - `cargo xtask ci`: fmt check, clippy `-D warnings`, the workspace tests, then `verify`.
//! - `cargo xtask verify [--crate NAME] [--preemptions N]`: each crate's loom models, on their
//!   own, in release with debug assertions and a separate target dir.
//! - `cargo xtask bench [ROW...]`: gmp's workloads beside their Go twins (see `bench.rs`).
//! - `cargo xtask stress`: the long tests kept out of CI (`--ignored`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;

type DynError = Box<dyn std::error::Error>;

/// Crates that carry loom models, in dependency order.
const LOOM_CRATES: &[&str] = &["gmp-core", "gmp-chan", "gmp-sync"];

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
        "ci" => ci(),
        "verify" => verify(rest),
        "bench" => bench::run(rest),
        "stress" => stress(),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 ci                                  fmt, clippy, tests, loom (what .ci/run runs)\n  \
                 verify [--crate C] [--preemptions N] [--quick]   loom models per crate\n  \
                 bench [ROW...]                      gmp vs Go, median of 3, with peak RSS\n    \
                   [--runs N] [--timeout SECS] [--echo-secs SECS] [--no-go] [--no-build]\n  \
                 stress                              long-running tests (--ignored)"
            );
            if task == "help" || task == "--help" || task == "-h" {
                Ok(())
            } else {
                Err(format!("unknown task `{task}`").into())
            }
        }
    }
}

pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(1)
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(project_root());
    c
}

pub(crate) fn run_cmd(cmd: &mut Command) -> Result<(), DynError> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("command failed ({status}): {cmd:?}").into())
    }
}

fn ci() -> Result<(), DynError> {
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
    verify(&[])
}

fn stress() -> Result<(), DynError> {
    run_cmd(cargo().args([
        "test",
        "--workspace",
        "--release",
        "--",
        "--ignored",
        "--test-threads=1",
    ]))
}

fn verify(args: &[String]) -> Result<(), DynError> {
    let mut krate: Option<String> = None;
    let mut preemptions = env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "2".into());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--crate" => krate = Some(it.next().ok_or("--crate needs a crate name")?.clone()),
            "--preemptions" => {
                let n = it.next().ok_or("--preemptions needs a number")?;
                n.parse::<u32>()
                    .map_err(|_| format!("--preemptions takes a number, not `{n}`"))?;
                preemptions = n.clone();
            }
            "--quick" => preemptions = "1".into(),
            other => return Err(format!("verify: unknown argument `{other}`").into()),
        }
    }
    let crates: Vec<&str> = match &krate {
        Some(k) if LOOM_CRATES.contains(&k.as_str()) => vec![k.as_str()],
        Some(k) => return Err(format!("verify: `{k}` is not one of {LOOM_CRATES:?}").into()),
        None => LOOM_CRATES.to_vec(),
    };
    let root = project_root();
    let mut ran = 0;
    for c in crates {
        let tests = loom_tests(&root.join(c))?;
        if tests.is_empty() {
            eprintln!("xtask: verify: {c} has no tests/loom_*.rs yet");
            continue;
        }
        let mut cmd = cargo();
        cmd.args(["test", "--profile", "loom", "-p", c])
            .env("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", root.join("target/loom"))
            .env("LOOM_MAX_PREEMPTIONS", &preemptions)
            .env(
                "LOOM_MAX_BRANCHES",
                env::var("LOOM_MAX_BRANCHES").unwrap_or_else(|_| "10000".into()),
            );
        for t in &tests {
            cmd.args(["--test", t]);
        }
        run_cmd(&mut cmd)?;
        ran += tests.len();
    }
    eprintln!("xtask: verify: {ran} loom model files passed (LOOM_MAX_PREEMPTIONS={preemptions})");
    Ok(())
}

fn loom_tests(krate: &Path) -> Result<Vec<String>, DynError> {
    let dir = krate.join("tests");
    let mut out = Vec::new();
    if dir.is_dir() {
        for e in std::fs::read_dir(dir)? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_prefix("loom_").and(name.strip_suffix(".rs")) {
                let _ = stem;
                out.push(name.trim_end_matches(".rs").to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}
