//! Copy-out of parked stacks (`sched/copyout.rs`): a goroutine parked for a while has its
//! live stack bytes moved to the heap and its pages released; woken, it finds every local,
//! every frame and every pointer into its stack as it left them.

use gmp_core::__private::{copyout_stats, stacks_copied_out};
use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{go, sleep, Runtime};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const N: usize = 64;

/// Parks until `go_on` is set (absorbing spurious wake-ups).
fn park_until(go_on: &AtomicBool) {
    while !go_on.load(SeqCst) {
        park::park(WaitReason::Park);
    }
}

/// A few frames deep, with locals and a pointer into the stack across the park.
#[inline(never)]
fn deep(i: usize, depth: usize, go_on: &AtomicBool, parked: &AtomicUsize) -> u64 {
    let local: [u64; 32] = std::array::from_fn(|k| (i * 1000 + depth * 100 + k) as u64);
    let p: &[u64; 32] = black_box(&local);
    let below = if depth == 0 {
        parked.fetch_add(1, SeqCst);
        park_until(go_on);
        0
    } else {
        deep(i, depth - 1, go_on, parked)
    };
    black_box(p).iter().sum::<u64>() + below
}

fn expected(i: usize, depth: usize) -> u64 {
    (0..=depth)
        .map(|d| {
            (0..32)
                .map(|k| (i * 1000 + d * 100 + k) as u64)
                .sum::<u64>()
        })
        .sum()
}

/// Waits (up to 20 s) until `f` holds.
fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > Duration::from_secs(20) {
            return false;
        }
        sleep(Duration::from_millis(5));
    }
    true
}

#[test]
fn copied_out_goroutines_resume_whole() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(|| {
        let go_on = Arc::new(AtomicBool::new(false));
        let parked = Arc::new(AtomicUsize::new(0));
        let unparkers: Arc<Mutex<Vec<Unparker>>> = Arc::default();
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let (go_on, parked, ups) = (go_on.clone(), parked.clone(), unparkers.clone());
                go(move || {
                    ups.lock().unwrap().push(park::current());
                    deep(i, i % 5, &go_on, &parked)
                })
            })
            .collect();
        assert!(wait_until(|| parked.load(SeqCst) == N));
        // Every one of them parked long enough is copied out by sysmon's sweeps.
        assert!(
            wait_until(|| stacks_copied_out() == N),
            "only {} of {N} stacks were copied out",
            stacks_copied_out()
        );
        go_on.store(true, SeqCst);
        for u in unparkers.lock().unwrap().iter() {
            u.unpark();
        }
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), expected(i, i % 5), "goroutine {i}");
        }
        assert_eq!(stacks_copied_out(), 0);
    });
}

#[test]
fn a_goroutine_woken_while_copied_out_parks_and_is_copied_out_again() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(|| {
        let round = Arc::new(AtomicUsize::new(0));
        let ack = Arc::new(AtomicUsize::new(0));
        let slot: Arc<Mutex<Option<Unparker>>> = Arc::default();
        let (r, a, sl) = (round.clone(), ack.clone(), slot.clone());
        let h = go(move || {
            *sl.lock().unwrap() = Some(park::current());
            let local: [u8; 100] = std::array::from_fn(|k| k as u8);
            let p = black_box(&local);
            let mut seen = 0;
            for want in 1..=3 {
                while r.load(SeqCst) < want {
                    park::park(WaitReason::Park);
                }
                seen += black_box(p).iter().map(|&b| b as usize).sum::<usize>();
                a.store(want, SeqCst);
            }
            seen
        });
        assert!(wait_until(|| slot.lock().unwrap().is_some()));
        let u = slot.lock().unwrap().clone().unwrap();
        for want in 1..=3 {
            // Parked and copied out (again), then woken.
            assert!(wait_until(|| stacks_copied_out() == 1), "round {want}");
            round.store(want, SeqCst);
            u.unpark();
            assert!(wait_until(|| ack.load(SeqCst) == want), "round {want}");
        }
        assert_eq!(h.join().unwrap(), 3 * (0..100).sum::<usize>());
    });
}

#[test]
fn a_sleeper_about_to_wake_is_left_alone_and_a_long_one_is_copied_out() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(|| {
        let (copies_before, _) = copyout_stats();
        let done = Arc::new(AtomicUsize::new(0));
        let nap = |ms| {
            let done = done.clone();
            move || {
                sleep(Duration::from_millis(ms));
                done.fetch_add(1, SeqCst);
            }
        };
        for _ in 0..N {
            // Parked past the copy-out age (20 ms) but due within another 20 ms at every
            // sweep: copying would buy a page fault at the wake-up a few ms later.
            go(nap(35));
            // Due long after: copied out like any other parked goroutine.
            go(nap(400));
        }
        assert!(
            wait_until(|| stacks_copied_out() == N),
            "copied out: {} of the {N} long sleepers",
            stacks_copied_out()
        );
        // Waits in 5 ms naps (never copied out itself), not in a join.
        assert!(wait_until(|| done.load(SeqCst) == 2 * N));
        let (copies_after, _) = copyout_stats();
        assert_eq!(
            copies_after - copies_before,
            N,
            "only the long sleepers are copied out"
        );
    });
}
