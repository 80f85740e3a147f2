//! Scoped goroutines (`gmp_core::scope`): borrowing from the caller, the wait for every
//! goroutine, std's panic rules, the caller's stack kept in place, and a shutdown that cannot
//! cut the wait short. Each test names the mutant of `scope.rs` it kills.

mod common;

use common::{everywhere, panic_message};
use gmp_core::{scope, sleep, syscall, JoinError, Runtime};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

/// Kills: `go` demanding `'static` (does not compile), and `scope` returning before its
/// goroutines wrote through their borrows (a total is missing).
#[test]
fn goroutines_borrow_and_mutate_the_callers_locals() {
    everywhere(|| {
        let data: Vec<u64> = (1..=1000).collect();
        let mut totals = [0u64; 8];
        scope(|s| {
            for (chunk, total) in data.chunks(125).zip(totals.iter_mut()) {
                s.go(move || {
                    sleep(Duration::from_millis(2));
                    *total = chunk.iter().sum();
                });
            }
        });
        assert_eq!(totals.iter().sum::<u64>(), 500_500);
        assert!(totals.iter().all(|&t| t > 0));
    });
}

/// Kills: a scope that waits only for the goroutines joined inside it.
#[test]
fn scope_waits_for_goroutines_nobody_joined() {
    everywhere(|| {
        let done = AtomicUsize::new(0);
        scope(|s| {
            for i in 0..16u64 {
                let done = &done;
                s.go(move || {
                    sleep(Duration::from_millis(1 + i % 4));
                    done.fetch_add(1, SeqCst);
                });
            }
        });
        assert_eq!(done.load(SeqCst), 16);
    });
}

/// Kills: `join` losing the value, or a joined panic still making the scope panic.
#[test]
fn join_returns_values_and_handles_panics() {
    everywhere(|| {
        let base = 40;
        let r = scope(|s| {
            let a = s.go(|| base + 2);
            let b = s.go(|| -> u32 { panic!("scoped boom") });
            let id = a.id();
            assert!(id.as_u64() > 0);
            let a = a.join().unwrap();
            match b.join() {
                Err(JoinError::Panicked(p)) => {
                    assert_eq!(p.downcast_ref::<&str>(), Some(&"scoped boom"));
                }
                other => panic!("expected the panic, got {:?}", other.map(|_| ())),
            }
            a
        });
        assert_eq!(r, 42);
    });
}

/// Kills: an unjoined panic ignored, and the scope panicking before its other goroutines end.
#[test]
fn an_unjoined_panic_makes_scope_panic_after_the_wait() {
    everywhere(|| {
        let slow_done = AtomicBool::new(false);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            scope(|s| {
                s.go(|| panic!("nobody joins me"));
                s.go(|| {
                    sleep(Duration::from_millis(20));
                    slow_done.store(true, SeqCst);
                });
            })
        }));
        assert_eq!(panic_message(r), "a scoped goroutine panicked");
        assert!(
            slow_done.load(SeqCst),
            "scope panicked before its goroutines ended"
        );
    });
}

/// Kills: resuming the closure's panic before the goroutines that borrow its frame end.
#[test]
fn a_panic_in_the_closure_is_resumed_after_the_wait() {
    everywhere(|| {
        let slow_done = AtomicBool::new(false);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            scope(|s| {
                s.go(|| {
                    sleep(Duration::from_millis(20));
                    slow_done.store(true, SeqCst);
                });
                panic!("owner boom");
            })
        }));
        assert_eq!(panic_message(r), "owner boom");
        assert!(slow_done.load(SeqCst));
    });
}

/// Kills: scopes whose inner goroutines outlive the inner scope.
#[test]
fn scopes_nest() {
    everywhere(|| {
        let n = AtomicUsize::new(0);
        scope(|s| {
            for _ in 0..4 {
                s.go(|| {
                    let local = AtomicUsize::new(0);
                    scope(|s2| {
                        for _ in 0..4 {
                            s2.go(|| local.fetch_add(1, SeqCst));
                        }
                    });
                    n.fetch_add(local.load(SeqCst), SeqCst);
                });
            }
        });
        assert_eq!(n.load(SeqCst), 16);
    });
}

/// The owner parks in the scope's wait far past the copy-out age (20 ms) while its goroutines
/// read a 4 KiB local of its frame, which fills the owner's stack page.
/// Kills: a scope that does not pin the owner's stack (the sweep copies it out and releases
/// its pages: the goroutines would read zeros).
#[test]
fn the_owners_stack_stays_in_place_while_goroutines_borrow_it() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(|| {
        // Not the main goroutine of `run`: that one's stack belongs to the caller's thread.
        let owner = gmp_core::go(|| {
            let table: [u64; 512] = std::array::from_fn(|i| i as u64 * 3 + 1);
            let want: u64 = table.iter().sum();
            let table = black_box(&table);
            let sums = AtomicUsize::new(0);
            scope(|s| {
                for _ in 0..4 {
                    s.go(|| {
                        // Long enough for several sweeps of sysmon (every 10 ms).
                        for _ in 0..20 {
                            sleep(Duration::from_millis(10));
                            assert_eq!(table.iter().sum::<u64>(), want);
                            sums.fetch_add(1, SeqCst);
                        }
                    });
                }
            });
            sums.load(SeqCst)
        });
        assert_eq!(owner.join().unwrap(), 80);
    });
}

/// A runtime shutting down cancels its goroutines at their next park by unwinding them. The
/// owner of a scope is cancelled too, but must not unwind out of `scope` while its goroutine
/// (here inside `syscall`, which a cancellation cannot interrupt) still reads its frame.
/// Kills: a cancellable wait in `scope`.
#[test]
fn a_shutdown_does_not_unwind_the_owner_out_of_a_live_scope() {
    static OWNER_LEFT: AtomicBool = AtomicBool::new(false);
    static CHILD_SAW_OWNER_LEFT: AtomicBool = AtomicBool::new(true);
    static CHILD_SUM: AtomicU64 = AtomicU64::new(0);
    static IN_SCOPE: AtomicBool = AtomicBool::new(false);
    struct SetOnDrop;
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            OWNER_LEFT.store(true, SeqCst);
        }
    }
    let rt = Runtime::builder()
        .procs(2)
        .exit_grace(Duration::from_secs(10))
        .build()
        .unwrap();
    rt.run(|| {
        gmp_core::go(|| {
            let data: [u64; 64] = std::array::from_fn(|i| i as u64);
            let data = black_box(&data);
            let _left = SetOnDrop;
            scope(|s| {
                s.go(|| {
                    IN_SCOPE.store(true, SeqCst);
                    syscall(|| std::thread::sleep(Duration::from_millis(300)));
                    CHILD_SAW_OWNER_LEFT.store(OWNER_LEFT.load(SeqCst), SeqCst);
                    CHILD_SUM.store(data.iter().sum(), SeqCst);
                });
            });
        });
        while !IN_SCOPE.load(SeqCst) {
            sleep(Duration::from_millis(1));
        }
    });
    // The runtime shuts down: it cancels the owner, parked in the scope's wait.
    drop(rt);
    assert!(OWNER_LEFT.load(SeqCst), "the owner ended");
    assert!(
        !CHILD_SAW_OWNER_LEFT.load(SeqCst),
        "the owner unwound out of scope while its goroutine still borrowed its frame"
    );
    assert_eq!(CHILD_SUM.load(SeqCst), (0..64).sum::<u64>());
}
