//! Fan-out, fan-in (the Go blog, "Go Concurrency Patterns: Pipelines and cancellation"):
//! `gen` emits numbers, two `sq` stages read from the same channel (fan-out), `merge` combines
//! their outputs (fan-in). Prints `4` and `9`, in either order, as Go's version does.

use gmp_chan::{chan, Receiver};
use gmp_core::go;

fn gen(nums: Vec<i64>) -> Receiver<i64> {
    let out = chan(0);
    let tx = out.sender();
    go(move || {
        for n in nums {
            tx.send(n).unwrap();
        }
        tx.close();
    });
    out.receiver()
}

fn sq(input: Receiver<i64>) -> Receiver<i64> {
    let out = chan(0);
    let tx = out.sender();
    go(move || {
        for n in input {
            tx.send(n * n).unwrap();
        }
        tx.close();
    });
    out.receiver()
}

/// Go's `merge` counts its forwarders with a `sync.WaitGroup`; here each forwarder reports on
/// a `done` channel and one goroutine closes `out` after hearing from all of them.
fn merge(cs: Vec<Receiver<i64>>) -> Receiver<i64> {
    let out = chan(0);
    let done = chan::<()>(0);
    let n = cs.len();
    for c in cs {
        let (tx, done) = (out.sender(), done.sender());
        go(move || {
            for v in c {
                tx.send(v).unwrap();
            }
            done.send(()).unwrap();
        });
    }
    let tx = out.sender();
    go(move || {
        for _ in 0..n {
            done.recv();
        }
        tx.close();
    });
    out.receiver()
}

/// Runs the program: prints `4` and `9`, in either order.
pub fn main() {
    gmp_core::run(|| {
        let input = gen(vec![2, 3]);
        // Distribute the sq work across two goroutines that both read from input.
        let c1 = sq(input.clone());
        let c2 = sq(input);
        // Consume the merged output from c1 and c2.
        for n in merge(vec![c1, c2]) {
            println!("{n}"); // 4 then 9, or 9 then 4
        }
    });
}
