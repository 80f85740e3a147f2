//! skynet: the classic benchmark (github.com/atemerev/skynet): a tree of tasks, 10 children
//! per node, 1,000,000 leaves; each leaf sends its number, each node sums its children's over
//! a channel. Checks 499999500000; reports ms. `--leaves=N` (a power of 10) builds a smaller
//! tree. Twin of `gmp-examples/go/skynet` and gmp's `bench_skynet`.
//!
//! Each node's channel is a `tokio::sync::mpsc::channel(1)`, the nearest tokio has to the Go
//! twin's unbuffered channel (see `pingpong`), shared by its 10 children. A node is a boxed
//! future: an `async fn` that spawns itself has a type that contains itself.

use gmp_tokio_twins::report;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;
use tokio::sync::mpsc;

fn skynet(
    c: mpsc::Sender<i64>,
    num: i64,
    size: i64,
    div: i64,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if size == 1 {
            let _ = c.send(num).await;
            return;
        }
        let (tx, mut rc) = mpsc::channel::<i64>(1);
        for i in 0..div {
            let sub = num + i * (size / div);
            tokio::spawn(skynet(tx.clone(), sub, size / div, div));
        }
        drop(tx);
        let mut sum = 0;
        for _ in 0..div {
            sum += rc
                .recv()
                .await
                .unwrap_or_else(|| report::fail("skynet: channel closed"));
        }
        let _ = c.send(sum).await;
    })
}

fn main() {
    let flags = report::Flags::from_env(&["procs", "leaves"]);
    let procs = report::procs(&flags, 2);
    let leaves = flags
        .count("leaves", 1_000_000)
        .unwrap_or_else(|e| report::fail(e)) as i64;
    let mut size = 1;
    while size < leaves {
        size *= 10;
    }
    report::check(size == leaves, || {
        format!("--leaves={leaves} is not a power of 10")
    });
    let want = leaves * (leaves - 1) / 2;
    let (elapsed, sum) = report::run(procs, async move {
        let start = Instant::now();
        let (tx, mut c) = mpsc::channel::<i64>(1);
        tokio::spawn(skynet(tx, 0, leaves, 10));
        let sum = c
            .recv()
            .await
            .unwrap_or_else(|| report::fail("skynet: channel closed"));
        (start.elapsed(), sum)
    });
    report::check(sum == want, || format!("sum {sum}, want {want}"));
    report::report("skynet", report::ms(elapsed), "ms", &[]);
}
