//! The tour: Go's classic concurrency programs run in gmp, each under a heading; all of them,
//! or the ones named. `cargo run --release -p gmp-examples --bin tour [NAME...] [FLAG...]`;
//! see [`gmp_examples::tour`].

use gmp_examples::tour;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let programs = match tour::select(&args) {
        Ok(programs) => programs,
        Err(e) => {
            eprintln!("tour: {e}");
            return ExitCode::from(2);
        }
    };
    for p in programs {
        println!("=== {}: {}", p.name, p.about);
        (p.main)();
        println!();
    }
    ExitCode::SUCCESS
}
