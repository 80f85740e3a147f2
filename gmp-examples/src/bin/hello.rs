//! See `ex/hello.rs`.
#[path = "../ex/hello.rs"]
mod ex;
fn main() {
    ex::main()
}
