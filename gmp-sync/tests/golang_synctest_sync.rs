//! Ports of the tests of Go's `internal/synctest/synctest_test.go` (Go 1.27) that use
//! `sync.Cond` and `sync.WaitGroup`: gmp-sync's `Cond`, `Mutex` and `WaitGroup` in a
//! [`synctest`] bubble. The rest of the file, and the list of what is not ported and why, is
//! in `gmp-chan/tests/golang_synctest.rs` (gmp-sync is not a dev-dependency of gmp-chan).
//!
//! Go associates a WaitGroup with the bubble that first `Add`s to it, and its tests of that
//! association (`TestWaitGroupOutOfBubble`, `TestWaitGroupMovedIntoBubble`,
//! `TestWaitGroupMovedOutOfBubble`, `TestWaitGroupMovedBetweenBubblesWithNonZeroCount`) are not
//! ported: gmp has no association, and parking on any WaitGroup is durably blocked. The ones
//! whose code is legal in both (a WaitGroup used in one bubble and then another, a WaitGroup
//! in a static) are ported; in gmp they check that the group works, not how it is associated.
//! Go's linker-allocated and heap-allocated WaitGroups are both a `static` here.

use gmp_core::{go, sleep, synctest};
use gmp_sync::{Cond, Mutex, WaitGroup};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

fn now() -> Instant {
    gmp_core::time::now()
}

/// internal/synctest: TestCond. A goroutine woken by `signal`, then two by `broadcast`, at the
/// virtual instants they were sent.
#[test]
fn test_cond() {
    synctest::test(|| {
        let mc = Arc::new((Mutex::new(()), Cond::new()));
        let start = now();
        const WAIT_TIME: Duration = Duration::from_millis(1);

        let m = mc.clone();
        go(move || {
            let (mu, cond) = &*m;
            // Signal the cond.
            sleep(WAIT_TIME);
            let g = mu.lock();
            cond.signal();
            drop(g);

            // Broadcast to the cond.
            sleep(WAIT_TIME);
            let g = mu.lock();
            cond.broadcast();
            drop(g);
        });

        // Wait for cond.signal.
        let (mu, cond) = &*mc;
        drop(cond.wait(mu.lock()));
        assert_eq!(now() - start, WAIT_TIME, "after cond.Signal: time elapsed");

        // Wait for cond.broadcast in two goroutines.
        let waiter_done = Arc::new(AtomicBool::new(false));
        let (m, d) = (mc.clone(), waiter_done.clone());
        go(move || {
            let (mu, cond) = &*m;
            drop(cond.wait(mu.lock()));
            d.store(true, SeqCst);
        });
        drop(cond.wait(mu.lock()));
        synctest::wait();
        assert!(
            waiter_done.load(SeqCst),
            "after cond.Broadcast: waiter not done"
        );
        assert_eq!(
            now() - start,
            2 * WAIT_TIME,
            "after cond.Broadcast: time elapsed"
        );
    });
}

/// internal/synctest: TestWaitGroupInBubble
#[test]
fn test_wait_group_in_bubble() {
    synctest::test(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        const DELAY: Duration = Duration::from_secs(1);
        let w = wg.clone();
        go(move || {
            sleep(DELAY);
            w.done();
        });
        let start = now();
        wg.wait();
        assert_eq!(now() - start, DELAY, "WaitGroup.Wait() took");
    });
}

/// internal/synctest: TestWaitGroupRacingAdds (go.dev/issue/74386)
#[test]
fn test_wait_group_racing_adds() {
    synctest::test(|| {
        let wg = WaitGroup::new();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let r = ran.clone();
            wg.go(move || {
                r.fetch_add(1, SeqCst);
            });
        }
        wg.wait();
        // Not in Go's test: wait returned after every one of them.
        assert_eq!(ran.load(SeqCst), 100);
    });
}

/// internal/synctest: TestWaitGroupDisassociateInWait. A WaitGroup used in a bubble is used
/// again in the next one.
#[test]
fn test_wait_group_disassociate_in_wait() {
    let wg = WaitGroup::new();
    let w = wg.clone();
    synctest::test(move || {
        w.add(1);
        w.done();
        // Count and waiters are 0 (Go: so Wait disassociates the WaitGroup).
        w.wait();
    });
    synctest::test(move || {
        // Reusing the WaitGroup is safe.
        wg.add(1);
        wg.done();
    });
}

/// internal/synctest: TestWaitGroupDisassociateInAdd. A WaitGroup whose waiter `done` woke in
/// one bubble is used again in the next one.
#[test]
fn test_wait_group_disassociate_in_add() {
    let wg = WaitGroup::new();
    let w = wg.clone();
    synctest::test(move || {
        w.add(1);
        let w2 = w.clone();
        let waiter = go(move || w2.wait());
        synctest::wait(); // wait for Wait to block
        assert!(!waiter.is_finished(), "Wait returned with the count at 1");
        // Count is 0 and waiters != 0, so Done wakes the waiters (Go: and disassociates the
        // WaitGroup).
        w.done();
    });
    synctest::test(move || {
        // Reusing the WaitGroup is safe.
        wg.add(1);
        wg.done();
        wg.wait();
    });
}

/// Go's `testWaitGroupLinkerAllocatedWG`, a package-level `sync.WaitGroup`.
static LINKER_ALLOCATED_WG: LazyLock<WaitGroup> = LazyLock::new(WaitGroup::new);

/// internal/synctest: TestWaitGroupLinkerAllocated. Go cannot associate a linker-allocated
/// WaitGroup with the bubble, but operations on it must not fail; in gmp it is a `static`.
#[test]
fn test_wait_group_linker_allocated() {
    synctest::test(|| {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        LINKER_ALLOCATED_WG.go(move || r.store(true, SeqCst));
        LINKER_ALLOCATED_WG.wait();
        assert!(ran.load(SeqCst), "Wait returned before the goroutine ran");
    });
}

/// Go's `testWaitGroupHeapAllocatedWG`, a package-level `new(sync.WaitGroup)`.
static HEAP_ALLOCATED_WG: LazyLock<WaitGroup> = LazyLock::new(WaitGroup::new);

/// internal/synctest: TestWaitGroupHeapAllocated
#[test]
fn test_wait_group_heap_allocated() {
    synctest::test(|| {
        HEAP_ALLOCATED_WG.add(1);
        let waiter = go(|| HEAP_ALLOCATED_WG.wait());
        synctest::wait();
        assert!(!waiter.is_finished(), "Wait returned with the count at 1");
        HEAP_ALLOCATED_WG.done();
    });
}

/// internal/synctest: TestWaitGroupManyBubbles (go.dev/issue/75134). 100 bubbles at once, each
/// with 100 goroutines in a WaitGroup. Go's outer `wg.Go` starts goroutines; a bubble is a
/// runtime of its own, so here they are threads.
#[test]
fn test_wait_group_many_bubbles() {
    let bubbles: Vec<_> = (0..100)
        .map(|_| {
            std::thread::spawn(|| {
                synctest::test(|| {
                    let cancelc = gmp_chan::chan::<()>(0);
                    let wg2 = WaitGroup::new();
                    let woke = Arc::new(AtomicUsize::new(0));
                    for _ in 0..100 {
                        let (c, w) = (cancelc.clone(), woke.clone());
                        wg2.go(move || {
                            c.recv();
                            w.fetch_add(1, SeqCst);
                        });
                    }
                    synctest::wait();
                    assert_eq!(woke.load(SeqCst), 0, "a goroutine passed <-cancelc");
                    cancelc.close();
                    wg2.wait();
                    woke.load(SeqCst)
                })
            })
        })
        .collect();
    for b in bubbles {
        assert_eq!(b.join().unwrap(), 100);
    }
}
