//! Panics that report a misuse point at the caller's file, not at gmp's source
//! (`#[track_caller]`), as Go's tracebacks name the caller. One test per binary: it swaps
//! the process's panic hook.

use gmp_core::__private::panic_location as location_of_panic;
use gmp_sync::{Semaphore, WaitGroup};

#[test]
fn misuse_panics_name_the_callers_file() {
    let wg = WaitGroup::new();
    assert_eq!(location_of_panic(|| wg.done()), file!());
    let wg = WaitGroup::new();
    assert_eq!(location_of_panic(|| wg.add(-1)), file!());
    let sem = Semaphore::new(1);
    assert_eq!(location_of_panic(|| sem.acquire(2)), file!());
    assert_eq!(location_of_panic(|| sem.release(1)), file!());
    assert_eq!(
        location_of_panic(|| Semaphore::new(usize::MAX).release(0)),
        file!()
    );
}
