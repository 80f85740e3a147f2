//! `cargo xtask bench`'s command line: options and row names.

use super::rows::{Row, ROWS};
use crate::DynError;
use std::time::Duration;

const USAGE: &str = "usage: cargo xtask bench [--runs N] [--timeout SECS] [--echo-secs SECS] \
     [--no-go] [--no-build] [ROW...]";

/// Command-line options.
#[derive(Debug)]
pub(super) struct Options {
    pub(super) runs: usize,
    pub(super) timeout: Duration,
    pub(super) echo_secs: f64,
    pub(super) go: bool,
    pub(super) build: bool,
    pub(super) rows: Vec<&'static Row>,
}

pub(super) fn parse_args(args: &[String]) -> Result<Options, DynError> {
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
        assert!(parse_args(&a(&["--runs", "0"])).is_err());
        assert!(parse_args(&a(&["--runs"])).is_err());
        assert!(parse_args(&a(&["--echo-secs", "-1"])).is_err());
        assert!(parse_args(&a(&["nope"]))
            .unwrap_err()
            .to_string()
            .contains("unknown row `nope`"));
        assert!(parse_args(&a(&["--frobnicate"])).is_err());
    }
}
