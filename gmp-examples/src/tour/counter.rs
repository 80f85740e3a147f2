//! 1000 goroutines increment a counter under a Mutex; a WaitGroup waits for them all:
//!
//! ```go
//! func main() {
//!     var mu sync.Mutex
//!     var wg sync.WaitGroup
//!     counter := 0
//!     for i := 0; i < 1000; i++ {
//!         wg.Add(1)
//!         go func() {
//!             defer wg.Done()
//!             mu.Lock()
//!             counter++
//!             mu.Unlock()
//!         }()
//!     }
//!     wg.Wait()
//!     fmt.Println("Final counter value:", counter)
//! }
//! ```
//!
//! gmp's `Mutex` holds the counter it guards, so the port shares it through an `Arc`
//! instead of capturing a variable by reference.

use gmp_sync::{Mutex, WaitGroup};
use std::sync::Arc;

/// Runs the example: prints `Final counter value: 1000`.
pub fn main() {
    gmp_core::run(|| {
        let counter = Arc::new(Mutex::new(0));
        let wg = WaitGroup::new();
        for _ in 0..1000 {
            wg.add(1);
            let (counter, wg) = (counter.clone(), wg.clone());
            gmp_core::go(move || {
                *counter.lock() += 1;
                wg.done();
            });
        }
        wg.wait();
        println!("Final counter value: {}", *counter.lock());
    });
}
