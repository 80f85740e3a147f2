//! main and a goroutine both count once a second; when main stops after 3, the program
//! ends and takes the goroutine with it:
//!
//! ```go
//! func newTask() {
//!     i := 0
//!     for {
//!         i++
//!         fmt.Printf("new goroutine: i = %d\n", i)
//!         time.Sleep(time.Second)
//!     }
//! }
//! func main() {
//!     go newTask()
//!     i := 0
//!     for {
//!         i++
//!         fmt.Printf("main goroutine: i = %d\n", i)
//!         time.Sleep(time.Second)
//!         if i == 3 { break }
//!     }
//! }
//! ```
use gmp_core::{go, run, sleep};
use std::time::Duration;

fn new_task() {
    let mut i = 0;
    loop {
        i += 1;
        println!("new goroutine: i = {i}");
        sleep(Duration::from_secs(1));
    }
}

/// Runs the program.
pub fn main() {
    run(|| {
        go(new_task);
        let mut i = 0;
        loop {
            i += 1;
            println!("main goroutine: i = {i}");
            sleep(Duration::from_secs(1));
            if i == 3 {
                break;
            }
        }
    });
}
