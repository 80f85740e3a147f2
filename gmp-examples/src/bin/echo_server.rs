//! Runs the `echo_server` example (see `src/ex/echo_server.rs`).

#[path = "../ex/echo_server.rs"]
mod ex;

fn main() {
    ex::main()
}
