//! loom model of the poll descriptor's wait protocol (Go: `netpollblock`/`netpollunblock`):
//! readiness that arrives at any point between an operation's `WouldBlock` and the waiter's
//! park is never lost, with one or two waiters on the same direction. (With two waiters, the
//! first design, a `pdReady` bit instead of a sequence number, lost a wake-up here.)
//!
//! Run: `RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2
//! cargo test --release -p gmp-core --test loom_netpoll`
#![cfg(loom)]

use gmp_core::__private::PollWait;
use gmp_core::park::{self, WaitReason};
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// A socket modelled by a counter of readable bytes: the "operation" takes one if there is one
/// (else `WouldBlock`), and the "kernel" adds one and delivers an edge (Go: `netpollready`).
fn read_one(data: &AtomicUsize) -> bool {
    data.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// The waiter's side of `NetFd::io_loop` + `PollDesc::netpollblock`.
fn blocking_read(data: &AtomicUsize, pw: &PollWait) {
    loop {
        let snapshot = pw.snapshot();
        if read_one(data) {
            return;
        }
        let me = park::current();
        if pw.prepare(&me, snapshot) {
            continue; // readiness was pending: retry
        }
        park::park(WaitReason::IoWait);
        pw.finish(&me);
    }
}

fn edge(data: &AtomicUsize, pw: &PollWait) {
    data.fetch_add(1, SeqCst);
    let mut ready = Vec::new();
    pw.netpollunblock(&mut ready);
    for u in ready {
        u.unpark();
    }
}

#[test]
fn readiness_between_would_block_and_park_is_not_lost() {
    loom::model(|| {
        let data = Arc::new(AtomicUsize::new(0));
        let pw = Arc::new(PollWait::default());
        let (d, p) = (data.clone(), pw.clone());
        let kernel = thread::spawn(move || edge(&d, &p));
        blocking_read(&data, &pw); // a lost wake-up shows as a loom deadlock
        kernel.join().unwrap();
        assert_eq!(data.load(SeqCst), 0);
    });
}

#[test]
fn two_waiters_two_edges() {
    loom::model(|| {
        let data = Arc::new(AtomicUsize::new(0));
        let pw = Arc::new(PollWait::default());
        let (d, p) = (data.clone(), pw.clone());
        let other = thread::spawn(move || blocking_read(&d, &p));
        let (d, p) = (data.clone(), pw.clone());
        let kernel = thread::spawn(move || {
            edge(&d, &p);
            edge(&d, &p);
        });
        blocking_read(&data, &pw);
        other.join().unwrap();
        kernel.join().unwrap();
        assert_eq!(data.load(SeqCst), 0);
    });
}
