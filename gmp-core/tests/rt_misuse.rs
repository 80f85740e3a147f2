//! Panics that report a misuse point at the caller's file, not at gmp's source
//! (`#[track_caller]`). One test per binary: it swaps the process's panic hook.

use gmp_core::time::Timer;
use std::sync::Mutex;
use std::time::Duration;

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
