//! Go's concurrent prime sieve (go.dev/doc/play/sieve.go): a chain of filter goroutines,
//! one per prime found. Prints the first ten primes, one per line.

use gmp_chan::{chan, Receiver, Sender};
use gmp_core::go;

/// Send the sequence 2, 3, 4, ... to channel `ch`.
fn generate(ch: Sender<u64>) {
    for i in 2.. {
        ch.send(i).unwrap();
    }
}

/// Copy the values from channel `input` to channel `out`, removing those divisible by `prime`.
fn filter(input: Receiver<u64>, out: Sender<u64>, prime: u64) {
    for i in input {
        if i % prime != 0 {
            out.send(i).unwrap();
        }
    }
}

/// The prime sieve: daisy-chain filter processes. When `main` returns, the filter goroutines
/// still blocked on their channels are cancelled, as a Go program ends with `main`.
pub fn main() {
    gmp_core::run(|| {
        let mut ch = chan(0);
        let tx = ch.sender();
        go!(generate(tx));
        for _ in 0..10 {
            let prime = ch.recv().unwrap();
            println!("{prime}");
            let ch1 = chan(0);
            go!(filter(ch.receiver(), ch1.sender(), prime)); // go filter(ch, ch1, prime)
            ch = ch1;
        }
    });
}
