//! chan_mpmc: a buffered channel of capacity 1024, 4 producers and 4 consumers, 10,000,000
//! messages in all. Reports ns per message and checks the count and the sum. Twin of
//! `gmp-examples/go/chan_mpmc` and gmp's `bench_chan_mpmc`.
//!
//! The channel is `async_channel::bounded(1024)`, not a tokio one: tokio has no channel in
//! which several receivers share the messages (its `mpsc` has one receiver, and each
//! `broadcast` receiver sees every message), and tokio's tutorial (Channels) sends users who
//! need one to the async-channel crate. So this row measures tokio's scheduler with that
//! channel, which is what a tokio user would run.

use gmp_tokio_twins::report;
use std::time::Instant;

const PRODUCERS: u64 = 4;
const CONSUMERS: u64 = 4;
const MESSAGES: u64 = 10_000_000;
const PER_PRODUCER: u64 = MESSAGES / PRODUCERS;

fn main() {
    let flags = report::Flags::from_env(&["procs"]);
    let procs = report::procs(&flags, 2);
    let (elapsed, sum, count) = report::run(procs, async {
        let (tx, rx) = async_channel::bounded::<u64>(1024);
        let start = Instant::now();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let base = p * PER_PRODUCER;
                    for i in 0..PER_PRODUCER {
                        if tx.send(base + i).await.is_err() {
                            report::fail("send on a closed channel");
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let (mut sum, mut count) = (0u64, 0u64);
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                        count += 1;
                    }
                    (sum, count)
                })
            })
            .collect();
        drop(rx);
        for p in producers {
            p.await
                .unwrap_or_else(|e| report::fail(format!("producer: {e}")));
        }
        // Every message is sent: close the channel, as the Go twin's close(ch) after
        // prod.Wait(); the consumers drain it and stop.
        tx.close();
        let (mut sum, mut count) = (0, 0);
        for c in consumers {
            let (s, n) = c
                .await
                .unwrap_or_else(|e| report::fail(format!("consumer: {e}")));
            sum += s;
            count += n;
        }
        (start.elapsed(), sum, count)
    });
    let want = MESSAGES * (MESSAGES - 1) / 2;
    report::check(count == MESSAGES, || {
        format!("received {count} messages, want {MESSAGES}")
    });
    report::check(sum == want, || format!("sum {sum}, want {want}"));
    report::report("chan_mpmc", report::ns_per(elapsed, MESSAGES), "ns/op", &[]);
}
