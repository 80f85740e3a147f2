//! loom models of the futures: a future's registration racing the wake-up that should find
//! it (buffered, unbuffered, async on both ends, close, a replaced waker), and a future
//! dropped while pending racing its peer (nothing lost, nothing delivered twice, a
//! notification passed on). The executor parks a loom thread, so a lost wake-up is a loom
//! deadlock.
#![cfg(loom)]

use gmp_chan::{chan, SendError, TryRecvError};
use loom::thread;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Wakes a loom thread.
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn thread_waker() -> Waker {
    Waker::from(Arc::new(Unpark(thread::current())))
}

/// Polls `f`, parking the loom thread while it is pending.
fn block_on<F: Future>(f: F) -> F::Output {
    let waker = thread_waker();
    let mut f = pin!(f);
    loop {
        match f.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(v) => return v,
            Poll::Pending => thread::park(),
        }
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

/// The receive's check-then-register against a buffered send's push-then-notify.
#[test]
fn receive_registration_races_a_buffered_send() {
    loom::model(|| {
        let ch = chan::<i32>(1);
        let tx = ch.clone();
        let t = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(block_on(ch.recv_async()), Some(1));
        t.join().unwrap();
        assert_eq!(ch.__queued(), (0, 0));
    });
}

/// Unbuffered: a blocking sender that starts to wait in sendq must notify the future.
#[test]
fn receive_registration_races_a_parking_sender() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let tx = ch.clone();
        let t = thread::spawn(move || tx.send(7));
        assert_eq!(block_on(ch.recv_async()), Some(7));
        assert_eq!(t.join().unwrap(), Ok(()));
        assert_eq!(ch.__queued(), (0, 0));
    });
}

/// Async on both ends of a rendezvous: neither parks, one must find the other.
#[test]
fn async_send_meets_async_receive_unbuffered() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let tx = ch.clone();
        let t = thread::spawn(move || block_on(tx.send_async(3)));
        assert_eq!(block_on(ch.recv_async()), Some(3));
        assert_eq!(t.join().unwrap(), Ok(()));
        assert_eq!(ch.__queued(), (0, 0));
    });
}

/// A send future against a parked receiver, and against one that comes later.
#[test]
fn async_send_races_a_blocking_receive() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let rx = ch.clone();
        let t = thread::spawn(move || rx.recv());
        assert_eq!(block_on(ch.send_async(4)), Ok(()));
        assert_eq!(t.join().unwrap(), Some(4));
        assert_eq!(ch.__queued(), (0, 0));
    });
}

/// Close against pending futures: the receive sees `None`, the send gets its value back, and
/// a value is never both delivered and given back.
#[test]
fn close_races_pending_futures() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let (a, b) = (ch.clone(), ch.clone());
        let rt = thread::spawn(move || block_on(a.recv_async()));
        let st = thread::spawn(move || block_on(b.send_async(5)));
        ch.close();
        match (rt.join().unwrap(), st.join().unwrap()) {
            (Some(5), Ok(())) | (None, Err(SendError(5))) => {}
            other => panic!("value lost or duplicated: {other:?}"),
        }
        assert_eq!(ch.__queued(), (0, 0));
    });
}

/// A re-poll with a new waker racing the send that wakes: the wake reaches the new waker,
/// or the re-poll sees the value.
#[test]
fn replaced_waker_races_the_wake() {
    loom::model(|| {
        let ch = chan::<i32>(1);
        let tx = ch.clone();
        let mut f = ch.recv_async();
        assert!(poll_once(&mut f, Waker::noop()).is_pending());
        let t = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(block_on(&mut f), Some(1));
        t.join().unwrap();
    });
}

/// A receive future dropped while a send races it: the value stays in the channel.
#[test]
fn dropped_receive_races_a_send() {
    loom::model(|| {
        let ch = chan::<i32>(1);
        let tx = ch.clone();
        let mut f = ch.recv_async();
        let t = thread::spawn(move || tx.send(2).unwrap());
        match poll_once(&mut f, Waker::noop()) {
            Poll::Ready(v) => {
                assert_eq!(v, Some(2));
                drop(f);
                t.join().unwrap();
                assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
            }
            Poll::Pending => {
                drop(f);
                t.join().unwrap();
                assert_eq!(ch.try_recv(), Ok(2), "the dropped future lost the value");
            }
        }
        assert_eq!(ch.__queued(), (0, 0));
    });
}

/// Two receive futures; the first is dropped after (or while) being notified: the second
/// must still be woken, for a sender parked on an unbuffered channel.
#[test]
fn dropped_notified_receive_passes_the_notification_on() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let mut first = ch.recv_async();
        assert!(poll_once(&mut first, Waker::noop()).is_pending());
        let (tx, rx) = (ch.clone(), ch.clone());
        let sender = thread::spawn(move || tx.send(6));
        let second = thread::spawn(move || block_on(rx.recv_async()));
        drop(first);
        assert_eq!(second.join().unwrap(), Some(6));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

/// A send future dropped while a receiver races it: delivered exactly once, or not at all.
#[test]
fn dropped_send_races_a_receive() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let mut f = ch.send_async(8);
        assert!(poll_once(&mut f, Waker::noop()).is_pending());
        let rx = ch.clone();
        let t = thread::spawn(move || rx.try_recv());
        drop(f);
        let got = t.join().unwrap();
        assert!(matches!(got, Ok(8) | Err(TryRecvError::Empty)), "{got:?}");
        assert_eq!(ch.try_recv(), Err(TryRecvError::Empty), "delivered twice");
        assert_eq!(ch.__queued(), (0, 0));
    });
}
