//! loom: the poller hand-over of the real scheduler (Go: findRunnable's blocking `netpoll`,
//! `wakeNetPoller`, `netpollBreak`), with its Ms as loom threads.
//!
//! With nothing to run and a timer pending, one M sleeps in the poller until the earliest
//! timer; the others stop. Checked in every interleaving:
//!
//! - at most one M is in the poller at a time (`netpoll_block` asserts it);
//! - a goroutine made runnable while the poller sleeps is run (by another M): not lost;
//! - a timer earlier than the poller's deadline breaks the poll: not lost either.
//!
//! loom has no clock: a timed wait of an hour or more never times out in a model (it stands
//! for "the timer has not fired yet"), and a shorter one times out at once. So a lost wake-up
//! shows as a loom deadlock rather than as a late timeout. No netpoll instance exists in
//! these models (epoll cannot be model-checked): the poller M sleeps on its note, which is
//! what `break_poller` wakes in both cases.
#![cfg(loom)]

use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{time, Runtime};
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use std::time::Duration;

/// Longer than the models' "never fires" horizon.
const FOREVER: Duration = Duration::from_secs(2 * 3600);

fn runtime() -> Runtime {
    Runtime::builder()
        .procs(1)
        .deadlock_detection(false)
        .build()
        .unwrap()
}

/// A goroutine that publishes its unparker, then sleeps with a far deadline (so an M waits
/// in the poller for its timer) until `done` is set.
fn far_sleeper(rt: &Runtime, done: &Arc<AtomicBool>) -> (gmp_core::JoinHandle<()>, Unparker) {
    let slot: Arc<Mutex<Option<Unparker>>> = Arc::new(Mutex::new(None));
    let (s, d) = (slot.clone(), done.clone());
    let h = rt.go(move || {
        *s.lock().unwrap() = Some(park::current());
        while !d.load(SeqCst) {
            park::park_deadline(WaitReason::Sleep, time::now() + FOREVER);
        }
    });
    let u = loop {
        if let Some(u) = slot.lock().unwrap().take() {
            break u;
        }
        loom::thread::yield_now();
    };
    (h, u)
}

#[test]
fn wake_up_while_an_m_sleeps_in_the_poller_is_not_lost() {
    loom::model(|| {
        let rt = runtime();
        let done = Arc::new(AtomicBool::new(false));
        let (h, u) = far_sleeper(&rt, &done);
        // The goroutine is parked, or about to park, and its M is heading for the poller.
        done.store(true, SeqCst);
        u.unpark();
        h.join().unwrap();
        drop(rt);
    });
}

#[test]
fn earlier_timer_breaks_the_poll() {
    loom::model(|| {
        let rt = runtime();
        let done = Arc::new(AtomicBool::new(false));
        let (far, u) = far_sleeper(&rt, &done);
        // A timer due long before the poller's deadline: its goroutine must wake.
        let near = rt.go(|| gmp_core::sleep(Duration::from_millis(1)));
        near.join().unwrap();
        done.store(true, SeqCst);
        u.unpark();
        far.join().unwrap();
        drop(rt);
    });
}
