//! `dump()` with stacks (Go's traceback): each parked goroutine's frames, innermost first,
//! the gmp call it waits in folded to one line, the user's frames with file:line, then the
//! spawn site; walked without waking or corrupting anything, copied-out stacks included; a
//! dump of 10,000 parked goroutines completes. Each test names the mutant it kills.

use gmp_core::__private::stacks_copied_out;
use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{dump, go, sleep, Runtime};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn wait_until(mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out");
        sleep(Duration::from_millis(2));
    }
}

/// Parks until `go_on`, a few frames below a function with a recognisable name.
#[inline(never)]
fn parked_worker(go_on: &AtomicBool, parked: &AtomicUsize, slot: &Mutex<Vec<Unparker>>) -> u64 {
    let local: [u64; 16] = std::array::from_fn(|i| i as u64 + 1);
    let local = black_box(local);
    slot.lock().unwrap().push(park::current());
    parked.fetch_add(1, SeqCst);
    while !go_on.load(SeqCst) {
        park::park(WaitReason::Park);
    }
    local.iter().sum()
}

struct World {
    go_on: AtomicBool,
    parked: AtomicUsize,
    slot: Mutex<Vec<Unparker>>,
}

fn world() -> Arc<World> {
    Arc::new(World {
        go_on: AtomicBool::new(false),
        parked: AtomicUsize::new(0),
        slot: Mutex::new(Vec::new()),
    })
}

fn release(w: &World) {
    w.go_on.store(true, SeqCst);
    for u in w.slot.lock().unwrap().iter() {
        u.unpark();
    }
}

/// The block of goroutine `id` in dump `d`.
fn block_of(d: &str, id: u64) -> &str {
    let start = d
        .find(&format!("goroutine {id} ["))
        .unwrap_or_else(|| panic!("no goroutine {id} in\n{d}"));
    let rest = &d[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// Kills: a dump without stacks, frames in the wrong order, gmp's frames not folded, or the
/// walk running on past the goroutine's stack into the dumper's frames.
#[test]
fn a_parked_goroutine_shows_its_frames_innermost_first() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        rt.run(|| {
            let w = world();
            let w2 = w.clone();
            let h = go(move || parked_worker(&w2.go_on, &w2.parked, &w2.slot));
            wait_until(|| w.parked.load(SeqCst) == 1);
            let d = dump();
            let b = block_of(&d, h.id().as_u64());
            let lines: Vec<&str> = b.lines().collect();
            assert_eq!(lines[0], format!("goroutine {} [park]:", h.id()), "{b}");
            // Full paths with debug info (the test profile); an optimised build with line
            // tables only (gmp's release profile) names functions without their path.
            assert!(lines[1].ends_with("park(...)"), "{b}");
            assert!(lines[2].ends_with("parked_worker"), "{b}");
            assert!(
                lines[3].starts_with("    tests/rt_dump_stacks.rs:"),
                "{b}"
            );
            assert!(lines.last().unwrap().starts_with("created by "), "{b}");
            assert!(!b.contains("gmp_core::sched"), "gmp frames not folded:\n{b}");
            // The dumper's own frame (the test body calling `dump`, one closure deep) is not
            // in its block: only the goroutine's closure (two deep) is.
            assert!(
                !lines.contains(
                    &"rt_dump_stacks::a_parked_goroutine_shows_its_frames_innermost_first::{{closure}}"
                ),
                "walked past the stack:\n{b}"
            );
            release(&w);
            assert_eq!(h.join().unwrap(), (1..=16).sum::<u64>());
        });
    }
}

/// The caller's own block shows its stack too. Kills: no frames for the running dumper.
#[test]
fn the_dumping_goroutine_shows_its_own_frames() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(|| {
        let d = dump();
        let me = gmp_core::current_id().unwrap().as_u64();
        let b = block_of(&d, me);
        assert!(b.contains("dump(...)"), "{b}");
        assert!(b.contains("rt_dump_stacks.rs"), "{b}");
    });
}

/// A goroutine parked long enough to be copied out is put back, walked, and resumes whole.
/// Kills: walking a released stack (garbage frames, or a crash), or a walk that leaves the
/// claim set (its M would wait for ever).
#[test]
fn a_copied_out_goroutine_is_walked_and_resumes_whole() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(|| {
        let w = world();
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let w2 = w.clone();
                go(move || parked_worker(&w2.go_on, &w2.parked, &w2.slot))
            })
            .collect();
        wait_until(|| w.parked.load(SeqCst) == 8 && stacks_copied_out() >= 8);
        let d = dump();
        for h in &hs {
            let b = block_of(&d, h.id().as_u64());
            assert!(b.contains("parked_worker"), "{b}");
        }
        release(&w);
        for h in hs {
            assert_eq!(h.join().unwrap(), (1..=16).sum::<u64>());
        }
    });
}

/// Kills: a dump that wakes goroutines (they would count a wake-up they did not get from
/// `release`) or that cannot finish with 10,000 parked.
#[test]
fn a_dump_of_ten_thousand_parked_goroutines_completes_and_wakes_nobody() {
    const N: usize = 10_000;
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(|| {
        let woken_early = Arc::new(AtomicUsize::new(0));
        let w = world();
        let hs: Vec<_> = (0..N)
            .map(|_| {
                let (w2, early) = (w.clone(), woken_early.clone());
                go(move || {
                    w2.slot.lock().unwrap().push(park::current());
                    w2.parked.fetch_add(1, SeqCst);
                    loop {
                        park::park(WaitReason::Park);
                        if w2.go_on.load(SeqCst) {
                            break;
                        }
                        early.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        wait_until(|| w.parked.load(SeqCst) == N);
        let t = Instant::now();
        let d = dump();
        eprintln!(
            "dump of {N} parked goroutines: {:?}, {} bytes",
            t.elapsed(),
            d.len()
        );
        assert_eq!(d.matches("[park]:").count(), N);
        let without: Vec<&str> = d
            .split("\n\n")
            .filter(|b| b.contains("[park]:") && !b.contains("park(...)"))
            .collect();
        assert!(
            without.is_empty(),
            "{} without a stack, e.g.\n{}",
            without.len(),
            without[0]
        );
        assert_eq!(woken_early.load(SeqCst), 0, "the dump woke goroutines");
        release(&w);
        for h in hs {
            h.join().unwrap();
        }
    });
}
