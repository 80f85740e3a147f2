//! What the tokio twins share, line for line with gmp's `gmp-examples/src/bench.rs` and Go's
//! `gmp-examples/go/internal/report`: the flags, the memory and CPU probes read from
//! `/proc/self`, the result check, the one output line that `cargo xtask bench` parses, and the
//! runtime every twin runs on.
//!
//! ```text
//! BENCH row=<row> value=<number> unit=<ns/op|ms|bytes|req/s|%> rss_kib=<VmHWM> [key=value...]
//! ```

use std::fmt::{Display, Write as _};
use std::fs;
use std::future::Future;
use std::process;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// `USER_HZ`, the unit of [`cpu_ticks`]: 100 on every Linux architecture.
pub const USER_HZ: f64 = 100.0;

/// The workload's command-line flags, `--name=value` or `--name value` (Go's `flag` syntax,
/// so the harness passes the same arguments to all three twins).
#[derive(Debug, Default)]
pub struct Flags {
    pairs: Vec<(String, String)>,
}

impl Flags {
    /// Parses the process's arguments, accepting only the flags named in `known`; anything
    /// else ends the process with status 2 and a usage message (as Go's `flag` does).
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
/// Callable from a task: it ends the whole process, not only the task.
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

/// `--procs` (the worker threads of the runtime, GOMAXPROCS of the Go twin), or `default`;
/// a bad value (`--procs 0`) ends the process with status 1 and says why.
pub fn procs(flags: &Flags, default: usize) -> usize {
    flags.count("procs", default).unwrap_or_else(|e| fail(e))
}

/// The runtime a twin runs on: tokio's multi-thread scheduler with `procs` worker threads
/// (`worker_threads(1)` for the `_p1` rows, not the current-thread scheduler: one worker
/// thread is what "1 P" means on the gmp and Go sides), I/O and timers enabled, everything
/// else at tokio's defaults: what `#[tokio::main(worker_threads = N)]` builds.
pub fn runtime(procs: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("building a runtime with {procs} workers: {e}")))
}

/// Runs `main` to completion on a [`runtime`] of `procs` workers and returns its output.
///
/// `main` runs as a spawned task, not as the future `block_on` polls: `#[tokio::main]`
/// polls its body on the program's main thread, beside the workers, so `procs` workers would
/// be `procs` + 1 threads running the workload. Spawned, the whole workload runs on the
/// `procs` workers, as Go's main goroutine runs on one of its GOMAXPROCS Ps and gmp's on one
/// of its `procs` Ps. A panic in `main` fails the run.
pub fn run<F>(procs: usize, main: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime(procs);
    let handle = rt.spawn(main);
    rt.block_on(handle)
        .unwrap_or_else(|e| fail(format!("main task: {e}")))
}

/// Moves `value` to the heap for the rest of the process: state every task of a workload
/// shares, captured as one plain reference the way a Go closure captures pointers (and as
/// gmp's twins do), so no twin pays an `Arc` count per task that the others do not.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// A count-down latch with one waiter: the twin's `sync.WaitGroup` where only main waits.
/// tokio has no WaitGroup; this is the cheapest equivalent from its parts, one atomic
/// decrement per [`done`](Countdown::done) (as `wg.Done()`) and a [`Notify`] that the last
/// one wakes (`notify_one` stores a permit when nobody waits yet, so no wake-up is lost).
///
/// `left` counts the [`done`](Countdown::done) calls still expected:
///
/// | `left` | meaning                                 | next                                  |
/// |--------|-----------------------------------------|---------------------------------------|
/// | n > 1  | n calls to go                           | `done` → n - 1                        |
/// | 1      | the next `done` is the last             | `done` → 0 and notifies the waiter    |
/// | 0      | finished: `wait` returns                | `done` fails the run (too many calls) |
#[derive(Debug)]
pub struct Countdown {
    left: AtomicUsize,
    zero: Notify,
}

impl Countdown {
    /// A latch expecting `n` calls to [`done`](Countdown::done).
    pub fn new(n: usize) -> Countdown {
        Countdown {
            left: AtomicUsize::new(n),
            zero: Notify::new(),
        }
    }

    /// Counts one down; the last call wakes the waiter.
    pub fn done(&self) {
        match self.left.fetch_sub(1, Ordering::AcqRel) {
            0 => fail("Countdown::done called more often than counted"),
            1 => self.zero.notify_one(),
            _ => {}
        }
    }

    /// Waits until the count reaches zero. One task at a time may wait.
    pub async fn wait(&self) {
        while self.left.load(Ordering::Acquire) != 0 {
            self.zero.notified().await;
        }
    }

    /// Calls to [`done`](Countdown::done) still expected.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
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
        assert!(Flags::parse(&strings(&["procs"]), &["procs"]).is_err());
        assert!(Flags::parse(&strings(&["--procs"]), &["procs"]).is_err());
        let f = Flags::parse(&strings(&["--procs=0", "--secs=-1"]), &["procs", "secs"]).unwrap();
        assert_eq!(
            f.count("procs", 2),
            Err("--procs must be a whole number ≥ 1, not `0`".to_string())
        );
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
        let rss = rss_kib();
        let peak = peak_rss_kib();
        assert!(rss > 0 && peak >= rss, "rss {rss} KiB, peak {peak} KiB");
        let _ = cpu_ticks();
    }

    #[test]
    fn countdown_wakes_its_waiter_on_the_last_done() {
        for procs in [1, 2] {
            let left = run(procs, async {
                let latch = leak(Countdown::new(1000));
                for _ in 0..1000 {
                    tokio::spawn(async move { latch.done() });
                }
                latch.wait().await;
                latch.left()
            });
            assert_eq!(left, 0);
        }
        // A zero count does not wait; a count reached before the wait does not either.
        run(1, async {
            Countdown::new(0).wait().await;
            let c = Countdown::new(1);
            c.done();
            c.wait().await;
        });
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
