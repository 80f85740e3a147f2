//! loom models of waiters cancelled while parked (a goroutine whose runtime is dropped unwinds
//! out of its park): whichever way the cancellation races with the waker, the primitive is
//! left consistent: no lost wake-up (loom reports a deadlock), nothing over-admitted or held
//! by the dead waiter, and the primitive still works afterwards.
//!
//! `gmp_sync::__private::cancel_next_park` makes the victim's next park unwind before it sleeps
//! (it is queued, and a waker may already have chosen it); `cancel_after_park(n)` makes its
//! `n`-th park unwind once it has been woken. Each model runs under `model_with_cancellation`
//! (`loom::model` with bucket locks that survive a thread switch during an unwind).
#![cfg(loom)]

use gmp_sync::__private::{
    advance_clock, cancel_after_park, cancel_next_park, model_with_cancellation,
};
use gmp_sync::{Cond, Mutex, RwLock, Semaphore, WaitGroup};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

mod common;
use common::{incr, value};

/// Runs `f` in the victim: returns whether it completed (false: it was cancelled).
fn victim(f: impl FnOnce()) -> bool {
    catch_unwind(AssertUnwindSafe(f)).is_ok()
}

/// A mutex waiter cancelled while queued or just woken: the other waiter still gets the lock
/// and the mutex keeps working.
#[test]
fn mutex_waiter_cancelled() {
    model_with_cancellation(|| {
        let m = Arc::new(Mutex::new(UnsafeCell::new(0)));
        let g = m.lock();
        let v = {
            let m = m.clone();
            thread::spawn(move || {
                victim(|| {
                    cancel_next_park();
                    incr(&m);
                })
            })
        };
        let t = {
            let m = m.clone();
            thread::spawn(move || incr(&m))
        };
        drop(g);
        let completed = v.join().unwrap();
        t.join().unwrap();
        assert_eq!(value(&m), 1 + usize::from(completed));
        assert!(m.try_lock().is_some());
    });
}

/// A starving waiter is handed the lock directly and cancelled before it runs: it must pass
/// the lock on, not keep it.
#[test]
fn mutex_hand_off_to_a_cancelled_waiter() {
    model_with_cancellation(|| {
        let m = Arc::new(Mutex::new(UnsafeCell::new(0)));
        let g = m.lock();
        let v = {
            let m = m.clone();
            thread::spawn(move || {
                victim(|| {
                    // Its second park is the one after it lost the lock while starving.
                    cancel_after_park(2);
                    incr(&m);
                })
            })
        };
        advance_clock(Duration::from_millis(2));
        drop(g);
        incr(&m); // barges in ahead of the woken victim, which then starves
        let completed = v.join().unwrap();
        assert_eq!(value(&m), 1 + usize::from(completed));
        assert!(m.try_lock().is_some());
        // The mutex still hands over between threads.
        let g = m.lock();
        let t = {
            let m = m.clone();
            thread::spawn(move || incr(&m))
        };
        drop(g);
        t.join().unwrap();
    });
}

/// x/sync semantics: units granted to a cancelled waiter come back, a cancelled head lets the
/// waiter behind it in, and the capacity is never exceeded.
#[test]
fn semaphore_waiter_cancelled() {
    model_with_cancellation(|| {
        let sem = Arc::new(Semaphore::new(2));
        let held = Arc::new(AtomicUsize::new(0));
        sem.acquire(1);
        held.fetch_add(1, SeqCst);
        let v = {
            let (sem, held) = (sem.clone(), held.clone());
            thread::spawn(move || {
                victim(|| {
                    cancel_next_park();
                    sem.acquire(2);
                    assert!(held.fetch_add(2, SeqCst) + 2 <= 2, "over-admitted");
                    held.fetch_sub(2, SeqCst);
                    sem.release(2);
                })
            })
        };
        let t = {
            let (sem, held) = (sem.clone(), held.clone());
            thread::spawn(move || {
                sem.acquire(1);
                assert!(held.fetch_add(1, SeqCst) + 1 <= 2, "over-admitted");
                held.fetch_sub(1, SeqCst);
                sem.release(1);
            })
        };
        held.fetch_sub(1, SeqCst);
        sem.release(1);
        v.join().unwrap();
        t.join().unwrap();
        assert!(sem.try_acquire(2), "units lost");
    });
}

/// A Cond waiter cancelled while waiting, or after the signal chose it: the signal reaches the
/// other waiter.
#[test]
fn cond_signalled_waiter_cancelled() {
    model_with_cancellation(|| {
        let s = Arc::new((Mutex::new(false), Cond::new()));
        let wait = |s: &(Mutex<bool>, Cond)| {
            let mut g = s.0.lock();
            while !*g {
                g = s.1.wait(g);
            }
        };
        let v = {
            let s = s.clone();
            thread::spawn(move || {
                victim(|| {
                    cancel_next_park();
                    wait(&s);
                })
            })
        };
        let t = {
            let s = s.clone();
            thread::spawn(move || wait(&s))
        };
        *s.0.lock() = true;
        s.1.signal();
        v.join().unwrap();
        t.join().unwrap();
        assert!(s.0.try_lock().is_some());
    });
}

/// A Cond waiter that a broadcast moved onto the mutex is cancelled once an unlock wakes it
/// there: the mutex must not keep it counted, and the other waiter gets through.
#[test]
fn cond_requeued_waiter_cancelled() {
    model_with_cancellation(|| {
        let s = Arc::new((Mutex::new(false), Cond::new()));
        let wait = |s: &(Mutex<bool>, Cond)| {
            let mut g = s.0.lock();
            while !*g {
                g = s.1.wait(g);
            }
        };
        let v = {
            let s = s.clone();
            thread::spawn(move || {
                victim(|| {
                    cancel_after_park(1);
                    wait(&s);
                })
            })
        };
        let t = {
            let s = s.clone();
            thread::spawn(move || wait(&s))
        };
        {
            let mut g = s.0.lock();
            *g = true;
            s.1.broadcast();
        }
        v.join().unwrap();
        t.join().unwrap();
        assert!(s.0.try_lock().is_some());
    });
}

/// A reader cancelled while it waits for the writer, or just after the writer let it in.
#[test]
fn rwlock_reader_cancelled() {
    model_with_cancellation(|| {
        let l = Arc::new(RwLock::new(0));
        let w = l.write();
        let v = {
            let l = l.clone();
            thread::spawn(move || {
                victim(|| {
                    cancel_next_park();
                    drop(l.read());
                })
            })
        };
        drop(w);
        v.join().unwrap();
        assert!(l.try_write().is_some(), "a cancelled reader holds the lock");
        assert!(l.try_read().is_some());
    });
}

/// A writer cancelled while it waits for the readers to leave, or just after the last one
/// woke it: the readers see it gone, and the lock ends up free.
#[test]
fn rwlock_writer_cancelled() {
    model_with_cancellation(|| {
        let l = Arc::new(RwLock::new(UnsafeCell::new(0)));
        let r = l.read();
        let v = {
            let l = l.clone();
            thread::spawn(move || {
                victim(|| {
                    cancel_next_park();
                    let g = l.write();
                    // SAFETY: write-locked.
                    g.with_mut(|p| unsafe { *p += 1 });
                })
            })
        };
        let t = {
            let l = l.clone();
            thread::spawn(move || {
                let g = l.read();
                // SAFETY: read-locked.
                g.with(|p| unsafe { *p })
            })
        };
        drop(r);
        v.join().unwrap();
        t.join().unwrap();
        assert!(l.try_write().is_some(), "a cancelled writer holds the lock");
    });
}

/// A WaitGroup waiter cancelled while waiting, or just after the last done woke it: nothing
/// is left over for the next round, whose wait waits for its done.
#[test]
fn waitgroup_waiter_cancelled() {
    model_with_cancellation(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let v = {
            let wg = wg.clone();
            thread::spawn(move || {
                victim(|| {
                    cancel_next_park();
                    wg.wait();
                })
            })
        };
        wg.done();
        v.join().unwrap();
        // The next round.
        let flag = Arc::new(AtomicUsize::new(0));
        wg.add(1);
        let t = {
            let (wg, flag) = (wg.clone(), flag.clone());
            thread::spawn(move || {
                flag.store(1, SeqCst);
                wg.done();
            })
        };
        wg.wait();
        assert_eq!(flag.load(SeqCst), 1, "wait returned before done");
        t.join().unwrap();
    });
}
