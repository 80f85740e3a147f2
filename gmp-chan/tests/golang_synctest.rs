//! Ports of Go's synctest tests (Go 1.27): `internal/synctest/synctest_test.go`,
//! `testing/synctest/synctest_test.go` and `example_test.go`, `runtime/synctest_test.go`.
//! Go's `synctest.Run`/`synctest.Test` is [`synctest::test`], `synctest.Wait` is
//! [`synctest::wait`]. Go's `time.Now()` in a bubble is midnight UTC 2000-01-01; gmp's
//! `time::now()` is an `Instant` every bubble starts at, so the tests compare durations since a
//! start. Go's shared variables written by goroutines (`done`, `i`, `v1`) are atomics here,
//! read and written with separate loads and stores where Go writes `v++`. The tests that need
//! gmp-sync's `WaitGroup` or `Cond` are in `gmp-sync/tests/golang_synctest_sync.rs` (gmp-sync
//! is not a dev-dependency of gmp-chan).
//!
//! Names: `test_*` come from internal/synctest, `testing_test_*` from testing/synctest's
//! synctest_test.go, `example_test_*` from its example_test.go.
//!
//! Go's messages differ in one place: when `f` has returned and blocked goroutines remain, Go
//! panics with `deadlock: main bubble goroutine has exited but blocked goroutines remain`,
//! gmp with `synctest: goroutines still blocked at end of bubble` (`test_deadlock_child`).
//!
//! One divergence is ported as gmp's behaviour: an expired gmp timer's value reaches its
//! channel at the next scheduling point, not at the receive (`test_timer_runs_immediately`;
//! Go 1.23's `maybeRunChan`). Timers due at the same instant in a bubble fire in random order,
//! as in Go (`test_timer_nondeterminism`, `test_sleep_nondeterminism`).
//!
//! Not ported, and why:
//! - internal/synctest `TestTimerFromOutsideBubble`, `TestChannelFromOutsideBubble`: in Go a
//!   goroutine blocked on a channel or timer created outside the bubble is not durably blocked,
//!   so the bubble waits for the outside world. gmp has no association of channels with
//!   bubbles: parking on any gmp channel is durably blocked (`gmp_core::synctest`'s docs), so
//!   the bubble reports a deadlock instead of waiting. A documented difference, not a bug.
//! - `TestChannelMovedOutOfBubble`, `TestTimerFromInsideBubble`: Go panics when a bubble's
//!   channel or timer is used from outside it; gmp has no such association and no such panic.
//! - `TestDeadlockTicker`: Go stops the clock once the bubble's main goroutine has exited, so
//!   a goroutine waiting on a ticker is then a deadlock. gmp's clock keeps moving until the
//!   other goroutines end (documented: "the clock moves as needed"), so the ticker's goroutine
//!   gets its tick and returns; the Go test's expectation is the opposite of gmp's design.
//!   `test_deadlock_child` covers the leak report.
//! - `TestReflectFuncOf` (reflect's type cache), `TestWeak` (`weak.Make` and the GC): Go
//!   runtime internals with no gmp counterpart.
//! - `TestWaitGroupOutOfBubble`, `TestWaitGroupMovedIntoBubble`,
//!   `TestWaitGroupMovedOutOfBubble`, `TestWaitGroupMovedBetweenBubblesWithNonZeroCount`:
//!   the association of a WaitGroup with a bubble (and Go's fatal errors about it), which gmp
//!   does not have. (The WaitGroup tests that do apply are in gmp-sync's port file.)
//! - testing/synctest `TestSuccess`: `TestRunEmpty` with a `*testing.T`; ported as that.
//! - `TestFatal`, `TestError`, `TestVerboseError`, `TestSkip`, `TestVerboseSkip`, `TestHelper`,
//!   `TestCleanup`, `TestContext`, `TestDeadline`, `TestParallel`, `TestRun`: the plumbing of
//!   `testing.T` into a bubble (its output, `t.Cleanup`, `t.Context`, `t.Run`...); gmp's
//!   `test` takes a plain closure and Rust's test harness has no `T`.
//! - example_test.go `TestHTTPTransport100Continue`: net/http over `net.Pipe`; gmp has neither.
//! - runtime `TestSynctest` (testdata/testsynctest: GC workers and finalizer goroutines stay
//!   out of a bubble) and `TestSynctestAssocConsts` (constants shared by runtime and
//!   internal/synctest): no GC, finalizers or association constants in gmp.

use gmp_chan::context::{Context, ContextError};
use gmp_chan::{chan, select, time, Chan};
use gmp_core::{go, gosched, sleep, synctest};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn now() -> Instant {
    gmp_core::time::now()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Go's `v++` on a variable shared without a lock: a load and a store, so a missing
/// happens-before edge can lose an update.
fn incr(v: &AtomicUsize) {
    v.store(v.load(Relaxed) + 1, Relaxed);
}

/// Where every bubble's clock starts (Go: midnight UTC 2000-01-01), read from a bubble of its
/// own.
fn bubble_start() -> Instant {
    synctest::test(now)
}

/// A value set by one goroutine and read by another after `synctest::wait`.
#[derive(Default)]
struct Slot<T>(std::sync::Mutex<Option<T>>);

impl<T> Slot<T> {
    fn set(&self, v: T) {
        *self.0.lock().unwrap() = Some(v);
    }
    fn take(&self) -> Option<T> {
        self.0.lock().unwrap().take()
    }
}

/// internal/synctest: TestNow
#[test]
fn test_now() {
    let start = bubble_start();
    // Real time passes between the two bubbles; their clocks do not see it.
    std::thread::sleep(Duration::from_millis(2));
    synctest::test(move || {
        // Time starts at the bubble's start.
        assert_eq!(now(), start, "at start: time.Now");
        // New goroutines see the same fake clock.
        let h = go(now);
        // Time advances after a sleep.
        sleep(secs(1));
        assert_eq!(now(), start + secs(1), "after sleep: time.Now");
        assert_eq!(h.join().unwrap(), start, "time.Now in a new goroutine");
    });
}

/// internal/synctest: TestMonotonicClock. Times from inside a bubble compare with ones from
/// outside it: both are `Instant`s on the same monotonic clock.
#[test]
fn test_monotonic_clock() {
    // Go's bubble starts in 2000, long before `start`; gmp's starts when the first bubble of
    // the process is made, so make one before taking `start`.
    bubble_start();
    let start = Instant::now();
    synctest::test(move || {
        sleep(start.saturating_duration_since(now()));
        assert_eq!(now(), start, "time.Now()");
        let wait = secs(1);
        sleep(wait);
        assert_eq!(now() - start, wait, "time.Since(start)");
        assert_eq!(now().duration_since(start), wait, "time.Now().Sub(start)");
    });
}

/// internal/synctest: TestRunEmpty (and testing/synctest: TestSuccess)
#[test]
fn test_run_empty() {
    assert_eq!(synctest::test(|| 7), 7);
}

/// internal/synctest: TestSimpleWait
#[test]
fn test_simple_wait() {
    synctest::test(synctest::wait);
}

/// internal/synctest: TestGoroutineWait
#[test]
fn test_goroutine_wait() {
    synctest::test(|| {
        go(|| {});
        synctest::wait();
    });
}

/// A goroutine of Go's TestWait/TestMallocs: receives a count, and while it is not zero starts
/// the next goroutine and hands it the count less one.
fn pass_down(ch: Chan<Vec<u8>>, done: Arc<AtomicBool>) {
    let b = ch.recv().expect("the channel is never closed");
    if b.is_empty() {
        done.store(true, SeqCst);
    } else {
        let (c, d) = (ch.clone(), done);
        go(move || pass_down(c, d));
        ch.send(vec![0; b.len() - 1]).unwrap();
    }
}

/// internal/synctest: TestWait. `wait` returns only once all 101 goroutines have run, one
/// after the other.
#[test]
fn test_wait() {
    synctest::test(wait_for_the_chain);
}

/// TestWait's bubble body (TestMallocs runs it too).
fn wait_for_the_chain() {
    let done = Arc::new(AtomicBool::new(false));
    let ch = chan::<Vec<u8>>(0);
    let (c, d) = (ch.clone(), done.clone());
    go(move || pass_down(c, d));
    ch.send(vec![0; 100]).unwrap();
    synctest::wait();
    assert!(done.load(SeqCst), "done = false, want true");
}

/// internal/synctest: TestMallocs. TestWait passing allocations, in 100 bubbles one after
/// the other.
#[test]
fn test_mallocs() {
    for _ in 0..100 {
        synctest::test(wait_for_the_chain);
    }
}

/// internal/synctest: TestTimerReadBeforeDeadline
#[test]
fn test_timer_read_before_deadline() {
    synctest::test(|| {
        let start = now();
        let tm = time::Timer::new(secs(5));
        tm.c().recv().unwrap();
        assert_eq!(now() - start, secs(5), "after sleep: time.Since(start)");
    });
}

/// internal/synctest: TestTimerReadAfterDeadline
#[test]
fn test_timer_read_after_deadline() {
    synctest::test(|| {
        let delay = secs(1);
        let want = now() + delay;
        let tm = time::Timer::new(delay);
        sleep(2 * delay);
        assert_eq!(tm.c().recv(), Some(want), "<-tm.C");
    });
}

/// internal/synctest: TestTimerReset
#[test]
fn test_timer_reset() {
    synctest::test(|| {
        let start = now();
        let tm = time::Timer::new(secs(1));
        assert_eq!(tm.c().recv(), Some(start + secs(1)), "first sleep: <-tm.C");

        tm.reset(secs(2));
        assert_eq!(
            tm.c().recv(),
            Some(start + secs(1 + 2)),
            "second sleep: <-tm.C"
        );

        tm.reset(secs(3));
        sleep(secs(1));
        tm.reset(secs(3));
        assert_eq!(
            tm.c().recv(),
            Some(start + secs(1 + 2 + 4)),
            "third sleep: <-tm.C"
        );
    });
}

/// internal/synctest: TestTimeAfter. The goroutine an AfterFunc starts, and the goroutine it
/// starts, are in the bubble.
#[test]
fn test_time_after() {
    synctest::test(|| {
        let i = Arc::new(AtomicUsize::new(0));
        let i2 = i.clone();
        gmp_core::time::after_fn(secs(1), move || {
            incr(&i2); // 1
            let i3 = i2.clone();
            go(move || {
                sleep(secs(1));
                incr(&i3); // 2
            });
        });
        sleep(secs(3));
        synctest::wait();
        assert_eq!(i.load(SeqCst), 2, "after sleep and wait: i");
    });
}

/// internal/synctest: TestTimerAfterBubbleExit. A timer still pending when `f` returns never
/// runs.
#[test]
fn test_timer_after_bubble_exit() {
    let run = Arc::new(AtomicBool::new(false));
    let r = run.clone();
    synctest::test(move || {
        gmp_core::time::after_fn(secs(1), move || r.store(true, SeqCst));
    });
    // Had the bubble let it fire, it would have (the clock jumps at once).
    std::thread::sleep(Duration::from_millis(5));
    assert!(!run.load(SeqCst), "timer ran before bubble exit");
}

/// internal/synctest: TestTimerNondeterminism. Timers due at the same instant do not always
/// fire in the same order.
#[test]
fn test_timer_nondeterminism() {
    synctest::test(|| {
        const ITERATIONS: usize = 1000;
        let (mut seen1, mut seen2) = (false, false);
        for _ in 0..ITERATIONS {
            let tm1 = time::Timer::new(Duration::from_nanos(1));
            let tm2 = time::Timer::new(Duration::from_nanos(1));
            select! {
                recv(tm1.c()) -> _ => seen1 = true,
                recv(tm2.c()) -> _ => seen2 = true,
            }
            if seen1 && seen2 {
                return;
            }
            synctest::wait();
        }
        panic!("after {ITERATIONS} iterations, seen timer1:{seen1}, timer2:{seen2}; want both");
    });
}

/// internal/synctest: TestSleepNondeterminism. Goroutines sleeping until the same instant do
/// not always run in the same order.
#[test]
fn test_sleep_nondeterminism() {
    synctest::test(|| {
        const ITERATIONS: usize = 1000;
        let (mut seen1, mut seen2) = (false, false);
        for _ in 0..ITERATIONS {
            let first = Arc::new(AtomicI32::new(0));
            for me in [1, 2] {
                let first = first.clone();
                go(move || {
                    sleep(Duration::from_nanos(1));
                    let _ = first.compare_exchange(0, me, SeqCst, SeqCst);
                });
            }
            sleep(Duration::from_nanos(1));
            synctest::wait();
            match first.load(SeqCst) {
                1 => seen1 = true,
                2 => seen2 = true,
                v => panic!("first = {v}, want 1 or 2"),
            }
            if seen1 && seen2 {
                return;
            }
            synctest::wait();
        }
        panic!("after {ITERATIONS} iterations, seen goroutine 1:{seen1}, 2:{seen2}; want both");
    });
}

/// internal/synctest: TestTimerRunsImmediately, as gmp does it. Go 1.23 runs an expired
/// timer when its channel is received from (runtime/time.go, `maybeRunChan`), so a 0-duration
/// timer's channel is ready at once. gmp fires it at the next scheduling point (one
/// `gosched`), in a bubble or not: a documented divergence. What Go's test guards against
/// holds either way: the value comes without waiting for the bubble to block, dated the
/// instant the timer was due.
#[test]
fn test_timer_runs_immediately() {
    synctest::test(|| {
        let start = now();
        let tm = time::Timer::new(Duration::ZERO);
        gosched();
        select! {
            recv(tm.c()) -> got => assert_eq!(got, Some(start), "<-tm.C"),
            default => panic!("0-duration timer channel is not readable after a gosched"),
        }
    });
}

/// internal/synctest: TestTimerRanInPast. A timer's channel receives the time the timer
/// fired, even when that time is in the past.
#[test]
fn test_timer_ran_in_past() {
    synctest::test(|| {
        let delay = secs(1);
        let want = now() + delay;
        let tm = time::Timer::new(delay);
        sleep(2 * delay);
        select! {
            recv(tm.c()) -> got => assert_eq!(got, Some(want), "<-tm.C"),
            default => panic!("timer channel is not readable; want it to be"),
        }
    });
}

/// internal/synctest: TestAfterFuncRunsImmediately. A 0-duration AfterFunc is scheduled
/// without waiting for the bubble to block.
#[test]
fn test_after_func_runs_immediately() {
    synctest::test(|| {
        let b = Arc::new(AtomicBool::new(false));
        let b2 = b.clone();
        gmp_core::time::after_fn(Duration::ZERO, move || b2.store(true, SeqCst));
        // Go spins for ever; a bound keeps a failure from hanging the test run.
        let mut spins = 0u32;
        while !b.load(SeqCst) {
            spins += 1;
            assert!(spins < 1_000_000, "the AfterFunc(0) never ran");
            gosched();
        }
    });
}

/// internal/synctest: TestTimerResetZeroDoNotHang (go.dev/issue/76052). `Reset(0)` on a timer
/// whose value was received does not hang the bubble.
#[test]
fn test_timer_reset_zero_do_not_hang() {
    synctest::test(|| {
        let timer = time::Timer::new(Duration::ZERO);
        let (ctx, cancel) = Context::background().with_cancel();
        let c = timer.c().clone();
        let h = go(move || {
            let mut fired = 0;
            loop {
                select! {
                    recv(ctx.done()) -> _ => return fired,
                    recv(c) -> _ => fired += 1,
                }
            }
        });
        synctest::wait();
        timer.reset(Duration::ZERO);
        synctest::wait();
        cancel.cancel();
        synctest::wait();
        // Not in Go's test: both firings reached the goroutine.
        assert_eq!(h.join().unwrap(), 2, "timer values received");
    });
}

/// internal/synctest: TestDeadlockRoot
#[test]
fn test_deadlock_root() {
    let r = std::panic::catch_unwind(|| synctest::test(|| select! {}));
    let msg = panic_text(r.expect_err("got no panic, want one"));
    assert!(
        msg.starts_with("deadlock: all goroutines in bubble are blocked"),
        "got panic message {msg:?}"
    );
}

/// internal/synctest: TestDeadlockChild. Go's message is `deadlock: main bubble goroutine has
/// exited but blocked goroutines remain`; gmp's is its leak report.
#[test]
fn test_deadlock_child() {
    let r = std::panic::catch_unwind(|| {
        synctest::test(|| {
            go(|| select! {});
        })
    });
    let msg = panic_text(r.expect_err("got no panic, want one"));
    assert!(
        msg.starts_with("synctest: goroutines still blocked at end of bubble"),
        "got panic message {msg:?}"
    );
}

/// A push iterator (Go's `iter.Seq[time.Time]`): yields the time, sleeping a second between
/// values, until `yield_` returns false.
fn seq(mut yield_: impl FnMut(Instant) -> bool) {
    while yield_(now()) {
        sleep(secs(1));
    }
}

/// internal/synctest: TestIteratorPush
#[test]
fn test_iterator_push() {
    synctest::test(|| {
        let got = Arc::new(Slot::default());
        let g = got.clone();
        go(move || {
            let mut v = Vec::new();
            seq(|now| {
                v.push(now);
                v.len() < 3
            });
            g.set(v);
        });
        let want = vec![now(), now() + secs(1), now() + secs(2)];
        sleep(secs(5));
        synctest::wait();
        assert_eq!(got.take(), Some(want));
    });
}

/// internal/synctest: TestIteratorPull. gmp has no coroutine-switching `iter.Pull`; what it
/// does is done here the way it is written without coroutines: the iterator runs in its own
/// goroutine and hands each value over an unbuffered channel (`next`), until `stop` closes a
/// channel it selects on.
#[test]
fn test_iterator_pull() {
    synctest::test(|| {
        let got = Arc::new(Slot::default());
        let g = got.clone();
        go(move || {
            let (next, stop) = (chan::<Instant>(0), chan::<()>(0));
            let (n, s) = (next.clone(), stop.clone());
            go(move || {
                seq(|now| {
                    select! {
                        send(n, now) -> r => r.is_ok(),
                        recv(s) -> _ => false,
                    }
                })
            });
            let mut v = Vec::new();
            while v.len() < 3 {
                v.push(next.recv().unwrap());
            }
            stop.close(); // Go: defer stop()
            g.set(v);
        });
        let want = vec![now(), now() + secs(1), now() + secs(2)];
        sleep(secs(5));
        synctest::wait();
        assert_eq!(got.take(), Some(want));
    });
}

/// internal/synctest: TestHappensBefore. What goroutines, timers and the goroutines they start
/// do before they exit or block happens before `wait` returns; everything in a bubble happens
/// before `test` returns.
#[test]
fn test_happens_before() {
    // Two goroutines at a time, each with its own variable, so that every goroutine of the
    // bubble is accounted for.
    let v1 = Arc::new(AtomicUsize::new(0));
    let v2 = Arc::new(AtomicUsize::new(0));
    let (a, b) = (v1.clone(), v2.clone());
    synctest::test(move || {
        incr(&a); // 1
        incr(&b); // 1

        // Wait returns after these goroutines exit.
        for v in [&a, &b] {
            let v = v.clone();
            go(move || incr(&v)); // 2
        }
        synctest::wait();
        assert_eq!((a.load(Relaxed), b.load(Relaxed)), (2, 2));

        incr(&a); // 3
        incr(&b); // 3

        // Wait returns after these goroutines block.
        let ch1 = chan::<()>(0);
        for v in [&a, &b] {
            let (v, ch1) = (v.clone(), ch1.clone());
            go(move || {
                incr(&v); // 4
                ch1.recv();
            });
        }
        synctest::wait();
        assert_eq!((a.load(Relaxed), b.load(Relaxed)), (4, 4));

        incr(&a); // 5
        incr(&b); // 5
        ch1.close();

        // Wait returns after these timers run.
        for v in [&a, &b] {
            let v = v.clone();
            gmp_core::time::after_fn(Duration::ZERO, move || incr(&v)); // 6
        }
        synctest::wait();
        assert_eq!((a.load(Relaxed), b.load(Relaxed)), (6, 6));

        incr(&a); // 7
        incr(&b); // 7

        // Wait returns after these timer goroutines block.
        let ch2 = chan::<()>(0);
        for v in [&a, &b] {
            let (v, ch2) = (v.clone(), ch2.clone());
            gmp_core::time::after_fn(Duration::ZERO, move || {
                incr(&v); // 8
                ch2.recv();
            });
        }
        synctest::wait();
        assert_eq!((a.load(Relaxed), b.load(Relaxed)), (8, 8));

        incr(&a); // 9
        incr(&b); // 9
        ch2.close();
    });
    // This test happens after the previous one returns.
    let (a, b) = (v1.clone(), v2.clone());
    synctest::test(move || {
        for v in [a, b] {
            go(move || {
                go(move || incr(&v)); // 10
            });
        }
    });
    // These checks happen after `test` returns.
    assert_eq!(v1.load(Relaxed), 10, "v1");
    assert_eq!(v2.load(Relaxed), 10, "v2");
}

/// testing/synctest: TestNow. Every bubble starts at the same instant, however much real time
/// has passed (Go: midnight UTC 2000-01-01).
#[test]
fn testing_test_now() {
    let first = bubble_start();
    std::thread::sleep(Duration::from_millis(2));
    synctest::test(move || assert_eq!(now(), first, "time.Now()"));
}

/// testing/synctest: TestSynctestTimerRaceCtxCrash. AfterFuncs that start AfterFuncs, 100 at
/// the same instant, in 20 bubbles.
#[test]
fn testing_test_synctest_timer_race_ctx_crash() {
    for _ in 0..20 {
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        synctest::test(move || {
            for _ in 0..100 {
                let r = r.clone();
                gmp_core::time::after_fn(secs(1), move || {
                    let r = r.clone();
                    gmp_core::time::after_fn(Duration::ZERO, move || {
                        r.fetch_add(1, SeqCst);
                    });
                });
            }
            sleep(secs(2));
        });
        // Not in Go's test: every inner AfterFunc ran, at 1 s, before the 2 s sleep ended.
        assert_eq!(ran.load(SeqCst), 100);
    }
}

/// testing/synctest example_test.go: TestTime
#[test]
fn example_test_time() {
    synctest::test(|| {
        let start = now();
        let logged = chan::<Duration>(1);
        let tx = logged.clone();
        go(move || {
            sleep(Duration::from_nanos(1));
            tx.send(now() - start).unwrap(); // always logs "1ns"
        });
        sleep(Duration::from_nanos(2)); // the goroutine runs before this Sleep returns
        assert_eq!(logged.try_recv().ok(), Some(Duration::from_nanos(1)));
        assert_eq!(now() - start, Duration::from_nanos(2)); // always logs "2ns"
    });
}

/// testing/synctest example_test.go: TestWait
#[test]
fn example_test_wait() {
    synctest::test(|| {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        go(move || d.store(true, SeqCst));
        // Wait blocks until the goroutine above has finished.
        synctest::wait();
        assert!(done.load(SeqCst)); // always true
    });
}

/// testing/synctest example_test.go: TestContextAfterFunc
#[test]
fn example_test_context_after_func() {
    synctest::test(|| {
        // A context that can be canceled.
        let (ctx, cancel) = Context::background().with_cancel();

        // after_func registers a function to be called when the context is canceled.
        let called = Arc::new(AtomicBool::new(false));
        let c = called.clone();
        let _stop = ctx.after_func(move || c.store(true, SeqCst));

        // The context has not been canceled, so the AfterFunc is not called.
        synctest::wait();
        assert!(
            !called.load(SeqCst),
            "before context is canceled: AfterFunc called"
        );

        // Cancel the context and wait for the AfterFunc to finish executing.
        cancel.cancel();
        synctest::wait();
        assert!(
            called.load(SeqCst),
            "after context is canceled: AfterFunc not called"
        );
    });
}

/// testing/synctest example_test.go: TestContextWithTimeout
#[test]
fn example_test_context_with_timeout() {
    synctest::test(|| {
        // A context canceled after a timeout.
        let timeout = secs(5);
        let (ctx, _cancel) = Context::background().with_timeout(timeout);

        // Wait just less than the timeout.
        sleep(timeout - Duration::from_nanos(1));
        synctest::wait();
        assert_eq!(ctx.err(), None, "before timeout: ctx.Err()");

        // Wait the rest of the way until the timeout.
        sleep(Duration::from_nanos(1));
        synctest::wait();
        assert_eq!(
            ctx.err(),
            Some(ContextError::DeadlineExceeded),
            "after timeout: ctx.Err()"
        );
    });
}
