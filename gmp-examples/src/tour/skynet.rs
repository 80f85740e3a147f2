//! The skynet benchmark (github.com/atemerev/skynet): a tree of 1,000,000 goroutines, each
//! leaf sending its number up an unbuffered channel, each inner node summing its 10 children.
//! Prints `Result: 499999500000 in N ms.` like the Go version.

use gmp_chan::{chan, Sender};
use gmp_core::go;
use std::time::Instant;

fn skynet(c: Sender<u64>, num: u64, size: u64, div: u64) {
    if size == 1 {
        c.send(num).unwrap();
        return;
    }
    let rc = chan(0);
    for i in 0..div {
        let sub_num = num + i * (size / div);
        let tx = rc.sender();
        go(move || skynet(tx, sub_num, size / div, div));
    }
    let mut sum = 0;
    for _ in 0..div {
        sum += rc.recv().unwrap();
    }
    c.send(sum).unwrap();
}

/// Runs the program: prints `Result: 499999500000 in N ms.`
pub fn main() {
    gmp_core::run(|| {
        let c = chan(0);
        let start = Instant::now();
        let tx = c.sender();
        go(move || skynet(tx, 0, 1_000_000, 10));
        let result = c.recv().unwrap();
        let took = start.elapsed();
        println!("Result: {result} in {} ms.", took.as_millis());
    });
}
