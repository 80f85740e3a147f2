//! `gmp_core::trace` (Go: runtime/trace): every trace these tests make is checked against the
//! trace-event format's rules and API.md's names (`trace_check::validate`), then for its
//! content. Each test names a mutant of the implementation it kills.

mod common;
mod trace_check;

use gmp_core::park::{self, Unparker};
use gmp_core::trace::{self, FlightRecorder};
use gmp_core::{go, JoinHandle, Runtime, WaitReason};
use std::io::{self, Write};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trace_check::{validate, Trace};

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("UTF-8")
    }
}

/// Runs `f` as the main goroutine of a fresh runtime with `procs` Ps, traced from just
/// before `f` to just after; returns the validated trace and `f`'s value.
fn traced<T: Send + 'static>(procs: usize, f: impl FnOnce() -> T + Send + 'static) -> (Trace, T) {
    let sink = Sink::default();
    let w = sink.clone();
    let rt = Runtime::builder().procs(procs).build().unwrap();
    let v = rt.run(move || {
        trace::start(w).unwrap();
        let v = f();
        trace::stop().unwrap();
        v
    });
    (validate(&sink.text()), v)
}

/// `go(f)`, and the spawn site as a trace names it (`file:line` of the caller).
#[track_caller]
fn go_here<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (JoinHandle<T>, String) {
    let at = Location::caller();
    (go(f), format!("{}:{}", at.file(), at.line()))
}

/// A one-slot mailbox whose receiver parks as a channel receive does
/// (`WaitReason::ChanReceive`): an unbuffered channel's wait without gmp-chan, which depends
/// on this crate.
#[derive(Default)]
struct Mailbox(Mutex<(Option<u32>, Option<Unparker>)>);

impl Mailbox {
    fn send(&self, v: u32) {
        let waiter = {
            let mut s = self.0.lock().unwrap();
            s.0 = Some(v);
            s.1.take()
        };
        if let Some(w) = waiter {
            w.unpark();
        }
    }

    fn recv(&self) -> u32 {
        loop {
            {
                let mut s = self.0.lock().unwrap();
                if let Some(v) = s.0.take() {
                    return v;
                }
                s.1 = Some(park::current());
            }
            park::park(WaitReason::ChanReceive);
        }
    }
}

/// Two goroutines bounce a number: both show run slices named by id and spawn site, park
/// instants with "chan receive", and wake-up arrows from each to the other, each arrow
/// leaving a run of the waker and landing in a run of the wakee. Kills: run slices named
/// without the spawn site; the park reason dropped; the unpark hook missing; the flow's `f`
/// put on the waker's track (or at the unpark instead of the wakee's next run).
#[test]
fn pingpong_shows_runs_parks_and_wakeups_both_ways() {
    for procs in [1, 2] {
        let (t, (a, a_site, b, b_site)) = traced(procs, || {
            let (to_a, to_b) = (Arc::new(Mailbox::default()), Arc::new(Mailbox::default()));
            let (ta, tb) = (to_a.clone(), to_b.clone());
            let (hb, b_site) = go_here(move || {
                for _ in 0..50 {
                    let v = to_b.recv();
                    to_a.send(v + 1);
                }
            });
            let (ha, a_site) = go_here(move || {
                let mut v = 0;
                for _ in 0..50 {
                    tb.send(v);
                    v = ta.recv();
                }
                v
            });
            let (a, b) = (ha.id().as_u64(), hb.id().as_u64());
            assert_eq!(ha.join().unwrap(), 50);
            hb.join().unwrap();
            (a, a_site, b, b_site)
        });
        for (g, site) in [(a, &a_site), (b, &b_site)] {
            let runs = t.runs_of(g);
            assert!(!runs.is_empty(), "no run slice of G{g} on {procs} Ps");
            for r in &runs {
                assert_eq!(r.name, format!("G{g} {site}"));
                assert!(t.track(r).starts_with('P'));
            }
            let parks = t
                .named("park")
                .filter(|p| {
                    p.arg_u64("g") == Some(g) && p.arg_str("reason") == Some("chan receive")
                })
                .count();
            assert!(parks >= 10, "G{g} parked {parks} times on chan receive");
        }
        let runner = |e| t.enclosing(e).and_then(|s| s.arg_u64("g"));
        let flows: Vec<(Option<u64>, Option<u64>)> = t
            .flows()
            .into_iter()
            .map(|(s, f)| (runner(s), runner(f)))
            .collect();
        for (from, to) in [(a, b), (b, a)] {
            assert!(
                flows.contains(&(Some(from), Some(to))),
                "no wake-up arrow from G{from} to G{to} on {procs} Ps: {flows:?}"
            );
        }
        // The main goroutine was running when the trace started: its first slice begins at
        // the trace's start (kills: dropping slices whose start precedes the trace).
        let main = t.runs_of(1);
        assert_eq!(main.first().map(|r| r.ts), Some(0.0), "{main:?}");
    }
}

/// On one P a ping-pong's goroutines take turns: each run slice starts where the last one
/// ended, at the same tick (the start of a goroutine found at once reuses the end's clock
/// read), and every wake-up arrow still leaves a run of the waker and lands in a run of the
/// wakee, with its tail no later than its head. Kills: the start reading the clock again
/// (gaps between slices); the fresh mark kept when the M went looking elsewhere; an
/// estimated wake-up placed after the run it caused.
#[test]
fn turns_on_one_p_abut_and_wakeups_stay_inside_their_runs() {
    let (t, ()) = traced(1, || {
        let (to_a, to_b) = (Arc::new(Mailbox::default()), Arc::new(Mailbox::default()));
        let (ta, tb) = (to_a.clone(), to_b.clone());
        let hb = go(move || {
            for _ in 0..200 {
                let v = to_b.recv();
                to_a.send(v + 1);
            }
        });
        let ha = go(move || {
            let mut v = 0;
            for _ in 0..200 {
                tb.send(v);
                v = ta.recv();
            }
            v
        });
        assert_eq!(ha.join().unwrap(), 200);
        hb.join().unwrap();
    });
    let mut runs: Vec<_> = t
        .slices()
        .filter(|s| trace_check::is_run_name(&s.name) && t.track(s) == "P0")
        .collect();
    runs.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    let abut = runs
        .windows(2)
        .filter(|w| (w[0].ts + w[0].dur - w[1].ts).abs() < 1e-6)
        .count();
    assert!(
        abut * 10 >= (runs.len() - 1) * 9,
        "only {abut} of {} successive run slices abut",
        runs.len() - 1
    );
    let flows = t.flows();
    assert!(flows.len() >= 300, "{} wake-up arrows", flows.len());
    for (s, f) in flows {
        assert!(s.ts <= f.ts, "an arrow from {} back to {}", s.ts, f.ts);
        assert!(
            t.enclosing(s).is_some() && t.enclosing(f).is_some(),
            "{s:?} {f:?}"
        );
    }
}

/// `syscall(f)` is a `syscall` slice on its M's track, as long as `f`, and the goroutine's
/// run slice before it ends with `syscall`. Kills: the syscall slice on the P track; not
/// ending the run slice at `entersyscall`; ns written as µs (the slice would be 1000× long).
#[test]
fn syscall_shows_as_a_slice_on_its_m_track() {
    for procs in [1, 2] {
        let (t, g) = traced(procs, || {
            let h = go(|| gmp_core::syscall(|| std::thread::sleep(Duration::from_millis(5))));
            let g = h.id().as_u64();
            h.join().unwrap();
            g
        });
        let sys: Vec<_> = t
            .named("syscall")
            .filter(|s| s.arg_u64("g") == Some(g))
            .collect();
        assert_eq!(sys.len(), 1, "{sys:?}");
        assert!(t.track(sys[0]).starts_with('M'), "{}", t.track(sys[0]));
        assert!(
            (4_500.0..1_000_000.0).contains(&sys[0].dur),
            "a 5 ms syscall lasted {} µs",
            sys[0].dur
        );
        let ended_in_syscall = t
            .runs_of(g)
            .iter()
            .any(|r| r.arg_str("end") == Some("syscall") && r.ts + r.dur <= sys[0].ts + 1e-3);
        assert!(ended_in_syscall, "{:?}", t.runs_of(g));
    }
}

/// A spawn is an instant `spawn G<id>` with the site, inside the spawner's run slice.
/// Kills: the spawn recorded on the new goroutine's track or without its id; the site lost.
#[test]
fn spawn_is_an_instant_inside_the_spawners_run() {
    for procs in [1, 2] {
        let (t, (id, site)) = traced(procs, || {
            let (h, site) = go_here(|| ());
            let id = h.id().as_u64();
            h.join().unwrap();
            (id, site)
        });
        let spawn: Vec<_> = t.named(&format!("spawn G{id}")).collect();
        assert_eq!(spawn.len(), 1);
        assert_eq!(spawn[0].arg_str("site"), Some(site.as_str()));
        let around = t.enclosing(spawn[0]).expect("inside a run slice");
        assert_eq!(around.arg_u64("g"), Some(1), "spawned by main");
    }
}

/// Timestamps are µs since the trace started: a 20 ms sleep spans about 20,000 of them, and
/// shows as a park for "sleep". Kills: ns or ms units; raw TSC ticks left uncalibrated.
#[test]
fn timestamps_are_microseconds_since_the_start() {
    let (t, wall) = traced(1, || {
        let start = Instant::now();
        gmp_core::sleep(Duration::from_millis(20));
        start.elapsed().as_secs_f64() * 1e6
    });
    let end = t.events.iter().map(|e| e.ts + e.dur).fold(0.0, f64::max);
    assert!(
        end >= wall * 0.9 && end <= wall * 1.5 + 5_000.0,
        "the trace spans {end} µs around a {wall} µs sleep"
    );
    assert!(t
        .named("park")
        .any(|p| p.arg_str("reason") == Some("sleep") && p.arg_u64("g") == Some(1)));
}

/// A goroutine that runs through the whole trace, with no event of its own, still shows: a
/// run slice from the trace's start to its end (Go's `GoStatus` events). Kills: no initial
/// slices for the goroutines running when the trace starts.
#[test]
fn a_goroutine_running_through_the_whole_trace_shows() {
    let sink = Sink::default();
    let w = sink.clone();
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (id, site) = rt.run(move || {
        let (started, release) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (s, r) = (started.clone(), release.clone());
        let (h, site) = go_here(move || {
            s.store(true, SeqCst);
            while !r.load(SeqCst) {
                std::hint::spin_loop(); // no scheduling point
            }
        });
        while !started.load(SeqCst) {
            gmp_core::sleep(Duration::from_millis(1));
        }
        trace::start(w).unwrap();
        gmp_core::sleep(Duration::from_millis(5));
        trace::stop().unwrap();
        release.store(true, SeqCst);
        let id = h.id().as_u64();
        h.join().unwrap();
        (id, site)
    });
    let t = validate(&sink.text());
    let runs = t.runs_of(id);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].name, format!("G{id} {site}"));
    assert_eq!(runs[0].ts, 0.0);
    assert_eq!(runs[0].arg_str("end"), Some("running"));
    assert!(runs[0].dur >= 4_500.0, "{}", runs[0].dur);
}

/// Every P has a named track, even an idle one; `pid` is one runtime's. Kills: naming only
/// the tracks that have events; tids of Ps and Ms colliding.
#[test]
fn every_p_has_a_named_track() {
    let (t, _) = traced(3, || gmp_core::syscall(|| ()));
    let names: Vec<&String> = t.tracks.values().collect();
    for p in ["P0", "P1", "P2"] {
        assert!(names.iter().any(|n| *n == p), "{names:?}");
    }
    let pids: std::collections::BTreeSet<u64> = t.tracks.keys().map(|k| k.0).collect();
    assert_eq!(pids.len(), 1);
}

/// An idle P that takes queued work shows a `steal` instant naming the goroutine and the
/// victim. The goroutine can only run elsewhere by a steal: main spins without a scheduling
/// point until it has run. Kills: the steal hook missing or on the victim's track.
#[test]
fn steal_shows_when_an_idle_p_takes_queued_work() {
    let (t, id) = traced(2, || {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = go(move || r.store(true, SeqCst));
        // A second spawn pushes the first out of `runnext` into the ring, where a spinning
        // M steals from on its first pass.
        let h2 = go(|| ());
        let start = Instant::now();
        while !ran.load(SeqCst) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nobody stole the goroutine"
            );
            std::hint::spin_loop();
        }
        let id = h.id().as_u64();
        h.join().unwrap();
        h2.join().unwrap();
        id
    });
    let steals: Vec<_> = t.named("steal").collect();
    let s = steals
        .iter()
        .find(|s| s.arg_u64("g") == Some(id))
        .unwrap_or_else(|| panic!("no steal of G{id}: {steals:?}"));
    let main_track = t.track(t.runs_of(1)[0]).to_string();
    assert_ne!(t.track(s), main_track, "the thief is not main's P");
    assert_eq!(s.arg_str("from"), Some(main_track.as_str()));
}

/// With one P, a goroutine stuck in `syscall(f)` while another waits has its P retaken by
/// sysmon: a `retake` instant on that P's track. `f` waits for the other goroutine, which can
/// only run after the retake. Kills: the retake hook missing or on an M track.
#[test]
fn retake_shows_when_sysmon_hands_off_a_p_in_syscall() {
    let (t, _) = traced(1, || {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = go(move || r.store(true, SeqCst));
        gmp_core::syscall(|| {
            let start = Instant::now();
            while !ran.load(SeqCst) {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "the P was never retaken"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        h.join().unwrap();
    });
    let retakes: Vec<_> = t.named("retake").collect();
    assert!(!retakes.is_empty());
    assert!(retakes.iter().all(|r| t.track(r) == "P0"), "{retakes:?}");
}

/// The flight recorder keeps only the newest events, writes at most `max_bytes` (using most
/// of them), and what it writes validates on its own even though the window cuts slices and
/// arrows. Kills: `write_window` not cutting to its budget (too big, the oldest spawn kept);
/// a snapshot without the current chunks (the newest spawn missing); orphan slices left
/// unclosed or arrows without their start (`validate`). (The ring's own trimming, which
/// bounds memory, is `buf.rs`'s `flight_ring_keeps_the_newest_chunks`.)
#[test]
fn flight_recorder_keeps_only_the_tail_and_validates() {
    const MAX: usize = 64 << 10;
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let (out, n, first, last) = rt.run(|| {
            let fr = FlightRecorder::new(MAX);
            fr.start().unwrap();
            let mut ids = Vec::new();
            for _ in 0..3000 {
                let h = go(|| ());
                ids.push(h.id().as_u64());
                h.join().unwrap();
            }
            let mut out = Vec::new();
            let n = fr.write_to(&mut out).unwrap();
            // It keeps recording after a write.
            assert!(fr.write_to(io::sink()).unwrap() > 0);
            fr.stop();
            (out, n, ids[0], *ids.last().unwrap())
        });
        assert_eq!(n, out.len());
        assert!(n <= MAX, "{n} bytes > {MAX}");
        assert!(n > MAX * 3 / 4, "only {n} bytes of {MAX} on {procs} Ps");
        let t = validate(std::str::from_utf8(&out).unwrap());
        assert_eq!(
            t.named(&format!("spawn G{last}")).count(),
            1,
            "the newest spawn"
        );
        assert_eq!(
            t.named(&format!("spawn G{first}")).count(),
            0,
            "the oldest spawn"
        );
    }
}

/// Misuse of a flight recorder is an error, not a panic or a second session. Kills: a
/// second `start` replacing the session; `write_to` on a stopped recorder writing stale data;
/// `trace::start`/`stop` ignoring a recorder that holds the runtime.
#[test]
fn flight_recorder_misuse_is_an_error() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(|| {
        let fr = FlightRecorder::new(1 << 20);
        let e = fr.write_to(io::sink()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        fr.start().unwrap();
        let e = fr.start().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        let e = FlightRecorder::new(10).start().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert!(
            e.to_string().contains("flight recorder is already running"),
            "{e}"
        );
        let e = trace::start(io::sink()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        let e = trace::stop().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains("flight recorder"), "{e}");
        fr.stop();
        fr.stop(); // a second stop does nothing
        let e = fr.write_to(io::sink()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        // Stopped, the runtime is free again.
        fr.start().unwrap();
        assert!(fr.write_to(io::sink()).unwrap() > 0);
    });
}

/// A second `start` on a traced runtime fails and leaves the first trace running.
/// Kills: `start` replacing the running session (its writer would get nothing).
#[test]
fn start_twice_errors() {
    let first = Sink::default();
    let w = first.clone();
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(move || {
        trace::start(w).unwrap();
        let e = trace::start(Sink::default()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            e.to_string(),
            "gmp: trace: tracing is already enabled on this runtime"
        );
        go(|| ()).join().unwrap();
        trace::stop().unwrap();
    });
    let t = validate(&first.text());
    assert!(t.events.iter().any(|e| e.name.starts_with("spawn G")));
}

/// `stop` with nothing to stop fails, on a runtime never traced and after a trace stopped.
/// Kills: `stop` succeeding (or panicking) without a session; a stopped session left live.
#[test]
fn stop_without_start_errors() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(|| {
        let e = trace::stop().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            "gmp: trace: tracing is not enabled on this runtime"
        );
        trace::start(io::sink()).unwrap();
        trace::stop().unwrap();
        let e = trace::stop().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        // And it can start again.
        trace::start(io::sink()).unwrap();
        trace::stop().unwrap();
    });
}

/// A trace still running when its runtime shuts down is written then. Kills: the shutdown
/// hook missing (the writer would stay empty).
#[test]
fn a_trace_left_running_is_written_at_shutdown() {
    let sink = Sink::default();
    let w = sink.clone();
    let rt = Runtime::builder().procs(2).build().unwrap();
    let id = rt.run(move || {
        trace::start(w).unwrap();
        let h = go(|| ());
        let id = h.id().as_u64();
        h.join().unwrap();
        id
    });
    assert!(sink.text().is_empty(), "written before the runtime ended");
    drop(rt);
    let t = validate(&sink.text());
    assert_eq!(t.named(&format!("spawn G{id}")).count(), 1);
}

/// Two runtimes traced at once each get their own trace, with their own `pid`. Kills: one
/// session for the process (the second `start` would fail, or the traces would mix).
#[test]
fn traces_of_two_runtimes_do_not_mix() {
    let runs: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                traced(1, || {
                    (0..20)
                        .map(|_| {
                            let h = go(|| ());
                            let id = h.id().as_u64();
                            h.join().unwrap();
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
        })
        .collect();
    let mut pids = Vec::new();
    for r in runs {
        let (t, ids) = r.join().unwrap();
        let spawns = t
            .events
            .iter()
            .filter(|e| e.name.starts_with("spawn G"))
            .count();
        assert_eq!(spawns, ids.len());
        let p: std::collections::BTreeSet<u64> = t.events.iter().map(|e| e.pid).collect();
        assert_eq!(p.len(), 1);
        pids.extend(p);
    }
    assert_ne!(pids[0], pids[1]);
}

/// On a plain thread, `start` and `stop` act on the default runtime, where `go` spawns; the
/// spawn from the thread shows on the `outside` track. Kills: `start` on a plain thread
/// failing or tracing no runtime; spawns from outside dropped.
#[test]
fn a_plain_thread_traces_the_default_runtime() {
    let sink = Sink::default();
    trace::start(sink.clone()).unwrap();
    let h = go(|| 7);
    let id = h.id().as_u64();
    assert_eq!(h.join().unwrap(), 7);
    trace::stop().unwrap();
    let t = validate(&sink.text());
    let spawn: Vec<_> = t.named(&format!("spawn G{id}")).collect();
    assert_eq!(spawn.len(), 1);
    assert_eq!(t.track(spawn[0]), "outside");
    assert!(!t.runs_of(id).is_empty());
}

/// `GMP_TRACE=FILE` traces a runtime from its start to its shutdown with no code: its main
/// goroutine's spawn (from the thread that called `run`) and runs are in the file. Kills:
/// the variable ignored; the trace not written at shutdown.
#[test]
fn gmp_trace_traces_a_whole_runtime() {
    if common::child_scenario().as_deref() == Some("gmp_trace") {
        let rt = Runtime::builder().procs(1).build().unwrap();
        rt.run(|| go(|| ()).join().unwrap());
        return;
    }
    let path = std::env::temp_dir().join(format!("gmp-rt-trace-{}.json", std::process::id()));
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "gmp_trace_traces_a_whole_runtime",
            "--exact",
            "--test-threads=1",
        ])
        .env("GMP_TEST_CHILD", "gmp_trace")
        .env("GMP_TRACE", &path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&path).expect("the trace file");
    let _ = std::fs::remove_file(&path);
    let t = validate(&json);
    let main = t.named("spawn G1").next().expect("main's spawn");
    assert_eq!(t.track(main), "outside");
    let runs = t.runs_of(1);
    assert!(runs[0].name.contains("rt_trace.rs:"), "{}", runs[0].name);
    assert!(runs.iter().any(|r| r.arg_str("end") == Some("exit")));
}

/// A trace of 10,000 goroutines that each park once and are woken: it completes, validates,
/// and shows every goroutine's two run slices, its park and its wake-up arrow. Prints how long
/// the trace took to stop (encoding included) and its size (`--nocapture`). Kills: a per-track
/// cap that drops goroutines, an arrow lost under a burst of wake-ups.
#[test]
fn a_trace_of_ten_thousand_goroutines_completes_and_shows_each() {
    const N: usize = 10_000;
    let sink = Sink::default();
    let w = sink.clone();
    let rt = Runtime::builder().procs(2).build().unwrap();
    let stop_took = rt.run(move || {
        trace::start(w).unwrap();
        let boxes: Vec<Arc<Mailbox>> = (0..N).map(|_| Arc::default()).collect();
        let hs: Vec<JoinHandle<u32>> = boxes
            .iter()
            .map(|b| {
                let b = b.clone();
                go(move || b.recv())
            })
            .collect();
        while gmp_core::metrics().goroutines_waiting < N {
            gmp_core::sleep(Duration::from_millis(1));
        }
        for (i, b) in boxes.iter().enumerate() {
            b.send(i as u32);
        }
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i as u32);
        }
        let t = Instant::now();
        trace::stop().unwrap();
        t.elapsed()
    });
    let text = sink.text();
    let tr = validate(&text);
    let parks = tr
        .events
        .iter()
        .filter(|e| e.ph == "i" && e.name == "park" && e.arg_str("reason") == Some("chan receive"))
        .count();
    let arrows = tr.events.iter().filter(|e| e.ph == "f").count();
    assert!(parks >= N, "{parks} parks");
    assert!(arrows >= N, "{arrows} arrows");
    println!(
        "trace of {N} goroutines: stop (encoding) took {stop_took:?}, {} KiB of JSON",
        text.len() / 1024
    );
}
