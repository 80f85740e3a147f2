//! Ports of Go's `context/context_test.go`, `context/x_test.go` and `context/afterfunc_test.go`
//! (Go 1.27). Each test runs three ways: as the main goroutine of runtimes with 1 and 2 Ps
//! (`goroutines_1p`, `goroutines_2p`; Go's `go f()` is a goroutine) and on the test's own
//! thread (`thread`; `go f()` is then a thread). Go's `otherContext{c}`, a layer of a type the
//! package does not know, becomes `c.with_value(Other)`: a layer that is not a cancel node.
//!
//! Not ported, and why:
//! - `TestTODO`: no `TODO` here (it is `Background` under another name).
//! - `TestCustomContextGoroutines`, `TestCustomContextPropagation`, `TestCustomContextCause`,
//!   and the custom-context cases of `TestCause`: `Context` is a type, not an interface, so
//!   there are no user-defined contexts and no goroutine that watches one. afterfunc_test.go
//!   tests the same for a custom context that has an `AfterFunc` method; its six tests are
//!   ported with a gmp cancel context as `ctx0`, which is the path they exercise inside Go.
//! - `TestWithoutCancel` and its `TestCause` cases, and the `WithTimeoutCause` cases of
//!   `TestCause`: no `WithoutCancel`, no `*Cause` deadline constructors in the API.
//! - `TestAllocs`: Go's allocation counts per call; Rust's allocations are different things.
//! - `TestWithValueChecksKey`, `TestInvalidDerivedFail`: a nil or incomparable key and a nil
//!   parent cannot be written; the key is a type and the parent a `&Context`.
//! - `TestDeadlineExceededSupportsTimeout`: Go's `net.Error`-style `Timeout()` method; the
//!   Display strings are checked in `context_tree.rs`.

use gmp_chan::context::{Context, ContextError};
use gmp_chan::{chan, select, time, Chan};
use std::time::{Duration, Instant};

mod common;
use common::{each_way, spawn};

/// Go's `shortDuration`: a reasonable time to block in a test.
const SHORT: Duration = Duration::from_millis(1);
/// Go's `veryLongDuration`: longer than any test runs.
const VERY_LONG: Duration = Duration::from_secs(1000 * 3600);
/// Go's `quiescent(t)`: by then anything pending has happened.
const QUIESCENT: Duration = Duration::from_secs(10);

/// Go's `select { case <-ctx.Done(): return true; default: return false }`.
fn is_done(ctx: &Context) -> bool {
    select! {
        recv(ctx.done()) -> v => {
            assert_eq!(v, None, "a done channel is closed, never sent on");
            true
        },
        default => false,
    }
}

/// Go's `testDeadline`: waits (up to [`QUIESCENT`]) for `c` to be done, with DeadlineExceeded.
fn check_deadline(c: &Context, name: &str) {
    select! {
        recv(time::after(QUIESCENT)) -> _ => panic!("{name}: context not timed out after {QUIESCENT:?}"),
        recv(c.done()) -> _ => {},
    }
    assert_eq!(
        c.err(),
        Some(ContextError::DeadlineExceeded),
        "{name}: c.err()"
    );
}

/// Yields the goroutine, or the thread on a plain thread (Go's `runtime.Gosched`).
fn gosched() {
    gmp_core::gosched();
}

/// Go's `otherContext`: a layer that is not a cancel node.
struct Other;

fn bg() -> Context {
    Context::background()
}

fn cause(s: &str) -> Option<ContextError> {
    Some(ContextError::Cause(s.into()))
}

// context_test.go: XTestParentFinishesChild.
// kills: children registered with the value node instead of its cancel anchor (the count);
// cancel not reaching a deadline child through a value node; cancel not clearing children;
// cancel leaving the child's deadline timer armed.
each_way! {
fn test_parent_finishes_child() {
    use gmp_chan::__private::{context_children, context_timer_armed};
    // parent -> cancel_child; parent -> value_child -> timer_child; parent -> after_func
    let (parent, cancel) = Context::background().with_cancel();
    let (cancel_child, _stop1) = parent.with_cancel();
    let value_child = parent.with_value("value");
    let (timer_child, _stop2) = value_child.with_timeout(VERY_LONG);
    let _after_stop = parent.after_func(|| {});

    for (c, name) in [(&parent, "parent"), (&cancel_child, "cancel_child"),
                      (&timer_child, "timer_child"), (&value_child, "value_child")] {
        assert!(!is_done(c), "<-{name}.done() should block");
    }
    // The parent's children are the three cancellable ones.
    assert_eq!(context_children(&parent), 3, "bad linkage");
    assert_eq!(context_children(&value_child), 3, "a value child answers for its anchor");
    assert!(context_timer_armed(&timer_child));

    cancel.cancel();

    assert_eq!(context_children(&parent), 0, "cancel didn't clear the children");
    assert!(!context_timer_armed(&timer_child), "the child's timer is still armed");
    for (c, name) in [(&parent, "parent"), (&cancel_child, "cancel_child"),
                      (&value_child, "value_child"), (&timer_child, "timer_child")] {
        assert!(is_done(c), "<-{name}.done() blocked, but shouldn't have");
        assert_eq!(c.err(), Some(ContextError::Canceled), "{name}.err()");
    }

    // A child of a cancelled parent is born cancelled.
    let precanceled = parent.with_value("value");
    assert!(is_done(&precanceled));
    assert_eq!(precanceled.err(), Some(ContextError::Canceled));
    let (precanceled, _c) = parent.with_cancel();
    assert!(is_done(&precanceled));
    assert_eq!(precanceled.err(), Some(ContextError::Canceled));
}
}

// context_test.go: XTestChildFinishesFirst.
// kills: a child's cancel not removing it from its parent (Go's removeChild); a child's
// cancel reaching up to its parent.
each_way! {
fn test_child_finishes_first() {
    use gmp_chan::__private::context_children;
    let (cancelable, _stop) = Context::background().with_cancel();
    for (parent, registers) in [(Context::background(), false), (cancelable, true)] {
        let (child, cancel) = parent.with_cancel();
        assert!(!is_done(&parent) && !is_done(&child));
        if registers {
            assert_eq!(context_children(&parent), 1, "bad linkage");
        }
        cancel.cancel();
        if registers {
            assert_eq!(context_children(&parent), 0, "child's cancel didn't remove self");
        }
        assert!(is_done(&child), "<-child.done() blocked");
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert!(!is_done(&parent), "<-parent.done() should block");
        assert_eq!(parent.err(), None);
    }
}
}

// context_test.go: XTestCancelRemoves.
// kills: a deadline child's cancel not removing it; AfterFuncStop::stop not removing the
// after-func from its context.
each_way! {
fn test_cancel_removes() {
    use gmp_chan::__private::context_children;
    let check = |when: &str, ctx: &Context, want: usize| {
        assert_eq!(context_children(ctx), want, "{when}: children");
    };

    let (ctx, _c) = Context::background().with_cancel();
    check("after creation", &ctx, 0);
    let (_child, cancel) = ctx.with_cancel();
    check("with WithCancel child", &ctx, 1);
    cancel.cancel();
    check("after canceling WithCancel child", &ctx, 0);

    let (ctx, _c) = Context::background().with_cancel();
    check("after creation", &ctx, 0);
    let (_child, cancel) = ctx.with_timeout(Duration::from_secs(3600));
    check("with WithTimeout child", &ctx, 1);
    cancel.cancel();
    check("after canceling WithTimeout child", &ctx, 0);

    let (ctx, _c) = Context::background().with_cancel();
    check("after creation", &ctx, 0);
    let stop = ctx.after_func(|| {});
    check("with AfterFunc child", &ctx, 1);
    assert!(stop.stop());
    check("after stopping AfterFunc child", &ctx, 0);
}
}

// x_test.go: TestBackground.
// kills: a background whose done channel can be received from.
each_way! {
fn test_background() {
    let c = Context::background();
    assert!(!is_done(&c), "<-c.done() should block");
    assert_eq!(format!("{c:?}"), "context.Background");
}
}

// x_test.go: TestWithCancel.
// kills: a cancel that reaches its children after it returns (Go: "should propagate
// synchronously"); a child below a value layer not registered with the cancel node above it.
each_way! {
fn test_with_cancel() {
    let (c1, cancel) = Context::background().with_cancel();
    assert_eq!(format!("{c1:?}"), "context.Background.WithCancel");
    let o = c1.with_value(Other);
    let (c2, _c2cancel) = o.with_cancel();
    let contexts = [&c1, &o, &c2];
    for (i, c) in contexts.iter().enumerate() {
        assert_eq!(c.err(), None, "c[{i}].err()");
        assert!(!is_done(c), "<-c[{i}].done() should block");
    }
    cancel.cancel(); // should propagate synchronously
    for (i, c) in contexts.iter().enumerate() {
        assert!(is_done(c), "<-c[{i}].done() blocked, but shouldn't have");
        assert_eq!(c.err(), Some(ContextError::Canceled), "c[{i}].err()");
    }
}
}

// x_test.go: TestDeadline.
// kills: no timer armed for a deadline; a child's later deadline replacing its parent's
// earlier one; a deadline in the past or now not done at once.
each_way! {
fn test_deadline() {
    let bg = Context::background();
    let (c, _c1) = bg.with_deadline(Instant::now() + SHORT);
    let s = format!("{c:?}");
    assert!(s.starts_with("context.Background.WithDeadline("), "format!(\"{{c:?}}\") = {s:?}");
    check_deadline(&c, "WithDeadline");

    let (c, _c2) = bg.with_deadline(Instant::now() + SHORT);
    let o = c.with_value(Other);
    check_deadline(&o, "WithDeadline+otherContext");

    let (c, _c3) = bg.with_deadline(Instant::now() + SHORT);
    let o = c.with_value(Other);
    let (c, _c4) = o.with_deadline(Instant::now() + VERY_LONG);
    check_deadline(&c, "WithDeadline+otherContext+WithDeadline");

    let past = Instant::now().checked_sub(SHORT).unwrap_or_else(Instant::now);
    let (c, _c5) = bg.with_deadline(past);
    check_deadline(&c, "WithDeadline+inthepast");

    let (c, _c6) = bg.with_deadline(Instant::now());
    check_deadline(&c, "WithDeadline+now");
}
}

// x_test.go: TestTimeout.
// kills: with_timeout not arming a timer; a child's longer timeout outliving its parent's.
each_way! {
fn test_timeout() {
    let bg = Context::background();
    let (c, _c1) = bg.with_timeout(SHORT);
    let s = format!("{c:?}");
    assert!(s.starts_with("context.Background.WithDeadline("), "format!(\"{{c:?}}\") = {s:?}");
    check_deadline(&c, "WithTimeout");

    let (c, _c2) = bg.with_timeout(SHORT);
    let o = c.with_value(Other);
    check_deadline(&o, "WithTimeout+otherContext");

    let (c, _c3) = bg.with_timeout(SHORT);
    let o = c.with_value(Other);
    let (c, _c4) = o.with_timeout(VERY_LONG);
    check_deadline(&c, "WithTimeout+otherContext+WithTimeout");
}
}

// x_test.go: TestCanceledTimeout.
// kills: cancelling a context that has a deadline reporting DeadlineExceeded.
each_way! {
fn test_canceled_timeout() {
    let (c, _c1) = Context::background().with_timeout(Duration::from_secs(1));
    let o = c.with_value(Other);
    let (c, cancel) = o.with_timeout(VERY_LONG);
    cancel.cancel(); // should propagate synchronously
    assert!(is_done(&c), "<-c.done() blocked, but shouldn't have");
    assert_eq!(c.err(), Some(ContextError::Canceled));
}
}

/// Go's `key1`, `key2(1)` and `key2(3)`: here each key is a type of its own.
struct K1(&'static str);
struct K2(&'static str);
struct K3(&'static str);

// x_test.go: TestValues. Keys are types: Go's k2 and k3 (one type, two values) become two
// types, and Go's shadowing of k1 by nil becomes shadowing by another K1.
// kills: value() returning the farthest value instead of the nearest; value() stopping at a
// cancel node or a layer of another type; a value leaking to its parent.
each_way! {
fn test_values() {
    let check = |c: &Context, nm: &str, v1: Option<&str>, v2: Option<&str>, v3: Option<&str>| {
        assert_eq!(c.value::<K1>().map(|k| k.0), v1, "{nm}.value::<K1>()");
        assert_eq!(c.value::<K2>().map(|k| k.0), v2, "{nm}.value::<K2>()");
        assert_eq!(c.value::<K3>().map(|k| k.0), v3, "{nm}.value::<K3>()");
    };
    let name = std::any::type_name::<K1>;

    let c0 = Context::background();
    check(&c0, "c0", None, None, None);

    let c1 = Context::background().with_value(K1("c1k1"));
    check(&c1, "c1", Some("c1k1"), None, None);
    assert_eq!(format!("{c1:?}"), format!("context.Background.WithValue({})", name()));

    let c2 = c1.with_value(K2("c2k2"));
    check(&c2, "c2", Some("c1k1"), Some("c2k2"), None);
    assert_eq!(
        format!("{c2:?}"),
        format!("context.Background.WithValue({}).WithValue({})", name(), std::any::type_name::<K2>())
    );

    let c3 = c2.with_value(K3("c3k3"));
    check(&c3, "c3", Some("c1k1"), Some("c2k2"), Some("c3k3"));

    let c4 = c3.with_value(K1("c4k1"));
    check(&c4, "c4", Some("c4k1"), Some("c2k2"), Some("c3k3"));
    check(&c1, "c1 after c4", Some("c1k1"), None, None);

    let o0 = Context::background().with_value(Other);
    check(&o0, "o0", None, None, None);

    let o1 = Context::background().with_value(K1("c1k1")).with_value(Other);
    check(&o1, "o1", Some("c1k1"), None, None);

    let o2 = o1.with_value(K2("o2k2"));
    check(&o2, "o2", Some("c1k1"), Some("o2k2"), None);

    let (o3, _c) = c4.with_cancel();
    check(&o3, "o3", Some("c4k1"), Some("c2k2"), Some("c3k3"));

    let o4 = o3.with_value(K3("o4k3"));
    check(&o4, "o4", Some("c4k1"), Some("c2k2"), Some("o4k3"));
}
}

// x_test.go: TestSimultaneousCancels.
// kills: a lock-order deadlock between concurrent cancels of a parent and its children (the
// waits time out); a cancel lost when a child is cancelled while its parent's walk runs.
each_way! {
fn test_simultaneous_cancels() {
    let (root, cancel) = Context::background().with_cancel();
    let mut all = vec![(root.clone(), cancel)];
    let mut q = std::collections::VecDeque::from([root]);
    // A tree of contexts, four children each.
    while let Some(parent) = q.pop_front() {
        if all.len() >= 100 {
            break;
        }
        for _ in 0..4 {
            let (ctx, cancel) = parent.with_cancel();
            all.push((ctx.clone(), cancel));
            q.push_back(ctx);
        }
    }
    // Start all the cancels in a scrambled order (Go's map order).
    let (contexts, cancels): (Vec<_>, Vec<_>) = all.into_iter().unzip();
    let mut cancels: Vec<_> = cancels.into_iter().enumerate().collect();
    cancels.sort_by_key(|(i, _)| (i * 37) % 101);
    let returned = chan::<()>(cancels.len());
    for (_, cancel) in cancels {
        let returned = returned.clone();
        drop(spawn(move || {
            cancel.cancel();
            returned.send(()).unwrap();
        }));
    }
    let stuck = time::after(QUIESCENT);
    // Wait on all the contexts, in another order.
    for ctx in contexts.iter().rev() {
        select! {
            recv(ctx.done()) -> _ => {},
            recv(stuck) -> _ => panic!("timed out waiting for <-ctx.done()"),
        }
    }
    // Wait for all the cancel functions to return.
    for _ in 0..contexts.len() {
        select! {
            recv(returned) -> _ => {},
            recv(stuck) -> _ => panic!("timed out waiting for cancel functions"),
        }
    }
}
}

// x_test.go: TestInterlockedCancels.
// kills: a cancel that holds its lock while the goroutines woken by its done channel run,
// when one of them cancels the child (it would wait for the lock for ever).
each_way! {
fn test_interlocked_cancels() {
    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, cancel_child) = parent.with_cancel();
    let p = parent.clone();
    let t = spawn(move || {
        p.done().recv();
        cancel_child.cancel();
    });
    cancel_parent.cancel();
    select! {
        recv(child.done()) -> _ => {},
        recv(time::after(QUIESCENT)) -> _ => panic!("timed out waiting for child.done()"),
    }
    t.join();
}
}

/// Go's `value` type in testLayers: the layer that set it.
struct Layer(usize);
/// The first value layer's own type, which every layer below must still see.
struct FirstLayer(usize);

/// x_test.go: testLayers, with a fixed seed. Keys are types, so the check is that the
/// nearest `Layer` and the first `FirstLayer` are seen through every layer.
fn test_layers(seed: u64, test_timeout: bool) {
    let mut r = seed | 1;
    let mut rand3 = move || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        (r % 3) as usize
    };
    const MIN_LAYERS: usize = 30;
    let mut ctx = Context::background();
    let (mut last_val, mut first_val) = (None, None);
    let mut cancels = Vec::new();
    let mut num_timers = 0;
    let mut i = 0;
    while i < MIN_LAYERS || num_timers == 0 || cancels.is_empty() || last_val.is_none() {
        match rand3() {
            0 => {
                ctx = if first_val.is_none() {
                    first_val = Some(i);
                    ctx.with_value(FirstLayer(i))
                } else {
                    ctx.with_value(Layer(i))
                };
                last_val = Some(i);
            }
            1 => {
                let (c, cancel) = ctx.with_cancel();
                ctx = c;
                cancels.push(cancel);
            }
            _ => {
                let d = if test_timeout { SHORT } else { VERY_LONG };
                let (c, cancel) = ctx.with_timeout(d);
                ctx = c;
                cancels.push(cancel);
                num_timers += 1;
            }
        }
        i += 1;
    }
    let check_values = |when: &str| {
        assert_eq!(
            ctx.value::<FirstLayer>().map(|v| v.0),
            first_val,
            "seed={seed} {when}: FirstLayer"
        );
        let nearest = ctx.value::<Layer>().map(|v| v.0).or(first_val);
        assert_eq!(nearest, last_val, "seed={seed} {when}: nearest Layer");
    };
    if !test_timeout {
        assert!(
            !is_done(&ctx),
            "seed={seed}: ctx should not be canceled yet"
        );
    }
    let s = format!("{ctx:?}");
    assert!(s.starts_with("context.Background."), "seed={seed}: {s}");
    check_values("before cancel");
    if test_timeout {
        select! {
            recv(ctx.done()) -> _ => {},
            recv(time::after(QUIESCENT)) -> _ => panic!("seed={seed}: ctx should have timed out"),
        }
        check_values("after timeout");
    } else {
        let pick = (seed as usize) % cancels.len();
        cancels[pick].cancel();
        assert!(is_done(&ctx), "seed={seed}: ctx should be canceled");
        check_values("after cancel");
    }
}

// x_test.go: TestLayersCancel (five fixed seeds instead of the clock).
// kills: a cancel in the middle of a chain not reaching the bottom through value layers.
each_way! {
fn test_layers_cancel() {
    for seed in [1, 2, 3, 0x5eed, 0xdead_beef] {
        test_layers(seed, false);
    }
}
}

// x_test.go: TestLayersTimeout (five fixed seeds).
// kills: a deadline in the middle of a chain not reaching the bottom.
each_way! {
fn test_layers_timeout() {
    for seed in [1, 2, 3, 0x5eed, 0xdead_beef] {
        test_layers(seed, true);
    }
}
}

// x_test.go: TestWithCancelCanceledParent.
// kills: a child born cancelled without its parent's cause.
each_way! {
fn test_with_cancel_canceled_parent() {
    let (parent, pcancel) = Context::background().with_cancel();
    pcancel.cancel_with_cause("Because!");
    let (c, _cancel) = parent.with_cancel();
    assert!(is_done(&c), "child not done immediately upon construction");
    assert_eq!(c.err(), Some(ContextError::Canceled), "child not canceled");
    assert_eq!(c.cause(), cause("Because!"), "child has wrong cause");
}
}

// x_test.go: TestWithCancelSimultaneouslyCanceledParent.
// kills: a child that registers after the parent's walk took its children (a live child of
// a cancelled parent: the wait times out); a child born cancelled without the cause.
each_way! {
fn test_with_cancel_simultaneously_canceled_parent() {
    for _ in 0..100 {
        let (parent, pcancel) = Context::background().with_cancel();
        let t = spawn(move || pcancel.cancel_with_cause("Because!"));
        let (c, _cancel) = parent.with_cancel();
        select! {
            recv(c.done()) -> _ => {},
            recv(time::after(QUIESCENT)) -> _ => panic!("child of a cancelled parent is live"),
        }
        assert_eq!(c.err(), Some(ContextError::Canceled), "child not canceled");
        assert_eq!(c.cause(), cause("Because!"), "child has wrong cause");
        t.join();
    }
}
}

// x_test.go: TestCause, the cases this API has (see the file's docs for the others).
// kills: a child cancelled by its parent keeping its own later cause; a child cancelled first
// taking its parent's later cause; cause() None (instead of err()) when no cause was given;
// a deadline's cause other than DeadlineExceeded.
each_way! {
fn test_cause() {
    use ContextError::{Canceled, DeadlineExceeded};
    type Case = (&'static str, fn() -> Context, Option<ContextError>, Option<ContextError>);
    let cases: [Case; 14] = [
        ("Background", || bg(), None, None),
        ("WithCancel", || { let (ctx, cancel) = bg().with_cancel(); cancel.cancel(); ctx },
            Some(Canceled), Some(Canceled)),
        ("WithCancelCause", || {
            let (ctx, cancel) = bg().with_cancel(); cancel.cancel_with_cause("parentCause"); ctx
        }, Some(Canceled), cause("parentCause")),
        // Go's cancel(nil): no cause given.
        ("WithCancelCause nil", || { let (ctx, cancel) = bg().with_cancel(); cancel.cancel(); ctx },
            Some(Canceled), Some(Canceled)),
        ("WithCancelCause: parent cause before child", || {
            let (ctx, cancel_parent) = bg().with_cancel();
            let (ctx, cancel_child) = ctx.with_cancel();
            cancel_parent.cancel_with_cause("parentCause");
            cancel_child.cancel_with_cause("childCause");
            ctx
        }, Some(Canceled), cause("parentCause")),
        ("WithCancelCause: parent cause after child", || {
            let (ctx, cancel_parent) = bg().with_cancel();
            let (ctx, cancel_child) = ctx.with_cancel();
            cancel_child.cancel_with_cause("childCause");
            cancel_parent.cancel_with_cause("parentCause");
            ctx
        }, Some(Canceled), cause("childCause")),
        ("WithCancelCause: parent cause before nil", || {
            let (ctx, cancel_parent) = bg().with_cancel();
            let (ctx, cancel_child) = ctx.with_cancel();
            cancel_parent.cancel_with_cause("parentCause");
            cancel_child.cancel();
            ctx
        }, Some(Canceled), cause("parentCause")),
        ("WithCancelCause: parent cause after nil", || {
            let (ctx, cancel_parent) = bg().with_cancel();
            let (ctx, cancel_child) = ctx.with_cancel();
            cancel_child.cancel();
            cancel_parent.cancel_with_cause("parentCause");
            ctx
        }, Some(Canceled), Some(Canceled)),
        ("WithCancelCause: child cause after nil", || {
            let (ctx, cancel_parent) = bg().with_cancel();
            let (ctx, cancel_child) = ctx.with_cancel();
            cancel_parent.cancel();
            cancel_child.cancel_with_cause("childCause");
            ctx
        }, Some(Canceled), Some(Canceled)),
        ("WithCancelCause: child cause before nil", || {
            let (ctx, cancel_parent) = bg().with_cancel();
            let (ctx, cancel_child) = ctx.with_cancel();
            cancel_child.cancel_with_cause("childCause");
            cancel_parent.cancel();
            ctx
        }, Some(Canceled), cause("childCause")),
        ("WithTimeout", || { let (ctx, cancel) = bg().with_timeout(Duration::ZERO); cancel.cancel(); ctx },
            Some(DeadlineExceeded), Some(DeadlineExceeded)),
        ("WithTimeout canceled", || {
            let (ctx, cancel) = bg().with_timeout(Duration::from_secs(1_000_000)); cancel.cancel(); ctx
        }, Some(Canceled), Some(Canceled)),
        // Go's "WithTimeoutCause stacked" and "... stacked canceled", without the
        // timeout's own cause.
        ("WithTimeout stacked", || {
            let (ctx, cancel) = bg().with_cancel();
            let (ctx, _c) = ctx.with_timeout(Duration::ZERO);
            cancel.cancel_with_cause("finishedEarly");
            ctx
        }, Some(DeadlineExceeded), Some(DeadlineExceeded)),
        ("WithTimeout stacked canceled", || {
            let (ctx, cancel) = bg().with_cancel();
            let (ctx, _c) = ctx.with_timeout(Duration::from_secs(1_000_000));
            cancel.cancel_with_cause("finishedEarly");
            ctx
        }, Some(Canceled), cause("finishedEarly")),
    ];
    for (name, make, err, want_cause) in cases {
        let ctx = make();
        assert_eq!(ctx.err(), err, "{name}: ctx.err()");
        assert_eq!(ctx.cause(), want_cause, "{name}: cause(ctx)");
    }
}
}

// x_test.go: TestCauseRace.
// kills: a cause published in two steps (first the error as a stand-in, then the cause
// given), so a poller sees the wrong one.
each_way! {
fn test_cause_race() {
    let (ctx, cancel) = Context::background().with_cancel();
    let t = spawn(move || cancel.cancel_with_cause("TestCauseRace"));
    // Poll cause, rather than waiting for done, to test that it is published with the error.
    loop {
        if let Some(got) = ctx.cause() {
            assert_eq!(Some(got), cause("TestCauseRace"));
            break;
        }
        gosched();
    }
    t.join();
}
}

// x_test.go: TestAfterFuncCalledAfterCancel.
// kills: an after-func run before its context is done; one not run on cancel; stop()
// returning true after the function started.
each_way! {
fn test_after_func_called_after_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let donec = chan::<()>(0);
    let d = donec.clone();
    let stop = ctx.after_func(move || {
        d.close();
    });
    select! {
        recv(donec) -> _ => panic!("AfterFunc called before context is done"),
        recv(time::after(SHORT)) -> _ => {},
    }
    cancel.cancel();
    select! {
        recv(donec) -> _ => {},
        recv(time::after(QUIESCENT)) -> _ => panic!("AfterFunc not called after context is canceled"),
    }
    assert!(!stop.stop(), "stop() = true, want false");
}
}

// x_test.go: TestAfterFuncCalledAfterTimeout.
// kills: a deadline's cancel that does not start the after-funcs.
each_way! {
fn test_after_func_called_after_timeout() {
    let (ctx, _cancel) = Context::background().with_timeout(SHORT);
    let donec = chan::<()>(0);
    let d = donec.clone();
    let _stop = ctx.after_func(move || {
        d.close();
    });
    select! {
        recv(donec) -> _ => {},
        recv(time::after(QUIESCENT)) -> _ => panic!("AfterFunc not called after context is canceled"),
    }
}
}

// x_test.go: TestAfterFuncCalledImmediately.
// kills: after_func on a done context registering (never to run) instead of starting f.
each_way! {
fn test_after_func_called_immediately() {
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let donec = chan::<()>(0);
    let d = donec.clone();
    let _stop = ctx.after_func(move || {
        d.close();
    });
    select! {
        recv(donec) -> _ => {},
        recv(time::after(QUIESCENT)) -> _ => panic!("AfterFunc not called for already-canceled context"),
    }
}
}

// x_test.go: TestAfterFuncNotCalledAfterStop.
// kills: stop() not keeping f from running; stop() answering true twice.
each_way! {
fn test_after_func_not_called_after_stop() {
    let (ctx, cancel) = Context::background().with_cancel();
    let donec = chan::<()>(0);
    let d = donec.clone();
    let stop = ctx.after_func(move || {
        d.close();
    });
    assert!(stop.stop(), "stop() = false, want true");
    cancel.cancel();
    select! {
        recv(donec) -> _ => panic!("AfterFunc called for already-canceled context"),
        recv(time::after(Duration::from_millis(20))) -> _ => {},
    }
    assert!(!stop.stop(), "stop() = true, want false");
}
}

// x_test.go: TestAfterFuncCalledAsynchronously: cancel does not wait for after-funcs.
// kills: f run inside cancel (then cancel would wait QUIESCENT for f's send and return
// with nobody left to receive).
each_way! {
fn test_after_func_called_asynchronously() {
    let (ctx, cancel) = Context::background().with_cancel();
    let donec = chan::<()>(0);
    let d = donec.clone();
    let _stop = ctx.after_func(move || {
        // The send blocks until donec is read from.
        let _ = d.send_timeout((), QUIESCENT);
    });
    cancel.cancel();
    // After cancel returns, read from donec and unblock the AfterFunc.
    select! {
        recv(donec) -> _ => {},
        recv(time::after(QUIESCENT)) -> _ => panic!("AfterFunc not called after context is canceled"),
    }
}
}

// x_test.go: TestContextErrDoneRace (Go issue 75533).
// kills: err() set before (or outside the lock that orders it with) closing done().
each_way! {
fn test_context_err_done_race() {
    for _ in 0..10 {
        let (ctx, cancel) = Context::background().with_cancel();
        let donec = ctx.done().clone();
        let t = spawn(move || cancel.cancel());
        while ctx.err().is_none() {
            gosched();
        }
        assert!(
            matches!(donec.try_recv(), Err(gmp_chan::TryRecvError::Closed)),
            "ctx.err() is set, but ctx.done() is not closed"
        );
        t.join();
    }
}
}

// afterfunc_test.go: TestCustomContextAfterFuncCancel, with a gmp cancel context as ctx0.
// kills: a parent's cancel not reaching a child registered with it.
each_way! {
fn test_custom_context_after_func_cancel() {
    let (ctx0, cancel0) = Context::background().with_cancel();
    let (ctx1, _cancel) = ctx0.with_cancel();
    cancel0.cancel();
    ctx1.done().recv();
    assert_eq!(ctx1.err(), Some(ContextError::Canceled));
}
}

// afterfunc_test.go: TestCustomContextAfterFuncTimeout, with a gmp cancel context as ctx0.
// kills: a parent's cancel not reaching a child that has a deadline of its own.
each_way! {
fn test_custom_context_after_func_timeout() {
    let (ctx0, cancel0) = Context::background().with_cancel();
    let (ctx1, _cancel) = ctx0.with_timeout(VERY_LONG);
    cancel0.cancel();
    ctx1.done().recv();
    assert_eq!(ctx1.err(), Some(ContextError::Canceled));
}
}

// afterfunc_test.go: TestCustomContextAfterFuncAfterFunc, with a gmp cancel context as ctx0.
// kills: a parent's cancel not starting an after-func registered with it.
each_way! {
fn test_custom_context_after_func_after_func() {
    let (ctx0, cancel0) = Context::background().with_cancel();
    let donec: Chan<()> = chan(0);
    let d = donec.clone();
    let stop = ctx0.after_func(move || {
        d.close();
    });
    cancel0.cancel();
    donec.recv();
    assert!(!stop.stop());
}
}

// afterfunc_test.go: TestCustomContextAfterFuncUnregisterCancel.
// kills: cancelling one child removing the wrong entry (or all) from the parent.
each_way! {
fn test_custom_context_after_func_unregister_cancel() {
    use gmp_chan::__private::context_children;
    let (ctx0, _c) = Context::background().with_cancel();
    let (_ctx1, cancel1) = ctx0.with_cancel();
    let (_ctx2, cancel2) = ctx0.with_cancel();
    assert_eq!(context_children(&ctx0), 2, "after with_cancel(ctx0)");
    cancel1.cancel();
    assert_eq!(context_children(&ctx0), 1, "after cancelling one child");
    cancel2.cancel();
    assert_eq!(context_children(&ctx0), 0, "after cancelling both");
}
}

// afterfunc_test.go: TestCustomContextAfterFuncUnregisterTimeout.
// kills: a deadline child's cancel leaving it registered.
each_way! {
fn test_custom_context_after_func_unregister_timeout() {
    use gmp_chan::__private::context_children;
    let (ctx0, _c) = Context::background().with_cancel();
    let (_ctx1, cancel) = ctx0.with_timeout(VERY_LONG);
    assert_eq!(context_children(&ctx0), 1, "after with_timeout(ctx0, d)");
    cancel.cancel();
    assert_eq!(context_children(&ctx0), 0, "after cancelling with_timeout(ctx0, d)");
}
}

// afterfunc_test.go: TestCustomContextAfterFuncUnregisterAfterFunc.
// kills: stop() leaving the after-func registered.
each_way! {
fn test_custom_context_after_func_unregister_after_func() {
    use gmp_chan::__private::context_children;
    let (ctx0, _c) = Context::background().with_cancel();
    let stop = ctx0.after_func(|| {});
    assert_eq!(context_children(&ctx0), 1, "after after_func(ctx0, f)");
    assert!(stop.stop());
    assert_eq!(context_children(&ctx0), 0, "after stopping after_func(ctx0, f)");
}
}
