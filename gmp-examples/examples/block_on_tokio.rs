//! Async interop, both ways: a tokio runtime runs on threads of its own; goroutines await
//! its tasks with `gmp_core::block_on` (each parks its goroutine, not its thread: the one P
//! below serves all of them), and a tokio task awaits a goroutine's `JoinHandle`.
//!
//! Run: `cargo run --release -p gmp-examples --example block_on_tokio`

use std::time::Duration;

fn main() {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("tokio runtime");
    let handle = tokio_rt.handle().clone();

    let total = gmp_core::Runtime::builder()
        .procs(1)
        .build()
        .expect("gmp runtime")
        .run(move || {
            // Ten goroutines on one P, each waiting for a tokio task that sleeps 20 ms.
            let waiters: Vec<_> = (1..=10u64)
                .map(|i| {
                    let task = handle.spawn(async move {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        i * i
                    });
                    gmp_core::go(move || gmp_core::block_on(task).expect("tokio task"))
                })
                .collect();
            let sum: u64 = waiters.into_iter().map(|h| h.join().unwrap()).sum();

            // The other way: a tokio task awaits a goroutine.
            let goroutine = gmp_core::go(|| {
                gmp_core::sleep(Duration::from_millis(5));
                "from a goroutine"
            });
            let echoed = gmp_core::block_on(handle.spawn(async move { goroutine.await.unwrap() }))
                .expect("tokio task");
            println!("tokio said {sum}; a tokio task awaited a goroutine: {echoed}");
            sum
        });
    assert_eq!(total, 385);
    tokio_rt.shutdown_timeout(Duration::from_secs(1));
}
