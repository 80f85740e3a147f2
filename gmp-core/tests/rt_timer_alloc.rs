//! `sleep` and timed parks use the timer embedded in the goroutine's G (Go 1.23's
//! `gp.timer`): arming one allocates nothing. Counted with a counting global allocator, in a
//! test binary of its own.

use gmp_core::park::{self, WaitReason};
use gmp_core::{sleep, Runtime};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

const N: usize = 2_000;

#[test]
fn sleeping_and_timed_parks_do_not_allocate() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let per_op = rt.run(|| {
        // Warm up: the timer heap's vector grows once.
        for _ in 0..10 {
            sleep(Duration::from_micros(1));
            park::park_deadline(WaitReason::Park, Instant::now() + Duration::from_micros(1));
        }
        let before = ALLOCS.load(Relaxed);
        for _ in 0..N {
            sleep(Duration::from_micros(1));
            park::park_deadline(WaitReason::Park, Instant::now() + Duration::from_micros(1));
        }
        (ALLOCS.load(Relaxed) - before) as f64 / (2 * N) as f64
    });
    // The rest of the runtime (sysmon's rounds) may allocate now and then; a timer per
    // operation would be at least 1.
    assert!(per_op < 0.05, "{per_op} allocations per timed operation");
}
