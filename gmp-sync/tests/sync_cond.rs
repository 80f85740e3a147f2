//! Cond from plain threads: FIFO signal, broadcast (requeue onto the mutex), misuse.

use gmp_sync::{Cond, Mutex};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::wait_until;

#[derive(Default)]
struct State {
    arrived: usize,
    order: Vec<usize>,
    go: bool,
}

/// Starts waiter `i` and returns once it is queued on the Cond (it queues before it releases
/// the mutex, so seeing `arrived` under the mutex proves it).
fn spawn_waiter(
    s: &Arc<(Mutex<State>, Cond)>,
    i: usize,
    until_go: bool,
) -> std::thread::JoinHandle<()> {
    let s2 = s.clone();
    let t = std::thread::spawn(move || {
        let (m, c) = &*s2;
        let mut g = m.lock();
        g.arrived += 1;
        g = c.wait(g);
        while until_go && !g.go {
            g = c.wait(g);
        }
        g.order.push(i);
    });
    wait_until("the waiter is queued", || s.0.lock().arrived == i + 1);
    t
}

#[test]
fn signal_wakes_in_fifo_order() {
    let s = Arc::new((Mutex::new(State::default()), Cond::new()));
    let ts: Vec<_> = (0..4).map(|i| spawn_waiter(&s, i, false)).collect();
    for k in 0..4 {
        s.1.signal();
        wait_until("the signalled waiter runs", || {
            s.0.lock().order.len() == k + 1
        });
    }
    for t in ts {
        t.join().unwrap();
    }
    assert_eq!(s.0.lock().order, [0, 1, 2, 3]);
}

/// Broadcast while holding the mutex: every waiter is moved onto the mutex and gets it, one
/// at a time, after we unlock.
#[test]
fn broadcast_wakes_all_through_the_mutex() {
    let s = Arc::new((Mutex::new(State::default()), Cond::new()));
    let ts: Vec<_> = (0..4).map(|i| spawn_waiter(&s, i, true)).collect();
    {
        let mut g = s.0.lock();
        g.go = true;
        s.1.broadcast();
        std::thread::sleep(Duration::from_millis(10));
        assert!(g.order.is_empty());
    }
    for t in ts {
        t.join().unwrap();
    }
    let mut order = s.0.lock().order.clone();
    order.sort();
    assert_eq!(order, [0, 1, 2, 3]);
    // The Cond is reusable, with waiters arriving again.
    s.0.lock().arrived = 0;
    s.0.lock().go = false;
    let t = spawn_waiter(&s, 0, false);
    s.1.broadcast();
    t.join().unwrap();
}

#[test]
fn signal_and_broadcast_without_waiters_are_no_ops() {
    let c = Cond::new();
    c.signal();
    c.broadcast();
    assert_eq!(format!("{c:?}"), "Cond { has_waiters: false }");
    // A later waiter does not see an old signal: it waits for a new one.
    let s = Arc::new((Mutex::new(State::default()), Cond::new()));
    s.1.signal();
    let t = spawn_waiter(&s, 0, false);
    std::thread::sleep(Duration::from_millis(10));
    assert!(s.0.lock().order.is_empty());
    assert_eq!(format!("{:?}", s.1), "Cond { has_waiters: true }");
    s.1.signal();
    t.join().unwrap();
}

#[test]
fn waiting_with_a_second_mutex_panics() {
    let s = Arc::new((Mutex::new(State::default()), Cond::new()));
    let t = spawn_waiter(&s, 0, false);
    let other = Mutex::new(());
    let r = catch_unwind(AssertUnwindSafe(|| {
        let g = other.lock();
        let _g = s.1.wait(g);
    }));
    let e = r.expect_err("wait with a second mutex must panic");
    assert_eq!(
        *e.downcast_ref::<&str>().unwrap(),
        "sync: Cond used with two different mutexes"
    );
    assert!(
        other.try_lock().is_some(),
        "the panic left the mutex locked"
    );
    s.1.signal();
    t.join().unwrap();
}

/// Many rounds of producer/consumer through a Cond with both signal and broadcast.
#[test]
fn producer_consumer_rounds() {
    let s = Arc::new((Mutex::new((0u32, 0u32)), Cond::new()));
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                let (m, c) = &*s;
                let mut taken = 0;
                loop {
                    let mut g = m.lock();
                    while g.0 == 0 && g.1 < 3000 {
                        g = c.wait(g);
                    }
                    if g.0 == 0 {
                        return taken;
                    }
                    g.0 -= 1;
                    taken += 1;
                }
            })
        })
        .collect();
    for i in 0..3000 {
        let mut g = s.0.lock();
        g.0 += 1;
        g.1 += 1;
        drop(g);
        if i % 7 == 0 {
            s.1.broadcast();
        } else {
            s.1.signal();
        }
    }
    s.1.broadcast();
    let total: u32 = consumers.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 3000);
}
