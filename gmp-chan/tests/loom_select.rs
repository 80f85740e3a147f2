//! loom models of select: the per-select claim lets exactly one case win, the other value
//! stays in its channel; a select racing close; selects on both ends.
#![cfg(loom)]

use gmp_chan::{chan, select, SendError};
use loom::thread;

#[test]
fn select_over_two_channels_racing_two_senders() {
    loom::model(|| {
        let a = chan::<i32>(1);
        let b = chan::<i32>(1);
        let (aa, bb) = (a.clone(), b.clone());
        let ta = thread::spawn(move || aa.send(1).unwrap());
        let tb = thread::spawn(move || bb.send(2).unwrap());
        let got = select! {
            recv(a) -> v => v.unwrap(),
            recv(b) -> v => v.unwrap(),
        };
        ta.join().unwrap();
        tb.join().unwrap();
        // Exactly one case won; the other value remains in its channel.
        let (left_a, left_b) = (a.try_recv().ok(), b.try_recv().ok());
        match got {
            1 => assert_eq!((left_a, left_b), (None, Some(2))),
            2 => assert_eq!((left_a, left_b), (Some(1), None)),
            _ => unreachable!(),
        }
        assert_eq!((a.__queued(), b.__queued()), ((0, 0), (0, 0)));
    });
}

#[test]
fn select_on_unbuffered_channels_racing_two_senders() {
    loom::model(|| {
        let a = chan::<i32>(0);
        let b = chan::<i32>(0);
        let (aa, bb) = (a.clone(), b.clone());
        let ta = thread::spawn(move || aa.send(1));
        let tb = thread::spawn(move || bb.send(2));
        let got = select! {
            recv(a) -> v => v.unwrap(),
            recv(b) -> v => v.unwrap(),
        };
        // The loser is still blocked; release it by closing its channel.
        if got == 1 {
            b.close();
            assert_eq!(tb.join().unwrap(), Err(SendError(2)));
            assert_eq!(ta.join().unwrap(), Ok(()));
        } else {
            a.close();
            assert_eq!(ta.join().unwrap(), Err(SendError(1)));
            assert_eq!(tb.join().unwrap(), Ok(()));
        }
    });
}

#[test]
fn select_sender_meets_select_receiver() {
    loom::model(|| {
        let a = chan::<i32>(0);
        let b = chan::<i32>(0);
        let (aa, bb) = (a.clone(), b.clone());
        let t = thread::spawn(move || {
            select! {
                send(aa, 1) -> r => { r.unwrap(); 'a' },
                send(bb, 2) -> r => { r.unwrap(); 'b' },
            }
        });
        let got = select! {
            recv(a) -> v => (v, 'a'),
            recv(b) -> v => (v, 'b'),
        };
        let sent = t.join().unwrap();
        assert_eq!(got.1, sent);
        assert_eq!(got.0, Some(if sent == 'a' { 1 } else { 2 }));
        assert_eq!((a.__queued(), b.__queued()), ((0, 0), (0, 0)));
    });
}

#[test]
fn select_racing_close() {
    loom::model(|| {
        let a = chan::<i32>(0);
        let b = chan::<i32>(1);
        let (aa, bb) = (a.clone(), b.clone());
        let t = thread::spawn(move || {
            select! {
                recv(aa) -> v => v,
                recv(bb) -> v => v,
            }
        });
        b.send(5).unwrap();
        a.close();
        let got = t.join().unwrap();
        // Either the value from b, or a's close (then 5 stays in b).
        match got {
            Some(5) => assert_eq!(b.len(), 0),
            None => assert_eq!(b.try_recv(), Ok(5)),
            other => panic!("{other:?}"),
        }
    });
}
