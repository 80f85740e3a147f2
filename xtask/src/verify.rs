//! `cargo xtask verify`: each crate's loom models on their own, in release with debug assertions.

use crate::cmd::{cargo, project_root, run_cmd};
use crate::DynError;
use std::env;
use std::path::Path;

/// Crates that carry loom models, in dependency order.
const LOOM_CRATES: &[&str] = &["gmp-core", "gmp-chan", "gmp-sync"];

pub(crate) fn run(args: &[String]) -> Result<(), DynError> {
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
        cmd.args(["test", "--profile", "loom", "-p", c]);
        if c == "gmp-sync" {
            // Without the `context` feature: gmp-sync on gmp-core alone (its models reach
            // the interruptible waits directly).
            cmd.arg("--no-default-features");
        }
        cmd.env("RUSTFLAGS", "--cfg loom")
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
