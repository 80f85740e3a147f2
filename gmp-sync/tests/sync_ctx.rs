//! The context-aware waits: `Semaphore::acquire_ctx` and `WaitGroup::wait_ctx` (x/sync's
//! `Weighted.Acquire(ctx, n)` rules), on plain threads and in goroutines on 1 and 2 Ps, and a
//! proptest that no unit is lost or duplicated when contexts are cancelled mid-wait. Each
//! test names the mutant it kills.
#![cfg(feature = "context")]

mod common;

use common::everywhere;

use gmp_chan::context::{Context, ContextError};
use gmp_sync::{Semaphore, WaitGroup};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// Starts `f` in a goroutine when called from one, else on a thread; returns a joiner.
fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Box<dyn FnOnce() -> T> {
    if gmp_core::current_id().is_some() {
        let h = gmp_core::go(f);
        Box::new(move || h.join().unwrap())
    } else {
        let h = std::thread::spawn(f);
        Box::new(move || h.join().unwrap())
    }
}

fn nap(ms: u64) {
    gmp_core::sleep(Duration::from_millis(ms)); // parks a goroutine, sleeps a thread
}

/// x/sync: "a context already done fails at once even when there is room".
/// Kills: checking for room before the context.
#[test]
fn a_done_context_fails_even_with_room() {
    everywhere(|| {
        let sem = Semaphore::new(2);
        let (ctx, cancel) = Context::background().with_cancel();
        cancel.cancel();
        assert_eq!(sem.acquire_ctx(&ctx, 1), Err(ContextError::Canceled));
        assert!(sem.try_acquire(2), "a failed acquire took units");
    });
}

/// x/sync: a request above the capacity waits for the context, then fails (no panic).
/// Kills: `acquire`'s capacity panic reached from `acquire_ctx`.
#[test]
fn a_request_above_capacity_waits_for_the_context() {
    everywhere(|| {
        let sem = Semaphore::new(2);
        let (ctx, _c) = Context::background().with_timeout(Duration::from_millis(10));
        assert_eq!(
            sem.acquire_ctx(&ctx, 3),
            Err(ContextError::DeadlineExceeded)
        );
        assert!(sem.try_acquire(2));
    });
}

/// A waiter at the head of the queue is cancelled: the smaller requests behind it, which it
/// blocked, are served (x/sync's TestAllocCancelDoesntStarve).
/// Kills: an interrupted waiter leaving the queue without serving those behind it.
#[test]
fn a_cancelled_head_lets_the_waiters_behind_it_in() {
    everywhere(|| {
        let sem = Arc::new(Semaphore::new(10));
        sem.acquire(1); // 9 free: the head's 10 does not fit
        let (ctx, cancel) = Context::background().with_cancel();
        let (s2, c2) = (sem.clone(), ctx.clone());
        let head = spawn(move || s2.acquire_ctx(&c2, 10));
        nap(10); // the head is queued
        let s3 = sem.clone();
        let small = spawn(move || {
            s3.acquire(1);
            s3.release(1);
        });
        nap(10); // queued behind the head
        cancel.cancel();
        assert_eq!(head(), Err(ContextError::Canceled));
        small();
        sem.release(1);
        assert!(sem.try_acquire(10), "units were lost");
    });
}

/// Kills: an interrupted waiter that stays queued (a later release would hand it units
/// nobody owns) or never wakes (its goroutine would park for ever).
#[test]
fn a_cancel_mid_wait_fails_the_acquire_and_loses_nothing() {
    everywhere(|| {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire(1);
        let (ctx, cancel) = Context::background().with_cancel();
        let s2 = sem.clone();
        let waiter = spawn(move || s2.acquire_ctx(&ctx, 1));
        nap(5);
        cancel.cancel();
        assert_eq!(waiter(), Err(ContextError::Canceled));
        sem.release(1);
        assert!(sem.try_acquire(1));
        sem.release(1);
        assert_eq!(sem.acquire_ctx(&Context::background(), 1), Ok(()));
    });
}

/// Kills: `wait_ctx` ignoring the context, or leaving its waiter counted (the next round's
/// `done` would wake nobody, or a later wait would panic with "reused").
#[test]
fn wait_ctx_gives_up_and_the_group_goes_on() {
    everywhere(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let (ctx, cancel) = Context::background().with_cancel();
        let (w2, c2) = (wg.clone(), ctx.clone());
        let waiter = spawn(move || w2.wait_ctx(&c2));
        nap(5);
        cancel.cancel();
        assert_eq!(waiter(), Err(ContextError::Canceled));
        let w3 = wg.clone();
        let plain = spawn(move || w3.wait());
        nap(5);
        wg.done();
        plain();
        // A zero counter wins over a done context.
        assert_eq!(wg.wait_ctx(&ctx), Ok(()));
        let (ctx, _c) = Context::background().with_timeout(Duration::from_millis(5));
        wg.add(1);
        assert_eq!(wg.wait_ctx(&ctx), Err(ContextError::DeadlineExceeded));
        wg.done();
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Waiters with random weights, some with contexts cancelled at random times, on threads
    /// against holders that release: every unit acquired is released once, and at the end
    /// the semaphore is whole. Kills: a unit granted to a waiter that then reports failure
    /// (never released: the final `try_acquire` fails), or one given twice.
    #[test]
    fn no_unit_is_lost_when_contexts_are_cancelled_mid_wait(
        cap in 1usize..5,
        waiters in prop::collection::vec((1usize..6, 0u64..4, any::<bool>()), 1..8),
    ) {
        let sem = Arc::new(Semaphore::new(cap));
        sem.acquire(cap); // all held: every waiter queues
        let held = Arc::new(AtomicUsize::new(0));
        let mut joins = Vec::new();
        let mut cancels = Vec::new();
        let mut keep = Vec::new(); // a dropped CancelFn cancels: the others live to the end
        for &(n, delay_ms, cancelled) in &waiters {
            let n = n.min(cap + 1); // sometimes above the capacity: it must be cancelled
            let (ctx, cancel) = Context::background().with_cancel();
            if cancelled || n > cap {
                cancels.push((delay_ms, cancel));
            } else {
                keep.push(cancel);
            }
            let (s, h) = (sem.clone(), held.clone());
            joins.push(std::thread::spawn(move || {
                match s.acquire_ctx(&ctx, n) {
                    Ok(()) => {
                        let now = h.fetch_add(n, SeqCst) + n;
                        assert!(now <= cap, "{now} units held of {cap}");
                        std::thread::sleep(Duration::from_micros(200));
                        h.fetch_sub(n, SeqCst);
                        s.release(n);
                        true
                    }
                    Err(_) => false,
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(1));
        sem.release(cap);
        for (delay_ms, cancel) in cancels {
            std::thread::sleep(Duration::from_millis(delay_ms));
            cancel.cancel();
        }
        for j in joins {
            j.join().unwrap();
        }
        drop(keep);
        prop_assert!(sem.try_acquire(cap), "units were lost");
    }
}
