//! Panics that report a misuse point at the caller's file, not at gmp's source
//! (`#[track_caller]`). One test per binary: it swaps the process's panic hook.

use gmp_chan::time::{self, Ticker};
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
