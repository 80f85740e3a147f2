//! # gmp-chan: Go channels and `select` for goroutines and plain threads
//!
//! Go's `chan T` ([`Chan`]), its directional views ([`Sender`] = `chan<- T`, [`Receiver`] =
//! `<-chan T`), the [`select!`] statement (in crossbeam-channel's syntax), a run-time built
//! [`Select`] (Go's `reflect.Select`), timer channels ([`time`]) and Go's `context` package
//! ([`context`]). Blocking operations park the calling goroutine when called in a gmp
//! goroutine and block the thread on a plain OS thread, so goroutines and threads can share
//! channels freely.
//!
//! ```
//! use gmp_chan::chan;
//!
//! let ch = chan(0); // unbuffered: a send waits for a receiver
//! let tx = ch.sender();
//! let t = std::thread::spawn(move || {
//!     for i in 0..3 {
//!         tx.send(i).unwrap();
//!     }
//!     tx.close();
//! });
//! let got: Vec<i32> = ch.iter().collect(); // Go: for v := range ch
//! assert_eq!(got, [0, 1, 2]);
//! t.join().unwrap();
//! ```
//!
//! ## Channels
//!
//! [`chan(cap)`](chan) or [`Chan::new`] is Go's `make(chan T, cap)`. With `cap == 0` the
//! channel is a rendezvous: a send completes only when a receiver takes the value. Otherwise
//! it buffers up to `cap` values in FIFO order. Blocked senders and receivers queue in FIFO
//! order too, and a value goes straight from a sender to a waiting receiver (or the reverse).
//!
//! Where Go panics, gmp-chan returns an error: a send on a closed channel gives the value back
//! in [`SendError`], and [`Chan::close`] on a closed channel returns `false`.
//!
//! ```
//! use gmp_chan::{chan, SendError, TryRecvError, TrySendError};
//!
//! let ch = chan(1);
//! ch.send(1).unwrap();
//! assert_eq!(ch.try_send(2), Err(TrySendError::Full(2)));
//! ch.close(); // receivers drain the buffer, then see None
//! assert_eq!(ch.send(3), Err(SendError(3)));
//! assert_eq!(ch.recv(), Some(1));
//! assert_eq!(ch.recv(), None);
//! assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
//! ```
//!
//! Channels are never closed implicitly: dropping every handle frees the channel (and the
//! values still in it); a receiver blocked on a channel nobody will send on blocks forever, as
//! in Go.
//!
//! ## Timeouts
//!
//! [`Chan::send_timeout`] and [`Chan::recv_timeout`] give up after a duration.
//!
//! ```
//! use gmp_chan::{chan, RecvTimeoutError};
//! use std::time::Duration;
//!
//! let ch = chan::<u8>(0);
//! assert_eq!(ch.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
//! ```
//!
//! ## Select
//!
//! [`select!`] waits on several operations and runs the body of the one that completes;
//! ready cases are chosen at random. `Option<&Chan<T>>` operands turn a case off with `None`
//! (Go's nil channel).
//!
//! ```
//! use gmp_chan::{chan, select};
//!
//! let jobs = chan(1);
//! let quit = chan::<()>(0);
//! jobs.send(7).unwrap();
//! select! {
//!     recv(jobs) -> job => assert_eq!(job, Some(7)),
//!     recv(quit) -> _ => unreachable!(),
//! }
//! ```
//!
//! A goroutine's end is an operand too: [`done(&handle)`](done) is a receiver closed when the
//! goroutine ends (Go's idiom: a `done` channel the goroutine closes with `defer`).
//!
//! ```
//! use gmp_chan::{chan, done, select};
//!
//! let results = chan::<u32>(0);
//! let worker = gmp_core::go(|| ()); // ends without sending
//! select! {
//!     recv(results) -> r => unreachable!("{r:?}"),
//!     recv(done(&worker)) -> _ => {} // Go: case <-done:
//! }
//! ```
//!
//! ## Async interop
//!
//! [`Chan::recv_async`] and [`Chan::send_async`] (also on [`Receiver`] and [`Sender`]) are
//! the receive and the send as futures ([`RecvFuture`], [`SendFuture`]; `Send` when `T` is),
//! for async code on any executor: tokio, `futures`, [`gmp_core::block_on`] (which parks a
//! goroutine), or a hand-written `block_on` like the one below. They share a channel, buffered or unbuffered, with goroutines and threads that
//! block on it, and with each other. A pending future registers its task's waker with the
//! channel (no helper thread, no polling) and is woken by the sender, receiver or `close`
//! that makes it ready; a poll with another waker replaces the old one.
//!
//! Cancel semantics (so the futures can be raced against timeouts and dropped):
//!
//! - A receive future never loses a value: it takes one only in the poll that returns it. A
//!   pending one is only told that something arrived; dropped before it looks, the value
//!   stays in the channel for the next receiver.
//! - A send future dropped while pending has either had its value taken by a receiver
//!   (delivered, exactly once) or not: then the value is dropped with the future and no
//!   receiver ever sees it. A send that reports `Err(SendError(v))` delivered nothing.
//! - [`Chan::close`] wakes pending futures: receives drain the buffer, then give `None`; a
//!   pending send gives its value back in `Err(SendError(v))`.
//!
//! Goroutines and threads blocked in `recv` or `select!` are served before pending receive
//! futures, and on an unbuffered channel a pending receive future is no partner for a
//! non-blocking `try_send` (see [`Chan::recv_async`]).
//!
//! ```
//! use gmp_chan::chan;
//! use std::future::Future;
//! use std::sync::Arc;
//! use std::task::{Context, Poll, Wake, Waker};
//!
//! /// The smallest executor: poll, and park the thread until the waker unparks it.
//! fn block_on<F: Future>(f: F) -> F::Output {
//!     struct Unpark(std::thread::Thread);
//!     impl Wake for Unpark {
//!         fn wake(self: Arc<Self>) {
//!             self.0.unpark();
//!         }
//!     }
//!     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
//!     let mut f = std::pin::pin!(f);
//!     loop {
//!         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
//!             Poll::Ready(v) => return v,
//!             Poll::Pending => std::thread::park(),
//!         }
//!     }
//! }
//!
//! let ch = chan(0); // unbuffered: each send meets a receiver
//! let tx = ch.sender();
//! let producer = gmp_core::go(move || {
//!     for i in 0..3 {
//!         tx.send(i).unwrap(); // a goroutine, parked until the future takes the value
//!     }
//!     tx.close();
//! });
//! let mut got = Vec::new();
//! while let Some(v) = block_on(ch.recv_async()) {
//!     got.push(v);
//! }
//! assert_eq!(got, [0, 1, 2]);
//! producer.join().unwrap();
//!
//! // A pending receive, dropped: nothing is lost.
//! let ch = chan::<i32>(1);
//! let mut rx = Box::pin(ch.recv_async());
//! let noop = &mut Context::from_waker(Waker::noop());
//! assert!(rx.as_mut().poll(noop).is_pending());
//! ch.send(7).unwrap(); // the future is told, but does not take it
//! drop(rx);
//! assert_eq!(ch.recv(), Some(7));
//! ```
//!
//! ## Time
//!
//! [`time::after`] (Go's `time.After`), [`time::tick`] (`time.Tick`: a receiver that ticks
//! while any clone of it lives), [`time::Timer`] (`time.NewTimer`) and [`time::Ticker`]
//! (`time.NewTicker`) are Go's timer channels, with Go 1.23 semantics (no stale value after
//! `stop` or `reset`). A `&Timer` or `&Ticker` is a receive operand of `select!` (Go's `t.C`).
//! A duration too large for an `Instant` means for ever.
//!
//! ```
//! use gmp_chan::{chan, select, time};
//! use std::time::Duration;
//!
//! let never = chan::<i32>(0);
//! let ticker = time::Ticker::new(Duration::from_millis(1));
//! let r = select! {
//!     recv(never) -> _ => "value",
//!     recv(time::after(Duration::from_secs(3600))) -> _ => "timeout",
//!     recv(&ticker) -> _ => "tick",
//! };
//! assert_eq!(r, "tick");
//! ```
//!
//! ## Cancellation and deadlines: `context`
//!
//! [`context`] is Go's `context` package: a [`Context`](context::Context) carries a
//! cancellation signal, a deadline and values down a tree of goroutines. Its
//! [`done()`](context::Context::done) is a channel closed on cancel, so it is a `select!`
//! operand like any other; cancelling a context cancels everything derived from it at once;
//! a [`CancelFn`](context::CancelFn) cancels when dropped, as Go's `defer cancel()` does.
//!
//! In Go:
//!
//! ```go
//! func worker(ctx context.Context, jobs <-chan int, done chan<- int) {
//!     n := 0
//!     for {
//!         select {
//!         case _, ok := <-jobs:
//!             if !ok { done <- n; return }
//!             n++
//!         case <-ctx.Done():
//!             done <- n
//!             return
//!         }
//!     }
//! }
//!
//! ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//! defer cancel()
//! jobs, done := make(chan int), make(chan int, 1)
//! go worker(context.WithValue(ctx, traceKey, "req-1"), jobs, done)
//! for j := 0; j < 3; j++ { jobs <- j }
//! cancel()
//! fmt.Println(<-done, ctx.Err(), context.Cause(ctx)) // 3 context canceled context canceled
//! ```
//!
//! With gmp:
//!
//! ```
//! use gmp_chan::context::{Context, ContextError};
//! use gmp_chan::{chan, select, Receiver, Sender};
//! use std::time::Duration;
//!
//! struct TraceId(&'static str); // a value is keyed by its type
//!
//! fn worker(ctx: Context, jobs: Receiver<i32>, done: Sender<i32>) {
//!     assert_eq!(ctx.value::<TraceId>().map(|t| t.0), Some("req-1"));
//!     let mut n = 0;
//!     loop {
//!         select! {
//!             recv(jobs) -> job => match job {
//!                 Some(_) => n += 1,
//!                 None => break,
//!             },
//!             recv(ctx.done()) -> _ => break,
//!         }
//!     }
//!     done.send(n).unwrap();
//! }
//!
//! gmp_core::run(|| {
//!     let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(5));
//!     let (jobs, done) = (chan(0), chan(1));
//!     gmp_core::go!(worker(ctx.with_value(TraceId("req-1")), jobs.receiver(), done.sender()));
//!     for j in 0..3 {
//!         jobs.send(j).unwrap();
//!     }
//!     cancel.cancel(); // or let `cancel` drop at the end of the scope
//!     assert_eq!(done.recv(), Some(3));
//!     assert_eq!(ctx.err(), Some(ContextError::Canceled));
//!     assert_eq!(ctx.cause(), Some(ContextError::Canceled));
//! });
//! ```
//!
//! [`after_func`](context::Context::after_func) (Go's `context.AfterFunc`) runs a function in
//! a goroutine of its own once a context is done, and `cancel_with_cause` records why (Go's
//! `WithCancelCause`, read back with [`cause()`](context::Context::cause)).

#![cfg_attr(loom, allow(dead_code))]

mod chan;
pub mod context;
mod done;
mod error;
mod future;
mod handles;
mod iter;
mod lock;
mod loom;
mod operand;
mod select;
mod select_macro;
mod sudog;
mod task;
pub mod time;
mod waitq;

pub use done::done;
pub use error::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
pub use future::{RecvFuture, SendFuture};
pub use handles::{chan, Chan, Receiver, Sender};
pub use iter::{IntoIter, Iter};
pub use operand::{RecvOperand, SendOperand};
pub use select::{Select, SelectedOperation};

/// Items the `select!` macro expands to, and internals for gmp-chan's own tests; not a public
/// API: no stability, no docs.
#[doc(hidden)]
pub mod __private {
    /// How many timer channel states (`Timer`, `Ticker`, `tick`) are alive in the process.
    pub fn live_timer_states() -> usize {
        crate::time::live_timer_states()
    }

    /// How many children (cancel nodes and after-funcs) are registered with the context's
    /// nearest cancellable ancestor-or-self (Go's `len(c.children)`).
    pub fn context_children(ctx: &crate::context::Context) -> usize {
        crate::context::children(ctx)
    }

    /// Whether the context's nearest cancellable ancestor-or-self holds an armed deadline
    /// timer (not yet fired or stopped).
    pub fn context_timer_armed(ctx: &crate::context::Context) -> bool {
        crate::context::timer_armed(ctx)
    }

    /// The bytes of the waiter record of a blocked receive or send on a `Chan<T>`.
    pub fn waiter_record_bytes<T>() -> usize {
        gmp_core::park::SudogBox::<crate::sudog::Waiting<T>>::BLOCK_BYTES
    }

    pub use crate::operand::{RecvOperand, SendOperand};
    pub use crate::select::{block_forever, run_select, CaseRef, Mode, RecvCase, SendCase};
}
