//! loom model of the waiter-record caches (`sched/sudog.rs`, Go: `acquireSudog` and
//! `releaseSudog`): two Ps, each with its own cache (capacity 2 under loom), move records
//! through the runtime's central cache (capacity 2); no record is ever handed out twice, and
//! every record ends up cached or freed.
//!
//! Run: `cargo xtask verify --crate gmp-core`
#![cfg(loom)]

use gmp_core::__private::{SudogCache, SudogCentral};
use loom::sync::Arc;
use loom::thread;
use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::Mutex;

/// Records handed out and not yet given back, by address.
type InUse = Arc<Mutex<HashSet<usize>>>;

fn take(cache: &mut SudogCache, central: &SudogCentral, in_use: &InUse) -> NonNull<u8> {
    let b = cache.acquire_sudog(central, 0);
    assert!(
        in_use.lock().unwrap().insert(b.as_ptr() as usize),
        "a record was handed out twice"
    );
    b
}

fn give(cache: &mut SudogCache, central: &SudogCentral, in_use: &InUse, b: NonNull<u8>) {
    assert!(in_use.lock().unwrap().remove(&(b.as_ptr() as usize)));
    cache.release_sudog(central, 0, b);
}

/// One P's goroutines: block three times at once (three records), then wake.
fn p_body(central: &SudogCentral, in_use: &InUse) -> SudogCache {
    let mut cache = SudogCache::default();
    let held: Vec<_> = (0..3).map(|_| take(&mut cache, central, in_use)).collect();
    for b in held {
        give(&mut cache, central, in_use, b);
    }
    let again = take(&mut cache, central, in_use);
    give(&mut cache, central, in_use, again);
    cache
}

#[test]
fn two_ps_share_records_through_the_central_cache() {
    loom::model(|| {
        let central = Arc::new(SudogCentral::default());
        let in_use: InUse = Arc::new(Mutex::new(HashSet::new()));
        let (c, u) = (central.clone(), in_use.clone());
        let other = thread::spawn(move || p_body(&c, &u));
        let mine = p_body(&central, &in_use);
        let theirs = other.join().unwrap();
        assert!(in_use.lock().unwrap().is_empty());
        // Bounded: each cache at most its capacity, the central one at most its own.
        assert!(mine.len(0) <= 2 && theirs.len(0) <= 2 && central.len(0) <= 2);
    });
}
