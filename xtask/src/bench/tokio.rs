//! The tokio side: building the tokio twins (`gmp-examples/tokio`, a workspace of its own
//! that only the bench builds) and naming the tokio they were built with.

use super::run::{Outcome, Side};
use crate::cmd::{cargo, project_root, run_cmd};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tokio twins' package, from the workspace root.
const MANIFEST: &str = "gmp-examples/tokio/Cargo.toml";

/// Whether the tokio twins can run.
#[derive(Debug)]
pub(super) enum TokioSide {
    Ready,
    /// `--no-tokio`: the note says so.
    Skipped(String),
    /// `cargo build` of the twins failed: the error.
    BuildFailed(String),
}

impl TokioSide {
    /// Where the tokio side stands before its runs, for the row whose binary is `bin`.
    pub(super) fn side(&self, bin: PathBuf) -> Side {
        match self {
            TokioSide::Skipped(_) => Side {
                name: "tokio",
                bin,
                outcome: Outcome::NoTokio,
            },
            TokioSide::BuildFailed(_) => Side::new("tokio", false, bin),
            TokioSide::Ready => Side::new("tokio", true, bin),
        }
    }

    /// What the report's notes say about the tokio side, if anything.
    pub(super) fn note(&self) -> Option<&str> {
        match self {
            TokioSide::Ready => None,
            TokioSide::Skipped(n) | TokioSide::BuildFailed(n) => Some(n),
        }
    }
}

/// The binary of the tokio twin `bin` built into `target_dir`.
pub(super) fn bin_path(target_dir: &Path, bin: &str) -> PathBuf {
    target_dir.join("release").join(bin)
}

/// The build of the tokio twins into `target_dir`: release, with the package's own
/// committed `Cargo.lock` (`--locked`), in a target dir of their own so their dependencies
/// never mix with the workspace's.
fn build_command(target_dir: &Path) -> Command {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--manifest-path",
        MANIFEST,
    ])
    .arg("--target-dir")
    .arg(target_dir);
    cmd
}

/// Gets the tokio side ready: builds the twins into `target_dir` when `build` (else uses
/// what is there). A failed build is a note, never an error: the gmp and Go rows run all the
/// same. Returns the side and the tokio label (`tokio 1.54.1`, from the twins' lock file).
pub(super) fn prepare(target_dir: &Path, build: bool) -> (TokioSide, Option<String>) {
    let version = fs::read_to_string(project_root().join("gmp-examples/tokio/Cargo.lock"))
        .ok()
        .and_then(|lock| tokio_label(&lock));
    if !build {
        return (TokioSide::Ready, version);
    }
    match run_cmd(&mut build_command(target_dir)) {
        Ok(()) => (TokioSide::Ready, version),
        Err(e) => {
            let note = format!("The tokio twins did not build ({e}): the tokio column is empty.");
            eprintln!("xtask: bench: {note}");
            (TokioSide::BuildFailed(note), version)
        }
    }
}

/// `tokio 1.54.1` from a `Cargo.lock` text: the version of its `tokio` package.
fn tokio_label(lock: &str) -> Option<String> {
    let mut lines = lock.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == "name = \"tokio\"" {
            let version = lines
                .next()?
                .strip_prefix("version = \"")?
                .strip_suffix('"')?;
            return Some(format!("tokio {version}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokio_label_comes_from_the_lock_file() {
        let lock = "version = 4\n\n[[package]]\nname = \"tokio-macros\"\nversion = \"2.7.0\"\n\n\
                    [[package]]\nname = \"tokio\"\nversion = \"1.54.1\"\nsource = \"registry\"\n";
        assert_eq!(tokio_label(lock).as_deref(), Some("tokio 1.54.1"));
        assert_eq!(tokio_label("[[package]]\nname = \"libc\"\n"), None);
        // The committed lock names a tokio 1.x.
        let ours = fs::read_to_string(project_root().join("gmp-examples/tokio/Cargo.lock"))
            .expect("gmp-examples/tokio/Cargo.lock is committed");
        assert!(
            tokio_label(&ours).is_some_and(|l| l.starts_with("tokio 1.")),
            "{:?}",
            tokio_label(&ours)
        );
    }

    #[test]
    fn the_build_is_release_locked_and_in_its_own_target_dir() {
        let cmd = build_command(Path::new("/t/bench/tokio"));
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "build",
                "--release",
                "--locked",
                "--manifest-path",
                MANIFEST,
                "--target-dir",
                "/t/bench/tokio"
            ]
        );
        assert!(project_root().join(MANIFEST).is_file());
        assert_eq!(
            bin_path(Path::new("/t/bench/tokio"), "pingpong"),
            Path::new("/t/bench/tokio/release/pingpong")
        );
    }

    #[test]
    fn a_skipped_or_failed_tokio_side_is_a_note_and_never_runs() {
        let bin = PathBuf::from("/nonexistent/pingpong");
        let skipped = TokioSide::Skipped("tokio skipped (--no-tokio).".into());
        assert!(matches!(
            skipped.side(bin.clone()).outcome,
            Outcome::NoTokio
        ));
        assert_eq!(skipped.note(), Some("tokio skipped (--no-tokio)."));
        let failed = TokioSide::BuildFailed("did not build".into());
        assert!(matches!(
            failed.side(bin.clone()).outcome,
            Outcome::BuildFailed
        ));
        assert_eq!(failed.note(), Some("did not build"));
        assert!(matches!(
            TokioSide::Ready.side(bin).outcome,
            Outcome::NotBuilt
        ));
        assert_eq!(TokioSide::Ready.note(), None);
    }
}
