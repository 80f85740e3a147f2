//! gmp's own tests of `gmp_chan::context` beyond Go's: a cancel reaching ten thousand
//! descendants at once, no lock held while user code runs, deadline timers that are stopped
//! and keep nothing alive, parents that do not grow, `done()` as a select operand between
//! goroutines and threads. Each runs as the main goroutine on 1 and 2 Ps and on a thread.

use gmp_chan::__private::{context_children, context_timer_armed};
use gmp_chan::context::{Context, ContextError};
use gmp_chan::{chan, select, time, TryRecvError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{each_way, spawn};

/// Long enough that only a bug (a deadlock, a lost wake-up) reaches it.
const QUIESCENT: Duration = Duration::from_secs(10);
const HOUR: Duration = Duration::from_secs(3600);

/// `ctx` is done: err() set and done() closed (a receive returns at once with `None`).
fn assert_cancelled(ctx: &Context, err: ContextError, what: &str) {
    assert_eq!(ctx.err(), Some(err), "{what}: err()");
    assert_eq!(
        ctx.done().try_recv(),
        Err(TryRecvError::Closed),
        "{what}: done()"
    );
}

/// Waits for `rx` up to [`QUIESCENT`]. If nothing comes, something is stuck, most likely on a
/// context lock that unwinding would wait for too (dropping a `CancelFn` cancels): so the
/// process aborts, with `what` on stderr, rather than panic and hang.
fn expect<T>(rx: &gmp_chan::Chan<T>, what: &str) -> T {
    match rx.recv_timeout(QUIESCENT) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{what}: {e:?} after {QUIESCENT:?}: a deadlock; aborting");
            std::process::abort();
        }
    }
}

/// Counts its drops.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// One cancel reaches 10,000 descendants of every kind at once: 4,000 direct children (each
// under a value layer), a chain 4,000 deep (cancel and value layers alternating) and 2,000
// after-funcs, and the chain is then dropped from its last handle.
// kills: propagation stopping at the first level or at a value layer; a recursive walk or a
// recursive drop (either overflows a goroutine's 64 KiB stack at this depth); after-funcs
// under the root not started; the root keeping its cancelled children.
each_way! {
fn ten_thousand_descendants_cancelled_by_one_cancel() {
    let (root, cancel) = Context::background().with_cancel();
    let mut flat = Vec::new();
    for i in 0..4000u32 {
        let (c, cf) = root.with_value(i).with_cancel();
        flat.push((c, cf));
    }
    let mut chain = Vec::new();
    let mut ctx = root.clone();
    for i in 0..2000u32 {
        let (c, cf) = ctx.with_value(i).with_cancel();
        ctx = c.clone();
        chain.push((c, cf));
        let (c, cf) = ctx.with_cancel();
        ctx = c.clone();
        chain.push((c, cf));
    }
    let ran = Arc::new(AtomicUsize::new(0));
    let all_ran = chan::<()>(1);
    let mut stops = Vec::new();
    for _ in 0..2000 {
        let (ran, all_ran) = (ran.clone(), all_ran.clone());
        stops.push(root.after_func(move || {
            if ran.fetch_add(1, Ordering::SeqCst) + 1 == 2000 {
                all_ran.send(()).unwrap();
            }
        }));
    }
    assert_eq!(context_children(&root), 4000 + 1 + 2000);
    let deep = ctx;
    assert_eq!(deep.value::<u32>(), Some(&1999));
    assert_eq!(deep.err(), None);

    cancel.cancel_with_cause("stop everything");

    // At once: when cancel returns, every descendant is done.
    for (i, (c, _)) in flat.iter().chain(chain.iter()).enumerate() {
        assert_cancelled(c, ContextError::Canceled, &format!("descendant {i}"));
        assert_eq!(c.cause(), Some(ContextError::Cause("stop everything".into())));
    }
    assert_cancelled(&deep, ContextError::Canceled, "the deepest");
    assert_eq!(context_children(&root), 0);
    expect(&all_ran, "the after-funcs");
    assert!(stops.iter().all(|s| !s.stop()));

    // Dropping a 4,000-deep chain through its last handle, on a goroutine's stack: every
    // node above `deep` is held only by the node below it when `deep` goes.
    drop(flat);
    drop(chain);
    drop(deep);
}
}

/// A value whose `Drop` uses the context tree it lives in.
struct UsesTreeOnDrop {
    tree: Context,
    dropped: gmp_chan::Chan<()>,
}

impl Drop for UsesTreeOnDrop {
    fn drop(&mut self) {
        let (child, cancel) = self.tree.with_cancel();
        let _ = self.tree.err();
        let _ = child.after_func(|| {}).stop();
        cancel.cancel();
        let _ = context_children(&self.tree);
        self.dropped.send(()).unwrap();
    }
}

// Nothing that cancel or stop runs afterwards (an after-func's body, the drop of its captures,
// the drop of a value) holds a context lock: each of these uses the same tree, and would wait
// for ever on a lock held by its caller. Each runs in a task of its own, so a deadlock aborts
// the test binary (after QUIESCENT) instead of hanging it; on 1 P the stuck thread may hold
// the only P, and that run hangs instead.
// kills: after-funcs run inside cancel (under the walk's locks); stop() dropping the
// function (and its captures) under the parent's lock; a cancel or stop that drops what it
// took under a lock.
each_way! {
fn cancel_and_stop_hold_no_lock_while_user_code_runs() {
    let (root, cancel_root) = Context::background().with_cancel();

    // 1. An after-func that uses the tree, including the context it was registered on.
    let used = chan::<Option<ContextError>>(1);
    let (r, u) = (root.clone(), used.clone());
    let _stop = root.after_func(move || {
        let (c, cf) = r.with_cancel(); // born cancelled: takes the root's lock
        let _ = r.after_func(|| {});
        cf.cancel();
        u.send(c.err()).unwrap();
    });

    // 2. An after-func stopped before it runs: its captures' Drop uses the tree.
    let dropped = chan::<()>(1);
    let bomb = UsesTreeOnDrop { tree: root.clone(), dropped: dropped.clone() };
    let stop = root.after_func(move || drop(bomb));
    let stopper = spawn(move || assert!(stop.stop()));
    expect(&dropped, "stop() dropping the after-func's captures");
    stopper.join();

    // 3. A value whose Drop uses the tree, dropped when the last CancelFn of its context goes.
    let dropped2 = chan::<()>(1);
    let bomb = UsesTreeOnDrop { tree: root.clone(), dropped: dropped2.clone() };
    let (child, child_cancel) = root.with_value(bomb).with_cancel();
    drop(child);
    let canceller = spawn(move || drop(child_cancel));
    expect(&dropped2, "the value's Drop");
    canceller.join();

    // 4. Cancel the root: the after-func of 1 runs and uses the tree.
    let canceller = spawn(move || cancel_root.cancel());
    assert_eq!(expect(&used, "the after-func"), Some(ContextError::Canceled));
    canceller.join();
    assert_eq!(context_children(&root), 0);
}
}

// A deadline timer is armed while its context lives, stopped when the context is cancelled
// earlier (by itself or by an ancestor), and the timer left in the timer heap keeps no
// reference to the context.
// kills: cancel not stopping the timer; a parent's cancel not stopping its descendants'
// timers; a timer callback holding the context strongly (the value would not be dropped
// until the deadline, an hour away); a redundant timer for a deadline later than the parent's.
each_way! {
fn deadline_timer_is_stopped_and_keeps_nothing_alive() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (ctx, cancel) = Context::background()
        .with_value(DropCounter(drops.clone()))
        .with_timeout(HOUR);
    assert!(context_timer_armed(&ctx));
    cancel.cancel();
    assert!(!context_timer_armed(&ctx), "cancel left the timer armed");
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    drop(ctx);
    drop(cancel);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the timer keeps the context alive");

    // A parent's cancel stops the timers below it.
    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, _c) = parent.with_value(1u8).with_timeout(HOUR);
    let (grandchild, _g) = child.with_timeout(HOUR / 2);
    assert!(context_timer_armed(&child) && context_timer_armed(&grandchild));
    cancel_parent.cancel();
    assert!(!context_timer_armed(&child) && !context_timer_armed(&grandchild));

    // A deadline later than the parent's is the parent's: no timer of its own (Go: WithCancel).
    let at = Instant::now() + HOUR;
    let (p, _p) = Context::background().with_deadline(at);
    let (later, _l) = p.with_deadline(at + HOUR);
    assert_eq!(later.deadline(), Some(at));
    assert!(!context_timer_armed(&later));
    assert_eq!(format!("{later:?}").rsplit('.').next(), Some("WithCancel"));
    let (earlier, _e) = p.with_deadline(at - Duration::from_secs(60));
    assert_eq!(earlier.deadline(), Some(at - Duration::from_secs(60)));
    assert!(context_timer_armed(&earlier));

    // A timer that fires cancels with DeadlineExceeded and disarms.
    let (short, _s) = p.with_value(()).with_timeout(Duration::from_millis(2));
    select! {
        recv(short.done()) -> _ => {},
        recv(time::after(QUIESCENT)) -> _ => panic!("the deadline never fired"),
    }
    assert_eq!(short.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(short.cause(), Some(ContextError::DeadlineExceeded));
    assert!(!context_timer_armed(&short));
}
}

// A long-lived parent with many short-lived children of every kind does not grow.
// kills: a cancel (of a plain, value-wrapped or deadline child) that leaves it in its parent's
// children (Go's removeChild); stop() leaving its after-func; a CancelFn whose drop does not
// cancel.
each_way! {
fn long_lived_parent_does_not_grow() {
    let (parent, _cancel) = Context::background().with_cancel();
    for i in 0..10_000u32 {
        let (a, cancel_a) = parent.with_cancel();
        let (b, cancel_b) = parent.with_value(i).with_timeout(HOUR);
        let stop = b.after_func(|| {});
        let (_c, _cancel_c) = a.with_cancel(); // dropped at the end of the iteration
        match i % 3 {
            0 => cancel_a.cancel(),
            1 => cancel_b.cancel_with_cause("done with it"),
            _ => assert!(stop.stop()),
        }
    }
    assert_eq!(context_children(&parent), 0);
    assert_eq!(parent.err(), None);
}
}

// done() is a select! operand: a goroutine (or thread) parked in a select on a work channel
// and done() wakes when another task cancels, and a task that cancels wakes threads and
// goroutines parked in done().recv() alike.
// kills: a cancel that closes the done channel without waking parked receivers; a done()
// that is a fresh channel per call (the select would wait on one nobody closes).
each_way! {
fn done_wakes_parked_selects_and_receivers() {
    let (ctx, cancel) = Context::background().with_cancel();
    let child = ctx.with_value("v");
    let work = chan::<u32>(0);
    let results = chan::<&'static str>(4);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (c, w, r) = (child.clone(), work.clone(), results.clone());
        tasks.push(spawn(move || {
            let got = select! {
                recv(w) -> _ => "work",
                recv(c.done()) -> _ => "cancelled",
            };
            r.send(got).unwrap();
        }));
    }
    let (c, r) = (child.clone(), results.clone());
    tasks.push(spawn(move || {
        assert_eq!(c.done().recv(), None);
        r.send("cancelled").unwrap();
    }));
    // And a plain thread, whatever the caller is.
    let (c, r) = (child.clone(), results.clone());
    let thread = std::thread::spawn(move || {
        assert_eq!(c.done().recv(), None);
        r.send("cancelled").unwrap();
    });
    let canceller = spawn(move || cancel.cancel());
    for _ in 0..4 {
        assert_eq!(expect(&results, "a parked waiter"), "cancelled");
    }
    for t in tasks {
        t.join();
    }
    thread.join().unwrap();
    canceller.join();
}
}

// Born done: a deadline in the past gives DeadlineExceeded, unless the parent is already
// cancelled, whose error and cause the child takes (Go: propagateCancel comes first).
// kills: a past deadline checked before the parent's state; a past deadline left live.
each_way! {
fn born_done() {
    let past = Instant::now().checked_sub(Duration::from_millis(1)).unwrap_or_else(Instant::now);
    let (c, _c) = Context::background().with_deadline(past);
    assert_cancelled(&c, ContextError::DeadlineExceeded, "past deadline");
    assert_eq!(c.cause(), Some(ContextError::DeadlineExceeded));
    assert!(!context_timer_armed(&c));

    let (parent, cancel) = Context::background().with_cancel();
    cancel.cancel_with_cause("gone");
    for (c, what) in [(parent.with_deadline(past).0, "past"), (parent.with_timeout(HOUR).0, "future")] {
        assert_cancelled(&c, ContextError::Canceled, what);
        assert_eq!(c.cause(), Some(ContextError::Cause("gone".into())), "{what}");
        assert!(!context_timer_armed(&c), "{what}");
    }
}
}

// Display (Go's Error()), Debug (Go's String()), and deadline() through value layers.
// kills: wrong error strings; a Debug that loses a layer; deadline() not inherited.
// Context and its handles cross goroutines and threads.
// kills: a field that is not Send or Sync (this does not compile).
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Context>();
    send_sync::<gmp_chan::context::CancelFn>();
    send_sync::<gmp_chan::context::AfterFuncStop>();
    send_sync::<ContextError>();
};

each_way! {
fn strings_and_deadlines() {
    assert_eq!(ContextError::Canceled.to_string(), "context canceled");
    assert_eq!(ContextError::DeadlineExceeded.to_string(), "context deadline exceeded");
    assert_eq!(ContextError::Cause("why".into()).to_string(), "why");
    let (c, _c) = Context::background().with_value(7u32).with_cancel();
    assert_eq!(format!("{c:?}"), "context.Background.WithValue(u32).WithCancel");
    let at = Instant::now() + HOUR;
    let (d, _d) = c.with_deadline(at);
    let v = d.with_value("x");
    assert_eq!(v.deadline(), Some(at));
    assert_eq!(c.deadline(), None);
    let s = format!("{v:?}");
    assert!(s.starts_with("context.Background.WithValue(u32).WithCancel.WithDeadline("), "{s}");
    assert!(s.ends_with(".WithValue(&str)"), "{s}");
}
}
