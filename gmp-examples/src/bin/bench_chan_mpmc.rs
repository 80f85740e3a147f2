//! chan_mpmc: a buffered channel of capacity 1024, 4 producers and 4 consumers, 10,000,000
//! messages in all. Reports ns per message and checks the count and the sum. Twin of
//! `gmp-examples/go/chan_mpmc`.

use gmp_chan::Chan;
use gmp_examples::bench;
use std::time::Instant;

const PRODUCERS: u64 = 4;
const CONSUMERS: u64 = 4;
const MESSAGES: u64 = 10_000_000;
const PER_PRODUCER: u64 = MESSAGES / PRODUCERS;

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (elapsed, sum, count) = rt.run(|| {
        let ch = Chan::<u64>::new(1024);
        let start = Instant::now();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let ch = ch.clone();
                gmp_core::go(move || {
                    let base = p * PER_PRODUCER;
                    for i in 0..PER_PRODUCER {
                        if ch.send(base + i).is_err() {
                            bench::fail("send on a closed channel");
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let ch = ch.clone();
                gmp_core::go(move || {
                    let (mut sum, mut count) = (0u64, 0u64);
                    for v in &ch {
                        sum += v;
                        count += 1;
                    }
                    (sum, count)
                })
            })
            .collect();
        for p in producers {
            p.join()
                .unwrap_or_else(|e| bench::fail(format!("producer: {e}")));
        }
        ch.close();
        let (mut sum, mut count) = (0, 0);
        for c in consumers {
            let (s, n) = c
                .join()
                .unwrap_or_else(|e| bench::fail(format!("consumer: {e}")));
            sum += s;
            count += n;
        }
        (start.elapsed(), sum, count)
    });
    let want = MESSAGES * (MESSAGES - 1) / 2;
    bench::check(count == MESSAGES, || {
        format!("received {count} messages, want {MESSAGES}")
    });
    bench::check(sum == want, || format!("sum {sum}, want {want}"));
    bench::report("chan_mpmc", bench::ns_per(elapsed, MESSAGES), "ns/op", &[]);
}
