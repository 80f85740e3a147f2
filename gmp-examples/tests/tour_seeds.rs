//! Runs the built `tour` binary on the fast seed programs and checks that each prints what its
//! Go program prints, and that the tour runs only the programs named.

use std::process::{Command, Output};

fn tour(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tour"))
        .args(args)
        .output()
        .expect("run the tour binary")
}

/// The lines one program printed: `tour NAME`'s output without the heading and the blank
/// line after it.
fn program_lines(name: &str) -> Vec<String> {
    let out = tour(&[name]);
    assert!(out.status.success(), "tour {name}: {out:?}");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let mut lines = stdout.lines();
    let heading = lines.next().unwrap_or_default();
    assert!(heading.starts_with(&format!("=== {name}: ")), "{stdout}");
    let mut rest: Vec<String> = lines.map(str::to_string).collect();
    assert_eq!(rest.pop().as_deref(), Some(""), "{stdout}");
    rest
}

#[test]
fn anon_prints_both_lines_once_each() {
    let mut lines = program_lines("anon");
    lines.sort(); // their order is up to the scheduler, as in Go
    assert_eq!(
        lines,
        [
            "Hello from anonymous goroutine",
            "Hello from method goroutine"
        ]
    );
}

#[test]
fn goexit_runs_the_defers_innermost_first_and_nothing_after_it() {
    assert_eq!(program_lines("goexit"), ["B.defer", "A.defer"]);
}

#[test]
fn sum_prints_both_partial_sums_and_the_total() {
    let lines = program_lines("sum");
    assert!(lines == ["-5 17 12"] || lines == ["17 -5 12"], "{lines:?}");
}

#[test]
fn counter_counts_every_increment() {
    assert_eq!(program_lines("counter"), ["Final counter value: 1000"]);
}

#[test]
fn names_select_only_those_programs_in_the_order_given() {
    let out = tour(&["sum", "goexit"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let headings: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("=== "))
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(headings, ["sum", "goexit"], "{stdout}");
}

#[test]
fn an_unknown_name_fails_and_lists_the_programs() {
    let out = tour(&["sum", "no_such_program"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "ran something: {out:?}");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 output");
    assert!(
        stderr.contains("no program named `no_such_program`"),
        "{stderr}"
    );
    for name in [
        "hello",
        "anon",
        "newtask",
        "goexit",
        "sum",
        "counter",
        "fetch_all",
    ] {
        assert!(stderr.contains(name), "{stderr} lacks {name}");
    }
}
