//! Raw socket calls std does not expose: non-blocking socket creation, `bind` + `listen` with
//! gmp's backlog, and a non-blocking `connect` (Go: net/sock_posix.go, internal/poll).

use std::io;
use std::mem;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The listen backlog, fixed by API.md (Go reads the kernel's `somaxconn` instead,
/// net/sock_linux.go; the kernel clamps the value to it anyway).
pub(crate) const LISTEN_BACKLOG: libc::c_int = 1024;

/// Resolves `addr`. A host name lookup (`getaddrinfo`, reading files or asking a DNS server)
/// blocks, so it runs inside [`syscall`](crate::syscall): the goroutine's P goes to the other
/// goroutines while it waits, as Go's cgo resolver runs as a system call.
pub(crate) fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<A::Iter> {
    crate::syscall(|| addr.to_socket_addrs())
}

/// Calls `f` on each address `addr` resolves to until one succeeds (std's `each_addr`):
/// the last error otherwise, or std's "could not resolve to any addresses".
pub(crate) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in resolve(addr)? {
        match f(&a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// A new non-blocking, close-on-exec socket of `ty` for `addr`'s family.
pub(crate) fn socket(addr: &SocketAddr, ty: libc::c_int) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain syscall with constant arguments; the result is checked below.
    let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2), so it is open and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets an `int` socket option.
pub(crate) fn setsockopt_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and we pass its exact size; `fd` is an open socket.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            &value as *const libc::c_int as *const libc::c_void,
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `addr` as a C socket address and its length.
fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data, for which all-zero bytes are valid.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: all-zero is a valid sockaddr_in; the fields are filled in below.
            let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(a.ip().octets()),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr type,
            // so writing a sockaddr_in at its start stays in bounds and aligned.
            unsafe {
                (&mut storage as *mut libc::sockaddr_storage as *mut libc::sockaddr_in).write(sin)
            };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid sockaddr_in6; the fields are filled in below.
            let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            sin6.sin6_scope_id = a.scope_id();
            // SAFETY: as for V4: sockaddr_storage has room and alignment for a sockaddr_in6.
            unsafe {
                (&mut storage as *mut libc::sockaddr_storage as *mut libc::sockaddr_in6).write(sin6)
            };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Calls `f` with `addr` as a C socket address: a pointer valid for the call and its length.
fn with_sockaddr<R>(
    addr: &SocketAddr,
    f: impl FnOnce(*const libc::sockaddr, libc::socklen_t) -> R,
) -> R {
    let (sa, len) = sockaddr(addr);
    f(
        &sa as *const libc::sockaddr_storage as *const libc::sockaddr,
        len,
    )
}

/// `bind(2)`.
pub(crate) fn bind(fd: &OwnedFd, addr: &SocketAddr) -> io::Result<()> {
    let r = with_sockaddr(addr, |sa, len| {
        // SAFETY: `sa` is a valid socket address of `len` bytes, alive for the call.
        unsafe { libc::bind(fd.as_raw_fd(), sa, len) }
    });
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `listen(2)` with [`LISTEN_BACKLOG`].
pub(crate) fn listen(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: plain syscall on an open socket.
    if unsafe { libc::listen(fd.as_raw_fd(), LISTEN_BACKLOG) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Starts a non-blocking `connect(2)`: `Ok(true)` if it completed at once, `Ok(false)` if it is
/// in progress (wait for writability, then read `SO_ERROR`).
pub(crate) fn connect(fd: &OwnedFd, addr: &SocketAddr) -> io::Result<bool> {
    let r = with_sockaddr(addr, |sa, len| {
        // SAFETY: `sa` is a valid socket address of `len` bytes, alive for the call.
        unsafe { libc::connect(fd.as_raw_fd(), sa, len) }
    });
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // EINTR: the connect goes on asynchronously, like EINPROGRESS (Go: connect EINTR).
        Some(libc::EINPROGRESS) | Some(libc::EINTR) => Ok(false),
        _ => Err(e),
    }
}
