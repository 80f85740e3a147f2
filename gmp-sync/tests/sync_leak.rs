//! `gmp_core::leaked()` on `WaitGroup`s (Go 1.27's goroutine-leak profile): a `wait` whose
//! group's every other handle is gone is reported (the classic forgotten `done`); one that a
//! handle elsewhere could still finish never is; locks are never reported. On 1 and 2 Ps.

use gmp_core::__private::settle;
use gmp_core::{go, leaked, Runtime};
use gmp_sync::{Mutex, WaitGroup};
use std::sync::Arc;

fn everywhere(test: fn()) {
    for procs in [1, 2] {
        Runtime::builder()
            .procs(procs)
            .leak_report(false)
            .build()
            .unwrap()
            .run(test);
    }
}

#[test]
fn a_wait_whose_workers_forgot_done_is_leaked() {
    everywhere(|| {
        let wg = WaitGroup::new();
        wg.add(2);
        for _ in 0..2 {
            let w = wg.clone();
            // Forgets `done`: its handle is dropped with the counter still up.
            go(move || drop(w));
        }
        let h = go(move || wg.wait());
        settle(1, 2);
        let report = leaked();
        assert!(
            report.contains(&format!(
                "goroutine {} [sync.WaitGroup.Wait (leaked)]",
                h.id()
            )),
            "{report}"
        );
        assert_eq!(report.matches("(leaked)]").count(), 1, "{report}");
    });
}

#[test]
fn a_wait_that_a_live_handle_can_finish_is_not_leaked() {
    everywhere(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let w = wg.clone();
        let h = go(move || w.wait());
        settle(1, 2);
        assert_eq!(leaked(), "");
        wg.done();
        h.join().unwrap();
    });
}

#[test]
fn two_waiters_on_one_dead_group_are_both_leaked() {
    everywhere(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let (a, b) = (wg.clone(), wg.clone());
        let ha = go(move || a.wait());
        let hb = go(move || b.wait());
        settle(2, 3);
        assert_eq!(leaked(), "");
        drop(wg);
        let report = leaked();
        for id in [ha.id(), hb.id()] {
            assert!(
                report.contains(&format!("goroutine {id} [sync.WaitGroup.Wait (leaked)]")),
                "{report}"
            );
        }
    });
}

#[test]
fn a_goroutine_blocked_on_a_lock_is_never_reported() {
    // Locks have no handles: whoever holds one may unlock it, and anything may reach the
    // `Arc` it lives in. Here nobody ever will, yet it is not reported.
    everywhere(|| {
        let m = Arc::new(Mutex::new(0));
        let guard = m.lock();
        let m2 = m.clone();
        let _h = go(move || *m2.lock() += 1);
        settle(1, 2);
        assert_eq!(leaked(), "");
        std::mem::forget(guard);
    });
}
