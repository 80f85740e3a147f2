//! loom models of the parking lot: park/validate against unpark (no lost wake-up), and
//! requeue (waiters moved to another key are woken there, never lost).
#![cfg(loom)]

use gmp_core::park::WaitReason;
use gmp_sync::lot::{self, RequeueOp};
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

const K1: usize = 0x1000;
const K2: usize = 0x2008;
const TOKEN: usize = 7;

/// A waiter parks unless `ready` is set; the waker sets it and unparks. Whatever the order,
/// the waiter returns (loom reports a deadlock otherwise), with the waker's token if it
/// parked.
#[test]
fn park_validate_vs_unpark_one() {
    loom::model(|| {
        let ready = Arc::new(AtomicBool::new(false));
        let r = ready.clone();
        let waiter = thread::spawn(move || {
            lot::park(K1, 0, false, WaitReason::Park, || !r.load(SeqCst), || {})
        });
        ready.store(true, SeqCst);
        let res = lot::unpark_one(K1, |res| {
            assert!(!res.have_more);
            TOKEN
        });
        let got = waiter.join().unwrap();
        match got {
            None => {}
            Some(t) => {
                assert_eq!(t, TOKEN);
                assert!(res.unparked);
            }
        }
    });
}

/// Two waiters on one key, woken one at a time; a waiter on another key (in the
/// same or another bucket) is never woken by them.
#[test]
fn unpark_one_per_key() {
    loom::model(|| {
        let ready = Arc::new(AtomicBool::new(false));
        let other = Arc::new(AtomicBool::new(false));
        let spawn = |key: usize, flag: Arc<AtomicBool>| {
            thread::spawn(move || {
                lot::park(
                    key,
                    0,
                    false,
                    WaitReason::Park,
                    || !flag.load(SeqCst),
                    || {},
                )
            })
        };
        let a = spawn(K1, ready.clone());
        let b = spawn(K1, ready.clone());
        let c = spawn(K2, other.clone());
        ready.store(true, SeqCst);
        let mut woken = 0;
        while lot::unpark_one(K1, |_| TOKEN).unparked {
            woken += 1;
        }
        assert!(woken <= 2);
        let got: Vec<_> = [a, b].into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(got.iter().filter(|t| t.is_some()).count(), woken);
        other.store(true, SeqCst);
        lot::unpark_all(K2, TOKEN);
        c.join().unwrap();
    });
}

/// Requeue moves waiters from K1 to K2 (the one woken directly gets the token); then waking
/// K2 releases the rest. No waiter is lost whichever way the parks and the requeue interleave.
#[test]
fn requeue_then_unpark() {
    loom::model(|| {
        let released = Arc::new(AtomicBool::new(false));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let r = released.clone();
                thread::spawn(move || {
                    lot::park(K1, 0, false, WaitReason::Park, || !r.load(SeqCst), || {})
                })
            })
            .collect();
        released.store(true, SeqCst);
        let (woken, moved) = lot::requeue(
            K1,
            K2,
            || true,
            |n| {
                if n == 0 {
                    RequeueOp::Abort
                } else {
                    RequeueOp::UnparkOneRequeueRest(TOKEN)
                }
            },
        );
        assert!(woken + moved <= 2);
        let after = lot::unpark_all(K2, TOKEN + 1);
        assert_eq!(after, moved);
        let mut tokens: Vec<_> = waiters.into_iter().map(|t| t.join().unwrap()).collect();
        tokens.sort();
        let parked = tokens.iter().filter(|t| t.is_some()).count();
        assert_eq!(parked, woken + moved);
        assert_eq!(tokens.iter().filter(|t| **t == Some(TOKEN)).count(), woken);
    });
}
