//! Running a workload under a timeout and parsing its `BENCH` line.

use super::options::Options;
use super::rows::Row;
use super::stats::summarize;
use super::table::show_value;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// One parsed `BENCH ...` line.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Sample {
    pub(super) value: f64,
    pub(super) unit: String,
    pub(super) rss_kib: u64,
    pub(super) extra: HashMap<String, f64>,
}

/// Parses the one `BENCH` line of a workload's stdout and checks it names `row`.
pub(super) fn parse_sample(stdout: &str, row: &str) -> Result<Sample, String> {
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
pub(super) enum Outcome {
    /// Every run printed a valid line.
    Done(Vec<Sample>),
    /// The gmp workload binary does not exist yet.
    NotBuilt,
    /// That side's build failed.
    BuildFailed,
    /// No Go toolchain (or `--no-go`).
    NoGo,
    /// No tokio side (`--no-tokio`).
    NoTokio,
    /// A run failed, timed out or printed garbage: the reason.
    Failed(String),
}

/// One side of one row: its name in messages, its binary, and how it has gone so far.
#[derive(Debug)]
pub(super) struct Side {
    pub(super) name: &'static str,
    pub(super) bin: PathBuf,
    pub(super) outcome: Outcome,
}

impl Side {
    /// A side ready to run if its build went well and its binary exists.
    pub(super) fn new(name: &'static str, built: bool, bin: PathBuf) -> Side {
        let outcome = if !built {
            Outcome::BuildFailed
        } else if !bin.is_file() {
            Outcome::NotBuilt
        } else {
            Outcome::Done(Vec::new())
        };
        Side { name, bin, outcome }
    }
}

/// Which run of a side a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Turn {
    /// The discarded warm-up run (the first spawn_join run was 2–3× the later ones for
    /// every system measured: page faults, a cold CPU frequency, cold caches).
    WarmUp,
    /// Measured run `i` (from 0).
    Measured(usize),
}

/// One run in a row's plan: which side (its index among the sides that run: 0 gmp, 1 Go,
/// 2 tokio when all three do) and which of its runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Step {
    pub(super) side: usize,
    pub(super) turn: Turn,
}

/// The order of a row's runs over `sides` sides: with `warmup`, one discarded run per side
/// (gmp, Go, tokio), then `runs` rounds of one measured run per side, the sides in turn and
/// the first of each round rotating (gmp, Go, tokio; Go, tokio, gmp; ...; with two sides
/// gmp, Go; Go, gmp; ...) so slow drift hits every side alike.
pub(super) fn plan(runs: usize, warmup: bool, sides: usize) -> Vec<Step> {
    let mut steps = Vec::with_capacity(sides * (runs + 1));
    if warmup {
        for side in 0..sides {
            steps.push(Step {
                side,
                turn: Turn::WarmUp,
            });
        }
    }
    for i in 0..runs {
        for k in 0..sides {
            steps.push(Step {
                side: (i + k) % sides,
                turn: Turn::Measured(i),
            });
        }
    }
    steps
}

/// Runs `row` on every side following [`plan`] over the sides that can run (a side absent,
/// unbuilt or failed from the start takes no turn, so the others still alternate evenly);
/// warm-up results are dropped. A failed run (warm-up or not) makes its side `Failed` (not
/// run again) and is added to `failures`.
pub(super) fn run_row(
    row: &Row,
    opts: &Options,
    sides: &mut [&mut Side],
    failures: &mut Vec<String>,
) {
    let args = row.workload_args(opts.echo_secs, opts.procs);
    let runnable: Vec<usize> = (0..sides.len())
        .filter(|&i| matches!(sides[i].outcome, Outcome::Done(_)))
        .collect();
    for step in plan(opts.runs, opts.warmup, runnable.len()) {
        let side = &mut *sides[runnable[step.side]];
        let Outcome::Done(samples) = &mut side.outcome else {
            continue;
        };
        let which = match step.turn {
            Turn::WarmUp => "warm-up run (discarded)".to_string(),
            Turn::Measured(i) => format!("run {}/{}", i + 1, opts.runs),
        };
        match run_once(&side.bin, &args, row.name, opts.timeout) {
            Ok(s) => {
                eprintln!(
                    "xtask: bench: {} {} {which}: {}",
                    row.name,
                    side.name,
                    show_value(&summarize(std::slice::from_ref(&s)))
                );
                if let Turn::Measured(_) = step.turn {
                    samples.push(s);
                }
            }
            Err(e) => {
                eprintln!(
                    "xtask: bench: {} {} {which} failed: {e}",
                    row.name, side.name
                );
                failures.push(format!("{} ({}, {which}): {e}", row.name, side.name));
                side.outcome = Outcome::Failed(e);
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn plan_warms_each_side_up_once_then_alternates() {
        let steps = plan(5, true, 2);
        let count = |side: usize, warm: bool| {
            steps
                .iter()
                .filter(|s| s.side == side && (s.turn == Turn::WarmUp) == warm)
                .count()
        };
        for side in [0, 1] {
            assert_eq!(count(side, true), 1, "one warm-up per side");
            assert_eq!(count(side, false), 5, "five measured runs per side");
        }
        // The warm-ups come first, then gmp/Go, Go/gmp, ...
        assert!(steps[..2].iter().all(|s| s.turn == Turn::WarmUp));
        assert!(steps[2..].iter().all(|s| s.turn != Turn::WarmUp));
        let firsts: Vec<usize> = steps[2..].chunks(2).map(|c| c[0].side).collect();
        assert_eq!(firsts, [0, 1, 0, 1, 0]);
        for (i, pair) in steps[2..].chunks(2).enumerate() {
            assert!(pair.iter().all(|s| s.turn == Turn::Measured(i)), "{pair:?}");
        }
        // --no-warmup: measured runs only.
        let cold = plan(3, false, 2);
        assert_eq!(cold.len(), 6);
        assert!(cold.iter().all(|s| s.turn != Turn::WarmUp));
        assert_eq!(plan(1, true, 2).len(), 4);
    }

    #[test]
    fn plan_with_tokio_takes_turns_and_rotates_the_first() {
        let steps = plan(4, true, 3);
        assert_eq!(steps.len(), 3 + 3 * 4);
        // One warm-up each, gmp, Go, tokio, before any measured run.
        let warm: Vec<usize> = steps[..3].iter().map(|s| s.side).collect();
        assert_eq!(warm, [0, 1, 2]);
        assert!(steps[..3].iter().all(|s| s.turn == Turn::WarmUp));
        // Then rounds of one run per side, in turn, the first side rotating.
        let order: Vec<usize> = steps[3..].iter().map(|s| s.side).collect();
        assert_eq!(order, [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2]);
        for (i, round) in steps[3..].chunks(3).enumerate() {
            assert!(
                round.iter().all(|s| s.turn == Turn::Measured(i)),
                "{round:?}"
            );
        }
        for side in 0..3 {
            let measured = steps
                .iter()
                .filter(|s| s.side == side && s.turn != Turn::WarmUp)
                .count();
            assert_eq!(measured, 4);
        }
        let cold = plan(2, false, 3);
        assert_eq!(cold.len(), 6);
        assert!(cold.iter().all(|s| s.turn != Turn::WarmUp));
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

    /// A fake workload: a shell script that logs its side's name to `log` and prints a
    /// `BENCH` line for `row` (or exits 1 when `fail`).
    fn fake_workload(dir: &Path, side: &str, row: &str, log: &Path, fail: bool) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join(side);
        let body = if fail {
            "echo 'bench: wrong sum' >&2; exit 1".to_string()
        } else {
            format!("echo 'BENCH row={row} value=1 unit=ns/op rss_kib=1'")
        };
        let script = format!("#!/bin/sh\necho {side} >> '{}'\n{body}\n", log.display());
        std::fs::write(&bin, script).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    #[test]
    fn run_row_takes_turns_among_the_sides_that_can_run() {
        use crate::bench::options::parse_args;
        use crate::bench::rows::ROWS;
        let dir = std::env::temp_dir().join(format!("xtask-run-row-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let row = ROWS.iter().find(|r| r.name == "yield").unwrap();
        let opts = parse_args(&["--runs=3".to_string()]).unwrap();
        let order = |sides: &mut [&mut Side]| {
            let _ = std::fs::remove_file(&log);
            let mut failures = Vec::new();
            run_row(row, &opts, sides, &mut failures);
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            (
                text.split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
                failures,
            )
        };

        // A side whose fake workload runs `yield` (and fails it, with `fails`).
        let side = |name: &'static str, fails: bool| {
            Side::new(name, true, fake_workload(&dir, name, "yield", &log, fails))
        };

        // All three: warm-ups gmp, Go, tokio, then rounds rotating the first.
        let mut gmp = side("gmp", false);
        let mut go = side("Go", false);
        let mut tokio = side("tokio", false);
        let (ran, failures) = order(&mut [&mut gmp, &mut go, &mut tokio]);
        assert_eq!(
            ran,
            [
                "gmp", "Go", "tokio", "gmp", "Go", "tokio", "Go", "tokio", "gmp", "tokio", "gmp",
                "Go"
            ]
        );
        assert!(failures.is_empty(), "{failures:?}");
        for side in [&gmp, &go, &tokio] {
            assert!(
                matches!(&side.outcome, Outcome::Done(s) if s.len() == 3),
                "{side:?}"
            );
        }

        // No Go: gmp and tokio alternate as gmp and Go did.
        let mut gmp = side("gmp", false);
        let mut go = Side {
            name: "Go",
            bin: dir.join("Go"),
            outcome: Outcome::NoGo,
        };
        let mut tokio = side("tokio", false);
        let (ran, _) = order(&mut [&mut gmp, &mut go, &mut tokio]);
        assert_eq!(
            ran,
            ["gmp", "tokio", "gmp", "tokio", "tokio", "gmp", "gmp", "tokio"]
        );
        assert!(matches!(go.outcome, Outcome::NoGo));

        // A tokio twin that fails is run once, noted, and never again; the others go on.
        let mut gmp = side("gmp", false);
        let mut go = side("Go", false);
        let mut tokio = side("tokio", true);
        let (ran, failures) = order(&mut [&mut gmp, &mut go, &mut tokio]);
        assert_eq!(ran.iter().filter(|s| *s == "tokio").count(), 1, "{ran:?}");
        assert_eq!(ran.iter().filter(|s| *s == "gmp").count(), 4, "{ran:?}");
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].contains("yield (tokio, warm-up run (discarded))"),
            "{failures:?}"
        );
        assert!(failures[0].contains("bench: wrong sum"), "{failures:?}");
        assert!(matches!(tokio.outcome, Outcome::Failed(_)));
        assert!(matches!(&gmp.outcome, Outcome::Done(s) if s.len() == 3));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
