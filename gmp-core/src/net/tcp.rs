//! `TcpListener` and `TcpStream`: std's TCP API on the netpoller (Go: net/tcpsock.go).

use super::fd::{delegate, fd_traits, NetFd};
use super::sys;
use crate::sched::netpoll::Mode;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{self as stdnet, Shutdown, SocketAddr, ToSocketAddrs};
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

    delegate! { socket:
        /// The address this listener is bound to.
        fn local_addr(&self) -> io::Result<SocketAddr>;
    }

    /// A new handle to the same socket (a `dup` of its fd).
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        let inner = self.inner.try_clone(stdnet::TcpListener::try_clone)?;
        Ok(TcpListener { inner })
    }

    delegate!(ttl_and_error);

    delegate! { fd:
        /// With `true`, [`accept`](Self::accept) fails with [`io::ErrorKind::WouldBlock`] instead
        /// of waiting.
        fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
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

    delegate! { socket:
        /// The remote address.
        fn peer_addr(&self) -> io::Result<SocketAddr>;
        /// The local address.
        fn local_addr(&self) -> io::Result<SocketAddr>;
        /// Shuts down the read half, the write half, or both. Shutting down the read half wakes a
        /// goroutine blocked reading (it reads end of stream).
        fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    }

    /// A new handle to the same connection (a `dup` of its fd); timeouts are shared, as std's.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        let inner = self.inner.try_clone(stdnet::TcpStream::try_clone)?;
        Ok(TcpStream { inner })
    }

    /// Reads without removing the data from the queue; waits like [`Read::read`].
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(|s| s.peek(buf))
    }

    delegate! { socket:
        /// Sets `TCP_NODELAY` (Nagle's algorithm off with `true`).
        fn set_nodelay(&self, nodelay: bool) -> io::Result<()>;
        /// Gets `TCP_NODELAY`.
        fn nodelay(&self) -> io::Result<bool>;
    }

    delegate!(timeouts: "read", "write");

    delegate!(ttl_and_error);

    delegate! { fd:
        /// With `true`, reads and writes fail with [`io::ErrorKind::WouldBlock`] instead of
        /// waiting. Shared with [`try_clone`](Self::try_clone)s, as `O_NONBLOCK` is.
        fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
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

fd_traits!(TcpListener, TcpStream);
