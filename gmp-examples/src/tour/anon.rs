//! An anonymous goroutine and a method goroutine:
//!
//! ```go
//! type Gopher struct{ name string }
//! func (g Gopher) greet(wg *sync.WaitGroup) { defer wg.Done(); fmt.Println("hello from a method goroutine,", g.name) }
//! func main() {
//!     var wg sync.WaitGroup
//!     wg.Add(2)
//!     go func(msg string) { defer wg.Done(); fmt.Println(msg) }("hello from an anonymous goroutine")
//!     go Gopher{"gopher"}.greet(&wg)
//!     wg.Wait()
//!     fmt.Println("both done")
//! }
//! ```
use gmp_core::{go, run};

struct Gopher {
    name: String,
}

impl Gopher {
    fn greet(&self) {
        println!("hello from a method goroutine, {}", self.name);
    }
}

/// Runs the program.
pub fn main() {
    run(|| {
        let msg = "hello from an anonymous goroutine";
        let a = go(move || println!("{msg}"));
        a.join().unwrap();
        let g = Gopher {
            name: "gopher".into(),
        };
        let b = go!(g.greet());
        b.join().unwrap();
        println!("both done");
    });
}
