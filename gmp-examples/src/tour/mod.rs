//! The tour: Go's classic concurrency programs, each ported to gmp in a module of its own
//! whose doc comment holds the Go original and whose `main` runs the port. [`PROGRAMS`] lists
//! them in tour order; the `tour` binary runs them all, or the ones [`select`] picks from its
//! arguments:
//!
//! ```sh
//! cargo run --release -p gmp-examples --bin tour            # every program, in this order
//! cargo run --release -p gmp-examples --bin tour sum anon   # sum, then anon
//! cargo run --release -p gmp-examples --bin tour -- echo_server --listen 127.0.0.1:7000
//! ```
//!
//! The seed programs are `hello`, `anon`, `newtask`, `goexit`, `sum`, `counter` and
//! `fetch_all`; each prints what its Go program prints.
//!
//! The second round shows Go's `context` and `errgroup`: `md5_bounded` (bounded parallelism
//! over a directory tree, cancelled at the first error), `fanout_deadline` (replicas racing
//! under a deadline) and `errgroup_limit` (a limit of 3 at a time, the first error cancelling
//! the rest). Each prints the same lines on every run (`md5_bounded`: for the same files),
//! which `tests/tour_round2.rs` checks. `leaky` leaks goroutines on purpose (the first-response
//! search, a forgotten `done`) and shows `gmp_core::leaked()` and the report at exit.

pub mod anon;
pub mod counter;
pub mod echo_client;
pub mod echo_server;
pub mod errgroup_limit;
pub mod fanout_deadline;
pub mod fetch_all;
pub mod goexit;
pub mod hello;
pub mod leaky;
pub mod md5_bounded;
pub mod newtask;
pub mod pipeline;
pub mod sieve;
pub mod skynet;
pub mod sum;
pub mod timeout;
pub mod workers;

use std::fmt;

/// One program of the tour.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// Its name: its module's name, and what `tour NAME` takes.
    pub name: &'static str,
    /// What it shows, in one line.
    pub about: &'static str,
    /// Its `main`.
    pub main: fn(),
}

/// Every program of the tour, in the order `tour` runs them.
pub const PROGRAMS: &[Program] = &[
    Program {
        name: "hello",
        about: "go say(\"world\"); say(\"hello\") — two goroutines taking turns",
        main: hello::main,
    },
    Program {
        name: "anon",
        about: "an anonymous goroutine and a method goroutine",
        main: anon::main,
    },
    Program {
        name: "newtask",
        about: "main and a goroutine count; main ends the program after 3",
        main: newtask::main,
    },
    Program {
        name: "goexit",
        about: "runtime.Goexit runs the defers (drops) and ends the goroutine",
        main: goexit::main,
    },
    Program {
        name: "sum",
        about: "two goroutines sum halves of a slice and send the results on a channel",
        main: sum::main,
    },
    Program {
        name: "sieve",
        about: "Go's concurrent prime sieve: a pipeline of filter goroutines",
        main: sieve::main,
    },
    Program {
        name: "pipeline",
        about: "fan-out / fan-in over channels",
        main: pipeline::main,
    },
    Program {
        name: "timeout",
        about: "select with time::after",
        main: timeout::main,
    },
    Program {
        name: "skynet",
        about: "1,000,000 goroutines summing over channels",
        main: skynet::main,
    },
    Program {
        name: "counter",
        about: "1000 goroutines increment a counter under a Mutex, with a WaitGroup",
        main: counter::main,
    },
    Program {
        name: "workers",
        about: "a worker pool: jobs and results channels, a WaitGroup",
        main: workers::main,
    },
    Program {
        name: "echo_server",
        about: "a TCP echo server, one goroutine per connection (gmp_core::net)",
        main: echo_server::main,
    },
    Program {
        name: "echo_client",
        about: "100 concurrent connections for 1 s, each a goroutine: requests/s and latency",
        main: echo_client::main,
    },
    Program {
        name: "fetch_all",
        about: "concurrent HTTP fetches with a per-request timeout (select! + time::after)",
        main: fetch_all::main,
    },
    Program {
        name: "md5_bounded",
        about: "MD5 of a directory tree by 20 digester goroutines; a Context cancels the rest",
        main: md5_bounded::main,
    },
    Program {
        name: "fanout_deadline",
        about: "Google Search 3.0 with a context: replicas race, a 100 ms deadline cuts the rest",
        main: fanout_deadline::main,
    },
    Program {
        name: "errgroup_limit",
        about: "errgroup with set_limit(3): the first error cancels the group's context",
        main: errgroup_limit::main,
    },
    Program {
        name: "leaky",
        about: "two classic goroutine leaks, found by gmp_core::leaked() and reported at exit",
        main: leaky::main,
    },
];

/// The programs the tour's arguments name, in the order given; every program when no name
/// is given.
///
/// The names are the arguments before the first one that starts with `-`; that one and the
/// rest are the programs' own flags (`echo_server --listen ADDR`, `echo_client --conns N`),
/// which those programs read from the command line themselves.
///
/// # Errors
/// The first name no program has.
pub fn select<S: AsRef<str>>(args: &[S]) -> Result<Vec<Program>, UnknownProgram> {
    let names: Vec<&str> = args
        .iter()
        .map(AsRef::as_ref)
        .take_while(|a| !a.starts_with('-'))
        .collect();
    if names.is_empty() {
        return Ok(PROGRAMS.to_vec());
    }
    names
        .into_iter()
        .map(|name| {
            PROGRAMS
                .iter()
                .find(|p| p.name == name)
                .copied()
                .ok_or_else(|| UnknownProgram(name.to_string()))
        })
        .collect()
}

/// A name given to the tour that no program has; its `Display` lists the valid names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProgram(pub String);

impl fmt::Display for UnknownProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no program named `{}`; the programs are: ", self.0)?;
        for (i, p) in PROGRAMS.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{}", p.name)?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownProgram {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &[&str]) -> Result<Vec<&'static str>, UnknownProgram> {
        select(args).map(|ps| ps.iter().map(|p| p.name).collect())
    }

    #[test]
    fn no_arguments_select_every_program_in_tour_order() {
        let all: Vec<_> = PROGRAMS.iter().map(|p| p.name).collect();
        assert_eq!(names(&[]).unwrap(), all);
        assert_eq!(all.len(), 18);
    }

    #[test]
    fn names_select_only_those_programs_in_the_order_given() {
        assert_eq!(names(&["hello"]).unwrap(), ["hello"]);
        assert_eq!(names(&["sum", "anon"]).unwrap(), ["sum", "anon"]);
    }

    #[test]
    fn flags_after_the_names_are_left_to_the_programs() {
        let args = ["echo_server", "--listen", "127.0.0.1:7000"];
        assert_eq!(names(&args).unwrap(), ["echo_server"]);
    }

    #[test]
    fn an_unknown_name_is_an_error_that_lists_the_valid_names() {
        let err = select(&["sum", "nope", "also_nope"]).unwrap_err();
        assert_eq!(err, UnknownProgram("nope".to_string()));
        let msg = err.to_string();
        assert!(msg.starts_with("no program named `nope`;"), "{msg}");
        for p in PROGRAMS {
            assert!(msg.contains(p.name), "{msg} lacks {}", p.name);
        }
    }

    #[test]
    fn program_names_are_unique_module_names() {
        for (i, p) in PROGRAMS.iter().enumerate() {
            assert!(PROGRAMS[..i].iter().all(|q| q.name != p.name), "{}", p.name);
            // A snake_case module name: `md5_bounded` has a digit, none starts with one.
            let snake = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
            assert!(p.name.chars().all(snake), "{}", p.name);
            assert!(
                p.name.starts_with(|c: char| c.is_ascii_lowercase()),
                "{}",
                p.name
            );
        }
    }
}
