//! A duration too large for an `Instant` means "for ever", everywhere: `sleep`, timers and
//! tickers, on goroutines as on threads. (Go's `time.Sleep(math.MaxInt64)` sleeps; Rust's
//! `Instant + Duration::MAX` panics.)

use gmp_core::time::{after_fn, Timer};
use gmp_core::{go, sleep, JoinError, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const HUGE: [Duration; 2] = [Duration::MAX, Duration::from_secs(u64::MAX)];

#[test]
fn sleep_for_ever_in_a_goroutine_sleeps_until_cancelled() {
    for d in HUGE {
        let rt = Runtime::builder().procs(2).build().unwrap();
        let h = rt.go(move || sleep(d));
        // Another goroutine runs meanwhile (the P is not lost to a panic or a busy wait).
        assert_eq!(rt.run(|| go(|| 2).join().unwrap()), 2);
        std::thread::sleep(Duration::from_millis(20));
        assert!(!h.is_finished(), "sleep({d:?}) returned");
        drop(rt);
        assert!(matches!(h.join(), Err(JoinError::Cancelled)));
    }
}

#[test]
fn timers_for_ever_never_fire_and_report_as_armed() {
    for d in HUGE {
        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        let t = after_fn(d, move || {
            f.fetch_add(1, SeqCst);
        });
        assert!(t.reset(d), "an armed timer");
        assert!(t.stop(), "an armed timer");
        assert!(!t.stop());
        assert_eq!(fired.load(SeqCst), 0);
    }
}

#[test]
fn a_ticker_whose_next_tick_overflows_waits_for_ever() {
    // The first tick comes at once; the next would be `Duration::MAX` later. Re-arming it
    // used to overflow on the M that fired the timer.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let ticks = rt.run(|| {
        let n = Arc::new(AtomicUsize::new(0));
        let m = n.clone();
        let me = gmp_core::park::current();
        let t = Timer::inline_periodic(Duration::from_millis(1), Duration::MAX, move || {
            m.fetch_add(1, SeqCst);
            me.unpark();
        });
        while n.load(SeqCst) == 0 {
            gmp_core::park::park(gmp_core::WaitReason::Sleep);
        }
        sleep(Duration::from_millis(10));
        assert!(t.stop(), "re-armed for ever");
        n.load(SeqCst)
    });
    assert_eq!(ticks, 1);
    // The runtime's only M is alive: it still runs goroutines.
    assert_eq!(rt.run(|| go(|| 5).join().unwrap()), 5);
}
