//! See `ex/newtask.rs`.
#[path = "../ex/newtask.rs"]
mod ex;
fn main() {
    ex::main()
}
