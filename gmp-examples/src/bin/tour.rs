//! The tour: Go's classic concurrency programs, run one after another in gmp, each under a
//! heading. `cargo run --release -p gmp-examples --bin tour [NAME...]`.

#[path = "../ex/anon.rs"]
mod anon;
#[path = "../ex/counter.rs"]
mod counter;
#[path = "../ex/echo_client.rs"]
mod echo_client;
#[path = "../ex/echo_server.rs"]
mod echo_server;
#[path = "../ex/fetch_all.rs"]
mod fetch_all;
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
#[path = "../ex/workers.rs"]
mod workers;

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
    (
        "workers",
        "a worker pool: jobs and results channels, a WaitGroup",
        workers::main,
    ),
    (
        "echo_server",
        "a TCP echo server, one goroutine per connection (gmp_core::net)",
        echo_server::main,
    ),
    (
        "echo_client",
        "100 concurrent connections for 1 s, each a goroutine: requests/s and latency",
        echo_client::main,
    ),
    (
        "fetch_all",
        "concurrent HTTP fetches with a per-request timeout (select! + time::after)",
        fetch_all::main,
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
