//! loom models of the parking lot: park/validate against unpark (no lost wake-up), requeue
//! (waiters moved to another key are woken there, never lost), and a park that unwinds
//! (cancelled) against unpark (it leaves its queue and reports whether it had been woken).
#![cfg(loom)]

use gmp_core::park::WaitReason;
use gmp_sync::__private::{self as lot, Abandoned, RequeueOp};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
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
            lot::park(
                K1,
                0,
                false,
                WaitReason::Park,
                || !r.load(SeqCst),
                || {},
                |_| {},
            )
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
                    |_| {},
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
                    lot::park(
                        K1,
                        0,
                        false,
                        WaitReason::Park,
                        || !r.load(SeqCst),
                        || {},
                        |_| {},
                    )
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

/// The waiter's park unwinds (its goroutine is cancelled) while the waker unparks: either the
/// waker found it and its token is reported to `on_abandon` as `Woken`, or it had left its
/// queue first (`Dequeued`) and the waker found nobody; never both, never neither. (If the
/// token is there before the waiter would sleep, it returns it without parking at all.)
#[test]
fn cancelled_park_vs_unpark_one() {
    const NONE: usize = 0;
    const DEQUEUED: usize = 1;
    const WOKEN: usize = 2;
    gmp_sync::__private::model_with_cancellation(|| {
        let how = Arc::new(AtomicUsize::new(NONE));
        let h = how.clone();
        let waiter = thread::spawn(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                gmp_sync::__private::cancel_next_park();
                lot::park(
                    K1,
                    0,
                    false,
                    WaitReason::Park,
                    || true,
                    || {},
                    |a| match a {
                        Abandoned::Dequeued { key } => {
                            assert_eq!(key, K1);
                            h.store(DEQUEUED, SeqCst);
                        }
                        Abandoned::Woken { key, token } => {
                            assert_eq!((key, token), (K1, TOKEN));
                            h.store(WOKEN, SeqCst);
                        }
                    },
                )
            }))
            .ok()
        });
        let res = lot::unpark_one(K1, |_| TOKEN);
        match waiter.join().unwrap() {
            Some(returned) => {
                assert_eq!(returned, Some(TOKEN));
                assert!(res.unparked);
                assert_eq!(how.load(SeqCst), NONE);
            }
            None => match how.load(SeqCst) {
                DEQUEUED => assert!(!res.unparked),
                WOKEN => assert!(res.unparked),
                other => panic!("on_abandon reported {other}"),
            },
        }
        // Nothing is left queued on the key.
        assert!(!lot::unpark_one(K1, |_| TOKEN).unparked);
    });
}
