//! Runs the `fetch_all` example (see `src/ex/fetch_all.rs`).

#[path = "../ex/fetch_all.rs"]
mod ex;

fn main() {
    ex::main()
}
