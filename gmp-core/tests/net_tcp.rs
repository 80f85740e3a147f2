//! gmp_core::net's TCP types: each test runs on a plain thread (std's blocking behaviour) and
//! in goroutines on 1 and 2 Ps (the netpoller).

use gmp_core::net::{TcpListener, TcpStream};
use gmp_core::Runtime;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

mod common;
use common::{everywhere, spawn};

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> SocketAddr {
    let (l, a) = listener();
    drop(l);
    a
}

#[test]
fn types_are_send_sync_debug() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<TcpListener>();
    check::<TcpStream>();
    check::<gmp_core::net::UdpSocket>();
    let (l, a) = listener();
    let s = TcpStream::connect(a).unwrap();
    assert!(format!("{l:?}").contains("TcpListener"));
    assert!(format!("{s:?}").contains(&a.to_string()));
}

#[test]
fn echo_round_trip() {
    everywhere(|| {
        let (l, addr) = listener();
        let server = spawn(move || {
            let (mut c, peer) = l.accept().unwrap();
            assert_eq!(peer, c.peer_addr().unwrap());
            let mut buf = [0u8; 4096];
            let mut total = 0;
            loop {
                let n = c.read(&mut buf).unwrap();
                if n == 0 {
                    return total;
                }
                c.write_all(&buf[..n]).unwrap();
                total += n;
            }
        });
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
        // Small messages, one at a time.
        for i in 0..100u32 {
            let msg = i.to_le_bytes();
            c.write_all(&msg).unwrap();
            let mut back = [0; 4];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, msg);
        }
        // 4 MiB through a clone while this side reads: both directions fill their buffers, so
        // writes block (park) too.
        let payload: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
        let expect = payload.clone();
        let mut w = c.try_clone().unwrap();
        let writer = spawn(move || {
            w.write_all(&payload).unwrap();
            w.shutdown(Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        writer.join();
        assert!(back == expect, "echoed payload differs");
        assert_eq!(server.join(), 400 + (4 << 20));
    });
}

#[test]
fn thousand_concurrent_connections() {
    const N: usize = 1000;
    raise_fd_limit(2 * N as u64 + 256);
    everywhere(|| {
        // The server: one goroutine per connection, in a runtime of its own when this test
        // runs on a plain thread.
        let (l, addr) = listener();
        let server_rt = if gmp_core::current_id().is_some() {
            None
        } else {
            Some(Runtime::builder().procs(2).build().unwrap())
        };
        let serve = move || {
            for _ in 0..N {
                let (mut c, _) = l.accept().unwrap();
                gmp_core::go(move || {
                    let mut buf = [0u8; 64];
                    loop {
                        match c.read(&mut buf).unwrap() {
                            0 => return,
                            n => c.write_all(&buf[..n]).unwrap(),
                        }
                    }
                });
            }
        };
        let acceptor = match &server_rt {
            Some(rt) => rt.go(serve),
            None => gmp_core::go(serve),
        };
        if gmp_core::current_id().is_some() {
            // N client goroutines, all connected at once, each echoing 10 messages.
            let clients: Vec<_> = (0..N)
                .map(|i| {
                    gmp_core::go(move || {
                        let mut c = TcpStream::connect(addr).unwrap();
                        for k in 0..10u64 {
                            let msg = [(i as u64) << 8 | k; 8].map(u64::to_le_bytes).concat();
                            c.write_all(&msg).unwrap();
                            let mut back = [0u8; 64];
                            c.read_exact(&mut back).unwrap();
                            assert_eq!(&back[..], &msg[..]);
                        }
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
        } else {
            // One thread holds all N connections open at once, each a blocking std-like socket.
            let mut conns: Vec<TcpStream> =
                (0..N).map(|_| TcpStream::connect(addr).unwrap()).collect();
            for (i, c) in conns.iter_mut().enumerate() {
                c.write_all(&(i as u64).to_le_bytes()).unwrap();
            }
            for (i, c) in conns.iter_mut().enumerate() {
                let mut back = [0u8; 8];
                c.read_exact(&mut back).unwrap();
                assert_eq!(u64::from_le_bytes(back), i as u64);
            }
        }
        acceptor.join().unwrap();
        drop(server_rt);
    });
}

/// 1,000 connections need about 2,000 fds: raise the soft limit to the hard one if needed.
fn raise_fd_limit(need: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit we pass.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur >= need {
        return;
    }
    assert!(
        lim.rlim_max >= need,
        "this test needs {need} open files but the hard limit (ulimit -Hn) is {}",
        lim.rlim_max
    );
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads the rlimit we pass.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(
        r,
        0,
        "cannot raise the open-files limit to {need}: {}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn read_and_write_timeouts() {
    everywhere(|| {
        let (l, addr) = listener();
        let c = TcpStream::connect(addr).unwrap();
        let (s, _) = l.accept().unwrap();
        assert_eq!(c.read_timeout().unwrap(), None);
        let t = Duration::from_millis(30);
        c.set_read_timeout(Some(t)).unwrap();
        assert_eq!(c.read_timeout().unwrap(), Some(t));
        let start = Instant::now();
        let e = (&c).read(&mut [0; 16]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
        assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
        let waited = start.elapsed();
        assert!(
            waited >= t && waited < Duration::from_secs(10),
            "{waited:?}"
        );
        // Clones share the timeout, as std's do.
        assert_eq!(c.try_clone().unwrap().read_timeout().unwrap(), Some(t));
        // The socket still works after a timeout.
        (&s).write_all(b"late").unwrap();
        let mut buf = [0; 4];
        (&c).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        // peek waits (and times out) like read.
        let e = c.peek(&mut [0; 4]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        // A writer whose peer never reads fills the buffers, then times out.
        s.set_write_timeout(Some(t)).unwrap();
        let chunk = vec![7u8; 1 << 16];
        let mut sent = 0usize;
        let e = loop {
            match (&s).write(&chunk) {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
            assert!(sent < 1 << 30, "a write never timed out");
        };
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
        assert!(sent > 0);
        // Zero timeouts are refused, as in std; None clears.
        assert_eq!(
            c.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        c.set_read_timeout(None).unwrap();
        assert_eq!(c.read_timeout().unwrap(), None);
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    everywhere(|| {
        let a = closed_port();
        let e = TcpStream::connect(a).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        let e = TcpStream::connect_timeout(&a, Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        let e = TcpStream::connect_timeout(&a, Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = TcpStream::connect("no port here").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    });
}

#[test]
fn bind_to_a_used_port_is_addr_in_use() {
    everywhere(|| {
        let (l, addr) = listener();
        let e = TcpListener::bind(addr).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
        drop(l);
        // SO_REUSEADDR (as std): the port can be bound again once closed.
        TcpListener::bind(addr).unwrap();
    });
}

#[test]
fn peer_closing_mid_read_gives_eof() {
    everywhere(|| {
        let (l, addr) = listener();
        let closer = spawn(move || {
            let (s, _) = l.accept().unwrap();
            (&s).write_all(b"x").unwrap();
            // Let the reader block first.
            gmp_core::sleep(Duration::from_millis(30));
            drop(s);
        });
        let mut c = TcpStream::connect(addr).unwrap();
        let mut buf = [0; 8];
        assert_eq!(c.read(&mut buf).unwrap(), 1);
        assert_eq!(c.read(&mut buf).unwrap(), 0);
        closer.join();
        // Shutting down our own read half ends a read too.
        let (l, addr) = listener();
        let c = TcpStream::connect(addr).unwrap();
        let (_s, _) = l.accept().unwrap();
        let c2 = c.try_clone().unwrap();
        let reader = spawn(move || (&c2).read(&mut [0; 8]).unwrap());
        gmp_core::sleep(Duration::from_millis(30));
        c.shutdown(Shutdown::Read).unwrap();
        assert_eq!(reader.join(), 0);
    });
}

#[test]
fn incoming_accepts_in_order_and_addresses_match() {
    everywhere(|| {
        let (l, addr) = listener();
        let clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        for (c, s) in clients.iter().zip(l.incoming()) {
            let s = s.unwrap();
            assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
            assert_eq!(s.local_addr().unwrap(), c.peer_addr().unwrap());
        }
        l.set_ttl(42).unwrap();
        assert_eq!(l.ttl().unwrap(), 42);
        clients[0].set_ttl(7).unwrap();
        assert_eq!(clients[0].ttl().unwrap(), 7);
        assert!(clients[0].take_error().unwrap().is_none());
        // A non-blocking listener returns WouldBlock instead of waiting.
        let l2 = l.try_clone().unwrap();
        l2.set_nonblocking(true).unwrap();
        assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    });
}
