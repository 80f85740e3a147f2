//! loom: a synctest bubble on the real scheduler, its Ms as loom threads. The virtual clock
//! moves only when every goroutine is durably blocked, to the earliest timer, whose goroutine
//! then runs at exactly its deadline; `wait` returns once the others are parked; the end of
//! the bubble waits for its last goroutine. A lost wake-up (an M that never runs the timers
//! of the new time, a `wait` never released) shows as a loom deadlock.
#![cfg(loom)]

use gmp_core::{go, sleep, synctest, time};
use std::time::Duration;

#[test]
fn the_clock_jumps_to_each_timer_in_turn() {
    loom::model(|| {
        let (early, late) = synctest::test(|| {
            let start = time::now();
            let h = go(move || {
                sleep(Duration::from_secs(1));
                time::now() - start
            });
            sleep(Duration::from_secs(2));
            (h.join().unwrap(), time::now() - start)
        });
        assert_eq!(early, Duration::from_secs(1));
        assert_eq!(late, Duration::from_secs(2));
    });
}

#[test]
fn wait_is_released_when_the_other_goroutine_parks() {
    loom::model(|| {
        let waited = synctest::test(|| {
            let start = time::now();
            let h = go(|| sleep(Duration::from_secs(5)));
            synctest::wait();
            // The sleeper is durably blocked and the clock has not moved.
            let waited = time::now() - start;
            h.join().unwrap();
            waited
        });
        assert_eq!(waited, Duration::ZERO);
    });
}
