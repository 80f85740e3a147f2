//! `metrics()` (`sched/metrics.rs`): each metric moves with the program as Go's `/sched/*`
//! metrics do. Each test names the mutants of the implementation it kills.

use gmp_core::__private::{stacks_carved, stacks_copied_out};
use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{go, gomaxprocs, metrics, sleep, syscall, JoinHandle, Metrics, Runtime};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `test(procs)` as the main goroutine of a runtime of its own with 1, then 2 Ps: the
/// metrics read are that runtime's alone.
fn on_1_and_2_ps(test: fn(usize)) {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        rt.run(move || test(procs));
    }
}

/// Waits (sleeping, up to 20 s) until `f` holds; returns whether it did.
fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > Duration::from_secs(20) {
            return false;
        }
        sleep(Duration::from_millis(2));
    }
    true
}

/// `n` goroutines parked until the gate opens (absorbing spurious wake-ups), as on a channel
/// receive.
struct Gate {
    open: Arc<AtomicBool>,
    parked: Arc<AtomicUsize>,
    waiters: Arc<Mutex<Vec<Unparker>>>,
    handles: Vec<JoinHandle<()>>,
}

impl Gate {
    fn park(n: usize) -> Gate {
        let open = Arc::new(AtomicBool::new(false));
        let parked = Arc::new(AtomicUsize::new(0));
        let waiters: Arc<Mutex<Vec<Unparker>>> = Arc::default();
        let handles = (0..n)
            .map(|_| {
                let (open, parked, waiters) = (open.clone(), parked.clone(), waiters.clone());
                go(move || {
                    waiters.lock().unwrap().push(park::current());
                    parked.fetch_add(1, SeqCst);
                    while !open.load(SeqCst) {
                        park::park(WaitReason::ChanReceive);
                    }
                })
            })
            .collect();
        let g = Gate {
            open,
            parked,
            waiters,
            handles,
        };
        assert!(wait_until(|| g.parked.load(SeqCst) == n));
        g
    }

    fn release(self) {
        self.open.store(true, SeqCst);
        for u in self.waiters.lock().unwrap().iter() {
            u.unpark();
        }
        for h in self.handles {
            h.join().unwrap();
        }
    }
}

/// Kills: `count_created` doing nothing or counting twice (either branch); spawns from
/// outside a P (a plain thread's `Runtime::go`) not counted; `goroutines` not read.
#[test]
fn goroutines_created_grows_by_exactly_the_spawns() {
    for procs in [1, 2] {
        let rt = Arc::new(Runtime::builder().procs(procs).build().unwrap());
        let rt2 = rt.clone();
        rt.run(move || {
            let before = metrics();
            assert_eq!(before.goroutines_created, 1, "the main goroutine");
            assert_eq!(before.goroutines, 1);
            let hs: Vec<_> = (0..50).map(|i| go(move || i)).collect();
            // Five more from a plain thread: no P to count them on.
            let from_thread =
                std::thread::spawn(move || (0..5).map(|i| rt2.go(move || i)).collect::<Vec<_>>())
                    .join()
                    .unwrap();
            assert_eq!(metrics().goroutines_created, 56);
            for h in hs.into_iter().chain(from_thread) {
                h.join().unwrap();
            }
            assert_eq!(
                metrics().goroutines_created,
                56,
                "a goroutine ending creates none"
            );
            assert!(wait_until(|| metrics().goroutines == 1));
        });
    }
}

/// Kills: `goroutines_waiting` not derived (0), or derived without subtracting the running
/// or runnable goroutines; `parks` not counted in `park_m`.
#[test]
fn waiting_counts_parked_goroutines_and_drops_when_they_end() {
    on_1_and_2_ps(|procs| {
        let parks0 = metrics().parks;
        let gate = Gate::park(100);
        assert!(
            wait_until(|| metrics().goroutines_waiting >= 100),
            "{procs} Ps: {:?}",
            metrics()
        );
        let m = metrics();
        assert_eq!(m.goroutines, 101, "{m:?}");
        assert_eq!(
            m.goroutines_waiting, 100,
            "{procs} Ps, only main runs: {m:?}"
        );
        assert_eq!(m.goroutines_running, 1, "{m:?}");
        assert!(m.parks - parks0 >= 100, "{m:?}");
        gate.release();
        assert!(
            wait_until(|| metrics().goroutines_waiting == 0),
            "{:?}",
            metrics()
        );
        assert!(metrics().parks - parks0 > 100, "main parked in join too");
    });
}

/// Kills: `goroutines_runnable` missing the local queues, their `runnext`, or the global
/// queue; `goroutines_running` counting idle Ps or Ps without a goroutine.
#[test]
fn runnable_counts_the_local_and_global_queues() {
    let rt = Arc::new(Runtime::builder().procs(1).build().unwrap());
    let rt2 = rt.clone();
    rt.run(move || {
        for attempt in 0.. {
            // The main goroutine does not yield: they wait in its P's queue (the last in
            // runnext), unless sysmon saw it hold the P for 10 ms (the OS descheduled its
            // thread) and `go` yielded: then none of this holds, and we try again.
            let ran = Arc::new(AtomicUsize::new(0));
            let spawn = |ran: &Arc<AtomicUsize>| {
                let ran = ran.clone();
                move || {
                    ran.fetch_add(1, SeqCst);
                }
            };
            let mut hs: Vec<_> = (0..10).map(|_| go(spawn(&ran))).collect();
            let local = metrics();
            // Spawned from a plain thread: the global queue (the only P is busy).
            let (rt2, f) = (rt2.clone(), spawn(&ran));
            let from_thread =
                std::thread::spawn(move || (0..5).map(|_| rt2.go(f.clone())).collect::<Vec<_>>());
            hs.extend(from_thread.join().unwrap());
            let global = metrics();
            let undisturbed = ran.load(SeqCst) == 0;
            for h in hs {
                h.join().unwrap();
            }
            let after = metrics();
            if !undisturbed {
                assert!(attempt < 20, "main was preempted in 20 attempts");
                continue;
            }
            let m = local;
            assert_eq!(
                (
                    m.goroutines_runnable,
                    m.goroutines_running,
                    m.goroutines_waiting
                ),
                (10, 1, 0),
                "{m:?}"
            );
            let m = global;
            assert_eq!((m.goroutines, m.goroutines_runnable), (16, 15), "{m:?}");
            let m = after;
            assert_eq!(
                (m.goroutines_runnable, m.goroutines_running),
                (0, 1),
                "{m:?}"
            );
            break;
        }
    });
}

/// Kills: `steals` not counted in `stealwork` (on 2 Ps), or counted for failed attempts
/// (never on 1 P, where `stealwork` has no victim).
#[test]
fn steals_grow_on_two_ps_and_never_on_one() {
    on_1_and_2_ps(|procs| {
        let spin = |d: Duration| {
            let t = Instant::now();
            while t.elapsed() < d {
                std::hint::spin_loop();
            }
        };
        // One goroutine spawns many that each take a while: the other P's M, woken by the
        // spawns, has nothing of its own and steals half of the spawner's queue.
        for _round in 0..200 {
            let hs: Vec<_> = (0..64)
                .map(|_| go(move || spin(Duration::from_micros(50))))
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            if metrics().steals > 0 {
                break;
            }
        }
        let m = metrics();
        if procs == 1 {
            assert_eq!(m.steals, 0, "{m:?}");
        } else {
            assert!(m.steals > 0, "no steal in 200 rounds: {m:?}");
        }
        // Kills: `threads` not counted. Every P has had an M, and sysmon runs.
        assert!(m.threads > procs, "{m:?}");
    });
}

/// Kills: `syscalls` not counted, counted at exit too, or counted for a nested call (which
/// has no P to give up); a P in `P_SYSCALL` not counted as a goroutine in a syscall.
#[test]
fn syscalls_count_the_calls_of_syscall() {
    on_1_and_2_ps(|procs| {
        let before = metrics().syscalls;
        for i in 0..5 {
            assert_eq!(syscall(|| i), i);
        }
        syscall(|| syscall(|| ())); // nested: one
        assert_eq!(metrics().syscalls - before, 6);
        // A plain thread's `syscall` is not the runtime's.
        std::thread::spawn(|| syscall(|| ())).join().unwrap();
        assert_eq!(metrics().syscalls - before, 6);
        // Read inside: the P is in `P_SYSCALL` (sysmon takes it only after 20 µs, and then
        // counts the goroutine itself).
        let m = syscall(metrics);
        assert_eq!(
            (
                m.goroutines_syscall,
                m.goroutines_running,
                m.goroutines_waiting
            ),
            (1, 0, 0),
            "{procs} Ps: {m:?}"
        );
        assert_eq!(m.syscalls - before, 7);
    });
}

/// Kills: `handoffs` not counted in `handoffp`; `ngsyscall_nop` not incremented by `retake`
/// or not decremented by `exitsyscall` (the goroutine in the syscall not counted once its P
/// is gone, or counted for ever); Ps in `P_SYSCALL` not counted.
#[test]
fn a_blocking_syscall_hands_its_p_off_and_counts_as_in_a_syscall() {
    on_1_and_2_ps(|procs| {
        for attempt in 0.. {
            let before = metrics();
            let in_syscall = Arc::new(AtomicBool::new(true));
            let seen = Arc::new(AtomicUsize::new(usize::MAX));
            let (i2, s2) = (in_syscall.clone(), seen.clone());
            // Waits on this P while the main goroutine blocks its M: sysmon hands the P off.
            let other = go(move || {
                while i2.load(SeqCst) {
                    let m = metrics();
                    s2.store(m.goroutines_syscall, SeqCst);
                    if m.goroutines_syscall == 1 {
                        break;
                    }
                    std::hint::spin_loop();
                }
            });
            syscall(|| {
                std::thread::sleep(Duration::from_millis(50));
                in_syscall.store(false, SeqCst);
            });
            other.join().unwrap();
            let m = metrics();
            assert_eq!(
                m.goroutines_syscall, 0,
                "{procs} Ps: back from syscall: {m:?}"
            );
            if m.handoffs > before.handoffs && seen.load(SeqCst) == 1 {
                break;
            }
            assert!(
                attempt < 20,
                "{procs} Ps: no hand-off seen in 20 blocking syscalls: {m:?}, other saw {}",
                seen.load(SeqCst)
            );
        }
    });
}

/// Kills: `procs` not `gomaxprocs`; `threads` counting neither the Ms nor sysmon.
#[test]
fn procs_is_gomaxprocs_and_threads_cover_them() {
    on_1_and_2_ps(|procs| {
        // Every P busy at once: each has had an M.
        let started = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..procs)
            .map(|_| {
                let started = started.clone();
                go(move || {
                    started.fetch_add(1, SeqCst);
                    while started.load(SeqCst) < procs {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let m = metrics();
        assert_eq!(m.procs, gomaxprocs());
        assert_eq!(m.procs, procs);
        assert!(m.threads > procs, "Ms and sysmon: {m:?}");
    });
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// Kills: `stack_bytes_committed` not counting the stacks in use, not subtracting the
/// stacks copied out, or not adding back those copied in (by their M, or by a dump that
/// walks them: `stacks_out` not decremented there);
/// `stack_bytes_reserved` not counting the slabs.
#[test]
fn stack_bytes_follow_the_stacks_in_use_and_copied_out() {
    on_1_and_2_ps(|procs| {
        let page = page_size();
        let m = metrics();
        assert!(m.stack_bytes_committed >= page, "main's stack: {m:?}");
        assert!(m.stack_bytes_reserved >= m.stack_bytes_committed, "{m:?}");
        let gate = Gate::park(100);
        let m = metrics();
        assert!(m.stack_bytes_reserved >= 101 * (page + 64 * 1024), "{m:?}");
        assert!(m.stack_bytes_reserved >= m.stack_bytes_committed, "{m:?}");
        // sysmon copies the parked goroutines' stacks out (after 20 ms), releasing the pages.
        assert!(
            wait_until(|| stacks_copied_out() == 100),
            "{procs} Ps: {} copied out",
            stacks_copied_out()
        );
        // Nothing has ended yet, so no stack is pooled: every stack carved is in use, and
        // all but the main goroutine's (running) are out.
        let carved = stacks_carved();
        let m = metrics();
        assert_eq!(m.stack_bytes_committed, (carved - 100) * page, "{m:?}");
        // A dump walks each parked goroutine on its stack: it puts the copies back (and
        // they stay until the next sweep copies them out again).
        let _ = gmp_core::dump();
        // (A sweep may copy some out again meanwhile: read until no sweep came between.)
        loop {
            let out = stacks_copied_out();
            let m = metrics();
            if stacks_copied_out() == out {
                assert!(out < 100, "the dump put nothing back");
                assert_eq!(m.stack_bytes_committed, (carved - out) * page, "{m:?}");
                break;
            }
        }
        gate.release();
        // Copied back in, then ended: in the Ps' caches or warm in the pool, resident.
        let m = metrics();
        assert_eq!(m.stack_bytes_committed, stacks_carved() * page, "{m:?}");
        assert!(m.stack_bytes_reserved >= m.stack_bytes_committed, "{m:?}");
    });
}

/// Outside any runtime: zero until the default runtime starts (reading does not start it),
/// then the default runtime's. The only test of this file that uses the default runtime.
/// Kills: reading a zeroed `Metrics` even when the default runtime runs; starting it.
#[test]
fn outside_a_runtime_it_reads_the_default_runtime_once_started() {
    let m: Metrics = metrics();
    assert_eq!((m.procs, m.goroutines, m.threads), (0, 0, 0), "{m:?}");
    assert_eq!(
        metrics().procs,
        0,
        "reading did not start the default runtime"
    );
    let h = go(|| 7);
    assert_eq!(h.join().unwrap(), 7);
    let m = metrics();
    assert_eq!(m.procs, gomaxprocs(), "{m:?}");
    assert!(m.goroutines_created >= 1 && m.threads >= 1, "{m:?}");
}
