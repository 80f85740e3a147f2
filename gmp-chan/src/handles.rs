//! The user's handles on a channel: `Chan<T>` (Go `chan T`), `Sender<T>` (`chan<- T`) and
//! `Receiver<T>` (`<-chan T`).

use crate::chan::{Hchan, Timed};
use crate::error::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::future::{RecvFuture, SendFuture};
use crate::iter::{IntoIter, Iter};
use crate::loom::Arc;
use std::fmt;
use std::time::{Duration, Instant};

/// A Go channel, `chan T`: buffered (a FIFO ring of fixed capacity) or unbuffered (a
/// rendezvous: a send completes only when a receiver takes the value).
///
/// Cloning shares the channel, as copying a Go channel value does. Channels are never closed
/// implicitly: dropping every handle frees the channel and drops the values still buffered.
///
/// ```
/// use gmp_chan::Chan;
///
/// let ch = Chan::new(2);
/// ch.send(1).unwrap();
/// ch.send(2).unwrap();
/// assert_eq!((ch.len(), ch.cap()), (2, 2));
/// ch.close();
/// let got: Vec<i32> = ch.iter().collect();
/// assert_eq!(got, [1, 2]);
/// assert_eq!(ch.recv(), None); // closed and drained
/// ```
pub struct Chan<T> {
    pub(crate) inner: Arc<Hchan<T>>,
}

/// The send side of a channel, Go's `chan<- T`. Made by [`Chan::sender`] (or `From<Chan>`).
///
/// ```
/// let ch = gmp_chan::chan(1);
/// let tx = ch.sender();
/// tx.send("hi").unwrap();
/// assert_eq!(ch.recv(), Some("hi"));
/// ```
pub struct Sender<T> {
    pub(crate) chan: Chan<T>,
}

/// The receive side of a channel, Go's `<-chan T`. Made by [`Chan::receiver`] (or `From<Chan>`).
///
/// ```
/// let ch = gmp_chan::chan(1);
/// let rx = ch.receiver();
/// ch.send(7).unwrap();
/// assert_eq!(rx.recv(), Some(7));
/// ```
pub struct Receiver<T> {
    pub(crate) chan: Chan<T>,
}

/// Go's `make(chan T, cap)`: a new channel; `cap` 0 makes an unbuffered one.
///
/// # Panics
/// "makechan: size out of range" if a buffer of `cap` elements cannot be allocated.
///
/// ```
/// let ch = gmp_chan::chan::<u8>(0);
/// assert_eq!(ch.cap(), 0);
/// ```
#[track_caller]
pub fn chan<T>(cap: usize) -> Chan<T> {
    Chan::new(cap)
}

fn deadline(d: Duration) -> Option<Instant> {
    // A timeout too long to represent is "no timeout".
    gmp_core::time::now().checked_add(d)
}

impl<T> Chan<T> {
    /// Go's `make(chan T, cap)`; see [`chan`].
    ///
    /// # Panics
    /// "makechan: size out of range" if a buffer of `cap` elements cannot be allocated.
    ///
    /// ```
    /// let ch: gmp_chan::Chan<u64> = gmp_chan::Chan::new(16);
    /// assert_eq!(ch.cap(), 16);
    /// ```
    #[track_caller]
    pub fn new(cap: usize) -> Self {
        Chan {
            inner: Arc::new(Hchan::new(cap, false)),
        }
    }

    /// A channel whose `len`/`cap` read 0 (Go 1.23 timer channels); capacity 1 inside.
    pub(crate) fn new_timer() -> Self {
        Chan {
            inner: Arc::new(Hchan::new(1, true)),
        }
    }

    /// Go's `ch <- v`: blocks until the value is buffered or taken by a receiver. If the
    /// channel is closed (or closed while waiting), returns the value in `Err` (Go panics).
    ///
    /// ```
    /// let ch = gmp_chan::chan(1);
    /// assert!(ch.send(1).is_ok());
    /// ch.close();
    /// assert_eq!(ch.send(2), Err(gmp_chan::SendError(2)));
    /// ```
    pub fn send(&self, v: T) -> Result<(), SendError<T>> {
        self.inner
            .chansend(v, None, self)
            .map_err(|(v, _)| SendError(v))
    }

    /// Go's `v, ok := <-ch`: blocks until a value arrives; `None` once the channel is closed
    /// and drained.
    ///
    /// ```
    /// let ch = gmp_chan::chan(1);
    /// ch.send(5).unwrap();
    /// ch.close();
    /// assert_eq!(ch.recv(), Some(5));
    /// assert_eq!(ch.recv(), None);
    /// ```
    pub fn recv(&self) -> Option<T> {
        match self.inner.chanrecv(None, self) {
            Timed::Done(v) => v,
            Timed::TimedOut => unreachable!("gmp-chan: recv without a deadline timed out"),
        }
    }

    /// [`send`](Self::send) for async code: a future that resolves to `Ok(())` once the value
    /// is buffered or taken by a receiver, or to `Err(SendError(v))`, giving the value back,
    /// if the channel is or gets closed first. It works on any executor and shares the
    /// channel with goroutines and threads that block on it: while it waits, its value is
    /// queued with the parked senders, in arrival order, and the receiver that takes it wakes
    /// the task's waker. It never blocks the thread that polls it, and it sends nothing until
    /// it is first polled.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while it is pending either finds that a receiver already took the
    /// value (it was delivered, exactly once) or withdraws it: the value is dropped with the
    /// future, and no receiver ever sees it. Which of the two happened cannot be told after
    /// the drop; to know, keep polling to the end, or use [`try_send`](Self::try_send). A
    /// future that reports `Err(SendError(v))` never delivered `v`.
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Wake, Waker};
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl Wake for Unpark {
    /// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
    /// #     }
    /// #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop {
    /// #         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(v) => return v,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    /// let ch = gmp_chan::chan(0); // unbuffered
    /// let rx = ch.clone();
    /// let t = std::thread::spawn(move || rx.recv()); // a blocking receiver
    /// block_on(ch.send_async("hi")).unwrap();
    /// assert_eq!(t.join().unwrap(), Some("hi"));
    /// ch.close();
    /// assert_eq!(block_on(ch.send_async("late")), Err(gmp_chan::SendError("late")));
    /// ```
    pub fn send_async(&self, v: T) -> SendFuture<'_, T> {
        SendFuture::new(&self.inner, v)
    }

    /// [`recv`](Self::recv) for async code: a future that resolves to `Some(v)`, or to `None`
    /// once the channel is closed and drained. It works on any executor and shares the
    /// channel with goroutines and threads that block on it; it never blocks the thread that
    /// polls it. While it waits, its task's waker is registered with the channel, and a
    /// sender (or `close`) wakes it when there is something to receive.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future never loses a value: a value is taken out of the channel only in
    /// the poll that returns it. A pending future is only told that something arrived; if it
    /// is dropped before it looks, the value stays in the channel (in its buffer, or with its
    /// waiting sender) and the next waiting receive future is told instead. So it can be
    /// raced against a timeout or another future and dropped freely.
    ///
    /// # Fairness
    ///
    /// A goroutine or thread blocked in [`recv`](Self::recv) or a `select!` is served before
    /// pending futures: a sender hands its value straight to it. Among themselves, waiting
    /// futures are told in the order they began to wait; a value goes to whichever receiver
    /// takes it first. On an unbuffered channel a pending future meets senders that wait
    /// ([`send`](Self::send), [`send_async`](Self::send_async), a `select!` send case that
    /// blocks), not a non-blocking [`try_send`](Self::try_send): until it is polled, nobody is
    /// there to take the value.
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Wake, Waker};
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl Wake for Unpark {
    /// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
    /// #     }
    /// #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop {
    /// #         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(v) => return v,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    /// let ch = gmp_chan::chan(0);
    /// let tx = ch.clone();
    /// let t = std::thread::spawn(move || {
    ///     tx.send(1).unwrap(); // blocks until the future takes it
    ///     tx.close();
    /// });
    /// assert_eq!(block_on(ch.recv_async()), Some(1));
    /// assert_eq!(block_on(ch.recv_async()), None); // closed and drained
    /// t.join().unwrap();
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.inner)
    }

    /// Go's `select { case ch <- v: default: }`: sends only if that can be done at once.
    ///
    /// ```
    /// use gmp_chan::{chan, TrySendError};
    /// let ch = chan(1);
    /// assert_eq!(ch.try_send(1), Ok(()));
    /// assert_eq!(ch.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        let mut st = self.inner.lock();
        let waker = self.inner.try_send_locked(&mut st, v)?;
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Go's `select { case v := <-ch: default: }`: receives only if a value is there.
    ///
    /// ```
    /// use gmp_chan::{chan, TryRecvError};
    /// let ch = chan::<i32>(1);
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    /// ch.close();
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut st = self.inner.lock();
        let (v, waker) = self.inner.try_recv_locked(&mut st)?;
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(v)
    }

    /// [`send`](Self::send), giving up after `d` (Go: a select with `time.After`).
    ///
    /// ```
    /// use gmp_chan::{chan, SendTimeoutError};
    /// use std::time::Duration;
    /// let ch = chan(0); // nobody receives
    /// let r = ch.send_timeout(1, Duration::from_millis(5));
    /// assert_eq!(r, Err(SendTimeoutError::Timeout(1)));
    /// ```
    pub fn send_timeout(&self, v: T, d: Duration) -> Result<(), SendTimeoutError<T>> {
        self.inner
            .chansend(v, deadline(d), self)
            .map_err(|(v, timed_out)| {
                if timed_out {
                    SendTimeoutError::Timeout(v)
                } else {
                    SendTimeoutError::Closed(v)
                }
            })
    }

    /// [`recv`](Self::recv), giving up after `d`.
    ///
    /// ```
    /// use gmp_chan::{chan, RecvTimeoutError};
    /// use std::time::Duration;
    /// let ch = chan::<i32>(0);
    /// assert_eq!(ch.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, d: Duration) -> Result<T, RecvTimeoutError> {
        match self.inner.chanrecv(deadline(d), self) {
            Timed::Done(Some(v)) => Ok(v),
            Timed::Done(None) => Err(RecvTimeoutError::Closed),
            Timed::TimedOut => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Go's `close(ch)`: blocked receivers wake with `None` (after the buffer drains),
    /// blocked senders get their value back in `Err`, later sends fail. Returns `false` if the
    /// channel was already closed (where Go panics with "close of closed channel").
    ///
    /// ```
    /// let ch = gmp_chan::chan::<()>(0);
    /// assert!(ch.close());
    /// assert!(!ch.close());
    /// ```
    pub fn close(&self) -> bool {
        self.inner.close()
    }

    /// Whether [`close`](Self::close) has been called.
    ///
    /// ```
    /// let ch = gmp_chan::chan::<()>(0);
    /// assert!(!ch.is_closed());
    /// ch.close();
    /// assert!(ch.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Go's `len(ch)`: values buffered now (0 for a timer's channel, as in Go 1.23).
    ///
    /// ```
    /// let ch = gmp_chan::chan(3);
    /// ch.send('a').unwrap();
    /// assert_eq!(ch.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Go's `cap(ch)`: the buffer's capacity (0 for unbuffered and timer channels).
    ///
    /// ```
    /// assert_eq!(gmp_chan::chan::<i32>(4).cap(), 4);
    /// ```
    pub fn cap(&self) -> usize {
        self.inner.cap()
    }

    /// `len() == 0`.
    ///
    /// ```
    /// assert!(gmp_chan::chan::<i32>(4).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The send-only view, Go's `chan<- T`.
    ///
    /// ```
    /// let ch = gmp_chan::chan::<i32>(1);
    /// let tx: gmp_chan::Sender<i32> = ch.sender();
    /// tx.send(1).unwrap();
    /// ```
    pub fn sender(&self) -> Sender<T> {
        Sender { chan: self.clone() }
    }

    /// The receive-only view, Go's `<-chan T`.
    ///
    /// ```
    /// let ch = gmp_chan::chan::<i32>(1);
    /// let rx: gmp_chan::Receiver<i32> = ch.receiver();
    /// ch.send(1).unwrap();
    /// assert_eq!(rx.recv(), Some(1));
    /// ```
    pub fn receiver(&self) -> Receiver<T> {
        Receiver { chan: self.clone() }
    }

    /// Go's `for v := range ch`: receives until the channel is closed and drained.
    ///
    /// ```
    /// let ch = gmp_chan::chan(3);
    /// for i in 0..3 { ch.send(i).unwrap(); }
    /// ch.close();
    /// assert_eq!(ch.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter::new(self)
    }

    /// `(queued receivers, queued senders)`, counting stale select entries; for tests.
    #[doc(hidden)]
    pub fn __queued(&self) -> (usize, usize) {
        self.inner.queued()
    }
}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan {
            inner: self.inner.clone(),
        }
    }
}

/// Two handles are equal when they name the same channel (Go's `==` on channels).
impl<T> PartialEq for Chan<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
impl<T> Eq for Chan<T> {}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("len", &self.len())
            .field("cap", &self.cap())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Sender<T> {
    /// See [`Chan::send`].
    pub fn send(&self, v: T) -> Result<(), SendError<T>> {
        self.chan.send(v)
    }
    /// See [`Chan::try_send`].
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(v)
    }
    /// See [`Chan::send_timeout`].
    pub fn send_timeout(&self, v: T, d: Duration) -> Result<(), SendTimeoutError<T>> {
        self.chan.send_timeout(v, d)
    }
    /// [`send`](Self::send) for async code; see [`Chan::send_async`] (cancel semantics there).
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Wake, Waker};
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl Wake for Unpark {
    /// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
    /// #     }
    /// #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop {
    /// #         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(v) => return v,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    /// let ch = gmp_chan::chan(1);
    /// let tx = ch.sender();
    /// block_on(tx.send_async(5)).unwrap(); // room in the buffer: ready at once
    /// assert_eq!(ch.recv(), Some(5));
    /// ```
    pub fn send_async(&self, v: T) -> SendFuture<'_, T> {
        self.chan.send_async(v)
    }
    /// See [`Chan::close`] (a sender may close, as in Go).
    pub fn close(&self) -> bool {
        self.chan.close()
    }
}

impl<T> Receiver<T> {
    /// See [`Chan::recv`].
    pub fn recv(&self) -> Option<T> {
        self.chan.recv()
    }
    /// See [`Chan::try_recv`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }
    /// See [`Chan::recv_timeout`].
    pub fn recv_timeout(&self, d: Duration) -> Result<T, RecvTimeoutError> {
        self.chan.recv_timeout(d)
    }
    /// [`recv`](Self::recv) for async code; see [`Chan::recv_async`] (cancel semantics there).
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Wake, Waker};
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl Wake for Unpark {
    /// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
    /// #     }
    /// #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop {
    /// #         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(v) => return v,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    /// let ch = gmp_chan::chan(1);
    /// let rx = ch.receiver();
    /// ch.send(5).unwrap();
    /// assert_eq!(block_on(rx.recv_async()), Some(5));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        self.chan.recv_async()
    }
    /// See [`Chan::iter`].
    pub fn iter(&self) -> Iter<'_, T> {
        self.chan.iter()
    }
}

/// What [`Sender`] and [`Receiver`] share as views of one [`Chan`]: the state queries,
/// `Clone`, `From<Chan>` and `Debug`.
macro_rules! chan_view {
    ($view:ident) => {
        impl<T> $view<T> {
            /// See [`Chan::is_closed`].
            pub fn is_closed(&self) -> bool {
                self.chan.is_closed()
            }
            /// See [`Chan::len`].
            pub fn len(&self) -> usize {
                self.chan.len()
            }
            /// See [`Chan::cap`].
            pub fn cap(&self) -> usize {
                self.chan.cap()
            }
            /// See [`Chan::is_empty`].
            pub fn is_empty(&self) -> bool {
                self.chan.is_empty()
            }
        }

        impl<T> Clone for $view<T> {
            fn clone(&self) -> Self {
                $view {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> From<Chan<T>> for $view<T> {
            fn from(chan: Chan<T>) -> Self {
                $view { chan }
            }
        }

        impl<T> fmt::Debug for $view<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($view)).field(&self.chan).finish()
            }
        }
    };
}

chan_view!(Sender);
chan_view!(Receiver);

/// `for v in &h` and `for v in h` (Go: `for v := range ch`) over a handle `h` that can
/// receive; `|h| chan` gives the channel an owning iterator keeps.
macro_rules! range_over {
    ($handle:ident, |$h:ident| $chan:expr) => {
        impl<'a, T> IntoIterator for &'a $handle<T> {
            type Item = T;
            type IntoIter = Iter<'a, T>;
            fn into_iter(self) -> Iter<'a, T> {
                self.iter()
            }
        }

        impl<T> IntoIterator for $handle<T> {
            type Item = T;
            type IntoIter = IntoIter<T>;
            fn into_iter(self) -> IntoIter<T> {
                let $h = self;
                IntoIter::new($chan)
            }
        }
    };
}

range_over!(Chan, |ch| ch);
range_over!(Receiver, |rx| rx.chan);
