//! Property test of the futures' cancel safety: random interleavings of `send_async` and
//! `recv_async` futures (polled to completion, or dropped while pending) on one thread,
//! against blocking sends and receives on two others, then a close. Every value whose send
//! reported `Ok` is received exactly once; a value is received at most once, and only if its
//! send reported `Ok` or its send future was dropped while pending (delivered before the drop).

use gmp_chan::{chan, Chan, RecvFuture, RecvTimeoutError, SendError, SendFuture};
use proptest::prelude::*;
use std::collections::HashSet;
use std::task::{Poll, Waker};
use std::time::Duration;

mod common;
use common::{block_on, poll_with};

#[derive(Debug, Clone)]
enum AsyncOp {
    /// Start a send future of the next value and poll it once.
    Send,
    /// Start a receive future and poll it once.
    Recv,
    /// Poll the `n`-th live future (modulo their number).
    Poll(usize),
    /// Drop the `n`-th live future, pending or not yet polled to the end.
    Drop(usize),
    /// Let the threads run.
    Yield,
}

#[derive(Debug, Clone, Copy)]
enum BlockingOp {
    Send,
    Recv,
}

fn async_op() -> impl Strategy<Value = AsyncOp> {
    prop_oneof![
        Just(AsyncOp::Send),
        Just(AsyncOp::Recv),
        (0usize..8).prop_map(AsyncOp::Poll),
        (0usize..8).prop_map(AsyncOp::Drop),
        Just(AsyncOp::Yield),
    ]
}

fn blocking_op() -> impl Strategy<Value = BlockingOp> {
    prop_oneof![Just(BlockingOp::Send), Just(BlockingOp::Recv)]
}

/// What happened to the values, as seen by their senders and receivers.
#[derive(Default, Debug)]
struct Outcome {
    /// Sends that reported `Ok`.
    sent: Vec<u32>,
    /// Sends that reported an error (closed, timed out), with the value given back.
    unsent: Vec<u32>,
    /// Send futures dropped while pending: delivered or not.
    dropped: Vec<u32>,
    received: Vec<u32>,
}

impl Outcome {
    fn merge(&mut self, o: Outcome) {
        self.sent.extend(o.sent);
        self.unsent.extend(o.unsent);
        self.dropped.extend(o.dropped);
        self.received.extend(o.received);
    }
}

enum Live<'a> {
    Send(SendFuture<'a, u32>, u32),
    Recv(RecvFuture<'a, u32>),
}

/// Polls `f` once; records its result if ready. `true` if it is done.
fn poll_live(f: &mut Live<'_>, out: &mut Outcome) -> bool {
    match f {
        Live::Send(s, v) => match poll_with(s, Waker::noop()) {
            Poll::Ready(Ok(())) => out.sent.push(*v),
            Poll::Ready(Err(SendError(back))) => {
                assert_eq!(back, *v, "a failed send gave back another value");
                out.unsent.push(back);
            }
            Poll::Pending => return false,
        },
        Live::Recv(r) => match poll_with(r, Waker::noop()) {
            Poll::Ready(Some(v)) => out.received.push(v),
            Poll::Ready(None) => {}
            Poll::Pending => return false,
        },
    }
    true
}

/// The blocking side: sends of values `base..` and receives, each giving up after a moment.
fn blocking_party(ch: Chan<u32>, base: u32, ops: Vec<BlockingOp>) -> Outcome {
    let mut out = Outcome::default();
    let patience = Duration::from_micros(300);
    for (i, op) in ops.into_iter().enumerate() {
        match op {
            BlockingOp::Send => {
                let v = base + i as u32;
                match ch.send_timeout(v, patience) {
                    Ok(()) => out.sent.push(v),
                    Err(e) => out.unsent.push(e.into_inner()),
                }
            }
            BlockingOp::Recv => match ch.recv_timeout(patience) {
                Ok(v) => out.received.push(v),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Closed) => {}
            },
        }
    }
    out
}

fn run(cap: usize, script: Vec<AsyncOp>, threads: [Vec<BlockingOp>; 2]) -> Outcome {
    let ch = chan::<u32>(cap);
    let parties: Vec<_> = threads
        .into_iter()
        .enumerate()
        .map(|(t, ops)| {
            let ch = ch.clone();
            std::thread::spawn(move || blocking_party(ch, 1000 * (t as u32 + 1), ops))
        })
        .collect();
    let mut out = Outcome::default();
    let mut live: Vec<Live<'_>> = Vec::new();
    let mut next = 0u32;
    for op in script {
        match op {
            AsyncOp::Send | AsyncOp::Recv => {
                let mut f = if let AsyncOp::Send = op {
                    next += 1;
                    Live::Send(ch.send_async(next), next)
                } else {
                    Live::Recv(ch.recv_async())
                };
                if !poll_live(&mut f, &mut out) {
                    live.push(f);
                }
            }
            AsyncOp::Poll(n) if !live.is_empty() => {
                let i = n % live.len();
                if poll_live(&mut live[i], &mut out) {
                    live.swap_remove(i);
                }
            }
            AsyncOp::Drop(n) if !live.is_empty() => {
                if let Live::Send(_, v) = live.swap_remove(n % live.len()) {
                    out.dropped.push(v);
                }
            }
            AsyncOp::Poll(_) | AsyncOp::Drop(_) => {}
            AsyncOp::Yield => std::thread::sleep(Duration::from_micros(100)),
        }
    }
    // The close completes every pending future: receives drain, then see `None`; sends
    // were delivered or get their value back.
    ch.close();
    for f in live {
        match f {
            Live::Send(s, v) => match block_on(s) {
                Ok(()) => out.sent.push(v),
                Err(SendError(back)) => out.unsent.push(back),
            },
            Live::Recv(r) => out.received.extend(block_on(r)),
        }
    }
    for p in parties {
        out.merge(p.join().expect("a blocking party panicked"));
    }
    while let Ok(v) = ch.try_recv() {
        out.received.push(v);
    }
    assert_eq!(ch.__queued(), (0, 0), "a registration outlived its future");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_sent_value_is_received_exactly_once(
        cap in 0usize..3,
        script in prop::collection::vec(async_op(), 0..40),
        t0 in prop::collection::vec(blocking_op(), 0..8),
        t1 in prop::collection::vec(blocking_op(), 0..8),
    ) {
        let out = run(cap, script, [t0, t1]);
        let mut received = HashSet::new();
        for &v in &out.received {
            prop_assert!(received.insert(v), "{} received twice: {:?}", v, out);
        }
        for v in &out.sent {
            prop_assert!(received.contains(v), "{} sent but never received: {:?}", v, out);
        }
        let may: HashSet<u32> = out.sent.iter().chain(&out.dropped).copied().collect();
        for v in &out.received {
            prop_assert!(may.contains(v), "{} received but not sent: {:?}", v, out);
        }
        for v in &out.unsent {
            prop_assert!(!received.contains(v), "{} reported unsent yet received: {:?}", v, out);
        }
    }
}
