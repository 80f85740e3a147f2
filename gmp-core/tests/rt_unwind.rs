//! Goroutines that block while unwinding: a destructor that sleeps, locks or waits during a
//! panic, or during the cancellation that `Runtime` drop runs on parked goroutines.
//!
//! std's panic count is thread-local, so such a goroutine must finish unwinding on the thread
//! it started on, and that thread must run nothing else meanwhile; the P must still go to the
//! other goroutines; and a cancellation must not unwind a second time out of a destructor
//! (which aborts the process).

use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{go, gosched, sleep, syscall, Runtime};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `f` on a helper thread and fails the test if it has not returned within 30 s (a lost
/// wake-up would otherwise hang the test binary).
fn within_30s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what}: still blocked after 30 s"))
}

/// Sleeps in its destructor (a flush, a graceful close...), and counts the drops.
struct SleepyDrop(Arc<AtomicUsize>);

impl Drop for SleepyDrop {
    fn drop(&mut self) {
        let t = Instant::now();
        sleep(Duration::from_millis(2));
        assert!(t.elapsed() >= Duration::from_millis(2));
        self.0.fetch_add(1, SeqCst);
    }
}

fn cancel_with_sleepy_destructors(procs: usize) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d2 = dropped.clone();
    within_30s("Runtime drop", move || {
        let rt = Runtime::builder()
            .procs(procs)
            .deadlock_detection(false)
            .build()
            .unwrap();
        let parked = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let (d, p) = (d2.clone(), parked.clone());
            rt.go(move || {
                let _guard = SleepyDrop(d);
                p.fetch_add(1, SeqCst);
                loop {
                    park::park(WaitReason::Park); // forever: only the shutdown ends it
                }
            });
        }
        while parked.load(SeqCst) < 4 {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(rt); // cancels the four; each destructor sleeps while unwinding
    });
    assert_eq!(dropped.load(SeqCst), 4, "every destructor ran to its end");
}

#[test]
fn cancelled_goroutines_may_sleep_in_destructors_on_one_p() {
    cancel_with_sleepy_destructors(1);
}

#[test]
fn cancelled_goroutines_may_sleep_in_destructors_on_two_ps() {
    cancel_with_sleepy_destructors(2);
}

/// Waits in its destructor until another goroutine sets the flag.
struct WaitsForPeer {
    flag: Arc<AtomicBool>,
    waiter: Arc<Mutex<Option<Unparker>>>,
    thread_ok: Arc<AtomicBool>,
}

impl Drop for WaitsForPeer {
    fn drop(&mut self) {
        assert!(std::thread::panicking());
        let me = std::thread::current().id();
        *self.waiter.lock().unwrap() = Some(park::current());
        while !self.flag.load(SeqCst) {
            park::park(WaitReason::Park);
        }
        // Resumed on the thread it parked on, which still knows it is unwinding.
        self.thread_ok.store(
            std::thread::current().id() == me && std::thread::panicking(),
            SeqCst,
        );
    }
}

#[test]
fn a_destructor_that_waits_during_a_panic_lets_the_other_goroutines_run() {
    // One P: if the unwinding goroutine's wait blocked its M with the P, the peer that ends the
    // wait could never run.
    let ok = within_30s("panic with a waiting destructor", || {
        let rt = Runtime::builder().procs(1).build().unwrap();
        rt.run(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let waiter: Arc<Mutex<Option<Unparker>>> = Arc::new(Mutex::new(None));
            let thread_ok = Arc::new(AtomicBool::new(false));
            let guard = WaitsForPeer {
                flag: flag.clone(),
                waiter: waiter.clone(),
                thread_ok: thread_ok.clone(),
            };
            let h = go(move || {
                let _g = guard;
                panic!("boom with a waiting destructor");
            });
            let peer = go(move || {
                let u = loop {
                    if let Some(u) = waiter.lock().unwrap().take() {
                        break u;
                    }
                    gosched();
                };
                // The panicking goroutine is parked, so its M runs nothing else: this one
                // runs on another thread, which is not unwinding.
                assert!(!std::thread::panicking());
                flag.store(true, SeqCst);
                u.unpark();
            });
            peer.join().unwrap();
            let err = h.join().unwrap_err();
            assert_eq!(err.panic_message(), Some("boom with a waiting destructor"));
            // Nobody else inherited the unwinding thread's panic count.
            let clean = (0..20)
                .map(|_| go(std::thread::panicking))
                .filter_map(|h| h.join().ok())
                .all(|p| !p);
            thread_ok.load(SeqCst) && clean
        })
    });
    assert!(
        ok,
        "the destructor resumed on another thread, or a goroutine saw a foreign panic"
    );
}

#[test]
fn a_panic_escaping_a_syscall_with_its_p_taken_finishes_on_its_thread() {
    // One P kept busy while the syscall blocks, so sysmon hands the P off and the unwinding
    // goroutine comes back to find no P: it must wait for one on its own thread.
    let ok = within_30s("panic out of a syscall", || {
        let rt = Runtime::builder().procs(1).build().unwrap();
        rt.run(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let s2 = stop.clone();
            let busy = go(move || {
                let t = Instant::now();
                while !s2.load(SeqCst) && t.elapsed() < Duration::from_secs(20) {
                    gosched();
                }
            });
            struct SameThread(std::thread::ThreadId, Arc<AtomicBool>);
            impl Drop for SameThread {
                fn drop(&mut self) {
                    // Runs after exitsyscall, still unwinding.
                    let ok = std::thread::current().id() == self.0 && std::thread::panicking();
                    self.1.store(ok, SeqCst);
                }
            }
            let same = Arc::new(AtomicBool::new(false));
            let s3 = same.clone();
            let h = go(move || {
                let _g = SameThread(std::thread::current().id(), s3);
                syscall(|| {
                    std::thread::sleep(Duration::from_millis(50));
                    panic!("boom out of a syscall")
                })
            });
            let err = h.join().unwrap_err();
            stop.store(true, SeqCst);
            busy.join().unwrap();
            err.panic_message() == Some("boom out of a syscall") && same.load(SeqCst)
        })
    });
    assert!(ok);
}

#[test]
fn a_destructor_that_yields_during_a_panic_lets_the_other_goroutines_run() {
    // One P: a destructor spins on `gosched` until a goroutine started after the spin began
    // sets a flag. The yield must let the others run, and the goroutine must come back to its
    // own thread.
    let ok = within_30s("panic with a yielding destructor", || {
        let rt = Runtime::builder().procs(1).build().unwrap();
        rt.run(|| {
            struct Spin {
                spinning: Arc<AtomicBool>,
                flag: Arc<AtomicBool>,
                same: Arc<AtomicBool>,
            }
            impl Drop for Spin {
                fn drop(&mut self) {
                    let me = std::thread::current().id();
                    self.spinning.store(true, SeqCst);
                    while !self.flag.load(SeqCst) {
                        gosched();
                    }
                    let same = std::thread::current().id() == me && std::thread::panicking();
                    self.same.store(same, SeqCst);
                }
            }
            let spinning = Arc::new(AtomicBool::new(false));
            let flag = Arc::new(AtomicBool::new(false));
            let same = Arc::new(AtomicBool::new(false));
            let guard = Spin {
                spinning: spinning.clone(),
                flag: flag.clone(),
                same: same.clone(),
            };
            let h = go(move || {
                let _g = guard;
                panic!("boom with a yielding destructor");
            });
            // Only the spinning destructor's yields let this goroutine run again.
            while !spinning.load(SeqCst) {
                gosched();
            }
            let peer = go(move || {
                assert!(!std::thread::panicking());
                flag.store(true, SeqCst);
            });
            peer.join().unwrap();
            h.join().unwrap_err();
            same.load(SeqCst)
        })
    });
    assert!(ok, "the destructor resumed on another thread");
}
