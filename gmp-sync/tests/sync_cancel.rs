//! Goroutines cancelled while they wait (their runtime is dropped, which unwinds every parked
//! goroutine's stack) leave each primitive consistent for the threads and goroutines that
//! still use it: nothing they were counted in, nothing a waker granted them, and no wake-up
//! meant for them is lost.
//!
//! Two kinds of cancellation are covered: while still queued (nobody chose the waiter), and
//! right after a waker chose it but before it ran (the runtime's only P is kept busy by a
//! goroutine that polls for the cancellation, so the woken waiter cannot run first).

use gmp_core::Runtime;
use gmp_sync::{Cond, Mutex, RwLock, Semaphore, WaitGroup};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{runtime_without_detector, wait_until};

/// The goroutine that keeps a runtime's only P busy (see [`park_then_hold_the_p`]).
struct HeldP {
    rt: Runtime,
    release: Arc<AtomicBool>,
}

impl HeldP {
    /// Drops the runtime, which cancels its goroutines, and lets the P go only once the
    /// cancellation has begun, so that a goroutine woken while the P was held is cancelled
    /// before it runs.
    fn cancel(self) {
        let HeldP { rt, release } = self;
        let dropper = std::thread::spawn(move || drop(rt));
        // Dropping a runtime flags every goroutine for cancellation at once, then waits for
        // them. Give it a generous moment to start (were it slower, the woken goroutine
        // would run normally and the test would pass without testing anything, never fail).
        std::thread::sleep(Duration::from_millis(200));
        release.store(true, SeqCst);
        dropper.join().expect("dropping the runtime");
    }
}

/// Spawns on `rt` (one P) a goroutine that runs `block` (which parks) and, once it is
/// parked, keeps the P busy without any scheduling point (so neither its budget nor sysmon's
/// preemption flag makes it yield) until [`HeldP::cancel`]. Returns when `block`'s goroutine
/// is parked and the P is held: anything woken on `rt` from then on stays runnable, not
/// running, and is cancelled by [`HeldP::cancel`] before it runs.
fn park_then_hold_the_p(rt: Runtime, block: impl FnOnce() + Send + 'static) -> HeldP {
    let busy = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (b, r) = (busy.clone(), release.clone());
    rt.go(move || {
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        gmp_core::go(move || {
            s.store(true, SeqCst);
            block();
        });
        // One P: once the goroutine has started, it ran until it parked.
        while !started.load(SeqCst) {
            gmp_core::gosched();
        }
        b.store(true, SeqCst);
        while !r.load(SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    wait_until("the P is busy", || busy.load(SeqCst));
    HeldP { rt, release }
}

/// Runs `block` in a goroutine of its own runtime and returns once that goroutine is parked
/// (the runtime is kept alive by the caller).
fn parked_goroutine(block: impl FnOnce() + Send + 'static) -> (Runtime, Arc<AtomicBool>) {
    let rt = runtime_without_detector(1);
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let (d, s) = (done.clone(), started.clone());
    rt.go(move || {
        let inner_started = Arc::new(AtomicBool::new(false));
        let is = inner_started.clone();
        gmp_core::go(move || {
            is.store(true, SeqCst);
            block();
            d.store(true, SeqCst);
        });
        while !inner_started.load(SeqCst) {
            gmp_core::gosched();
        }
        // One P: the goroutine ran until it parked (or finished).
        s.store(true, SeqCst);
    });
    wait_until("the goroutine is parked", || started.load(SeqCst));
    (rt, done)
}

fn debug_has(x: &impl std::fmt::Debug, s: &str) -> bool {
    format!("{x:?}").contains(s)
}

// ---- Semaphore ----------------------------------------------------------------------------

#[test]
fn semaphore_waiter_cancelled_while_queued_leaves_no_waiter_behind() {
    let sem = Arc::new(Semaphore::new(2));
    assert!(sem.try_acquire(1));
    let rt = runtime_without_detector(1);
    let s = sem.clone();
    rt.go(move || s.acquire(2));
    wait_until("the goroutine waits", || debug_has(&*sem, "waiters: 1"));
    drop(rt);
    assert!(debug_has(&*sem, "waiters: 0"), "{sem:?}");
    // One unit is free and nobody waits: it can be taken without blocking.
    assert!(sem.try_acquire(1), "{sem:?}");
    sem.release(2);
    assert!(sem.try_acquire(2));
}

#[test]
fn semaphore_cancelled_head_lets_the_smaller_waiter_behind_it_in() {
    let sem = Arc::new(Semaphore::new(2));
    assert!(sem.try_acquire(1));
    let rt = runtime_without_detector(1);
    let s = sem.clone();
    rt.go(move || s.acquire(2)); // the head: blocks the 1 behind it (FIFO)
    wait_until("the goroutine waits", || debug_has(&*sem, "waiters: 1"));
    let admitted = Arc::new(AtomicBool::new(false));
    let (s, a) = (sem.clone(), admitted.clone());
    let t = std::thread::spawn(move || {
        s.acquire(1);
        a.store(true, SeqCst);
    });
    wait_until("the thread waits", || debug_has(&*sem, "waiters: 2"));
    drop(rt);
    // With the head gone, the thread's 1 unit fits: it must not wait for another release.
    wait_until("the thread is admitted", || admitted.load(SeqCst));
    t.join().unwrap();
    sem.release(2);
}

#[test]
fn semaphore_units_granted_to_a_cancelled_waiter_are_given_back() {
    let sem = Arc::new(Semaphore::new(1));
    assert!(sem.try_acquire(1));
    let s = sem.clone();
    let held = park_then_hold_the_p(runtime_without_detector(1), move || {
        s.acquire(1);
        s.release(1); // only if the goroutine ran before the cancellation
    });
    assert!(debug_has(&*sem, "waiters: 1"), "{sem:?}");
    sem.release(1); // grants the unit to the parked goroutine, which cannot run yet
    held.cancel(); // ... and it is cancelled before it returns from acquire
    assert!(sem.try_acquire(1), "the unit was lost: {sem:?}");
}

// ---- Mutex --------------------------------------------------------------------------------

#[test]
fn mutex_wake_up_of_a_cancelled_waiter_is_passed_on() {
    let m = Arc::new(Mutex::new(0));
    let guard = m.lock();
    let m1 = m.clone();
    let held = park_then_hold_the_p(runtime_without_detector(1), move || *m1.lock() += 1);
    // A second waiter, on another runtime, queued behind the first.
    let m2 = m.clone();
    let (rt2, second_done) = parked_goroutine(move || *m2.lock() += 10);
    drop(guard); // wakes the first waiter, which cannot run yet
    held.cancel(); // ... and it is cancelled
    wait_until("the second waiter gets the lock", || {
        second_done.load(SeqCst)
    });
    drop(rt2);
}

#[test]
fn mutex_stays_usable_when_its_waiters_are_cancelled() {
    let m = Arc::new(Mutex::new(0));
    let held = m.lock();
    let rt = runtime_without_detector(2);
    let waiting = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..8 {
        let (m, w) = (m.clone(), waiting.clone());
        rt.go(move || {
            w.fetch_add(1, SeqCst);
            *m.lock() += 1;
        });
    }
    wait_until("the goroutines start", || waiting.load(SeqCst) == 8);
    std::thread::sleep(Duration::from_millis(20));
    drop(held);
    drop(rt);
    // Threads still share the mutex afterwards.
    let ts: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
    assert!(m.try_lock().is_some());
    assert!(*m.lock() >= 4000);
}

// ---- Cond ---------------------------------------------------------------------------------

#[test]
fn cond_waiter_cancelled_while_queued_does_not_pin_its_mutex() {
    let cond = Arc::new(Cond::new());
    let m1 = Arc::new(Mutex::new(()));
    let rt = runtime_without_detector(1);
    let (c, m) = (cond.clone(), m1.clone());
    rt.go(move || {
        let g = m.lock();
        let _g = c.wait(g);
    });
    wait_until("the goroutine waits", || {
        debug_has(&*cond, "has_waiters: true")
    });
    drop(rt);
    assert!(debug_has(&*cond, "has_waiters: false"), "{cond:?}");
    // Nobody waits any more, so waiting with another mutex is fine.
    let m2 = Arc::new(Mutex::new(false));
    let (c, m) = (cond.clone(), m2.clone());
    let signaller = std::thread::spawn(move || {
        *m.lock() = true;
        c.signal();
    });
    let mut g = m2.lock();
    while !*g {
        g = cond.wait(g);
    }
    drop(g);
    signaller.join().unwrap();
}

#[test]
fn cond_signal_to_a_cancelled_waiter_is_passed_on() {
    let state = Arc::new((Mutex::new(false), Cond::new()));
    let s = state.clone();
    let held = park_then_hold_the_p(runtime_without_detector(1), move || {
        let mut g = s.0.lock();
        while !*g {
            g = s.1.wait(g);
        }
    });
    let s = state.clone();
    let (rt2, second_done) = parked_goroutine(move || {
        let mut g = s.0.lock();
        while !*g {
            g = s.1.wait(g);
        }
    });
    *state.0.lock() = true;
    state.1.signal(); // wakes the first waiter (FIFO), which cannot run yet
    held.cancel(); // ... and it is cancelled: the signal goes to the second
    wait_until("the second waiter is signalled", || {
        second_done.load(SeqCst)
    });
    drop(rt2);
}

#[test]
fn cond_broadcast_to_cancelled_waiters_leaves_the_mutex_consistent() {
    // Waiters that broadcast moved onto the mutex queue, then cancelled there: the mutex
    // must not keep counting them, or it wakes ghosts instead of the thread below.
    let state = Arc::new((Mutex::new(0u32), Cond::new()));
    let rt = runtime_without_detector(1);
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..3 {
        let (s, n) = (state.clone(), started.clone());
        rt.go(move || {
            n.fetch_add(1, SeqCst);
            let mut g = s.0.lock();
            while *g == 0 {
                g = s.1.wait(g);
            }
        });
    }
    wait_until("the goroutines start", || started.load(SeqCst) == 3);
    // One P: the first two have parked in `wait`; give the third the moment it needs.
    std::thread::sleep(Duration::from_millis(20));
    let mut g = state.0.lock();
    *g = 1;
    state.1.broadcast(); // one woken, two requeued onto the mutex
    drop(rt); // all cancelled
    drop(g);
    // Two threads contend for the mutex many times: every wake-up must reach one of them.
    let ts: Vec<_> = (0..2)
        .map(|_| {
            let s = state.clone();
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    *s.0.lock() += 1;
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
    assert_eq!(*state.0.lock(), 4001);
    assert!(state.0.try_lock().is_some());
}

// ---- WaitGroup ----------------------------------------------------------------------------

#[test]
fn waitgroup_waiter_cancelled_while_queued_is_not_counted_in_the_next_round() {
    let wg = WaitGroup::new();
    wg.add(1);
    let rt = runtime_without_detector(1);
    let w = wg.clone();
    rt.go(move || w.wait());
    wait_until("the goroutine waits", || debug_has(&wg, "waiters: 1"));
    drop(rt);
    assert!(debug_has(&wg, "waiters: 0"), "{wg:?}");
    wg.done();
    // The next round: wait must wait for its done, not return on a leftover wake-up.
    wg.add(1);
    let finished = Arc::new(AtomicBool::new(false));
    let (w, f) = (wg.clone(), finished.clone());
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        f.store(true, SeqCst);
        w.done();
    });
    wg.wait();
    assert!(finished.load(SeqCst), "wait returned before done");
    t.join().unwrap();
}

// ---- RwLock -------------------------------------------------------------------------------

#[test]
fn rwlock_reader_cancelled_while_waiting_for_a_writer_is_unregistered() {
    let l = Arc::new(RwLock::new(0));
    let w = l.write();
    let l2 = l.clone();
    let (rt, _) = parked_goroutine(move || drop(l2.read()));
    drop(rt);
    drop(w);
    // No reader is left: a writer gets in at once, and so do readers after it.
    drop(
        l.try_write()
            .expect("a cancelled reader still holds the lock"),
    );
    drop(l.try_read().expect("readable"));
}

#[test]
fn rwlock_read_lock_granted_to_a_cancelled_reader_is_released() {
    let l = Arc::new(RwLock::new(0));
    let w = l.write();
    let l2 = l.clone();
    let held = park_then_hold_the_p(runtime_without_detector(1), move || drop(l2.read()));
    drop(w); // grants the read lock to the parked reader, which cannot run yet
    held.cancel(); // ... and it is cancelled
    drop(
        l.try_write()
            .expect("the cancelled reader's read lock was not released"),
    );
}

#[test]
fn rwlock_writer_cancelled_while_waiting_for_readers_unlocks_when_they_leave() {
    let l = Arc::new(RwLock::new(0));
    let r = l.read();
    let rt = runtime_without_detector(1);
    let l2 = l.clone();
    rt.go(move || *l2.write() += 1);
    // The writer has announced itself (new readers must wait) and waits for `r`.
    wait_until("the writer waits", || l.try_read().is_none());
    drop(rt);
    assert!(
        l.try_read().is_none(),
        "readers must still wait for the reader inside"
    );
    drop(r);
    // The last reader out finished the cancelled writer's lock: the lock is free.
    drop(
        l.try_write()
            .expect("the cancelled writer still holds the lock"),
    );
    drop(l.try_read().expect("readable"));
    assert_eq!(*l.read(), 0);
}

#[test]
fn rwlock_writer_woken_then_cancelled_unlocks() {
    let l = Arc::new(RwLock::new(0));
    let r = l.read();
    let l2 = l.clone();
    let held = park_then_hold_the_p(runtime_without_detector(1), move || *l2.write() += 1);
    assert!(l.try_read().is_none());
    drop(r); // the last reader wakes the writer, which cannot run yet
    held.cancel(); // ... and it is cancelled
    drop(
        l.try_write()
            .expect("the cancelled writer still holds the lock"),
    );
    assert_eq!(*l.read(), 0);
}
