//! `Runtime`, `Builder` and `run`: building a scheduler, running a main goroutine on it, and
//! tearing it down.

use crate::goroutine::{spawn_on, JoinError, JoinHandle};
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;
use crate::park::{self, WaitReason};
use crate::sched::{Config, Sched};
use std::fmt;
use std::io;
use std::panic::Location;
use std::sync::OnceLock;
use std::time::Duration;

/// What a panic that nobody joins does (Go crashes the program; std threads print it and go
/// on). A goroutine's panic is *unhandled* when its [`JoinHandle`] was dropped before the
/// panic, or is dropped later without [`join`](JoinHandle::join); a panic in a drop the runtime
/// runs for a goroutine (its result, its panic payload, the captures of one cancelled before
/// it ran) counts too. Either way the panic is printed when it happens, and a later deadlock
/// report names it (`goroutine 7 panicked earlier: boom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnhandledPanic {
    /// The runtime goes on (std's thread semantics). The default of [`Runtime::builder`].
    Ignore,
    /// Go's crash: every goroutine is cancelled and the `run` in progress panics with
    /// `goroutine 7 panicked: boom`. The free function [`run`] uses this.
    ShutdownRuntime,
}

/// Configures a [`Runtime`] (Go: `GOMAXPROCS`, stack size, deadlock detection).
///
/// ```
/// let rt = gmp_core::Runtime::builder().procs(2).build().unwrap();
/// assert_eq!(rt.run(gmp_core::gomaxprocs), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    procs: Option<usize>,
    stack_size: usize,
    deadlock_detection: bool,
    max_threads: usize,
    exit_grace: Duration,
    unhandled_panic: UnhandledPanic,
    hog_warning: Option<Duration>,
    dump_on_sigquit: bool,
    leak_report: bool,
    /// A synctest bubble (`synctest::test` only).
    bubble: bool,
}

impl Builder {
    /// The number of Ps (Go's `GOMAXPROCS`): how many goroutines run in parallel. Defaults to
    /// the number of cores. 0 is an error at [`build`](Builder::build).
    pub fn procs(mut self, n: usize) -> Self {
        self.procs = Some(n);
        self
    }

    /// The stack size of each goroutine, rounded up to whole pages (default 64 KiB; memory is
    /// committed only as it is touched). Below the minimum is an error at `build`.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Turns the deadlock detector on or off (default on). Turn it off when plain threads wake
    /// goroutines: the detector cannot see them and could report a deadlock they would end.
    pub fn deadlock_detection(mut self, on: bool) -> Self {
        self.deadlock_detection = on;
        self
    }

    /// The most Ms (OS threads running goroutines) the runtime may start, default 10,000 (Go's
    /// `debug.SetMaxThreads`). Ms beyond the Ps are needed only while goroutines block in
    /// [`syscall`](crate::syscall); a program that needs more than the limit fails as Go's does:
    /// `run` panics with "program exceeds the N-thread limit". Below `procs` is an error at
    /// `build`.
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n;
        self
    }

    /// How long the end of the runtime waits for its goroutines, default 100 ms. When `run`'s
    /// main goroutine returns, or the `Runtime` is dropped, every other goroutine is cancelled
    /// at its next scheduling point and unwound (its drops run). Those that have not ended
    /// after `d` (a loop with no gmp call, a read blocked inside [`syscall`](crate::syscall),
    /// plain blocking I/O) are abandoned, as Go's exit abandons them: their threads are
    /// detached, never joined, their drops do not run, and each gets one line on stderr:
    /// `gmp: goroutine 7 [syscall] abandoned at exit`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = gmp_core::Runtime::builder()
    ///     .exit_grace(Duration::from_millis(20))
    ///     .build()
    ///     .unwrap();
    /// rt.go(|| loop {
    ///     std::hint::spin_loop(); // never reaches a scheduling point
    /// });
    /// let t = Instant::now();
    /// drop(rt); // prints "gmp: goroutine 1 [running] abandoned at exit"
    /// assert!(t.elapsed() < Duration::from_secs(2));
    /// ```
    pub fn exit_grace(mut self, d: Duration) -> Self {
        self.exit_grace = d;
        self
    }

    /// What a goroutine's panic that nobody joins does (default [`UnhandledPanic::Ignore`]).
    ///
    /// ```
    /// use gmp_core::{Runtime, UnhandledPanic};
    /// let rt = Runtime::builder()
    ///     .unhandled_panic(UnhandledPanic::ShutdownRuntime)
    ///     .build()
    ///     .unwrap();
    /// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     rt.run(|| {
    ///         drop(gmp_core::go(|| panic!("boom"))); // detached: nobody will join it
    ///         gmp_core::sleep(std::time::Duration::from_secs(3600));
    ///     })
    /// }));
    /// let msg = *r.unwrap_err().downcast::<String>().unwrap();
    /// assert_eq!(msg, "goroutine 2 panicked: boom");
    /// ```
    pub fn unhandled_panic(mut self, what: UnhandledPanic) -> Self {
        self.unhandled_panic = what;
        self
    }

    /// After how long a goroutine that holds its P without reaching a scheduling point, while
    /// other goroutines wait for that P, gets a line on stderr from sysmon (default
    /// `Some(100 ms)`; `None` turns it off):
    ///
    /// ```text
    /// gmp: goroutine 7 has run 100 ms without a scheduling point (spawned at src/main.rs:12:5); other goroutines on its P are waiting
    /// ```
    ///
    /// gmp's preemption is cooperative: such a loop needs a [`gosched`](crate::gosched) or a
    /// [`checkpoint`](crate::park::checkpoint) now and then. Checked about every 10 ms.
    pub fn hog_warning(mut self, after: Option<Duration>) -> Self {
        self.hog_warning = after;
        self
    }

    /// Prints [`dump`](crate::dump) (every goroutine's stack) to stderr when the process gets
    /// SIGQUIT (Ctrl-\\ in a terminal), and lets the program go on: the JVM's thread dump.
    /// Default off. Go prints the same and exits with status 2, which a library must not do.
    ///
    /// The handler is process-wide and installed once (replacing SIGQUIT's disposition, whose
    /// default is to dump core); it writes a byte to a pipe, and a thread of its own prints the
    /// dump of every runtime built with this option that is still alive.
    pub fn dump_on_sigquit(mut self, on: bool) -> Self {
        self.dump_on_sigquit = on;
        self
    }

    /// Whether dropping the runtime (and so [`run`](crate::run) returning) prints the
    /// [leak report](crate::leaked) on stderr when some goroutines are leaked: parked on a
    /// channel, `WaitGroup` or `JoinHandle` that nothing can ever wake. Default on:
    ///
    /// ```text
    /// gmp: 2 goroutines leaked (parked where nothing can ever wake them):
    ///
    /// goroutine 9 [chan send (leaked)]:
    /// ...
    /// ```
    ///
    /// The check runs as the runtime is dropped, before its goroutines are cancelled, so a
    /// goroutine still running then is not in it. It shows the first 20 leaked goroutines with
    /// their stacks and counts the rest ([`leaked`](crate::leaked) lists every one).
    pub fn leak_report(mut self, on: bool) -> Self {
        self.leak_report = on;
        self
    }

    /// A synctest bubble: virtual time, deadlock detection on, no leak report (the bubble
    /// reports its own).
    pub(crate) fn bubble(mut self) -> Self {
        self.bubble = true;
        self.deadlock_detection = true;
        self.leak_report = false;
        self
    }

    /// Builds the runtime. Its Ms (threads) start on demand.
    ///
    /// # Errors
    /// `InvalidInput` for `procs(0)`, a stack size below the minimum, or `max_threads` below
    /// `procs`.
    pub fn build(self) -> io::Result<Runtime> {
        let procs = match self.procs {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "gmp: procs must be at least 1 (GOMAXPROCS)",
                ));
            }
            Some(n) => n,
            None => crate::sched::ncpu(),
        };
        let stack_size = crate::stack::validate_stack_size(self.stack_size)?;
        if self.max_threads < procs {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "gmp: max_threads ({}) must be at least procs ({procs}): each P needs an M",
                    self.max_threads
                ),
            ));
        }
        let sched = Sched::new(Config {
            procs,
            stack_size,
            deadlock_detection: self.deadlock_detection,
            max_threads: self.max_threads,
            exit_grace: self.exit_grace,
            unhandled_panic: self.unhandled_panic,
            hog_warning: self.hog_warning,
            bubble: self.bubble,
        });
        if self.dump_on_sigquit {
            crate::sched::sigquit::dump_on_sigquit(&sched);
        }
        Ok(Runtime {
            sched,
            leak_report: self.leak_report,
        })
    }
}

/// A goroutine runtime: Ps, Ms, and the goroutines on them.
///
/// Dropping it cancels the goroutines still alive (each is unwound at its next scheduling
/// point, so its drops run) and joins its threads; goroutines that have not ended within the
/// [exit grace](Builder::exit_grace) are abandoned with a line on stderr, and their threads are
/// not joined. Dropping it inside one of its own goroutines starts that shutdown and returns
/// at once; the goroutine is cancelled at its next scheduling point.
pub struct Runtime {
    sched: Arc<Sched>,
    /// `Builder::leak_report`.
    leak_report: bool,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("sched", &self.sched)
            .finish()
    }
}

impl Runtime {
    /// A runtime with default settings.
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().build()
    }

    /// Its scheduler.
    pub(crate) fn sched(&self) -> &Arc<Sched> {
        &self.sched
    }

    /// A [`Builder`] with default settings.
    pub fn builder() -> Builder {
        Builder {
            procs: None,
            stack_size: crate::stack::DEFAULT_STACK_SIZE,
            deadlock_detection: true,
            max_threads: crate::sched::DEFAULT_MAX_THREADS,
            exit_grace: crate::sched::DEFAULT_EXIT_GRACE,
            unhandled_panic: UnhandledPanic::Ignore,
            hog_warning: Some(crate::sched::DEFAULT_HOG_WARNING),
            dump_on_sigquit: false,
            leak_report: true,
            bubble: false,
        }
    }

    /// Spawns `f` as a goroutine of this runtime.
    #[track_caller]
    pub fn go<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_on(&self.sched, f, Location::caller(), false)
    }

    /// Runs `f` as a goroutine of this runtime and returns its value; other goroutines and the
    /// runtime stay alive. Parks a calling goroutine, blocks a calling thread.
    ///
    /// # Panics
    /// With `f`'s panic, if it panics; with "all goroutines are asleep - deadlock!" and the
    /// goroutine dump if every goroutine blocks with nothing left to wake one (deadlock
    /// detection on); with "no goroutines (main called runtime.Goexit) - deadlock!" if `f`
    /// called [`goexit`](crate::goexit) and every other goroutine finished.
    #[track_caller]
    pub fn run<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let h = spawn_on(&self.sched, f, Location::caller(), true);
        self.wait_main(h)
    }

    fn wait_main<T>(&self, h: JoinHandle<T>) -> T {
        let s = &self.sched;
        let me = park::current();
        s.run_waiters.lock().push(me.clone());
        struct Unregister<'a>(&'a Sched, park::Unparker);
        impl Drop for Unregister<'_> {
            fn drop(&mut self) {
                self.0.run_waiters.lock().retain(|u| !u.will_wake(&self.1));
            }
        }
        h.set_waiter(me.clone());
        let _guard = Unregister(s, me);
        while !h.is_finished() {
            if let Some(msg) = s.fatal.lock().clone() {
                panic!("{msg}");
            }
            park::park(WaitReason::Join);
        }
        match h.join() {
            Ok(v) => v,
            Err(JoinError::Panicked(p)) => std::panic::resume_unwind(p),
            Err(JoinError::Exited) => {
                // Go: main called Goexit; the program runs until the other goroutines are
                // done or deadlocked, then dies with checkdead's message.
                s.main_goexited.store(true, SeqCst);
                s.wake_all_ms();
                loop {
                    if let Some(msg) = s.fatal.lock().clone() {
                        panic!("{msg}");
                    }
                    park::park(WaitReason::Join);
                }
            }
            Err(JoinError::Cancelled) => match s.fatal.lock().clone() {
                // A fatal report (an unhandled panic) cancelled everything, main too: the
                // report is the news, not the cancellation.
                Some(msg) => panic!("{msg}"),
                None => panic!("gmp: the main goroutine was cancelled: its runtime shut down"),
            },
        }
    }

    /// The default runtime's scheduler, built on first use (one P per core, deadlock
    /// detection off, never dropped).
    pub(crate) fn default_sched() -> &'static Arc<Sched> {
        DEFAULT.get_or_init(|| {
            let rt = Runtime::builder()
                .deadlock_detection(false)
                .build()
                .expect("gmp: cannot build the default runtime");
            let s = rt.sched.clone();
            std::mem::forget(rt);
            s
        })
    }

    pub(crate) fn default_if_built() -> Option<&'static Arc<Sched>> {
        DEFAULT.get()
    }
}

static DEFAULT: OnceLock<Arc<Sched>> = OnceLock::new();

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.leak_report {
            report_leaks(&self.sched);
        }
        let inside = crate::sched::current_sched().is_some_and(|s| Arc::ptr_eq(&s, &self.sched));
        if inside {
            // Waiting here would wait for this very goroutine: shut down in the background.
            self.sched.shutdown_from_inside();
        } else {
            self.sched.shutdown();
        }
    }
}

/// Goroutines the report at a runtime's drop shows with their stacks; it counts the rest.
const LEAK_REPORT_SHOWN: usize = 20;

/// The leak report of a runtime being dropped, on stderr, if any goroutine is leaked.
fn report_leaks(s: &Sched) {
    let (n, report) = crate::sched::leaked(s, LEAK_REPORT_SHOWN);
    if n == 0 {
        return;
    }
    let what = if n == 1 { "goroutine" } else { "goroutines" };
    eprint!("gmp: {n} {what} leaked (parked where nothing can ever wake them):\n\n{report}");
    if n > LEAK_REPORT_SHOWN {
        eprintln!(
            "\n... and {} more (gmp_core::leaked() lists every one)",
            n - LEAK_REPORT_SHOWN
        );
    }
}

/// Go's program entry: builds a runtime with default settings, runs `f` as its main goroutine
/// (id 1), drops the runtime (cancelling every other goroutine, as a Go program ends with
/// main) and returns `f`'s value. Several threads may call `run` at once, each with its own
/// runtime.
///
/// As in Go, a panic in any goroutine that nobody joins ends the program: `run` panics with
/// `goroutine 7 panicked: boom` ([`UnhandledPanic::ShutdownRuntime`]). `run` returns within
/// the [exit grace](Builder::exit_grace) (100 ms) of `f` returning, abandoning goroutines
/// that have not ended by then.
///
/// ```
/// let v = gmp_core::run(|| {
///     let h = gmp_core::go(|| 21);
///     h.join().unwrap() * 2
/// });
/// assert_eq!(v, 42);
/// ```
///
/// # Panics
/// As [`Runtime::run`]; also if the runtime cannot be built.
#[track_caller]
pub fn run<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let rt = Runtime::builder()
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .expect("gmp: cannot build a runtime");
    rt.run(f)
}

#[cfg(test)]
mod tests {
    use super::Runtime;

    /// Stacks follow running goroutines (the per-P coroutine cache), not dead ones: a spawner
    /// that queues 10,000 goroutines before any runs needs a handful of stacks, not 10,000.
    fn stacks_for_10k_queued_goroutines(procs: usize) -> usize {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        rt.run(|| {
            let hs: Vec<_> = (0..10_000).map(|_| crate::go(|| ())).collect();
            for h in hs {
                h.join().unwrap();
            }
        });
        rt.sched.stacks.carved()
    }

    #[test]
    fn finished_goroutines_hand_their_stacks_to_the_next() {
        for procs in [1, 2] {
            let n = stacks_for_10k_queued_goroutines(procs);
            assert!(n <= 100, "{n} stacks carved on {procs} Ps");
        }
    }
}
