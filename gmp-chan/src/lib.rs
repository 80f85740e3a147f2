//! # gmp-chan: Go channels and `select` for goroutines and plain threads
//!
//! Go's `chan T` ([`Chan`]), its directional views ([`Sender`] = `chan<- T`, [`Receiver`] =
//! `<-chan T`), the [`select!`] statement (in crossbeam-channel's syntax), a run-time built
//! [`Select`] (Go's `reflect.Select`) and timer channels ([`time`]). Blocking operations park
//! the calling goroutine when called in a gmp goroutine and block the thread on a plain OS
//! thread, so goroutines and threads can share channels freely.
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
//! ## Async interop
//!
//! [`Chan::recv_async`] and [`Chan::send_async`] (also on [`Receiver`] and [`Sender`]) are
//! the receive and the send as futures ([`RecvFuture`], [`SendFuture`]; `Send` when `T` is),
//! for async code on any executor: tokio, `futures`, or a hand-written `block_on` like the
//! one below. They share a channel, buffered or unbuffered, with goroutines and threads that
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

#![cfg_attr(loom, allow(dead_code))]

mod chan;
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

    /// The bytes of the waiter record of a blocked receive or send on a `Chan<T>`.
    pub fn waiter_record_bytes<T>() -> usize {
        gmp_core::park::SudogBox::<crate::sudog::Waiting<T>>::BLOCK_BYTES
    }

    pub use crate::operand::{RecvOperand, SendOperand};
    pub use crate::select::{block_forever, run_select, CaseRef, Mode, RecvCase, SendCase};
}
