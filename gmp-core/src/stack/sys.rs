//! OS memory for goroutine stacks: page size, slab mappings, guard pages, page release, and
//! the error messages for the kernel's limits.
//!
//! Everything here is a thin wrapper over one system call. The pool (`stack/mod.rs`) decides
//! when to call them; this file only knows how, and how to explain a failure.

use std::io;
use std::ptr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// `madvise` advice that turns a range into guard pages without splitting its mapping (a
/// "guard marker" in each page table entry; a touch raises SIGSEGV).
///
/// Linux 6.13, `include/uapi/asm-generic/mman-common.h`: `#define MADV_GUARD_INSTALL 102`.
/// The libc crate does not export it yet. Older kernels reject it with `EINVAL`.
pub(super) const MADV_GUARD_INSTALL: libc::c_int = 102;

/// The kernel's page size, read once (`sysconf(_SC_PAGESIZE)`; 4 KiB on x86_64).
pub(crate) fn page_size() -> usize {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    let cached = PAGE_SIZE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: sysconf has no preconditions; _SC_PAGESIZE is always supported on Linux.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let size = usize::try_from(size).unwrap_or(4096);
    assert!(
        size.is_power_of_two(),
        "page size {size} is not a power of two"
    );
    PAGE_SIZE.store(size, Ordering::Relaxed);
    size
}

/// How a slot's guard page is made inaccessible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GuardKind {
    /// `madvise(MADV_GUARD_INSTALL)` (Linux ≥ 6.13): no extra memory mapping per guard.
    Madvise,
    /// `mprotect(PROT_NONE)`: splits the slab's mapping, two mappings per stack.
    Mprotect,
}

/// The guard kind this kernel supports, probed once per process: `MADV_GUARD_INSTALL` on a
/// scratch mapping; any failure (`EINVAL` before 6.13) selects the mprotect fallback.
pub(crate) fn detect_guard_kind() -> GuardKind {
    const UNKNOWN: u8 = 0;
    const MADVISE: u8 = 1;
    const MPROTECT: u8 = 2;
    static KIND: AtomicU8 = AtomicU8::new(UNKNOWN);
    match KIND.load(Ordering::Relaxed) {
        MADVISE => return GuardKind::Madvise,
        MPROTECT => return GuardKind::Mprotect,
        _ => {}
    }
    let page = page_size();
    let kind = match map_anon(2 * page) {
        Ok(addr) => {
            // SAFETY: `addr..addr + 2 pages` is a private anonymous mapping this function just
            // created and nobody else knows about; installing a guard in its first page and
            // unmapping it afterwards cannot affect any other memory.
            let ok = unsafe {
                let ok = libc::madvise(addr as *mut libc::c_void, page, MADV_GUARD_INSTALL) == 0;
                libc::munmap(addr as *mut libc::c_void, 2 * page);
                ok
            };
            if ok {
                GuardKind::Madvise
            } else {
                GuardKind::Mprotect
            }
        }
        // Cannot even map two pages: the slab mapping will fail with a clear error anyway.
        Err(_) => GuardKind::Mprotect,
    };
    let code = match kind {
        GuardKind::Madvise => MADVISE,
        GuardKind::Mprotect => MPROTECT,
    };
    KIND.store(code, Ordering::Relaxed);
    kind
}

/// Maps `len` bytes of private anonymous memory, readable and writable, committed only on
/// touch (`MAP_NORESERVE`: no swap/overcommit reservation up front), never backed by huge
/// pages (a 2 MiB page behind one touched stack would make every neighbour resident).
///
/// Returns the start address. `ENOMEM` becomes an error that explains the limits.
pub(super) fn map_anon(len: usize) -> io::Result<usize> {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;
    // SAFETY: a fresh anonymous mapping at an address the kernel chooses (no MAP_FIXED)
    // cannot overlap or alter any existing memory.
    let addr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        let err = io::Error::last_os_error();
        return Err(if err.raw_os_error() == Some(libc::ENOMEM) {
            slab_enomem_error(len)
        } else {
            io::Error::new(
                err.kind(),
                format!("gmp: cannot map {len} bytes for goroutine stacks: mmap: {err}"),
            )
        });
    }
    // Linux ≥ 6.7 already implies VM_NOHUGEPAGE for MAP_STACK; say it for older kernels too.
    // Failure only means THP is not configured, which is what we want anyway.
    // SAFETY: advice on the mapping just created; MADV_NOHUGEPAGE changes no contents.
    unsafe { libc::madvise(addr, len, libc::MADV_NOHUGEPAGE) };
    Ok(addr as usize)
}

/// [`map_anon`] for a slab of stacks guarded the `kind` way: with mprotect guards, an
/// out-of-memory error also says why this kernel needs so many maps.
pub(super) fn map_slab(len: usize, kind: GuardKind) -> io::Result<usize> {
    map_anon(len).map_err(|e| {
        if kind == GuardKind::Mprotect && e.kind() == io::ErrorKind::OutOfMemory {
            io::Error::new(e.kind(), format!("{e} {MPROTECT_NOTE}"))
        } else {
            e
        }
    })
}

/// Why the mprotect fallback runs into the map limit, and the way out.
const MPROTECT_NOTE: &str = "This kernel lacks madvise(MADV_GUARD_INSTALL) (Linux 6.13+), so \
    each goroutine stack costs two memory maps and about 32,000 goroutines fit under the \
    default limit; run on Linux 6.13 or later to lift that.";

/// Unmaps `addr..addr + len`.
///
/// # Safety
/// The range must be a mapping (or part of one) made by [`map_anon`] that nothing uses any
/// more: no stack handed out from it is alive.
pub(super) unsafe fn unmap(addr: usize, len: usize) {
    // SAFETY: the caller guarantees the range is ours and unused.
    let rc = unsafe { libc::munmap(addr as *mut libc::c_void, len) };
    debug_assert_eq!(rc, 0, "munmap failed: {}", io::Error::last_os_error());
}

/// Makes `addr..addr + len` a guard region: any access raises SIGSEGV.
///
/// # Safety
/// The range must be page-aligned, inside a mapping made by [`map_anon`], and hold nothing
/// anyone will read or write (its contents are discarded).
pub(super) unsafe fn install_guard(kind: GuardKind, addr: usize, len: usize) -> io::Result<()> {
    let mut tries = 0;
    loop {
        // SAFETY: the caller guarantees the range is an unused, page-aligned part of our own
        // mapping, so discarding its contents and revoking access hurts nobody.
        let rc = unsafe {
            match kind {
                GuardKind::Madvise => {
                    libc::madvise(addr as *mut libc::c_void, len, MADV_GUARD_INSTALL)
                }
                GuardKind::Mprotect => {
                    libc::mprotect(addr as *mut libc::c_void, len, libc::PROT_NONE)
                }
            }
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        let errno = err.raw_os_error();
        // MADV_GUARD_INSTALL may be interrupted (a signal, or a racing page fault it must retry).
        if matches!(errno, Some(libc::EINTR) | Some(libc::EAGAIN)) && tries < 100 {
            tries += 1;
            continue;
        }
        return Err(if errno == Some(libc::ENOMEM) {
            guard_enomem_error(kind)
        } else {
            let call = match kind {
                GuardKind::Madvise => "madvise(MADV_GUARD_INSTALL)",
                GuardKind::Mprotect => "mprotect(PROT_NONE)",
            };
            io::Error::new(
                err.kind(),
                format!("gmp: cannot install a goroutine stack guard page: {call}: {err}"),
            )
        });
    }
}

/// Gives the physical pages behind `addr..addr + len` back to the kernel
/// (`MADV_DONTNEED`): the range stays mapped and reads as zeros, a new touch commits afresh.
///
/// # Safety
/// The range must be page-aligned, inside a mapping made by [`map_anon`], and its contents
/// must be garbage to everyone (a freed stack).
pub(crate) unsafe fn release_pages(addr: usize, len: usize) {
    // SAFETY: the caller guarantees nobody needs the contents; the mapping stays valid.
    let rc = unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED) };
    // DONTNEED on our own private anonymous mapping cannot fail; if it somehow did, the pages
    // would just stay resident, which is not worth crashing for.
    debug_assert_eq!(
        rc,
        0,
        "MADV_DONTNEED failed: {}",
        io::Error::last_os_error()
    );
}

/// `madvise(advice)` on each of `ranges` (at most 1024) with one `process_madvise(2)` call
/// on this process (Linux >= 6.13 accepts any advice there, and batches the TLB flushes of
/// `MADV_DONTNEED`). `true` if the kernel did them all.
///
/// # Safety
/// Each range must be one `advice` may be given for (the callers' contracts).
unsafe fn process_madvise_self(ranges: &[(usize, usize)], advice: libc::c_int) -> bool {
    let Some(fd) = self_pidfd() else {
        return false;
    };
    let iov: Vec<libc::iovec> = ranges
        .iter()
        .map(|&(addr, len)| libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: len,
        })
        .collect();
    // SAFETY: `iov` describes ranges the caller vouches for; the kernel only reads it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_process_madvise,
            fd,
            iov.as_ptr(),
            iov.len(),
            advice,
            0,
        )
    };
    rc >= 0 && rc as usize == ranges.iter().map(|r| r.1).sum::<usize>()
}

/// [`release_pages`] for many ranges at once: one `process_madvise` call per 1024 ranges,
/// falling back to one `madvise` per range on older kernels.
///
/// # Safety
/// Each range as for [`release_pages`].
pub(crate) unsafe fn release_pages_batch(ranges: &[(usize, usize)]) {
    for chunk in ranges.chunks(1024) {
        // SAFETY: forwarded contract.
        if !unsafe { process_madvise_self(chunk, libc::MADV_DONTNEED) } {
            for &(addr, len) in chunk {
                // SAFETY: forwarded contract (a range partly released already is fine).
                unsafe { release_pages(addr, len) };
            }
        }
    }
}

/// Installs `MADV_GUARD_INSTALL` guards of `len` bytes at each of `addrs` (at most 1024) with
/// one `process_madvise` call. `false` if the kernel did not do them all (an older kernel, or
/// an error): the caller then installs them one by one, which reports the error properly.
///
/// # Safety
/// Each range as for [`install_guard`].
pub(super) unsafe fn install_guards_batch(addrs: &[usize], len: usize) -> bool {
    let ranges: Vec<(usize, usize)> = addrs.iter().map(|&a| (a, len)).collect();
    // SAFETY: forwarded contract.
    unsafe { process_madvise_self(&ranges, MADV_GUARD_INSTALL) }
}

/// A pidfd of this process, for `process_madvise` (`None` on kernels without pidfds).
fn self_pidfd() -> Option<libc::c_int> {
    static PIDFD: std::sync::OnceLock<Option<libc::c_int>> = std::sync::OnceLock::new();
    *PIDFD.get_or_init(|| {
        // SAFETY: pidfd_open(getpid(), 0) has no memory-safety preconditions.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
        (fd >= 0).then_some(fd as libc::c_int)
    })
}

/// The current `vm.max_map_count` (`/proc/sys/vm/max_map_count`), if readable.
pub(crate) fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// How many memory mappings this process has (lines of `/proc/self/maps`), if readable.
///
/// Streams the file through a stack buffer: this runs when the process is at its map limit,
/// where reading the whole file into a heap buffer (megabytes, so a fresh mmap) would fail.
pub(crate) fn map_count() -> Option<usize> {
    use std::io::Read;
    let mut file = std::fs::File::open("/proc/self/maps").ok()?;
    let mut buf = [0u8; 4096];
    let mut lines = 0;
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Some(lines),
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// This process's address-space limit (`RLIMIT_AS`, `ulimit -v`), `None` when unlimited.
fn address_space_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct through a valid pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) };
    if rc != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
        None
    } else {
        Some(lim.rlim_cur)
    }
}

/// `vm.max_map_count = 65530 (this process has 1234 maps)`.
fn map_limit_clause() -> String {
    let limit = max_map_count().map_or_else(|| "unknown".to_owned(), |v| v.to_string());
    match map_count() {
        Some(n) => format!("vm.max_map_count = {limit} (this process has {n} maps)"),
        None => format!("vm.max_map_count = {limit}"),
    }
}

const RAISE_MAP_LIMIT: &str = "raise it with `sudo sysctl -w vm.max_map_count=1048576` \
    (persist it in /etc/sysctl.d/)";

/// The error for `mmap` of a slab failing with `ENOMEM`.
fn slab_enomem_error(len: usize) -> io::Error {
    let as_limit = match address_space_limit() {
        Some(v) => format!(
            "its address-space limit is RLIMIT_AS = {v} bytes; raise it with `ulimit -v unlimited`"
        ),
        None => "its address-space limit (RLIMIT_AS) is unlimited".to_owned(),
    };
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "gmp: cannot reserve {len} bytes of address space for goroutine stacks: \
             the process hit the memory-map limit or its address-space limit \
             (mmap: out of memory). The memory-map limit is {}; {RAISE_MAP_LIMIT}. \
             And {as_limit}.",
            map_limit_clause()
        ),
    )
}

/// The error for installing a guard page failing with `ENOMEM`.
fn guard_enomem_error(kind: GuardKind) -> io::Error {
    let msg = match kind {
        GuardKind::Mprotect => format!(
            "gmp: cannot add a guard page to a goroutine stack: the process hit the memory-map \
             limit, {}; {RAISE_MAP_LIMIT}. {MPROTECT_NOTE}",
            map_limit_clause()
        ),
        GuardKind::Madvise => format!(
            "gmp: cannot add a guard page to a goroutine stack: madvise(MADV_GUARD_INSTALL) is \
             out of memory for page tables; the process may have hit the memory-map limit, {}; \
             {RAISE_MAP_LIMIT}.",
            map_limit_clause()
        ),
    };
    io::Error::new(io::ErrorKind::OutOfMemory, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_sane() {
        let p = page_size();
        assert!(p >= 4096 && p.is_power_of_two());
        assert_eq!(page_size(), p);
    }

    #[test]
    fn this_kernel_has_guard_markers() {
        // The machine this project targets runs Linux 6.18; if this fails the pool still
        // works (mprotect fallback) but the 1M-goroutine target does not.
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut parts = release.trim().split(['.', '-']);
        let major: u32 = parts.next().unwrap().parse().unwrap();
        let minor: u32 = parts.next().unwrap().parse().unwrap();
        let expected = if (major, minor) >= (6, 13) {
            GuardKind::Madvise
        } else {
            GuardKind::Mprotect
        };
        assert_eq!(detect_guard_kind(), expected, "kernel {}", release.trim());
    }

    #[test]
    fn map_limit_is_read() {
        assert!(max_map_count().unwrap() > 0);
        assert!(map_count().unwrap() > 0);
        let e = guard_enomem_error(GuardKind::Mprotect).to_string();
        assert!(e.contains("vm.max_map_count = "), "{e}");
        assert!(e.contains("sysctl -w vm.max_map_count="), "{e}");
    }
}
