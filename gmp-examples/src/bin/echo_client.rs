//! Runs the `echo_client` example (see `src/ex/echo_client.rs`).

#[path = "../ex/echo_client.rs"]
mod ex;

fn main() {
    ex::main()
}
