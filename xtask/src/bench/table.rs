//! The results table: value and RSS formatting, gmp/Go and gmp/tokio ratios, verdicts, aligned
//! Markdown.

use super::rows::{Row, Target};
use super::run::Outcome;
use super::stats::{summarize, Summary};
use std::fmt::Write as _;

/// A figure with its unit, as the table shows it: the median and, over more than one run,
/// the min–max spread in the same scale (`540 ns (521–547)`).
pub(super) fn show_value(s: &Summary) -> String {
    let v = s.value;
    let in_kib = s.unit == "bytes" && v.abs() >= 1024.0;
    let number = |x: f64| match s.unit.as_str() {
        "bytes" if in_kib => format!("{:.2}", x / 1024.0),
        "bytes" | "req/s" => format!("{x:.0}"),
        "%" => format!("{x:.1}"),
        _ => sig(x),
    };
    let unit = match s.unit.as_str() {
        "ns/op" => "ns",
        "bytes" if in_kib => "KiB",
        "bytes" => "B",
        u => u,
    };
    let mut out = format!("{} {unit}", number(v));
    if s.runs > 1 {
        let _ = write!(out, " ({}–{})", number(s.min), number(s.max));
    }
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
        Outcome::NoTokio => "no tokio".into(),
        Outcome::Failed(why) if why.starts_with("timed out") => "TIMED OUT".into(),
        Outcome::Failed(_) => "FAILED".into(),
    }
}

fn summary(o: &Outcome) -> Option<Summary> {
    match o {
        Outcome::Done(s) => Some(summarize(s)),
        _ => None,
    }
}

/// gmp's median over the other side's (None: a side has no figures, or they differ in unit).
fn ratio(gmp: &Outcome, other: &Outcome) -> Option<f64> {
    match (summary(gmp), summary(other)) {
        (Some(g), Some(o)) if g.unit == o.unit && o.value != 0.0 => Some(g.value / o.value),
        _ => None,
    }
}

/// A ratio cell: two decimals, or `–`.
fn show_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_string(), |r| format!("{r:.2}"))
}

/// The gmp/Go cell and whether the target is met (None: cannot tell). The targets are
/// against Go (shared/BENCH.md); the tokio column is there to compare, not judged.
fn ratio_and_verdict(row: &Row, gmp: &Outcome, go: &Outcome) -> (String, Option<bool>) {
    let g = summary(gmp);
    let ratio = ratio(gmp, go);
    let cell = show_ratio(ratio);
    let verdict = match row.target {
        Target::RatioAtMost(t) => ratio.map(|r| r <= t),
        Target::RatioAtLeast(t) => ratio.map(|r| r >= t),
        Target::AtMost(t) => g.as_ref().map(|g| g.value <= t),
        Target::PeakRssAtMost(kib) => g.as_ref().map(|g| g.rss_kib <= kib as f64),
    };
    (cell, verdict)
}

/// One row's results: each side, and whether a build ran beside it (the quiet gate saw one
/// just before or just after the row, with `--allow-noise`).
#[derive(Debug)]
pub(super) struct RowResult<'a> {
    pub(super) row: &'a Row,
    pub(super) gmp: Outcome,
    pub(super) go: Outcome,
    pub(super) tokio: Outcome,
    pub(super) noisy: bool,
}

/// The table as aligned Markdown; a row measured beside a build is marked `⚠`.
pub(super) fn table(rows: &[RowResult<'_>]) -> String {
    let mut cells: Vec<Vec<String>> = vec![[
        "row",
        "gmp",
        "Go",
        "gmp/Go",
        "tokio",
        "gmp/tokio",
        "target",
        "peak RSS gmp",
        "peak RSS Go",
        "peak RSS tokio",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    for RowResult {
        row,
        gmp,
        go,
        tokio,
        noisy,
    } in rows
    {
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
            if *noisy {
                format!("{} ⚠", row.name)
            } else {
                row.name.to_string()
            },
            show_outcome(gmp),
            show_outcome(go),
            ratio,
            show_outcome(tokio),
            show_ratio(self::ratio(gmp, tokio)),
            format!("{}{mark}", row.target_text),
            rss(gmp),
            rss(go),
            rss(tokio),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::rows::ROWS;
    use crate::bench::run::Sample;
    use std::collections::HashMap;

    fn sample(value: f64, rss_kib: u64) -> Sample {
        Sample {
            value,
            unit: "ns/op".into(),
            rss_kib,
            extra: HashMap::new(),
        }
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

    fn summary(unit: &str, values: &[f64]) -> Summary {
        let samples: Vec<Sample> = values
            .iter()
            .map(|&v| Sample {
                unit: unit.into(),
                ..sample(v, 1)
            })
            .collect();
        summarize(&samples)
    }

    #[test]
    fn values_show_their_min_max_spread_in_the_median_scale() {
        let ns = summary("ns/op", &[540.0, 521.0, 547.0, 539.0, 541.0]);
        assert_eq!(show_value(&ns), "540 ns (521–547)");
        assert_eq!(
            show_value(&summary("ms", &[12.34, 11.0, 9.5])),
            "11.0 ms (9.50–12.3)"
        );
        assert_eq!(
            show_value(&summary("bytes", &[2048.0, 1024.0, 4096.0])),
            "2.00 KiB (1.00–4.00)"
        );
        assert_eq!(
            show_value(&summary("bytes", &[400.0, 415.0, 390.0])),
            "400 B (390–415)"
        );
        assert_eq!(
            show_value(&summary("req/s", &[139200.4, 138000.0, 140000.0])),
            "139200 req/s (138000–140000)"
        );
        // One run has no spread to show.
        assert_eq!(show_value(&summary("ns/op", &[13.8])), "13.8 ns");
    }

    #[test]
    fn table_shows_missing_sides() {
        let row = ROWS.iter().find(|r| r.name == "yield").unwrap();
        let t = table(&[RowResult {
            row,
            gmp: Outcome::NotBuilt,
            go: Outcome::Done(vec![sample(100.0, 2048)]),
            tokio: Outcome::NoTokio,
            noisy: false,
        }]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(!t.contains('⚠'), "{t}");
        assert!(lines[2].contains("not built"), "{t}");
        assert!(lines[2].contains("100 ns"), "{t}");
        assert!(lines[2].contains("2.0 MiB"), "{t}");
        assert!(lines[2].contains("no tokio"), "{t}");
        // Aligned: every line has the same width.
        let w = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == w), "{t}");
    }

    #[test]
    fn table_marks_rows_measured_beside_a_build() {
        let yield_ = ROWS.iter().find(|r| r.name == "yield").unwrap();
        let skynet = ROWS.iter().find(|r| r.name == "skynet").unwrap();
        let done = || Outcome::Done(vec![sample(100.0, 1), sample(110.0, 1), sample(90.0, 1)]);
        let t = table(&[
            RowResult {
                row: yield_,
                gmp: done(),
                go: done(),
                tokio: done(),
                noisy: false,
            },
            RowResult {
                row: skynet,
                gmp: done(),
                go: done(),
                tokio: Outcome::BuildFailed,
                noisy: true,
            },
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[2].starts_with("| yield ") && !lines[2].contains('⚠'),
            "{t}"
        );
        assert!(lines[3].starts_with("| skynet ⚠ "), "{t}");
        assert!(lines[3].contains("100 ns (90.0–110)"), "{t}");
        let w = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == w), "{t}");
    }

    #[test]
    fn table_has_a_tokio_column_and_a_gmp_tokio_ratio() {
        let row = ROWS.iter().find(|r| r.name == "pingpong").unwrap();
        let t = table(&[RowResult {
            row,
            gmp: Outcome::Done(vec![sample(100.0, 1024), sample(120.0, 1024)]),
            go: Outcome::Done(vec![sample(200.0, 2048)]),
            tokio: Outcome::Done(vec![
                sample(400.0, 3072),
                sample(380.0, 3072),
                sample(420.0, 3072),
            ]),
            noisy: false,
        }]);
        let cells = |line: &str| -> Vec<String> {
            line.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        };
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            cells(lines[0]),
            [
                "row",
                "gmp",
                "Go",
                "gmp/Go",
                "tokio",
                "gmp/tokio",
                "target",
                "peak RSS gmp",
                "peak RSS Go",
                "peak RSS tokio"
            ]
        );
        let r = cells(lines[2]);
        assert_eq!(r[1], "110 ns (100–120)");
        assert_eq!(r[3], "0.55");
        assert_eq!(r[4], "400 ns (380–420)");
        assert_eq!(r[5], "0.28");
        assert_eq!(r[9], "3.0 MiB");
        let w = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == w), "{t}");
        // A missing tokio side leaves its ratio empty and the Go verdict alone.
        assert_eq!(
            ratio(&Outcome::Done(vec![sample(1.0, 1)]), &Outcome::NoTokio),
            None
        );
        assert_eq!(
            ratio(
                &Outcome::Done(vec![sample(1.0, 1)]),
                &Outcome::Failed("x".into())
            ),
            None
        );
    }
}
