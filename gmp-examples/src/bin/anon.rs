//! See `ex/anon.rs`.
#[path = "../ex/anon.rs"]
mod ex;
fn main() {
    ex::main()
}
