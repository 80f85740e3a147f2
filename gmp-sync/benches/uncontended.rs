//! Criterion micro-benchmark: one uncontended lock + unlock of gmp_sync::Mutex beside
//! parking_lot::Mutex and std::sync::Mutex (and RwLock reads), on a plain thread.
//! Run: `cargo bench -p gmp-sync --bench uncontended`.

// criterion_group!/criterion_main! generate undocumented public functions.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn uncontended_lock(c: &mut Criterion) {
    let mut g = c.benchmark_group("uncontended_lock");
    let gmp = gmp_sync::Mutex::new(0u64);
    g.bench_function("gmp_sync::Mutex", |b| {
        b.iter(|| *black_box(&gmp).lock() += 1)
    });
    let pl = parking_lot::Mutex::new(0u64);
    g.bench_function("parking_lot::Mutex", |b| {
        b.iter(|| *black_box(&pl).lock() += 1)
    });
    let std_m = std::sync::Mutex::new(0u64);
    g.bench_function("std::sync::Mutex", |b| {
        b.iter(|| *black_box(&std_m).lock().unwrap() += 1)
    });
    g.finish();

    let mut g = c.benchmark_group("uncontended_read");
    let gmp = gmp_sync::RwLock::new(0u64);
    g.bench_function("gmp_sync::RwLock", |b| b.iter(|| *black_box(&gmp).read()));
    let pl = parking_lot::RwLock::new(0u64);
    g.bench_function("parking_lot::RwLock", |b| b.iter(|| *black_box(&pl).read()));
    g.finish();
}

criterion_group!(benches, uncontended_lock);
criterion_main!(benches);
