//! loom models of the per-P run queue (capacity 4 under loom): every item put is taken
//! exactly once, whatever the interleaving of the owner's put/get/overflow with thieves.
//!
//! Run: `RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2
//! cargo test --release -p gmp-core --test loom_runq`
#![cfg(loom)]

use gmp_core::__private::{Ptr, RunQueue, LOCAL_QUEUE_CAPACITY as CAP};
use loom::sync::Arc;
use loom::thread;

/// An item that needs no allocation: a pointer into a static table, so that a bug handing
/// an item out twice shows up as a duplicate id rather than a double free.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Id(usize);

static TABLE: [u8; 16] = [0; 16];

// SAFETY: `into_raw` returns a non-null pointer into `TABLE`, and `from_raw` maps it back to
// the same index; `Id` owns nothing, so losing or duplicating the pointer is harmless.
unsafe impl Ptr for Id {
    fn into_raw(self) -> *mut () {
        std::ptr::from_ref(&TABLE[self.0]).cast_mut().cast()
    }

    unsafe fn from_raw(p: *mut ()) -> Self {
        Id(p as usize - TABLE.as_ptr() as usize)
    }
}

type Q = RunQueue<Id>;

/// Owner-side calls; each model thread calls these only on the queue it owns.
fn put(q: &Q, v: usize, next: bool, spilled: &mut Vec<usize>) {
    // SAFETY: the calling model thread owns `q`.
    if let Err(batch) = unsafe { q.put(Id(v), next) } {
        assert_eq!(
            batch.len(),
            CAP / 2 + 1,
            "overflow batch is half the ring + 1"
        );
        spilled.extend(batch.into_iter().map(|x| x.0));
    }
}

fn get_all(q: &Q, out: &mut Vec<usize>) {
    // SAFETY: the calling model thread owns `q`.
    while let Some((x, _)) = unsafe { q.get() } {
        out.push(x.0);
    }
}

fn steal(victim: &Q, mine: &Q, runnext: bool, victim_running: bool, out: &mut Vec<usize>) {
    // SAFETY: the calling model thread owns `mine`.
    if let Some(x) = unsafe { victim.runqsteal(mine, runnext, victim_running) } {
        out.push(x.0);
    }
}

/// A thief thread: one steal from `victim` into its own queue, then runs what it holds.
fn thief(victim: Arc<Q>, runnext: bool, victim_running: bool) -> thread::JoinHandle<Vec<usize>> {
    thread::spawn(move || {
        let mine = Q::new();
        let mut ran = Vec::new();
        steal(&victim, &mine, runnext, victim_running, &mut ran);
        get_all(&mine, &mut ran);
        ran
    })
}

/// Every id in `1..=n` exactly once.
fn assert_exactly_once(mut ran: Vec<usize>, n: usize) {
    ran.sort_unstable();
    assert_eq!(ran, (1..=n).collect::<Vec<_>>(), "lost or duplicated items");
}

/// The owner puts and gets while a thief steals: nothing lost, nothing run twice, and the
/// ring wraps around.
#[test]
fn put_get_vs_steal() {
    loom::model(|| {
        let q = Arc::new(Q::new());
        let mut ran = Vec::new();
        let mut spilled = Vec::new();
        put(&q, 1, false, &mut spilled);
        put(&q, 2, false, &mut spilled);
        let th = thief(q.clone(), false, false);
        put(&q, 3, false, &mut spilled);
        // SAFETY: this thread owns `q`.
        if let Some((x, _)) = unsafe { q.get() } {
            ran.push(x.0);
        }
        put(&q, 4, false, &mut spilled);
        put(&q, 5, false, &mut spilled);
        get_all(&q, &mut ran);
        ran.extend(th.join().unwrap());
        assert!(spilled.is_empty(), "at most 4 queued: no overflow");
        assert!(q.is_empty());
        assert_exactly_once(ran, 5);
    });
}

/// A full ring overflows while a thief steals from it: the owner's overflow CAS and the
/// thief's CAS race for the head; either the thief wins (the put then fits) or the owner
/// spills half the ring + the item, and the thief finds the rest.
#[test]
fn overflow_vs_steal() {
    loom::model(|| {
        let q = Arc::new(Q::new());
        let mut ran = Vec::new();
        let mut spilled = Vec::new();
        for v in 1..=CAP {
            put(&q, v, false, &mut spilled);
        }
        let th = thief(q.clone(), false, false);
        put(&q, CAP + 1, false, &mut spilled);
        put(&q, CAP + 2, true, &mut spilled);
        get_all(&q, &mut ran);
        ran.extend(th.join().unwrap());
        ran.extend(spilled);
        assert_exactly_once(ran, CAP + 2);
    });
}

/// A thief takes runnext (after its "victim is running" back-off) while the owner gets it or
/// kicks it to the ring with a new runnext.
#[test]
fn runnext_steal_vs_owner() {
    loom::model(|| {
        let q = Arc::new(Q::new());
        let mut ran = Vec::new();
        let mut spilled = Vec::new();
        put(&q, 1, true, &mut spilled);
        let th = thief(q.clone(), true, true);
        put(&q, 2, true, &mut spilled); // kicks 1 to the ring, unless stolen
        get_all(&q, &mut ran);
        ran.extend(th.join().unwrap());
        assert!(spilled.is_empty());
        assert_exactly_once(ran, 2);
    });
}

/// Two thieves steal from a full ring while the owner gets.
#[test]
fn two_thieves() {
    loom::model(|| {
        let q = Arc::new(Q::new());
        let mut ran = Vec::new();
        let mut spilled = Vec::new();
        for v in 1..=CAP {
            put(&q, v, false, &mut spilled);
        }
        let a = thief(q.clone(), false, false);
        let b = thief(q.clone(), true, false);
        // SAFETY: this thread owns `q`.
        if let Some((x, _)) = unsafe { q.get() } {
            ran.push(x.0);
        }
        ran.extend(a.join().unwrap());
        ran.extend(b.join().unwrap());
        get_all(&q, &mut ran);
        assert_exactly_once(ran, CAP);
    });
}

/// Two Ps steal from each other at once: each queue is a victim while its owner copies
/// stolen items into its slots above its tail (speculative readers may see those writes).
#[test]
fn cross_steal() {
    loom::model(|| {
        let a = Arc::new(Q::new());
        let b = Arc::new(Q::new());
        let mut spilled = Vec::new();
        for v in 1..=3 {
            put(&a, v, false, &mut spilled);
            put(&b, 3 + v, false, &mut spilled);
        }
        let th = {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                let mut ran = Vec::new();
                steal(&a, &b, false, false, &mut ran);
                get_all(&b, &mut ran);
                ran
            })
        };
        let mut ran = Vec::new();
        steal(&b, &a, false, false, &mut ran);
        get_all(&a, &mut ran);
        ran.extend(th.join().unwrap());
        // A steal may find the other P's queue momentarily empty and miss items that are then
        // left behind: both threads are done, so take them now.
        get_all(&a, &mut ran);
        get_all(&b, &mut ran);
        assert!(spilled.is_empty());
        assert_exactly_once(ran, 6);
    });
}
