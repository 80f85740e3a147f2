//! gmp_core::net::UdpSocket on a plain thread and in goroutines on 1 and 2 Ps.

use gmp_core::net::UdpSocket;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

mod common;
use common::{everywhere, spawn};

#[test]
fn send_to_and_recv_from() {
    everywhere(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // The receiver waits before anything is sent.
        let echo = spawn(move || {
            for _ in 0..10 {
                let mut buf = [0; 64];
                let (n, from) = b.recv_from(&mut buf).unwrap();
                b.send_to(&buf[..n], from).unwrap();
            }
        });
        for i in 0..10u8 {
            a.send_to(&[i; 10], b_addr).unwrap();
            let mut buf = [0; 64];
            let (n, from) = a.peek_from(&mut buf).unwrap();
            assert_eq!((n, from), (10, b_addr));
            let (n, from) = a.recv_from(&mut buf).unwrap();
            assert_eq!((n, from), (10, b_addr));
            assert_eq!(&buf[..n], &[i; 10]);
        }
        echo.join();
        assert_ne!(a_addr, b_addr);
    });
}

#[test]
fn connected_send_recv_and_options() {
    everywhere(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        let b2 = b.try_clone().unwrap();
        let rx = spawn(move || {
            let mut buf = [0; 8];
            let n = b2.peek(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"dgram");
            let n = b2.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        assert_eq!(a.send(b"dgram").unwrap(), 5);
        assert_eq!(rx.join(), b"dgram");
        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
        a.set_ttl(9).unwrap();
        assert_eq!(a.ttl().unwrap(), 9);
        assert!(a.take_error().unwrap().is_none());
        assert!(format!("{a:?}").contains("UdpSocket"));
    });
}

#[test]
fn recv_timeout_and_nonblocking() {
    everywhere(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let t = Duration::from_millis(30);
        a.set_read_timeout(Some(t)).unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(t));
        let start = Instant::now();
        let e = a.recv_from(&mut [0; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
        assert!(start.elapsed() >= t);
        assert_eq!(
            a.set_write_timeout(Some(Duration::ZERO))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        a.set_read_timeout(None).unwrap();
        a.set_nonblocking(true).unwrap();
        assert_eq!(
            a.recv(&mut [0; 8]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

#[test]
fn bind_to_a_used_port_is_addr_in_use() {
    everywhere(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = UdpSocket::bind(a.local_addr().unwrap()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
    });
}

#[test]
fn several_goroutines_receive_on_one_socket() {
    // Four receivers share one socket (one poll descriptor); every datagram must reach one of
    // them, however readiness edges and wake-ups interleave.
    const N: usize = 200;
    everywhere(|| {
        let rx = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let addr = rx.local_addr().unwrap();
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                spawn(move || {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 8];
                    loop {
                        let n = rx.recv(&mut buf).unwrap();
                        let v = u64::from_le_bytes(buf[..n].try_into().unwrap());
                        if v == u64::MAX {
                            return got;
                        }
                        got.push(v);
                    }
                })
            })
            .collect();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..N as u64 {
            tx.send_to(&i.to_le_bytes(), addr).unwrap();
            if i % 16 == 0 {
                gmp_core::sleep(Duration::from_millis(1)); // let the receivers keep up
            }
        }
        for _ in 0..4 {
            tx.send_to(&u64::MAX.to_le_bytes(), addr).unwrap();
        }
        let mut all: Vec<u64> = receivers.into_iter().flat_map(|r| r.join()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..N as u64).collect::<Vec<_>>());
    });
}
