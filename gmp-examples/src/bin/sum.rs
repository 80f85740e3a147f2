//! Runs the `sum` example (see `src/ex/sum.rs`).

#[path = "../ex/sum.rs"]
mod ex;

fn main() {
    ex::main()
}
