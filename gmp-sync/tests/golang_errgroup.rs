//! Port of golang.org/x/sync's errgroup/errgroup_test.go (x/sync at 36f2d70), run in
//! goroutines (on 1 and 2 Ps) and from a plain thread (the group's goroutines then run on the
//! default runtime). Deviations, from API.md: `wait` hands the first error out once (an `E`
//! need not be `Clone`; later waits give `Ok(())`), and the context's cause on a failure is a
//! fixed message rather than the error itself (an `E` need not be `Display`).
#![cfg(feature = "context")]

mod common;

use common::{everywhere, panic_message};
use gmp_chan::context::{Context, ContextError};
use gmp_chan::{chan, TryRecvError};
use gmp_sync::errgroup::Group;
use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
struct Doom(&'static str);

/// ExampleGroup_parallel: "Google Search 2.0" with a context.
/// Kills: results written by the group's goroutines lost before `wait` returns.
#[test]
fn example_group_parallel() {
    everywhere(|| {
        fn google(ctx: &Context, query: &'static str) -> Result<Vec<String>, Doom> {
            let (g, _ctx) = Group::<Doom>::with_context(ctx);
            let results: Vec<Arc<parking_lot::Mutex<String>>> =
                (0..3).map(|_| Arc::default()).collect();
            for (kind, slot) in ["web", "image", "video"].into_iter().zip(&results) {
                let slot = slot.clone();
                g.go(move || {
                    *slot.lock() = format!("{kind} result for {query:?}");
                    Ok(())
                });
            }
            g.wait()?;
            Ok(results.iter().map(|r| r.lock().clone()).collect())
        }
        let got = google(&Context::background(), "golang").unwrap();
        assert_eq!(
            got,
            [
                "web result for \"golang\"",
                "image result for \"golang\"",
                "video result for \"golang\""
            ]
        );
    });
}

/// TestZeroGroup. Kills: `wait` returning a later error instead of the first, or none.
#[test]
fn test_zero_group() {
    everywhere(|| {
        let (e1, e2) = (Doom("errgroup_test: 1"), Doom("errgroup_test: 2"));
        let cases: Vec<Vec<Option<Doom>>> = vec![
            vec![],
            vec![None],
            vec![Some(e1.clone())],
            vec![Some(e1.clone()), None],
            vec![Some(e1.clone()), None, Some(e2.clone())],
        ];
        for errs in cases {
            let g = Group::<Doom>::new();
            let mut first_err: Option<Doom> = None;
            let mut handed_out = false;
            for err in &errs {
                let e = err.clone();
                g.go(move || e.map_or(Ok(()), Err));
                if first_err.is_none() {
                    first_err = err.clone();
                }
                let got = g.wait().err();
                // gmp: the first error once, then Ok (Go returns it every time).
                let want = if handed_out { None } else { first_err.clone() };
                assert_eq!(got, want, "errs {errs:?}");
                handed_out |= got.is_some();
            }
        }
    });
}

/// The cases of TestWithContext and TestCancelCause: what the goroutines return, and the
/// error `wait` must give.
fn doom_cases() -> Vec<(Vec<Option<Doom>>, Option<Doom>)> {
    let doom = Doom("group_test: doomed");
    vec![
        (vec![], None),
        (vec![None], None),
        (vec![Some(doom.clone())], Some(doom.clone())),
        (vec![Some(doom.clone()), None], Some(doom)),
    ]
}

/// TestWithContext. Kills: the derived context not cancelled when `wait` returns.
#[test]
fn test_with_context() {
    everywhere(|| {
        for (errs, want) in doom_cases() {
            let (g, ctx) = Group::<Doom>::with_context(&Context::background());
            for err in errs.iter().cloned() {
                g.go(move || err.map_or(Ok(()), Err));
            }
            assert_eq!(g.wait().err(), want, "errs {errs:?}");
            assert_eq!(
                ctx.done().try_recv(),
                Err(TryRecvError::Closed),
                "ctx.Done() was not closed"
            );
        }
    });
}

/// TestTryGo. Kills: `try_go` ignoring the limit, or a limit of 0 letting one through.
#[test]
fn test_try_go() {
    everywhere(|| {
        let g = Group::<Doom>::new();
        let n = 42;
        g.set_limit(42);
        let ch = chan::<()>(0);
        let f = {
            let tx = ch.sender();
            move || {
                let tx = tx.clone();
                move || {
                    tx.send(()).unwrap();
                    Ok(())
                }
            }
        };
        for i in 0..n {
            assert!(
                g.try_go(f()),
                "TryGo should succeed but got fail at {i}-th call."
            );
        }
        assert!(!g.try_go(f()), "TryGo is expected to fail but succeeded.");
        let drain = |k: usize| {
            let rx = ch.receiver();
            gmp_core::go(move || {
                for _ in 0..k {
                    rx.recv().unwrap();
                }
            })
        };
        let d = drain(n);
        g.wait().unwrap();
        d.join().unwrap();
        assert!(
            g.try_go(f()),
            "TryGo should success but got fail after all goroutines."
        );
        let d = drain(1);
        g.wait().unwrap();
        d.join().unwrap();
        // Switch limit.
        g.set_limit(1);
        assert!(g.try_go(f()), "TryGo should success but got failed.");
        assert!(!g.try_go(f()), "TryGo should fail but succeeded.");
        let d = drain(1);
        g.wait().unwrap();
        d.join().unwrap();
        // Block all calls.
        g.set_limit(0);
        for _ in 0..1 << 10 {
            assert!(!g.try_go(f()), "TryGo should fail but got succeeded.");
        }
        g.wait().unwrap();
    });
}

/// TestGoLimit. Kills: `go` not waiting for a slot.
#[test]
fn test_go_limit() {
    everywhere(|| {
        const LIMIT: i32 = 10;
        let g = Group::<String>::new();
        g.set_limit(LIMIT as usize);
        let active = Arc::new(AtomicI32::new(0));
        for _ in 0..=1 << 10 {
            let active = active.clone();
            g.go(move || {
                let n = active.fetch_add(1, SeqCst) + 1;
                if n > LIMIT {
                    return Err(format!("saw {n} active goroutines; want ≤ {LIMIT}"));
                }
                gmp_core::sleep(Duration::from_micros(1)); // others may increment meanwhile
                active.fetch_sub(1, SeqCst);
                Ok(())
            });
        }
        g.wait().unwrap();
    });
}

/// TestCancelCause (gmp: the cause of a failure is a fixed message, see the file's docs).
/// Kills: the context cancelled without a cause on a failure, or with one on success.
#[test]
fn test_cancel_cause() {
    everywhere(|| {
        for (errs, want) in doom_cases() {
            let (g, ctx) = Group::<Doom>::with_context(&Context::background());
            for err in errs.iter().cloned() {
                g.try_go(move || err.map_or(Ok(()), Err));
            }
            assert_eq!(g.wait().err(), want.clone(), "errs {errs:?}");
            let want_cause = match want {
                None => ContextError::Canceled,
                Some(_) => ContextError::Cause("errgroup: a goroutine of the group failed".into()),
            };
            assert_eq!(ctx.cause(), Some(want_cause), "errs {errs:?}");
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
        }
    });
}

/// gmp: a panic in a goroutine of the group cancels the context at once and resumes in
/// `wait` (once). Kills: a panic swallowed, or resumed before the other goroutines end.
#[test]
fn a_panic_resumes_in_wait_after_the_others_end() {
    everywhere(|| {
        let (g, ctx) = Group::<Doom>::with_context(&Context::background());
        let saw_cancel = Arc::new(AtomicI32::new(0));
        let s2 = saw_cancel.clone();
        g.go(move || {
            // Ends only once the panic has cancelled the group's context.
            ctx.done().recv();
            s2.store(1, SeqCst);
            Ok(())
        });
        g.go(|| panic!("errgroup boom"));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.wait()));
        assert_eq!(panic_message(r), "errgroup boom");
        assert_eq!(saw_cancel.load(SeqCst), 1);
        assert_eq!(g.wait(), Ok(()));
    });
}

/// gmp (Go's SetLimit panic). Kills: a limit changed under running goroutines.
#[test]
fn set_limit_while_active_panics_with_gos_message() {
    let g = Group::<Doom>::new();
    let ch = chan::<()>(0);
    let rx = ch.receiver();
    g.go(move || {
        rx.recv();
        Ok(())
    });
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.set_limit(3)));
    assert_eq!(
        panic_message(r),
        "errgroup: modify limit while 1 goroutines in the group are still active"
    );
    ch.close();
    g.wait().unwrap();
}
