//! `gmp_chan::time`: after, tick, Timer, with Go 1.23 semantics (no stale values).

use gmp_chan::time::{self, Timer};
use gmp_chan::{chan, select};
use gmp_core::synctest;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

#[test]
fn after_fires_once_after_the_duration() {
    let t0 = Instant::now();
    let rx = time::after(20 * MS);
    assert_eq!(
        (rx.len(), rx.cap()),
        (0, 0),
        "Go 1.23: timer channels read 0/0"
    );
    let at = rx.recv().unwrap();
    assert!(at >= t0 + 20 * MS);
    assert!(t0.elapsed() >= 20 * MS);
    assert!(rx.recv_timeout(30 * MS).is_err(), "fires only once");
}

#[test]
fn after_in_select_as_a_timeout() {
    let never = chan::<i32>(0);
    let r = select! {
        recv(never) -> _ => "value",
        recv(time::after(10 * MS)) -> t => { assert!(t.is_some()); "timeout" },
    };
    assert_eq!(r, "timeout");
}

#[test]
fn timer_stop_before_firing_prevents_the_value() {
    let t = Timer::new(20 * MS);
    assert!(t.stop(), "pending timer: stop reports true");
    assert!(!t.stop(), "already stopped");
    assert!(t.c().recv_timeout(60 * MS).is_err());
}

#[test]
fn timer_stop_after_expiry_discards_the_unreceived_value() {
    // In a bubble: the timer has certainly fired by the end of the sleep (it used to take a
    // 30 ms real sleep and a hope).
    synctest::test(|| {
        let t = Timer::new(MS);
        gmp_core::sleep(30 * MS);
        // Go 1.23: the expired, unreceived timer still reports true and nothing is received.
        assert!(t.stop());
        assert!(t.c().try_recv().is_err());
        assert!(!t.stop());
    });
}

#[test]
fn timer_stop_after_receive_reports_false() {
    let t = Timer::new(MS);
    t.c().recv().unwrap();
    assert!(!t.stop());
}

#[test]
fn timer_reset_discards_stale_value_and_fires_again() {
    // In a bubble, with exact instants (it used to sleep 20 ms for real and check bounds).
    synctest::test(|| {
        let start = gmp_core::time::now();
        let t = Timer::new(MS);
        gmp_core::sleep(20 * MS);
        assert!(
            t.reset(40 * MS),
            "an unreceived expired value counts as active"
        );
        assert!(t.c().try_recv().is_err(), "no stale value after reset");
        let at = t.c().recv().unwrap();
        assert_eq!(at - start, 60 * MS, "the value is from the new arming");
        // Reset after it fired and was received: false, and it fires again.
        assert!(!t.reset(5 * MS));
        assert_eq!(t.c().recv().unwrap() - start, 65 * MS);
    });
}

#[test]
fn timer_reset_while_pending() {
    let t = Timer::new(Duration::from_secs(3600));
    let t0 = Instant::now();
    assert!(t.reset(10 * MS));
    t.c().recv().unwrap();
    assert!(t0.elapsed() >= 10 * MS);
    assert!(format!("{t:?}").starts_with("Timer"));
}

#[test]
fn many_resets_never_deliver_stale_values() {
    // Reset racing the firing: after each reset returns, any value received must come from
    // the new arming (at or after its deadline).
    let t = Timer::new(MS);
    for i in 0..200 {
        let d = Duration::from_micros(50 * (i % 7));
        let before = Instant::now();
        t.reset(d);
        if let Ok(at) = t.c().recv_timeout(Duration::from_secs(5)) {
            assert!(at >= before + d, "round {i}: stale value");
        }
    }
}

#[test]
fn ticker_ticks_and_stops() {
    // t0 before the ticker: ticks are due at creation + 5, 10, 15, 20 ms.
    let t0 = Instant::now();
    let tk = time::Ticker::new(5 * MS);
    assert_eq!(tk.c().cap(), 0);
    for _ in 0..4 {
        tk.c().recv().unwrap();
    }
    assert!(t0.elapsed() >= 20 * MS);
    tk.stop();
    assert!(tk.c().recv_timeout(30 * MS).is_err(), "no tick after stop");
    tk.reset(5 * MS);
    assert!(
        tk.c().recv_timeout(Duration::from_secs(5)).is_ok(),
        "ticks after reset"
    );
    assert!(format!("{tk:?}").starts_with("Ticker"));
}

#[test]
fn ticker_drops_ticks_for_a_slow_reader() {
    // In a bubble the answer is exact: of the ten ticks due while the reader slept, only the
    // first is kept (a buffer of one), and the next comes on the period. (It used to sleep
    // 200 ms for real and allow one extra tick for a slow machine.)
    synctest::test(|| {
        let start = gmp_core::time::now();
        let tk = time::Ticker::new(20 * MS);
        gmp_core::sleep(200 * MS);
        assert_eq!(tk.c().try_recv().unwrap() - start, 20 * MS);
        assert!(
            tk.c().try_recv().is_err(),
            "ticks were kept for a slow reader"
        );
        assert_eq!(tk.c().recv().unwrap() - start, 220 * MS);
        tk.stop();
    });
}

#[test]
fn ticker_reset_changes_the_period() {
    let tk = time::Ticker::new(Duration::from_secs(3600));
    tk.reset(5 * MS);
    let t0 = Instant::now();
    tk.c().recv().unwrap();
    tk.c().recv().unwrap();
    assert!(t0.elapsed() >= 5 * MS);
}

#[test]
#[should_panic(expected = "non-positive interval for NewTicker")]
fn tick_zero_panics() {
    let _ = time::tick(Duration::ZERO);
}

#[test]
#[should_panic(expected = "non-positive interval for NewTicker")]
fn new_ticker_zero_panics() {
    let _ = time::Ticker::new(Duration::ZERO);
}

#[test]
#[should_panic(expected = "non-positive interval for Ticker.Reset")]
fn ticker_reset_zero_panics() {
    time::Ticker::new(MS).reset(Duration::ZERO);
}

#[test]
fn tick_ticks_while_a_clone_of_its_receiver_lives() {
    // The natural port of Go's `time.Tick`: keep only a clone (the original is dropped at
    // once). It used to be a `Ticker` whose drop stopped it: this deadlocked.
    let ticks = time::tick(2 * MS).clone();
    for _ in 0..3 {
        assert!(ticks.recv_timeout(Duration::from_secs(5)).is_ok());
    }
    // In a goroutine too, as a select operand (made there: a timer made on a plain thread is
    // invisible to a runtime's deadlock detector).
    drop(ticks);
    gmp_core::run(move || {
        let ticks = time::tick(2 * MS).clone();
        for _ in 0..3 {
            select! {
                recv(ticks) -> t => assert!(t.is_some()),
            }
        }
    });
}

#[test]
fn tickers_and_timers_are_select_operands() {
    let tk = time::Ticker::new(2 * MS);
    let never = Timer::new(Duration::from_secs(3600));
    for _ in 0..3 {
        let r = select! {
            recv(&tk) -> t => { assert!(t.is_some()); "tick" },
            recv(never) -> _ => "timer",
        };
        assert_eq!(r, "tick");
    }
    let soon = Timer::new(MS);
    let none: Option<&time::Ticker> = None; // a nil channel
    let r = select! {
        recv(none) -> _ => "nil",
        recv(&soon) -> t => { assert!(t.is_some()); "timer" },
    };
    assert_eq!(r, "timer");
}

#[test]
fn durations_too_large_for_an_instant_mean_for_ever() {
    for d in [Duration::MAX, Duration::from_secs(u64::MAX)] {
        let t = Timer::new(d);
        assert!(t.c().try_recv().is_err());
        assert!(t.reset(d), "pending");
        assert!(t.stop(), "pending");
        let tk = time::Ticker::new(d);
        tk.reset(d);
        tk.stop();
        assert!(time::after(d).try_recv().is_err());
        let ch = chan::<i32>(1);
        ch.send(1).unwrap();
        assert_eq!(ch.recv_timeout(d), Ok(1));
        assert_eq!(ch.send_timeout(2, d), Ok(()));
        let r = select! {
            recv(ch) -> v => v,
            default(d) => None,
        };
        assert_eq!(r, Some(2));
    }
}
