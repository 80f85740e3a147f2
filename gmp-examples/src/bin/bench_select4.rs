//! select4: 1 receiver selecting over 4 unbuffered channels, each fed by its own sender,
//! 1,000,000 messages in all. Reports ns per message and checks every message arrived once.
//! Twin of `gmp-examples/go/select4`.

use gmp_chan::{select, Chan};
use gmp_examples::bench;
use std::time::Instant;

const SENDERS: usize = 4;
const MESSAGES: u64 = 1_000_000;
const PER_SENDER: u64 = MESSAGES / SENDERS as u64;

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (elapsed, sum, per) = rt.run(|| {
        let chans: Vec<Chan<u64>> = (0..SENDERS).map(|_| Chan::new(0)).collect();
        let start = Instant::now();
        for (s, ch) in chans.iter().enumerate() {
            let ch = ch.clone();
            gmp_core::go(move || {
                let base = s as u64 * PER_SENDER;
                for i in 0..PER_SENDER {
                    if ch.send(base + i).is_err() {
                        return;
                    }
                }
            });
        }
        let (c0, c1, c2, c3) = (&chans[0], &chans[1], &chans[2], &chans[3]);
        let mut sum = 0u64;
        let mut per = [0u64; SENDERS];
        let mut take = |i: usize, v: Option<u64>| {
            sum += v.unwrap_or_else(|| bench::fail("channel closed"));
            per[i] += 1;
        };
        for _ in 0..MESSAGES {
            select! {
                recv(c0) -> v => take(0, v),
                recv(c1) -> v => take(1, v),
                recv(c2) -> v => take(2, v),
                recv(c3) -> v => take(3, v),
            }
        }
        (start.elapsed(), sum, per)
    });
    let want = MESSAGES * (MESSAGES - 1) / 2;
    bench::check(sum == want, || format!("sum {sum}, want {want}"));
    for (s, c) in per.iter().enumerate() {
        bench::check(*c == PER_SENDER, || {
            format!("channel {s} delivered {c}, want {PER_SENDER}")
        });
    }
    bench::report("select4", bench::ns_per(elapsed, MESSAGES), "ns/op", &[]);
}
