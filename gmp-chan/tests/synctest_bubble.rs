//! `gmp_core::synctest` with channels, timers, tickers and contexts: virtual time that moves
//! only when every goroutine of the bubble is durably blocked. The acceptance test (an
//! hour of sleep, 1,000 ticks, three context timeouts, in well under a second, identical over
//! 20 runs), the deadlock and leak reports, Go's rule for I/O and `syscall`, and two bubbles at
//! once.

use gmp_chan::context::{Context, ContextError};
use gmp_chan::{chan, select, time, Chan};
use gmp_core::{go, sleep, synctest};
use std::time::{Duration, Instant};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Virtual time since `start`, in ms, for the logs.
fn since(start: std::time::Instant) -> u128 {
    (gmp_core::time::now() - start).as_millis()
}

/// An hour of sleep, 1,000 ticks of a ticker, and three context timeouts racing: the log of
/// virtual timestamps.
fn the_acceptance_program() -> Vec<String> {
    synctest::test(|| {
        let start = gmp_core::time::now();
        let log: Chan<String> = chan(4096);
        let mut hs = Vec::new();
        {
            let log = log.clone();
            hs.push(go(move || {
                sleep(secs(3600));
                log.send(format!("slept an hour at {} ms", since(start)))
                    .unwrap();
            }));
        }
        {
            let log = log.clone();
            hs.push(go(move || {
                let t = time::Ticker::new(Duration::from_millis(250));
                for i in 1..=1000 {
                    let at = t.c().recv().unwrap();
                    if i % 250 == 0 {
                        let at = (at - start).as_millis();
                        log.send(format!("tick {i} at {at} ms")).unwrap();
                    }
                }
                t.stop();
            }));
        }
        for (i, d) in [secs(30), secs(90), secs(600)].into_iter().enumerate() {
            let log = log.clone();
            hs.push(go(move || {
                let (ctx, _cancel) = Context::background().with_timeout(d);
                ctx.done().recv();
                assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
                log.send(format!("context {i} done at {} ms", since(start)))
                    .unwrap();
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        log.close();
        let mut lines: Vec<String> = log.iter().collect();
        lines.push(format!("end at {} ms", since(start)));
        lines
    })
}

#[test]
fn an_hour_1000_ticks_and_three_timeouts_take_no_real_time_and_repeat_exactly() {
    let real = Instant::now();
    let first = the_acceptance_program();
    let once = real.elapsed();
    assert!(once < Duration::from_secs(1), "one run took {once:?}");
    assert_eq!(
        first,
        [
            "context 0 done at 30000 ms",
            "tick 250 at 62500 ms",
            "context 1 done at 90000 ms",
            "tick 500 at 125000 ms",
            "tick 750 at 187500 ms",
            "tick 1000 at 250000 ms",
            "context 2 done at 600000 ms",
            "slept an hour at 3600000 ms",
            "end at 3600000 ms",
        ]
    );
    for _ in 0..19 {
        assert_eq!(the_acceptance_program(), first);
    }
}

#[test]
fn a_timeout_always_beats_a_slower_reply() {
    for _ in 0..20 {
        let got = synctest::test(|| {
            let start = gmp_core::time::now();
            let reply = chan::<&str>(1);
            let tx = reply.clone();
            go(move || {
                sleep(Duration::from_millis(20));
                let _ = tx.send("pong");
            });
            let r = select! {
                recv(reply) -> r => r.map(|s| s.to_string()),
                recv(time::after(Duration::from_millis(10))) -> _ => Some("timeout".into()),
            };
            let at = gmp_core::time::now() - start;
            // The reply still comes, 10 ms later.
            assert_eq!(reply.recv(), Some("pong"));
            (r, at, gmp_core::time::now() - start)
        });
        assert_eq!(
            got,
            (
                Some("timeout".to_string()),
                Duration::from_millis(10),
                Duration::from_millis(20)
            )
        );
    }
}

#[test]
fn wait_returns_once_the_others_are_durably_blocked() {
    synctest::test(|| {
        let ch = chan::<u32>(0);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (rx, d) = (ch.clone(), done.clone());
        let h = go(move || {
            let v = rx.recv();
            d.store(true, std::sync::atomic::Ordering::SeqCst);
            v
        });
        synctest::wait(); // the receiver is parked
        assert!(!done.load(std::sync::atomic::Ordering::SeqCst));
        ch.send(5).unwrap();
        synctest::wait(); // it finished (a finished goroutine is not in the way)
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(h.join().unwrap(), Some(5));
    });
}

#[test]
fn a_timed_wait_on_a_timer_channel_receives_the_instant_it_was_due() {
    synctest::test(|| {
        let start = gmp_core::time::now();
        let at = time::after(secs(5)).recv().unwrap();
        assert_eq!(at - start, secs(5));
        assert_eq!(chan::<u8>(0).recv_timeout(secs(7)).ok(), None);
        assert_eq!(gmp_core::time::now() - start, secs(12));
    });
}

#[test]
fn a_deadlock_in_a_bubble_panics_with_gos_message_and_the_dump() {
    let r = std::panic::catch_unwind(|| {
        synctest::test(|| {
            let ch = chan::<u32>(0);
            ch.recv()
        })
    });
    let msg = panic_text(r.expect_err("a deadlock"));
    assert!(
        msg.starts_with("deadlock: all goroutines in bubble are blocked"),
        "{msg}"
    );
    assert!(msg.contains("goroutine 1 [chan receive]:"), "{msg}");
}

#[test]
fn goroutines_blocked_at_the_end_of_a_bubble_are_a_leak() {
    let r = std::panic::catch_unwind(|| {
        synctest::test(|| {
            let ch = chan::<u32>(0);
            let rx = ch.clone();
            go(move || rx.recv());
            // Time still moves for the others after `f` returns: this one ends.
            go(|| sleep(secs(60)));
        })
    });
    let msg = panic_text(r.expect_err("a leak"));
    assert!(
        msg.starts_with("synctest: goroutines still blocked at end of bubble"),
        "{msg}"
    );
    assert!(msg.contains("[chan receive]:"), "{msg}");
    assert!(!msg.contains("[sleep]"), "{msg}");
}

#[test]
fn a_goroutine_in_syscall_is_not_durably_blocked() {
    // Go's rule: a goroutine in a system call can end its wait on its own, so the clock does
    // not jump past it, and no deadlock is reported while it is there.
    synctest::test(|| {
        let start = gmp_core::time::now();
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let f2 = flag.clone();
        let h = go(move || {
            gmp_core::syscall(|| std::thread::sleep(Duration::from_millis(100)));
            f2.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        // A 1 s virtual sleep cannot end while the other goroutine is in its syscall.
        sleep(secs(1));
        assert!(
            flag.load(std::sync::atomic::Ordering::SeqCst),
            "the clock jumped while a goroutine was in a syscall"
        );
        assert_eq!(gmp_core::time::now() - start, secs(1));
        h.join().unwrap();
    });
}

#[test]
fn a_goroutine_waiting_on_a_socket_is_not_durably_blocked() {
    use std::io::{Read, Write};
    synctest::test(|| {
        let l = gmp_core::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        // A peer outside the bubble (a plain thread, real time) answers after 100 ms.
        let peer = std::thread::spawn(move || {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            c.write_all(b"x").unwrap();
        });
        let (mut conn, _) = l.accept().unwrap();
        let start = gmp_core::time::now();
        let got = go(move || {
            let mut b = [0u8; 1];
            conn.read_exact(&mut b).unwrap();
            (b[0], gmp_core::time::now())
        });
        // The reader waits on I/O: the clock does not jump for this sleep until it is done.
        sleep(secs(1));
        let (b, at) = got.join().unwrap();
        assert_eq!(b, b'x');
        assert_eq!(
            at - start,
            Duration::ZERO,
            "the clock moved while I/O was pending"
        );
        peer.join().unwrap();
    });
}

#[test]
fn two_bubbles_on_two_threads_keep_their_own_clocks() {
    let a = std::thread::spawn(|| {
        synctest::test(|| {
            let start = gmp_core::time::now();
            sleep(secs(10));
            gmp_core::time::now() - start
        })
    });
    let b = std::thread::spawn(|| {
        synctest::test(|| {
            let start = gmp_core::time::now();
            sleep(secs(3));
            let ticks = time::tick(secs(1));
            for _ in 0..5 {
                ticks.recv().unwrap();
            }
            gmp_core::time::now() - start
        })
    });
    assert_eq!(a.join().unwrap(), secs(10));
    assert_eq!(b.join().unwrap(), secs(8));
}

#[test]
fn every_bubble_starts_at_the_same_instant() {
    let t1 = synctest::test(gmp_core::time::now);
    let t2 = synctest::test(|| {
        let t = gmp_core::time::now();
        sleep(secs(1));
        t
    });
    assert_eq!(t1, t2);
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
