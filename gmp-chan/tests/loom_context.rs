//! loom models of the context cancel tree (`gmp_chan::context`): a child made while its
//! parent is being cancelled is never a live child of a cancelled parent; a cancel returns
//! only when its whole subtree is done, even while another thread cancels a node inside it;
//! a child's own cancel racing its parent's leaves the parent without children.
//! The context locks are the facade's `RawLock` (a loom mutex), the done channels loom's.
#![cfg(loom)]

use gmp_chan::__private::context_children;
use gmp_chan::context::{Context, ContextError};
use gmp_chan::TryRecvError;
use loom::thread;

/// `ctx` is done: err() set and done() closed.
fn assert_done(ctx: &Context) {
    assert!(ctx.err().is_some(), "err() not set");
    assert_eq!(
        ctx.done().try_recv(),
        Err(TryRecvError::Closed),
        "done() not closed"
    );
}

// The brief's model: `with_cancel` (through a value layer) on one thread, the parent's
// cancel on another. Either the child registered before the cancel's walk took the
// children, or it is born cancelled; it must end cancelled, with the parent's cause.
// kills: registering without checking the parent's error under its lock; a born-cancelled
// child without the parent's cause.
#[test]
fn with_cancel_racing_the_parents_cancel() {
    loom::model(|| {
        let (parent, cancel) = Context::background().with_cancel();
        let p = parent.with_value(1u8);
        let t = thread::spawn(move || p.with_cancel());
        cancel.cancel_with_cause("parent");
        let (child, child_cancel) = t.join().unwrap();
        assert_done(&child);
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(child.cause(), Some(ContextError::Cause("parent".into())));
        assert_eq!(child.done().recv(), None);
        assert_eq!(
            context_children(&parent),
            0,
            "a child left in a cancelled parent"
        );
        drop(child_cancel);
    });
}

// "At once" under a concurrent inner cancel: thread B cancels `mid` while the main thread
// cancels `root`. When the root's cancel returns, `leaf` (below `mid`) is done, whichever of
// the two marked `mid`; and it took its error and cause from whoever that was.
// kills: a walk that skips a node already marked by another thread without waiting for that
// thread to finish the node's subtree (the leaf would still be live).
#[test]
fn cancel_returns_only_when_the_subtree_is_done() {
    loom::model(|| {
        let (root, cancel_root) = Context::background().with_cancel();
        let (mid, cancel_mid) = root.with_cancel();
        let (leaf, _cancel_leaf) = mid.with_cancel();
        let t = thread::spawn(move || cancel_mid.cancel_with_cause("mid"));
        cancel_root.cancel();
        assert_done(&mid);
        assert_done(&leaf);
        t.join().unwrap();
        assert_eq!(leaf.cause(), mid.cause());
        assert_eq!(context_children(&root), 0);
        assert_eq!(context_children(&mid), 0);
    });
}

// A child's own cancel (which then removes it from the parent) racing the parent's cancel
// (which takes all its children): the parent ends with no children and the child is done.
// kills: removeChild taken with the child's lock held (a parent-child lock-order deadlock,
// which loom reports); a removal that re-inserts or misses.
#[test]
fn child_cancel_racing_parent_cancel() {
    loom::model(|| {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_cancel();
        let (sibling, _cancel_sibling) = parent.with_cancel();
        let t = thread::spawn(move || cancel_child.cancel());
        cancel_parent.cancel();
        assert_done(&child);
        assert_done(&sibling);
        t.join().unwrap();
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(context_children(&parent), 0);
    });
}
