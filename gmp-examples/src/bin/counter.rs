//! Runs the `counter` example (see `src/ex/counter.rs`).

#[path = "../ex/counter.rs"]
mod ex;

fn main() {
    ex::main()
}
