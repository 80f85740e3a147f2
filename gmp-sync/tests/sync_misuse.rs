//! Panics that report a misuse point at the caller's file, not at gmp's source
//! (`#[track_caller]`), as Go's tracebacks name the caller. One test per binary: it swaps
//! the process's panic hook.

use gmp_sync::{Semaphore, WaitGroup};
use std::sync::Mutex;

/// The file the panic of `f` says it happened in, caught by a panic hook.
fn location_of_panic(f: impl FnOnce()) -> String {
    static LOC: Mutex<Option<String>> = Mutex::new(None);
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        *LOC.lock().unwrap() = info.location().map(|l| l.file().to_string());
    }));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(prev);
    assert!(r.is_err(), "no panic");
    LOC.lock().unwrap().take().expect("the hook saw the panic")
}

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
