//! Go's first goroutine program (A Tour of Go, "Goroutines"):
//!
//! ```go
//! func say(s string) {
//!     for i := 0; i < 5; i++ {
//!         time.Sleep(100 * time.Millisecond)
//!         fmt.Println(s)
//!     }
//! }
//! func main() {
//!     go say("world")
//!     say("hello")
//! }
//! ```
//!
//! `hello` and `world` take turns, five times each, in an order the scheduler picks at each
//! turn; the last `world` may be lost, when main returns before it prints, as in Go.

use gmp_core::{go, run, sleep};
use std::time::Duration;

fn say(s: &str) {
    for _ in 0..5 {
        sleep(Duration::from_millis(100));
        println!("{s}");
    }
}

/// Runs the program.
pub fn main() {
    run(|| {
        go!(say("world"));
        say("hello");
    });
}
