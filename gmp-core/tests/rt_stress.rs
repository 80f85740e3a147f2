//! Long stress runs, kept out of CI: `cargo xtask stress` runs them (`--ignored`, release).
//!
//! - a million goroutines spawned and joined, on 1 and 2 Ps;
//! - a million goroutines alive and parked at once (on the default `vm.max_map_count`), then
//!   all released;
//! - a hundred thousand goroutines sleeping at once.

use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{go, sleep, Runtime};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const MILLION: usize = 1_000_000;

#[test]
#[ignore = "stress: run with `cargo xtask stress`"]
fn a_million_spawned_and_joined() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let n = rt.run(|| {
            let c = Arc::new(AtomicUsize::new(0));
            // In batches, so the join handles do not all live at once.
            for _ in 0..10 {
                let hs: Vec<_> = (0..MILLION / 10)
                    .map(|_| {
                        let c = c.clone();
                        go(move || c.fetch_add(1, SeqCst))
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
            }
            c.load(SeqCst)
        });
        assert_eq!(n, MILLION, "procs {procs}");
    }
}

#[test]
#[ignore = "stress: run with `cargo xtask stress`"]
fn a_million_parked_at_once_then_released() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let woke = rt.run(|| {
        let woke = Arc::new(AtomicUsize::new(0));
        let parked = Arc::new(AtomicUsize::new(0));
        let go_on = Arc::new(AtomicBool::new(false));
        let (utx, urx) = std::sync::mpsc::channel::<Unparker>();
        let hs: Vec<_> = (0..MILLION)
            .map(|_| {
                let (woke, parked, go_on, utx) =
                    (woke.clone(), parked.clone(), go_on.clone(), utx.clone());
                go(move || {
                    utx.send(park::current()).unwrap();
                    parked.fetch_add(1, SeqCst);
                    while !go_on.load(SeqCst) {
                        park::park(WaitReason::Park);
                    }
                    woke.fetch_add(1, SeqCst);
                })
            })
            .collect();
        drop(utx);
        while parked.load(SeqCst) < MILLION {
            sleep(Duration::from_millis(10));
        }
        assert_eq!(gmp_core::num_goroutine(), MILLION + 1);
        go_on.store(true, SeqCst);
        for u in urx.iter() {
            u.unpark();
        }
        for h in hs {
            h.join().unwrap();
        }
        woke.load(SeqCst)
    });
    assert_eq!(woke, MILLION);
}

#[test]
#[ignore = "stress: run with `cargo xtask stress`"]
fn a_hundred_thousand_sleepers() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let done = rt.run(|| {
        let done = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..100_000)
            .map(|i| {
                let done = done.clone();
                go(move || {
                    sleep(Duration::from_millis(10 + (i % 7) as u64));
                    done.fetch_add(1, SeqCst);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        done.load(SeqCst)
    });
    assert_eq!(done, 100_000);
}
