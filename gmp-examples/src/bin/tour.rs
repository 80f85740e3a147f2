//! The tour: Go's classic concurrency programs, run one after another in gmp, each under a
//! heading. `cargo run --release -p gmp-examples --bin tour [NAME...]`.

#[path = "../ex/anon.rs"]
mod anon;
#[path = "../ex/goexit.rs"]
mod goexit;
#[path = "../ex/hello.rs"]
mod hello;
#[path = "../ex/newtask.rs"]
mod newtask;

/// (name, what it shows, program)
const TOUR: &[(&str, &str, fn())] = &[
    (
        "hello",
        "go say(\"world\"); say(\"hello\") — two goroutines taking turns",
        hello::main,
    ),
    (
        "anon",
        "an anonymous goroutine and a method goroutine",
        anon::main,
    ),
    (
        "newtask",
        "main and a goroutine count; main ends the program after 3",
        newtask::main,
    ),
    (
        "goexit",
        "runtime.Goexit runs the defers (drops) and ends the goroutine",
        goexit::main,
    ),
];

fn main() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    for (name, what, program) in TOUR {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        println!("=== {name}: {what}");
        program();
        println!();
    }
}
