//! skynet: the classic benchmark (github.com/atemerev/skynet): a tree of goroutines, 10
//! children per node, 1,000,000 leaves; each leaf sends its number, each node sums its
//! children's over an unbuffered channel. Checks 499999500000; reports ms. `--leaves=N` (a power
//! of 10) builds a smaller tree (a shorter run for callgrind). Twin of `gmp-examples/go/skynet`.

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
    let flags = bench::Flags::from_env(&["procs", "leaves"]);
    let rt = bench::runtime(bench::procs(&flags, 2));
    let leaves = flags
        .count("leaves", 1_000_000)
        .unwrap_or_else(|e| bench::fail(e)) as i64;
    let mut size = 1;
    while size < leaves {
        size *= 10;
    }
    bench::check(size == leaves, || {
        format!("--leaves={leaves} is not a power of 10")
    });
    let want = leaves * (leaves - 1) / 2;
    let (elapsed, sum) = rt.run(move || {
        let start = Instant::now();
        let c = Chan::<i64>::new(0);
        let tx = c.sender();
        gmp_core::go(move || skynet(tx, 0, leaves, 10));
        let sum = c
            .recv()
            .unwrap_or_else(|| bench::fail("skynet: channel closed"));
        (start.elapsed(), sum)
    });
    bench::check(sum == want, || format!("sum {sum}, want {want}"));
    bench::report("skynet", bench::ms(elapsed), "ms", &[]);
}
