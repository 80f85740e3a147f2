//! `time::tick`'s ticker stops once every receiver of its channel is gone (Go 1.23 collects
//! an unreferenced ticker): it must not fire for ever with nobody to receive. Alone in its
//! test binary, since it counts the timer states alive in the process.

use gmp_chan::time;
use std::time::{Duration, Instant};

#[test]
fn a_tick_whose_receivers_are_all_gone_stops() {
    let before = gmp_chan::__private::live_timer_states();
    let ticks = time::tick(Duration::from_millis(1));
    let other = ticks.clone();
    assert_eq!(gmp_chan::__private::live_timer_states(), before + 1);
    assert!(other.recv().is_some());
    drop(ticks);
    // One receiver left: it still ticks.
    assert!(other.recv().is_some());
    drop(other);
    // The next firing sees no receiver, stops the ticker and frees its state.
    let deadline = Instant::now() + Duration::from_secs(10);
    while gmp_chan::__private::live_timer_states() != before {
        assert!(Instant::now() < deadline, "the ticker still runs");
        std::thread::sleep(Duration::from_millis(1));
    }
}
