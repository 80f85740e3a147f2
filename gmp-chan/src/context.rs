//! Go's `context` package (context/context.go): cancellation, deadlines and request-scoped
//! values carried down a tree of contexts.
//!
//! # The cancel tree
//!
//! A [`Context`] is one of three nodes, each in an `Arc` and each pointing up at its parent:
//!
//! - the **background** node (Go: `backgroundCtx`), one per process, never cancelled; its
//!   [`done`](Context::done) channel is a channel nobody closes;
//! - a **value** node (Go: `valueCtx`) made by [`with_value`](Context::with_value): a value and
//!   its parent, nothing else to cancel. It caches its *anchor*, the nearest ancestor that is
//!   not a value node, and answers `done`, `err`, `cause` and `deadline` from it in O(1) (Go
//!   walks up for them);
//! - a **cancel** node (Go: `cancelCtx`, and `timerCtx` when it has a deadline of its own)
//!   made by `with_cancel`, `with_deadline` or `with_timeout`: a done channel, made with the
//!   node and closed when it is cancelled, and under the node's lock its error, its cause, its
//!   children and its deadline timer.
//!
//! A new cancel node registers in the `children` of its parent's anchor when that anchor is a
//! cancel node (Go: `propagateCancel`, which finds it with `parentCancelCtx`), under a key
//! drawn from that anchor's counter, so it can be taken out again in O(log n) (Go:
//! `removeChild`). If the anchor is already cancelled, the new node is born cancelled with
//! the anchor's error and cause and registers nowhere; if the anchor is the background, the
//! node registers nowhere, since nothing above it can be cancelled. An [`after_func`]
//! registers the same way, as a child that holds the function (Go: `afterFuncCtx`).
//!
//! The parent's `children` hold the children strongly (as Go's map does), so a cancel node and
//! its parent reference each other until the cycle is broken: by cancelling the child (it
//! removes itself from its parent) or the parent (which takes all its children at once).
//! Since dropping a [`CancelFn`] cancels, a dropped context never lingers in its parent.
//!
//! # Cancelling (Go: `cancelCtx.cancel`)
//!
//! `cancel` locks the node; if it already has an error, it is done. Otherwise it sets the
//! error and the cause, closes the done channel, takes its children and its timer, and goes
//! down into the children depth first, each time locking the child, marking it the same way
//! and taking *its* children. A node stays locked until every node below it has been marked
//! (Go holds `c.mu` across its children's `cancel`), so a concurrent cancel of a node inside
//! the subtree either finished before we got its lock or waits for us: whoever returns from
//! `cancel` first, every descendant is cancelled when it does ("at once"). The walk keeps its
//! path in a vector, not on the stack, so a chain ten thousand deep costs no recursion (a
//! goroutine's stack is 64 KiB). Then the node removes itself from its parent's children (Go:
//! `removeChild`), with none of its own locks held.
//!
//! A child made while its parent is being cancelled waits for the parent's lock and is born
//! cancelled; one registered before is in the children the walk takes. There is no third
//! case, so no live child of a cancelled parent ever exists (`tests/loom_context.rs`).
//!
//! # Lock order, and why no lock is held across user code
//!
//! Only the cancel walk holds more than one context lock, and those are a path down the
//! tree, taken parent before child. Everything else holds one context lock at a time and
//! calls out of none: registering a child or an after-func (the anchor's lock, while it makes
//! the child), `err`/`cause` (the node's), storing a deadline timer (the node's; the timer is
//! made before), `remove_child` and [`AfterFuncStop::stop`] (the parent's, taken after
//! everything else is released). Under a context lock the only other locks taken are ones
//! that never wait for a context lock: the done channel's (to close it) and an after-func
//! slot's (to take the function). So there is no cycle to deadlock on.
//!
//! User code is an after-func's `f` and the `Drop` of a value, of an after-func's captures or
//! of anything the last reference to a context releases. The walk runs none of it: it moves
//! what it takes (functions to start, timers to stop, references to children) into a `Later`
//! list, and only when every lock is released does it stop the timers, start the functions,
//! each in a goroutine of its own (Go: `go a.f()`), and drop the references, which may free
//! nodes and run their values' `Drop`. `stop` likewise drops the function it took after
//! unregistering it. So an after-func, or a `Drop`, may use the same tree freely.
//!
//! # The state of a cancel node, and atomics
//!
//! | under the node's lock               | live   | cancelled                             |
//! |-------------------------------------|--------|---------------------------------------|
//! | `err`, `cause`                      | `None` | `Some`, set once, never changed       |
//! | `done` channel                      | open   | closed (with `err`, under the lock)   |
//! | `children`                          | open   | empty; a new child is born cancelled  |
//! | `timer` (own deadline only)         | armed  | `None` (taken and stopped)            |
//!
//! The only transition is live → cancelled, made by the first cancel under the lock. The
//! module has no atomic word of its own: every field that changes is under the node's lock,
//! and the done channel is made with the node, so `done()` needs no synchronisation (Go makes
//! it lazily, and reads `err` atomically). The error and the closed channel are set under the
//! same lock, so `err()` never reports an error before `done()` is closed (Go issue 75533).
//! Reference counts are std's `Arc`: a deadline timer holds its node through a `Weak` (loom
//! has no `Weak`; the counts are not the protocol under test), so a stopped timer waiting in a
//! timer heap keeps no context alive.
//!
//! # Deadlines
//!
//! A node with a deadline of its own arms a `gmp_core::time::after_fn` timer (Go:
//! `time.AfterFunc` in `WithDeadlineCause`) that cancels it with
//! [`ContextError::DeadlineExceeded`] in a goroutine of its own. Cancelling the node first
//! stops the timer. Deadlines are read on `gmp_core::time::now()`, the runtime's clock. A
//! deadline already past gives a node born with `DeadlineExceeded`, unless its parent is
//! already cancelled (Go: `propagateCancel` comes first); a timeout too large for an `Instant`
//! is no deadline at all.
//!
//! # Go → gmp
//!
//! | Go                                   | gmp                                              |
//! |--------------------------------------|--------------------------------------------------|
//! | `context.Background()`               | [`Context::background()`]                        |
//! | `ctx, cancel := WithCancel(p)`       | `let (ctx, cancel) = p.with_cancel();`           |
//! | `WithCancelCause(p)`, `cancel(err)`  | `p.with_cancel()`, `cancel.cancel_with_cause(s)` |
//! | `WithDeadline(p, t)` / `WithTimeout(p, d)` | `p.with_deadline(t)` / `p.with_timeout(d)` |
//! | `defer cancel()`                     | dropping the [`CancelFn`]                        |
//! | `WithValue(p, key, v)`, `ctx.Value(key)` | `p.with_value(v)`, `ctx.value::<V>()` (the type is the key) |
//! | `<-ctx.Done()`, `case <-ctx.Done():` | `ctx.done().recv()`, `recv(ctx.done()) -> _ =>`  |
//! | `ctx.Err()`, `context.Cause(ctx)`    | [`Context::err`], [`Context::cause`]             |
//! | `ctx.Deadline()`                     | [`Context::deadline`]                            |
//! | `stop := AfterFunc(ctx, f)`, `stop()`| `let stop = ctx.after_func(f);`, `stop.stop()`   |
//! | `context.Canceled`, `DeadlineExceeded` | [`ContextError::Canceled`], [`ContextError::DeadlineExceeded`] |
//!
//! Not carried over: `TODO` (it is `Background` under another name), `WithoutCancel`, the
//! `*Cause` variants of the deadline constructors, and user-defined `Context` implementations
//! (`Context` is a type here, not an interface).
//!
//! [`after_func`]: Context::after_func

use crate::handles::{Chan, Receiver};
use crate::lock::Lock;
use crate::loom::OnceValue;
use gmp_core::time::Timer as CoreTimer;
use std::any::Any;
use std::collections::{btree_map, BTreeMap};
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Go's `context.Context`: carries a cancellation signal, a deadline and values across API
/// boundaries and between goroutines. Cheap to clone (one reference count); `Send + Sync`.
///
/// ```
/// use gmp_chan::context::{Context, ContextError};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let child = ctx.with_value(42u32);
/// assert_eq!(child.err(), None);
/// cancel.cancel();
/// assert_eq!(child.done().recv(), None); // closed
/// assert_eq!(child.err(), Some(ContextError::Canceled));
/// assert_eq!(child.value::<u32>(), Some(&42));
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Background(Arc<BackgroundCtx>),
    Value(Arc<ValueCtx>),
    Cancel(Arc<CancelCtx>),
}

/// Go's `backgroundCtx`: never cancelled, no deadline, no values.
struct BackgroundCtx {
    /// A channel nobody closes (Go returns a nil channel, which blocks for ever too).
    done: Receiver<()>,
}

/// Go's `valueCtx`.
struct ValueCtx {
    /// `Some` until the node is dropped (see [`drop_chain`]).
    parent: Option<Context>,
    /// The nearest ancestor that is not a value node: it answers `done`, `err` and the rest.
    anchor: Anchor,
    value: Box<dyn Any + Send + Sync>,
    type_name: &'static str,
}

/// The nearest non-value ancestor of a value node.
#[derive(Clone)]
enum Anchor {
    Background(Arc<BackgroundCtx>),
    Cancel(Arc<CancelCtx>),
}

/// Go's `cancelCtx`, and its `timerCtx` when `own_deadline`.
struct CancelCtx {
    /// `Some` until the node is dropped (see [`drop_chain`]).
    parent: Option<Context>,
    /// Closed (never sent on) when the node is cancelled, under `state`'s lock.
    done: Receiver<()>,
    /// The earliest deadline of the node and its ancestors.
    deadline: Option<Instant>,
    /// Made by `with_deadline` with a deadline before its parent's (Go's `timerCtx`).
    own_deadline: bool,
    /// Where the node sits in its anchor's `children`; `None` if it never registered.
    registered: Option<Registration>,
    state: Lock<CancelState>,
}

/// A child's place in its parent's `children`, for [`remove_child`].
struct Registration {
    parent: Arc<CancelCtx>,
    key: u64,
}

/// What a cancel node's lock protects (Go: the fields under `cancelCtx.mu`).
struct CancelState {
    /// `None` while live; set once, by the first cancel (Go: `cancelCtx.err`).
    err: Option<ContextError>,
    /// Set with `err`: the cause given, else `err` itself (Go: `cancelCtx.cause`).
    cause: Option<ContextError>,
    /// The live cancel nodes and after-funcs registered here; emptied by the cancel.
    children: BTreeMap<u64, Child>,
    /// The key of the next child (keys are never reused; a `u64` does not run out).
    next_key: u64,
    /// The deadline timer while armed (Go: `timerCtx.timer`); taken and stopped by the cancel.
    timer: Option<CoreTimer>,
}

/// An entry of a parent's `children` (Go: a `canceler`).
enum Child {
    Ctx(Arc<CancelCtx>),
    AfterFunc(Arc<AfterFuncSlot>),
}

/// The function of an [`after_func`](Context::after_func) (Go: `afterFuncCtx.f` with its
/// `once`): whoever takes it first, the cancel (to start it) or [`AfterFuncStop::stop`], wins.
struct AfterFuncSlot {
    f: Lock<Option<Box<dyn FnOnce() + Send>>>,
}

/// Cancels its context (Go's `CancelFunc` and `CancelCauseFunc`); dropping it cancels too, so
/// a `CancelFn` held to the end of a scope is Go's `defer cancel()`.
///
/// ```
/// use gmp_chan::context::{Context, ContextError};
///
/// let bg = Context::background();
/// let (ctx, cancel) = bg.with_cancel();
/// drop(cancel);
/// assert_eq!(ctx.err(), Some(ContextError::Canceled));
/// ```
#[must_use = "dropping a CancelFn cancels its context at once; bind it (`let (ctx, _cancel) = ...`) to cancel at the end of the scope"]
pub struct CancelFn {
    node: Arc<CancelCtx>,
}

/// Returned by [`Context::after_func`]: [`stop`](AfterFuncStop::stop) keeps the function from
/// running. Dropping it does not stop the function (Go's `stop` may be ignored too).
pub struct AfterFuncStop {
    slot: Arc<AfterFuncSlot>,
    registered: Option<Registration>,
}

/// Why a context is done (Go's `context.Canceled`, `context.DeadlineExceeded`), or the cause
/// given to [`CancelFn::cancel_with_cause`] (Go's `context.Cause`).
///
/// ```
/// use gmp_chan::context::ContextError;
/// assert_eq!(ContextError::Canceled.to_string(), "context canceled");
/// assert_eq!(ContextError::DeadlineExceeded.to_string(), "context deadline exceeded");
/// assert_eq!(ContextError::Cause("shutting down".into()).to_string(), "shutting down");
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ContextError {
    /// The context was cancelled (Go: `context.Canceled`).
    Canceled,
    /// The context's deadline passed (Go: `context.DeadlineExceeded`).
    DeadlineExceeded,
    /// The cause given to [`CancelFn::cancel_with_cause`]; only [`Context::cause`] returns it.
    Cause(Arc<str>),
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::Canceled => f.write_str("context canceled"),
            ContextError::DeadlineExceeded => f.write_str("context deadline exceeded"),
            ContextError::Cause(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for ContextError {}

/// The cancel node's anchor as borrowed from a context.
enum AnchorRef<'a> {
    Background(&'a BackgroundCtx),
    Cancel(&'a Arc<CancelCtx>),
}

impl Context {
    /// Go's `context.Background()`: never cancelled, no deadline, no values; the root of
    /// every tree. One shared node: calling it costs a reference count.
    ///
    /// ```
    /// let bg = gmp_chan::context::Context::background();
    /// assert_eq!(bg.err(), None);
    /// assert_eq!(bg.deadline(), None);
    /// assert!(bg.done().try_recv().is_err()); // never closes
    /// ```
    pub fn background() -> Context {
        static BACKGROUND: OnceValue<Context> = OnceValue::new();
        BACKGROUND.get_or_init(|| Context {
            inner: Inner::Background(Arc::new(BackgroundCtx {
                done: Chan::new(0).receiver(),
            })),
        })
    }

    /// Go's `context.WithCancel(parent)`: a child that is done when the [`CancelFn`] is called
    /// or dropped, or when this context is done, whichever comes first. A child of a context
    /// already done is born done, with its parent's error and cause.
    ///
    /// ```
    /// use gmp_chan::context::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert_eq!(ctx.err(), None);
    /// cancel.cancel();
    /// assert!(ctx.err().is_some());
    /// ```
    pub fn with_cancel(&self) -> (Context, CancelFn) {
        let node = self.propagate_cancel(None);
        (
            Context {
                inner: Inner::Cancel(node.clone()),
            },
            CancelFn { node },
        )
    }

    /// Go's `context.WithTimeout(parent, d)`: [`with_deadline`](Self::with_deadline) at `d`
    /// from now. A `d` too large for an `Instant` means no deadline (a plain `with_cancel`).
    ///
    /// ```
    /// use gmp_chan::context::{Context, ContextError};
    /// use std::time::Duration;
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(5));
    /// assert_eq!(ctx.done().recv(), None);
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// ```
    pub fn with_timeout(&self, d: Duration) -> (Context, CancelFn) {
        match gmp_core::time::now().checked_add(d) {
            Some(at) => self.with_deadline(at),
            None => self.with_cancel(),
        }
    }

    /// Go's `context.WithDeadline(parent, at)`: a child that is also done, with
    /// [`ContextError::DeadlineExceeded`], once `at` passes. A deadline later than this
    /// context's is this context's (Go: then it is `WithCancel`); one already past gives a
    /// child that is done at once.
    ///
    /// ```
    /// use gmp_chan::context::{Context, ContextError};
    /// use std::time::{Duration, Instant};
    /// let (ctx, _cancel) = Context::background().with_deadline(Instant::now());
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// ```
    pub fn with_deadline(&self, at: Instant) -> (Context, CancelFn) {
        if self.deadline().is_some_and(|cur| cur < at) {
            return self.with_cancel(); // the parent's deadline comes first (Go)
        }
        let node = self.propagate_cancel(Some(at));
        let now = gmp_core::time::now();
        if at <= now {
            cancel(&node, ContextError::DeadlineExceeded, None, true); // already past
        } else {
            arm_deadline(&node, at - now);
        }
        (
            Context {
                inner: Inner::Cancel(node.clone()),
            },
            CancelFn { node },
        )
    }

    /// Go's `context.WithValue(parent, key, v)`, keyed by `V`'s type: a child whose
    /// [`value::<V>()`](Self::value) is `v`, shadowing any `V` above it.
    ///
    /// ```
    /// use gmp_chan::context::Context;
    /// #[derive(Debug, PartialEq)]
    /// struct RequestId(u64);
    /// let ctx = Context::background().with_value(RequestId(7));
    /// assert_eq!(ctx.value::<RequestId>(), Some(&RequestId(7)));
    /// assert_eq!(ctx.value::<String>(), None);
    /// ```
    pub fn with_value<V: Send + Sync + 'static>(&self, v: V) -> Context {
        let anchor = match &self.inner {
            Inner::Background(b) => Anchor::Background(b.clone()),
            Inner::Cancel(c) => Anchor::Cancel(c.clone()),
            Inner::Value(v) => v.anchor.clone(),
        };
        Context {
            inner: Inner::Value(Arc::new(ValueCtx {
                parent: Some(self.clone()),
                anchor,
                value: Box::new(v),
                type_name: std::any::type_name::<V>(),
            })),
        }
    }

    /// Go's `ctx.Value(key)`: the value of type `V` of the nearest context on the way up
    /// that has one.
    ///
    /// ```
    /// use gmp_chan::context::Context;
    /// let a = Context::background().with_value("outer");
    /// let (b, _cancel) = a.with_cancel();
    /// let c = b.with_value("inner");
    /// assert_eq!(b.value::<&str>(), Some(&"outer"));
    /// assert_eq!(c.value::<&str>(), Some(&"inner"));
    /// ```
    pub fn value<V: Send + Sync + 'static>(&self) -> Option<&V> {
        let mut cur = Some(self);
        while let Some(ctx) = cur {
            if let Inner::Value(v) = &ctx.inner {
                if let Some(found) = v.value.downcast_ref::<V>() {
                    return Some(found);
                }
            }
            cur = ctx.parent();
        }
        None
    }

    /// Go's `ctx.Done()`: a channel that is closed when the context is done, and never sent
    /// on. `recv()` on it returns `None` once done; in `select!` it is a receive operand
    /// (`recv(ctx.done()) -> _ => ...`). The background's never closes.
    ///
    /// ```
    /// use gmp_chan::{chan, context::Context, select};
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let work = chan::<i32>(0);
    /// cancel.cancel();
    /// let r = select! {
    ///     recv(work) -> _ => "work",
    ///     recv(ctx.done()) -> _ => "cancelled",
    /// };
    /// assert_eq!(r, "cancelled");
    /// ```
    pub fn done(&self) -> &Receiver<()> {
        match self.anchor() {
            AnchorRef::Background(b) => &b.done,
            AnchorRef::Cancel(c) => &c.done,
        }
    }

    /// Go's `ctx.Err()`: `None` while the context is live, then why it is done:
    /// [`ContextError::Canceled`] or [`ContextError::DeadlineExceeded`]. Once it returns an
    /// error, [`done`](Self::done) is closed.
    pub fn err(&self) -> Option<ContextError> {
        match self.anchor() {
            AnchorRef::Background(_) => None,
            AnchorRef::Cancel(c) => c.state.lock().err.clone(),
        }
    }

    /// Go's `context.Cause(ctx)`: `None` while live; then the cause given to
    /// [`CancelFn::cancel_with_cause`] of this context or of the ancestor whose cancel
    /// reached it, else the same as [`err`](Self::err).
    ///
    /// ```
    /// use gmp_chan::context::{Context, ContextError};
    /// let (parent, cancel) = Context::background().with_cancel();
    /// let (child, _c) = parent.with_cancel();
    /// cancel.cancel_with_cause("shutting down");
    /// assert_eq!(child.err(), Some(ContextError::Canceled));
    /// assert_eq!(child.cause(), Some(ContextError::Cause("shutting down".into())));
    /// ```
    pub fn cause(&self) -> Option<ContextError> {
        match self.anchor() {
            AnchorRef::Background(_) => None,
            AnchorRef::Cancel(c) => c.state.lock().cause.clone(),
        }
    }

    /// Go's `ctx.Deadline()`: when the context will be done by its own deadline or an
    /// ancestor's, whichever is earliest; `None` if none has one.
    ///
    /// ```
    /// use gmp_chan::context::Context;
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(60);
    /// let (ctx, _c1) = Context::background().with_deadline(at);
    /// let (later, _c2) = ctx.with_timeout(Duration::from_secs(3600));
    /// assert_eq!(later.deadline(), Some(at)); // never later than the parent's
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        match self.anchor() {
            AnchorRef::Background(_) => None,
            AnchorRef::Cancel(c) => c.deadline,
        }
    }

    /// Go's `context.AfterFunc(ctx, f)`: runs `f` in a goroutine of its own once the context
    /// is done (at once if it already is). [`AfterFuncStop::stop`] keeps it from running.
    /// On the background context `f` never runs.
    ///
    /// ```
    /// use gmp_chan::{chan, context::Context};
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let ran = chan::<&str>(1);
    /// let tx = ran.sender();
    /// let _stop = ctx.after_func(move || tx.send("cleaned up").unwrap());
    /// cancel.cancel();
    /// assert_eq!(ran.recv(), Some("cleaned up"));
    /// ```
    pub fn after_func(&self, f: impl FnOnce() + Send + 'static) -> AfterFuncStop {
        let slot = Arc::new(AfterFuncSlot {
            f: Lock::new(Some(Box::new(f))),
        });
        let AnchorRef::Cancel(parent) = self.anchor() else {
            return AfterFuncStop {
                slot,
                registered: None,
            };
        };
        let mut st = parent.state.lock();
        if st.err.is_some() {
            drop(st);
            let f = slot.f.lock().take();
            if let Some(f) = f {
                go_after_func(f);
            }
            return AfterFuncStop {
                slot,
                registered: None,
            };
        }
        let key = st.next_key;
        st.next_key += 1;
        st.children.insert(key, Child::AfterFunc(slot.clone()));
        drop(st);
        AfterFuncStop {
            slot,
            registered: Some(Registration {
                parent: parent.clone(),
                key,
            }),
        }
    }

    /// The node that answers `done`, `err`, `cause` and `deadline` (Go: `parentCancelCtx`).
    fn anchor(&self) -> AnchorRef<'_> {
        match &self.inner {
            Inner::Background(b) => AnchorRef::Background(b),
            Inner::Cancel(c) => AnchorRef::Cancel(c),
            Inner::Value(v) => match &v.anchor {
                Anchor::Background(b) => AnchorRef::Background(b),
                Anchor::Cancel(c) => AnchorRef::Cancel(c),
            },
        }
    }

    /// The parent, `None` for the background.
    fn parent(&self) -> Option<&Context> {
        match &self.inner {
            Inner::Background(_) => None,
            Inner::Value(v) => v.parent.as_ref(),
            Inner::Cancel(c) => c.parent.as_ref(),
        }
    }

    /// Go: `withCancel` and `propagateCancel`. Makes a cancel node under `self` (with a
    /// deadline of its own if `own_deadline`, already checked to be no later than the
    /// parent's) and registers it with the anchor, or makes it born cancelled if the anchor
    /// is cancelled.
    fn propagate_cancel(&self, own_deadline: Option<Instant>) -> Arc<CancelCtx> {
        let deadline = own_deadline.or_else(|| self.deadline());
        let make = |registered: Option<Registration>,
                    done: Option<(ContextError, ContextError)>| {
            let ch = Chan::new(0);
            let (err, cause) = match done {
                Some((err, cause)) => {
                    ch.close();
                    (Some(err), Some(cause))
                }
                None => (None, None),
            };
            Arc::new(CancelCtx {
                parent: Some(self.clone()),
                done: ch.receiver(),
                deadline,
                own_deadline: own_deadline.is_some(),
                registered,
                state: Lock::new(CancelState {
                    err,
                    cause,
                    children: BTreeMap::new(),
                    next_key: 0,
                    timer: None,
                }),
            })
        };
        let AnchorRef::Cancel(parent) = self.anchor() else {
            return make(None, None); // under the background: nothing can cancel it but itself
        };
        let mut st = parent.state.lock();
        if let (Some(err), Some(cause)) = (&st.err, &st.cause) {
            let inherited = (err.clone(), cause.clone());
            drop(st);
            return make(None, Some(inherited)); // Go: child.cancel(false, p.err, p.cause)
        }
        let key = st.next_key;
        st.next_key += 1;
        let node = make(
            Some(Registration {
                parent: parent.clone(),
                key,
            }),
            None,
        );
        st.children.insert(key, Child::Ctx(node.clone()));
        node
    }
}

/// Arms `node`'s deadline timer to cancel it after `d` (Go: the `time.AfterFunc` in
/// `WithDeadlineCause`). The timer holds the node weakly, so a stopped timer left in a
/// timer heap keeps nothing alive.
fn arm_deadline(node: &Arc<CancelCtx>, d: Duration) {
    let weak: Weak<CancelCtx> = Arc::downgrade(node);
    let timer = gmp_core::time::after_fn(d, move || {
        if let Some(node) = weak.upgrade() {
            cancel(&node, ContextError::DeadlineExceeded, None, true);
        }
    });
    let mut st = node.state.lock();
    if st.err.is_none() {
        st.timer = Some(timer);
    } else {
        drop(st);
        timer.stop(); // cancelled (by a parent, or the timer itself) before we got here
    }
}

/// What a cancel collected under its locks, to be done after it released them: after-funcs
/// to start, timers to stop, references to drop (the last reference to a node runs the
/// `Drop` of its values, user code).
#[derive(Default)]
struct Later {
    start: Vec<Box<dyn FnOnce() + Send>>,
    timers: Vec<CoreTimer>,
    drops: Vec<Child>,
}

impl Later {
    fn finish(self) {
        for t in self.timers {
            t.stop();
        }
        for f in self.start {
            go_after_func(f);
        }
        drop(self.drops);
    }
}

/// Go: `cancelCtx.cancel(removeFromParent, err, cause)`. Cancels `node` and every live node
/// below it with `err` and `cause` (`err` if `None`), unless `node` is already cancelled.
/// See the module docs for the walk, its locks and why it runs no user code under them.
fn cancel(
    node: &Arc<CancelCtx>,
    err: ContextError,
    cause: Option<ContextError>,
    remove_from_parent: bool,
) {
    let cause = cause.unwrap_or_else(|| err.clone());
    let mut later = Later::default();
    node.state.raw_lock();
    // SAFETY: we hold `node`'s lock (taken just above).
    let Some(children) = (unsafe { node.mark_locked(&err, &cause, &mut later) }) else {
        // SAFETY: we took the lock above and hold no reference into its data.
        unsafe { node.state.raw_unlock() };
        return; // already cancelled
    };
    // The locked path from `node` down: each entry is locked, with the children it has left.
    let mut path: Vec<(Arc<CancelCtx>, btree_map::IntoValues<u64, Child>)> =
        vec![(node.clone(), children)];
    while let Some((_, children)) = path.last_mut() {
        match children.next() {
            Some(Child::Ctx(child)) => {
                child.state.raw_lock();
                // SAFETY: we hold `child`'s lock (taken just above).
                match unsafe { child.mark_locked(&err, &cause, &mut later) } {
                    Some(grandchildren) => path.push((child, grandchildren)),
                    None => {
                        // Cancelled on its own earlier; it left its subtree cancelled.
                        // SAFETY: we took the lock above and hold no reference into its data.
                        unsafe { child.state.raw_unlock() };
                        later.drops.push(Child::Ctx(child));
                    }
                }
            }
            Some(Child::AfterFunc(slot)) => {
                let f = slot.f.lock().take(); // Go: a.once.Do(func() { go a.f() })
                later.start.extend(f);
                later.drops.push(Child::AfterFunc(slot));
            }
            None => {
                if let Some((finished, _)) = path.pop() {
                    // SAFETY: every node on `path` was locked when pushed and is unlocked once,
                    // here, when popped; `mark_locked` kept no reference into its data.
                    unsafe { finished.state.raw_unlock() };
                    later.drops.push(Child::Ctx(finished));
                }
            }
        }
    }
    if remove_from_parent {
        if let Some(r) = &node.registered {
            later.drops.extend(remove_child(r));
        }
    }
    later.finish();
}

/// Go: `removeChild`. Takes a child out of its parent's `children` and returns it, for the
/// caller to drop with no lock held.
fn remove_child(r: &Registration) -> Option<Child> {
    r.parent.state.lock().children.remove(&r.key)
}

/// Starts an after-func in a goroutine of its own (Go: `go a.f()`). gmp-chan reaches the
/// scheduler only through `gmp_core::time` and `gmp_core::park`: `after_fn` with a zero
/// duration runs its function in a new goroutine, in the current runtime (the default one on
/// a plain thread).
fn go_after_func(f: Box<dyn FnOnce() + Send>) {
    let mut f = Some(f);
    // The returned timer fires once; dropping its handle does not stop it.
    drop(gmp_core::time::after_fn(Duration::ZERO, move || {
        if let Some(f) = f.take() {
            f();
        }
    }));
}

impl CancelCtx {
    /// The first half of Go's `cancelCtx.cancel`: if live, sets the error and cause, closes
    /// the done channel, moves the timer into `later` and returns the children, which the
    /// caller must cancel before it unlocks. `None` if already cancelled.
    ///
    /// # Safety
    /// The caller holds `self.state`'s lock (through `raw_lock`).
    unsafe fn mark_locked(
        &self,
        err: &ContextError,
        cause: &ContextError,
        later: &mut Later,
    ) -> Option<btree_map::IntoValues<u64, Child>> {
        // SAFETY: the caller holds the lock (this function's contract); the pointer is
        // dropped when this function returns, before the caller unlocks.
        let data = unsafe { self.state.data() };
        // SAFETY: as above: while the lock is held nobody else reaches the state.
        let st = unsafe { data.as_mut() };
        if st.err.is_some() {
            return None;
        }
        st.err = Some(err.clone());
        st.cause = Some(cause.clone());
        self.done.chan.close(); // under the lock: err() never precedes a closed done()
        later.timers.extend(st.timer.take());
        Some(std::mem::take(&mut st.children).into_values())
    }
}

impl CancelFn {
    /// Go's `cancel()`: cancels the context and everything below it with
    /// [`ContextError::Canceled`], stops its deadline timer and takes it out of its parent.
    /// Does nothing if the context is already done. When it returns, every descendant's
    /// `err()` is set and its `done()` closed.
    pub fn cancel(&self) {
        cancel(&self.node, ContextError::Canceled, None, true);
    }

    /// Go's `cancel(cause)` from `WithCancelCause`: [`cancel`](Self::cancel), recording
    /// `msg` as the cause ([`ContextError::Cause`]) that [`Context::cause`] returns here and
    /// below. `err()` is still [`ContextError::Canceled`].
    pub fn cancel_with_cause(&self, msg: impl Into<Arc<str>>) {
        let cause = ContextError::Cause(msg.into());
        cancel(&self.node, ContextError::Canceled, Some(cause), true);
    }
}

impl Drop for CancelFn {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl AfterFuncStop {
    /// Go's `stop()`: keeps `f` from running. Returns `true` if it did, `false` if `f` was
    /// already started (the context is done) or stopped.
    ///
    /// ```
    /// use gmp_chan::context::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let stop = ctx.after_func(|| unreachable!());
    /// assert!(stop.stop());
    /// cancel.cancel();
    /// assert!(!stop.stop());
    /// ```
    pub fn stop(&self) -> bool {
        let f = self.slot.f.lock().take();
        let Some(f) = f else {
            return false;
        };
        let unregistered = self.registered.as_ref().and_then(remove_child);
        // Both drops may run user code (`f`'s captures): no lock is held here.
        drop(unregistered);
        drop(f);
        true
    }
}

/// Drops the chain of parents that a node being dropped held, one node at a time instead of
/// one `Drop` inside the next, so dropping the last handle on a chain thousands deep does not
/// overflow a goroutine's stack.
fn drop_chain(mut next: Option<Context>) {
    while let Some(ctx) = next.take() {
        next = match ctx.inner {
            Inner::Background(_) => None,
            Inner::Value(v) => Arc::into_inner(v).and_then(|mut v| v.parent.take()),
            Inner::Cancel(c) => Arc::into_inner(c).and_then(|mut c| c.parent.take()),
        };
    }
}

impl Drop for ValueCtx {
    fn drop(&mut self) {
        // `anchor` is dropped after this: `drop_chain` stops at the anchor, which it still
        // holds, and the anchor's own drop then carries on up, one `Drop` deeper at most.
        drop_chain(self.parent.take());
    }
}

impl Drop for CancelCtx {
    fn drop(&mut self) {
        // A live node is only dropped if nothing can cancel it any more; stop its timer.
        let timer = self.state.lock().timer.take();
        if let Some(t) = timer {
            t.stop();
        }
        // The registration's reference to the anchor goes first, while the parent chain
        // still holds the anchor: left to the fields' drop after `drop_chain`, it would be the
        // anchor's last reference and free it one `Drop` deeper, level after level.
        drop(self.registered.take());
        drop_chain(self.parent.take());
    }
}

/// Go's `String()` of a context: the chain from the background down, as
/// `context.Background.WithValue(u32).WithCancel`.
impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        let mut cur = Some(self);
        while let Some(ctx) = cur {
            names.push(match &ctx.inner {
                Inner::Background(_) => "context.Background".to_string(),
                Inner::Value(v) => format!("WithValue({})", v.type_name),
                Inner::Cancel(c) => match c.deadline {
                    Some(at) if c.own_deadline => {
                        let left = at.saturating_duration_since(gmp_core::time::now());
                        format!("WithDeadline({at:?} [{left:?}])")
                    }
                    _ => "WithCancel".to_string(),
                },
            });
            cur = ctx.parent();
        }
        names.reverse();
        f.write_str(&names.join("."))
    }
}

impl fmt::Debug for CancelFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ctx = Context {
            inner: Inner::Cancel(self.node.clone()),
        };
        f.debug_tuple("CancelFn").field(&ctx).finish()
    }
}

impl fmt::Debug for AfterFuncStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFuncStop")
            .field("pending", &self.slot.f.lock().is_some())
            .finish()
    }
}

/// How many children (cancel nodes and after-funcs) are registered with `ctx`'s anchor.
pub(crate) fn children(ctx: &Context) -> usize {
    match ctx.anchor() {
        AnchorRef::Background(_) => 0,
        AnchorRef::Cancel(c) => c.state.lock().children.len(),
    }
}

/// Whether `ctx`'s nearest cancel node holds an armed deadline timer.
pub(crate) fn timer_armed(ctx: &Context) -> bool {
    match ctx.anchor() {
        AnchorRef::Background(_) => false,
        AnchorRef::Cancel(c) => c.state.lock().timer.is_some(),
    }
}
