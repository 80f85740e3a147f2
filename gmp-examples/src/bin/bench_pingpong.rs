//! pingpong: 2 goroutines bounce an int over 2 unbuffered channels, 1,000,000 round trips.
//! Reports ns per round trip. `--procs=1` is the pingpong_p1 row; `--trips=N` runs N round trips
//! instead (a shorter run for callgrind). Twin of `gmp-examples/go/pingpong`.

use gmp_chan::Chan;
use gmp_examples::bench;
use std::time::Instant;

const TRIPS: u64 = 1_000_000;

fn main() {
    let flags = bench::Flags::from_env(&["procs", "trips"]);
    let procs = bench::procs(&flags, 2);
    let trips = flags
        .count("trips", TRIPS as usize)
        .unwrap_or_else(|e| bench::fail(e)) as u64;
    let rt = bench::runtime(procs);
    let (elapsed, v, open) = rt.run(move || {
        let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
        let start = Instant::now();
        {
            let (ping, pong) = (ping.clone(), pong.clone());
            gmp_core::go(move || {
                for v in &ping {
                    if pong.send(v + 1).is_err() {
                        return;
                    }
                }
                pong.close();
            });
        }
        let mut v = 0;
        for _ in 0..trips {
            if ping.send(v).is_err() {
                bench::fail("ping closed");
            }
            v = pong.recv().unwrap_or_else(|| bench::fail("pong closed"));
        }
        ping.close();
        let open = pong.recv().is_some();
        (start.elapsed(), v, open)
    });
    bench::check(v == trips, || {
        format!("value {v} after {trips} round trips")
    });
    bench::check(!open, || "pong not closed");
    let row = if procs == 1 {
        "pingpong_p1"
    } else {
        "pingpong"
    };
    bench::report(row, bench::ns_per(elapsed, trips), "ns/op", &[]);
}
