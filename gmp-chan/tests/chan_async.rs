//! `recv_async` / `send_async`: futures against blocking operations, selects and each other,
//! in goroutines (1 and 2 Ps) and on plain threads; close, drop and waker replacement while
//! pending. Each test names the mutant of the implementation it kills.

use gmp_chan::{chan, select, Chan, RecvFuture, Select, SendError, SendFuture, TrySendError};
use gmp_core::go;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

mod common;
use common::{block_on, on_procs, poll_with, spawn, wait_until, CountingWaker};

const N: usize = 2_000;

/// Runs `f` as the main goroutine of runtimes with 1 and 2 Ps.
fn both<F: Fn() + Send + Sync + Clone + 'static>(f: F) {
    for procs in [1, 2] {
        on_procs(procs, f.clone());
    }
}

/// `N` values from a blocking or async sender task to a blocking or async receiver task
/// (goroutines when called from one, else threads), in order, then the close.
fn stream(cap: usize, async_send: bool, async_recv: bool) {
    let ch = chan::<usize>(cap);
    let tx = ch.clone();
    let sender = spawn(move || {
        for i in 0..N {
            if async_send {
                block_on(tx.send_async(i)).unwrap();
            } else {
                tx.send(i).unwrap();
            }
        }
        tx.close();
    });
    let rx = ch.clone();
    let receiver = spawn(move || {
        let mut next = 0;
        loop {
            let v = if async_recv {
                block_on(rx.recv_async())
            } else {
                rx.recv()
            };
            match v {
                Some(v) => {
                    assert_eq!(v, next, "out of order or duplicated");
                    next += 1;
                }
                None => return next,
            }
        }
    });
    sender.join();
    assert_eq!(receiver.join(), N, "values lost");
    assert_eq!(ch.__queued(), (0, 0), "a registration left behind");
}

fn all_streams() {
    for cap in [0, 1, 4] {
        stream(cap, true, false);
        stream(cap, false, true);
        stream(cap, true, true);
    }
}

/// kills: a sender parked in `sendq` (or buffering) without notifying a pending receive
/// future, a receiver taking a send future's value without waking its waker, and an async
/// sender and receiver that never meet on a rendezvous channel (neither in the other's queue).
#[test]
fn streams_between_goroutines() {
    both(all_streams);
}

/// kills: the same mutants when the wakers unpark plain threads (no scheduler involved).
#[test]
fn streams_between_threads() {
    all_streams();
}

/// kills: a receive future that is woken by a goroutine but registered from a thread (or the
/// reverse) losing the wake-up: the waker must be callable from anywhere.
#[test]
fn goroutines_and_threads_share_a_channel_with_futures() {
    let ch = chan::<usize>(0);
    let tx = ch.clone();
    let g = go(move || {
        for i in 0..N {
            tx.send(i).unwrap();
        }
    });
    let tx = ch.clone();
    let t = std::thread::spawn(move || {
        for i in N..2 * N {
            block_on(tx.send_async(i)).unwrap();
        }
    });
    let mut seen = vec![false; 2 * N];
    for _ in 0..2 * N {
        let v = block_on(ch.recv_async()).unwrap();
        assert!(!seen[v], "{v} received twice");
        seen[v] = true;
    }
    g.join().unwrap();
    t.join().unwrap();
    assert_eq!(ch.__queued(), (0, 0));
}

/// kills: a `select!` whose send case waits in `sendq` without notifying pending receive
/// futures (a select blocked on a send and a receive future pending, for ever), and a
/// `select!` receive case that cannot take a send future's value.
#[test]
fn futures_against_select() {
    both(|| {
        for cap in [0, 2] {
            let ch = chan::<usize>(cap);
            let other = chan::<usize>(0);
            let (tx, o) = (ch.clone(), other.clone());
            let g = go(move || {
                for i in 0..200 {
                    select! {
                        send(tx, i) -> r => r.unwrap(),
                        recv(o) -> _ => unreachable!(),
                    }
                }
            });
            for i in 0..200 {
                assert_eq!(block_on(ch.recv_async()), Some(i));
            }
            g.join().unwrap();

            let rx = ch.clone();
            let g = go(move || {
                (0..200)
                    .map(|_| {
                        select! {
                            recv(rx) -> v => v.unwrap(),
                            recv(other) -> _ => unreachable!(),
                        }
                    })
                    .sum::<usize>()
            });
            for i in 0..200 {
                block_on(ch.send_async(i)).unwrap();
            }
            assert_eq!(g.join().unwrap(), (0..200).sum());
        }
    });
}

/// kills: a buffered send that does not notify a pending receive future (its value sits in
/// the buffer while the future waits for ever), and a wake delivered before the register.
#[test]
fn buffered_send_wakes_the_pending_receive() {
    let ch = chan::<i32>(2);
    let (waker, count) = CountingWaker::new();
    let mut f = ch.recv_async();
    assert!(poll_with(&mut f, &waker).is_pending());
    assert_eq!(ch.__queued(), (1, 0));
    ch.send(1).unwrap();
    assert_eq!(count.wakes(), 1);
    assert_eq!(poll_with(&mut f, &waker), Poll::Ready(Some(1)));
    assert_eq!(ch.__queued(), (0, 0));

    // Ready at once when a value is there: no registration.
    ch.send(2).unwrap();
    let mut f = ch.recv_async();
    assert_eq!(poll_with(&mut f, Waker::noop()), Poll::Ready(Some(2)));
}

/// kills: a dropped receive future swallowing the value it was told about (the value handed
/// to it and freed with it).
#[test]
fn dropped_notified_receive_loses_nothing() {
    for cap in [0, 1] {
        let ch = chan::<i32>(cap);
        let (waker, count) = CountingWaker::new();
        let mut f = ch.recv_async();
        assert!(poll_with(&mut f, &waker).is_pending());
        let tx = ch.clone();
        let t = std::thread::spawn(move || tx.send(7));
        // The sender notifies us (and, cap 0, waits in sendq).
        wait_until("the sender notifies", || count.wakes() == 1);
        drop(f);
        assert_eq!(ch.recv(), Some(7));
        assert_eq!(t.join().unwrap(), Ok(()));
        assert_eq!(ch.__queued(), (0, 0));
    }
}

/// kills: a dropped, notified receive future not passing the notification on: the next
/// waiting future sleeps for ever while a value is buffered (or a sender waits, unbuffered).
#[test]
fn dropped_notified_receive_passes_the_notification_on() {
    for cap in [0, 1] {
        let ch = chan::<i32>(cap);
        let (wa, ca) = CountingWaker::new();
        let (wb, cb) = CountingWaker::new();
        let mut a = ch.recv_async();
        let mut b = ch.recv_async();
        assert!(poll_with(&mut a, &wa).is_pending());
        assert!(poll_with(&mut b, &wb).is_pending());
        let tx = ch.clone();
        let t = std::thread::spawn(move || tx.send(9));
        wait_until("the sender notifies", || ca.wakes() == 1);
        assert_eq!(cb.wakes(), 0, "only the first waiting future is told");
        drop(a);
        assert_eq!(cb.wakes(), 1, "the notification passed on");
        assert_eq!(poll_with(&mut b, &wb), Poll::Ready(Some(9)));
        assert_eq!(t.join().unwrap(), Ok(()));
    }
}

/// kills: a dropped pending send future leaving its entry in `sendq` (a receiver would read
/// a freed record), or its value delivered after the drop.
#[test]
fn dropped_pending_send_withdraws_its_value() {
    let ch = chan::<String>(0);
    let mut f = ch.send_async("gone".to_string());
    assert!(poll_with(&mut f, Waker::noop()).is_pending());
    assert_eq!(ch.__queued(), (0, 1));
    drop(f);
    assert_eq!(ch.__queued(), (0, 0));
    assert!(ch.try_recv().is_err());

    // Full buffer: the same.
    let ch = chan::<i32>(1);
    ch.send(1).unwrap();
    let mut f = ch.send_async(2);
    assert!(poll_with(&mut f, Waker::noop()).is_pending());
    drop(f);
    assert_eq!(ch.recv(), Some(1));
    assert!(ch.try_recv().is_err());
}

/// kills: a send future that reports an error (or offers its value again) after a receiver
/// took the value: delivered once, reported `Ok`, and a later drop changes nothing.
#[test]
fn taken_send_reports_ok_once() {
    let ch = chan::<i32>(0);
    let (waker, count) = CountingWaker::new();
    let mut f = ch.send_async(5);
    assert!(poll_with(&mut f, &waker).is_pending());
    assert_eq!(ch.try_recv(), Ok(5)); // a non-blocking receive takes a waiting send's value
    assert_eq!(count.wakes(), 1);
    assert_eq!(poll_with(&mut f, &waker), Poll::Ready(Ok(())));
    drop(f);
    assert!(ch.try_recv().is_err());

    // Taken, then dropped without the final poll: still exactly once.
    let mut f = ch.send_async(6);
    assert!(poll_with(&mut f, &waker).is_pending());
    assert_eq!(ch.try_recv(), Ok(6));
    drop(f);
    assert!(ch.try_recv().is_err());
    assert_eq!(ch.__queued(), (0, 0));
}

/// kills: `close` leaving pending futures asleep, a receive future reporting `None` before
/// the buffer is drained, and a closed send that loses its value instead of giving it back.
#[test]
fn close_wakes_pending_futures() {
    let ch = chan::<i32>(0);
    let (wr, cr) = CountingWaker::new();
    let (ws, cs) = CountingWaker::new();
    let mut r = ch.recv_async();
    assert!(poll_with(&mut r, &wr).is_pending());
    let other = chan::<i32>(0);
    let mut s = other.send_async(3);
    assert!(poll_with(&mut s, &ws).is_pending());
    assert!(ch.close() && other.close());
    assert_eq!((cr.wakes(), cs.wakes()), (1, 1));
    assert_eq!(poll_with(&mut r, &wr), Poll::Ready(None));
    assert_eq!(poll_with(&mut s, &ws), Poll::Ready(Err(SendError(3))));

    // Buffered: drained first, then `None`.
    let ch = chan::<i32>(2);
    let mut r = ch.recv_async();
    assert!(poll_with(&mut r, &wr).is_pending());
    ch.send(1).unwrap();
    ch.close();
    assert_eq!(poll_with(&mut r, &wr), Poll::Ready(Some(1)));
    assert_eq!(block_on(ch.recv_async()), None);
    assert_eq!(block_on(ch.send_async(4)), Err(SendError(4)));
}

/// kills: close racing parked futures on threads: a wake-up lost, or a value both delivered
/// and given back.
#[test]
fn close_while_futures_wait_on_threads() {
    for _ in 0..50 {
        let ch = chan::<usize>(0);
        let senders: Vec<_> = (0..3)
            .map(|i| {
                let tx = ch.clone();
                std::thread::spawn(move || block_on(tx.send_async(i)))
            })
            .collect();
        let rx = ch.clone();
        let receiver = std::thread::spawn(move || block_on(rx.recv_async()));
        std::thread::sleep(Duration::from_micros(200));
        ch.close();
        let got = receiver.join().unwrap();
        let sent: Vec<_> = senders.into_iter().map(|t| t.join().unwrap()).collect();
        let oks: Vec<usize> = (0..3).filter(|&i| sent[i].is_ok()).collect();
        match got {
            Some(v) => assert_eq!(oks, [v], "{sent:?}"),
            None => assert!(oks.is_empty(), "{sent:?}"),
        }
    }
}

/// kills: a re-poll with another waker keeping the first (the task that moved is never
/// woken), for both futures.
#[test]
fn a_new_waker_replaces_the_old() {
    let ch = chan::<i32>(0);
    let (w1, c1) = CountingWaker::new();
    let (w2, c2) = CountingWaker::new();
    let mut r = ch.recv_async();
    assert!(poll_with(&mut r, &w1).is_pending());
    assert!(poll_with(&mut r, &w2).is_pending());
    let mut s = ch.send_async(1); // waits in sendq and notifies the receive
    assert!(poll_with(&mut s, &w1).is_pending());
    assert_eq!((c1.wakes(), c2.wakes()), (0, 1));
    assert!(poll_with(&mut s, &w2).is_pending());
    assert_eq!(poll_with(&mut r, &w1), Poll::Ready(Some(1)));
    assert_eq!(
        (c1.wakes(), c2.wakes()),
        (0, 2),
        "the send's new waker woken"
    );
    assert_eq!(poll_with(&mut s, &w2), Poll::Ready(Ok(())));
}

/// kills: a dynamic select that returns an unread value to the buffer without notifying a
/// pending receive future.
#[test]
fn a_value_returned_by_select_wakes_a_pending_receive() {
    let ch = chan::<i32>(1);
    ch.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&ch);
    let op = sel.select();
    let (waker, count) = CountingWaker::new();
    let mut f = ch.recv_async();
    assert!(poll_with(&mut f, &waker).is_pending());
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(op)));
    assert_eq!(count.wakes(), 1);
    assert_eq!(poll_with(&mut f, &waker), Poll::Ready(Some(1)));
}

/// kills: a pending receive future taken for a rendezvous partner by `try_send` (the value
/// would have to be handed to a future that may be dropped): it is not, and a send that waits
/// meets it.
#[test]
fn try_send_does_not_rendezvous_with_a_pending_future() {
    let ch = chan::<i32>(0);
    let (waker, count) = CountingWaker::new();
    let mut f = ch.recv_async();
    assert!(poll_with(&mut f, &waker).is_pending());
    assert_eq!(ch.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(count.wakes(), 0);
    let tx = ch.clone();
    let t = std::thread::spawn(move || tx.send(2));
    assert_eq!(block_on(&mut f), Some(2));
    assert_eq!(t.join().unwrap(), Ok(()));
}

/// kills: dropping a withdrawn value (or a waker) while holding the channel lock: a value
/// whose drop uses the same channel would deadlock.
#[test]
fn values_are_dropped_without_the_lock() {
    struct Reentrant(Chan<Reentrant>, Arc<AtomicUsize>);
    impl Drop for Reentrant {
        fn drop(&mut self) {
            let _ = self.0.len(); // takes the channel lock
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
    let ch = chan::<Reentrant>(0);
    let drops = Arc::new(AtomicUsize::new(0));
    let mut f = ch.send_async(Reentrant(ch.clone(), drops.clone()));
    assert!(poll_with(&mut f, Waker::noop()).is_pending());
    drop(f);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// kills: futures that are not `Send` (a raw pointer to the record without its `Send`
/// impl), which tokio's `spawn` would refuse.
#[test]
fn futures_are_send_and_unpin() {
    fn send_unpin<F: Send + Unpin>(_: &F) {}
    let ch = chan::<String>(1);
    let r: RecvFuture<'_, String> = ch.recv_async();
    let s: SendFuture<'_, String> = ch.send_async(String::new());
    send_unpin(&r);
    send_unpin(&s);
    let rx = ch.receiver();
    let tx = ch.sender();
    send_unpin(&rx.recv_async());
    send_unpin(&tx.send_async(String::new()));
}

/// kills: a future that receives or sends a second time when polled after it returned
/// `Ready` (it panics instead, as an `async fn` does).
#[test]
fn polled_after_completion_panics() {
    let ch = chan::<i32>(1);
    ch.send(1).unwrap();
    let mut f = ch.recv_async();
    assert_eq!(poll_with(&mut f, Waker::noop()), Poll::Ready(Some(1)));
    ch.send(2).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_with(&mut f, Waker::noop())
    }));
    assert!(r.is_err());
    assert_eq!(ch.recv(), Some(2));
}
