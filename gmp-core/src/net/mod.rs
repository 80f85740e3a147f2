//! Networking that parks goroutines: [`TcpListener`], [`TcpStream`] and [`UdpSocket`] with
//! std::net's API, on gmp's netpoller (Go: package net over runtime/netpoll.go).
//!
//! Inside a goroutine, an operation that would block parks the goroutine
//! (`goroutine 7 [IO wait]:` in [`dump`](crate::dump)) and its M runs other goroutines; the
//! socket's readiness makes it runnable again. So a server can afford one goroutine per
//! connection, as in Go. Outside any goroutine the same types block the calling thread, as
//! std's blocking sockets do.
//!
//! ```
//! use gmp_core::net::{TcpListener, TcpStream};
//! use std::io::{BufRead, BufReader, Write};
//!
//! gmp_core::run(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     // An echo server: one goroutine per connection.
//!     gmp_core::go(move || {
//!         for conn in listener.incoming() {
//!             let conn = conn.unwrap();
//!             gmp_core::go(move || {
//!                 let mut lines = BufReader::new(&conn);
//!                 let mut line = String::new();
//!                 while lines.read_line(&mut line).unwrap() > 0 {
//!                     (&conn).write_all(line.as_bytes()).unwrap();
//!                     line.clear();
//!                 }
//!             });
//!         }
//!     });
//!     let clients: Vec<_> = (0..10)
//!         .map(|i| {
//!             gmp_core::go(move || {
//!                 let mut c = TcpStream::connect(addr).unwrap();
//!                 writeln!(c, "hello {i}").unwrap();
//!                 let mut echo = String::new();
//!                 BufReader::new(&c).read_line(&mut echo).unwrap();
//!                 echo
//!             })
//!         })
//!         .collect();
//!     for (i, c) in clients.into_iter().enumerate() {
//!         assert_eq!(c.join().unwrap(), format!("hello {i}\n"));
//!     }
//! });
//! ```
//!
//! # Semantics
//!
//! - Errors are std's [`io::Error`](std::io::Error)s with std's kinds: binding a port that a
//!   socket listens on fails with `AddrInUse` (no `SO_REUSEPORT`); a refused connection fails
//!   in `connect` itself with `ConnectionRefused`; a read or write that waits longer than its
//!   timeout fails with `WouldBlock` ("Resource temporarily unavailable", as std on Linux);
//!   `connect_timeout` fails with `TimedOut`. Listen backlog: 1024.
//! - Timeouts are per call, as in std, and shared with [`try_clone`](TcpStream::try_clone)s.
//! - A goroutine parked on a socket counts as wakeable for the deadlock detector, even when
//!   its peer is a plain thread or another process (Go).
//! - When the runtime shuts down, goroutines parked on sockets are cancelled like any other
//!   parked goroutine: their stacks unwind and the sockets they own are closed.
//! - Resolving a host name (`"localhost:80"`) calls the system resolver, which blocks the M.
//! - A socket is registered with the poller of the runtime whose goroutine first waits on it.
//!   A goroutine of another runtime (or a plain thread) still can use it, blocking its thread
//!   while it waits instead of parking.

mod fd;
mod sys;
mod tcp;
mod udp;

pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
