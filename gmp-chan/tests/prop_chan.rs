//! Property tests: one channel against a sequential model; random multi-goroutine programs
//! (senders, receivers, selects, a close) where the multiset received equals the multiset sent.

use gmp_chan::{chan, select, Chan, TryRecvError, TrySendError};
use gmp_core::{go, Runtime};
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    TrySend(u8),
    TryRecv,
    SelectSend(u8),
    SelectRecv,
    Close,
    Len,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::TrySend),
        Just(Op::TryRecv),
        any::<u8>().prop_map(Op::SelectSend),
        Just(Op::SelectRecv),
        Just(Op::Close),
        Just(Op::Len),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Non-blocking operations on one channel behave as a bounded FIFO with a closed flag.
    #[test]
    fn single_channel_matches_model(cap in 0usize..4, ops in prop::collection::vec(op(), 0..40)) {
        let ch = chan::<u8>(cap);
        let mut buf: VecDeque<u8> = VecDeque::new();
        let mut closed = false;
        for op in ops {
            match op {
                Op::TrySend(v) | Op::SelectSend(v) => {
                    let got = if let Op::TrySend(_) = op {
                        ch.try_send(v)
                    } else {
                        select! {
                            send(ch, v) -> r => r.map_err(|e| TrySendError::Closed(e.0)),
                            default => Err(TrySendError::Full(v)),
                        }
                    };
                    let want = if closed {
                        Err(TrySendError::Closed(v))
                    } else if buf.len() < cap {
                        buf.push_back(v);
                        Ok(())
                    } else {
                        Err(TrySendError::Full(v))
                    };
                    prop_assert_eq!(got, want);
                }
                Op::TryRecv | Op::SelectRecv => {
                    let got = if let Op::TryRecv = op {
                        ch.try_recv()
                    } else {
                        select! {
                            recv(ch) -> v => v.ok_or(TryRecvError::Closed),
                            default => Err(TryRecvError::Empty),
                        }
                    };
                    let want = match buf.pop_front() {
                        Some(v) => Ok(v),
                        None if closed => Err(TryRecvError::Closed),
                        None => Err(TryRecvError::Empty),
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Close => {
                    prop_assert_eq!(ch.close(), !closed);
                    closed = true;
                }
                Op::Len => {
                    prop_assert_eq!((ch.len(), ch.cap(), ch.is_closed()), (buf.len(), cap, closed));
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Program {
    procs: usize,
    cap_a: usize,
    cap_b: usize,
    /// Per sender: (uses select over both channels, values).
    senders: Vec<(bool, Vec<u16>)>,
    /// Per receiver: uses select over both channels.
    receivers: Vec<bool>,
}

fn program() -> impl Strategy<Value = Program> {
    (
        1usize..=2,
        0usize..3,
        0usize..3,
        prop::collection::vec(
            (any::<bool>(), prop::collection::vec(any::<u16>(), 0..30)),
            1..4,
        ),
        prop::collection::vec(any::<bool>(), 1..4),
    )
        .prop_map(|(procs, cap_a, cap_b, senders, receivers)| Program {
            procs,
            cap_a,
            cap_b,
            senders,
            receivers,
        })
}

fn run_program(p: Program) -> (Vec<u16>, Vec<u16>) {
    let rt = Runtime::builder().procs(p.procs).build().unwrap();
    rt.run(move || {
        let a: Chan<u16> = chan(p.cap_a);
        let b: Chan<u16> = chan(p.cap_b);
        let mut sent = Vec::new();
        let senders: Vec<_> = p
            .senders
            .into_iter()
            .map(|(use_select, vals)| {
                sent.extend(vals.iter().copied());
                let (a, b) = (a.clone(), b.clone());
                go(move || {
                    for v in vals {
                        if use_select {
                            select! {
                                send(a, v) -> r => r.unwrap(),
                                send(b, v) -> r => r.unwrap(),
                            }
                        } else {
                            a.send(v).unwrap();
                        }
                    }
                })
            })
            .collect();
        let receivers: Vec<_> = p
            .receivers
            .into_iter()
            .map(|use_select| {
                let (a, b) = (a.clone(), b.clone());
                go(move || {
                    let mut got = Vec::new();
                    let (mut ac, mut bc) = (Some(&a), Some(&b));
                    while ac.is_some() || bc.is_some() {
                        if use_select {
                            select! {
                                recv(ac) -> v => match v { Some(v) => got.push(v), None => ac = None },
                                recv(bc) -> v => match v { Some(v) => got.push(v), None => bc = None },
                            }
                        } else if let Some(c) = ac {
                            match c.recv() {
                                Some(v) => got.push(v),
                                None => ac = None,
                            }
                        } else if let Some(c) = bc {
                            match c.recv() {
                                Some(v) => got.push(v),
                                None => bc = None,
                            }
                        }
                    }
                    got
                })
            })
            .collect();
        for s in senders {
            s.join().unwrap();
        }
        a.close();
        b.close();
        let mut received: Vec<u16> = receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        sent.sort_unstable();
        received.sort_unstable();
        (sent, received)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the interleaving, every value sent is received exactly once.
    #[test]
    fn multiset_received_equals_multiset_sent(p in program()) {
        let (sent, received) = run_program(p);
        prop_assert_eq!(sent, received);
    }
}
