//! Spawning, joining, yielding and sleeping goroutines.

use gmp_core::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn run_returns_value() {
    assert_eq!(run(|| 42), 42);
}

#[test]
fn main_is_goroutine_1() {
    assert_eq!(run(|| current_id().unwrap().as_u64()), 1);
}

#[test]
fn spawn_many_join() {
    for procs in [1, 2, 4] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let n = rt.run(|| {
            let c = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..10_000)
                .map(|_| {
                    let c = c.clone();
                    go(move || c.fetch_add(1, Ordering::Relaxed))
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            c.load(Ordering::Relaxed)
        });
        assert_eq!(n, 10_000);
    }
}

#[test]
fn sleep_works() {
    let t = Instant::now();
    run(|| {
        let hs: Vec<_> = (0..100)
            .map(|_| go(|| sleep(Duration::from_millis(20))))
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    let e = t.elapsed();
    assert!(
        e >= Duration::from_millis(20) && e < Duration::from_secs(5),
        "{e:?}"
    );
}

#[test]
fn yield_ping() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.run(|| {
        let h = go(|| {
            for _ in 0..1000 {
                gosched();
            }
        });
        for _ in 0..1000 {
            gosched();
        }
        h.join().unwrap();
    });
}

/// For the `go!` tests: the identity, a worker, and a receiver with methods.
fn identity(v: usize) -> usize {
    v
}

fn work(id: usize, total: Arc<AtomicUsize>) -> usize {
    total.fetch_add(id, Ordering::SeqCst);
    id
}

struct Held(usize);

impl Held {
    fn get(&self) -> usize {
        self.0
    }
    fn plus(self, n: usize) -> usize {
        self.0 + n
    }
}

#[test]
fn go_macro_evaluates_arguments_in_the_caller() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    gmp_core::run(|| {
        // Go by Example's worker pool loop: a closure would move `total` on the first turn
        // (E0382); `go!` evaluates `total.clone()` here, each turn.
        let total = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (1..=3)
            .map(|w| gmp_core::go!(work(w, total.clone())))
            .collect();
        let ids: Vec<usize> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(total.load(SeqCst), 6);
        // The argument's value is the one it had at the `go!`, not when the goroutine ran.
        let a = Arc::new(AtomicUsize::new(1));
        let h = gmp_core::go!(identity(a.load(SeqCst)));
        a.store(2, SeqCst);
        assert_eq!(h.join().unwrap(), 1);
    });
}

#[test]
fn go_macro_evaluates_the_receiver_in_the_caller() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    gmp_core::run(|| {
        let a = Arc::new(AtomicUsize::new(1));
        // A receiver ending in a call is evaluated here, as are the arguments.
        let h = gmp_core::go!(Held(a.load(SeqCst)).plus(a.load(SeqCst) * 10));
        a.store(5, SeqCst);
        assert_eq!(h.join().unwrap(), 11);
        // A variable, and a parenthesized receiver (Go: `go (new(T)).m()`).
        let held = Held(7);
        assert_eq!(gmp_core::go!(held.get()).join().unwrap(), 7);
        assert_eq!(gmp_core::go!((Box::new(Held(8))).get()).join().unwrap(), 8);
        // A place receiver stays in the goroutine (moving the array), and still works.
        let v = [Held(9)];
        assert_eq!(gmp_core::go!(v[0].get()).join().unwrap(), 9);
        // A block moves its captures; a plain expression runs as written.
        let s = String::from("four");
        assert_eq!(gmp_core::go!({ s.len() }).join().unwrap(), 4);
        assert_eq!(gmp_core::go!(2 + 3).join().unwrap(), 5);
    });
}

#[test]
fn go_macro_records_the_callers_line_as_the_spawn_site() {
    gmp_core::run(|| {
        let h = gmp_core::go!(gmp_core::sleep(Duration::from_secs(3600)));
        let line = line!() - 1;
        let dump = gmp_core::dump();
        let want = format!("created by {}:{line}", file!());
        assert!(dump.contains(&want), "{want:?} not in:\n{dump}");
        drop(h);
    });
}
