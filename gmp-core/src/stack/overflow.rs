//! Goroutine stack-overflow reports: a SIGSEGV/SIGBUS handler on an alternate signal stack.
//!
//! When a goroutine overflows, it touches the guard page below its stack and the kernel
//! raises SIGSEGV on the thread (M) running it. The handler must run on another stack (the
//! goroutine's is full), so it is installed with `SA_ONSTACK` and every M has an alternate
//! signal stack ([`ensure_altstack`]). The handler compares the fault address with the guard
//! page of the goroutine this thread is running, a record the scheduler keeps up to date in
//! a thread-local ([`set_running`]). On a match it writes
//! `goroutine N overflowed its stack (S bytes)` to stderr and aborts. Any other fault goes to
//! the handler that was installed before ours (Rust's std reports *thread* stack overflows
//! that way), or to the default action.
//!
//! Everything the handler does is async-signal-safe: one read of a const-initialised,
//! destructor-free thread-local, integer formatting into a stack buffer, `write(2)`,
//! `abort()`, `sigaction`, `pthread_sigmask`, `raise`.

use std::cell::UnsafeCell;
use std::cell::{Cell, RefCell};
use std::io;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{compiler_fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

use super::sys;

/// What the overflow handler knows about the goroutine running on a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RunningStack {
    /// The goroutine's id, printed in the report.
    pub(crate) goid: u64,
    /// Low end of its stack's guard page (inclusive).
    pub(crate) guard_lo: usize,
    /// High end of its stack's guard page (exclusive): the lowest usable stack address.
    pub(crate) guard_hi: usize,
    /// Usable bytes of its stack, printed in the report.
    pub(crate) size: usize,
}

// Read from the signal handler: const-initialised and without a destructor, so an access is
// a plain TLS load with no lazy registration (std's `#[thread_local] static` path). Not taken
// from the loom facade on purpose: this is OS state, not a protocol to model.
std::thread_local! {
    static RUNNING: Cell<Option<RunningStack>> = const { Cell::new(None) };
}

/// Records which goroutine (and stack) this thread runs from now on; `None` when it runs
/// none. The scheduler calls it just before resuming a goroutine and after it suspends.
///
/// `#[inline(never)]`: a goroutine may migrate between threads, and LLVM may cache a TLS
/// address across a stack switch inside one function (rust-peers.md §2.4).
#[inline(never)]
pub(crate) fn set_running(info: Option<RunningStack>) {
    RUNNING.with(|r| r.set(info));
    // The handler runs on this thread, between two instructions of it: keep the store from
    // being moved past whatever the caller does next (such as resuming the goroutine).
    compiler_fence(Ordering::SeqCst);
}

/// The goroutine this thread runs, as last recorded by [`set_running`].
#[inline(never)]
pub(crate) fn running() -> Option<RunningStack> {
    compiler_fence(Ordering::SeqCst);
    RUNNING.with(Cell::get)
}

/// The dispositions of SIGSEGV and SIGBUS before ours, written once before our handler is
/// installed, read-only afterwards (also from the handler).
struct PrevActions(UnsafeCell<[MaybeUninit<libc::sigaction>; 2]>);

// SAFETY: written only inside `INSTALL.call_once`, before `PREV_READY` is set and before our
// handler (its only other reader) is installed; read-only from then on.
unsafe impl Sync for PrevActions {}

static PREV: PrevActions = PrevActions(UnsafeCell::new([MaybeUninit::uninit(); 2]));
static PREV_READY: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

fn prev_index(sig: libc::c_int) -> usize {
    if sig == libc::SIGSEGV {
        0
    } else {
        1
    }
}

/// Installs the stack-overflow handler for SIGSEGV and SIGBUS, process-wide. Idempotent: the
/// first call installs it, later calls do nothing. The handlers in place before the first call
/// (std's) still see every fault that is not a goroutine overflow.
///
/// The handler runs on the alternate signal stack; call [`ensure_altstack`] on every thread
/// that runs goroutines.
pub(crate) fn install_overflow_handler() {
    INSTALL.call_once(|| {
        for sig in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: sigaction with a null new action only reads the disposition into
            // `old`; `PREV` is written here only, before our handler can run (see PrevActions).
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                let rc = libc::sigaction(sig, ptr::null(), &mut old);
                assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
                (*PREV.0.get())[prev_index(sig)].write(old);
            }
        }
        PREV_READY.store(true, Ordering::Release);
        for sig in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: installs a handler that is async-signal-safe (see `on_fault`); the
            // struct is fully initialised (zeroed, then the handler, flags and empty mask).
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_fault as *const () as libc::sighandler_t;
                act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut act.sa_mask);
                let rc = libc::sigaction(sig, &act, ptr::null_mut());
                assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
            }
        }
    });
}

/// The SIGSEGV/SIGBUS handler.
extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo; si_addr is the faulting
    // address for SIGSEGV/SIGBUS (and meaningless but readable for a signal sent by kill).
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(r) = running() {
        if addr >= r.guard_lo && addr < r.guard_hi {
            report_overflow(r.goid, r.size);
        }
    }
    // SAFETY: called from the handler of `sig` with the kernel's own arguments.
    unsafe { chain(sig, info, ctx) }
}

/// Writes `goroutine N overflowed its stack (S bytes)` to stderr and aborts.
fn report_overflow(goid: u64, size: usize) -> ! {
    let mut buf = [0u8; 128];
    let n = format_overflow(&mut buf, goid, size);
    write_stderr(&buf[..n]);
    // SAFETY: abort is async-signal-safe and never returns.
    unsafe { libc::abort() }
}

/// Formats the report into `buf` without allocating; returns its length.
fn format_overflow(buf: &mut [u8; 128], goid: u64, size: usize) -> usize {
    let mut w = StackWriter { buf, len: 0 };
    w.push(b"goroutine ");
    w.push_u64(goid);
    w.push(b" overflowed its stack (");
    w.push_u64(size as u64);
    w.push(b" bytes)\n");
    w.len
}

/// A byte writer over a fixed buffer (128 bytes hold the longest report, 79 bytes).
struct StackWriter<'a> {
    buf: &'a mut [u8; 128],
    len: usize,
}

impl StackWriter<'_> {
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn push_u64(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// `write(2)` all of `bytes` to fd 2, retrying on EINTR and short writes; gives up on errors.
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writes from a valid buffer of `bytes.len()` bytes; write is async-signal-safe.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = &bytes[n as usize..];
        } else if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        } else {
            return;
        }
    }
}

/// Sets `sig` back to its default action.
fn reset_default(sig: libc::c_int) {
    // SAFETY: a zeroed sigaction is SIG_DFL with no flags and an empty mask.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &dfl, ptr::null_mut());
    }
}

/// Hands a fault that is not a goroutine overflow to the disposition that preceded ours.
///
/// - a handler with `SA_SIGINFO`: called with our arguments;
/// - a plain handler: called with the signal number;
/// - `SIG_DFL`: the disposition is reset to the default and we return: the faulting
///   instruction runs again and the kernel applies the default action (core dump and death).
///   A signal sent with `kill`/`raise` is not re-executed, so it is raised again;
/// - `SIG_IGN`: a signal sent by a process stays ignored; a real fault cannot be ignored (the
///   kernel forces the default action on a re-fault anyway), so it is treated as `SIG_DFL`.
///
/// The previous handler runs with its own `sa_mask` added to the blocked set, and a
/// `SA_RESETHAND` handler resets the disposition first, as the kernel would have done.
///
/// # Safety
/// Must be called from the handler of `sig`, with the kernel's arguments.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    if !PREV_READY.load(Ordering::Acquire) {
        reset_default(sig);
        return;
    }
    // SAFETY: PREV_READY is set, so the entry was written and is never written again.
    let prev: libc::sigaction = unsafe { (*PREV.0.get())[prev_index(sig)].assume_init() };
    // SAFETY: `info` is the kernel's siginfo (see on_fault).
    let sent_by_process = unsafe { (*info).si_code } <= 0; // SI_USER, SI_QUEUE, SI_TKILL...
    let handler = prev.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        if handler == libc::SIG_IGN && sent_by_process {
            return;
        }
        reset_default(sig);
        if sent_by_process {
            // SAFETY: raise is async-signal-safe; `sig` is blocked while we run, so it is
            // delivered (to the default action) when the handler returns.
            unsafe { libc::raise(sig) };
        }
        return;
    }
    if prev.sa_flags & libc::SA_RESETHAND != 0 {
        reset_default(sig);
    }
    // SAFETY: (1) pthread_sigmask is async-signal-safe and both sets are valid;
    // (2) `handler` is the function the program installed for `sig` before us, with the
    // signature its SA_SIGINFO flag promises, so calling it as the kernel would is sound.
    unsafe {
        let mut saved: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &prev.sa_mask, &mut saved);
        if prev.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(handler);
            f(sig, info, ctx);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
            f(sig);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &saved, ptr::null_mut());
    }
}

/// Alternate signal stacks made by [`ensure_altstack`] and not yet freed (for tests).
static LIVE_ALTSTACKS: AtomicUsize = AtomicUsize::new(0);

/// Bytes of alternate signal stack [`ensure_altstack`] maps (plus a guard page): 64 KiB,
/// generous because the chained handler (std's) runs on it too; committed only on use.
const ALTSTACK_SIZE: usize = 64 * 1024;

/// Smallest existing alternate stack we accept instead of making our own: the kernel's
/// minimum for a signal frame on this CPU (`AT_MINSIGSTKSZ`), which is what std gives its
/// threads. That minimum assumes every register file the CPU has is live in the frame (12 KiB
/// on a CPU with AMX tiles); a process that has not enabled AMX (`arch_prctl`) gets a frame of
/// 1–3.5 KiB, which leaves room for our handler (a few hundred bytes) and std's.
fn min_altstack_size() -> usize {
    // SAFETY: getauxval has no preconditions; it returns 0 for an unknown entry.
    let kernel_min = unsafe { libc::getauxval(libc::AT_MINSIGSTKSZ) } as usize;
    kernel_min.max(libc::MINSIGSTKSZ)
}

/// An alternate signal stack this module mapped for its thread; freed at thread exit.
struct AltStack {
    /// Start of the mapping (the guard page).
    map: usize,
    /// Length of the mapping, guard included.
    len: usize,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let sp = self.map + sys::page_size();
        // SAFETY: (1) sigaltstack reads/writes valid stack_t structs; we disable the
        // alternate stack only if it is still ours (std's own thread cleanup may already
        // have disabled it); (2) once disabled, no signal can run on the mapping, which is
        // ours, so it can be unmapped.
        unsafe {
            let mut cur: libc::stack_t = std::mem::zeroed();
            libc::sigaltstack(ptr::null(), &mut cur);
            if cur.ss_flags & libc::SS_DISABLE == 0 && cur.ss_sp as usize == sp {
                let mut off: libc::stack_t = std::mem::zeroed();
                off.ss_flags = libc::SS_DISABLE;
                libc::sigaltstack(&off, ptr::null_mut());
            }
            sys::unmap(self.map, self.len);
        }
        LIVE_ALTSTACKS.fetch_sub(1, Ordering::Relaxed);
    }
}

std::thread_local! {
    static OWN_ALTSTACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// Makes sure the calling thread has an alternate signal stack big enough for the overflow
/// handler. Threads spawned by std already have one (std installs it for its own
/// stack-overflow report); then this only checks it. Otherwise (a thread created outside
/// std, or one whose alternate stack is too small) it maps a 64 KiB one with a guard page,
/// installs it, and frees it when the thread exits.
///
/// Errors: the mapping could not be made (see `StackPool::alloc` for the messages).
#[inline(never)]
pub(crate) fn ensure_altstack() -> io::Result<()> {
    // SAFETY: sigaltstack with a null new stack only reads the current one into `cur`.
    let cur = unsafe {
        let mut cur: libc::stack_t = std::mem::zeroed();
        libc::sigaltstack(ptr::null(), &mut cur);
        cur
    };
    // Running on it right now (called from a handler): it is in use, leave it alone.
    if cur.ss_flags & libc::SS_ONSTACK != 0
        || (cur.ss_flags & libc::SS_DISABLE == 0 && cur.ss_size >= min_altstack_size())
    {
        return Ok(());
    }
    let page = sys::page_size();
    let size = ALTSTACK_SIZE.max(min_altstack_size().div_ceil(page) * page);
    let len = size + page;
    let map = sys::map_anon(len)?;
    let alt = AltStack { map, len };
    LIVE_ALTSTACKS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the first page of our fresh mapping holds nothing.
    unsafe { sys::install_guard(sys::detect_guard_kind(), map, page)? };
    // SAFETY: installs `map + page .. map + len`, a mapping this thread owns (kept alive in
    // OWN_ALTSTACK until the thread exits, where `AltStack::drop` disables it first).
    let rc = unsafe {
        let new = libc::stack_t {
            ss_sp: (map + page) as *mut libc::c_void,
            ss_flags: 0,
            ss_size: size,
        };
        libc::sigaltstack(&new, ptr::null_mut())
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // Replaces (and frees) an earlier one of ours only if that one was somehow disabled.
    OWN_ALTSTACK.with(|own| *own.borrow_mut() = Some(alt));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use corosensei::{Coroutine, Yielder};

    use super::super::tests::child;
    use super::super::{StackPool, DEFAULT_STACK_SIZE};
    use super::*;

    fn test_path(name: &str) -> String {
        let module = module_path!();
        let module = module.split_once("::").map_or(module, |(_, rest)| rest);
        format!("{module}::{name}")
    }

    fn query_altstack() -> libc::stack_t {
        // SAFETY: sigaltstack with a null new stack only reads the current one.
        unsafe {
            let mut cur: libc::stack_t = std::mem::zeroed();
            assert_eq!(libc::sigaltstack(ptr::null(), &mut cur), 0);
            cur
        }
    }

    #[test]
    fn report_is_formatted_by_hand() {
        let mut buf = [0u8; 128];
        let n = format_overflow(&mut buf, 7, 65536);
        assert_eq!(
            &buf[..n],
            b"goroutine 7 overflowed its stack (65536 bytes)\n"
        );
        let n = format_overflow(&mut buf, 0, 0);
        assert_eq!(&buf[..n], b"goroutine 0 overflowed its stack (0 bytes)\n");
        let n = format_overflow(&mut buf, u64::MAX, usize::MAX);
        let expected = format!("goroutine {0} overflowed its stack ({0} bytes)\n", u64::MAX);
        assert_eq!(&buf[..n], expected.as_bytes());
    }

    #[test]
    fn running_record_is_per_thread() {
        let r = RunningStack {
            goid: 3,
            guard_lo: 0x1000,
            guard_hi: 0x2000,
            size: 4096,
        };
        set_running(Some(r));
        assert_eq!(running(), Some(r));
        std::thread::spawn(|| assert_eq!(running(), None))
            .join()
            .unwrap();
        set_running(None);
        assert_eq!(running(), None);
    }

    /// Recurses until the stack overflows: `FRAME` bytes of locals per call.
    #[inline(never)]
    fn recurse<const FRAME: usize>(depth: u64) -> u64 {
        let mut frame = [0u8; FRAME];
        frame[depth as usize % FRAME] = depth as u8;
        std::hint::black_box(&mut frame);
        if depth == u64::MAX {
            return 0;
        }
        recurse::<FRAME>(depth + 1) + u64::from(std::hint::black_box(frame[0]))
    }

    /// A goroutine (id 7) that overflows its 64 KiB stack, run on the calling thread.
    fn overflow_goroutine(frame: &str) {
        install_overflow_handler();
        ensure_altstack().unwrap();
        let pool = StackPool::new(DEFAULT_STACK_SIZE);
        let stack = pool.alloc().unwrap();
        set_running(Some(stack.running(7)));
        let big = frame == "big";
        let mut co = Coroutine::with_stack(stack, move |_: &Yielder<(), ()>, ()| {
            if big {
                recurse::<20_000>(0)
            } else {
                recurse::<256>(0)
            }
        });
        co.resume(());
        eprintln!("NO OVERFLOW");
        std::process::exit(0);
    }

    extern "C" fn raw_thread_overflow(_: *mut libc::c_void) -> *mut libc::c_void {
        assert!(
            query_altstack().ss_flags & libc::SS_DISABLE != 0,
            "raw thread has an altstack"
        );
        overflow_goroutine("small");
        ptr::null_mut()
    }

    #[test]
    fn goroutine_overflow_aborts_with_its_id_and_size() {
        if let Some(mode) = child::mode() {
            match mode.as_str() {
                "small" | "big" => overflow_goroutine(&mode),
                "raw-thread" => {
                    // A thread std did not make: no alternate stack until ensure_altstack.
                    let mut t: libc::pthread_t = 0;
                    // SAFETY: starts a thread running an extern "C" fn with a null argument
                    // and waits for it; the default attributes give it an 8 MiB stack.
                    unsafe {
                        let rc = libc::pthread_create(
                            &mut t,
                            ptr::null(),
                            raw_thread_overflow,
                            ptr::null_mut(),
                        );
                        assert_eq!(rc, 0);
                        libc::pthread_join(t, ptr::null_mut());
                    }
                }
                other => panic!("unknown mode {other}"),
            }
            return;
        }
        for mode in ["small", "big", "raw-thread"] {
            let out = child::run(
                &test_path("goroutine_overflow_aborts_with_its_id_and_size"),
                mode,
            );
            out.assert_signal(Some(libc::SIGABRT), mode);
            assert!(
                out.stderr
                    .contains("goroutine 7 overflowed its stack (65536 bytes)\n"),
                "{mode}: {}",
                out.stderr
            );
            assert!(
                !out.stderr.contains("NO OVERFLOW"),
                "{mode}: {}",
                out.stderr
            );
        }
    }

    static EXPECTED_ADDR: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn plain_handler(_sig: libc::c_int) {
        let msg = b"plain handler ran\n";
        // SAFETY: write and _exit are async-signal-safe.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(42);
        }
    }

    extern "C" fn siginfo_handler(
        _sig: libc::c_int,
        info: *mut libc::siginfo_t,
        _ctx: *mut libc::c_void,
    ) {
        // SAFETY: the kernel's siginfo for a SIGSEGV; _exit is async-signal-safe.
        unsafe {
            let addr = (*info).si_addr() as usize;
            libc::_exit(if addr == EXPECTED_ADDR.load(Ordering::Relaxed) {
                43
            } else {
                44
            });
        }
    }

    /// Installs `handler` for SIGSEGV (`SA_SIGINFO` if `siginfo`), or SIG_DFL for 0.
    fn set_sigsegv(handler: libc::sighandler_t, siginfo: bool) {
        // SAFETY: installs a handler that only calls async-signal-safe functions (or SIG_DFL).
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = handler;
            act.sa_flags = if siginfo {
                libc::SA_SIGINFO | libc::SA_ONSTACK
            } else {
                0
            };
            libc::sigemptyset(&mut act.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGSEGV, &act, ptr::null_mut()), 0);
        }
    }

    /// Faults on the guard page of a stack that is not the running goroutine's (goroutine 9
    /// runs on another stack), so the fault is not an overflow and must be chained.
    fn foreign_guard_fault() {
        let pool = StackPool::new(DEFAULT_STACK_SIZE);
        let running_stack = pool.alloc().unwrap();
        let other = pool.alloc().unwrap();
        set_running(Some(running_stack.running(9)));
        let addr = other.guard_range().0 + 16;
        EXPECTED_ADDR.store(addr, Ordering::Relaxed);
        // SAFETY: deliberately not safe: the write faults and the chained handler decides
        // this child's fate.
        unsafe { ptr::write_volatile(addr as *mut u8, 1) };
        eprintln!("SURVIVED THE FAULT");
        std::process::exit(0);
    }

    #[test]
    fn other_faults_go_to_the_previous_handler() {
        if let Some(mode) = child::mode() {
            match mode.as_str() {
                // std's handler (SA_SIGINFO) is the one in place at startup.
                "std" => {}
                "dfl" => set_sigsegv(libc::SIG_DFL, false),
                "plain" => set_sigsegv(plain_handler as *const () as libc::sighandler_t, false),
                "siginfo" => set_sigsegv(siginfo_handler as *const () as libc::sighandler_t, true),
                "dfl-raise" => {
                    set_sigsegv(libc::SIG_DFL, false);
                    install_overflow_handler();
                    // SAFETY: raise sends SIGSEGV to this thread; the chained default action
                    // must kill the process even though no instruction faulted.
                    unsafe { libc::raise(libc::SIGSEGV) };
                    eprintln!("SURVIVED THE FAULT");
                    std::process::exit(0);
                }
                "std-thread-overflow" => {
                    install_overflow_handler();
                    std::thread::Builder::new()
                        .name("deep".into())
                        .stack_size(256 * 1024)
                        .spawn(|| recurse::<256>(0))
                        .unwrap()
                        .join()
                        .unwrap();
                    eprintln!("SURVIVED THE FAULT");
                    std::process::exit(0);
                }
                other => panic!("unknown mode {other}"),
            }
            install_overflow_handler();
            install_overflow_handler(); // idempotent: must not chain to itself
            foreign_guard_fault();
            return;
        }
        let cases: [(&str, Option<i32>, Option<i32>, &str); 6] = [
            ("std", Some(libc::SIGSEGV), None, ""),
            ("dfl", Some(libc::SIGSEGV), None, ""),
            ("dfl-raise", Some(libc::SIGSEGV), None, ""),
            ("plain", None, Some(42), "plain handler ran"),
            ("siginfo", None, Some(43), ""),
            (
                "std-thread-overflow",
                Some(libc::SIGABRT),
                None,
                "has overflowed its stack",
            ),
        ];
        for (mode, signal, code, needle) in cases {
            let out = child::run(&test_path("other_faults_go_to_the_previous_handler"), mode);
            out.assert_signal(signal, mode);
            assert_eq!(
                out.status.code(),
                code,
                "{mode}: {:?}\n{}",
                out.status,
                out.stderr
            );
            assert!(out.stderr.contains(needle), "{mode}: {}", out.stderr);
            assert!(
                !out.stderr.contains("overflowed its stack ("),
                "{mode}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains("SURVIVED"), "{mode}: {}", out.stderr);
        }
    }

    extern "C" fn raw_thread_altstack(arg: *mut libc::c_void) -> *mut libc::c_void {
        // SAFETY: `arg` points to the `[usize; 4]` the spawning test waits on.
        let out = unsafe { &mut *arg.cast::<[usize; 4]>() };
        out[0] = usize::from(query_altstack().ss_flags & libc::SS_DISABLE != 0);
        ensure_altstack().unwrap();
        let alt = query_altstack();
        out[1] = usize::from(alt.ss_flags & libc::SS_DISABLE == 0);
        out[2] = alt.ss_size;
        ensure_altstack().unwrap();
        out[3] = usize::from(query_altstack().ss_sp == alt.ss_sp);
        ptr::null_mut()
    }

    #[test]
    fn ensure_altstack_installs_one_where_missing_and_frees_it_at_exit() {
        let live_before = LIVE_ALTSTACKS.load(Ordering::Relaxed);
        let mut out = [0usize; 4];
        let mut t: libc::pthread_t = 0;
        // SAFETY: the thread writes into `out`, which outlives it (we join before reading).
        unsafe {
            let arg = (&mut out as *mut [usize; 4]).cast();
            assert_eq!(
                libc::pthread_create(&mut t, ptr::null(), raw_thread_altstack, arg),
                0
            );
            assert_eq!(libc::pthread_join(t, ptr::null_mut()), 0);
        }
        assert_eq!(
            out[0], 1,
            "a raw pthread starts without an alternate signal stack"
        );
        assert_eq!(out[1], 1, "ensure_altstack installed one");
        assert!(out[2] >= ALTSTACK_SIZE, "size {}", out[2]);
        assert_eq!(out[3], 1, "a second call keeps the first stack");
        assert_eq!(
            LIVE_ALTSTACKS.load(Ordering::Relaxed),
            live_before,
            "freed at thread exit"
        );
    }

    #[test]
    fn ensure_altstack_keeps_the_one_std_made() {
        std::thread::spawn(|| {
            let std_alt = query_altstack();
            assert_eq!(
                std_alt.ss_flags & libc::SS_DISABLE,
                0,
                "std gives its threads one"
            );
            ensure_altstack().unwrap();
            assert_eq!(query_altstack().ss_sp, std_alt.ss_sp);
            OWN_ALTSTACK.with(|own| assert!(own.borrow().is_none()));
        })
        .join()
        .unwrap();
    }
}
