//! proptest: the weighted Semaphore against a model of x/sync/semaphore. Random sequences of
//! acquires (each on its own thread) and releases; after every step the real semaphore must
//! have granted exactly the requests the model granted, in FIFO order (a large head request
//! blocks smaller ones behind it), and never hold more than its capacity.

use gmp_sync::Semaphore;
use proptest::prelude::*;
use std::collections::{BTreeSet, VecDeque};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::wait_until;

#[derive(Clone, Debug)]
enum Op {
    Acquire(usize),
    /// Release the holder at this index (modulo the number of holders).
    Release(usize),
}

fn op(cap: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..=cap).prop_map(Op::Acquire),
        (0..8usize).prop_map(Op::Release),
    ]
}

/// x/sync/semaphore.Weighted, sequentially.
#[derive(Default)]
struct Model {
    size: usize,
    cur: usize,
    queue: VecDeque<(usize, usize)>, // (id, n)
    holders: Vec<(usize, usize)>,
}

impl Model {
    /// Returns whether `id` is granted at once.
    fn acquire(&mut self, id: usize, n: usize) -> bool {
        if self.size - self.cur >= n && self.queue.is_empty() {
            self.cur += n;
            self.holders.push((id, n));
            true
        } else {
            self.queue.push_back((id, n));
            false
        }
    }

    /// Releases holder `idx`; returns the ids granted by it (x/sync's notifyWaiters).
    fn release(&mut self, idx: usize) -> (usize, BTreeSet<usize>) {
        let (_, n) = self.holders.remove(idx);
        self.cur -= n;
        let mut granted = BTreeSet::new();
        while let Some(&(id, w)) = self.queue.front() {
            if self.size - self.cur < w {
                break;
            }
            self.cur += w;
            self.queue.pop_front();
            self.holders.push((id, w));
            granted.insert(id);
        }
        (n, granted)
    }
}

fn debug_is(sem: &Semaphore, held: usize, waiters: usize) -> bool {
    format!("{sem:?}").ends_with(&format!("held: {held}, waiters: {waiters} }}"))
}

fn run(cap: usize, ops: Vec<Op>) {
    let sem = Arc::new(Semaphore::new(cap));
    let (tx, rx) = mpsc::channel::<usize>();
    let mut model = Model {
        size: cap,
        ..Model::default()
    };
    let mut threads = Vec::new();
    let expect_grants = |rx: &mpsc::Receiver<usize>, want: &BTreeSet<usize>| {
        let mut got = BTreeSet::new();
        while got.len() < want.len() {
            let id = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a granted acquire did not return");
            got.insert(id);
        }
        assert_eq!(&got, want, "wrong acquires granted");
    };
    let step = |op: &Op, model: &mut Model, threads: &mut Vec<std::thread::JoinHandle<()>>| {
        match *op {
            Op::Acquire(n) => {
                let id = threads.len();
                let (sem2, tx) = (sem.clone(), tx.clone());
                threads.push(std::thread::spawn(move || {
                    sem2.acquire(n);
                    tx.send(id).unwrap();
                }));
                if model.acquire(id, n) {
                    expect_grants(&rx, &BTreeSet::from([id]));
                } else {
                    // Wait until it is queued, so the queue order is the op order.
                    wait_until("the acquire is queued", || {
                        debug_is(&sem, model.cur, model.queue.len())
                    });
                }
            }
            Op::Release(i) => {
                if model.holders.is_empty() {
                    return;
                }
                let (n, granted) = model.release(i % model.holders.len());
                sem.release(n);
                expect_grants(&rx, &granted);
            }
        }
        assert!(rx.try_recv().is_err(), "an acquire returned out of turn");
        assert!(model.cur <= cap);
        wait_until("the semaphore matches the model", || {
            debug_is(&sem, model.cur, model.queue.len())
        });
    };
    for o in &ops {
        step(o, &mut model, &mut threads);
    }
    // Drain: release holders until everyone has been served.
    while !model.holders.is_empty() {
        step(&Op::Release(0), &mut model, &mut threads);
    }
    assert!(model.queue.is_empty());
    for t in threads {
        t.join().unwrap();
    }
    assert!(sem.try_acquire(cap));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fifo_and_never_over_capacity(
        (cap, ops) in (1..=4usize).prop_flat_map(|cap| (Just(cap), prop::collection::vec(op(cap), 1..10)))
    ) {
        run(cap, ops);
    }
}
