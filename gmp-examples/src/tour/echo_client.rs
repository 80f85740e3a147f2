//! An echo load generator: N concurrent connections, each driven by its own goroutine that
//! writes a message and waits for the echo, over and over; then requests/s and latency
//! percentiles.
//!
//! Flags: `--addr ADDR` (default: an echo server started in this process, one goroutine per
//! connection), `--conns N` (100), `--secs S` (1), `--size BYTES` (64), after the program's
//! name: `cargo run --release -p gmp-examples --bin tour -- echo_client --conns 10`. Other
//! arguments (the tour's program names) are ignored.

use gmp_core::go;
use gmp_core::net::{TcpListener, TcpStream};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

struct Opts {
    addr: Option<String>,
    conns: usize,
    secs: f64,
    size: usize,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        addr: None,
        conns: 100,
        secs: 1.0,
        size: 64,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(flag) = a.strip_prefix("--") else {
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, v.to_string()),
            None => (
                flag,
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("--{flag} needs a value"))?,
            ),
        };
        let bad = |what: &str| format!("--{name} takes {what}, not `{value}`");
        let count = |what: &str| {
            value
                .parse()
                .ok()
                .filter(|&n: &usize| n > 0)
                .ok_or_else(|| bad(what))
        };
        match name {
            "addr" => o.addr = Some(value.clone()),
            "conns" => o.conns = count("a count ≥ 1")?,
            "secs" => {
                o.secs = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && s.is_finite())
                    .ok_or_else(|| bad("seconds > 0"))?
            }
            "size" => o.size = count("a byte count ≥ 1")?,
            _ => {
                return Err(format!(
                    "unknown flag --{name} (known: --addr, --conns, --secs, --size)"
                ))
            }
        }
    }
    Ok(o)
}

/// An in-process echo server; returns its address.
fn start_server() -> io::Result<SocketAddr> {
    let ln = TcpListener::bind("127.0.0.1:0")?;
    let addr = ln.local_addr()?;
    go(move || {
        for conn in ln.incoming().flatten() {
            go(move || {
                let _ = io::copy(&mut &conn, &mut &conn);
            });
        }
    });
    Ok(addr)
}

/// One connection's loop until `end`: the latency of every round trip, in ns.
fn client(addr: SocketAddr, size: usize, end: Instant) -> io::Result<Vec<u64>> {
    let mut conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let out = vec![b'x'; size];
    let mut back = vec![0; size];
    let mut lat = Vec::new();
    loop {
        let t = Instant::now();
        if t >= end {
            return Ok(lat);
        }
        conn.write_all(&out)?;
        conn.read_exact(&mut back)?;
        lat.push(t.elapsed().as_nanos() as u64);
    }
}

fn percentile_us(sorted: &[u64], p: f64) -> f64 {
    let i = ((p * sorted.len() as f64) as usize).min(sorted.len() - 1);
    sorted[i] as f64 / 1e3
}

/// Runs the program: parses its flags, then drives the connections and prints the figures.
pub fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("echo_client: {e}");
            std::process::exit(2);
        }
    };
    gmp_core::run(move || {
        let addr: SocketAddr = match &o.addr {
            Some(a) => match a.parse() {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("echo_client: --addr {a}: {e}");
                    std::process::exit(2);
                }
            },
            None => start_server().expect("start the echo server"),
        };
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(o.secs);
        let size = o.size;
        let clients: Vec<_> = (0..o.conns)
            .map(|_| go(move || client(addr, size, end)))
            .collect();
        let mut all = Vec::new();
        let mut failed = 0;
        for c in clients {
            match c.join() {
                Ok(Ok(lat)) => all.extend(lat),
                Ok(Err(e)) => {
                    failed += 1;
                    eprintln!("echo_client: connection failed: {e}");
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("echo_client: client panicked: {e}");
                }
            }
        }
        let elapsed = start.elapsed();
        all.sort_unstable();
        println!(
            "{} connections to {addr}, {} round trips of {size} bytes in {:.2} s{}",
            o.conns,
            all.len(),
            elapsed.as_secs_f64(),
            if failed > 0 {
                format!(" ({failed} connections failed)")
            } else {
                String::new()
            }
        );
        if all.is_empty() {
            println!("no round trip completed");
            return;
        }
        println!(
            "{:.0} requests/s, latency p50 {:.1} µs, p99 {:.1} µs",
            all.len() as f64 / elapsed.as_secs_f64(),
            percentile_us(&all, 0.50),
            percentile_us(&all, 0.99)
        );
    });
}
