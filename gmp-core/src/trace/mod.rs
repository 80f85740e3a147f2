//! Execution traces (Go: `runtime/trace`, and Go 1.25's `trace.FlightRecorder`): what every
//! goroutine, P and M did, as Chrome trace-event JSON that ui.perfetto.dev and
//! `chrome://tracing` open.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! // A writer the test can read back (a `File` is the usual one).
//! #[derive(Clone, Default)]
//! struct Shared(Arc<Mutex<Vec<u8>>>);
//! impl std::io::Write for Shared {
//!     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
//!         self.0.lock().unwrap().extend_from_slice(b);
//!         Ok(b.len())
//!     }
//!     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! }
//!
//! let out = Shared::default();
//! let w = out.clone();
//! let id = gmp_core::run(move || {
//!     gmp_core::trace::start(w).unwrap();          // Go: trace.Start(f)
//!     let h = gmp_core::go(|| 6 * 7);
//!     let id = h.id();
//!     h.join().unwrap();
//!     gmp_core::trace::stop().unwrap();            // Go: trace.Stop()
//!     id
//! });
//! let json = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
//! assert!(json.contains(&format!("\"name\":\"spawn G{id}\"")));
//! ```
//!
//! # Which runtime
//!
//! `start` and `stop` act on the runtime of the calling goroutine, or on the default runtime
//! (built if need be) when called from a plain thread, as [`dump`](crate::dump) does. One
//! trace, or one flight recorder, records a runtime at a time: a second `start` on it fails
//! with [`AlreadyExists`](io::ErrorKind::AlreadyExists), and `stop` with nothing to stop fails
//! with [`NotFound`](io::ErrorKind::NotFound). Several runtimes may each be traced at once
//! (each trace is its own file; its `pid` is the runtime's id). A trace still running when
//! its runtime shuts down is written then, so `stop` is optional before a `Runtime` is
//! dropped or `run` returns.
//!
//! Setting the environment variable `GMP_TRACE=FILE` traces every runtime built while it is
//! set, from its first event to its shutdown, into `FILE` (the second runtime built into
//! `FILE` with `.2` before its extension, and so on): a whole program is traced without a line
//! of code changed (`cargo xtask trace PROGRAM` runs a tour program so). The default runtime
//! is never shut down, so it is written only if stopped with `stop`.
//!
//! # What is in a trace
//!
//! The JSON object holds `traceEvents` (and `displayTimeUnit`, `otherData` naming the
//! clock). `pid` is the runtime's id; each track is a `tid`, named by a `thread_name`
//! metadata event (`ph` `"M"`): `P0`, `P1`, ... for every P, `M0`, `M1`, ... for each M that
//! ran a `syscall(f)`, and `outside` for plain threads (and other runtimes' goroutines) that
//! spawn or wake this runtime's goroutines. `ts` and `dur` are microseconds since the trace
//! started (with ns precision).
//!
//! | event | JSON | where | Go's |
//! |---|---|---|---|
//! | a goroutine's run interval | `"X"` named `G7 src/main.rs:12` (id, spawn site), `args.end`: `park`, `yield`, `exit`, `syscall` (or `running`, `unknown`) | its P | `GoStart` … `GoBlock`/`GoSched`/`GoEnd`/`GoSysCall` |
//! | a park | `"i"` `park`, `args.reason` (the [`WaitReason`](crate::WaitReason), e.g. `chan receive`) | its P, at the slice's end | `GoBlock*` |
//! | a wake-up | flow `"s"`/`"f"` `unpark`, same `id`: `s` on the waker's track when it wakes (estimated, see below), `f` on the wakee's when it next runs (`bp` `"e"`, never earlier than `s`); an `unpark` instant if the wakee did not run again before the trace ended | waker's, wakee's P | `GoUnblock` |
//! | a spawn | `"i"` `spawn G8`, `args.site` (estimated time, see below) | the spawner's P | `GoCreate` |
//! | `syscall(f)` | `"X"` `syscall` | its M | `GoSysCall`/`GoSysExit` |
//! | a steal | `"i"` `steal`, `args.from` (`P1`), `args.g` (the first of the half of `from`'s queue it took) | the thief's P | — |
//! | sysmon's retake | `"i"` `retake` | the retaken P | `ProcSteal` |
//!
//! A goroutine that was running when the trace started shows from the trace's start; one
//! still running when it stops shows to its end. Wake-ups by the scheduler itself (a timer,
//! the network poller) start their arrow between slices.
//!
//! # How it records
//!
//! Go's design: each P has a buffer that only the M holding the P appends to, with no lock
//! and no allocation per event; events are compact binary records (`record.rs`: a clock
//! delta, a kind, a goroutine id and a small argument in one 8-byte word for the common
//! events; a spawn site, a large argument or a track other than the P's takes a longer
//! form; a hand-off on a P, a wake-up, the end of the running slice and the next start at
//! the same tick, is one word: the buffer holds the first two back until the start, `buf.rs`
//! "Hand-offs"); full chunks of 16 KiB (about 2,000 events) are handed over under a per-runtime
//! lock, once per chunk, and their memory comes from an arena whose pages a thread of its
//! own faults in ahead of use (`arena.rs`), so the goroutines' Ms take no page fault for it.
//! Events recorded off a P (sysmon, plain threads, an M inside `syscall(f)` without its P)
//! go to one shared buffer under a lock, on paths that take locks already. The JSON is made
//! when the trace stops (inside [`syscall`](crate::syscall), so the P goes on running
//! goroutines), or when a flight recorder writes. `buf.rs` has the protocol, `encode.rs` the
//! pairing of events into slices and flows, `clock.rs` the clock (the TSC when the kernel
//! trusts it).
//!
//! # Clock reads, and what is estimated
//!
//! A clock read (`rdtsc`, about 6–10 ns on a VM) costs more than the rest of an event, so a
//! trace reads the clock once per run slice, where the slice ends:
//!
//! - **A slice's end** (park, yield, exit, syscall) reads the clock.
//! - **A slice's start** reads it too, unless the M found the goroutine at once in its P's
//!   own queue right after the previous slice ended there: then the slice starts at that
//!   end's tick, and the scheduler's switch between them (well under a µs) counts as part of
//!   the new slice.
//! - **A wake-up and a spawn** are instants inside the waker's (spawner's) slice and are not
//!   timed. The encoder places each between the timed events of its P around it, several
//!   evenly spaced, and never after the wakee's (child's) next start. So an arrow's tail sits
//!   inside the right slice, at an estimated point; the arrow's head, the wakee's start, is
//!   timed. Wake-ups from off a P (timers run by sysmon, plain threads) are timed.
//!
//! A trace keeps its events in memory until it stops: 8 bytes for most events, against
//! about 100 bytes of JSON each. A busy pingpong records six events per round trip in two
//! words (16 bytes: two hand-offs) and reads the clock twice. On the project's 2-core VM (quiet, alternated runs) that
//! makes pingpong about 1.17× slower and skynet about 1.09×; Go 1.27's own tracer costs
//! 2.26× and 1.28× there (its twins trace with `GO_TRACE=FILE`). The records' stores are
//! prefetched for writing a few lines ahead (`buf.rs`, `prefetch_for_write`).
//!
//! **When no trace runs anywhere in the process**, each of the scheduler's hooks is one
//! relaxed load of a process-wide counter (on a cache line of its own), a test and a
//! not-taken branch: on x86_64 `mov eax, [rip+SESSIONS]; test eax, eax; jne` (the test and
//! the branch fuse into one µop), with no argument set up and nothing spilled: the recording
//! code is out of line (`#[cold]`). Each run of a goroutine passes two hooks (its start, and
//! its park, yield or exit); a spawn, a wake-up, a syscall's entry and exit and a steal pass
//! one each.
//!
//! # The flight recorder
//!
//! [`FlightRecorder`] records the same events into a ring that keeps the newest ones: enough
//! for `max_bytes` of JSON. [`write_to`](FlightRecorder::write_to) writes them as a
//! self-contained trace of at most `max_bytes` bytes (metadata included): slices whose start
//! fell out of the ring begin at the window's start, wake-ups whose arrow lost its start are
//! dropped, so the output validates like any trace.

mod arena;
mod buf;
mod clock;
mod encode;
mod record;

pub(crate) use buf::{Kind, RuntimeTrace, Tick, Track};
pub(crate) use record::Rec;

use crate::loom::{Arc, Mutex};
use crate::sched::{self, Sched};
use buf::{Mode, Session, Which};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::Weak;

/// Sessions running in the process, over all runtimes: the hooks' one check.
///
/// | value | meaning                                   | moved by                      |
/// |-------|-------------------------------------------|-------------------------------|
/// | 0     | no trace anywhere: every hook returns     | a session start → +1          |
/// | n > 0 | n sessions: hooks look at their runtime's | a session stop → −1           |
///
/// A std atomic, not the loom facade's (a static cannot hold a loom atomic; loom models never
/// trace). On a cache line of its own, so the hooks' loads never miss because a neighbour was
/// written.
#[repr(align(128))]
pub(crate) struct Sessions(pub(crate) AtomicU32);

pub(crate) static SESSIONS: Sessions = Sessions(AtomicU32::new(0));

/// Whether any trace runs in the process (the hooks' fast path).
#[inline(always)]
pub(crate) fn on() -> bool {
    SESSIONS.0.load(Relaxed) != 0
}

/// The runtime `start` acts on: the caller's, else the default one.
fn runtime_for_start() -> Arc<Sched> {
    sched::current_sched().unwrap_or_else(|| crate::runtime::Runtime::default_sched().clone())
}

/// The runtime `stop` acts on: the caller's, else the default one if built.
fn runtime_for_stop() -> Option<Arc<Sched>> {
    sched::current_sched().or_else(|| crate::runtime::Runtime::default_if_built().cloned())
}

/// Go's `trace.Start`: starts tracing the current runtime (the caller's, or the default one
/// on a plain thread) into `w`, which receives the JSON when the trace stops.
///
/// # Errors
/// [`AlreadyExists`](io::ErrorKind::AlreadyExists) when a trace or a flight recorder already
/// records this runtime.
pub fn start(w: impl Write + Send + 'static) -> io::Result<()> {
    let s = runtime_for_start();
    let running = sched::running_goroutines(&s);
    s.trace
        .start(s.gomaxprocs, s.id, Mode::Trace(Box::new(w)), &running)?;
    Ok(())
}

/// Go's `trace.Stop`: stops the current runtime's trace and writes it to the writer given to
/// [`start`] (then flushes it). The writing runs as a [`syscall`](crate::syscall), so other
/// goroutines keep the P meanwhile.
///
/// # Errors
/// [`NotFound`](io::ErrorKind::NotFound) when no trace runs on this runtime; the writer's
/// errors (the trace is stopped all the same).
pub fn stop() -> io::Result<()> {
    let Some(s) = runtime_for_stop() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "gmp: trace: tracing is not enabled on this runtime",
        ));
    };
    let (session, c) = s.trace.stop(Which::Trace)?;
    let Mode::Trace(mut w) = session.mode else {
        unreachable!("Which::Trace stops only a trace")
    };
    crate::syscall(|| {
        encode::write_trace(&c, &mut w)?;
        w.flush()
    })
}

/// A runtime is built: with `GMP_TRACE=FILE` set, trace it into `FILE` until it shuts down.
pub(crate) fn start_from_env(s: &Arc<Sched>) {
    let Some(path) = std::env::var_os("GMP_TRACE").filter(|p| !p.is_empty()) else {
        return;
    };
    static TRACED: AtomicUsize = AtomicUsize::new(0);
    let n = TRACED.fetch_add(1, Relaxed) + 1;
    let mut path = std::path::PathBuf::from(path);
    if n > 1 {
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
        let name = match ext {
            Some(ext) => format!("{n}.{ext}"),
            None => n.to_string(),
        };
        path.set_extension(name);
    }
    let started = std::fs::File::create(&path).and_then(|f| {
        let w = io::BufWriter::new(f);
        s.trace
            .start(s.gomaxprocs, s.id, Mode::Trace(Box::new(w)), &[])
    });
    if let Err(e) = started {
        eprintln!("gmp: GMP_TRACE: cannot trace into {}: {e}", path.display());
    }
}

/// A runtime shuts down: a trace still running is written, a flight recorder stops.
pub(crate) fn at_shutdown(s: &Sched) {
    if let Ok((
        Session {
            mode: Mode::Trace(mut w),
            ..
        },
        c,
    )) = s.trace.stop(Which::Any)
    {
        if let Err(e) = encode::write_trace(&c, &mut w).and_then(|_| w.flush()) {
            eprintln!("gmp: trace: cannot write the trace at shutdown: {e}");
        }
    }
}

/// Go 1.25's `trace.FlightRecorder`: records the current runtime continuously, keeping only
/// the newest events (about `max_bytes` of JSON), and writes them on demand: after something
/// went wrong, the trace of what led to it.
///
/// ```
/// let rt = gmp_core::Runtime::builder().procs(2).build().unwrap();
/// let (json, last) = rt.run(|| {
///     let fr = gmp_core::trace::FlightRecorder::new(1 << 20);
///     fr.start().unwrap();
///     let mut last = None;
///     for _ in 0..100 {
///         let h = gmp_core::go(|| ());
///         last = Some(h.id());
///         h.join().unwrap();
///     }
///     let mut out = Vec::new();
///     let n = fr.write_to(&mut out).unwrap(); // the last MiB, at most
///     fr.stop();
///     assert_eq!(n, out.len());
///     (String::from_utf8(out).unwrap(), last.unwrap())
/// });
/// assert!(json.contains(&format!("\"name\":\"spawn G{last}\"")));
/// ```
pub struct FlightRecorder {
    max_bytes: usize,
    /// The runtime and session it records, once started.
    session: Mutex<Option<(Weak<Sched>, u64)>>,
}

impl std::fmt::Debug for FlightRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlightRecorder")
            .field("max_bytes", &self.max_bytes)
            .field("running", &self.live().is_some())
            .finish()
    }
}

impl FlightRecorder {
    /// A recorder that keeps the newest `max_bytes` of trace JSON (Go:
    /// `FlightRecorderConfig.MaxBytes`). It records nothing until [`start`](Self::start).
    pub fn new(max_bytes: usize) -> FlightRecorder {
        FlightRecorder {
            max_bytes,
            session: Mutex::new(None),
        }
    }

    /// The runtime and session it records, while it does.
    fn live(&self) -> Option<(Arc<Sched>, u64)> {
        let slot = self.session.lock();
        let (weak, gen) = slot.as_ref()?;
        let s = weak.upgrade()?;
        s.trace.is_live(*gen).then_some((s, *gen))
    }

    /// Starts recording the current runtime (the caller's, or the default one on a plain
    /// thread).
    ///
    /// # Errors
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) when this recorder already runs, or a
    /// trace or another recorder records the runtime.
    pub fn start(&self) -> io::Result<()> {
        if self.live().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "gmp: trace: the flight recorder is already running",
            ));
        }
        let s = runtime_for_start();
        let mode = Mode::Flight {
            max_bytes: self.max_bytes,
        };
        let running = sched::running_goroutines(&s);
        let gen = s.trace.start(s.gomaxprocs, s.id, mode, &running)?;
        *self.session.lock() = Some((Arc::downgrade(&s), gen));
        Ok(())
    }

    /// Stops recording and drops what it kept. Does nothing if it is not running (its
    /// runtime shutting down stops it too).
    pub fn stop(&self) {
        let taken = self.session.lock().take();
        if let Some(s) = taken.and_then(|(w, gen)| Some((w.upgrade()?, gen))) {
            let _ = s.0.trace.stop(Which::Flight(s.1));
        }
    }

    /// Writes the newest events as a complete trace of at most `max_bytes` bytes (metadata
    /// included; only the metadata, even if larger, when `max_bytes` cannot hold one event),
    /// and returns the bytes written. It keeps recording. The writing runs as a
    /// [`syscall`](crate::syscall) when called from a goroutine.
    ///
    /// # Errors
    /// [`NotFound`](io::ErrorKind::NotFound) when the recorder is not running (never started,
    /// stopped, or its runtime shut down: Go's "cannot snapshot a disabled flight recorder");
    /// the writer's errors.
    pub fn write_to(&self, mut w: impl Write) -> io::Result<usize> {
        let Some((s, gen)) = self.live() else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "gmp: trace: the flight recorder is not running",
            ));
        };
        let c = s.trace.snapshot(gen)?;
        drop(s);
        crate::syscall(|| {
            let n = encode::write_window(&c, self.max_bytes, &mut w)?;
            w.flush()?;
            Ok(n)
        })
    }
}

impl Drop for FlightRecorder {
    fn drop(&mut self) {
        self.stop();
    }
}
