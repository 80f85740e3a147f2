//! `gmp_core::dump()` walks parked goroutines' stacks (it resumes each one's coroutine to let
//! it record its frames): this proves it never corrupts or wakes anything, with 1,000
//! goroutines ping-ponging on channels while dumps run in a loop, and that a goroutine
//! parked in a channel receive shows the channel call and the user's frame.

mod common;

use common::on_procs;
use gmp_chan::{chan, Chan};
use gmp_core::{dump, go};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

/// Kills: a dump that wakes a parked receiver (it would see no value and the count would be
/// off), that loses a hand-off (a value missing), or that breaks a stack (a crash or a wrong
/// sum).
#[test]
fn dumps_in_a_loop_while_a_thousand_goroutines_ping_pong() {
    for procs in [1, 2] {
        on_procs(procs, || {
            const PAIRS: usize = 500;
            const ROUNDS: u64 = 50;
            let stop = Arc::new(AtomicBool::new(false));
            let s2 = stop.clone();
            let dumper = go(move || {
                let mut n = 0;
                while !s2.load(SeqCst) {
                    let d = dump();
                    assert!(d.contains("goroutine 1 ["));
                    n += 1;
                }
                n
            });
            let mut hs = Vec::new();
            for _ in 0..PAIRS {
                let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
                let (a_in, a_out) = (ping.clone(), pong.clone());
                hs.push(go(move || {
                    let mut sum = 0;
                    for i in 0..ROUNDS {
                        a_in.send(i).unwrap();
                        sum += a_out.recv().unwrap();
                    }
                    sum
                }));
                hs.push(go(move || {
                    let mut sum = 0;
                    for _ in 0..ROUNDS {
                        let v = ping.recv().unwrap();
                        sum += v;
                        pong.send(v * 2).unwrap();
                    }
                    sum
                }));
            }
            let mut total = 0;
            for h in hs {
                total += h.join().unwrap();
            }
            stop.store(true, SeqCst);
            assert!(dumper.join().unwrap() >= 1);
            let per_pair: u64 = (0..ROUNDS).sum::<u64>() * 3;
            assert_eq!(
                total,
                per_pair * PAIRS as u64,
                "a value was lost or duplicated"
            );
        });
    }
}

#[inline(never)]
fn waits_for_a_value(c: Chan<u32>) -> Option<u32> {
    c.recv()
}

/// Kills: the channel operation missing from the traceback, or the user's frame missing.
#[test]
fn a_goroutine_in_a_channel_receive_shows_the_call_and_its_caller() {
    on_procs(2, || {
        let c = chan::<u32>(0);
        let c2 = c.clone();
        let h = go(move || waits_for_a_value(c2));
        while !dump().contains("[chan receive]") {
            gmp_core::sleep(std::time::Duration::from_millis(1));
        }
        let d = dump();
        let start = d
            .find(&format!("goroutine {} [chan receive]", h.id()))
            .unwrap();
        let block = &d[start..d[start..].find("\n\n").map_or(d.len(), |e| start + e)];
        // `gmp_chan::...::recv(...)`; `recv<u32>(...)` with line tables only (release).
        let entry = block.lines().nth(1).unwrap_or_default();
        assert!(
            entry.contains("recv") && entry.ends_with("(...)"),
            "{block}"
        );
        assert!(block.contains("waits_for_a_value"), "{block}");
        assert!(block.contains("chan_dump.rs:"), "{block}");
        c.send(5).unwrap();
        assert_eq!(h.join().unwrap(), Some(5));
    });
}
