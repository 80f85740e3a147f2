//! `NetFd`: a non-blocking std socket, its poll descriptor and its per-socket options: the
//! blocking-style I/O loop every `net` type is built on (Go: internal/poll.FD).

use crate::loom::atomic::{AtomicBool, AtomicU64, Ordering::*};
use crate::sched::netpoll::{timed_out, Mode, PollDesc};
use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options shared by a socket and its [`try_clone`](NetFd::try_clone)s, as the kernel shares
/// `SO_RCVTIMEO`/`SO_SNDTIMEO` and `O_NONBLOCK` between duplicated fds.
#[derive(Debug, Default)]
struct Opts {
    /// Read timeout in ns; 0: none (std refuses a zero timeout, so 0 is free).
    read_timeout: AtomicU64,
    /// Write timeout in ns; 0: none.
    write_timeout: AtomicU64,
    /// `set_nonblocking(true)`: operations return `WouldBlock` instead of waiting.
    nonblocking: AtomicBool,
}

/// A socket `S` (a std socket in non-blocking mode) that waits like a blocking one.
pub(crate) struct NetFd<S: AsRawFd> {
    io: S,
    pd: Arc<PollDesc>,
    opts: Arc<Opts>,
}

impl<S: AsRawFd + fmt::Debug> fmt::Debug for NetFd<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

/// Methods of a `net` type (a struct whose `inner` is a [`NetFd`]) that hand the call on
/// unchanged, with std's signatures: after `socket:` to the std socket (`self.inner.get()`,
/// calls that never block), after `fd:` to the `NetFd` (the options gmp keeps itself).
///
/// ```text
/// delegate! { socket:
///     /// Gets `TCP_NODELAY`.
///     fn nodelay(&self) -> io::Result<bool>;
/// }
/// ```
///
/// Two sets that several types share, docs and all: `delegate!(timeouts: "read", "write")`,
/// the four timeout methods of a socket whose waiting operations are called so, and
/// `delegate!(ttl_and_error)`, `IP_TTL` and `SO_ERROR`, which every socket has.
macro_rules! delegate {
    (timeouts: $read:literal, $write:literal) => {
        delegate! { fd:
            #[doc = concat!("The longest a ", $read, " may wait (`None`: forever). A ", $read)]
            #[doc = "that waits longer fails with"]
            #[doc = "[`io::ErrorKind::WouldBlock`](std::io::ErrorKind::WouldBlock), as std's on"]
            #[doc = "Linux. `Some(Duration::ZERO)` is an error."]
            fn set_read_timeout(
                &self, dur: Option<::std::time::Duration>
            ) -> ::std::io::Result<()>;
            #[doc = concat!("The longest a ", $write, " may wait; as")]
            #[doc = "[`set_read_timeout`](Self::set_read_timeout)."]
            fn set_write_timeout(
                &self, dur: Option<::std::time::Duration>
            ) -> ::std::io::Result<()>;
            /// The read timeout.
            fn read_timeout(&self) -> ::std::io::Result<Option<::std::time::Duration>>;
            /// The write timeout.
            fn write_timeout(&self) -> ::std::io::Result<Option<::std::time::Duration>>;
        }
    };
    (ttl_and_error) => {
        delegate! { socket:
            /// Sets `IP_TTL`.
            fn set_ttl(&self, ttl: u32) -> ::std::io::Result<()>;
            /// Gets `IP_TTL`.
            fn ttl(&self) -> ::std::io::Result<u32>;
            /// Gets and clears the socket's pending error (`SO_ERROR`).
            fn take_error(&self) -> ::std::io::Result<Option<::std::io::Error>>;
        }
    };
    (
        $to:ident:
        $($(#[$attr:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)+
    ) => {
        $(
            $(#[$attr])*
            pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                delegate!(@target $to self).$name($($arg),*)
            }
        )+
    };
    (@target socket $self:ident) => { $self.inner.get() };
    (@target fd $self:ident) => { $self.inner };
}
pub(super) use delegate;

/// `Debug` (the std socket's), `AsRawFd` and `AsFd` of `net` types whose `inner` is a
/// [`NetFd`].
macro_rules! fd_traits {
    ($($ty:ident),+ $(,)?) => {$(
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.inner, f)
            }
        }

        impl ::std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                ::std::os::fd::AsRawFd::as_raw_fd(self.inner.get())
            }
        }

        impl ::std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                ::std::os::fd::AsFd::as_fd(self.inner.get())
            }
        }
    )+};
}
pub(super) use fd_traits;

impl<S: AsRawFd> Drop for NetFd<S> {
    fn drop(&mut self) {
        // Leave the poller before `io` closes the fd (Go: `fd.pd.close()` in `destroy`).
        self.pd.close();
    }
}

fn encode(d: Option<Duration>) -> io::Result<u64> {
    match d {
        None => Ok(0),
        Some(d) if d.is_zero() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        )),
        Some(d) => Ok(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
    }
}

fn decode(ns: u64) -> Option<Duration> {
    (ns != 0).then(|| Duration::from_nanos(ns))
}

impl<S: AsRawFd> NetFd<S> {
    /// Wraps `io`, which must already be in non-blocking mode.
    pub(crate) fn new(io: S) -> Self {
        let pd = PollDesc::new(io.as_raw_fd());
        NetFd {
            io,
            pd,
            opts: Arc::new(Opts::default()),
        }
    }

    /// A clone of this socket around a `dup` of its fd (`dup`: the std socket's
    /// `try_clone`), sharing its options.
    pub(crate) fn try_clone(&self, dup: impl FnOnce(&S) -> io::Result<S>) -> io::Result<Self> {
        let io = dup(&self.io)?;
        let pd = PollDesc::new(io.as_raw_fd());
        Ok(NetFd {
            io,
            pd,
            opts: self.opts.clone(),
        })
    }

    /// The std socket, for the calls that never block.
    pub(crate) fn get(&self) -> &S {
        &self.io
    }

    /// Runs the read-side `op` until it does not fail with `WouldBlock`, waiting for
    /// readability in between, until the read timeout.
    pub(crate) fn read<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let timeout = decode(self.opts.read_timeout.load(Relaxed));
        self.io_loop(Mode::Read, timeout, op)
    }

    /// As [`read`](Self::read), for writability and the write timeout.
    pub(crate) fn write<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let timeout = decode(self.opts.write_timeout.load(Relaxed));
        self.io_loop(Mode::Write, timeout, op)
    }

    /// Runs `op` until it does not fail with `WouldBlock` (or `Interrupted`), waiting for
    /// `mode` in between; a wait past `timeout` (from now) fails with std's timeout error.
    pub(crate) fn io_loop<R>(
        &self,
        mode: Mode,
        timeout: Option<Duration>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut deadline = None;
        let mut waited = false;
        loop {
            let snapshot = self.pd.snapshot(mode);
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.opts.nonblocking.load(Relaxed) {
                        return Err(e);
                    }
                    if deadline.is_none() {
                        if let Some(t) = timeout {
                            // An unrepresentable deadline is no deadline.
                            deadline = Some(crate::loom::now().checked_add(t));
                        }
                    }
                    self.wait(mode, snapshot, deadline.flatten())?;
                    waited = true;
                }
                r => {
                    if !waited {
                        // Completed without blocking: a cooperative scheduling point.
                        crate::park::checkpoint();
                    }
                    return r;
                }
            }
        }
    }

    /// The readiness sequence number of `mode`: take it before an operation whose
    /// `WouldBlock` leads to [`wait`](Self::wait).
    pub(crate) fn snapshot(&self, mode: Mode) -> u64 {
        self.pd.snapshot(mode)
    }

    /// Waits until the socket may be ready for `mode` (readiness since `snapshot`), or fails
    /// with std's timeout error at `deadline`.
    pub(crate) fn wait(
        &self,
        mode: Mode,
        snapshot: u64,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        if deadline.is_some_and(|d| crate::loom::now() >= d) {
            return Err(timed_out());
        }
        self.pd.wait(mode, snapshot, deadline)
    }

    pub(crate) fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.opts.read_timeout.store(encode(d)?, Relaxed);
        Ok(())
    }

    pub(crate) fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.opts.write_timeout.store(encode(d)?, Relaxed);
        Ok(())
    }

    pub(crate) fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(decode(self.opts.read_timeout.load(Relaxed)))
    }

    pub(crate) fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(decode(self.opts.write_timeout.load(Relaxed)))
    }

    /// gmp keeps the fd non-blocking either way; this chooses whether operations wait.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.opts.nonblocking.store(nonblocking, Relaxed);
        Ok(())
    }
}
