//! What every benchmark workload shares, gmp's (`src/bin/bench_*.rs`) and tokio's
//! (`tokio/src/bin/*.rs`), line for line with their Go twins
//! (`gmp-examples/go/internal/report`): flags, the memory and CPU probes read from
//! `/proc/self`, the result check, and the one output line that `cargo xtask bench` parses:
//!
//! ```text
//! BENCH row=<row> value=<number> unit=<ns/op|ms|bytes|req/s|%> rss_kib=<VmHWM> [key=value...]
//! ```
//!
//! One file for both: gmp-examples has it as a module (re-exported by `bench`), the tokio
//! twins' package, which depends on no gmp crate, includes it by path (`tokio/src/report.rs`).

use std::fmt::{Display, Write as _};
use std::fs;
use std::process;
use std::time::Duration;

/// `USER_HZ`, the unit of [`cpu_ticks`]: 100 on every Linux architecture.
pub const USER_HZ: f64 = 100.0;

/// The workload's command-line flags, `--name=value` or `--name value` (Go's `flag` syntax,
/// so the harness passes the same arguments to every twin).
#[derive(Debug, Default)]
pub struct Flags {
    pairs: Vec<(String, String)>,
}

impl Flags {
    /// Parses the process's arguments, accepting only the flags named in `known`; anything
    /// else ends the process with status 2 and a usage message.
    pub fn from_env(known: &[&str]) -> Flags {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Flags::parse(&args, known).unwrap_or_else(|e| {
            eprintln!("bench: {e}");
            process::exit(2)
        })
    }

    /// Parses `args`, accepting only the flags named in `known`.
    pub fn parse(args: &[String], known: &[&str]) -> Result<Flags, String> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let body = a
                .strip_prefix("--")
                .or_else(|| a.strip_prefix('-'))
                .ok_or_else(|| format!("unexpected argument `{a}`"))?;
            let name = body.split_once('=').map_or(body, |(n, _)| n);
            if !known.contains(&name) {
                return Err(format!(
                    "unknown flag `{a}` (known: {})",
                    known
                        .iter()
                        .map(|k| format!("--{k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let value = match body.split_once('=') {
                Some((_, v)) => v.to_string(),
                None => it
                    .next()
                    .ok_or_else(|| format!("flag `{a}` needs a value"))?
                    .clone(),
            };
            pairs.push((name.to_string(), value));
        }
        Ok(Flags { pairs })
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `--name` as a whole number of at least 1, or `default`.
    pub fn count(&self, name: &str, default: usize) -> Result<usize, String> {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!("--{name} must be a whole number ≥ 1, not `{v}`")),
            },
        }
    }

    /// The value of `--name` as a positive number of seconds, or `default`.
    pub fn seconds(&self, name: &str, default: f64) -> Result<Duration, String> {
        match self.raw(name) {
            None => Ok(Duration::from_secs_f64(default)),
            Some(v) => match v.parse::<f64>() {
                Ok(s) if s > 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
                _ => Err(format!(
                    "--{name} must be a number of seconds > 0, not `{v}`"
                )),
            },
        }
    }
}

/// Prints `bench: <msg>` and exits with status 1: a wrong result must never print a figure.
pub fn fail(msg: impl Display) -> ! {
    eprintln!("bench: {msg}");
    process::exit(1)
}

/// Fails the run unless `ok`; `msg` is only built on failure.
pub fn check<M: Display>(ok: bool, msg: impl FnOnce() -> M) {
    if !ok {
        fail(msg())
    }
}

/// A `Key:   N kB` field of a `/proc/<pid>/status` text.
pub fn status_field_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn self_status_kib(key: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status")
        .unwrap_or_else(|e| fail(format!("read /proc/self/status: {e}")));
    status_field_kib(&status, key).unwrap_or_else(|| fail(format!("no {key} in /proc/self/status")))
}

/// The resident set size now (`VmRSS`), in KiB.
pub fn rss_kib() -> u64 {
    self_status_kib("VmRSS")
}

/// The peak resident set size of the process (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> u64 {
    self_status_kib("VmHWM")
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` text, in clock ticks.
pub fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // f[0] is field 3 (state), so field k is f[k - 3].
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU time the whole process has used (utime + stime), in [`USER_HZ`] ticks.
pub fn cpu_ticks() -> u64 {
    let stat = fs::read_to_string("/proc/self/stat")
        .unwrap_or_else(|e| fail(format!("read /proc/self/stat: {e}")));
    stat_cpu_ticks(&stat).unwrap_or_else(|| fail("malformed /proc/self/stat"))
}

/// Packets dropped because a CPU's input backlog was full: column 2 (hex) of
/// `/proc/net/softnet_stat`, summed over CPUs. Loopback TCP goes through that backlog.
pub fn softnet_drops() -> u64 {
    fs::read_to_string("/proc/net/softnet_stat")
        .map(|s| {
            s.lines()
                .filter_map(|l| l.split_whitespace().nth(1))
                .filter_map(|c| u64::from_str_radix(c, 16).ok())
                .sum()
        })
        .unwrap_or(0)
}

/// `d` divided by `n` operations, in ns.
pub fn ns_per(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

/// `d` in ms.
pub fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

/// RSS growth per item in bytes, from two [`rss_kib`] readings.
pub fn bytes_per(before_kib: u64, after_kib: u64, n: u64) -> f64 {
    (after_kib as f64 - before_kib as f64) * 1024.0 / n as f64
}

/// The result line, with `rss_kib` given.
pub fn format_line(
    row: &str,
    value: f64,
    unit: &str,
    rss_kib: u64,
    extra: &[(&str, f64)],
) -> String {
    let mut s = format!("BENCH row={row} value={value:.2} unit={unit} rss_kib={rss_kib}");
    for (k, v) in extra {
        let _ = write!(s, " {k}={v:.2}");
    }
    s
}

/// Prints the result line, with the process's peak RSS (`VmHWM`) read now.
pub fn report(row: &str, value: f64, unit: &str, extra: &[(&str, f64)]) {
    println!("{}", format_line(row, value, unit, peak_rss_kib(), extra));
}

/// `--procs` (GOMAXPROCS for the workload, the worker threads of a tokio twin), or
/// `default`; a bad value (`--procs 0`) ends the process with status 1 and says why.
pub fn procs(flags: &Flags, default: usize) -> usize {
    flags.count("procs", default).unwrap_or_else(|e| fail(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_in_go_syntax() {
        let f = Flags::parse(&strings(&["--procs=1", "-secs", "2.5"]), &["procs", "secs"]).unwrap();
        assert_eq!(f.count("procs", 2), Ok(1));
        assert_eq!(f.seconds("secs", 10.0), Ok(Duration::from_millis(2500)));
        let none = Flags::parse(&[], &["procs"]).unwrap();
        assert_eq!(none.count("procs", 2), Ok(2));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(Flags::parse(&strings(&["--nope=1"]), &["procs"])
            .unwrap_err()
            .contains("unknown flag `--nope=1` (known: --procs)"));
        assert!(Flags::parse(&strings(&["--bogus"]), &["procs"])
            .unwrap_err()
            .contains("unknown flag `--bogus`"));
        assert!(Flags::parse(&strings(&["procs"]), &["procs"]).is_err());
        assert!(Flags::parse(&strings(&["--procs"]), &["procs"]).is_err());
        let f = Flags::parse(&strings(&["--procs=0", "--secs=-1"]), &["procs", "secs"]).unwrap();
        assert!(f.count("procs", 2).is_err());
        assert!(f.seconds("secs", 1.0).is_err());
    }

    #[test]
    fn proc_parsers() {
        let status = "Name:\tx\nVmHWM:\t  123456 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(status_field_kib(status, "VmHWM"), Some(123_456));
        assert_eq!(status_field_kib(status, "VmRSS"), Some(2048));
        assert_eq!(status_field_kib(status, "VmSwap"), None);
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 3 0 5 0";
        assert_eq!(stat_cpu_ticks(stat), Some(287));
        assert_eq!(stat_cpu_ticks("42 (x) S 1"), None);
        // This process has some RSS, and its peak (read later: other tests may allocate in
        // between) is at least what the RSS was.
        let rss = rss_kib();
        let peak = peak_rss_kib();
        assert!(rss > 0 && peak >= rss, "rss {rss} KiB, peak {peak} KiB");
        let _ = cpu_ticks();
    }

    #[test]
    fn result_line() {
        assert_eq!(
            format_line("echo_tcp", 1234.567, "req/s", 99, &[("p50_us", 12.0)]),
            "BENCH row=echo_tcp value=1234.57 unit=req/s rss_kib=99 p50_us=12.00"
        );
        assert_eq!(bytes_per(1000, 1001, 4), 256.0);
        assert_eq!(ns_per(Duration::from_micros(3), 1000), 3.0);
        assert_eq!(ms(Duration::from_micros(2500)), 2.5);
    }
}
