//! loom models of the channel protocols: hand-off, a blocked sender behind a full buffer,
//! close racing parked parties, try_* against blocking operations, timeouts racing a peer.
//! Under loom a goroutine is a loom thread and `park_deadline` times out at once.
#![cfg(loom)]

use gmp_chan::{chan, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use loom::thread;
use std::time::Duration;

#[test]
fn unbuffered_hand_off() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let tx = ch.clone();
        let t = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(ch.recv(), Some(7));
        t.join().unwrap();
        assert_eq!(ch.__queued(), (0, 0));
    });
}

#[test]
fn buffered_cap1_with_blocked_sender() {
    loom::model(|| {
        let ch = chan::<i32>(1);
        ch.send(1).unwrap();
        let tx = ch.clone();
        let t = thread::spawn(move || tx.send(2).unwrap());
        assert_eq!(ch.recv(), Some(1));
        assert_eq!(ch.recv(), Some(2));
        t.join().unwrap();
        assert_eq!(ch.len(), 0);
    });
}

#[test]
fn close_races_parked_sender_and_receiver() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let (r, s) = (ch.clone(), ch.clone());
        let rt = thread::spawn(move || r.recv());
        let st = thread::spawn(move || s.send(5));
        ch.close();
        let got = rt.join().unwrap();
        let sent = st.join().unwrap();
        match got {
            // Delivered before the close: the sender succeeded.
            Some(5) => assert_eq!(sent, Ok(())),
            // The receiver saw the close; the value went back to the sender.
            None => assert_eq!(sent, Err(SendError(5))),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(ch.__queued(), (0, 0));
    });
}

#[test]
fn close_wakes_parked_receivers_of_buffered_channel() {
    loom::model(|| {
        let ch = chan::<i32>(1);
        let (a, b) = (ch.clone(), ch.clone());
        let ta = thread::spawn(move || a.recv());
        let tb = thread::spawn(move || b.recv());
        ch.send(1).unwrap();
        ch.close();
        let mut got = [ta.join().unwrap(), tb.join().unwrap()];
        got.sort();
        assert_eq!(got, [None, Some(1)]);
    });
}

#[test]
fn try_send_against_blocking_recv() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let r = ch.clone();
        let t = thread::spawn(move || r.recv());
        match ch.try_send(1) {
            Ok(()) => {}
            Err(TrySendError::Full(v)) => ch.send(v).unwrap(),
            Err(e) => panic!("{e:?}"),
        }
        assert_eq!(t.join().unwrap(), Some(1));
    });
}

#[test]
fn try_recv_against_blocking_send() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let s = ch.clone();
        let t = thread::spawn(move || s.send(3).unwrap());
        let v = match ch.try_recv() {
            Ok(v) => v,
            Err(TryRecvError::Empty) => ch.recv().unwrap(),
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(v, 3);
        t.join().unwrap();
    });
}

#[test]
fn timeouts_race_the_peer_without_losing_the_value() {
    loom::model(|| {
        let ch = chan::<i32>(0);
        let s = ch.clone();
        let t = thread::spawn(move || s.send_timeout(9, Duration::from_millis(1)));
        let got = ch.recv_timeout(Duration::from_millis(1));
        let sent = t.join().unwrap();
        match (got, sent) {
            (Ok(9), Ok(())) => {}
            (Err(RecvTimeoutError::Timeout), Err(SendTimeoutError::Timeout(9))) => {}
            other => panic!("value lost or duplicated: {other:?}"),
        }
        assert_eq!(ch.__queued(), (0, 0));
    });
}
