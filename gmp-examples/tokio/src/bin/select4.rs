//! select4: 1 receiver in a `tokio::select!` over 4 channels, each fed by its own sender,
//! 1,000,000 messages in all. Reports ns per message and checks every message arrived once.
//! Twin of `gmp-examples/go/select4` and gmp's `bench_select4`.
//!
//! The channels are `tokio::sync::mpsc::channel(1)`, the nearest tokio has to Go's unbuffered
//! channels (see `pingpong`). `tokio::select!` polls its branches in a random order each time,
//! as Go's select picks among the ready cases at random. A sender that has sent its share
//! drops its end, so its receiver then yields `None`; the `Some(v)` patterns turn that branch
//! off for the rest of the `select!` (the Go twin's senders just stop sending).

use gmp_tokio_twins::report;
use std::time::Instant;
use tokio::sync::mpsc;

const SENDERS: usize = 4;
const MESSAGES: u64 = 1_000_000;
const PER_SENDER: u64 = MESSAGES / SENDERS as u64;

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 2);
    let (elapsed, sum, per) = report::run(procs, async {
        let mut receivers = Vec::with_capacity(SENDERS);
        let start = Instant::now();
        for s in 0..SENDERS {
            let (tx, rx) = mpsc::channel::<u64>(1);
            receivers.push(rx);
            tokio::spawn(async move {
                let base = s as u64 * PER_SENDER;
                for i in 0..PER_SENDER {
                    if tx.send(base + i).await.is_err() {
                        return;
                    }
                }
            });
        }
        let [mut c0, mut c1, mut c2, mut c3]: [mpsc::Receiver<u64>; SENDERS] = receivers
            .try_into()
            .unwrap_or_else(|_| report::fail("not 4 channels"));
        let mut sum = 0u64;
        let mut per = [0u64; SENDERS];
        for _ in 0..MESSAGES {
            let (i, v) = tokio::select! {
                Some(v) = c0.recv() => (0, v),
                Some(v) = c1.recv() => (1, v),
                Some(v) = c2.recv() => (2, v),
                Some(v) = c3.recv() => (3, v),
                else => report::fail("every channel closed before all messages arrived"),
            };
            sum += v;
            per[i] += 1;
        }
        (start.elapsed(), sum, per)
    });
    let want = MESSAGES * (MESSAGES - 1) / 2;
    report::check(sum == want, || format!("sum {sum}, want {want}"));
    for (s, c) in per.iter().enumerate() {
        report::check(*c == PER_SENDER, || {
            format!("channel {s} delivered {c}, want {PER_SENDER}")
        });
    }
    report::report("select4", report::ns_per(elapsed, MESSAGES), "ns/op", &[]);
}
