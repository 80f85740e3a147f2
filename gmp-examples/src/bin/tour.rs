//! The tour: Go's classic concurrency programs, run one after another in gmp, each under a
//! heading. `cargo run --release -p gmp-examples --bin tour [NAME...]`.

#[path = "../ex/anon.rs"]
mod anon;
#[path = "../ex/counter.rs"]
mod counter;
#[path = "../ex/goexit.rs"]
mod goexit;
#[path = "../ex/hello.rs"]
mod hello;
#[path = "../ex/newtask.rs"]
mod newtask;
#[path = "../ex/pipeline.rs"]
mod pipeline;
#[path = "../ex/sieve.rs"]
mod sieve;
#[path = "../ex/skynet.rs"]
mod skynet;
#[path = "../ex/sum.rs"]
mod sum;
#[path = "../ex/timeout.rs"]
mod timeout;

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
    (
        "sum",
        "two goroutines sum halves of a slice and send the results on a channel",
        sum::main,
    ),
    (
        "sieve",
        "Go's concurrent prime sieve: a pipeline of filter goroutines",
        sieve::main,
    ),
    ("pipeline", "fan-out / fan-in over channels", pipeline::main),
    ("timeout", "select with time::after", timeout::main),
    (
        "skynet",
        "1,000,000 goroutines summing over channels",
        skynet::main,
    ),
    (
        "counter",
        "1000 goroutines increment a counter under a Mutex, with a WaitGroup",
        counter::main,
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
