//! Example programs and benchmark workloads for gmp.
//!
//! - [`tour`]: Go's classic concurrency programs ported to gmp, one module each
//!   (`gmp_examples::tour::hello`, `…::sum`, …). A module's doc comment names the Go program
//!   it ports (the seed programs quote it whole, and print what it prints); its `main` runs
//!   the port. The `tour` binary runs them: `cargo run --release -p gmp-examples --bin tour
//!   [NAME...]`.
//! - [`bench`](mod@bench): what the benchmark workloads (`src/bin/bench_*.rs`, run by
//!   `cargo xtask bench` beside their Go twins in `gmp-examples/go/`) share.
//!
//! A tour program is a plain function; this one prints `-5 17 12` or `17 -5 12`:
//!
//! ```
//! gmp_examples::tour::sum::main();
//! ```

pub mod bench;
mod report;
pub mod tour;
