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

const HOW_TO_GET_GO: &str =
    "install Go 1.23: add Debian's bookworm-backports suite to apt's sources \
     (`deb http://deb.debian.org/debian bookworm-backports main`), `apt-get update`, \
     `apt-get install -t bookworm-backports golang-1.23-go` (or point $GO at a go binary)";

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

/// Gets the Go side ready: finds (or, failing that, installs) a Go toolchain and builds the
/// Go twins into `out`. Returns the side and the toolchain's label (`Go 1.23.5`).
pub(super) fn prepare(out: &Path) -> (GoSide, Option<String>) {
    let go = find_go().or_else(|| {
        eprintln!("xtask: bench: no Go toolchain found; trying to install Go 1.23");
        match install_go() {
            Ok(()) => find_go(),
            Err(e) => {
                eprintln!("xtask: bench: could not install Go: {e}");
                None
            }
        }
    });
    let Some(go) = go else {
        return (
            GoSide::Absent(format!("No Go toolchain: {HOW_TO_GET_GO}.")),
            None,
        );
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

    #[test]
    fn go_version_label() {
        assert_eq!(go_label("go version go1.23.5 linux/amd64\n"), "Go 1.23.5");
        assert_eq!(go_label("garbage"), "Go");
    }
}
