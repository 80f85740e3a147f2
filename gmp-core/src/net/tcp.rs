//! `TcpListener` and `TcpStream`: std's TCP API on the netpoller (Go: net/tcpsock.go).

use super::fd::NetFd;
use super::sys;
use crate::sched::netpoll::Mode;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{self as stdnet, Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

/// A TCP socket server, listening for connections: [`std::net::TcpListener`]'s API, where
/// [`accept`](TcpListener::accept) parks the calling goroutine (or blocks the calling thread)
/// until a connection arrives.
///
/// ```
/// use gmp_core::net::{TcpListener, TcpStream};
/// use std::io::{Read, Write};
///
/// gmp_core::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let server = gmp_core::go(move || -> std::io::Result<()> {
///         let (mut conn, _peer) = listener.accept()?;
///         let mut buf = [0; 5];
///         conn.read_exact(&mut buf)?;
///         conn.write_all(&buf)
///     });
///     let mut client = TcpStream::connect(addr)?;
///     client.write_all(b"hello")?;
///     let mut echo = [0; 5];
///     client.read_exact(&mut echo)?;
///     assert_eq!(&echo, b"hello");
///     server.join().unwrap()
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    inner: NetFd<stdnet::TcpListener>,
}

/// The iterator of [`TcpListener::incoming`]: endless, each item is an
/// [`accept`](TcpListener::accept)ed stream (or its error).
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

/// A TCP connection: [`std::net::TcpStream`]'s API, where reads, writes and connects park the
/// calling goroutine (or block the calling thread) until the socket is ready.
///
/// Timeouts are per call, as in std: a read that waits longer than the
/// [read timeout](TcpStream::set_read_timeout) fails with the error std gives on Linux
/// ([`io::ErrorKind::WouldBlock`], "Resource temporarily unavailable").
///
/// ```
/// use gmp_core::net::{TcpListener, TcpStream};
/// use std::io::{ErrorKind, Read};
/// use std::time::Duration;
///
/// gmp_core::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
///     let (_server_side, _) = listener.accept().unwrap();
///     // Nobody writes: the read times out.
///     client.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
///     let err = client.read(&mut [0; 8]).unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::WouldBlock);
/// });
/// ```
pub struct TcpStream {
    inner: NetFd<stdnet::TcpStream>,
}

impl TcpListener {
    /// Creates a listener bound to `addr` (the first of its addresses that works), with
    /// `SO_REUSEADDR` as std sets it, no `SO_REUSEPORT` (binding a port another socket listens
    /// on fails with [`io::ErrorKind::AddrInUse`]), and a backlog of 1024. Port 0 asks the OS
    /// for a free port: see [`local_addr`](Self::local_addr).
    ///
    /// Resolving a host name blocks the calling thread inside [`syscall`](crate::syscall), so
    /// the goroutine's P runs the others meanwhile (as Go's cgo resolver blocks only its M).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        sys::each_addr(addr, |a| {
            let fd = sys::socket(a, libc::SOCK_STREAM)?;
            sys::setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
            sys::bind(&fd, a)?;
            sys::listen(&fd)?;
            Ok(TcpListener {
                inner: NetFd::new(stdnet::TcpListener::from(fd)),
            })
        })
    }

    /// Accepts a new connection: parks the goroutine (or blocks the thread) until one arrives.
    /// Returns the stream and the peer's address.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, peer) = self.inner.read(|l| l.accept())?;
        s.set_nonblocking(true)?;
        Ok((
            TcpStream {
                inner: NetFd::new(s),
            },
            peer,
        ))
    }

    /// An endless iterator over accepted connections (each [`accept`](Self::accept)'s result).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// A new handle to the same socket (a `dup` of its fd).
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        let io = self.inner.get().try_clone()?;
        Ok(TcpListener {
            inner: self.inner.try_clone(io),
        })
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get().set_ttl(ttl)
    }

    /// Gets `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get().ttl()
    }

    /// Gets and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// With `true`, [`accept`](Self::accept) fails with [`io::ErrorKind::WouldBlock`] instead
    /// of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each of its addresses in turn. Parks the goroutine
    /// (or blocks the thread) while the connection is being set up. A refused connection fails
    /// here with [`io::ErrorKind::ConnectionRefused`].
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        sys::each_addr(addr, |a| TcpStream::connect_addr(a, None))
    }

    /// Opens a connection to `addr`, failing with [`io::ErrorKind::TimedOut`] if it is not
    /// set up within `timeout` (std's `connect_timeout`). A zero `timeout` is an error.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        TcpStream::connect_addr(addr, Some(timeout))
    }

    /// Go: `netFD.connect`: a non-blocking connect, then wait for writability and read the
    /// outcome from `SO_ERROR`.
    fn connect_addr(addr: &SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
        let fd = sys::socket(addr, libc::SOCK_STREAM)?;
        let done = sys::connect(&fd, addr)?;
        let stream = TcpStream {
            inner: NetFd::new(stdnet::TcpStream::from(fd)),
        };
        if done {
            return Ok(stream);
        }
        let deadline = timeout.and_then(|t| crate::loom::now().checked_add(t));
        loop {
            let snapshot = stream.inner.snapshot(Mode::Write);
            // Failed (Go: the SO_ERROR check), connected, or still in progress?
            if let Some(e) = stream.inner.get().take_error()? {
                return Err(e);
            }
            match stream.inner.get().peer_addr() {
                Ok(_) => return Ok(stream),
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {}
                Err(e) => return Err(e),
            }
            match stream.inner.wait(Mode::Write, snapshot, deadline) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection timed out",
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// Shuts down the read half, the write half, or both. Shutting down the read half wakes a
    /// goroutine blocked reading (it reads end of stream).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get().shutdown(how)
    }

    /// A new handle to the same connection (a `dup` of its fd); timeouts are shared, as std's.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        let io = self.inner.get().try_clone()?;
        Ok(TcpStream {
            inner: self.inner.try_clone(io),
        })
    }

    /// Reads without removing the data from the queue; waits like [`Read::read`].
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(|s| s.peek(buf))
    }

    /// Sets `TCP_NODELAY` (Nagle's algorithm off with `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get().set_nodelay(nodelay)
    }

    /// Gets `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get().nodelay()
    }

    /// The longest a read may wait (`None`: forever). A read that waits longer fails with
    /// [`io::ErrorKind::WouldBlock`], as std's on Linux. `Some(Duration::ZERO)` is an error.
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(dur)
    }

    /// The longest a write may wait; as [`set_read_timeout`](Self::set_read_timeout).
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(dur)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.read_timeout()
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.write_timeout()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get().set_ttl(ttl)
    }

    /// Gets `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get().ttl()
    }

    /// Gets and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// With `true`, reads and writes fail with [`io::ErrorKind::WouldBlock`] instead of
    /// waiting. Shared with [`try_clone`](Self::try_clone)s, as `O_NONBLOCK` is.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(|mut s| s.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read(|mut s| s.read_vectored(bufs))
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(|mut s| s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write(|mut s| s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get().as_fd()
    }
}
