//! Every byte of a parked goroutine, counted (issue "goroutine weight"): its G, its join
//! slot, its waiter record and its copied-out stack, each pinned so that a regression shows.
//! (The `parked_memory` benchmark measures the same thing as RSS, with the allocator's
//! share.) A goroutine parked on a receive from a `Chan<()>`, returning `()`.

use gmp_chan::Chan;
use gmp_core::__private::{copyout_stats, goroutine_sizes, stacks_copied_out};
use gmp_core::{go, sleep, Runtime};
use std::time::{Duration, Instant};

const N: usize = 1000;

/// glibc's share of an allocation of `n` bytes: a chunk of 16-byte granules with an 8-byte
/// header, at least 32 bytes.
fn malloc_chunk(n: usize) -> usize {
    (n + 8).next_multiple_of(16).max(32)
}

#[test]
fn a_parked_goroutine_costs_what_its_parts_cost() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (g, slot) = goroutine_sizes::<()>();
    let record = gmp_chan::__private::waiter_record_bytes::<()>();
    let (copies, bytes) = rt.run(|| {
        let ch: Chan<()> = Chan::new(0);
        let hs: Vec<_> = (0..N)
            .map(|_| {
                let ch = ch.clone();
                go(move || {
                    let _ = ch.recv();
                })
            })
            .collect();
        let start = Instant::now();
        while stacks_copied_out() < N {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "not all copied out"
            );
            sleep(Duration::from_millis(5));
        }
        let stats = copyout_stats();
        ch.close();
        for h in hs {
            h.join().unwrap();
        }
        stats
    });
    assert!(copies >= N);
    let copy = bytes / copies;
    let total = malloc_chunk(g) + malloc_chunk(slot) + record + malloc_chunk(copy);
    eprintln!(
        "G {g} B, join slot {slot} B, waiter record {record} B, stack copy {copy} B: \
         {total} B with the allocator's headers"
    );
    // Pinned: grow one of these only on purpose, and say what for in its docs.
    assert!(g <= 288, "G: {g} B");
    assert!(slot <= 88, "join slot: {slot} B");
    assert_eq!(record, 64, "waiter record");
    // Debug builds keep every local in its own stack slot: their frames are larger.
    let copy_budget = if cfg!(debug_assertions) { 3584 } else { 704 };
    assert!(copy <= copy_budget, "stack copy: {copy} B");
    let total_budget = if cfg!(debug_assertions) { 4096 } else { 1152 };
    assert!(total <= total_budget, "{total} B per parked goroutine");
}
