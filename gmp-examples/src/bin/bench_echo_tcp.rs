//! echo_tcp: an echo server with one goroutine per connection and 1,000 client goroutines,
//! each on its own loopback TCP connection, writing 64 bytes and reading the echo back in a
//! loop for `--secs` seconds (10 by default). Reports requests/s, with p50/p99 latency in µs
//! and the packets the kernel dropped meanwhile (loopback traffic goes through the per-CPU
//! backlog of `net.core.netdev_max_backlog` packets; a drop costs a 200 ms+ retransmission
//! timeout, so a run with drops measures the kernel, not the runtime). Twin of
//! `gmp-examples/go/echo_tcp`.

use gmp_chan::Chan;
use gmp_core::net::{TcpListener, TcpStream};
use gmp_examples::bench;
use gmp_sync::{Mutex, WaitGroup};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::*};
use std::sync::OnceLock;
use std::time::Instant;

const CONNS: usize = 1000;
const MSG_SIZE: usize = 64;
/// Histogram: 32 linear sub-buckets per power of two (about 3% resolution), in ns.
const SUB_BITS: u32 = 5;
const N_BUCKET: usize = 64 * 32;

fn bucket(ns: u64) -> usize {
    let l = 64 - ns.leading_zeros();
    let e = if l > SUB_BITS + 1 {
        l - SUB_BITS - 1
    } else {
        0
    };
    ((e as usize) << SUB_BITS) + (ns >> e) as usize
}

/// The middle of bucket `i`, in ns.
fn bucket_value(i: usize) -> f64 {
    if i < 2 << SUB_BITS {
        return i as f64;
    }
    let e = (i >> SUB_BITS) - 1;
    let m = i - (e << SUB_BITS);
    (m as f64 + 0.5) * (1u64 << e) as f64
}

fn percentile(h: &[u32], total: u64, p: f64) -> f64 {
    let rank = (p * total as f64) as u64;
    let mut seen = 0u64;
    for (i, &c) in h.iter().enumerate() {
        seen += c as u64;
        if seen > rank {
            return bucket_value(i);
        }
    }
    bucket_value(N_BUCKET - 1)
}

fn serve(mut c: TcpStream) {
    let mut buf = [0u8; MSG_SIZE];
    loop {
        if c.read_exact(&mut buf).is_err() {
            return;
        }
        if c.write_all(&buf).is_err() {
            return;
        }
    }
}

/// Go raises the soft open-files limit to the hard one at start-up (os/rlimit.go, Go 1.19+);
/// 1,000 connections need about 2,000 fds, so do the same.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads the rlimit we pass.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}

fn main() {
    let flags = bench::Flags::from_env(&["procs", "secs"]);
    let procs = bench::procs(&flags, 2);
    let secs = flags
        .seconds("secs", 10.0)
        .unwrap_or_else(|e| bench::fail(e));
    raise_fd_limit();
    let rt = bench::runtime(procs);
    let (n, elapsed, drops, total, failures) = rt.run(move || {
        let ln = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| bench::fail(format!("listen: {e}")));
        let addr = ln
            .local_addr()
            .unwrap_or_else(|e| bench::fail(format!("listen: {e}")));
        gmp_core::go(move || {
            for c in ln.incoming() {
                match c {
                    Ok(c) => {
                        // Go sets TCP_NODELAY on every TCP connection; std (and gmp) leave
                        // Nagle on unless asked, so ask, to measure the same configuration.
                        let _ = c.set_nodelay(true);
                        gmp_core::go(move || serve(c));
                    }
                    Err(_) => return,
                }
            }
        });

        let connected = WaitGroup::new();
        let done = WaitGroup::new();
        let start: Chan<()> = Chan::new(0);
        let deadline: &'static OnceLock<Instant> = bench::leak(OnceLock::new());
        let requests: &'static AtomicU64 = bench::leak(AtomicU64::new(0));
        let failures: &'static AtomicI64 = bench::leak(AtomicI64::new(0));
        let total: &'static Mutex<Vec<u32>> = bench::leak(Mutex::new(vec![0u32; N_BUCKET]));
        connected.add(CONNS as isize);
        done.add(CONNS as isize);
        for id in 0..CONNS {
            let (connected, done, start) = (connected.clone(), done.clone(), start.clone());
            gmp_core::go(move || {
                let c = TcpStream::connect(addr);
                connected.done();
                let mut c = match c {
                    Ok(c) => {
                        let _ = c.set_nodelay(true); // as Go's default (see the server)
                        c
                    }
                    Err(_) => {
                        failures.fetch_add(1, Relaxed);
                        done.done();
                        return;
                    }
                };
                let _ = start.recv();
                let end = *deadline.get().expect("deadline set before start");
                let mut h = vec![0u32; N_BUCKET];
                let mut n = 0u64;
                let mut out = [0u8; MSG_SIZE];
                let mut inb = [0u8; MSG_SIZE];
                out[..8].copy_from_slice(&(id as u64).to_le_bytes());
                let mut seq = 0u64;
                loop {
                    out[8..16].copy_from_slice(&seq.to_le_bytes());
                    let t = Instant::now();
                    if t >= end {
                        break;
                    }
                    if c.write_all(&out).is_err() {
                        failures.fetch_add(1, Relaxed);
                        break;
                    }
                    if c.read_exact(&mut inb).is_err() || inb != out {
                        failures.fetch_add(1, Relaxed);
                        break;
                    }
                    h[bucket(t.elapsed().as_nanos() as u64)] += 1;
                    n += 1;
                    seq += 1;
                }
                requests.fetch_add(n, Relaxed);
                let mut tot = total.lock();
                for (a, b) in tot.iter_mut().zip(&h) {
                    *a += b;
                }
                drop(tot);
                drop(c);
                done.done();
            });
        }
        connected.wait();
        let drops0 = bench::softnet_drops();
        let t0 = Instant::now();
        deadline
            .set(t0 + secs)
            .unwrap_or_else(|_| bench::fail("deadline set twice"));
        start.close();
        done.wait();
        let elapsed = t0.elapsed();
        let drops = bench::softnet_drops() - drops0;
        let total = total.lock().clone();
        (
            requests.load(Relaxed),
            elapsed,
            drops,
            total,
            failures.load(Relaxed),
        )
    });
    bench::check(failures == 0, || format!("{failures} connections failed"));
    bench::check(n > 0, || "no requests completed");
    let rate = n as f64 / elapsed.as_secs_f64();
    bench::report(
        "echo_tcp",
        rate,
        "req/s",
        &[
            ("p50_us", percentile(&total, n, 0.50) / 1e3),
            ("p99_us", percentile(&total, n, 0.99) / 1e3),
            ("requests", n as f64),
            ("drops", drops as f64),
        ],
    );
}
