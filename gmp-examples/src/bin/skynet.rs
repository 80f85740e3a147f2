//! Runs the `skynet` example (see `src/ex/skynet.rs`).

#[path = "../ex/skynet.rs"]
mod ex;

fn main() {
    ex::main()
}
