//! Runs the `timeout` example (see `src/ex/timeout.rs`).

#[path = "../ex/timeout.rs"]
mod ex;

fn main() {
    ex::main()
}
