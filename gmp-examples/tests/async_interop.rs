//! `gmp_core::block_on` against a real tokio runtime on threads of its own (the
//! `block_on_tokio` example, checked): goroutines on one P await tokio tasks without blocking
//! that P's thread, and a tokio task awaits a goroutine's `JoinHandle`.

use std::time::{Duration, Instant};

/// Kills: `block_on` blocking the thread instead of parking the goroutine (ten 50 ms waits on
/// one P would take 500 ms, not about 50), and a `JoinHandle` future that never wakes tokio.
#[test]
fn goroutines_await_tokio_tasks_and_tokio_awaits_goroutines() {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let handle = tokio_rt.handle().clone();
    let rt = gmp_core::Runtime::builder().procs(1).build().unwrap();
    let (sum, took) = rt.run(move || {
        let start = Instant::now();
        let waiters: Vec<_> = (1..=10u64)
            .map(|i| {
                let task = handle.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    i
                });
                gmp_core::go(move || gmp_core::block_on(task).unwrap())
            })
            .collect();
        let sum: u64 = waiters.into_iter().map(|h| h.join().unwrap()).sum();
        let took = start.elapsed();
        let g = gmp_core::go(|| 7u8);
        let via_tokio = gmp_core::block_on(handle.spawn(async move { g.await.unwrap() })).unwrap();
        assert_eq!(via_tokio, 7);
        (sum, took)
    });
    assert_eq!(sum, 55);
    // Generous for a loaded 2-core machine, far below the 500 ms of serialised waits.
    assert!(took < Duration::from_millis(400), "took {took:?}");
    tokio_rt.shutdown_timeout(Duration::from_secs(1));
}
