//! An anonymous goroutine and a method goroutine:
//!
//! ```go
//! func main() {
//!     go func() {
//!         fmt.Println("Hello from anonymous goroutine")
//!     }()
//!     go (new(MyStruct)).myMethod()
//! }
//! type MyStruct struct{}
//! func (m *MyStruct) myMethod() {
//!     fmt.Println("Hello from method goroutine")
//! }
//! ```
//!
//! Go's `main` returns as soon as it has started the two goroutines, and the program ends
//! with it, so the Go version usually exits before either goroutine prints. The port adds
//! the one wait it needs for both lines to appear: main joins both goroutines' handles
//! before it returns. Which line comes first is up to the scheduler, as in Go.

use gmp_core::{go, run};

struct MyStruct;

impl MyStruct {
    /// Go's `func (m *MyStruct) myMethod()`: a pointer receiver, here `&self` of a `Box`.
    fn my_method(&self) {
        println!("Hello from method goroutine");
    }
}

/// Runs the program: prints both lines, in either order.
pub fn main() {
    run(|| {
        let anonymous = go!({
            println!("Hello from anonymous goroutine");
        });
        // `new(MyStruct)` is evaluated here in main, as Go evaluates a go statement's
        // receiver before the goroutine starts; `go!` moves the box into the goroutine.
        let m = Box::new(MyStruct);
        let method = go!(m.my_method());
        // The wait Go's version lacks (see the module doc): without it, main would return
        // and the runtime would cancel both goroutines before they print.
        anonymous.join().unwrap();
        method.join().unwrap();
    });
}
