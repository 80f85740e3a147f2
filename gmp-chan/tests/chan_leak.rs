//! `gmp_core::leaked()` on channels and selects (Go 1.27's goroutine-leak profile): a goroutine
//! parked on a channel whose every other handle is gone is reported, in the dump's format with
//! `(leaked)`; one that anything could still wake never is. On 1 and 2 Ps.

use gmp_chan::{chan, select, Chan};
use gmp_core::__private::settle;
use gmp_core::{go, leaked, metrics, scope, sleep, Runtime};
use std::time::{Duration, Instant};

/// Runs `f` as the main goroutine of a runtime with `procs` Ps and no report at its drop.
fn on<T: Send + 'static>(procs: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    Runtime::builder()
        .procs(procs)
        .leak_report(false)
        .build()
        .expect("runtime")
        .run(f)
}

/// Both ways: on 1 P and on 2.
fn everywhere(test: fn()) {
    for procs in [1, 2] {
        on(procs, test);
    }
}

mod common;
use common::report_ids as ids;

#[inline(never)]
fn send_forever(tx: Chan<u32>) {
    let _ = tx.send(7);
}

#[test]
fn a_sender_whose_receivers_are_gone_is_leaked() {
    everywhere(|| {
        let ch = chan::<u32>(0);
        let tx = ch.clone();
        let h = go(move || send_forever(tx));
        let id = h.id().as_u64();
        settle(1, 1 + 1);
        // Main still holds a handle: it could receive.
        assert_eq!(leaked(), "");
        drop(ch);
        let report = leaked();
        assert_eq!(ids(&report), [id], "{report}");
        assert!(
            report.contains(&format!("goroutine {id} [chan send (leaked)]:")),
            "{report}"
        );
        // The dump's stack and spawn site come with it.
        assert!(report.contains("send_forever"), "{report}");
        assert!(report.contains("created by "), "{report}");
        assert!(report.contains("chan_leak.rs"), "{report}");
    });
}

#[test]
fn a_receiver_that_main_can_still_reach_is_not_leaked_and_finishes() {
    everywhere(|| {
        let ch = chan::<u32>(0);
        let rx = ch.clone();
        let h = go(move || rx.recv());
        settle(1, 1 + 1);
        assert_eq!(leaked(), "");
        ch.send(5).unwrap();
        assert_eq!(h.join().unwrap(), Some(5));
    });
}

#[test]
fn the_first_result_pattern_leaks_the_slower_senders() {
    // Go's classic leak: the first of three replicas answers; the other two block forever on
    // an unbuffered channel nobody receives from any more.
    everywhere(|| {
        let ch = chan::<u32>(0);
        let mut ids_spawned = Vec::new();
        for i in 0..3 {
            let tx = ch.clone();
            ids_spawned.push(go(move || tx.send(i).is_ok()).id().as_u64());
        }
        settle(3, 3 + 1);
        assert!(ch.recv().is_some());
        drop(ch);
        // The sender that delivered has ended (and dropped its handle).
        settle(2, 3);
        let report = leaked();
        let got = ids(&report);
        assert_eq!(got.len(), 2, "{report}");
        assert!(got.iter().all(|g| ids_spawned.contains(g)), "{report}");
        assert_eq!(report.matches("[chan send (leaked)]").count(), 2);
    });
}

#[test]
fn several_receivers_of_one_dead_channel_are_all_leaked() {
    everywhere(|| {
        let ch = chan::<u32>(4);
        let hs: Vec<u64> = (0..3)
            .map(|_| {
                let rx = ch.receiver();
                go(move || rx.recv()).id().as_u64()
            })
            .collect();
        settle(3, 3 + 1);
        assert_eq!(leaked(), "");
        drop(ch);
        assert_eq!(ids(&leaked()), hs);
        assert_eq!(leaked().matches("[chan receive (leaked)]").count(), 3);
    });
}

#[test]
fn a_select_leaks_only_once_every_case_is_dead() {
    everywhere(|| {
        let a = chan::<u32>(0);
        let b = chan::<u32>(0);
        let (a2, b2) = (a.clone(), b.clone());
        let h = go(move || {
            select! {
                recv(a2) -> v => v,
                recv(b2) -> v => v,
            }
        });
        let id = h.id().as_u64();
        settle(1, 1 + 1);
        drop(a);
        // `b` can still be sent on.
        assert_eq!(leaked(), "");
        drop(b);
        let report = leaked();
        assert_eq!(ids(&report), [id]);
        assert!(report.contains("[select (leaked)]"), "{report}");
    });
}

#[test]
fn a_select_whose_live_case_fires_is_not_leaked() {
    everywhere(|| {
        let a = chan::<u32>(0);
        let b = chan::<u32>(0);
        let (a2, b2) = (a.clone(), b.clone());
        let h = go(move || {
            select! {
                recv(a2) -> v => v,
                send(b2, 3) -> r => r.ok().map(|_| 0),
            }
        });
        settle(1, 1 + 1);
        drop(a);
        assert_eq!(leaked(), "");
        assert_eq!(b.recv(), Some(3));
        assert_eq!(h.join().unwrap(), Some(0));
    });
}

#[test]
fn an_empty_select_is_leaked() {
    everywhere(|| {
        let h = go(|| -> () {
            select! {}
        });
        settle(1, 1 + 1);
        let report = leaked();
        assert_eq!(ids(&report), [h.id().as_u64()], "{report}");
        assert!(report.contains("[select (no cases) (leaked)]"), "{report}");
    });
}

#[test]
fn a_wait_with_a_deadline_is_never_leaked() {
    everywhere(|| {
        let ch = chan::<u32>(0);
        let rx = ch.clone();
        let _h = go(move || rx.recv_timeout(Duration::from_secs(3600)));
        let c2 = chan::<u32>(0);
        let rx2 = c2.clone();
        let _h2 = go(move || {
            select! {
                recv(rx2) -> v => v,
                default(Duration::from_secs(3600)) => None,
            }
        });
        settle(2, 2 + 1);
        drop((ch, c2));
        assert_eq!(leaked(), "");
    });
}

#[test]
fn handles_on_the_heap_count_as_reachable() {
    // A documented limit: the handle the goroutine waits through is in a `Box`, not
    // on its stack, so the check cannot tell that nobody else holds it.
    everywhere(|| {
        let ch = chan::<u32>(0);
        let v = Box::new(ch.clone());
        let _h = go(move || v.recv());
        settle(1, 1 + 1);
        drop(ch);
        assert_eq!(leaked(), "");
    });
}

#[test]
fn a_handle_merely_held_keeps_its_channel_reachable() {
    // A documented limit: the second goroutine holds `a`'s other handle but waits on `b`;
    // the check does not know where that handle is, so neither is reported, though both are
    // stuck (Go's GC-based check would report both).
    everywhere(|| {
        let a = chan::<u32>(0);
        let b = chan::<u32>(0);
        let (ra, rb, keep_a) = (a.clone(), b.clone(), a.clone());
        let _h1 = go(move || ra.recv());
        let _h2 = go(move || {
            let _keep = &keep_a;
            rb.recv()
        });
        settle(2, 2 + 1);
        drop((a, b));
        // The second is leaked (nobody else has `b`); the first is not seen.
        let report = leaked();
        assert_eq!(ids(&report), [_h2.id().as_u64()], "{report}");
    });
}

#[test]
fn a_join_of_a_leaked_goroutine_is_leaked() {
    everywhere(|| {
        let ch = chan::<u32>(0);
        let rx = ch.clone();
        let inner = go(move || rx.recv());
        let inner_id = inner.id().as_u64();
        let outer = go(move || inner.join().ok().flatten());
        let outer_id = outer.id().as_u64();
        settle(2, 2 + 1);
        assert_eq!(leaked(), "");
        drop(ch);
        let report = leaked();
        assert_eq!(ids(&report), [inner_id, outer_id], "{report}");
        assert!(
            report.contains(&format!("goroutine {outer_id} [join (leaked)]")),
            "{report}"
        );
    });
}

#[test]
fn a_goroutine_in_a_scope_is_never_leaked() {
    // A scope's goroutines may borrow the owner's handle: its stack is pinned, and so its
    // handles do not count as its own. Here the scoped goroutine sends through the borrow.
    everywhere(|| {
        let ch = chan::<u32>(0);
        let report = scope(|s| {
            let h = s.go(|| {
                // Wait until the owner is parked receiving, then check and send.
                while metrics().goroutines_waiting < 1 {
                    sleep(Duration::from_millis(1));
                }
                let report = leaked();
                ch.send(9).unwrap();
                report
            });
            assert_eq!(ch.recv(), Some(9));
            h.join().unwrap()
        });
        assert_eq!(report, "");
    });
}

#[test]
fn a_leaked_goroutine_whose_stack_was_copied_out_is_read_from_the_copy() {
    // Parked for a while, the goroutine's stack is copied out and its pages released: the
    // check reads its registration from the copy, without putting it back.
    on(1, || {
        let ch = chan::<u32>(0);
        let tx = ch.clone();
        let h = go(move || send_forever(tx));
        drop(ch);
        settle(1, 1 + 1);
        let deadline = Instant::now() + Duration::from_secs(20);
        while gmp_core::__private::stacks_copied_out() == 0 {
            assert!(Instant::now() < deadline, "never copied out");
            sleep(Duration::from_millis(5));
        }
        let report = leaked();
        assert_eq!(ids(&report), [h.id().as_u64()], "{report}");
    });
}

#[test]
fn checks_in_a_loop_during_ping_pong_report_nothing_and_lose_nothing() {
    // 500 pairs ping-pong 40 rounds each while main checks for leaks over and over: every
    // party always has a partner that can wake it, so nothing is ever reported; the freezes
    // never lose or repeat a value (each pair's sum is checked).
    for procs in [1, 2] {
        on(procs, || {
            const PAIRS: u64 = 500;
            const ROUNDS: u64 = 40;
            let mut hs = Vec::new();
            for p in 0..PAIRS {
                let (ping, pong) = (chan::<u64>(0), chan::<u64>(0));
                let (ping2, pong2) = (ping.clone(), pong.clone());
                hs.push(go(move || {
                    let mut sum = 0;
                    for r in 0..ROUNDS {
                        ping.send(p * ROUNDS + r).unwrap();
                        sum += pong.recv().unwrap();
                    }
                    sum
                }));
                hs.push(go(move || {
                    let mut sum = 0;
                    for _ in 0..ROUNDS {
                        let v = ping2.recv().unwrap();
                        sum += v;
                        pong2.send(v).unwrap();
                    }
                    sum
                }));
            }
            let mut checks = 0;
            while hs.iter().any(|h| !h.is_finished()) {
                assert_eq!(leaked(), "");
                checks += 1;
                gmp_core::gosched();
            }
            assert!(checks > 0);
            for (i, h) in hs.into_iter().enumerate() {
                let p = i as u64 / 2;
                let want: u64 = (0..ROUNDS).map(|r| p * ROUNDS + r).sum();
                assert_eq!(h.join().unwrap(), want);
            }
        });
    }
}
