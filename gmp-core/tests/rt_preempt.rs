//! Cooperative preemption: sysmon flags a goroutine that has held its P for over 10 ms, and
//! it yields at its next preemption point; two goroutines waking each other cannot keep their
//! P from a third (Go's TestPingPongHog); the budget makes a run of non-blocking operations
//! yield.

use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{go, Runtime};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn spin_for(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn a_long_running_goroutine_yields_at_its_next_checkpoint() {
    // One P. The hog spawns `other` (into runnext) and then computes 2 ms between preemption
    // points. Only the budget (128 points, ~256 ms) would make it yield without sysmon; with
    // sysmon's 10 ms flag, `other` runs after a handful of points.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let points = rt.run(|| {
        go(|| {
            let other_ran = Arc::new(AtomicBool::new(false));
            let o2 = other_ran.clone();
            go(move || o2.store(true, SeqCst));
            let mut points = 0;
            while !other_ran.load(SeqCst) && points < 1_000 {
                spin_for(Duration::from_millis(2));
                park::checkpoint();
                points += 1;
            }
            points
        })
        .join()
        .unwrap()
    });
    assert!(
        points < 64,
        "the other goroutine waited {points} preemption points (budget alone: 128)"
    );
}

#[test]
fn a_ping_pong_pair_cannot_starve_a_third_goroutine() {
    // Go: runtime TestPingPongHog. One P: G1 and G2 wake each other through runnext forever;
    // G3 waits in the local queue. Without time-slice preemption, G3 never runs.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (third_ran, rounds) = rt.run(|| {
        go(|| {
            let third_ran = Arc::new(AtomicBool::new(false));
            let stop = Arc::new(AtomicBool::new(false));
            let rounds = Arc::new(AtomicUsize::new(0));
            let t3 = third_ran.clone();
            let s3 = stop.clone();
            go(move || {
                t3.store(true, SeqCst);
                s3.store(true, SeqCst);
            });
            // G2: waits for its turn (odd), hands it back (even).
            let turn = Arc::new(AtomicUsize::new(0));
            let g1: Unparker = park::current();
            let slot: Arc<Mutex<Option<Unparker>>> = Arc::new(Mutex::new(None));
            let (turn2, slot2, stop2, g1b) = (turn.clone(), slot.clone(), stop.clone(), g1.clone());
            let g2 = go(move || {
                *slot2.lock().unwrap() = Some(park::current());
                g1b.unpark();
                loop {
                    let t = turn2.load(SeqCst);
                    if t % 2 == 1 {
                        turn2.store(t + 1, SeqCst);
                        g1b.unpark();
                    } else if stop2.load(SeqCst) && t % 2 == 0 && t > 0 {
                        return;
                    }
                    park::park(WaitReason::Park);
                }
            });
            let peer = loop {
                if let Some(u) = slot.lock().unwrap().take() {
                    break u;
                }
                park::park(WaitReason::Park);
            };
            let started = Instant::now();
            while !stop.load(SeqCst) && started.elapsed() < Duration::from_secs(5) {
                let t = turn.load(SeqCst);
                turn.store(t + 1, SeqCst);
                peer.unpark();
                while turn.load(SeqCst) != t + 2 {
                    park::park(WaitReason::Park);
                }
                rounds.fetch_add(1, SeqCst);
            }
            stop.store(true, SeqCst);
            peer.unpark();
            g2.join().unwrap();
            (third_ran.load(SeqCst), rounds.load(SeqCst))
        })
        .join()
        .unwrap()
    });
    assert!(third_ran, "G3 never ran during {rounds} ping-pong rounds");
}

#[test]
fn the_budget_makes_a_run_of_non_blocking_operations_yield() {
    // No time involved: a goroutine that only passes checkpoints (operations that completed
    // without blocking) yields after its budget, so `other` runs before 1,000 of them.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let points = rt.run(|| {
        go(|| {
            let other_ran = Arc::new(AtomicBool::new(false));
            let o2 = other_ran.clone();
            go(move || o2.store(true, SeqCst));
            let mut points = 0;
            while !other_ran.load(SeqCst) && points < 100_000 {
                park::checkpoint();
                points += 1;
            }
            points
        })
        .join()
        .unwrap()
    });
    assert!(points <= 128, "other ran after {points} checkpoints");
}
