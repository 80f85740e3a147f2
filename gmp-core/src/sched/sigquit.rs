//! `Builder::dump_on_sigquit`: the goroutine dump on SIGQUIT (Ctrl-\), the JVM's thread dump.
//! Go prints every goroutine's stack and exits with status 2; a library must not end the
//! process, so gmp prints and the program goes on.
//!
//! # The protocol
//!
//! A signal handler may only do async-signal-safe things, and `dump` allocates and locks.
//! So the handler writes one byte to a pipe (`write` is async-signal-safe) and returns; a
//! thread of its own, `gmp-sigquit`, blocked reading that pipe, prints the dump of every
//! runtime that asked for it (weak references: a dropped runtime is skipped and forgotten).
//! The handler and the thread are installed once per process, by the first runtime built
//! with the option; the previous SIGQUIT disposition is replaced (documented on the option).

use super::Sched;
use std::sync::{Mutex, Once, OnceLock, Weak};

/// The runtimes that asked for the dump.
static WANTED: Mutex<Vec<Weak<Sched>>> = Mutex::new(Vec::new());
/// The pipe's write end, for the handler (-1 until installed).
static PIPE_WR: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);
/// Why the installation failed, if it did (reported to every runtime that asks).
static INSTALL_ERROR: OnceLock<String> = OnceLock::new();

/// Registers runtime `s` for the dump on SIGQUIT, installing the handler and the thread the
/// first time. An installation failure is printed once on stderr, not fatal.
pub(crate) fn dump_on_sigquit(s: &std::sync::Arc<Sched>) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if let Err(e) = install() {
            let _ = INSTALL_ERROR.set(e.to_string());
            eprintln!("gmp: cannot install the SIGQUIT dump ({e}): Ctrl-\\ keeps its default");
        }
    });
    let mut wanted = WANTED.lock().unwrap_or_else(|e| e.into_inner());
    wanted.retain(|w| w.strong_count() > 0);
    wanted.push(std::sync::Arc::downgrade(s));
}

extern "C" fn on_sigquit(_: libc::c_int) {
    let fd = PIPE_WR.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: write(2) is async-signal-safe; the fd is our pipe's, open for the process's
        // life; a full pipe (dumps already pending) just drops this one (O_NONBLOCK).
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

fn install() -> std::io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);
    // The reader blocks: clear O_NONBLOCK on its end.
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let fl = libc::fcntl(rd, libc::F_GETFL);
        libc::fcntl(rd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
    }
    PIPE_WR.store(wr, std::sync::atomic::Ordering::Relaxed);
    std::thread::Builder::new()
        .name("gmp-sigquit".into())
        .spawn(move || loop {
            let mut b = 0u8;
            // SAFETY: read(2) into a one-byte buffer we own, from our pipe's read end.
            let n = unsafe { libc::read(rd, (&mut b as *mut u8).cast(), 1) };
            if n == 1 {
                print_dumps();
            } else if n < 0
                && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                return;
            }
        })?;
    // SAFETY: a zeroed sigaction with our handler; sa_mask empty; SA_RESTART so that blocking
    // calls interrupted by Ctrl-\ resume instead of failing with EINTR.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigquit as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGQUIT, &sa, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The `gmp-sigquit` thread's work: the dump of every live runtime that asked, on stderr.
fn print_dumps() {
    let live: Vec<std::sync::Arc<Sched>> = WANTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for s in live {
        let d = super::dump::dump(&s);
        eprintln!("SIGQUIT: goroutine dump of runtime {}\n\n{d}", s.id);
    }
}
