//! Ports of Go's channel tests in its `test/chan/` directory (`test/chan/*.go`, Go 1.23),
//! run in gmp goroutines. Each test names its Go file.
//!
//! Not ported, and why:
//! - `perm.go`: checks compile-time errors on directional channels; in Rust, `Sender` has no
//!   `recv` and `Receiver` no `send`, which the compiler enforces the same way.
//! - `select5.go`: a generator that writes Go programs; its cases are covered by
//!   `chan_select.rs` (evaluation order, nil channels, default).
//! - `select2.go`: measures Go's heap growth (`runtime.MemStats`) across selects; no GC here.
//! - `powser1.go`, `powser2.go`: power-series arithmetic on rationals, a large program that
//!   exercises nothing beyond what `sieve1`, `doubleselect` and `fifo` do.
//! - `goroutines.go`: a 10,000-goroutine chain driven by a command-line flag; `skynet` in
//!   gmp-examples and `chan_goroutines.rs` cover the pattern.
//! - Go panics on send to a closed channel (`select` send cases included); gmp returns
//!   `Err(SendError(v))` instead, so the Go tests that `recover` those panics do not apply.

use gmp_chan::{chan, select, Chan, Receiver, Sender};
use gmp_core::{go, gosched};
use std::collections::HashSet;
use std::time::Duration;

mod common;
use common::on_procs;

/// test/chan/doubleselect.go: a sender selects over 4 channels, 4 muxes forward into one;
/// no value may arrive twice.
#[test]
fn doubleselect() {
    on_procs(2, || {
        const N: i32 = 20_000;
        let cs: Vec<Chan<i32>> = (0..4).map(|_| chan(0)).collect();
        let done = chan::<bool>(0);
        let cmux = chan::<i32>(0);
        let s = cs.clone();
        go(move || {
            for i in 0..N {
                select! {
                    send(s[0], i) -> r => r.unwrap(),
                    send(s[1], i) -> r => r.unwrap(),
                    send(s[2], i) -> r => r.unwrap(),
                    send(s[3], i) -> r => r.unwrap(),
                }
            }
            for c in &s {
                c.close();
            }
        });
        for c in &cs {
            let (out, input, done) = (cmux.sender(), c.receiver(), done.sender());
            go(move || {
                for v in input {
                    out.send(v).unwrap();
                }
                done.send(true).unwrap();
            });
        }
        let (d, cm) = (done.clone(), cmux.clone());
        go(move || {
            for _ in 0..4 {
                d.recv();
            }
            cm.close();
        });
        let mut seen = HashSet::new();
        for v in &cmux {
            assert!(seen.insert(v), "got duplicate value: {v}");
        }
        assert_eq!(seen.len(), N as usize);
    });
}

/// test/chan/fifo.go: AsynchFifo and SynchFifo.
#[test]
fn fifo() {
    on_procs(2, || {
        const N: i32 = 10;
        let ch = chan(N as usize);
        for i in 0..N {
            ch.send(i).unwrap();
        }
        for i in 0..N {
            assert_eq!(ch.recv(), Some(i), "bad receive");
        }
        // SynchFifo: a chain of goroutines, each taking its turn to receive.
        fn chain(ch: Receiver<i32>, val: i32, input: Receiver<i32>, out: Sender<i32>) {
            input.recv();
            assert_eq!(ch.recv(), Some(val));
            out.send(1).unwrap();
        }
        let ch = chan::<i32>(0);
        let mut input = chan::<i32>(0);
        let start = input.clone();
        for i in 0..N {
            let out = chan(0);
            let (c, inp, o) = (ch.receiver(), input.receiver(), out.sender());
            go(move || chain(c, i, inp, o));
            input = out;
        }
        start.send(0).unwrap();
        for i in 0..N {
            ch.send(i).unwrap();
        }
        input.recv();
    });
}

/// test/chan/nonblock.go: non-blocking sends and receives against a blocked peer, for
/// buffer sizes 0 and 1.
#[test]
fn nonblock() {
    on_procs(2, || {
        const MAX_TRIES: usize = 10_000;
        let sync = chan::<bool>(0);
        for buffer in 0..2 {
            let c32 = chan::<i32>(buffer);
            select! { recv(c32) -> _ => panic!("blocked i32sender"), default => {} }
            let (c, s) = (c32.clone(), sync.clone());
            go(move || {
                assert_eq!(c.recv(), Some(123), "i32 value");
                s.send(true).unwrap();
            });
            let mut tries = 0;
            loop {
                let sent =
                    select! { send(c32, 123) -> r => { r.unwrap(); true }, default => false };
                if sent {
                    break;
                }
                tries += 1;
                assert!(tries < MAX_TRIES, "i32receiver buffer={buffer}");
                gosched();
            }
            sync.recv();
            let (c, s) = (c32.clone(), sync.clone());
            go(move || {
                c.send(234).unwrap();
                s.send(true).unwrap();
            });
            let mut tries = 0;
            let v = loop {
                let got = select! { recv(c32) -> v => v, default => None };
                if let Some(v) = got {
                    break v;
                }
                tries += 1;
                assert!(tries < MAX_TRIES, "i32sender buffer={buffer}");
                gosched();
            };
            assert_eq!(v, 234, "i32sender value");
            sync.recv();
        }
    });
}

/// test/chan/select.go: values are evaluated once per select, nil channels skipped.
#[test]
fn select_evaluation() {
    let counter = std::cell::Cell::new(0u32);
    let shift = std::cell::Cell::new(0u32);
    let get_value = || {
        counter.set(counter.get() + 1);
        1u32 << shift.get()
    };
    let send = |a: Option<&Chan<u32>>, b: Option<&Chan<u32>>| {
        let (mut a, mut b) = (a, b);
        let mut i = 0;
        loop {
            let more = select! {
                send(a, get_value()) -> r => { r.unwrap(); i += 1; a = None; true },
                send(b, get_value()) -> r => { r.unwrap(); i += 1; b = None; true },
                default => false,
            };
            if !more {
                break;
            }
            shift.set(shift.get() + 1);
        }
        i
    };
    let a = chan::<u32>(1);
    let b = chan::<u32>(1);
    assert_eq!(send(Some(&a), Some(&b)), 2);
    let (av, bv) = (a.recv().unwrap(), b.recv().unwrap());
    assert_eq!(av | bv, 3, "bad values {av} {bv}");
    assert_eq!(send(Some(&a), None), 1);
    assert_eq!(counter.get(), 10);
}

/// test/chan/select3.go (the parts that do not rely on Go's panics): operations that must
/// block do, and those that must not, don't.
#[test]
fn select3_blocking() {
    let blocks = |f: Box<dyn FnOnce() + Send>| {
        let h = std::thread::spawn(f);
        std::thread::sleep(Duration::from_millis(20));
        !h.is_finished()
    };
    // The opposite check waits generously, so a loaded machine cannot make it flaky.
    let completes = |f: Box<dyn FnOnce() + Send>| {
        let done = chan::<()>(1);
        let d = done.clone();
        std::thread::spawn(move || {
            f();
            d.send(()).unwrap();
        });
        done.recv_timeout(Duration::from_secs(30)).is_ok()
    };
    // Unbuffered send and receive block; a nil channel never fires.
    assert!(blocks(Box::new(|| {
        let c = chan::<i32>(0);
        c.send(1).unwrap();
    })));
    assert!(blocks(Box::new(|| {
        let c = chan::<i32>(0);
        c.recv();
    })));
    assert!(blocks(Box::new(|| {
        let nil: Option<&Chan<i32>> = None;
        select! { recv(nil) -> _ => {} }
    })));
    assert!(blocks(Box::new(|| {
        select! {}
    })));
    // "select should not get confused if it sees itself".
    assert!(blocks(Box::new(|| {
        let c = chan::<i32>(0);
        select! {
            send(c, 1) -> _ => {},
            recv(c) -> _ => {},
        }
    })));
    // Closed channels never block.
    assert!(completes(Box::new(|| {
        let c = chan::<i32>(0);
        c.close();
        assert_eq!(c.recv(), None);
        select! { recv(c) -> v => assert_eq!(v, None) }
    })));
    // A buffered send with room does not block.
    assert!(completes(Box::new(|| {
        let c = chan::<i32>(1);
        select! { send(c, 7) -> r => r.unwrap() }
    })));
}

/// test/chan/select4.go: the receive target of a case is assigned only for the chosen case.
#[test]
fn select4_only_chosen_case_assigns() {
    let mut x = 0;
    let mut f_called = false;
    let c = chan::<i32>(1);
    let c1 = chan::<i32>(0);
    c.send(42).unwrap();
    select! {
        recv(c1) -> v => { f_called = true; let _ = v; },
        recv(c) -> v => x = v.unwrap(),
    }
    assert!(!f_called, "BUG: called f");
    assert_eq!(x, 42);
}

/// test/chan/select6.go: a select woken on one channel must dequeue itself from the other
/// (issue 2075).
#[test]
fn select6_dequeue_from_other_channel() {
    on_procs(2, || {
        let c1 = chan::<bool>(0);
        let c2 = chan::<bool>(0);
        let c3 = chan::<bool>(0);
        let a = c1.clone();
        go(move || a.recv());
        let (a, b, c) = (c1.clone(), c2.clone(), c3.clone());
        go(move || {
            select! {
                recv(a) -> _ => panic!("dummy"),
                recv(b) -> _ => c.send(true).unwrap(),
            }
            a.recv();
        });
        let b = c2.clone();
        go(move || b.send(true).unwrap());
        c3.recv();
        c1.send(true).unwrap();
        c1.send(true).unwrap();
    });
}

/// test/chan/select7.go: every combination of plain/select send with plain/select receive.
#[test]
fn select7_combinations() {
    on_procs(2, || {
        type Recv = fn(Chan<i32>);
        fn recv1(c: Chan<i32>) {
            c.recv();
        }
        fn recv2(c: Chan<i32>) {
            select! { recv(c) -> _ => {} }
        }
        fn recv3(c: Chan<i32>) {
            let c2 = chan::<i32>(0);
            select! { recv(c) -> _ => {}, recv(c2) -> _ => {} }
        }
        fn send1(recv: Recv) {
            let c = chan(0);
            let cc = c.clone();
            let g = go(move || recv(cc));
            gosched();
            c.send(1).unwrap();
            g.join().unwrap();
        }
        fn send2(recv: Recv) {
            let c = chan(0);
            let cc = c.clone();
            let g = go(move || recv(cc));
            gosched();
            select! { send(c, 1) -> r => r.unwrap() }
            g.join().unwrap();
        }
        fn send3(recv: Recv) {
            let c = chan(0);
            let cc = c.clone();
            let g = go(move || recv(cc));
            gosched();
            let c2 = chan::<i32>(0);
            select! { send(c, 1) -> r => r.unwrap(), send(c2, 1) -> _ => unreachable!() }
            g.join().unwrap();
        }
        for r in [recv1 as Recv, recv2, recv3] {
            send1(r);
            send2(r);
            send3(r);
        }
    });
}

/// test/chan/select8.go: `break` inside select bodies (here: the body's value), and a select
/// with a ready receive and a send against a goroutine that only sends.
#[test]
fn select8_bodies() {
    on_procs(2, || {
        let ch = chan::<i32>(0);
        let c = ch.clone();
        go(move || loop {
            if c.send(5).is_err() {
                return;
            }
        });
        select! { recv(ch) -> v => assert_eq!(v, Some(5)) }
        select! { default => {} }
        select! { recv(ch) -> _ => {}, default => {} }
        select! { recv(ch) -> _ => {}, send(ch, 10) -> _ => panic!("nobody receives") }
        ch.close();
    });
}

/// test/chan/sendstmt.go: a channel of channels (`<-cc <- 2`).
#[test]
fn sendstmt_chan_of_chan() {
    let cc = chan::<Chan<i32>>(1);
    let c = chan::<i32>(1);
    cc.send(c.clone()).unwrap();
    let inner = cc.recv().unwrap();
    let sent = select! { send(inner, 2) -> r => r.is_ok(), default => false };
    assert!(sent, "nonblock");
    assert_eq!(c.recv(), Some(2), "bad receive");
    let b = chan::<bool>(1);
    #[allow(clippy::nonminimal_bool)] // the point of Go's test: `c <- false || true` parses
    b.send(false || true).unwrap();
    assert_eq!(b.recv(), Some(true), "sent false");
}

/// test/chan/sieve1.go: the concurrent prime sieve; the first 25 primes.
#[test]
fn sieve1() {
    on_procs(2, || {
        fn generate(ch: Sender<u32>) {
            for i in 2.. {
                if ch.send(i).is_err() {
                    return;
                }
            }
        }
        fn filter(input: Receiver<u32>, out: Sender<u32>, prime: u32) {
            for i in input {
                if i % prime != 0 && out.send(i).is_err() {
                    return;
                }
            }
        }
        let primes = chan::<u32>(0);
        let p = primes.sender();
        go(move || {
            let mut ch = chan(0);
            let tx = ch.sender();
            go(move || generate(tx));
            loop {
                let prime = ch.recv().unwrap();
                if p.send(prime).is_err() {
                    return;
                }
                let ch1 = chan(0);
                let (i, o) = (ch.receiver(), ch1.sender());
                go(move || filter(i, o, prime));
                ch = ch1;
            }
        });
        let want = [
            2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
            89, 97,
        ];
        for w in want {
            assert_eq!(primes.recv(), Some(w));
        }
    });
}

/// test/chan/zerosize.go: channels of zero-sized values.
#[test]
fn zerosize() {
    let _ = chan::<[u8; 0]>(0);
    let a = chan::<[u8; 0]>(1);
    let _ = chan::<()>(0);
    let b = chan::<()>(1);
    a.send([]).unwrap();
    b.send(()).unwrap();
    assert_eq!((a.recv(), b.recv()), (Some([]), Some(())));
}
