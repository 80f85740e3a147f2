//! The seed program (A Tour of Go, "Channels"): two goroutines sum the halves of a slice and
//! send their partial sums over an unbuffered channel. Prints `-5 17 12` or `17 -5 12`.

use gmp_chan::{chan, Sender};
use gmp_core::go;

fn sum(s: &[i32], c: Sender<i32>) {
    let total: i32 = s.iter().sum();
    c.send(total).unwrap(); // send sum to c
}

/// Go:
/// ```text
/// s := []int{7, 2, 8, -9, 4, 0}
/// c := make(chan int)
/// go sum(s[:len(s)/2], c)
/// go sum(s[len(s)/2:], c)
/// x, y := <-c, <-c // receive from c
/// fmt.Println(x, y, x+y)
/// ```
pub fn main() {
    gmp_core::run(|| {
        let s = [7, 2, 8, -9, 4, 0];
        let c = chan(0);
        let (first, second) = s.split_at(s.len() / 2);
        let (first, second) = (first.to_vec(), second.to_vec());
        let (c1, c2) = (c.sender(), c.sender());
        go(move || sum(&first, c1));
        go(move || sum(&second, c2));
        let (x, y) = (c.recv().unwrap(), c.recv().unwrap()); // receive from c
        println!("{x} {y} {}", x + y);
    });
}
