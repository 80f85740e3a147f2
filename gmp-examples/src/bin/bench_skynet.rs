//! skynet: the classic benchmark (github.com/atemerev/skynet): a tree of goroutines, 10
//! children per node, 1,000,000 leaves; each leaf sends its number, each node sums its
//! children's over an unbuffered channel. Checks 499999500000; reports ms. Twin of
//! `gmp-examples/go/skynet`.

use gmp_chan::{Chan, Sender};
use gmp_examples::bench;
use std::time::Instant;

fn skynet(c: Sender<i64>, num: i64, size: i64, div: i64) {
    if size == 1 {
        let _ = c.send(num);
        return;
    }
    let rc = Chan::<i64>::new(0);
    for i in 0..div {
        let sub = num + i * (size / div);
        let tx = rc.sender();
        gmp_core::go(move || skynet(tx, sub, size / div, div));
    }
    let mut sum = 0;
    for _ in 0..div {
        sum += rc
            .recv()
            .unwrap_or_else(|| bench::fail("skynet: channel closed"));
    }
    let _ = c.send(sum);
}

fn main() {
    let flags = bench::Flags::from_env(&["procs"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    let (elapsed, sum) = rt.run(|| {
        let start = Instant::now();
        let c = Chan::<i64>::new(0);
        let tx = c.sender();
        gmp_core::go(move || skynet(tx, 0, 1_000_000, 10));
        let sum = c
            .recv()
            .unwrap_or_else(|| bench::fail("skynet: channel closed"));
        (start.elapsed(), sum)
    });
    bench::check(sum == 499_999_500_000, || {
        format!("sum {sum}, want 499999500000")
    });
    bench::report("skynet", bench::ms(elapsed), "ms", &[]);
}
