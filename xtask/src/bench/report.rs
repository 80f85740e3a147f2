//! The report around the table: its header (Go version, date, machine), notes, `latest.md`.

use super::options::Options;
use super::rows::Row;
use super::run::Outcome;
use super::table::table;
use crate::cmd::project_root;
use crate::DynError;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

/// The whole report in Markdown: a header line, the table, then the notes (why the Go side
/// is missing, each failed run, what echo_tcp's figures mean).
pub(super) fn render(
    opts: &Options,
    go_version: Option<&str>,
    go_note: Option<&str>,
    results: &[(&Row, Outcome, Outcome)],
    failures: &[String],
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "gmp vs {} — {}, {}; median of {} run{}, 2 Ps unless `_p1`.\n",
        go_version.unwrap_or("Go"),
        utc_now(),
        machine(),
        opts.runs,
        if opts.runs == 1 { "" } else { "s" }
    );
    md.push_str(&table(results));
    let mut notes: Vec<String> = go_note.map(str::to_string).into_iter().collect();
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

/// The machine line: kernel, CPU count and model.
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
}
