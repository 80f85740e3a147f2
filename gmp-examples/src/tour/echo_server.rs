//! An echo server with one goroutine per connection, Go's classic
//! `for { conn, _ := ln.Accept(); go handle(conn) }` on `gmp_core::net`.
//!
//! With no flags it listens on a free loopback port, lets three client goroutines talk to it
//! and prints what each got back; with `--listen ADDR` it serves on ADDR until killed
//! (try `nc 127.0.0.1 7000` after
//! `cargo run --release -p gmp-examples --bin tour -- echo_server --listen 127.0.0.1:7000`).

use gmp_core::go;
use gmp_core::net::{TcpListener, TcpStream};
use std::io::{self, BufRead, BufReader, Write};

/// Copies everything the client sends back to it, until it hangs up.
fn handle(conn: TcpStream) -> io::Result<u64> {
    let mut reader = &conn;
    let mut writer = &conn;
    io::copy(&mut reader, &mut writer)
}

/// `--listen ADDR` (or `--listen=ADDR`) among the arguments; other arguments (the tour's
/// program names) are ignored.
fn listen_flag() -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix("--listen=") {
            return Some(v.to_string());
        }
        if a == "--listen" {
            return it.next().cloned();
        }
    }
    None
}

/// Runs the program: the three-client demo, or `--listen ADDR` until killed.
pub fn main() {
    let listen = listen_flag();
    gmp_core::run(move || {
        let addr = listen.clone().unwrap_or_else(|| "127.0.0.1:0".to_string());
        let ln = match TcpListener::bind(&addr) {
            Ok(ln) => ln,
            Err(e) => {
                eprintln!("echo_server: listen on {addr}: {e}");
                std::process::exit(1);
            }
        };
        let local = ln.local_addr().expect("a bound listener has an address");
        let server = go(move || {
            for conn in ln.incoming() {
                match conn {
                    Ok(conn) => {
                        go(move || {
                            if let Err(e) = handle(conn) {
                                eprintln!("echo_server: connection: {e}");
                            }
                        });
                    }
                    Err(e) => eprintln!("echo_server: accept: {e}"),
                }
            }
        });
        if listen.is_some() {
            println!("echo_server: listening on {local}");
            let _ = server.join();
            return;
        }
        // The demo: three clients at once, each in its own goroutine.
        let clients: Vec<_> = ["alice", "bob", "carol"]
            .into_iter()
            .map(|name| {
                go(move || -> io::Result<String> {
                    let mut conn = TcpStream::connect(local)?;
                    writeln!(conn, "hello from {name}")?;
                    let mut line = String::new();
                    BufReader::new(&conn).read_line(&mut line)?;
                    Ok(format!("{name} got back: {}", line.trim_end()))
                })
            })
            .collect();
        for c in clients {
            match c.join() {
                Ok(Ok(line)) => println!("{line}"),
                Ok(Err(e)) => println!("client failed: {e}"),
                Err(e) => println!("client panicked: {e}"),
            }
        }
    });
}
