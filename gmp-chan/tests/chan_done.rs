//! `gmp_chan::done(&handle)`: a goroutine's end as a `select!` operand. Run on plain threads
//! and in goroutines on 1 and 2 Ps; each test names the mutant it kills.

mod common;

use common::on_procs;
use gmp_chan::{chan, done, select, TryRecvError};
use gmp_core::{go, sleep};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

fn everywhere(test: fn()) {
    test();
    for procs in [1, 2] {
        on_procs(procs, test);
    }
}

/// Kills: a done channel that closes before the goroutine ends, or never.
#[test]
fn done_closes_when_the_goroutine_ends_and_not_before() {
    everywhere(|| {
        let go_on = Arc::new(AtomicBool::new(false));
        let g2 = go_on.clone();
        let h = go(move || {
            while !g2.load(SeqCst) {
                sleep(Duration::from_millis(1));
            }
            5
        });
        let d = done(&h);
        assert_eq!(d.try_recv(), Err(TryRecvError::Empty));
        go_on.store(true, SeqCst);
        assert_eq!(d.recv(), None);
        assert!(h.is_finished());
        assert_eq!(h.join().unwrap(), 5);
    });
}

/// `select!` waits for whichever comes first: a value or the end of the goroutine.
/// Kills: a done operand that a select cannot wait on (no wake-up at the close).
#[test]
fn select_waits_on_a_goroutines_end_next_to_a_channel() {
    everywhere(|| {
        let values = chan::<u32>(0);
        let h = go(|| sleep(Duration::from_millis(5)));
        let finished = done(&h);
        select! {
            recv(values) -> v => panic!("nothing is sent, got {v:?}"),
            recv(finished) -> v => assert_eq!(v, None),
        }
        h.join().unwrap();
    });
}

/// Kills: skipping the close when the handle was dropped first, or when the goroutine
/// panicked; and a done on a finished goroutine that never closes.
#[test]
fn done_closes_after_a_panic_a_dropped_handle_or_an_earlier_end() {
    everywhere(|| {
        let h = go(|| -> () {
            sleep(Duration::from_millis(2));
            panic!("done boom");
        });
        let d1 = done(&h);
        let d2 = done(&h);
        assert!(h.join().is_err());
        assert_eq!(d1.recv(), None);
        assert_eq!(d2.recv(), None);

        let release = Arc::new(AtomicBool::new(false));
        let r2 = release.clone();
        let h = go(move || {
            while !r2.load(SeqCst) {
                sleep(Duration::from_millis(1));
            }
        });
        let d = done(&h);
        drop(h);
        release.store(true, SeqCst);
        assert_eq!(d.recv(), None);

        let h = go(|| ());
        while !h.is_finished() {
            sleep(Duration::from_millis(1));
        }
        assert_eq!(done(&h).try_recv(), Err(TryRecvError::Closed));
        h.join().unwrap();
    });
}
