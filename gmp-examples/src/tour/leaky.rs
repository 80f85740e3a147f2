//! Two goroutine leaks Go programs are known for, found by [`gmp_core::leaked`] (Go 1.27's
//! goroutine-leak profile) and reported again when `run` returns.
//!
//! The first is the "first response wins" search (the Go blog's `First`): every replica
//! answers on one unbuffered channel, the caller takes the first answer and returns, and the
//! slower replicas block forever on their send.
//!
//! ```go
//! func First(query string, replicas ...Search) Result {
//!     c := make(chan Result)
//!     searchReplica := func(i int) { c <- replicas[i](query) }
//!     for i := range replicas {
//!         go searchReplica(i)
//!     }
//!     return <-c
//! }
//! ```
//!
//! The fix is a channel with room for every answer (`make(chan Result, len(replicas))`):
//! `first_buffered` leaks nothing.
//!
//! The second is a forgotten `wg.Done()` on an error path: the goroutine that waits for the
//! workers to close the results channel waits forever.
//!
//! ```go
//! for _, job := range jobs {
//!     wg.Add(1)
//!     go func() {
//!         if job.bad { return } // forgot wg.Done()
//!         defer wg.Done()
//!         results <- job.n
//!     }()
//! }
//! go func() { wg.Wait(); close(results) }()
//! ```
//!
//! The program prints the first answer, then `leaked()`'s report; the report printed on
//! stderr when `run` returns lists the same goroutines.

use gmp_chan::chan;
use gmp_core::{go, sleep};
use gmp_sync::WaitGroup;
use std::time::Duration;

/// A replica: answers `query` after `delay`.
fn replica(i: usize, query: &str, delay: Duration) -> String {
    sleep(delay);
    format!("{query}: result from replica {i}")
}

/// The replicas' delays: replica 0 answers first.
const DELAYS: [Duration; 3] = [
    Duration::from_millis(1),
    Duration::from_millis(10),
    Duration::from_millis(20),
];

/// Go's `First` with an unbuffered channel: the slower replicas leak.
pub fn first(query: &'static str) -> String {
    let c = chan::<String>(0);
    search_replicas(&c, query);
    c.recv().expect("a replica answers")
}

/// Starts one goroutine per replica, each sending its answer on `c`.
fn search_replicas(c: &gmp_chan::Chan<String>, query: &'static str) {
    for (i, delay) in DELAYS.into_iter().enumerate() {
        let c = c.clone();
        go(move || search_replica(&c, i, query, delay));
    }
}

/// One replica's goroutine: its answer, sent on `c`.
#[inline(never)]
fn search_replica(c: &gmp_chan::Chan<String>, i: usize, query: &str, delay: Duration) {
    let _ = c.send(replica(i, query, delay));
}

/// The fix: room for every answer, so no replica ever blocks.
pub fn first_buffered(query: &'static str) -> String {
    let c = chan::<String>(DELAYS.len());
    search_replicas(&c, query);
    c.recv().expect("a replica answers")
}

/// Sums the good jobs' numbers, as the workers send them; job 2 is bad and its worker forgets
/// `done`, so the closer waits forever and the sum is taken from what arrived by a deadline.
pub fn sum_jobs() -> u32 {
    let results = chan::<u32>(8);
    let wg = WaitGroup::new();
    for n in 1..=4u32 {
        wg.add(1);
        let (wg, results) = (wg.clone(), results.clone());
        go(move || {
            if n == 2 {
                return; // the bug: `wg` is dropped without `done`
            }
            results.send(n).unwrap();
            wg.done();
        });
    }
    let closer = results.clone();
    go(move || close_when_done(wg, closer));
    let mut sum = 0;
    // The range over `results` would never end: stop at a deadline instead.
    while let Ok(n) = results.recv_timeout(Duration::from_millis(50)) {
        sum += n;
    }
    sum
}

/// The closer's goroutine: waits for the workers, then closes the results.
#[inline(never)]
fn close_when_done(wg: WaitGroup, results: gmp_chan::Chan<u32>) {
    wg.wait();
    results.close();
}

/// Runs the program.
pub fn main() {
    gmp_core::run(|| {
        println!("{}", first("golang"));
        println!("{}", first_buffered("gmp"));
        println!("sum of the good jobs: {}", sum_jobs());
        // Let the slower replicas answer into the void, and the closer park.
        sleep(Duration::from_millis(100));
        let report = gmp_core::leaked();
        let n = report.matches("(leaked)]").count();
        println!("leaked() reports {n} goroutines:\n\n{report}");
    });
}
