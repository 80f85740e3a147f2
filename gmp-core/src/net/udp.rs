//! `UdpSocket`: std's UDP API on the netpoller (Go: net/udpsock.go).

use super::fd::{delegate, fd_traits, NetFd};
use super::sys;
use std::io;
use std::net::{self as stdnet, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// A UDP socket: [`std::net::UdpSocket`]'s API, where receiving (and, rarely, sending) parks
/// the calling goroutine (or blocks the calling thread) until the socket is ready.
///
/// ```
/// use gmp_core::net::UdpSocket;
///
/// gmp_core::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0")?;
///     let b = UdpSocket::bind("127.0.0.1:0")?;
///     let b_addr = b.local_addr()?;
///     let receiver = gmp_core::go(move || {
///         let mut buf = [0; 16];
///         let (n, from) = b.recv_from(&mut buf).unwrap();
///         (buf[..n].to_vec(), from)
///     });
///     a.send_to(b"ping", b_addr)?;
///     let (msg, from) = receiver.join().unwrap();
///     assert_eq!(msg, b"ping");
///     assert_eq!(from, a.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    inner: NetFd<stdnet::UdpSocket>,
}

impl UdpSocket {
    /// Creates a socket bound to `addr` (the first of its addresses that works). No
    /// `SO_REUSEADDR`/`SO_REUSEPORT`: a bound port fails with [`io::ErrorKind::AddrInUse`].
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let addrs: Vec<SocketAddr> = sys::resolve(addr)?.collect();
        let s = stdnet::UdpSocket::bind(&addrs[..])?;
        s.set_nonblocking(true)?;
        Ok(UdpSocket {
            inner: NetFd::new(s),
        })
    }

    /// Receives one datagram and its sender's address; waits until one arrives (or the read
    /// timeout). A datagram longer than `buf` is cut to fit.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read(|s| s.recv_from(buf))
    }

    /// As [`recv_from`](Self::recv_from), but leaves the datagram in the queue.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read(|s| s.peek_from(buf))
    }

    /// Sends `buf` to `addr` (its first address, as std). Returns the bytes sent.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let to = sys::resolve(addr)?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        self.inner.write(|s| s.send_to(buf, to))
    }

    /// Sets the default destination for [`send`](Self::send) and the only source
    /// [`recv`](Self::recv) accepts.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let addrs: Vec<SocketAddr> = sys::resolve(addr)?.collect();
        self.inner.get().connect(&addrs[..])
    }

    /// Sends `buf` to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(|s| s.send(buf))
    }

    /// Receives one datagram from the connected peer; waits until one arrives.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(|s| s.recv(buf))
    }

    /// As [`recv`](Self::recv), but leaves the datagram in the queue.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(|s| s.peek(buf))
    }

    delegate! { socket:
        /// The local address.
        fn local_addr(&self) -> io::Result<SocketAddr>;
        /// The connected peer's address ([`io::ErrorKind::NotConnected`] if none).
        fn peer_addr(&self) -> io::Result<SocketAddr>;
    }

    /// A new handle to the same socket (a `dup` of its fd); timeouts are shared, as std's.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        let inner = self.inner.try_clone(stdnet::UdpSocket::try_clone)?;
        Ok(UdpSocket { inner })
    }

    delegate!(timeouts: "receive", "send");

    delegate! { socket:
        /// Sets `SO_BROADCAST`.
        fn set_broadcast(&self, broadcast: bool) -> io::Result<()>;
        /// Gets `SO_BROADCAST`.
        fn broadcast(&self) -> io::Result<bool>;
        /// Sets `IP_MULTICAST_LOOP`.
        fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()>;
        /// Gets `IP_MULTICAST_LOOP`.
        fn multicast_loop_v4(&self) -> io::Result<bool>;
        /// Sets `IP_MULTICAST_TTL`.
        fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()>;
        /// Gets `IP_MULTICAST_TTL`.
        fn multicast_ttl_v4(&self) -> io::Result<u32>;
        /// Sets `IPV6_MULTICAST_LOOP`.
        fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()>;
        /// Gets `IPV6_MULTICAST_LOOP`.
        fn multicast_loop_v6(&self) -> io::Result<bool>;
        /// Joins an IPv4 multicast group (`IP_ADD_MEMBERSHIP`).
        fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()>;
        /// Joins an IPv6 multicast group (`IPV6_ADD_MEMBERSHIP`).
        fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()>;
        /// Leaves an IPv4 multicast group (`IP_DROP_MEMBERSHIP`).
        fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()>;
        /// Leaves an IPv6 multicast group (`IPV6_DROP_MEMBERSHIP`).
        fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()>;
    }

    delegate!(ttl_and_error);

    delegate! { fd:
        /// With `true`, sends and receives fail with [`io::ErrorKind::WouldBlock`] instead of
        /// waiting. Shared with [`try_clone`](Self::try_clone)s, as `O_NONBLOCK` is.
        fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
    }
}

fd_traits!(UdpSocket);
