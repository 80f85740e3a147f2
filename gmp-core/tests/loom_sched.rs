//! loom: the real scheduler, with its Ms as loom threads. A goroutine made runnable is always
//! run (the spinning/idle wake protocol never leaves work behind a sleeping M), its result
//! reaches `join`, and shutdown stops every M. A lost wake-up shows up as a loom deadlock.
#![cfg(loom)]

use gmp_core::Runtime;

#[test]
fn spawn_from_outside_is_run_and_joined() {
    loom::model(|| {
        let rt = Runtime::builder()
            .procs(2)
            .deadlock_detection(false)
            .build()
            .unwrap();
        let h = rt.go(|| 7);
        assert_eq!(h.join().unwrap(), 7);
        drop(rt);
    });
}

#[test]
fn goroutine_spawns_goroutine_on_two_ps() {
    loom::model(|| {
        let rt = Runtime::builder()
            .procs(2)
            .deadlock_detection(false)
            .build()
            .unwrap();
        let h = rt.go(|| gmp_core::go(|| 5).join().unwrap() + 1);
        assert_eq!(h.join().unwrap(), 6);
        drop(rt);
    });
}
