//! Property test of `gmp_core::leaked()` against a reachability model: random graphs of
//! goroutines and channels, where each goroutine holds some channels' handles on its stack and
//! then blocks (a receive or a select on channels it holds, a receive through a boxed handle,
//! a join of an earlier goroutine, or a wait that main will end). Nothing is ever sent, so
//! nothing completes while the check runs.
//!
//! Two models are computed from the graph:
//! - **truth**: which goroutines can never run again, by reachability: a blocked goroutine can
//!   be woken if a party that can run (main, a goroutine main will release, or a goroutine
//!   that can be woken) holds a handle of a channel it waits on; a joiner if its target can
//!   end. Greatest fixed point.
//! - **prediction**: what the check can see (handle counts, and the handles goroutines wait
//!   through from their stacks), by the rule in `gmp-core/src/sched/leak.rs`.
//!
//! The report must equal the prediction exactly, and the prediction must be within the truth:
//! a goroutine that could still be woken is never reported.

use gmp_chan::{chan, Chan, Select};
use gmp_core::__private::settle;
use gmp_core::{go, leaked, JoinHandle, Runtime};
use proptest::prelude::*;

mod common;
use std::collections::BTreeSet;

const CHANS: usize = 4;

/// What a goroutine blocks in.
#[derive(Debug, Clone)]
enum Wait {
    /// A receive (one channel), a select (several) or `select {}` (none), through the handles
    /// it holds on its stack.
    Recv(BTreeSet<usize>),
    /// A receive through a handle in a `Box`: the check cannot see who else holds it.
    Boxed(usize),
    /// A join of goroutine `t` (an earlier one; if its handle was taken, a release wait).
    Join(usize),
    /// A receive on main's release channel: main ends it after the check.
    Release,
}

#[derive(Debug, Clone)]
struct Spec {
    /// The channels it holds a handle of, on its stack.
    hold: [bool; CHANS],
    wait: Wait,
}

fn wait(n: usize) -> impl Strategy<Value = Wait> {
    prop_oneof![
        4 => prop::collection::btree_set(0..CHANS, 0..=3).prop_map(Wait::Recv),
        1 => (0..CHANS).prop_map(Wait::Boxed),
        1 => (0..n.max(1)).prop_map(Wait::Join),
        1 => Just(Wait::Release),
    ]
}

fn spec(n: usize) -> impl Strategy<Value = Spec> {
    (prop::array::uniform4(prop::bool::weighted(0.3)), wait(n)).prop_map(|(mut hold, wait)| {
        if let Wait::Recv(cs) = &wait {
            for &c in cs {
                hold[c] = true;
            }
        }
        Spec { hold, wait }
    })
}

fn graph() -> impl Strategy<Value = (Vec<Spec>, [bool; CHANS])> {
    (1usize..=6).prop_flat_map(|n| {
        (
            prop::collection::vec(spec(n), n),
            prop::array::uniform4(prop::bool::weighted(0.25)),
        )
    })
}

/// Joins that can happen: a target earlier in the list, whose handle nobody took before.
fn resolve_joins(specs: &mut [Spec]) {
    let mut taken = vec![false; specs.len()];
    for (i, s) in specs.iter_mut().enumerate() {
        if let Wait::Join(t) = s.wait {
            if t < i && !taken[t] {
                taken[t] = true;
            } else {
                s.wait = Wait::Release;
            }
        }
    }
}

/// Ground truth: the goroutines that can never run again.
fn truth(specs: &[Spec], main_keeps: &[bool; CHANS]) -> BTreeSet<usize> {
    let blocked = |w: &Wait| !matches!(w, Wait::Release);
    let mut stuck: Vec<bool> = specs.iter().map(|s| blocked(&s.wait)).collect();
    loop {
        let mut changed = false;
        for i in 0..specs.len() {
            if !stuck[i] {
                continue;
            }
            // Can some party that runs reach channel c?
            let reachable = |c: usize| {
                main_keeps[c]
                    || specs.iter().enumerate().any(|(j, s)| {
                        !stuck[j] && (s.hold[c] || matches!(s.wait, Wait::Boxed(b) if b == c))
                    })
            };
            let wakeable = match &specs[i].wait {
                Wait::Recv(cs) => cs.iter().any(|&c| reachable(c)),
                Wait::Boxed(c) => reachable(*c),
                Wait::Join(t) => !stuck[*t],
                Wait::Release => true,
            };
            if wakeable {
                stuck[i] = false;
                changed = true;
            }
        }
        if !changed {
            return (0..specs.len()).filter(|&i| stuck[i]).collect();
        }
    }
}

/// What the check must report (the rule of `sched/leak.rs`, on the same graph).
fn prediction(specs: &[Spec], main_keeps: &[bool; CHANS]) -> BTreeSet<usize> {
    let count = |c: usize| {
        usize::from(main_keeps[c])
            + specs
                .iter()
                .map(|s| {
                    usize::from(s.hold[c]) + usize::from(matches!(s.wait, Wait::Boxed(b) if b == c))
                })
                .sum::<usize>()
    };
    let mut stuck: Vec<bool> = specs
        .iter()
        .map(|s| matches!(s.wait, Wait::Recv(_) | Wait::Join(_)))
        .collect();
    loop {
        let mut changed = false;
        for i in 0..specs.len() {
            if !stuck[i] {
                continue;
            }
            let dead = match &specs[i].wait {
                Wait::Recv(cs) => cs.iter().all(|&c| {
                    let waiting_through = specs
                        .iter()
                        .enumerate()
                        .filter(|&(j, s)| {
                            stuck[j] && matches!(&s.wait, Wait::Recv(d) if d.contains(&c))
                        })
                        .count();
                    count(c) == waiting_through
                }),
                Wait::Join(t) => stuck[*t],
                _ => false,
            };
            if !dead {
                stuck[i] = false;
                changed = true;
            }
        }
        if !changed {
            return (0..specs.len()).filter(|&i| stuck[i]).collect();
        }
    }
}

/// Runs the graph and returns the indices of the goroutines `leaked()` reports.
fn reported(specs: &[Spec], main_keeps: &[bool; CHANS], procs: usize) -> BTreeSet<usize> {
    let specs = specs.to_vec();
    let main_keeps = *main_keeps;
    let rt = Runtime::builder()
        .procs(procs)
        .leak_report(false)
        .deadlock_detection(false)
        .build()
        .unwrap();
    rt.run(move || {
        let chans: Vec<Chan<u8>> = (0..CHANS).map(|_| chan(0)).collect();
        let release = chan::<u8>(0);
        let mut handles: Vec<Option<JoinHandle<()>>> = Vec::new();
        let mut ids = Vec::new();
        for s in &specs {
            let hold: [Option<Chan<u8>>; CHANS] =
                std::array::from_fn(|c| s.hold[c].then(|| chans[c].clone()));
            let h = match s.wait.clone() {
                Wait::Recv(cs) => go(move || block_in(&hold, &cs)),
                Wait::Boxed(c) => {
                    let boxed = Box::new(chans[c].clone());
                    go(move || {
                        let _hold = &hold;
                        let _ = boxed.recv();
                    })
                }
                Wait::Join(t) => {
                    let target = handles[t].take().expect("resolved join");
                    go(move || {
                        let _hold = &hold;
                        let _ = target.join();
                    })
                }
                Wait::Release => {
                    let r = release.clone();
                    go(move || {
                        let _hold = &hold;
                        let _ = r.recv();
                    })
                }
            };
            ids.push(h.id().as_u64());
            handles.push(Some(h));
        }
        let kept: Vec<Chan<u8>> = chans
            .into_iter()
            .enumerate()
            .filter(|&(c, _)| main_keeps[c])
            .map(|(_, ch)| ch)
            .collect();
        settle(specs.len(), specs.len() + 1);
        let report = leaked();
        let got: BTreeSet<usize> = common::report_ids(&report)
            .into_iter()
            .map(|id| {
                ids.iter()
                    .position(|&x| x == id)
                    .expect("a goroutine of ours")
            })
            .collect();
        release.close();
        drop(kept);
        got
    })
}

/// A receive, a select, or `select {}` through the handles in `hold` (on this stack).
fn block_in(hold: &[Option<Chan<u8>>; CHANS], cs: &BTreeSet<usize>) {
    let through = |c: usize| hold[c].as_ref().expect("held");
    match cs.len() {
        0 => gmp_chan::select! {},
        1 => {
            let _ = through(*cs.iter().next().unwrap()).recv();
        }
        _ => {
            let mut sel = Select::new();
            for &c in cs {
                sel.recv(through(c));
            }
            let op = sel.select();
            let c = *cs.iter().nth(op.index()).unwrap();
            let _ = op.recv(through(c));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_report_is_the_prediction_and_never_more_than_the_truth(
        (mut specs, main_keeps) in graph(),
        procs in 1usize..=2,
    ) {
        resolve_joins(&mut specs);
        let truth = truth(&specs, &main_keeps);
        let predicted = prediction(&specs, &main_keeps);
        prop_assert!(predicted.is_subset(&truth), "model: predicted {predicted:?} truth {truth:?}");
        let got = reported(&specs, &main_keeps, procs);
        prop_assert!(got.is_subset(&truth), "reported a goroutine that can be woken: {got:?} truth {truth:?}");
        prop_assert_eq!(got, predicted);
    }
}
