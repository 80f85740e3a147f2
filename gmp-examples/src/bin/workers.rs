//! Runs the `workers` example (see `src/ex/workers.rs`).

#[path = "../ex/workers.rs"]
mod ex;

fn main() {
    ex::main()
}
