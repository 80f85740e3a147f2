//! Channels (A Tour of Go, "Channels"): two goroutines sum the halves of a slice and send
//! their partial sums over an unbuffered channel:
//!
//! ```go
//! func sum(s []int, c chan int) {
//!     sum := 0
//!     for _, v := range s {
//!         sum += v
//!     }
//!     c <- sum // send sum to c
//! }
//! func main() {
//!     s := []int{7, 2, 8, -9, 4, 0}
//!     c := make(chan int)
//!     go sum(s[:len(s)/2], c)
//!     go sum(s[len(s)/2:], c)
//!     x, y := <-c, <-c // receive from c
//!     fmt.Println(x, y, x+y)
//! }
//! ```
//!
//! It prints `-5 17 12`, or `17 -5 12`: which goroutine sends first is up to the scheduler,
//! as in Go. The README's quick example is this port, with `3` written for `len(s)/2`. As in
//! Go, `go!` evaluates the call's arguments (the halves, `c.sender()`) in main, before the
//! goroutine starts.

use gmp_chan::{chan, Sender};
use gmp_core::go;

fn sum(s: Vec<i32>, c: Sender<i32>) {
    c.send(s.iter().sum()).unwrap(); // send sum to c
}

/// Runs the program: prints `-5 17 12` or `17 -5 12`.
pub fn main() {
    gmp_core::run(|| {
        let s = [7, 2, 8, -9, 4, 0];
        let c = chan(0); // c := make(chan int)
        let half = s.len() / 2;
        go!(sum(s[..half].to_vec(), c.sender())); // go sum(s[:len(s)/2], c)
        go!(sum(s[half..].to_vec(), c.sender())); // go sum(s[len(s)/2:], c)
        let (x, y) = (c.recv().unwrap(), c.recv().unwrap()); // x, y := <-c, <-c
        println!("{x} {y} {}", x + y);
    });
}
