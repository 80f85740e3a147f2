//! Runs the `pipeline` example (see `src/ex/pipeline.rs`).

#[path = "../ex/pipeline.rs"]
mod ex;

fn main() {
    ex::main()
}
