//! Channel basics on plain threads: buffering, rendezvous, FIFO, close, len/cap, iterators,
//! views, errors, timeouts, drops.

use gmp_chan::{
    chan, Chan, Receiver, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn buffered_fifo_and_len_cap() {
    let ch = chan(3);
    assert_eq!((ch.len(), ch.cap(), ch.is_empty()), (0, 3, true));
    for i in 0..3 {
        ch.send(i).unwrap();
    }
    assert_eq!(ch.len(), 3);
    assert_eq!(ch.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(
        (ch.recv(), ch.recv(), ch.recv()),
        (Some(0), Some(1), Some(2))
    );
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn unbuffered_is_a_rendezvous() {
    let ch = chan::<i32>(0);
    assert_eq!(ch.try_send(1), Err(TrySendError::Full(1)));
    let taken = Arc::new(AtomicUsize::new(0));
    let (c, t) = (ch.clone(), taken.clone());
    let h = thread::spawn(move || {
        c.send(5).unwrap();
        // The send returned, so the receiver must have taken the value.
        assert_eq!(t.load(Ordering::SeqCst), 1);
    });
    // The sender blocks in sendq until we receive.
    while ch.__queued() != (0, 1) {
        thread::yield_now();
    }
    taken.store(1, Ordering::SeqCst);
    assert_eq!(ch.recv(), Some(5));
    h.join().unwrap();
}

#[test]
fn blocked_sender_values_keep_fifo_after_buffer() {
    let ch = chan::<usize>(1);
    ch.send(0).unwrap();
    let mut hs = Vec::new();
    for i in 1..=3 {
        let c = ch.clone();
        hs.push(thread::spawn(move || c.send(i).unwrap()));
        // Let each sender queue before the next (FIFO of waiters).
        while ch.__queued().1 < i {
            thread::yield_now();
        }
    }
    let got: Vec<usize> = (0..4).map(|_| ch.recv().unwrap()).collect();
    assert_eq!(got, [0, 1, 2, 3]);
    for h in hs {
        h.join().unwrap();
    }
}

#[test]
fn receivers_are_served_fifo() {
    let ch = chan::<i32>(0);
    let out = chan::<(usize, i32)>(3);
    let mut hs = Vec::new();
    for id in 0..3 {
        let (c, o) = (ch.clone(), out.clone());
        hs.push(thread::spawn(move || {
            o.send((id, c.recv().unwrap())).unwrap()
        }));
        while ch.__queued().0 < id + 1 {
            thread::yield_now();
        }
    }
    for v in 10..13 {
        ch.send(v).unwrap();
    }
    for h in hs {
        h.join().unwrap();
    }
    let mut got: Vec<(usize, i32)> = (0..3).map(|_| out.recv().unwrap()).collect();
    got.sort();
    assert_eq!(got, [(0, 10), (1, 11), (2, 12)]);
}

#[test]
fn close_drains_then_none_and_fails_sends() {
    let ch = chan(2);
    ch.send(1).unwrap();
    assert!(ch.close());
    assert!(!ch.close(), "second close reports false");
    assert!(ch.is_closed());
    assert_eq!(ch.send(2), Err(SendError(2)));
    assert_eq!(ch.try_send(3), Err(TrySendError::Closed(3)));
    assert_eq!(
        ch.send_timeout(4, Duration::from_millis(1)),
        Err(SendTimeoutError::Closed(4))
    );
    assert_eq!(ch.recv(), Some(1));
    assert_eq!(ch.recv(), None);
    assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(
        ch.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn close_wakes_parked_receivers_and_senders() {
    let r = chan::<i32>(0);
    let s = chan::<String>(0);
    let mut hs = Vec::new();
    for _ in 0..3 {
        let c = r.clone();
        hs.push(thread::spawn(move || assert_eq!(c.recv(), None)));
    }
    let mut ss = Vec::new();
    for i in 0..3 {
        let c = s.clone();
        ss.push(thread::spawn(move || {
            let v = format!("v{i}");
            assert_eq!(c.send(v.clone()), Err(SendError(v)));
        }));
    }
    while r.__queued().0 < 3 || s.__queued().1 < 3 {
        thread::yield_now();
    }
    r.close();
    s.close();
    for h in hs.into_iter().chain(ss) {
        h.join().unwrap();
    }
    assert_eq!(r.__queued(), (0, 0));
    assert_eq!(s.__queued(), (0, 0));
}

#[test]
fn timeouts_expire_and_leave_no_waiter() {
    let ch = chan::<i32>(0);
    let t0 = Instant::now();
    assert_eq!(
        ch.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(t0.elapsed() >= Duration::from_millis(20));
    assert_eq!(
        ch.send_timeout(7, Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(7))
    );
    assert_eq!(ch.__queued(), (0, 0));
    // A zero timeout is a try.
    assert_eq!(
        ch.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    // A huge timeout is "forever", not an overflow panic.
    let c = ch.clone();
    let h = thread::spawn(move || c.send_timeout(1, Duration::MAX));
    assert_eq!(ch.recv(), Some(1));
    assert_eq!(h.join().unwrap(), Ok(()));
}

#[test]
fn timeout_succeeds_when_peer_arrives() {
    let ch = chan::<i32>(0);
    let c = ch.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        c.send(3).unwrap();
    });
    assert_eq!(ch.recv_timeout(Duration::from_secs(10)), Ok(3));
    h.join().unwrap();
}

#[test]
fn views_and_iterators() {
    let ch: Chan<u32> = chan(4);
    let tx: Sender<u32> = ch.sender();
    let rx: Receiver<u32> = ch.receiver();
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    tx2.try_send(2).unwrap();
    tx.send_timeout(3, Duration::from_millis(1)).unwrap();
    assert_eq!((tx.len(), tx.cap(), rx.len(), rx.cap()), (3, 4, 3, 4));
    assert!(!tx.is_empty() && !rx.is_empty());
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Ok(3));
    for i in 0..4 {
        tx.send(i).unwrap();
    }
    assert!(tx.close());
    assert!(rx.is_closed() && tx.is_closed());
    let mut it = rx.iter();
    assert_eq!(it.next(), Some(0));
    let rest: Vec<u32> = (&rx).into_iter().collect();
    assert_eq!(rest, [1, 2, 3]);
    assert_eq!(it.next(), None);
    // Owning iterators.
    let c2 = chan(2);
    c2.send('a').unwrap();
    c2.close();
    assert_eq!(Receiver::from(c2.clone()).into_iter().count(), 1);
    let c3 = chan(2);
    c3.send('b').unwrap();
    c3.close();
    assert_eq!(c3.into_iter().collect::<String>(), "b");
    let _s: Sender<char> = Sender::from(chan(0));
    assert_eq!(ch.clone(), ch);
    assert_ne!(ch, chan(4));
}

#[test]
fn range_over_channel_fed_by_thread() {
    let ch = chan(0);
    let tx = ch.sender();
    let h = thread::spawn(move || {
        for i in 0..100 {
            tx.send(i).unwrap();
        }
        tx.close();
    });
    let mut sum = 0;
    for v in &ch {
        sum += v;
    }
    assert_eq!(sum, 4950);
    h.join().unwrap();
}

#[test]
fn errors_implement_error_debug_display() {
    fn is_error<E: std::error::Error>(_: &E) {}
    struct NoDebug;
    let e = SendError(NoDebug);
    is_error(&e);
    assert_eq!(
        format!("{e:?} / {e}"),
        "SendError(..) / send on closed channel"
    );
    let f: TrySendError<NoDebug> = TrySendError::Full(NoDebug);
    is_error(&f);
    assert_eq!(format!("{f:?} / {f}"), "Full(..) / send on full channel");
    let c: TrySendError<NoDebug> = TrySendError::Closed(NoDebug);
    assert_eq!(
        format!("{c:?} / {c}"),
        "Closed(..) / send on closed channel"
    );
    let t: SendTimeoutError<NoDebug> = SendTimeoutError::Timeout(NoDebug);
    is_error(&t);
    assert_eq!(
        format!("{t:?} / {t}"),
        "Timeout(..) / timed out sending on channel"
    );
    is_error(&TryRecvError::Empty);
    assert_eq!(TryRecvError::Empty.to_string(), "receive on empty channel");
    assert_eq!(
        TryRecvError::Closed.to_string(),
        "receive on closed channel"
    );
    is_error(&RecvTimeoutError::Timeout);
    assert_eq!(
        RecvTimeoutError::Timeout.to_string(),
        "timed out receiving on channel"
    );
    assert_eq!(format!("{:?}", RecvTimeoutError::Closed), "Closed");
    // `?` into a boxed error and helpers.
    fn closed_send() -> Result<(), Box<dyn std::error::Error>> {
        let ch = chan(0);
        ch.close();
        ch.send(1)?;
        Ok(())
    }
    assert_eq!(
        closed_send().unwrap_err().to_string(),
        "send on closed channel"
    );
    assert_eq!(SendError(3).into_inner(), 3);
    assert!(TrySendError::Full(1).is_full() && TrySendError::Closed(1).is_closed());
    assert_eq!(TrySendError::Full(2).into_inner(), 2);
    assert!(SendTimeoutError::Timeout(1).is_timeout());
    assert_eq!(SendTimeoutError::Closed(5).into_inner(), 5);
    assert!(TryRecvError::Empty.is_empty() && RecvTimeoutError::Closed.is_closed());
    assert_eq!(TrySendError::from(SendError(1)), TrySendError::Closed(1));
    assert_eq!(
        RecvTimeoutError::from(TryRecvError::Empty),
        RecvTimeoutError::Timeout
    );
}

#[test]
#[should_panic(expected = "makechan: size out of range")]
fn huge_capacity_overflow_panics() {
    let _ = Chan::<u64>::new(usize::MAX);
}

#[test]
#[should_panic(expected = "makechan: size out of range")]
fn unallocatable_capacity_panics() {
    // 2^44 * 8 bytes = 128 TiB: a valid layout no allocator can provide.
    let _ = Chan::<u64>::new(1 << 44);
}

#[test]
fn zero_sized_values_and_large_zst_capacity() {
    let ch = Chan::<()>::new(usize::MAX);
    for _ in 0..1000 {
        ch.send(()).unwrap();
    }
    assert_eq!(ch.len(), 1000);
    assert_eq!(ch.cap(), usize::MAX);
}

#[test]
fn dropping_last_handle_drops_buffered_values() {
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let n = Arc::new(AtomicUsize::new(0));
    let ch = chan(3);
    for _ in 0..3 {
        ch.send(D(n.clone())).unwrap();
    }
    let rx = ch.receiver();
    drop(ch);
    assert_eq!(n.load(Ordering::SeqCst), 0, "a handle is still alive");
    drop(rx.recv());
    assert_eq!(n.load(Ordering::SeqCst), 1);
    drop(rx);
    assert_eq!(n.load(Ordering::SeqCst), 3);
}

#[test]
fn handles_are_send_sync_debug() {
    fn ss<T: Send + Sync>() {}
    ss::<Chan<String>>();
    ss::<Sender<String>>();
    ss::<Receiver<String>>();
    let ch = chan::<i32>(2);
    ch.send(1).unwrap();
    assert_eq!(format!("{ch:?}"), "Chan { len: 1, cap: 2, closed: false }");
    assert!(format!("{:?}", ch.sender()).starts_with("Sender(Chan"));
    assert!(format!("{:?}", ch.receiver()).starts_with("Receiver(Chan"));
    assert!(format!("{:?}", ch.iter()).starts_with("Iter"));
}

#[test]
fn mpmc_stress_accounts_for_every_value() {
    const P: usize = 4;
    const N: usize = 20_000;
    for cap in [0, 1, 16] {
        let ch = chan::<usize>(cap);
        let sum = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        let mut rs = Vec::new();
        for _ in 0..P {
            let (c, s, n) = (ch.clone(), sum.clone(), count.clone());
            rs.push(thread::spawn(move || {
                for v in &c {
                    s.fetch_add(v, Ordering::Relaxed);
                    n.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let ss: Vec<_> = (0..P)
            .map(|p| {
                let c = ch.clone();
                thread::spawn(move || {
                    for i in 0..N {
                        c.send(p * N + i).unwrap();
                    }
                })
            })
            .collect();
        for s in ss {
            s.join().unwrap();
        }
        ch.close();
        for r in rs {
            r.join().unwrap();
        }
        let total = P * N;
        assert_eq!(count.load(Ordering::SeqCst), total, "cap {cap}");
        assert_eq!(
            sum.load(Ordering::SeqCst),
            total * (total - 1) / 2,
            "cap {cap}"
        );
    }
}
