//! Ports of Go's `runtime/chan_test.go` (Go 1.23), run in gmp goroutines on 2 Ps.
//!
//! Not ported, and why:
//! - `TestShrinkStackDuringBlockedSend`, `TestNoShrinkStackWhileParking`,
//!   `TestSelectStackAdjust`: Go's stack copying; gmp stacks never move.
//! - `TestChanSendInterface`: Go interface conversions; nothing channel-specific remains.
//! - `TestNonblockRecvRace`, `TestNonblockSelectRace(2)`: check Go's lock-free fast paths
//!   against close; gmp's try-operations take the channel lock, and `loom_chan.rs` models
//!   try-operations against blocking ones.
//! - Benchmarks (`Benchmark*`): gmp's benchmarks live in `cargo xtask bench`.

use gmp_chan::{chan, select, Chan};
use gmp_core::{go, gosched};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::on_procs;

/// TestChan, with capacities 0..20 (Go's -short).
#[test]
fn test_chan() {
    on_procs(2, || {
        for cap in 0..20usize {
            // Receive from an empty chan blocks.
            let c = chan::<i32>(cap);
            let recv = Arc::new(AtomicBool::new(false));
            for _ in 0..2 {
                let (c, r) = (c.clone(), recv.clone());
                go(move || {
                    c.recv();
                    r.store(true, Ordering::SeqCst);
                });
            }
            gmp_core::sleep(Duration::from_millis(1));
            assert!(
                !recv.load(Ordering::SeqCst),
                "chan[{cap}]: receive from empty chan"
            );
            select! { recv(c) -> _ => panic!("chan[{cap}]: receive from empty chan"), default => {} }
            c.send(0).unwrap();
            c.send(0).unwrap();

            // Send to a full chan blocks.
            let c = chan::<i32>(cap);
            for i in 0..cap {
                c.send(i as i32).unwrap();
            }
            let sent = Arc::new(AtomicBool::new(false));
            let (cc, s) = (c.clone(), sent.clone());
            go(move || {
                cc.send(0).unwrap();
                s.store(true, Ordering::SeqCst);
            });
            gmp_core::sleep(Duration::from_millis(1));
            assert!(
                !sent.load(Ordering::SeqCst),
                "chan[{cap}]: send to full chan"
            );
            select! { send(c, 0) -> _ => panic!("chan[{cap}]: send to full chan"), default => {} }
            c.recv();

            // Receive the buffered values, then None, from a closed chan.
            let c = chan::<i32>(cap);
            for i in 0..cap {
                c.send(i as i32).unwrap();
            }
            c.close();
            for i in 0..cap {
                assert_eq!(c.recv(), Some(i as i32));
            }
            assert_eq!(c.recv(), None);
            assert_eq!(c.recv(), None);

            // Close unblocks receive.
            let c = chan::<i32>(cap);
            let done = chan::<bool>(0);
            let (cc, d) = (c.clone(), done.clone());
            go(move || d.send(cc.recv().is_none()).unwrap());
            gmp_core::sleep(Duration::from_millis(1));
            c.close();
            assert!(done.recv().unwrap());

            // 100 integers arrive uncorrupted, in FIFO order.
            let c = chan::<i32>(cap);
            let cc = c.clone();
            go(move || {
                for i in 0..100 {
                    cc.send(i).unwrap();
                }
            });
            for i in 0..100 {
                assert_eq!(c.recv(), Some(i));
            }

            // Multiple senders and receivers: every value exactly once.
            const P: usize = 4;
            const L: usize = 1000;
            let c = chan::<usize>(cap);
            for _ in 0..P {
                let cc = c.clone();
                go(move || {
                    for i in 0..L {
                        cc.send(i).unwrap();
                    }
                });
            }
            let done = chan::<Vec<usize>>(0);
            for _ in 0..P {
                let (cc, d) = (c.clone(), done.clone());
                go(move || {
                    let mut recv = vec![0usize; L];
                    for _ in 0..L {
                        recv[cc.recv().unwrap()] += 1;
                    }
                    d.send(recv).unwrap();
                });
            }
            let mut recv = vec![0usize; L];
            for _ in 0..P {
                for (i, n) in done.recv().unwrap().into_iter().enumerate() {
                    recv[i] += n;
                }
            }
            assert!(
                recv.iter().all(|&n| n == P),
                "chan[{cap}]: lost or duplicated"
            );

            // len/cap.
            let c = chan::<i32>(cap);
            assert_eq!((c.len(), c.cap()), (0, cap));
            for i in 0..cap {
                c.send(i as i32).unwrap();
            }
            assert_eq!((c.len(), c.cap()), (cap, cap));
        }
    });
}

/// TestSelfSelect: send and receive on the same channel in one select, from 2 goroutines;
/// on an unbuffered channel a goroutine never receives its own value.
#[test]
fn test_self_select() {
    on_procs(2, || {
        for cap in [0usize, 10] {
            let c = chan::<usize>(cap);
            let hs: Vec<_> = (0..2)
                .map(|p| {
                    let c = c.clone();
                    go(move || {
                        for i in 0..1000 {
                            let v = if p == 0 || i % 2 == 0 {
                                select! { send(c, p) -> _ => None, recv(c) -> v => v }
                            } else {
                                select! { recv(c) -> v => v, send(c, p) -> _ => None }
                            };
                            if cap == 0 {
                                assert_ne!(v, Some(p), "self receive");
                            }
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
    });
}

/// TestSelectStress: 4 channels, senders and receivers by plain ops and selects.
#[test]
fn test_select_stress() {
    on_procs(2, || {
        const N: usize = 2_000;
        let c: Vec<Chan<usize>> = vec![chan(0), chan(0), chan(2), chan(3)];
        let done = chan::<()>(0);
        // Plain sends and receives on each channel.
        for ck0 in &c {
            let (ck, d) = (ck0.clone(), done.clone());
            go(move || {
                for i in 0..N {
                    ck.send(i).unwrap();
                }
                d.send(()).unwrap();
            });
            let (ck, d) = (ck0.clone(), done.clone());
            go(move || {
                for _ in 0..N {
                    ck.recv();
                }
                d.send(()).unwrap();
            });
        }
        // A selecting sender and a selecting receiver over all four, turning each channel
        // off (nil) after N operations on it.
        let cs = c.clone();
        let d = done.clone();
        go(move || {
            let mut n = [0usize; 4];
            let mut c4: Vec<Option<&Chan<usize>>> = cs.iter().map(Some).collect();
            for _ in 0..4 * N {
                let k = select! {
                    send(c4[3], 0) -> _ => 3,
                    send(c4[2], 0) -> _ => 2,
                    send(c4[0], 0) -> _ => 0,
                    send(c4[1], 0) -> _ => 1,
                };
                n[k] += 1;
                if n[k] == N {
                    c4[k] = None;
                }
            }
            d.send(()).unwrap();
        });
        let cs = c.clone();
        let d = done.clone();
        go(move || {
            let mut n = [0usize; 4];
            let mut c4: Vec<Option<&Chan<usize>>> = cs.iter().map(Some).collect();
            for _ in 0..4 * N {
                let k = select! {
                    recv(c4[0]) -> _ => 0,
                    recv(c4[1]) -> _ => 1,
                    recv(c4[2]) -> _ => 2,
                    recv(c4[3]) -> _ => 3,
                };
                n[k] += 1;
                if n[k] == N {
                    c4[k] = None;
                }
            }
            d.send(()).unwrap();
        });
        for _ in 0..10 {
            done.recv();
        }
    });
}

/// TestSelectFairness: with two ready channels, each wins about half the time.
#[test]
fn test_select_fairness() {
    on_procs(2, || {
        const TRIALS: usize = 10_000;
        let c1 = chan::<u8>(TRIALS + 1);
        let c2 = chan::<u8>(TRIALS + 1);
        for _ in 0..=TRIALS {
            c1.send(1).unwrap();
            c2.send(2).unwrap();
        }
        let c3 = chan::<u8>(0);
        let c4 = chan::<u8>(0);
        let out = chan::<u8>(0);
        let done = chan::<u8>(0);
        let (a, b, c, d, o, dn) = (
            c1.clone(),
            c2.clone(),
            c3.clone(),
            c4.clone(),
            out.clone(),
            done.clone(),
        );
        go(move || loop {
            let b = select! {
                recv(a) -> v => v.unwrap(),
                recv(b) -> v => v.unwrap(),
                recv(c) -> v => v.unwrap(),
                recv(d) -> v => v.unwrap(),
            };
            select! {
                send(o, b) -> _ => {},
                recv(dn) -> _ => return,
            }
        });
        let (mut cnt1, mut cnt2) = (0, 0);
        for _ in 0..TRIALS {
            match out.recv().unwrap() {
                1 => cnt1 += 1,
                2 => cnt2 += 1,
                b => panic!("unexpected value {b} on channel"),
            }
        }
        // Go: mean ± 10 sigma.
        let (n, p) = (TRIALS as f64, 0.5);
        let sigma = (n * p * (1.0 - p)).sqrt();
        let (lo, hi) = (n * p - 10.0 * sigma, n * p + 10.0 * sigma);
        assert!(
            (lo..=hi).contains(&(cnt1 as f64)) && (lo..=hi).contains(&(cnt2 as f64)),
            "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
        );
        done.close();
    });
}

/// TestPseudoRandomSend: a select sending on the same channel in two cases picks both.
#[test]
fn test_pseudo_random_send() {
    on_procs(2, || {
        const N: usize = 100;
        for cap in [0usize, N] {
            let c = chan::<u8>(cap);
            let l = chan::<Vec<u8>>(1);
            let (cc, ll) = (c.clone(), l.clone());
            go(move || {
                let mut v = Vec::with_capacity(N);
                for _ in 0..N {
                    v.push(cc.recv().unwrap());
                }
                ll.send(v).unwrap();
            });
            for _ in 0..N {
                select! {
                    send(c, 1) -> r => r.unwrap(),
                    send(c, 0) -> r => r.unwrap(),
                }
            }
            let v = l.recv().unwrap();
            let n0 = v.iter().filter(|&&x| x == 0).count();
            let n1 = N - n0;
            assert!(
                n0 > N / 10 && n1 > N / 10,
                "Want pseudorandom, got {n0} zeros and {n1} ones (chan cap {cap})"
            );
        }
    });
}

/// TestMultiConsumer: 23 workers ranging over one channel, results summed.
#[test]
fn test_multi_consumer() {
    on_procs(2, || {
        const NWORK: usize = 23;
        const NITER: usize = 27_182;
        let pn = [2usize, 3, 7, 11, 13, 17, 19, 23, 27, 31];
        let q = chan::<usize>(NWORK * 3);
        let r = chan::<usize>(NWORK * 3);
        let live = Arc::new(AtomicUsize::new(NWORK));
        for w in 0..NWORK {
            let (q, r, live) = (q.clone(), r.clone(), live.clone());
            go(move || {
                for v in &q {
                    if pn[w % pn.len()] == v {
                        gosched();
                    }
                    r.send(v).unwrap();
                }
                if live.fetch_sub(1, Ordering::SeqCst) == 1 {
                    r.close(); // the last worker done: no more results
                }
            });
        }
        let qq = q.clone();
        let feeder = go(move || {
            let mut expect = 0;
            for i in 0..NITER {
                let v = pn[i % pn.len()];
                expect += v;
                qq.send(v).unwrap();
            }
            qq.close();
            expect
        });
        let (mut n, mut s) = (0, 0);
        for v in &r {
            n += 1;
            s += v;
        }
        let expect = feeder.join().unwrap();
        assert_eq!((n, s), (NITER, expect));
    });
}

/// TestSelectDuplicateChannel: a select queued twice on one channel, woken by another
/// channel, must unlink both entries (this used to corrupt `c.recvq` in Go).
#[test]
fn test_select_duplicate_channel() {
    on_procs(2, || {
        let c = chan::<i32>(0);
        let d = chan::<i32>(0);
        let e = chan::<i32>(0);
        let (c1, d1, e1) = (c.clone(), d.clone(), e.clone());
        go(move || {
            select! {
                recv(c1) -> _ => {},
                recv(c1) -> _ => {},
                recv(d1) -> _ => {},
            }
            e1.send(9).unwrap();
        });
        gmp_core::sleep(Duration::from_millis(1));
        let c2 = c.clone();
        go(move || c2.recv());
        gmp_core::sleep(Duration::from_millis(1));
        d.send(7).unwrap();
        e.recv();
        c.send(8).unwrap();
    });
}
