//! The tour's second round: `md5_bounded`, `fanout_deadline` and `errgroup_limit`. Each test
//! runs a program's logic (the function its `main` prints from, or the built `tour` binary)
//! and checks what it prints or returns; its comment names a mutant of the program it
//! catches. Timings keep wide margins, so a loaded 2-core machine gives the same lines.

use gmp_chan::context::{Context, ContextError};
use gmp_examples::tour::md5_bounded::{self, Md5Error, ReadFile, NUM_DIGESTERS};
use gmp_examples::tour::{errgroup_limit, fanout_deadline};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn tour(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tour"))
        .args(args)
        .output()
        .expect("run the tour binary")
}

/// A directory of its own under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("gmp-tour2-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    fn file(&self, rel: &str, contents: &str) {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().expect("a file has a parent")).expect("mkdir -p");
        fs::write(path, contents).expect("write a file");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Waits up to a second for the runtime's goroutines to drop back to `baseline`; returns
/// how many more there still are.
fn goroutines_left(baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let left = gmp_core::num_goroutine().saturating_sub(baseline);
        if left == 0 || Instant::now() >= deadline {
            return left;
        }
        gmp_core::sleep(Duration::from_millis(1));
    }
}

// ---- md5_bounded ----

// Catches: a walk that sends symbolic links (or follows them) prints `link`; one that stops
// at the first directory misses `a/z/deep.txt`; printing in `BTreeMap` order (component by
// component) puts `a/empty` before `a.txt`, where Go's `sort.Strings` puts it after; a wrong
// digest or a dropped result changes a line.
#[test]
fn md5_bounded_prints_every_regular_file_sorted_by_path_then_the_cancellation() {
    let dir = TempDir::new("md5-sums");
    dir.file("b.txt", "abc");
    dir.file("a/empty", "");
    dir.file("a/z/deep.txt", "hello\n");
    dir.file("a.txt", "The quick brown fox jumps over the lazy dog");
    std::os::unix::fs::symlink(dir.0.join("b.txt"), dir.0.join("link")).expect("symlink");
    let root = dir.0.display().to_string();

    let out = tour(&["md5_bounded", "--dir", &root]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let lines: Vec<&str> = stdout.lines().skip(1).collect(); // after the tour's heading
    let expected = [
        format!("MD5 sums of the 4 files under {root}, {NUM_DIGESTERS} digesters:"),
        "9e107d9d372bb6826bd81d3542a419d6  a.txt".to_string(),
        "d41d8cd98f00b204e9800998ecf8427e  a/empty".to_string(),
        "b1946ac92492d2347c6235b4d2611184  a/z/deep.txt".to_string(),
        "900150983cd24fb0d6963f7d28e17f72  b.txt".to_string(),
        "cancellation: when reading a/empty fails, md5_all returns at once:".to_string(),
        format!("  error: read {root}/a/empty: simulated read error"),
        format!("  walker and {NUM_DIGESTERS} digesters cancelled; goroutines left: 0"),
        String::new(),
    ];
    assert_eq!(lines, expected, "{stdout}");
}

// Catches: an `expect`/`unwrap` on md5_all's result (a panic, status 101), an error printed
// with status 0 as Go's main does, or one that does not name the path.
#[test]
fn md5_bounded_a_bad_directory_is_a_clear_error_and_status_1_not_a_panic() {
    let missing = std::env::temp_dir().join(format!("gmp-tour2-missing-{}", std::process::id()));
    let missing = missing.display().to_string();
    let out = tour(&["md5_bounded", "--dir", &missing]);
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 output");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!("md5_bounded: lstat {missing}: ")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = tour(&["md5_bounded", "--dir"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 output");
    assert_eq!(stderr, "md5_bounded: --dir needs a directory\n");

    let err = gmp_core::run(move || {
        md5_bounded::md5_all(&Context::background(), Path::new(&missing)).map(|m| m.len())
    })
    .expect_err("no such directory");
    assert!(
        matches!(&err, Md5Error::Io { op: "lstat", source, .. } if source.kind() == io::ErrorKind::NotFound),
        "{err:?}"
    );
}

/// A reader for the cancellation tests: counts its calls, fails on files named `fail`, and
/// holds every other read until `release` is set (or a second passes, so that a mutant that
/// never sets it still ends).
fn held_reader(reads: Arc<AtomicUsize>, release: Arc<AtomicBool>) -> ReadFile {
    Arc::new(move |path: &Path| {
        reads.fetch_add(1, SeqCst);
        if path.file_name().is_some_and(|n| n == "fail") {
            return Err(io::Error::other("simulated read error"));
        }
        let give_up = Instant::now() + Duration::from_secs(1);
        while !release.load(SeqCst) && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(1)); // inside gmp_core::syscall
        }
        fs::read(path)
    })
}

// Catches: a digester that ignores the context blocks for ever on its send of a result
// nobody receives (a leaked goroutine: "goroutines left" is not 0); so does a walker that
// ignores it (blocked sending a path no digester takes); an md5_all that drains every result
// before returning its first error reads all 200 files instead of at most 21.
#[test]
fn md5_bounded_the_first_read_error_cancels_the_walk_and_every_digester() {
    let dir = TempDir::new("md5-cancel");
    dir.file("000/fail", "the first file the walker sends");
    for i in 1..200 {
        dir.file(&format!("{i:03}"), "x");
    }
    let root = dir.0.clone();
    let (reads, release) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let read = held_reader(reads.clone(), release.clone());
    let (got, left) = gmp_core::run(move || {
        let baseline = gmp_core::num_goroutine();
        let got = md5_bounded::md5_all_with(&Context::background(), &root, read);
        release.store(true, SeqCst); // the reads in flight end now
        (got.map(|m| m.len()), goroutines_left(baseline))
    });
    let err = got.expect_err("a read fails");
    assert_eq!(
        err.to_string(),
        format!(
            "read {}: simulated read error",
            dir.0.join("000/fail").display()
        )
    );
    assert_eq!(
        left, 0,
        "pipeline goroutines still running after md5_all returned"
    );
    // Before md5_all returned, each digester held at most one read; the one whose read
    // failed may have taken one more path.
    let reads = reads.load(SeqCst);
    assert!(
        reads <= NUM_DIGESTERS + 1,
        "{reads} reads after the first error"
    );
}

// Catches: an md5_all that returns Ok with the sums it got when the caller's context is
// cancelled after the walk ended but before the digesters sent their sums (without the
// `ctx.err()` check, a partial map passes for the whole tree).
#[test]
fn md5_bounded_a_cancelled_caller_gets_canceled_not_a_partial_map() {
    let dir = TempDir::new("md5-caller");
    for i in 0..NUM_DIGESTERS {
        dir.file(&format!("{i:02}"), "x"); // one per digester: the walk ends at once
    }
    let root = dir.0.clone();
    let (reads, release) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let read = held_reader(reads.clone(), release.clone());
    let got = gmp_core::run(move || {
        let (ctx, cancel) = Context::background().with_cancel();
        let h = gmp_core::go(move || md5_bounded::md5_all_with(&ctx, &root, read));
        while reads.load(SeqCst) < NUM_DIGESTERS {
            gmp_core::sleep(Duration::from_millis(1)); // every file is being read
        }
        cancel.cancel();
        release.store(true, SeqCst);
        h.join().expect("md5_all returns").map(|m| m.len())
    });
    match got {
        Err(Md5Error::Canceled(ContextError::Canceled)) => {}
        other => panic!("expected Canceled, got {other:?}"),
    }
}

// ---- fanout_deadline ----

// Catches: a First that does not cancel its losing replica (web1 and image2 then run on to
// the deadline: `context deadline exceeded`, not `context canceled`); a search without its
// deadline (`with_cancel` for `with_timeout`: video answers after 500 ms); a replica that
// ignores `ctx.done()` (it answers after 500 ms, and the search waits for it: the last line
// says false); backends reported in the order they finish rather than in theirs.
#[test]
fn fanout_deadline_the_first_replica_wins_and_the_deadline_cuts_the_slow_ones() {
    let start = Instant::now();
    let lines = gmp_core::run(fanout_deadline::lines);
    assert_eq!(
        lines,
        [
            r#"search "golang": 3 backends, 2 replicas each, deadline 100 ms"#,
            r#"web: web result for "golang" (from web2)"#,
            r#"image: image result for "golang" (from image1)"#,
            "video: context deadline exceeded",
            "  web1 (500 ms): context canceled",
            "  web2 (10 ms): answered",
            "  image1 (10 ms): answered",
            "  image2 (500 ms): context canceled",
            "  video1 (500 ms): context deadline exceeded",
            "  video2 (500 ms): context deadline exceeded",
            "waited for the deadline, not for the slow replicas (500 ms): true",
        ]
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

// Catches: a First that returns the last answer, or the first replica's, instead of the
// first to come (web would say `from web1` after 500 ms); one whose cancel does not reach
// the replicas (web1 stops only at the deadline).
#[test]
fn fanout_deadline_first_without_a_deadline_takes_the_fast_replica_and_cancels_the_slow() {
    let backend = fanout_deadline::BACKENDS[0]; // web: web1 slow, web2 fast
    let (r, elapsed) = gmp_core::run(move || {
        let start = Instant::now();
        let r = fanout_deadline::first(&Context::background(), "rust", &backend);
        (r, start.elapsed())
    });
    assert_eq!(
        r.first,
        Ok(("web2", r#"web result for "rust""#.to_string()))
    );
    assert_eq!(
        r.replicas,
        [
            Err(ContextError::Canceled),
            Ok(r#"web result for "rust""#.to_string())
        ]
    );
    assert!(elapsed < fanout_deadline::SLOW, "{elapsed:?}");
}

// ---- errgroup_limit ----

// Catches: no `set_limit` (10 run at once: the maximum is 10, and items 5-10 fail at item
// 4's 50 ms mark, before 1-3 are done); a limit that is not honoured by `go` (the maximum
// exceeds 3); an item that ignores `ctx.done()` (5 and 6 finish: `done: 1 2 3 5 6 ...`); a
// group whose first error does not cancel its context (every item is done but 4, and the
// context is cancelled only by `wait`, with no cause); a `wait` that returns the last error
// (`item 10: context canceled`).
#[test]
fn errgroup_limit_runs_three_at_a_time_and_the_first_error_cancels_the_rest() {
    let start = Instant::now();
    let lines = gmp_core::run(errgroup_limit::lines);
    assert_eq!(
        lines,
        [
            "10 items, at most 3 at a time, 100 ms each; item 4 fails after 50 ms",
            "most running at once: 3",
            "done: 1 2 3",
            "failed: 4",
            "cancelled: 5 6 7 8 9 10",
            "wait: item 4: checksum mismatch",
            "the group's context: context canceled (cause: errgroup: a goroutine of the group failed)",
        ]
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

// Catches: a `main` that prints something else than its `lines` (or panics), and a program
// left out of the tour's list.
#[test]
fn fanout_deadline_and_errgroup_limit_print_their_lines_from_the_tour_binary() {
    let out = tour(&["fanout_deadline", "errgroup_limit"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let headings: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("=== "))
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(headings, ["fanout_deadline", "errgroup_limit"], "{stdout}");
    assert!(
        stdout.contains("\nvideo: context deadline exceeded\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nwait: item 4: checksum mismatch\n"),
        "{stdout}"
    );
}

/// `leaky`: the two slower replicas of the first-response search and the closer of the
/// forgotten `done` are reported by `leaked()` and again at exit; the buffered fix leaks
/// nothing. Mutants caught: a report that misses a leak kind, a `leak_report` default of
/// off, a fix that still leaks.
#[test]
fn leaky_reports_its_three_leaks_in_the_program_and_at_exit() {
    let out = tour(&["leaky"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("golang: result from replica 0"), "{stdout}");
    assert!(stdout.contains("sum of the good jobs: 8"), "{stdout}");
    assert!(
        stdout.contains("leaked() reports 3 goroutines:"),
        "{stdout}"
    );
    for text in [&*stdout, &*stderr] {
        assert_eq!(text.matches("[chan send (leaked)]:").count(), 2, "{text}");
        assert_eq!(
            text.matches("[sync.WaitGroup.Wait (leaked)]:").count(),
            1,
            "{text}"
        );
        assert!(text.contains("search_replica"), "{text}");
        assert!(text.contains("close_when_done"), "{text}");
    }
    assert!(
        stderr.contains("gmp: 3 goroutines leaked (parked where nothing can ever wake them):"),
        "{stderr}"
    );
}

#[test]
fn leaky_fixed_search_leaks_nothing() {
    gmp_core::Runtime::builder()
        .leak_report(false)
        .build()
        .unwrap()
        .run(|| {
            let baseline = gmp_core::num_goroutine();
            let answer = gmp_examples::tour::leaky::first_buffered("q");
            assert_eq!(answer, "q: result from replica 0");
            assert_eq!(goroutines_left(baseline), 0);
            assert_eq!(gmp_core::leaked(), "");
        });
}
