//! Ports of Go's sync/cond_test.go: TestCondSignal, TestCondSignalGenerations,
//! TestCondBroadcast, TestRace, TestCondSignalStealing. (TestCondCopy has no Rust
//! equivalent: a Cond with waiters is borrowed and cannot move.)
//!
//! Each test runs twice (see `common`): `*_threads` on plain threads, and `*_goroutines` as
//! the main goroutine of a runtime with 2 Ps, where its `go` statements start goroutines.

mod common;
use common::{go, gosched, Chan};
use gmp_sync::{Cond, Mutex};
use std::sync::Arc;

/// Go: TestCondSignal.
fn test_cond_signal() {
    let mc = Arc::new((Mutex::new(()), Cond::new()));
    let mut n = 2;
    let running = Chan::new();
    let awake = Chan::new();
    for _ in 0..n {
        let (mc, running, awake) = (mc.clone(), running.clone(), awake.clone());
        go(move || {
            let g = mc.0.lock();
            running.send(true);
            let g = mc.1.wait(g);
            awake.send(true);
            drop(g);
        });
    }
    for _ in 0..n {
        running.recv(); // Wait for everyone to run.
    }
    while n > 0 {
        assert!(awake.try_recv().is_none(), "goroutine not asleep");
        {
            let _g = mc.0.lock();
            mc.1.signal();
        }
        awake.recv(); // Will deadlock if no goroutine wakes up
        assert!(awake.try_recv().is_none(), "too many goroutines awake");
        n -= 1;
    }
    mc.1.signal();
}

#[test]
fn test_cond_signal_threads() {
    common::on_threads(test_cond_signal);
}

#[test]
fn test_cond_signal_goroutines() {
    common::in_goroutines(test_cond_signal);
}

/// Go: TestCondSignalGenerations. A Signal wakes the oldest waiter, never a later one.
fn test_cond_signal_generations() {
    let mc = Arc::new((Mutex::new(()), Cond::new()));
    let n = 100;
    let running = Chan::new();
    let awake = Chan::new();
    for i in 0..n {
        {
            let (mc, running, awake) = (mc.clone(), running.clone(), awake.clone());
            go(move || {
                let g = mc.0.lock();
                running.send(true);
                let g = mc.1.wait(g);
                awake.send(i);
                drop(g);
            });
        }
        if i > 0 {
            let a = awake.recv();
            assert_eq!(a, i - 1, "wrong goroutine woke up: want {}, got {a}", i - 1);
        }
        running.recv();
        let _g = mc.0.lock();
        mc.1.signal();
    }
    assert_eq!(awake.recv(), n - 1);
}

#[test]
fn test_cond_signal_generations_threads() {
    common::on_threads(test_cond_signal_generations);
}

#[test]
fn test_cond_signal_generations_goroutines() {
    common::in_goroutines(test_cond_signal_generations);
}

/// Go: TestCondBroadcast.
fn test_cond_broadcast() {
    // (exit flag, Cond)
    let mc = Arc::new((Mutex::new(false), Cond::new()));
    let n = 50;
    let running = Chan::new();
    let awake = Chan::new();
    let tasks: Vec<_> = (0..n)
        .map(|g| {
            let (mc, running, awake) = (mc.clone(), running.clone(), awake.clone());
            go(move || {
                let mut exit = mc.0.lock();
                while !*exit {
                    running.send(g);
                    exit = mc.1.wait(exit);
                    awake.send(g);
                }
            })
        })
        .collect();
    for i in 0..n {
        for _ in 0..n {
            running.recv(); // Will deadlock unless n are running.
        }
        if i == n - 1 {
            *mc.0.lock() = true;
        }
        assert!(awake.try_recv().is_none(), "goroutine not asleep");
        {
            let _g = mc.0.lock();
            mc.1.broadcast();
        }
        let mut seen = vec![false; n];
        for _ in 0..n {
            let g = awake.recv();
            assert!(!seen[g], "goroutine woke up twice");
            seen[g] = true;
        }
    }
    for t in tasks {
        t.join();
    }
    assert!(running.try_recv().is_none(), "goroutine did not exit");
    mc.1.broadcast();
}

#[test]
fn test_cond_broadcast_threads() {
    common::on_threads(test_cond_broadcast);
}

#[test]
fn test_cond_broadcast_goroutines() {
    common::in_goroutines(test_cond_broadcast);
}

/// Go: TestRace.
fn test_race() {
    let c = Arc::new((Mutex::new(0), Cond::new()));
    let done = Chan::new();
    {
        let (c, done) = (c.clone(), done.clone());
        go(move || {
            let mut x = c.0.lock();
            *x = 1;
            x = c.1.wait(x);
            assert_eq!(*x, 2, "want 2");
            *x = 3;
            c.1.signal();
            drop(x);
            done.send(true);
        });
    }
    {
        let (c, done) = (c.clone(), done.clone());
        go(move || {
            let mut x = c.0.lock();
            loop {
                if *x == 1 {
                    *x = 2;
                    c.1.signal();
                    break;
                }
                drop(x);
                gosched();
                x = c.0.lock();
            }
            drop(x);
            done.send(true);
        });
    }
    {
        let (c, done) = (c.clone(), done.clone());
        go(move || {
            let mut x = c.0.lock();
            loop {
                if *x == 2 {
                    x = c.1.wait(x);
                    assert_eq!(*x, 3, "want 3");
                    break;
                }
                if *x == 3 {
                    break;
                }
                drop(x);
                gosched();
                x = c.0.lock();
            }
            drop(x);
            done.send(true);
        });
    }
    done.recv();
    done.recv();
    done.recv();
}

#[test]
fn test_race_threads() {
    common::on_threads(test_race);
}

#[test]
fn test_race_goroutines() {
    common::in_goroutines(test_race);
}

/// Go: TestCondSignalStealing. A waiter that was in Wait before a Broadcast is woken by it,
/// even when a new waiter races with the Broadcast.
fn test_cond_signal_stealing() {
    for _ in 0..200 {
        // (done flag, Cond)
        let mc = Arc::new((Mutex::new(false), Cond::new()));
        let ch = Chan::new();
        {
            let (mc, ch) = (mc.clone(), ch.clone());
            go(move || {
                let g = mc.0.lock();
                ch.send(());
                let g = mc.1.wait(g);
                drop(g);
                ch.send(());
            });
        }
        ch.recv();
        drop(mc.0.lock());
        // The waiter is in wait(): we synchronized with it, then took and released the
        // mutex it held. Race a broadcast with a second waiter.
        {
            let mc = mc.clone();
            go(move || mc.1.broadcast());
        }
        let second = {
            let mc = mc.clone();
            go(move || {
                let mut done = mc.0.lock();
                while !*done {
                    done = mc.1.wait(done);
                }
            })
        };
        // Check that the first waiter does get signaled.
        ch.recv();
        // Release the second waiter in case it didn't get the broadcast.
        *mc.0.lock() = true;
        mc.1.broadcast();
        second.join();
    }
}

#[test]
fn test_cond_signal_stealing_threads() {
    common::on_threads(test_cond_signal_stealing);
}

#[test]
fn test_cond_signal_stealing_goroutines() {
    common::in_goroutines(test_cond_signal_stealing);
}
