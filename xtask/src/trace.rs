//! `cargo xtask trace PROGRAM [--out FILE]`: runs one program of the tour traced from start to
//! end (gmp-core's `GMP_TRACE`, see `gmp_core::trace`) and says where the trace is and how to
//! open it.

use crate::cmd::{cargo, cargo_target_dir, project_root, run_cmd};
use crate::DynError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The flags, for `cargo xtask --help`.
pub(crate) const USAGE: &str =
    "trace PROGRAM [--out FILE]         run a tour program traced (JSON for ui.perfetto.dev)";

pub(crate) fn run(args: &[String]) -> Result<(), DynError> {
    let mut program: Option<&str> = None;
    let mut out: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = Some(it.next().ok_or("--out needs a file name")?.into()),
            flag if flag.starts_with('-') => {
                return Err(format!("trace: unknown flag `{flag}`").into())
            }
            name if program.is_none() => program = Some(name),
            extra => return Err(format!("trace: one program at a time (`{extra}`)").into()),
        }
    }
    let program = program.ok_or("trace: which tour program? e.g. `cargo xtask trace sum`")?;
    let out = match out {
        Some(f) if f.is_absolute() => f,
        Some(f) => std::env::current_dir()?.join(f),
        None => cargo_target_dir()
            .join("trace")
            .join(format!("{program}.json")),
    };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A trace of an earlier run must not pass for this one's.
    let _ = std::fs::remove_file(&out);

    run_cmd(cargo().args(["build", "--release", "-p", "gmp-examples", "--bin", "tour"]))?;
    let tour = cargo_target_dir().join("release").join("tour");
    let mut cmd = Command::new(&tour);
    cmd.arg(program)
        .env("GMP_TRACE", &out)
        .current_dir(project_root());
    run_cmd(&mut cmd)?;

    if !out.exists() {
        return Err(format!(
            "trace: {program} ran but wrote no trace to {} (did it build a runtime? the \
             default runtime is written only by trace::stop)",
            out.display()
        )
        .into());
    }
    eprintln!();
    report(&out)?;
    for n in 2.. {
        let more = numbered(&out, n);
        if !more.exists() {
            break;
        }
        report(&more)?;
    }
    eprintln!(
        "open it at https://ui.perfetto.dev (\"Open trace file\", or drop it on the page), or in \
         chrome://tracing: a track per P with a slice per goroutine run, arrows from each waker \
         to the goroutine it woke"
    );
    Ok(())
}

/// `trace.json` → `trace.2.json`: where gmp-core writes the trace of the `n`th runtime.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut p = path.to_path_buf();
    let name = match path.extension() {
        Some(ext) => format!("{n}.{}", ext.to_string_lossy()),
        None => n.to_string(),
    };
    p.set_extension(name);
    p
}

/// One line about a trace file: its size and what is in it.
fn report(path: &Path) -> Result<(), DynError> {
    let json = std::fs::read_to_string(path)?;
    let count = |ph: &str| json.matches(&format!("\"ph\":\"{ph}\"")).count();
    eprintln!(
        "xtask: trace written to {} ({} KiB: {} goroutine runs and syscalls, {} instants, {} \
         wake-up arrows)",
        path.display(),
        json.len().div_ceil(1024),
        count("X"),
        count("i"),
        count("f"),
    );
    Ok(())
}
