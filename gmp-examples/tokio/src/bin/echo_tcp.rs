//! echo_tcp: an echo server with one task per connection and 1,000 client tasks, each on its
//! own loopback TCP connection, writing 64 bytes and reading the echo back in a loop for
//! `--secs` seconds (10 by default). Reports requests/s, with p50/p99 latency in µs and the
//! packets the kernel dropped meanwhile (see gmp's `bench_echo_tcp`: a run with drops
//! measures the kernel, not the runtime). Twin of `gmp-examples/go/echo_tcp` and gmp's
//! `bench_echo_tcp`.
//!
//! `tokio::net::{TcpListener, TcpStream}` with `AsyncReadExt::read_exact` and
//! `AsyncWriteExt::write_all`; the clients start together when main drops the sender of a
//! `tokio::sync::watch` channel (the Go twin closes a channel). The latency histograms are
//! summed under a `std::sync::Mutex`, held for no `.await` (what tokio's docs advise for a
//! short section of plain code).

use gmp_tokio_twins::report;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::*};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

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

async fn serve(mut c: TcpStream) {
    let mut buf = [0u8; MSG_SIZE];
    loop {
        if c.read_exact(&mut buf).await.is_err() {
            return;
        }
        if c.write_all(&buf).await.is_err() {
            return;
        }
    }
}

/// Go raises the soft open-files limit to the hard one at start-up (os/rlimit.go, Go 1.19+);
/// 1,000 connections need about 2,000 fds, so do the same (as gmp's twin does).
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the rlimit we pass, which lives across the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit only reads the rlimit we pass, which lives across the call.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}

/// What the clients share.
struct Shared {
    deadline: OnceLock<Instant>,
    requests: AtomicU64,
    failures: AtomicI64,
    total: Mutex<Vec<u32>>,
    connected: report::Countdown,
    done: report::Countdown,
}

/// One client: connect, wait for the start, then echo until the deadline.
async fn client(
    id: usize,
    addr: std::net::SocketAddr,
    mut start: watch::Receiver<()>,
    shared: &'static Shared,
) {
    let c = TcpStream::connect(addr).await;
    shared.connected.done();
    let mut c = match c {
        Ok(c) => {
            // Go sets TCP_NODELAY on every TCP connection; tokio leaves Nagle on unless
            // asked, so ask, to measure the same configuration.
            let _ = c.set_nodelay(true);
            c
        }
        Err(_) => {
            shared.failures.fetch_add(1, Relaxed);
            shared.done.done();
            return;
        }
    };
    let _ = start.changed().await;
    let end = *shared
        .deadline
        .get()
        .unwrap_or_else(|| report::fail("deadline not set before the start"));
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
        if c.write_all(&out).await.is_err() {
            shared.failures.fetch_add(1, Relaxed);
            break;
        }
        if c.read_exact(&mut inb).await.is_err() || inb != out {
            shared.failures.fetch_add(1, Relaxed);
            break;
        }
        h[bucket(t.elapsed().as_nanos() as u64)] += 1;
        n += 1;
        seq += 1;
    }
    shared.requests.fetch_add(n, Relaxed);
    {
        let mut tot = shared
            .total
            .lock()
            .unwrap_or_else(|e| report::fail(format!("histogram lock: {e}")));
        for (a, b) in tot.iter_mut().zip(&h) {
            *a += b;
        }
    }
    drop(c);
    shared.done.done();
}

fn main() {
    let flags = report::Flags::from_env(&["procs", "secs"]);
    let procs = report::procs(&flags, 2);
    let secs = flags
        .seconds("secs", 10.0)
        .unwrap_or_else(|e| report::fail(e));
    raise_fd_limit();
    let (n, elapsed, drops, total, failures) = report::run(procs, async move {
        let ln = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| report::fail(format!("listen: {e}")));
        let addr = ln
            .local_addr()
            .unwrap_or_else(|e| report::fail(format!("listen: {e}")));
        tokio::spawn(async move {
            loop {
                match ln.accept().await {
                    Ok((c, _)) => {
                        // As the clients: TCP_NODELAY, Go's default.
                        let _ = c.set_nodelay(true);
                        tokio::spawn(serve(c));
                    }
                    Err(_) => return,
                }
            }
        });

        let shared: &'static Shared = report::leak(Shared {
            deadline: OnceLock::new(),
            requests: AtomicU64::new(0),
            failures: AtomicI64::new(0),
            total: Mutex::new(vec![0u32; N_BUCKET]),
            connected: report::Countdown::new(CONNS),
            done: report::Countdown::new(CONNS),
        });
        let (start, start_rx) = watch::channel(());
        for id in 0..CONNS {
            tokio::spawn(client(id, addr, start_rx.clone(), shared));
        }
        drop(start_rx);
        shared.connected.wait().await;
        let drops0 = report::softnet_drops();
        let t0 = Instant::now();
        shared
            .deadline
            .set(t0 + secs)
            .unwrap_or_else(|_| report::fail("deadline set twice"));
        drop(start);
        shared.done.wait().await;
        let elapsed = t0.elapsed();
        let drops = report::softnet_drops() - drops0;
        let total = shared
            .total
            .lock()
            .unwrap_or_else(|e| report::fail(format!("histogram lock: {e}")))
            .clone();
        (
            shared.requests.load(Relaxed),
            elapsed,
            drops,
            total,
            shared.failures.load(Relaxed),
        )
    });
    report::check(failures == 0, || format!("{failures} connections failed"));
    report::check(n > 0, || "no requests completed");
    let rate = n as f64 / elapsed.as_secs_f64();
    report::report(
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
