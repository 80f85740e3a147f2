//! Model test of the per-P run queue: random sequences of put/get/steal/put_batch/drain on two
//! queues (an owner's and a thief's, both driven from this one thread) against a
//! `VecDeque` + `Option` model of Go's runqput/runqget/runqsteal semantics.

use gmp_core::__private::{RunQueue, LOCAL_QUEUE_CAPACITY as CAP};
use proptest::prelude::*;
use std::collections::VecDeque;

type Q = RunQueue<Box<u32>>;

/// What Go's runq does, one P at a time.
#[derive(Debug, Default)]
struct Model {
    ring: VecDeque<u32>,
    runnext: Option<u32>,
}

impl Model {
    /// Go: runqput, with runqputslow's overflow batch as `Err`.
    fn put(&mut self, v: u32, next: bool) -> Result<(), Vec<u32>> {
        let mut v = v;
        if next {
            match self.runnext.replace(v) {
                None => return Ok(()),
                Some(old) => v = old,
            }
        }
        if self.ring.len() < CAP {
            self.ring.push_back(v);
            return Ok(());
        }
        let mut batch: Vec<u32> = self.ring.drain(..CAP / 2).collect();
        batch.push(v);
        Err(batch)
    }

    /// Go: runqget.
    fn get(&mut self) -> Option<(u32, bool)> {
        if let Some(v) = self.runnext.take() {
            return Some((v, true));
        }
        self.ring.pop_front().map(|v| (v, false))
    }

    /// Go: runqsteal: ceil-half of the victim's ring (bounded by the room in `dst` plus the
    /// one returned), the newest of them returned; else its runnext if allowed.
    fn steal(victim: &mut Model, dst: &mut Model, steal_runnext: bool) -> Option<u32> {
        let len = victim.ring.len();
        let n = len - len / 2;
        if n == 0 {
            return if steal_runnext {
                victim.runnext.take()
            } else {
                None
            };
        }
        let n = n.min(CAP - dst.ring.len() + 1);
        let mut taken: Vec<u32> = victim.ring.drain(..n).collect();
        let run = taken.pop();
        dst.ring.extend(taken);
        run
    }

    /// Go: runqputbatch.
    fn put_batch(&mut self, items: Vec<u32>) -> Result<(), Vec<u32>> {
        let room = CAP - self.ring.len();
        let mut items = items.into_iter();
        self.ring.extend(items.by_ref().take(room));
        let rest: Vec<u32> = items.collect();
        if rest.is_empty() {
            Ok(())
        } else {
            Err(rest)
        }
    }

    /// Go: runqdrain.
    fn drain(&mut self) -> Vec<u32> {
        self.runnext
            .take()
            .into_iter()
            .chain(self.ring.drain(..))
            .collect()
    }

    fn len(&self) -> usize {
        self.ring.len() + usize::from(self.runnext.is_some())
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// `put` on queue `q` (0: owner, 1: thief).
    Put { q: usize, next: bool },
    /// `get` on queue `q`.
    Get { q: usize },
    /// `runqsteal`: from queue `victim` into the other one.
    Steal { victim: usize, runnext: bool },
    /// `put_batch` of `n` fresh items on queue `q`.
    PutBatch { q: usize, n: usize },
    /// `drain` of queue `q`.
    Drain { q: usize },
}

/// Decodes a generated `(kind, arg)` pair (plain integers: cheap to generate and shrink) into
/// an operation. Weights: put 20, get 5, steal 4, put_batch 2, drain 1 (of 32); 4 in 5
/// operations act on the owner's queue.
fn op((kind, arg): (u8, u16)) -> Op {
    let q = usize::from(arg % 5 == 4);
    let flag = arg & 0x100 != 0;
    match kind % 32 {
        0..=19 => Op::Put { q, next: flag },
        20..=24 => Op::Get { q },
        25..=28 => Op::Steal {
            victim: q,
            runnext: flag,
        },
        29..=30 => Op::PutBatch {
            q,
            n: usize::from(arg >> 3) % (CAP + CAP / 2),
        },
        _ => Op::Drain { q },
    }
}

fn vals(v: impl IntoIterator<Item = Box<u32>>) -> Vec<u32> {
    v.into_iter().map(|x| *x).collect()
}

/// How often the random runs reached the paths that matter (checked after the run).
#[derive(Debug, Default)]
struct Coverage {
    overflows: usize,
    batch_overflows: usize,
    bounded_steals: usize,
    runnext_steals: usize,
}

/// Runs `ops` on two real queues and two models; every result and length must agree.
fn check(ops: &[Op]) -> Coverage {
    let mut cov = Coverage::default();
    let queues = [Q::new(), Q::new()];
    let mut models = [Model::default(), Model::default()];
    let mut fresh = 0u32;
    let mut new_item = || {
        fresh += 1;
        fresh
    };
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Put { q, next } => {
                let v = new_item();
                // SAFETY: this thread is the only one touching either queue.
                let got = unsafe { queues[q].put(Box::new(v), next) }.map_err(vals);
                cov.overflows += usize::from(got.is_err());
                assert_eq!(got, models[q].put(v, next), "step {step}: {op:?}");
            }
            Op::Get { q } => {
                // SAFETY: this thread is the only one touching either queue.
                let got = unsafe { queues[q].get() }.map(|(x, inherit)| (*x, inherit));
                assert_eq!(got, models[q].get(), "step {step}: {op:?}");
            }
            Op::Steal { victim, runnext } => {
                let thief = 1 - victim;
                // SAFETY: this thread is the only one touching either queue.
                let got =
                    unsafe { queues[victim].runqsteal(&queues[thief], runnext, false) }.map(|x| *x);
                let (ring, next) = (models[victim].ring.len(), models[victim].runnext.is_some());
                cov.bounded_steals +=
                    usize::from(ring - ring / 2 > CAP - models[thief].ring.len() + 1);
                cov.runnext_steals += usize::from(ring == 0 && next && runnext);
                let [m0, m1] = &mut models;
                let want = if victim == 0 {
                    Model::steal(m0, m1, runnext)
                } else {
                    Model::steal(m1, m0, runnext)
                };
                assert_eq!(got, want, "step {step}: {op:?}");
            }
            Op::PutBatch { q, n } => {
                let items: Vec<u32> = (0..n).map(|_| new_item()).collect();
                // SAFETY: this thread is the only one touching either queue.
                let got = unsafe { queues[q].put_batch(items.iter().map(|&v| Box::new(v))) }
                    .map_err(vals);
                cov.batch_overflows += usize::from(got.is_err());
                assert_eq!(got, models[q].put_batch(items), "step {step}: {op:?}");
            }
            Op::Drain { q } => {
                // SAFETY: this thread is the only one touching either queue.
                let got = vals(unsafe { queues[q].drain() });
                assert_eq!(got, models[q].drain(), "step {step}: {op:?}");
            }
        }
        for q in 0..2 {
            assert_eq!(queues[q].len(), models[q].len(), "step {step}: len of {q}");
            assert_eq!(queues[q].is_empty(), models[q].len() == 0, "step {step}");
        }
    }
    for q in 0..2 {
        // SAFETY: this thread is the only one touching either queue.
        assert_eq!(vals(unsafe { queues[q].drain() }), models[q].drain());
    }
    cov
}

#[test]
fn runq_matches_go_model() {
    let config = ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let total = std::cell::RefCell::new(Coverage::default());
    runner
        .run(
            &proptest::collection::vec(any::<(u8, u16)>(), 0..1500),
            |codes| {
                let ops: Vec<Op> = codes.into_iter().map(op).collect();
                let cov = check(&ops);
                let mut total = total.borrow_mut();
                total.overflows += cov.overflows;
                total.batch_overflows += cov.batch_overflows;
                total.bounded_steals += cov.bounded_steals;
                total.runnext_steals += cov.runnext_steals;
                Ok(())
            },
        )
        .unwrap();
    let total = total.into_inner();
    // Random runs must actually reach the edge paths, or the model test proves little.
    assert!(
        total.overflows > 0
            && total.batch_overflows > 0
            && total.bounded_steals > 0
            && total.runnext_steals > 0,
        "{total:?}"
    );
    println!("{total:?}");
}

/// The model itself reaches the interesting states: a full ring overflowing with a kicked
/// runnext, a steal bounded by a nearly full thief, and wrap-around.
#[test]
fn model_reaches_overflow_and_bounded_steal() {
    let mut ops: Vec<Op> = vec![Op::Put { q: 0, next: true }];
    ops.extend((0..CAP).map(|_| Op::Put { q: 0, next: false }));
    ops.push(Op::Put { q: 0, next: true }); // kicks into a full ring: overflow
    ops.extend((0..CAP - 1).map(|_| Op::Put { q: 1, next: false }));
    ops.push(Op::Steal {
        victim: 0,
        runnext: false,
    }); // thief has room for 1 + the one it runs
    ops.extend((0..3 * CAP).map(|i| {
        if i % 2 == 0 {
            Op::Put { q: 0, next: false }
        } else {
            Op::Get { q: 0 }
        }
    }));
    let cov = check(&ops);
    assert_eq!((cov.overflows, cov.bounded_steals), (1, 1), "{cov:?}");

    // And the model is Go's: 5 `go` statements on one P run as 4 0 1 2 3.
    let mut m = Model::default();
    for v in 0..5 {
        m.put(v, true).unwrap();
    }
    let order: Vec<u32> = std::iter::from_fn(|| m.get().map(|(v, _)| v)).collect();
    assert_eq!(order, [4, 0, 1, 2, 3]);
}
