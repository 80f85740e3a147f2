//! `runtime.Goexit` runs the deferred calls and ends the goroutine; the line after it never
//! prints:
//!
//! ```go
//! func main() {
//!     go func() {
//!         defer fmt.Println("A.defer")
//!         func() {
//!             defer fmt.Println("B.defer")
//!             runtime.Goexit()
//!             fmt.Println("B")
//!         }()
//!         fmt.Println("A")
//!     }()
//!     time.Sleep(100 * time.Millisecond)
//! }
//! ```
use gmp_core::{go, goexit, run, sleep};
use std::time::Duration;

/// A drop guard that prints, standing in for Go's `defer fmt.Println(..)`.
struct Defer(&'static str);

impl Drop for Defer {
    fn drop(&mut self) {
        println!("{}", self.0);
    }
}

/// Runs the program.
pub fn main() {
    run(|| {
        go(|| {
            let _a = Defer("A.defer");
            {
                let _b = Defer("B.defer");
                goexit();
                #[allow(unreachable_code)]
                {
                    println!("B");
                }
            }
            #[allow(unreachable_code)]
            {
                println!("A");
            }
        });
        sleep(Duration::from_millis(100));
    });
}
