//! Channels and select inside goroutines (1 and 2 Ps), and shared between goroutines and
//! plain threads.

use gmp_chan::{chan, select, time, Chan, RecvTimeoutError, Select, SendError};
use gmp_core::{go, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{four_senders_one_select_receiver, on_procs};

/// Runs `f` as the main goroutine of runtimes with 1 and 2 Ps.
fn both<F: Fn() + Send + Sync + Clone + 'static>(f: F) {
    for procs in [1, 2] {
        on_procs(procs, f.clone());
    }
}

#[test]
fn ping_pong_unbuffered() {
    both(|| {
        let (ping, pong) = (chan::<u32>(0), chan::<u32>(0));
        let (pi, po) = (ping.clone(), pong.clone());
        let g = go(move || {
            for v in &pi {
                po.send(v + 1).unwrap();
            }
        });
        let mut v = 0;
        for _ in 0..10_000 {
            ping.send(v).unwrap();
            v = pong.recv().unwrap();
        }
        assert_eq!(v, 10_000);
        ping.close();
        g.join().unwrap();
    });
}

#[test]
fn mpmc_between_goroutines_accounts_for_every_value() {
    both(|| {
        for cap in [0, 1, 8] {
            let ch = chan::<usize>(cap);
            let total = Arc::new(AtomicUsize::new(0));
            let recvs: Vec<_> = (0..4)
                .map(|_| {
                    let (c, t) = (ch.clone(), total.clone());
                    go(move || {
                        let mut n = 0;
                        for v in &c {
                            t.fetch_add(v, Ordering::Relaxed);
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            let sends: Vec<_> = (0..4)
                .map(|s| {
                    let c = ch.clone();
                    go(move || {
                        for i in 0..2_000 {
                            c.send(s * 2_000 + i).unwrap();
                        }
                    })
                })
                .collect();
            for s in sends {
                s.join().unwrap();
            }
            ch.close();
            let n: usize = recvs.into_iter().map(|r| r.join().unwrap()).sum();
            assert_eq!(n, 8_000);
            assert_eq!(total.load(Ordering::SeqCst), 8_000 * 7_999 / 2);
        }
    });
}

#[test]
fn four_senders_one_select_receiver_goroutines() {
    both(|| {
        four_senders_one_select_receiver(5_000, 0);
        four_senders_one_select_receiver(5_000, 8);
    });
}

#[test]
#[ignore = "long: 1,000,000 messages on 2 Ps"]
fn four_senders_one_select_receiver_million_on_2_ps() {
    on_procs(2, || {
        four_senders_one_select_receiver(250_000, 0);
        four_senders_one_select_receiver(250_000, 64);
    });
}

#[test]
fn select_send_and_recv_between_goroutines() {
    both(|| {
        let a = chan::<i32>(0);
        let b = chan::<i32>(0);
        let (aa, bb) = (a.clone(), b.clone());
        let g = go(move || {
            let mut got = 0;
            for _ in 0..1_000 {
                select! {
                    recv(aa) -> v => got += v.unwrap(),
                    recv(bb) -> v => got += v.unwrap(),
                }
            }
            got
        });
        for i in 0..1_000 {
            select! {
                send(a, i) -> r => r.unwrap(),
                send(b, i) -> r => r.unwrap(),
            }
        }
        assert_eq!(g.join().unwrap(), 999 * 1_000 / 2);
    });
}

#[test]
fn dynamic_select_in_goroutines() {
    both(|| {
        let chans: Vec<Chan<usize>> = (0..5).map(|_| chan(0)).collect();
        for (i, c) in chans.iter().enumerate() {
            let c = c.clone();
            go(move || c.send(i).unwrap());
        }
        let mut got = Vec::new();
        for _ in 0..5 {
            let mut sel = Select::new();
            for c in &chans {
                sel.recv(c);
            }
            let op = sel.select();
            let i = op.index();
            got.push(op.recv(&chans[i]).unwrap());
        }
        got.sort();
        assert_eq!(got, [0, 1, 2, 3, 4]);
    });
}

#[test]
fn timeouts_and_timers_in_goroutines() {
    both(|| {
        let ch = chan::<i32>(0);
        let t0 = Instant::now();
        assert_eq!(
            ch.recv_timeout(Duration::from_millis(10)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(t0.elapsed() >= Duration::from_millis(10));
        let r = select! {
            recv(ch) -> _ => "value",
            recv(time::after(Duration::from_millis(5))) -> _ => "timeout",
        };
        assert_eq!(r, "timeout");
        let r = select! {
            recv(ch) -> _ => "value",
            default(Duration::from_millis(5)) => "default",
        };
        assert_eq!(r, "default");
        let tk = time::Ticker::new(Duration::from_millis(2));
        for _ in 0..3 {
            tk.c().recv().unwrap();
        }
        tk.stop();
        let t = time::Timer::new(Duration::from_millis(2));
        assert!(t.c().recv().is_some());
        assert_eq!(ch.__queued(), (0, 0));
    });
}

#[test]
fn close_wakes_parked_goroutines() {
    both(|| {
        let ch = chan::<String>(0);
        let rs: Vec<_> = (0..3)
            .map(|_| {
                let c = ch.clone();
                go(move || c.recv())
            })
            .collect();
        let done = chan::<()>(0);
        let ss: Vec<_> = (0..3)
            .map(|i| {
                let (c, d) = (ch.clone(), done.clone());
                go(move || {
                    select! {
                        send(c, format!("{i}")) -> r => r.err().map(|SendError(v)| v),
                        recv(d) -> _ => None,
                    }
                })
            })
            .collect();
        while ch.__queued() != (3, 3) {
            gmp_core::gosched();
            // Receivers and senders may have met; then the queues drain instead.
            if ch.__queued().0 + ch.__queued().1 < 6 && rs.iter().any(|r| r.is_finished()) {
                break;
            }
        }
        ch.close();
        let got: Vec<Option<String>> = rs.into_iter().map(|r| r.join().unwrap()).collect();
        let back: Vec<Option<String>> = ss.into_iter().map(|s| s.join().unwrap()).collect();
        // Each value either reached a receiver or came back to its sender: never both/neither.
        let mut all: Vec<String> = got
            .into_iter()
            .flatten()
            .chain(back.into_iter().flatten())
            .collect();
        all.sort();
        assert_eq!(all, ["0", "1", "2"]);
    });
}

#[test]
fn thread_sends_to_goroutines_and_goroutines_send_to_thread() {
    for procs in [1, 2] {
        let rt = Runtime::builder()
            .procs(procs)
            .deadlock_detection(false)
            .build()
            .unwrap();
        let to_g = chan::<u64>(0);
        let to_t = chan::<u64>(0);
        let (tg, tt) = (to_g.clone(), to_t.clone());
        // Goroutines double what the thread sends and send it back.
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (tg, tt) = (tg.clone(), tt.clone());
                rt.go(move || {
                    for v in &tg {
                        tt.send(v * 2).unwrap();
                    }
                })
            })
            .collect();
        let feeder = std::thread::spawn(move || {
            for v in 0..1_000 {
                to_g.send(v).unwrap();
            }
            to_g.close();
        });
        let mut sum = 0;
        for _ in 0..1_000 {
            sum += to_t.recv().unwrap();
        }
        feeder.join().unwrap();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(sum, 2 * 999 * 1_000 / 2);
    }
}

#[test]
fn cancelled_goroutines_leave_no_waiters_behind() {
    // Goroutines parked in recv, send and select when `run` ends are cancelled (unwound);
    // their stack-allocated waiter records must be unlinked from the channels.
    let a = chan::<i32>(0);
    let b = chan::<String>(0);
    let (aa, bb) = (a.clone(), b.clone());
    gmp_core::run(move || {
        let (a1, b1, a2, b2) = (aa.clone(), bb.clone(), aa.clone(), bb.clone());
        go(move || a1.recv());
        go(move || b1.send("x".to_string()));
        go(move || {
            select! {
                recv(a2) -> _ => {},
                send(b2, "y".to_string()) -> _ => {},
            }
        });
        while aa.__queued().0 < 2 || bb.__queued().1 < 2 {
            gmp_core::gosched();
        }
    });
    assert_eq!(a.__queued(), (0, 0));
    assert_eq!(b.__queued(), (0, 0));
    // The channels still work.
    assert_eq!(a.try_send(1), Err(gmp_chan::TrySendError::Full(1)));
}

#[test]
fn dump_shows_channel_wait_reasons() {
    on_procs(2, || {
        let a = chan::<i32>(0);
        let b = chan::<i32>(0);
        let (a1, a2, b1) = (a.clone(), a.clone(), b.clone());
        go(move || a1.recv());
        go(move || b1.send(1));
        go(move || {
            select! {
                recv(a2) -> _ => {},
                default(Duration::from_secs(3600)) => {},
            }
        });
        go(|| {
            select! {}
        });
        let want = [
            "[chan receive]",
            "[chan send]",
            "[select]",
            "[select (no cases)]",
        ];
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let d = gmp_core::dump();
            if want.iter().all(|w| d.contains(w)) {
                break;
            }
            assert!(Instant::now() < deadline, "dump lacks reasons:\n{d}");
            gmp_core::sleep(Duration::from_millis(1));
        }
    });
}

#[test]
#[should_panic(expected = "all goroutines are asleep - deadlock!")]
fn deadlocked_receive_is_reported() {
    gmp_core::run(|| {
        let c = chan::<i32>(0);
        c.recv()
    });
}

#[test]
fn timer_channels_never_fire_early_in_goroutines() {
    both(|| {
        for _ in 0..3 {
            let t0 = Instant::now();
            let slept = go(move || {
                gmp_core::sleep(Duration::from_millis(20));
                t0.elapsed()
            });
            let at = time::after(Duration::from_millis(30)).recv().unwrap();
            assert!(at >= t0 + Duration::from_millis(30), "after fired early");
            assert!(
                t0.elapsed() >= Duration::from_millis(30),
                "after delivered early"
            );
            let slept = slept.join().unwrap();
            assert!(slept >= Duration::from_millis(20), "sleep returned early");
        }
    });
}
