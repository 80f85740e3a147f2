//! See `ex/goexit.rs`.
#[path = "../ex/goexit.rs"]
mod ex;
fn main() {
    ex::main()
}
