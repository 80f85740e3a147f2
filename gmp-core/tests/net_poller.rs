//! The netpoller and the scheduler: goroutines parked on I/O versus the deadlock detector,
//! timers, runtime shutdown and the goroutine dump.

use gmp_core::net::{TcpListener, TcpStream};
use gmp_core::{JoinError, Runtime};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}

#[test]
fn io_waiters_do_not_trigger_the_deadlock_detector() {
    for procs in [1, 2] {
        // Deadlock detection is on by default; the only goroutine waits for a plain thread.
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let got = rt.run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let peer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                std::thread::sleep(Duration::from_millis(100));
                c.write_all(b"from a thread").unwrap();
            });
            let (mut s, _) = l.accept().unwrap(); // parks on accept
            let mut buf = String::new();
            s.read_to_string(&mut buf).unwrap(); // parks on read
            peer.join().unwrap();
            buf
        });
        assert_eq!(got, "from a thread");
    }
}

#[test]
fn timers_fire_while_the_poller_waits_for_io() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        rt.run(|| {
            let (c, s) = pair();
            // A goroutine parks on a read before any timer exists, so the poller may block
            // with no timeout; the sleeps below must break it.
            let reader = gmp_core::go(move || {
                let mut buf = [0; 5];
                (&c).read_exact(&mut buf).unwrap();
                buf
            });
            gmp_core::sleep(Duration::from_millis(20));
            for _ in 0..5 {
                let t = Instant::now();
                gmp_core::sleep(Duration::from_millis(10));
                assert!(t.elapsed() < Duration::from_secs(5));
            }
            (&s).write_all(b"hello").unwrap();
            assert_eq!(&reader.join().unwrap(), b"hello");
        });
    }
}

#[test]
fn dump_shows_io_wait() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.run(|| {
        let (c, s) = pair();
        let parked = Arc::new(AtomicBool::new(false));
        let p = parked.clone();
        let reader = gmp_core::go(move || {
            p.store(true, Ordering::SeqCst);
            let mut buf = [0; 1];
            (&c).read_exact(&mut buf).unwrap();
        });
        while !parked.load(Ordering::SeqCst) {
            gmp_core::sleep(Duration::from_millis(1));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let id = reader.id();
        loop {
            let d = gmp_core::dump();
            if d.contains(&format!("goroutine {id} [IO wait]:")) {
                break;
            }
            assert!(Instant::now() < deadline, "no IO wait in:\n{d}");
            gmp_core::sleep(Duration::from_millis(5));
        }
        (&s).write_all(b"!").unwrap();
        reader.join().unwrap();
    });
}

#[test]
fn shutdown_cancels_goroutines_parked_on_accept_and_read() {
    for procs in [1, 2] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let (client, l_addr, handles) = rt.run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let (c, s) = pair();
            let accepter = gmp_core::go(move || {
                let _ = l.accept();
            });
            let reader = gmp_core::go(move || {
                let _ = (&s).read(&mut [0; 8]);
            });
            // Let both park.
            gmp_core::sleep(Duration::from_millis(50));
            (c, addr, vec![accepter, reader])
        });
        let start = Instant::now();
        drop(rt);
        assert!(start.elapsed() < Duration::from_secs(10));
        for h in handles {
            assert!(matches!(h.join(), Err(JoinError::Cancelled)));
        }
        // The cancelled goroutines dropped their sockets: the reader's peer sees EOF, and the
        // listener's port is free again.
        let mut client = client;
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(client.read(&mut [0; 8]).unwrap(), 0);
        TcpListener::bind(l_addr).unwrap();
    }
}

#[test]
fn a_socket_moves_between_runtimes_and_threads() {
    let (c, s) = pair();
    let rt1 = Runtime::builder().procs(1).build().unwrap();
    let (c, s) = rt1.run(move || {
        (&s).write_all(b"1").unwrap();
        let mut b = [0; 1];
        (&c).read_exact(&mut b).unwrap();
        (c, s)
    });
    drop(rt1);
    // Registered with rt1's poller, now used by a goroutine of rt2 (it blocks its M) and by
    // a plain thread.
    let rt2 = Runtime::builder().procs(2).build().unwrap();
    let (c, s) = rt2.run(move || {
        let w = std::thread::spawn({
            let s = s.try_clone().unwrap();
            move || {
                std::thread::sleep(Duration::from_millis(20));
                (&s).write_all(b"2").unwrap();
            }
        });
        let mut b = [0; 1];
        (&c).read_exact(&mut b).unwrap();
        w.join().unwrap();
        (c, s)
    });
    (&s).write_all(b"3").unwrap();
    let mut b = [0; 1];
    (&c).read_exact(&mut b).unwrap();
    assert_eq!(&b, b"3");
}

#[test]
fn sysmon_polls_the_network_when_no_p_ever_goes_idle() {
    // One P kept busy by a goroutine that only yields (it never leaves its P idle, so no M
    // polls in findrunnable): sysmon's 10 ms netpoll must still wake the reader.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (got, waited) = rt.run(|| {
        let (c, s) = pair();
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        let reader = gmp_core::go(move || {
            let mut s = s;
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            d2.store(true, Ordering::SeqCst);
            buf
        });
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            (&c).write_all(b"hello").unwrap();
            c
        });
        let busy = gmp_core::go(move || {
            let t = Instant::now();
            while !done.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(10) {
                gmp_core::gosched();
            }
            t.elapsed()
        });
        let got = reader.join().unwrap();
        let waited = busy.join().unwrap();
        drop(writer.join().unwrap());
        (got, waited)
    });
    assert_eq!(&got, b"hello");
    assert!(
        waited < Duration::from_secs(10),
        "the reader only ran when the busy goroutine gave up"
    );
}

/// An address whose resolution takes 300 ms, like a host name behind a slow DNS server.
struct SlowName(std::net::SocketAddr);

impl std::net::ToSocketAddrs for SlowName {
    type Iter = std::option::IntoIter<std::net::SocketAddr>;
    fn to_socket_addrs(&self) -> std::io::Result<Self::Iter> {
        std::thread::sleep(Duration::from_millis(300));
        Ok(Some(self.0).into_iter())
    }
}

#[test]
fn a_slow_name_lookup_does_not_stop_the_other_goroutines_on_one_p() {
    // Resolution runs inside `syscall`: sysmon hands the only P to another M meanwhile.
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (connected, ticks_during) = rt.run(|| {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let started = Arc::new(AtomicBool::new(false));
        let resolving = Arc::new(AtomicBool::new(false));
        let (s2, r2) = (started.clone(), resolving.clone());
        let h = gmp_core::go(move || {
            r2.store(true, Ordering::SeqCst);
            s2.store(true, Ordering::SeqCst);
            let c = TcpStream::connect(SlowName(addr));
            r2.store(false, Ordering::SeqCst);
            c.is_ok()
        });
        // Count 1 ms sleeps completed while the other goroutine is inside the lookup.
        // (If the lookup held the P, this runs only after it ended: zero ticks.)
        while !started.load(Ordering::SeqCst) {
            gmp_core::gosched();
        }
        let mut ticks = 0;
        while resolving.load(Ordering::SeqCst) {
            gmp_core::sleep(Duration::from_millis(1));
            ticks += 1;
        }
        let _accepted = ln.accept().unwrap();
        (h.join().unwrap(), ticks)
    });
    assert!(connected);
    // 300 ms of lookup: ~300 ticks when the P is handed off, 0 when the lookup holds it
    // (a loaded machine may stretch each 1 ms sleep a lot, hence the low bar).
    assert!(
        ticks_during >= 5,
        "only {ticks_during} ticks while the lookup blocked"
    );
}
