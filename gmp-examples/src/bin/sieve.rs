//! Runs the `sieve` example (see `src/ex/sieve.rs`).

#[path = "../ex/sieve.rs"]
mod ex;

fn main() {
    ex::main()
}
