//! Panics that report a misuse point at the caller's file, not at gmp's source
//! (`#[track_caller]`). One test per binary: it swaps the process's panic hook.

use gmp_chan::time::{self, Ticker};
use gmp_core::__private::panic_location as location_of_panic;
use std::time::Duration;

#[test]
fn misuse_panics_name_the_callers_file() {
    assert_eq!(
        location_of_panic(|| drop(time::tick(Duration::ZERO))),
        file!()
    );
    assert_eq!(
        location_of_panic(|| drop(Ticker::new(Duration::ZERO))),
        file!()
    );
    let t = Ticker::new(Duration::from_secs(3600));
    assert_eq!(location_of_panic(|| t.reset(Duration::ZERO)), file!());
    assert_eq!(
        location_of_panic(|| drop(gmp_chan::chan::<u64>(usize::MAX))),
        file!()
    );
}
