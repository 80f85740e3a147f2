//! Async interop in gmp-core: `block_on` parks a goroutine (not its thread) until the waker
//! fires; a `JoinHandle` is a future; `JoinHandle::on_finish` callbacks. Each test names the
//! mutant it kills.

mod common;

use common::{everywhere, panic_message};
use gmp_core::{block_on, go, sleep, JoinError, Runtime};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// A future that is ready once `flag` is set, remembering the last waker it was given.
fn flag_future(
    flag: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        *waker.lock().unwrap() = Some(cx.waker().clone());
        if flag.load(SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// With one P, the goroutine that sets the flag can only run if `block_on` parks the waiting
/// goroutine instead of blocking its thread. Kills: `block_on` blocking the thread (a hang,
/// caught by the deadlock detector as a failed run), or ignoring the waker (it never re-polls).
#[test]
fn block_on_parks_the_goroutine_until_the_waker_fires() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        rt.run(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
            let (f2, w2) = (flag.clone(), waker.clone());
            let setter = go(move || {
                sleep(Duration::from_millis(5));
                f2.store(true, SeqCst);
                if let Some(w) = w2.lock().unwrap().take() {
                    w.wake();
                }
            });
            block_on(flag_future(flag, waker));
            setter.join().unwrap();
        });
    }
}

/// Kills: `block_on` on a plain thread not blocking until woken from another thread.
#[test]
fn block_on_on_a_thread_is_woken_from_another_thread() {
    let flag = Arc::new(AtomicBool::new(false));
    let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (f2, w2) = (flag.clone(), waker.clone());
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        f2.store(true, SeqCst);
        if let Some(w) = w2.lock().unwrap().take() {
            w.wake();
        }
    });
    block_on(flag_future(flag, waker));
    t.join().unwrap();
}

/// Kills: a `JoinHandle` future that never completes, or loses the result.
#[test]
fn a_join_handle_is_a_future_of_the_result() {
    everywhere(|| {
        let h = go(|| {
            sleep(Duration::from_millis(2));
            6 * 7
        });
        assert_eq!(block_on(h).unwrap(), 42);
        let p = go(|| -> u8 { panic!("async boom") });
        match block_on(p) {
            Err(JoinError::Panicked(e)) => {
                assert_eq!(e.downcast_ref::<&str>(), Some(&"async boom"))
            }
            other => panic!("expected the panic, got {:?}", other.map(|_| ())),
        }
    });
}

/// Counts its wakes.
struct CountWaker(AtomicUsize);
impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polled with waker A, then B: the goroutine's end must wake B (the executor's current
/// task), not A. Kills: keeping the first registered waker.
#[test]
fn the_goroutines_end_wakes_the_latest_waker() {
    let release = Arc::new(AtomicBool::new(false));
    let r2 = release.clone();
    let mut h = go(move || {
        while !r2.load(SeqCst) {
            sleep(Duration::from_millis(1));
        }
        7
    });
    let a = Arc::new(CountWaker(AtomicUsize::new(0)));
    let b = Arc::new(CountWaker(AtomicUsize::new(0)));
    let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
    assert!(Pin::new(&mut h)
        .poll(&mut Context::from_waker(&wa))
        .is_pending());
    assert!(Pin::new(&mut h)
        .poll(&mut Context::from_waker(&wb))
        .is_pending());
    release.store(true, SeqCst);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.0.load(SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "B was never woken");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(a.0.load(SeqCst), 0);
    let Poll::Ready(r) = Pin::new(&mut h).poll(&mut Context::from_waker(&wb)) else {
        panic!("woken but not ready");
    };
    assert_eq!(r.unwrap(), 7);
    // Spent: polling again is a bug, said so.
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = Pin::new(&mut h).poll(&mut Context::from_waker(&wb));
    }));
    assert_eq!(
        panic_message(again),
        "JoinHandle polled again after it returned Ready"
    );
}

/// Kills: callbacks skipped when the handle was dropped first, or not run for a goroutine
/// that has already ended.
#[test]
fn on_finish_runs_at_the_end_even_without_the_handle() {
    everywhere(|| {
        let ran = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(AtomicBool::new(false));
        let r2 = release.clone();
        let h = go(move || {
            while !r2.load(SeqCst) {
                sleep(Duration::from_millis(1));
            }
        });
        for _ in 0..3 {
            let ran = ran.clone();
            h.on_finish(move || {
                ran.fetch_add(1, SeqCst);
            });
        }
        drop(h);
        assert_eq!(ran.load(SeqCst), 0);
        release.store(true, SeqCst);
        while ran.load(SeqCst) < 3 {
            sleep(Duration::from_millis(1));
        }
        // Already ended: runs at once, on the caller.
        let h = go(|| ());
        while !h.is_finished() {
            sleep(Duration::from_millis(1));
        }
        let r3 = ran.clone();
        h.on_finish(move || {
            r3.fetch_add(1, SeqCst);
        });
        assert_eq!(ran.load(SeqCst), 4);
        h.join().unwrap();
    });
}

/// A waker is the executor's code: one that panics when woken must not kill the M that ends
/// the goroutine. Kills: calling the waker outside `call_contained`.
#[test]
fn a_panicking_waker_does_not_kill_the_runtime() {
    struct Boom;
    impl Wake for Boom {
        fn wake(self: Arc<Self>) {
            panic!("waker boom");
        }
    }
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(|| {
        let mut h = go(|| sleep(Duration::from_millis(5)));
        let w = Waker::from(Arc::new(Boom));
        assert!(Pin::new(&mut h)
            .poll(&mut Context::from_waker(&w))
            .is_pending());
        drop(h);
        sleep(Duration::from_millis(20));
        // The runtime still runs goroutines.
        assert_eq!(go(|| 1 + 1).join().unwrap(), 2);
    });
}

/// The only goroutine waits in `block_on` for a waker a plain thread fires 30 ms later: not a
/// deadlock. Kills: `block_on` without its external-wait mark (the detector, on by default,
/// fails the run with "all goroutines are asleep").
#[test]
fn a_goroutine_in_block_on_is_not_a_deadlock() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (f2, w2) = (flag.clone(), waker.clone());
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            f2.store(true, SeqCst);
            if let Some(w) = w2.lock().unwrap().take() {
                w.wake();
            }
        });
        block_on(flag_future(flag, waker));
        t.join().unwrap();
    });
}
