//! loom models of Cond: no lost signal under the mutex, and broadcast's requeue onto the
//! mutex wakes every waiter.
#![cfg(loom)]

use gmp_sync::{Cond, Mutex};
use loom::sync::Arc;
use loom::thread;

#[test]
fn signal_vs_wait() {
    loom::model(|| {
        let s = Arc::new((Mutex::new(false), Cond::new()));
        let w = {
            let s = s.clone();
            thread::spawn(move || {
                let mut g = s.0.lock();
                while !*g {
                    g = s.1.wait(g);
                }
            })
        };
        *s.0.lock() = true;
        s.1.signal();
        w.join().unwrap();
    });
}

/// Two waiters; the broadcaster sets the flag under the mutex and broadcasts, sometimes while
/// still holding it (the requeued waiter must then be woken by that unlock).
fn broadcast_model(hold_while_broadcasting: bool) {
    loom::model(move || {
        let s = Arc::new((Mutex::new(false), Cond::new()));
        let ws: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || {
                    let mut g = s.0.lock();
                    while !*g {
                        g = s.1.wait(g);
                    }
                })
            })
            .collect();
        {
            let mut g = s.0.lock();
            *g = true;
            if hold_while_broadcasting {
                s.1.broadcast();
            }
        }
        if !hold_while_broadcasting {
            s.1.broadcast();
        }
        for w in ws {
            w.join().unwrap();
        }
    });
}

#[test]
fn broadcast_requeues_under_the_mutex() {
    broadcast_model(true);
}

#[test]
fn broadcast_requeues_without_the_mutex() {
    broadcast_model(false);
}
