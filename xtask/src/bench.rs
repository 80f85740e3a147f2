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
//! "not built"; without Go (and when it cannot be installed) the Go column says how to get it.

use crate::cmd::{cargo, project_root, run_cmd};
use crate::DynError;
use std::collections::HashMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a row is measured against.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// gmp/Go at most this (lower is better).
    RatioAtMost(f64),
    /// gmp/Go at least this (higher is better: throughput).
    RatioAtLeast(f64),
    /// gmp's own value at most this, in the row's unit.
    AtMost(f64),
    /// Completes, with peak RSS at most this many KiB.
    PeakRssAtMost(u64),
}

/// One benchmark row (shared/BENCH.md, plus idle_cpu from issue 2).
#[derive(Debug)]
struct Row {
    /// Row name, as printed by the workload in `row=`.
    name: &'static str,
    /// The binary: `bench_<bin>` on the gmp side, `<bin>` (directory) on the Go side.
    bin: &'static str,
    /// Extra arguments for both sides.
    args: &'static [&'static str],
    /// The target of BENCH.md.
    target: Target,
    /// The target as the table shows it.
    target_text: &'static str,
}

const ROWS: &[Row] = &[
    Row {
        name: "spawn_join",
        bin: "spawn_join",
        args: &[],
        target: Target::RatioAtMost(0.7),
        target_text: "≤ 0.7×",
    },
    Row {
        name: "yield",
        bin: "yield",
        args: &[],
        target: Target::RatioAtMost(0.15),
        target_text: "≤ 0.15×",
    },
    Row {
        name: "spawn_memory",
        bin: "spawn_memory",
        args: &[],
        target: Target::AtMost(512.0),
        target_text: "≤ 512 B",
    },
    Row {
        name: "million",
        bin: "million",
        args: &[],
        target: Target::PeakRssAtMost(4608 * 1024),
        target_text: "completes, RSS ≤ 4.5 GiB",
    },
    Row {
        name: "sleep_timers",
        bin: "sleep_timers",
        args: &[],
        target: Target::RatioAtMost(0.5),
        target_text: "≤ 0.5×",
    },
    Row {
        name: "idle_cpu",
        bin: "idle_cpu",
        args: &[],
        target: Target::AtMost(5.0),
        target_text: "< 5 % of a core",
    },
    Row {
        name: "pingpong",
        bin: "pingpong",
        args: &[],
        target: Target::RatioAtMost(0.5),
        target_text: "≤ 0.5×",
    },
    Row {
        name: "pingpong_p1",
        bin: "pingpong",
        args: &["--procs=1"],
        target: Target::RatioAtMost(0.5),
        target_text: "≤ 0.5×",
    },
    Row {
        name: "chan_mpmc",
        bin: "chan_mpmc",
        args: &[],
        target: Target::RatioAtMost(1.0),
        target_text: "≤ 1.0×",
    },
    Row {
        name: "select4",
        bin: "select4",
        args: &[],
        target: Target::RatioAtMost(0.45),
        target_text: "≤ 0.45×",
    },
    Row {
        name: "skynet",
        bin: "skynet",
        args: &[],
        target: Target::RatioAtMost(0.6),
        target_text: "≤ 0.6×",
    },
    Row {
        name: "parked_memory",
        bin: "parked_memory",
        args: &[],
        target: Target::AtMost(4608.0),
        target_text: "≤ 4.5 KiB",
    },
    Row {
        name: "mutex_counter",
        bin: "mutex_counter",
        args: &[],
        target: Target::RatioAtMost(1.0),
        target_text: "≤ 1.0×",
    },
    Row {
        name: "echo_tcp",
        bin: "echo_tcp",
        args: &[],
        target: Target::RatioAtLeast(1.5),
        target_text: "≥ 1.5×",
    },
];

/// Go 1.23 as Debian installs it (`dpkg -L golang-1.23-go`).
const DEBIAN_GO: &str = "/usr/lib/go-1.23/bin/go";

const HOW_TO_GET_GO: &str =
    "install Go 1.23: add Debian's bookworm-backports suite to apt's sources \
     (`deb http://deb.debian.org/debian bookworm-backports main`), `apt-get update`, \
     `apt-get install -t bookworm-backports golang-1.23-go` (or point $GO at a go binary)";

const USAGE: &str = "usage: cargo xtask bench [--runs N] [--timeout SECS] [--echo-secs SECS] \
     [--no-go] [--no-build] [ROW...]";

/// Whether the Go twins can run.
#[derive(Debug)]
enum GoSide {
    Ready,
    /// `--no-go`, or no toolchain: the note says which.
    Absent(String),
    /// `go build` failed: the error.
    BuildFailed(String),
}

/// Command-line options.
#[derive(Debug)]
struct Options {
    runs: usize,
    timeout: Duration,
    echo_secs: f64,
    go: bool,
    build: bool,
    rows: Vec<&'static Row>,
}

fn parse_args(args: &[String]) -> Result<Options, DynError> {
    let mut opts = Options {
        runs: 3,
        timeout: Duration::from_secs(120),
        echo_secs: 10.0,
        go: true,
        build: true,
        rows: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = |what: &str| -> Result<String, DynError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => Ok(it
                    .next()
                    .ok_or_else(|| format!("bench: {flag} needs {what}\n{USAGE}"))?
                    .clone()),
            }
        };
        match flag {
            "--runs" => {
                let v = value("a number")?;
                opts.runs = match v.parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("bench: --runs takes a number ≥ 1, not `{v}`").into()),
                };
            }
            "--timeout" => {
                let v = value("seconds")?;
                opts.timeout = match v.parse::<u64>() {
                    Ok(s) if s >= 1 => Duration::from_secs(s),
                    _ => {
                        return Err(format!("bench: --timeout takes seconds ≥ 1, not `{v}`").into())
                    }
                };
            }
            "--echo-secs" => {
                let v = value("seconds")?;
                opts.echo_secs = match v.parse::<f64>() {
                    Ok(s) if s > 0.0 && s.is_finite() => s,
                    _ => {
                        return Err(
                            format!("bench: --echo-secs takes seconds > 0, not `{v}`").into()
                        )
                    }
                };
            }
            "--no-go" => opts.go = false,
            "--no-build" => opts.build = false,
            "-h" | "--help" => return Err(USAGE.into()),
            _ if a.starts_with('-') => {
                return Err(format!("bench: unknown option `{a}`\n{USAGE}").into())
            }
            name => match ROWS.iter().find(|r| r.name == name) {
                Some(r) => {
                    if !opts.rows.iter().any(|x| x.name == r.name) {
                        opts.rows.push(r);
                    }
                }
                None => {
                    let names: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
                    return Err(
                        format!("bench: unknown row `{name}`; rows: {}", names.join(", ")).into(),
                    );
                }
            },
        }
    }
    if opts.rows.is_empty() {
        opts.rows = ROWS.iter().collect();
    }
    Ok(opts)
}

/// One parsed `BENCH ...` line.
#[derive(Clone, Debug, PartialEq)]
struct Sample {
    value: f64,
    unit: String,
    rss_kib: u64,
    extra: HashMap<String, f64>,
}

/// Parses the one `BENCH` line of a workload's stdout and checks it names `row`.
fn parse_sample(stdout: &str, row: &str) -> Result<Sample, String> {
    let mut lines = stdout.lines().filter(|l| l.starts_with("BENCH "));
    let line = lines
        .next()
        .ok_or_else(|| "no `BENCH` line in its output".to_string())?;
    if lines.next().is_some() {
        return Err("more than one `BENCH` line in its output".into());
    }
    let mut fields = HashMap::new();
    for tok in line["BENCH ".len()..].split_whitespace() {
        let (k, v) = tok
            .split_once('=')
            .ok_or_else(|| format!("malformed field `{tok}` in `{line}`"))?;
        fields.insert(k.to_string(), v.to_string());
    }
    let get = |k: &str| {
        fields
            .get(k)
            .ok_or_else(|| format!("no `{k}=` in `{line}`"))
    };
    if get("row")? != row {
        return Err(format!("expected row={row}, got `{line}`"));
    }
    let number = |k: &str, v: &str| {
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("`{k}={v}` is not a number"))
    };
    let value = number("value", get("value")?)?;
    let unit = get("unit")?.clone();
    let rss = get("rss_kib")?;
    let rss_kib = rss
        .parse::<u64>()
        .map_err(|_| format!("`rss_kib={rss}` is not a whole number"))?;
    let mut extra = HashMap::new();
    for (k, v) in &fields {
        if !matches!(k.as_str(), "row" | "value" | "unit" | "rss_kib") {
            extra.insert(k.clone(), number(k, v)?);
        }
    }
    Ok(Sample {
        value,
        unit,
        rss_kib,
        extra,
    })
}

/// How one side of one row went.
#[derive(Debug)]
enum Outcome {
    /// Every run printed a valid line.
    Done(Vec<Sample>),
    /// The gmp workload binary does not exist yet.
    NotBuilt,
    /// That side's build failed.
    BuildFailed,
    /// No Go toolchain.
    NoGo,
    /// A run failed, timed out or printed garbage: the reason.
    Failed(String),
}

/// Runs `bin args...` once under `timeout`, returning its parsed line.
fn run_once(bin: &Path, args: &[String], row: &str, timeout: Duration) -> Result<Sample, String> {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let pipe = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = pipe(Box::new(child.stdout.take().expect("stdout is piped")));
    let err = pipe(Box::new(child.stderr.take().expect("stderr is piped")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {}: {e}", bin.display())),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let why = first_error(&stderr);
    match status {
        None => Err(format!("timed out after {} s{why}", timeout.as_secs())),
        Some(s) if !s.success() => Err(format!("exited with {s}{why}")),
        Some(_) => parse_sample(&stdout, row),
    }
}

/// The line of a failed run's stderr that says most (`: ` + it, or nothing): the workload's
/// own `bench:` verdict if any, else the first line (a panic, a runtime error), cut short.
fn first_error(stderr: &str) -> String {
    let mut lines = stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(first) = lines.clone().next() else {
        return String::new();
    };
    let line = lines.find(|l| l.starts_with("bench: ")).unwrap_or(first);
    let mut short: String = line.chars().take(160).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    format!(": {short}")
}

/// The median of `xs` (the mean of the middle two for an even count).
fn median(xs: &[f64]) -> f64 {
    assert!(!xs.is_empty(), "median of nothing");
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Medians of one side of a row.
#[derive(Clone, Debug)]
struct Summary {
    value: f64,
    unit: String,
    rss_kib: f64,
    extra: Vec<(String, f64)>,
}

fn summarize(samples: &[Sample]) -> Summary {
    let mut keys: Vec<&String> = samples[0].extra.keys().collect();
    keys.sort();
    let extra = keys
        .into_iter()
        .filter(|k| samples.iter().all(|s| s.extra.contains_key(*k)))
        .map(|k| {
            let xs: Vec<f64> = samples.iter().map(|s| s.extra[k]).collect();
            (k.clone(), median(&xs))
        })
        .collect();
    Summary {
        value: median(&samples.iter().map(|s| s.value).collect::<Vec<_>>()),
        unit: samples[0].unit.clone(),
        rss_kib: median(&samples.iter().map(|s| s.rss_kib as f64).collect::<Vec<_>>()),
        extra,
    }
}

/// A figure with its unit, as the table shows it.
fn show_value(s: &Summary) -> String {
    let v = s.value;
    let mut out = match s.unit.as_str() {
        "ns/op" => format!("{} ns", sig(v)),
        "ms" => format!("{} ms", sig(v)),
        "bytes" if v.abs() >= 1024.0 => format!("{:.2} KiB", v / 1024.0),
        "bytes" => format!("{v:.0} B"),
        "req/s" => format!("{v:.0} req/s"),
        "%" => format!("{v:.1} %"),
        u => format!("{} {u}", sig(v)),
    };
    let get = |k: &str| s.extra.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    if let (Some(p50), Some(p99)) = (get("p50_us"), get("p99_us")) {
        let _ = write!(out, " (p50 {} µs, p99 {} µs)", sig(p50), sig(p99));
    }
    if let Some(d) = get("drops").filter(|d| *d > 0.0) {
        let _ = write!(out, " ⚠{d:.0} drops");
    }
    out
}

/// Three significant figures, without exponent notation.
fn sig(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn show_rss(kib: f64) -> String {
    if kib >= 1024.0 * 1024.0 {
        format!("{:.2} GiB", kib / (1024.0 * 1024.0))
    } else if kib >= 1024.0 {
        format!("{:.1} MiB", kib / 1024.0)
    } else {
        format!("{kib:.0} KiB")
    }
}

fn show_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Done(samples) => show_value(&summarize(samples)),
        Outcome::NotBuilt => "not built".into(),
        Outcome::BuildFailed => "build failed".into(),
        Outcome::NoGo => "no Go".into(),
        Outcome::Failed(why) if why.starts_with("timed out") => "TIMED OUT".into(),
        Outcome::Failed(_) => "FAILED".into(),
    }
}

/// The gmp/Go cell and whether the target is met (None: cannot tell).
fn ratio_and_verdict(row: &Row, gmp: &Outcome, go: &Outcome) -> (String, Option<bool>) {
    let g = match gmp {
        Outcome::Done(s) => Some(summarize(s)),
        _ => None,
    };
    let o = match go {
        Outcome::Done(s) => Some(summarize(s)),
        _ => None,
    };
    let ratio = match (&g, &o) {
        (Some(g), Some(o)) if g.unit == o.unit && o.value != 0.0 => Some(g.value / o.value),
        _ => None,
    };
    let cell = ratio.map_or_else(|| "–".to_string(), |r| format!("{r:.2}"));
    let verdict = match row.target {
        Target::RatioAtMost(t) => ratio.map(|r| r <= t),
        Target::RatioAtLeast(t) => ratio.map(|r| r >= t),
        Target::AtMost(t) => g.as_ref().map(|g| g.value <= t),
        Target::PeakRssAtMost(kib) => g.as_ref().map(|g| g.rss_kib <= kib as f64),
    };
    (cell, verdict)
}

/// The table as aligned Markdown.
fn table(rows: &[(&Row, Outcome, Outcome)]) -> String {
    let mut cells: Vec<Vec<String>> = vec![[
        "row",
        "gmp",
        "Go",
        "gmp/Go",
        "target",
        "peak RSS gmp",
        "peak RSS Go",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    for (row, gmp, go) in rows {
        let (ratio, verdict) = ratio_and_verdict(row, gmp, go);
        let mark = match verdict {
            Some(true) => " ✓",
            Some(false) => " ✗",
            None => "",
        };
        let rss = |o: &Outcome| match o {
            Outcome::Done(s) => show_rss(summarize(s).rss_kib),
            _ => "–".into(),
        };
        cells.push(vec![
            row.name.to_string(),
            show_outcome(gmp),
            show_outcome(go),
            ratio,
            format!("{}{mark}", row.target_text),
            rss(gmp),
            rss(go),
        ]);
    }
    let ncol = cells[0].len();
    let widths: Vec<usize> = (0..ncol)
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String]| {
        let mut s = String::from("|");
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            let _ = write!(s, " {cell}{} |", " ".repeat(pad));
        }
        s.push('\n');
        s
    };
    let mut out = line(&cells[0]);
    out.push('|');
    for w in &widths {
        let _ = write!(out, "{}|", "-".repeat(w + 2));
    }
    out.push('\n');
    for r in &cells[1..] {
        out.push_str(&line(r));
    }
    out
}

/// Where cargo puts its output.
fn cargo_target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                project_root().join(d)
            }
        }
        None => project_root().join("target"),
    }
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

fn machine() -> String {
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    let cpus = thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("Linux {kernel}, nproc {cpus} ({model})")
}

pub(crate) fn run(args: &[String]) -> Result<(), DynError> {
    let opts = parse_args(args)?;
    let tdir = cargo_target_dir();
    let bench_dir = tdir.join("bench");

    // gmp side.
    let gmp_built = !opts.build || {
        let ok = run_cmd(cargo().args(["build", "--release", "-p", "gmp-examples", "--bins"]));
        if let Err(e) = &ok {
            eprintln!("xtask: bench: the gmp build failed ({e}); gmp rows are not run");
        }
        ok.is_ok()
    };

    // Go side.
    let mut go_version = None;
    let go_side = if !opts.go {
        GoSide::Absent("Go skipped (--no-go).".to_string())
    } else {
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
        match go {
            None => GoSide::Absent(format!("No Go toolchain: {HOW_TO_GET_GO}.")),
            Some(go) => {
                go_version = Command::new(&go)
                    .arg("version")
                    .output()
                    .ok()
                    .map(|o| go_label(&String::from_utf8_lossy(&o.stdout)));
                match build_go(&go, &bench_dir.join("go")) {
                    Ok(()) => GoSide::Ready,
                    Err(e) => GoSide::BuildFailed(format!("The Go twins did not build: {e}.")),
                }
            }
        }
    };

    let mut results = Vec::new();
    let mut failures = Vec::new();
    for row in &opts.rows {
        let mut args: Vec<String> = row.args.iter().map(|s| s.to_string()).collect();
        if row.name == "echo_tcp" {
            args.push(format!("--secs={}", opts.echo_secs));
        }
        let gmp_bin = tdir.join("release").join(format!("bench_{}", row.bin));
        let go_bin = bench_dir.join("go").join(row.bin);
        let mut gmp = if !gmp_built {
            Outcome::BuildFailed
        } else if !gmp_bin.is_file() {
            Outcome::NotBuilt
        } else {
            Outcome::Done(Vec::new())
        };
        let mut go = match &go_side {
            GoSide::Absent(_) => Outcome::NoGo,
            GoSide::BuildFailed(_) => Outcome::BuildFailed,
            GoSide::Ready if !go_bin.is_file() => Outcome::NotBuilt,
            GoSide::Ready => Outcome::Done(Vec::new()),
        };
        for i in 0..opts.runs {
            // Alternate which side goes first so slow drift hits both alike.
            let order: [(&str, &Path, &mut Outcome); 2] = if i % 2 == 0 {
                [("gmp", &gmp_bin, &mut gmp), ("Go", &go_bin, &mut go)]
            } else {
                [("Go", &go_bin, &mut go), ("gmp", &gmp_bin, &mut gmp)]
            };
            for (side, bin, outcome) in order {
                let Outcome::Done(samples) = outcome else {
                    continue;
                };
                match run_once(bin, &args, row.name, opts.timeout) {
                    Ok(s) => {
                        eprintln!(
                            "xtask: bench: {} {side} run {}/{}: {}",
                            row.name,
                            i + 1,
                            opts.runs,
                            show_value(&summarize(std::slice::from_ref(&s)))
                        );
                        samples.push(s);
                    }
                    Err(e) => {
                        eprintln!(
                            "xtask: bench: {} {side} run {}/{} failed: {e}",
                            row.name,
                            i + 1,
                            opts.runs
                        );
                        failures.push(format!("{} ({side}, run {}): {e}", row.name, i + 1));
                        *outcome = Outcome::Failed(e);
                    }
                }
            }
        }
        results.push((*row, gmp, go));
    }

    let mut md = String::new();
    let _ = writeln!(
        md,
        "gmp vs {} — {}, {}; median of {} run{}, 2 Ps unless `_p1`.\n",
        go_version.as_deref().unwrap_or("Go"),
        utc_now(),
        machine(),
        opts.runs,
        if opts.runs == 1 { "" } else { "s" }
    );
    md.push_str(&table(&results));
    let mut notes = Vec::new();
    match &go_side {
        GoSide::Ready => {}
        GoSide::Absent(n) | GoSide::BuildFailed(n) => notes.push(n.clone()),
    }
    notes.extend(failures.iter().map(|f| format!("FAILED {f}")));
    if results.iter().any(|(r, _, _)| r.name == "echo_tcp") {
        notes.push(format!(
            "echo_tcp ran {} s per run; \"drops\" are loopback packets the kernel dropped \
             (net.core.netdev_max_backlog), each costing a retransmission timeout.",
            opts.echo_secs
        ));
    }
    if !notes.is_empty() {
        md.push('\n');
        for n in &notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    println!("\n{md}");
    let latest = project_root().join("target/bench/latest.md");
    if let Some(dir) = latest.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(&latest, &md)?;
    eprintln!("xtask: bench: table written to {}", latest.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(value: f64, rss_kib: u64) -> Sample {
        Sample {
            value,
            unit: "ns/op".into(),
            rss_kib,
            extra: HashMap::new(),
        }
    }

    #[test]
    fn parses_a_bench_line_and_its_extras() {
        let s = parse_sample(
            "noise\nBENCH row=echo_tcp value=1234.50 unit=req/s rss_kib=2048 p50_us=12.5 drops=0\n",
            "echo_tcp",
        )
        .unwrap();
        assert_eq!(s.value, 1234.5);
        assert_eq!(s.unit, "req/s");
        assert_eq!(s.rss_kib, 2048);
        assert_eq!(s.extra["p50_us"], 12.5);
        assert_eq!(s.extra["drops"], 0.0);
    }

    #[test]
    fn rejects_bad_lines() {
        let bad = [
            ("", "no `BENCH` line"),
            ("BENCH row=yield value=1 unit=ns/op", "no `rss_kib=`"),
            ("BENCH row=skynet value=1 unit=ms rss_kib=1", "expected row=yield"),
            ("BENCH row=yield value=x unit=ns/op rss_kib=1", "`value=x` is not a number"),
            ("BENCH row=yield value=inf unit=ns/op rss_kib=1", "is not a number"),
            ("BENCH row=yield value=1 unit=ns/op rss_kib=1.5", "not a whole number"),
            ("BENCH row=yield value=1 unit=ns/op rss_kib=1 junk", "malformed field"),
            (
                "BENCH row=yield value=1 unit=ns/op rss_kib=1\nBENCH row=yield value=1 unit=ns/op rss_kib=1",
                "more than one",
            ),
        ];
        for (out, want) in bad {
            let e = parse_sample(out, "yield").unwrap_err();
            assert!(e.contains(want), "{out:?}: {e}");
        }
    }

    #[test]
    fn failed_runs_are_summed_up_by_their_most_telling_line() {
        assert_eq!(first_error(""), "");
        assert_eq!(first_error("\n  \n"), "");
        assert_eq!(
            first_error("gmp: cannot allocate a stack\nmore\n"),
            ": gmp: cannot allocate a stack"
        );
        assert_eq!(
            first_error("noise\nbench: sum 1, want 2\n"),
            ": bench: sum 1, want 2"
        );
        let long = "x".repeat(500);
        assert_eq!(first_error(&long).chars().count(), 2 + 160 + 1);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn ratio_and_targets() {
        let row = ROWS.iter().find(|r| r.name == "spawn_join").unwrap();
        let gmp = Outcome::Done(vec![sample(100.0, 1), sample(150.0, 1), sample(90.0, 1)]);
        let go = Outcome::Done(vec![sample(200.0, 1)]);
        assert_eq!(
            ratio_and_verdict(row, &gmp, &go),
            ("0.50".to_string(), Some(true))
        );
        let slow = Outcome::Done(vec![sample(180.0, 1)]);
        assert_eq!(
            ratio_and_verdict(row, &slow, &go),
            ("0.90".to_string(), Some(false))
        );
        assert_eq!(
            ratio_and_verdict(row, &Outcome::NotBuilt, &go),
            ("–".to_string(), None)
        );
        // Absolute targets are judged on gmp's figure alone, with or without Go.
        let mem = ROWS.iter().find(|r| r.name == "spawn_memory").unwrap();
        let small = Outcome::Done(vec![sample(400.0, 1)]);
        assert_eq!(ratio_and_verdict(mem, &small, &Outcome::NoGo).1, Some(true));
        let million = ROWS.iter().find(|r| r.name == "million").unwrap();
        let big = Outcome::Done(vec![sample(1.0, 5 * 1024 * 1024)]);
        assert_eq!(
            ratio_and_verdict(million, &big, &Outcome::NoGo).1,
            Some(false)
        );
        let echo = ROWS.iter().find(|r| r.name == "echo_tcp").unwrap();
        let fast = Outcome::Done(vec![sample(300.0, 1)]);
        assert_eq!(ratio_and_verdict(echo, &fast, &go).1, Some(true));
    }

    #[test]
    fn table_shows_missing_sides() {
        let row = ROWS.iter().find(|r| r.name == "yield").unwrap();
        let t = table(&[(
            row,
            Outcome::NotBuilt,
            Outcome::Done(vec![sample(100.0, 2048)]),
        )]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[2].contains("not built"), "{t}");
        assert!(lines[2].contains("100 ns"), "{t}");
        assert!(lines[2].contains("2.0 MiB"), "{t}");
        // Aligned: every line has the same width.
        let w = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == w), "{t}");
    }

    #[test]
    fn args_select_rows_and_options() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = parse_args(&a(&["--runs", "5", "skynet", "--timeout=30", "yield"])).unwrap();
        assert_eq!(o.runs, 5);
        assert_eq!(o.timeout, Duration::from_secs(30));
        let names: Vec<&str> = o.rows.iter().map(|r| r.name).collect();
        assert_eq!(names, ["skynet", "yield"]);
        assert_eq!(parse_args(&[]).unwrap().rows.len(), ROWS.len());
        assert!(parse_args(&a(&["--runs", "0"])).is_err());
        assert!(parse_args(&a(&["--runs"])).is_err());
        assert!(parse_args(&a(&["--echo-secs", "-1"])).is_err());
        assert!(parse_args(&a(&["nope"]))
            .unwrap_err()
            .to_string()
            .contains("unknown row `nope`"));
        assert!(parse_args(&a(&["--frobnicate"])).is_err());
    }

    #[test]
    fn go_version_label() {
        assert_eq!(go_label("go version go1.23.5 linux/amd64\n"), "Go 1.23.5");
        assert_eq!(go_label("garbage"), "Go");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_now().len(), "2026-01-01 00:00 UTC".len());
    }
}
