//! The report around the table: its header (what was measured, and the context: date,
//! machine, load at start, Go and tokio versions, git commit), the noise banner, notes,
//! `latest.md`.

use super::options::Options;
use super::run::Outcome;
use super::table::{table, RowResult};
use crate::cmd::project_root;
use crate::DynError;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where and on what a table was measured.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Context {
    /// `YYYY-MM-DD HH:MM UTC`.
    pub(super) date: String,
    /// The CPU model from `/proc/cpuinfo`.
    pub(super) cpu: String,
    /// Cores the harness may use (`nproc`).
    pub(super) cores: usize,
    /// The kernel release (`uname -r`).
    pub(super) kernel: String,
    /// The 1-minute load before the first run (None: unreadable).
    pub(super) load: Option<f64>,
    /// `Go 1.23.5`, the Go that built the twins (None: no Go side).
    pub(super) go: Option<String>,
    /// `tokio 1.54.1`, the tokio of the tokio twins (None: unknown).
    pub(super) tokio: Option<String>,
    /// gmp's commit: `14c5bc2`, `14c5bc2+dirty`, or `unknown commit`.
    pub(super) commit: String,
}

impl Context {
    /// The context now, from `/proc`, `nproc` and git; `load` as the gate read it.
    pub(super) fn now(load: Option<f64>, go: Option<&str>, tokio: Option<&str>) -> Context {
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(project_root())
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        };
        let rev = git(&["rev-parse", "--short", "HEAD"]);
        let status = git(&["status", "--porcelain"]);
        Context {
            date: utc_now(),
            cpu: fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|s| cpu_model(&s))
                .unwrap_or_else(|| "unknown CPU".into()),
            cores: thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "?".into()),
            load,
            go: go.map(str::to_string),
            tokio: tokio.map(str::to_string),
            commit: commit_label(rev.as_deref(), status.as_deref()),
        }
    }
}

/// The sides a run compares, in the order they take turns: gmp, then Go and tokio unless
/// left out (`--no-go`, `--no-tokio`).
fn sides(opts: &Options) -> Vec<&'static str> {
    let mut sides = vec!["gmp"];
    if opts.go {
        sides.push("Go");
    }
    if opts.tokio {
        sides.push("tokio");
    }
    sides
}

/// The report's first two lines: what the figures are, then the context they were taken in.
pub(super) fn header(opts: &Options, ctx: &Context) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let warmup = if opts.warmup {
        "after 1 discarded warm-up run per side"
    } else {
        "no warm-up run"
    };
    let load = ctx
        .load
        .map_or_else(|| "load unknown".to_string(), |l| format!("load {l:.2}"));
    let mut peers = Vec::new();
    if opts.go {
        peers.push(ctx.go.as_deref().unwrap_or("Go"));
    }
    if opts.tokio {
        peers.push(ctx.tokio.as_deref().unwrap_or("tokio"));
    }
    let title = if peers.is_empty() {
        "gmp alone".to_string()
    } else {
        format!("gmp vs {}", peers.join(" and "))
    };
    let order = match sides(opts).as_slice() {
        [] | [_] => "gmp only".to_string(),
        [a, b] => format!("alternating {a} and {b}"),
        [rest @ .., last] => format!(
            "{} and {last} in turn, the first of each round rotating",
            rest.join(", ")
        ),
    };
    let n = opts.procs.unwrap_or(2);
    let procs = if opts.tokio {
        format!("{n} Ps (tokio: {n} worker threads)")
    } else {
        format!("{n} Ps")
    };
    format!(
        "{title} — median (min–max) of {} per side, {order}, {warmup}; {procs} unless `_p1`.\n\n\
         Measured {} on {}, {}, Linux {}; {load} at start; gmp at {}.\n",
        plural(opts.runs, "run"),
        ctx.date,
        ctx.cpu,
        plural(ctx.cores, "core"),
        ctx.kernel,
        ctx.commit,
    )
}

/// The whole report in Markdown: the header, the noise banner if any, the table, then the
/// notes (why a Go or tokio side is missing, each failed run, what echo_tcp's figures mean,
/// which channel the tokio chan_mpmc twin uses).
pub(super) fn render(
    opts: &Options,
    ctx: &Context,
    banner: Option<&str>,
    side_notes: &[&str],
    results: &[RowResult<'_>],
    failures: &[String],
) -> String {
    let mut md = header(opts, ctx);
    md.push('\n');
    if let Some(b) = banner {
        let _ = writeln!(md, "{b}\n");
    }
    md.push_str(&table(results));
    let mut notes: Vec<String> = side_notes.iter().map(|n| n.to_string()).collect();
    notes.extend(failures.iter().map(|f| format!("FAILED {f}")));
    if results.iter().any(|r| r.row.name == "echo_tcp") {
        notes.push(format!(
            "echo_tcp ran {} s per run; \"drops\" are loopback packets the kernel dropped \
             (net.core.netdev_max_backlog), each costing a retransmission timeout.",
            opts.echo_secs
        ));
    }
    if results
        .iter()
        .any(|r| r.row.name == "chan_mpmc" && matches!(r.tokio, Outcome::Done(_)))
    {
        notes.push(
            "tokio's chan_mpmc runs async-channel on the tokio runtime: tokio has no channel \
             whose receivers share the messages (gmp-examples/tokio/README.md)."
                .to_string(),
        );
    }
    if !notes.is_empty() {
        md.push('\n');
        for n in &notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    md
}

/// Writes the report to `target/bench/latest.md` (for the README) and returns that path.
pub(super) fn write_latest(md: &str) -> Result<PathBuf, DynError> {
    let latest = project_root().join("target/bench/latest.md");
    if let Some(dir) = latest.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(&latest, md)?;
    Ok(latest)
}

/// `YYYY-MM-DD HH:MM UTC` for now.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_date(i64::try_from(secs).unwrap_or(0))
}

/// `YYYY-MM-DD HH:MM UTC` for a Unix time (civil-from-days, Howard Hinnant's algorithm).
fn utc_date(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The CPU model from the text of `/proc/cpuinfo` (its first `model name`).
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .filter(|m| !m.is_empty())
}

/// gmp's commit from `git rev-parse --short HEAD` and `git status --porcelain` (None: git
/// failed): `+dirty` when the work tree has changes, so a figure is never pinned on a commit
/// that did not produce it.
fn commit_label(rev: Option<&str>, porcelain: Option<&str>) -> String {
    let Some(rev) = rev.map(str::trim).filter(|r| !r.is_empty()) else {
        return "unknown commit".into();
    };
    match porcelain {
        Some(p) if p.trim().is_empty() => rev.to_string(),
        Some(_) => format!("{rev}+dirty"),
        None => format!("{rev} (status unknown)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_now().len(), "2026-01-01 00:00 UTC".len());
    }

    #[test]
    fn cpu_model_and_commit_label() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\n\
                       model name\t: AMD EPYC 7B13 64-Core Processor\nprocessor\t: 1\n\
                       model name\t: AMD EPYC 7B13 64-Core Processor\n";
        assert_eq!(
            cpu_model(cpuinfo).as_deref(),
            Some("AMD EPYC 7B13 64-Core Processor")
        );
        assert_eq!(cpu_model("processor : 0\n"), None);
        assert_eq!(commit_label(Some("14c5bc2\n"), Some("")), "14c5bc2");
        assert_eq!(
            commit_label(Some("14c5bc2\n"), Some(" M xtask/src/main.rs\n")),
            "14c5bc2+dirty"
        );
        assert_eq!(
            commit_label(Some("14c5bc2"), None),
            "14c5bc2 (status unknown)"
        );
        assert_eq!(commit_label(None, Some("")), "unknown commit");
    }

    fn context() -> Context {
        Context {
            date: "2026-12-08 10:00 UTC".into(),
            cpu: "AMD EPYC 7B13".into(),
            cores: 2,
            kernel: "6.1.0-18-amd64".into(),
            load: Some(0.12),
            go: Some("Go 1.23.5".into()),
            tokio: Some("tokio 1.54.1".into()),
            commit: "14c5bc2+dirty".into(),
        }
    }

    #[test]
    fn header_records_the_context() {
        let opts = super::super::options::parse_args(&[]).unwrap();
        assert_eq!(
            header(&opts, &context()),
            "gmp vs Go 1.23.5 and tokio 1.54.1 — median (min–max) of 5 runs per side, gmp, Go \
             and tokio in turn, the first of each round rotating, after 1 discarded warm-up run \
             per side; 2 Ps (tokio: 2 worker threads) unless `_p1`.\n\n\
             Measured 2026-12-08 10:00 UTC on AMD EPYC 7B13, 2 cores, Linux 6.1.0-18-amd64; \
             load 0.12 at start; gmp at 14c5bc2+dirty.\n"
        );
        let args: Vec<String> = ["--runs", "1", "--no-warmup", "--no-tokio"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let opts = super::super::options::parse_args(&args).unwrap();
        let ctx = Context {
            load: None,
            go: None,
            tokio: None,
            cores: 1,
            ..context()
        };
        let h = header(&opts, &ctx);
        assert!(
            h.starts_with(
                "gmp vs Go — median (min–max) of 1 run per side, alternating gmp and Go,"
            ),
            "{h}"
        );
        assert!(h.contains("; 2 Ps unless `_p1`."), "{h}");
        assert!(h.contains("no warm-up run"), "{h}");
        let eight: Vec<String> = ["--procs=8"].iter().map(|s| s.to_string()).collect();
        let h8 = header(&super::super::options::parse_args(&eight).unwrap(), &ctx);
        assert!(
            h8.contains("; 8 Ps (tokio: 8 worker threads) unless `_p1`."),
            "{h8}"
        );
        assert!(
            h.contains("1 core,") && h.contains("load unknown at start"),
            "{h}"
        );
        let args: Vec<String> = ["--no-go"].iter().map(|s| s.to_string()).collect();
        let opts = super::super::options::parse_args(&args).unwrap();
        let h = header(&opts, &ctx);
        assert!(
            h.starts_with(
                "gmp vs tokio — median (min–max) of 5 runs per side, alternating gmp and tokio,"
            ),
            "{h}"
        );
    }

    #[test]
    fn report_puts_the_noise_banner_above_the_table() {
        let opts = super::super::options::parse_args(&[]).unwrap();
        let banner = "**NOT A QUIET MACHINE: load 3.20 at start (cargo pid 1234) — figures are \
                      not comparable**";
        let md = render(&opts, &context(), Some(banner), &[], &[], &[]);
        let (before, after) = md.split_once(banner).expect("banner present");
        assert!(before.contains("gmp at 14c5bc2+dirty"), "{md}");
        assert!(after.trim_start().starts_with("| row"), "{md}");
        let quiet = render(&opts, &context(), None, &[], &[], &[]);
        assert!(!quiet.contains("NOT A QUIET"), "{quiet}");
    }

    #[test]
    fn notes_say_why_a_side_is_missing_and_what_chan_mpmc_runs_on_tokio() {
        use crate::bench::rows::ROWS;
        use crate::bench::run::Sample;
        let opts = super::super::options::parse_args(&[]).unwrap();
        let mpmc = ROWS.iter().find(|r| r.name == "chan_mpmc").unwrap();
        let done = || {
            Outcome::Done(vec![Sample {
                value: 100.0,
                unit: "ns/op".into(),
                rss_kib: 1,
                extra: Default::default(),
            }])
        };
        let row = |tokio| RowResult {
            row: mpmc,
            gmp: done(),
            go: done(),
            tokio,
            noisy: false,
        };
        let md = render(
            &opts,
            &context(),
            None,
            &["The tokio twins did not build (x): the tokio column is empty."],
            &[row(Outcome::BuildFailed)],
            &[],
        );
        assert!(md.contains("\n- The tokio twins did not build (x)"), "{md}");
        assert!(!md.contains("async-channel"), "{md}");
        let md = render(&opts, &context(), None, &[], &[row(done())], &[]);
        assert!(
            md.contains("- tokio's chan_mpmc runs async-channel"),
            "{md}"
        );
    }
}
