//! Panics that report a misuse point at the caller's file, not at gmp's source
//! (`#[track_caller]`). One test per binary: it swaps the process's panic hook.

use gmp_core::__private::panic_location as location_of_panic;
use gmp_core::time::Timer;
use std::time::Duration;

#[test]
fn misuse_panics_name_the_callers_file() {
    assert_eq!(location_of_panic(|| gmp_core::goexit()), file!());
    let zero = || {
        drop(Timer::inline_periodic(
            Duration::ZERO,
            Duration::ZERO,
            || {},
        ))
    };
    assert_eq!(location_of_panic(zero), file!());
    let t = Timer::inline_periodic(Duration::from_secs(3600), Duration::from_secs(1), || {});
    let reset = || {
        let _ = t.reset(Duration::ZERO);
    };
    assert_eq!(location_of_panic(reset), file!());
    t.stop();
}
