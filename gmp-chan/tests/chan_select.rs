//! `select!` and `Select` on plain threads.

use gmp_chan::{chan, select, Chan, Receiver, Select, SendError, Sender};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

mod common;
use common::four_senders_one_select_receiver;

#[test]
fn recv_and_send_cases_fire_when_ready() {
    let a = chan::<i32>(1);
    let b = chan::<i32>(1);
    a.send(1).unwrap();
    let r = select! {
        recv(a) -> v => v,
        send(b, 2) -> res => { res.unwrap(); None }
    };
    // Both are ready; either may fire.
    match r {
        Some(1) => assert_eq!(b.len(), 0),
        None => assert_eq!((a.len(), b.try_recv()), (1, Ok(2))),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn default_taken_when_nothing_ready_and_not_otherwise() {
    let a = chan::<i32>(0);
    let r = select! {
        recv(a) -> _ => 1,
        default => 2,
    };
    assert_eq!(r, 2);
    let b = chan::<i32>(1);
    b.send(5).unwrap();
    let r = select! {
        default => 0,
        recv(b) -> v => v.unwrap(),
    };
    assert_eq!(r, 5, "default may stand first; a ready case still wins");
}

#[test]
fn default_timeout() {
    let a = chan::<i32>(0);
    let t0 = Instant::now();
    let r = select! {
        recv(a) -> _ => "value",
        default(Duration::from_millis(30)) => "timeout",
    };
    assert_eq!(r, "timeout");
    assert!(t0.elapsed() >= Duration::from_millis(30));
    assert_eq!(a.__queued(), (0, 0), "timed-out select left no entry");
    // A value arriving in time wins.
    let c = a.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        c.send(9).unwrap();
    });
    let r = select! {
        recv(a) -> v => v,
        default(Duration::from_secs(10)) => None,
    };
    assert_eq!(r, Some(9));
    h.join().unwrap();
}

#[test]
fn nil_channels_never_fire() {
    let none: Option<&Chan<i32>> = None;
    let r = select! {
        recv(none) -> _ => 1,
        send(None::<&Chan<i32>>, 5) -> _ => 2,
        default => 3,
    };
    assert_eq!(r, 3);
    let r = select! {
        recv(none) -> _ => 1,
        default(Duration::from_millis(5)) => 2,
    };
    assert_eq!(r, 2);
    let mut sel = Select::new();
    sel.recv(None::<&Chan<i32>>);
    assert!(sel.select_timeout(Duration::from_millis(5)).is_none());
}

#[test]
fn closed_recv_case_yields_none() {
    let a = chan::<i32>(0);
    a.close();
    let r = select! {
        recv(a) -> v => v,
        default => Some(-1),
    };
    assert_eq!(r, None);
}

#[test]
fn send_on_closed_channel_fires_err_ahead_of_default() {
    let a = chan::<String>(5);
    a.close();
    let r = select! {
        send(a, "x".to_string()) -> res => res,
        default => Ok(()),
    };
    assert_eq!(r, Err(SendError("x".to_string())));
}

#[test]
fn nil_idiom_body_reassigns_the_case_variable() {
    let (x, y) = (chan(4), chan(4));
    for i in 0..3 {
        x.send(i).unwrap();
        y.send(10 * i).unwrap();
    }
    x.close();
    y.close();
    let (mut xc, mut yc) = (Some(&x), Some(&y));
    let mut got = Vec::new();
    loop {
        if xc.is_none() && yc.is_none() {
            break;
        }
        select! {
            recv(xc) -> v => match v { Some(v) => got.push(v), None => xc = None },
            recv(yc) -> v => match v { Some(v) => got.push(v), None => yc = None },
        }
    }
    got.sort();
    assert_eq!(got, [0, 0, 1, 2, 10, 20]);

    // Owned `Option<Chan>` operands and `Chan` places can be reassigned too.
    let mut oc: Option<Chan<i32>> = Some(chan(1));
    oc.as_ref().unwrap().send(3).unwrap();
    let mut c = chan::<i32>(1);
    select! {
        recv(oc) -> v => { assert_eq!(v, Some(3)); oc = None; },
        recv(c) -> _ => { c = chan(1); },
    }
    assert!(oc.is_none());
    assert_eq!(c.len(), 0);
}

#[test]
fn operands_are_evaluated_once_in_source_order() {
    let log = RefCell::new(Vec::new());
    let a = chan::<i32>(1);
    let b = chan::<i32>(1);
    let op = |name: &'static str, c| {
        log.borrow_mut().push(name);
        c
    };
    let val = |name: &'static str, v| {
        log.borrow_mut().push(name);
        v
    };
    let r = select! {
        recv(op("recv-a", Some(&a))) -> _ => 0,
        send(op("send-b", Some(&b)), val("value-b", 7)) -> _ => 1,
        recv(op("recv-nil", None::<&Chan<i32>>)) -> _ => 2,
        default => 3,
    };
    assert_eq!(r, 1);
    assert_eq!(*log.borrow(), ["recv-a", "send-b", "value-b", "recv-nil"]);
}

#[test]
fn all_operand_forms_compile_and_work() {
    let ch = chan::<u8>(4);
    let tx: Sender<u8> = ch.sender();
    let rx: Receiver<u8> = ch.receiver();
    select! { send(tx, 1) -> r => r.unwrap() }
    select! { send(&tx, 2) -> r => r.unwrap() }
    select! { send(Some(&tx), 3) -> r => r.unwrap() }
    select! { send(&ch, 4) -> r => r.unwrap() }
    assert_eq!(select! { recv(rx) -> v => v }, Some(1));
    assert_eq!(select! { recv(&rx) -> v => v }, Some(2));
    assert_eq!(select! { recv(Some(&rx)) -> v => v }, Some(3));
    let owned: Option<Receiver<u8>> = Some(rx.clone());
    assert_eq!(select! { recv(owned) -> v => v }, Some(4));
    let _ = owned;
}

#[test]
fn select_blocks_until_a_thread_sends() {
    let a = chan::<i32>(0);
    let b = chan::<i32>(0);
    let bb = b.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        bb.send(42).unwrap();
    });
    let r = select! {
        recv(a) -> v => ("a", v),
        recv(b) -> v => ("b", v),
    };
    assert_eq!(r, ("b", Some(42)));
    h.join().unwrap();
    assert_eq!(a.__queued(), (0, 0), "the losing entry was removed");
}

/// Values too large for a slot of the parked select's record travel through a box: received
/// and sent whole, and the unsent ones of the losing cases come back to be dropped once.
#[test]
fn a_blocked_select_moves_large_values_whole() {
    type Big = (String, [u64; 8]);
    let big = |n: u64| (format!("value {n}"), [n; 8]);
    let a = chan::<Big>(0);
    let b = chan::<Big>(0);
    let (aa, bb) = (a.clone(), b.clone());
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        bb.send(big(7)).unwrap();
        thread::sleep(Duration::from_millis(10));
        aa.recv()
    });
    let r = select! {
        recv(a) -> v => ("a", v),
        recv(b) -> v => ("b", v),
    };
    assert_eq!(r, ("b", Some(big(7))));
    let never = chan::<Big>(0);
    let sent = select! {
        send(a, big(9)) -> r => r.is_ok(),
        send(never, big(10)) -> _ => unreachable!(),
    };
    assert!(sent);
    assert_eq!(h.join().unwrap(), Some(big(9)));
}

#[test]
fn select_send_blocks_until_a_receiver_comes() {
    let a = chan::<i32>(0);
    let aa = a.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        aa.recv()
    });
    let never = chan::<i32>(0);
    select! {
        send(a, 5) -> r => r.unwrap(),
        recv(never) -> _ => unreachable!(),
    }
    assert_eq!(h.join().unwrap(), Some(5));
}

#[test]
fn close_wakes_a_blocked_select() {
    let a = chan::<i32>(0);
    let s = chan::<i32>(0);
    let (aa, ss) = (a.clone(), s.clone());
    let h = thread::spawn(move || {
        select! {
            recv(aa) -> v => format!("recv {v:?}"),
            recv(ss) -> v => format!("other {v:?}"),
        }
    });
    while a.__queued().0 == 0 {
        thread::yield_now();
    }
    a.close();
    assert_eq!(h.join().unwrap(), "recv None");
    // A blocked send case woken by close gets its value back.
    let b = chan::<String>(0);
    let bb = b.clone();
    let h = thread::spawn(move || select! { send(bb, "v".to_string()) -> r => r });
    while b.__queued().1 == 0 {
        thread::yield_now();
    }
    b.close();
    assert_eq!(h.join().unwrap(), Err(SendError("v".to_string())));
}

#[test]
fn self_select_does_not_match_itself() {
    // Go test/chan/select3.go: "select should not get confused if it sees itself".
    let c = chan::<i32>(0);
    let r = select! {
        send(c, 1) -> _ => "sent",
        recv(c) -> _ => "received",
        default(Duration::from_millis(20)) => "blocked",
    };
    assert_eq!(r, "blocked");
}

#[test]
fn duplicate_channel_in_cases() {
    let c = chan::<i32>(1);
    c.send(1).unwrap();
    let r = select! {
        recv(c) -> v => v,
        recv(c) -> v => v.map(|v| v + 100),
    };
    assert!(r == Some(1) || r == Some(101));
    let cc = c.clone();
    let h = thread::spawn(move || {
        select! {
            recv(cc) -> v => v,
            recv(cc) -> v => v,
            send(cc, 9) -> _ => Some(-1),
        }
    });
    thread::sleep(Duration::from_millis(5));
    let r = h.join().unwrap();
    // Buffer was empty with room: the send case is ready at once.
    assert_eq!(r, Some(-1));
    assert_eq!(c.recv(), Some(9));
}

#[test]
fn fairness_over_many_rounds() {
    // Go: TestSelectFairness, loosely: both ready cases win a fair share.
    let a = chan::<i32>(1);
    let b = chan::<i32>(1);
    let mut wins = [0usize; 2];
    const N: usize = 10_000;
    for _ in 0..N {
        a.try_send(0).ok();
        b.try_send(1).ok();
        let i = select! {
            recv(a) -> _ => 0,
            recv(b) -> _ => 1,
        };
        wins[i] += 1;
    }
    // Binomial(10000, 0.5) has sigma 50; allow 10 sigma.
    assert!(wins[0] > N / 2 - 500 && wins[1] > N / 2 - 500, "{wins:?}");
}

#[test]
fn body_control_flow_and_value() {
    let c = chan::<i32>(10);
    for i in 0..10 {
        c.send(i).unwrap();
    }
    c.close();
    let mut seen = 0;
    let total = loop {
        select! {
            recv(c) -> v => {
                match v {
                    Some(3) => continue,
                    Some(_) => seen += 1,
                    None => break seen,
                }
            }
        }
    };
    assert_eq!(total, 9);
}

#[test]
fn select_with_no_cases_blocks_forever() {
    let h = thread::spawn(|| {
        select! {}
    });
    thread::sleep(Duration::from_millis(50));
    assert!(!h.is_finished());
}

#[test]
fn losing_values_stay_in_their_channels() {
    // Two senders race into two buffered channels; one select receives exactly one value and
    // the other stays where it was sent.
    for _ in 0..200 {
        let a = chan::<i32>(1);
        let b = chan::<i32>(1);
        let (aa, bb) = (a.clone(), b.clone());
        let t1 = thread::spawn(move || aa.send(1).unwrap());
        let t2 = thread::spawn(move || bb.send(2).unwrap());
        let got = select! {
            recv(a) -> v => v.unwrap(),
            recv(b) -> v => v.unwrap(),
        };
        t1.join().unwrap();
        t2.join().unwrap();
        let rest: Vec<i32> = [a.try_recv().ok(), b.try_recv().ok()]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(rest.len(), 1);
        assert_eq!(got + rest[0], 3);
    }
}

#[test]
fn four_senders_one_select_receiver_small() {
    four_senders_one_select_receiver(5_000, 0);
    four_senders_one_select_receiver(5_000, 16);
}

#[test]
#[ignore = "long: 1,000,000 messages"]
fn four_senders_one_select_receiver_million() {
    four_senders_one_select_receiver(250_000, 0);
    four_senders_one_select_receiver(250_000, 64);
}

#[test]
fn competing_selects_never_duplicate_or_lose() {
    // Several selecting receivers and selecting senders over the same two channels.
    const N: usize = 2_000;
    let a = chan::<usize>(0);
    let b = chan::<usize>(1);
    let done = chan::<()>(0);
    let received = Arc::new(AtomicUsize::new(0));
    let sum = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for _ in 0..2 {
        let (a, b, done, received, sum) = (
            a.clone(),
            b.clone(),
            done.clone(),
            received.clone(),
            sum.clone(),
        );
        hs.push(thread::spawn(move || loop {
            let v = select! {
                recv(a) -> v => v,
                recv(b) -> v => v,
                recv(done) -> _ => None,
            };
            match v {
                Some(v) => {
                    received.fetch_add(1, Ordering::SeqCst);
                    sum.fetch_add(v, Ordering::SeqCst);
                }
                None => return,
            }
        }));
    }
    let mut ss = Vec::new();
    for s in 0..2 {
        let (a, b) = (a.clone(), b.clone());
        ss.push(thread::spawn(move || {
            for i in 0..N {
                let v = s * N + i;
                select! {
                    send(a, v) -> r => r.unwrap(),
                    send(b, v) -> r => r.unwrap(),
                }
            }
        }));
    }
    for s in ss {
        s.join().unwrap();
    }
    while received.load(Ordering::SeqCst) < 2 * N {
        thread::yield_now();
    }
    done.close();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(received.load(Ordering::SeqCst), 2 * N);
    assert_eq!(sum.load(Ordering::SeqCst), (2 * N) * (2 * N - 1) / 2);
}

#[test]
fn dynamic_select_builder() {
    let chans: Vec<Chan<usize>> = (0..3).map(|_| chan(1)).collect();
    let out = chan::<&str>(1);
    // Nothing ready: try_select gives None.
    let mut sel = Select::new();
    for c in &chans {
        sel.recv(c);
    }
    assert!(sel.try_select().is_none());
    // A send case fires.
    let mut sel = Select::new();
    let r0 = sel.recv(&chans[0]);
    let s0 = sel.send(&out, "hi");
    let op = sel.select();
    assert_eq!(op.index(), s0);
    assert_ne!(r0, s0);
    op.send(&out).unwrap();
    assert_eq!(out.recv(), Some("hi"));
    // A receive fires from another thread.
    let c1 = chans[1].clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        c1.send(11).unwrap();
    });
    let mut sel = Select::new();
    for c in &chans {
        sel.recv(c);
    }
    let op = sel.select();
    let i = op.index();
    assert_eq!(i, 1);
    assert_eq!(op.recv(&chans[i]), Some(11));
    h.join().unwrap();
    // Timeout.
    let mut sel = Select::new();
    sel.recv(&chans[2]);
    assert!(sel.select_timeout(Duration::from_millis(5)).is_none());
    assert_eq!(chans[2].__queued(), (0, 0));
    // Closed send case through the builder.
    let closed = chan::<i32>(0);
    closed.close();
    let mut sel = Select::default();
    sel.send(&closed, 3);
    assert_eq!(sel.select().send(&closed), Err(SendError(3)));
    assert!(format!("{:?}", Select::new()).starts_with("Select"));
}

#[test]
#[should_panic(expected = "not a receive on this channel")]
fn selected_operation_checks_the_channel() {
    let a = chan::<i32>(1);
    let b = chan::<i32>(1);
    a.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&a);
    let op = sel.select();
    let _ = op.recv(&b);
}

/// The message of the panic `r` caught.
fn panic_text(r: std::thread::Result<impl Sized>) -> String {
    let e = r.err().expect("expected a panic");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_dropped_selected_receive_panics_and_gives_its_value_back() {
    // Buffered: the value goes back to the head, ahead of the rest.
    let ch = chan::<i32>(2);
    ch.send(1).unwrap();
    ch.send(2).unwrap();
    let mut sel = Select::new();
    sel.recv(&ch);
    let op = sel.select();
    let msg = panic_text(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || drop(op),
    )));
    assert!(
        msg.starts_with("dropped `SelectedOperation` without completing the operation (case 0)"),
        "{msg}"
    );
    assert_eq!((ch.recv(), ch.recv()), (Some(1), Some(2)));
    // Unbuffered, taken from a blocked sender: the next receiver gets it, and a second
    // sender still waits for a receiver of its own.
    let ch = chan::<i32>(0);
    let c = ch.clone();
    let h = thread::spawn(move || {
        c.send(7).unwrap();
        c.send(8).unwrap();
    });
    let mut sel = Select::new();
    sel.recv(&ch);
    let op = sel.select();
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(op))).is_err());
    assert_eq!(ch.recv(), Some(7));
    assert_eq!(ch.recv(), Some(8));
    h.join().unwrap();
    assert_eq!(ch.len(), 0);
}

#[test]
fn completing_with_the_wrong_channel_panics_and_gives_the_value_back() {
    let a = chan::<i32>(1);
    let b = chan::<i32>(1);
    b.send(5).unwrap();
    let mut sel = Select::new();
    sel.recv(&a);
    sel.recv(&b);
    let op = sel.select();
    assert_eq!(op.index(), 1);
    let msg = panic_text(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || op.recv(&a),
    )));
    assert!(
        msg.contains("not a receive on this channel (case 1)"),
        "{msg}"
    );
    assert_eq!(b.try_recv(), Ok(5));
    // The wrong direction too.
    b.send(6).unwrap();
    let mut sel = Select::new();
    sel.recv(&b);
    let op = sel.select();
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.send(&b))).is_err());
    assert_eq!(b.try_recv(), Ok(6));
}

#[test]
fn a_dropped_selected_send_panics_having_delivered_its_value() {
    let ch = chan::<i32>(1);
    let mut sel = Select::new();
    sel.send(&ch, 9);
    let op = sel.select();
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(op))).is_err());
    assert_eq!(ch.try_recv(), Ok(9));
}

#[test]
fn a_selected_operation_dropped_while_unwinding_gives_its_value_back_quietly() {
    let ch = chan::<i32>(1);
    ch.send(3).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut sel = Select::new();
        sel.recv(&ch);
        let _op = sel.select();
        panic!("something else");
    }));
    assert_eq!(panic_text(r), "something else");
    assert_eq!(ch.try_recv(), Ok(3));
}

#[test]
fn a_select_of_more_cases_than_fit_inline_with_duplicates_and_nils_blocks_and_fires() {
    // 14 cases (a select's lists are inline up to 8): 4 channels, each in 2 receive cases,
    // 4 nil cases and 2 sends on a full channel. It blocks (every lock taken once per
    // distinct channel, in address order), then a value from a thread fires a receive on
    // its channel, and every entry is gone afterwards: the next values go to plain receives.
    let chans: Vec<Chan<usize>> = (0..4).map(|_| chan(0)).collect();
    let full = chan::<usize>(1);
    full.send(0).unwrap();
    for round in 0..4 {
        let mut sel = Select::new();
        let mut owner = Vec::new();
        for (k, c) in chans.iter().enumerate() {
            sel.recv(c);
            owner.push(k);
            sel.recv(None::<&Chan<usize>>);
            owner.push(usize::MAX);
        }
        for (k, c) in chans.iter().enumerate() {
            sel.recv(c);
            owner.push(k);
        }
        sel.send(&full, 1);
        owner.push(usize::MAX);
        sel.send(&full, 2);
        owner.push(usize::MAX);
        assert_eq!(owner.len(), 14);
        let c = chans[round].clone();
        let h = thread::spawn(move || {
            thread::sleep(Duration::from_millis(2));
            c.send(100 + round).unwrap();
        });
        let op = sel.select();
        assert_eq!(owner[op.index()], round, "case {} fired", op.index());
        assert_eq!(op.recv(&chans[round]), Some(100 + round));
        h.join().unwrap();
        // No entry of the select is left queued: a plain hand-off on each channel works.
        for c in &chans {
            let c2 = c.clone();
            let h = thread::spawn(move || c2.send(7).unwrap());
            assert_eq!(c.recv(), Some(7));
            h.join().unwrap();
        }
    }
    assert_eq!(full.recv(), Some(0));
}
