//! # gmp-core: goroutines for Rust
//!
//! Go's concurrency model on a G/M/P work-stealing scheduler over stackful coroutines.
//! This crate holds the scheduler, parking, timers and diagnostics; `gmp-chan` adds channels
//! and `select!`, `gmp-sync` adds `Mutex`, `WaitGroup` and friends.
//!
//! ## Hello, goroutines
//!
//! ```
//! use gmp_core::{go, run, sleep};
//! use std::time::Duration;
//!
//! fn say(s: &'static str) {
//!     for _ in 0..3 {
//!         sleep(Duration::from_millis(1));
//!         println!("{s}");
//!     }
//! }
//!
//! run(|| {
//!     let world = go!(say("world"));
//!     say("hello");
//!     world.join().unwrap();
//! });
//! ```
//!
//! ## Parking
//!
//! [`park`] is the narrow waist every blocking operation is built on: publish an
//! [`Unparker`](park::Unparker), recheck, [`park::park`]. It works the same in a goroutine
//! (the goroutine is suspended) and on a plain thread (the thread blocks).
//!
//! ## Networking
//!
//! [`net`] has std::net's [`TcpListener`](net::TcpListener), [`TcpStream`](net::TcpStream) and
//! [`UdpSocket`](net::UdpSocket) on a netpoller: a goroutine waiting on a socket parks
//! (`[IO wait]` in [`dump`]) instead of blocking its thread, so one goroutine per connection
//! is cheap, as in Go. On a plain thread they block like std's sockets.
//!
//! ```
//! use gmp_core::net::{TcpListener, TcpStream};
//! use std::io::{Read, Write};
//!
//! gmp_core::run(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     gmp_core::go(move || {
//!         let (mut conn, _) = listener.accept().unwrap();
//!         let mut buf = [0; 4];
//!         conn.read_exact(&mut buf).unwrap();
//!         conn.write_all(&buf).unwrap();
//!     });
//!     let mut c = TcpStream::connect(addr).unwrap();
//!     c.write_all(b"ping").unwrap();
//!     let mut buf = [0; 4];
//!     c.read_exact(&mut buf).unwrap();
//!     assert_eq!(&buf, b"ping");
//! });
//! ```
//!
//! ## Scoped goroutines
//!
//! [`scope`] is `std::thread::scope` for goroutines: the goroutines it spawns may borrow the
//! caller's locals, and it returns only after all of them have ended. Go's idiom is a
//! `sync.WaitGroup` around closures (safe there thanks to the garbage collector):
//!
//! ```text
//! // Go                                   // gmp
//! var wg sync.WaitGroup                   gmp_core::scope(|s| {
//! for i := range parts {                      for part in parts.iter_mut() {
//!     wg.Add(1)                                   s.go(move || part.process());
//!     go func() {                             }
//!         defer wg.Done()                 });
//!         parts[i].process()
//!     }()
//! }
//! wg.Wait()
//! ```
//!
//! The wait parks the caller (its M runs other goroutines). A goroutine of the scope that
//! panicked and was not joined makes `scope` panic after the wait, as std's does.
//!
//! ## Async interop
//!
//! [`block_on`] runs a future on the calling goroutine, parking it (not its thread) until the
//! future's waker fires, so gmp code can await async code, e.g. a tokio task on a runtime of
//! its own. The other way round, a [`JoinHandle`] is a future of its goroutine's result:
//! async code awaits a goroutine with `handle.await`.
//!
//! ```
//! let h = gmp_core::go(|| 6 * 7);
//! assert_eq!(gmp_core::block_on(async { h.await.unwrap() + 0 }), 42);
//! ```
//!
//! ## Seeing what the scheduler did: traces
//!
//! [`trace`] is Go's `runtime/trace`: it records what every goroutine, P and M did (when each
//! goroutine ran and where, why it parked, who woke it, spawns, `syscall`s, steals) as
//! Chrome trace-event JSON. Open the file at <https://ui.perfetto.dev> (or `chrome://tracing`):
//! a track per P with a slice per goroutine run, named by id and spawn site, arrows from
//! each waker to the goroutine it woke.
//!
//! ```text
//! // Go                                   // gmp
//! f, _ := os.Create("trace.out")          let f = std::fs::File::create("trace.json")?;
//! trace.Start(f)                          gmp_core::trace::start(f)?;
//! defer trace.Stop()                      work();
//! work()                                  gmp_core::trace::stop()?;
//! // go tool trace trace.out              // ui.perfetto.dev: Open trace file
//!
//! fr := trace.NewFlightRecorder(          let fr = gmp_core::trace::FlightRecorder::new(
//!     trace.FlightRecorderConfig{             1 << 20);
//!         MaxBytes: 1 << 20})
//! fr.Start()                              fr.start()?;
//! // ... something went wrong:            // ... something went wrong:
//! fr.WriteTo(f)                           fr.write_to(f)?;
//! ```
//!
//! Differences from Go: a trace covers one runtime (the caller's, or the default runtime on a
//! plain thread), not the process; it is JSON made when the trace stops, not Go's binary
//! format streamed as it goes (it stays in memory until then: about 40 bytes an event);
//! `GMP_TRACE=trace.json` traces a whole program with no code change (`go test -trace`'s
//! role), and `cargo xtask trace PROGRAM` does so for a tour program. When no trace runs,
//! tracing costs each scheduling hook one load and a branch.
//!
//! ## Rules for code running in goroutines
//!
//! A goroutine may move to another OS thread at any gmp call that can block (a channel
//! operation, a lock, `sleep`, `gosched`, `join`). So, across such a call, do not hold a
//! `thread_local!` borrow, a `!Send` value (`Rc`, `RefCell` borrows), or a std/parking_lot
//! lock guard (it would block the whole M; use `gmp-sync`'s locks). A goroutine that needs a
//! thread of its own can call [`lock_os_thread`].
//!
//! A goroutine parked for a while has its stack copied to the heap and its pages released
//! until it runs again (that is how a parked goroutine costs about 1 KiB). So, across a call
//! that parks, no other thread may use the goroutine's local variables: do not park on a gmp
//! primitive inside `std::thread::scope` while a scoped thread still borrows your locals; use
//! [`scope`] instead, which keeps the caller's stack in place while its goroutines run. gmp's
//! own primitives keep everything a waker touches off the stack.
//!
//! ## Blocking code and preemption
//!
//! Wrap code that blocks its thread (a blocking system call, file I/O, a C library, a
//! `std::sync` lock that may wait) in [`syscall`]: if it blocks for more than about 20 µs
//! while other goroutines wait, the runtime's monitor thread (sysmon, as in Go) hands the P to
//! another M, so they keep running.
//!
//! Preemption is cooperative: Go interrupts a running goroutine with a signal, which is
//! unsound for Rust code (it could stop inside `malloc` or while holding a lock). Instead,
//! every gmp call that can block, every `go` and every [`gosched`] is a preemption point:
//! there a goroutine yields if sysmon saw it hold its P for over 10 ms, and after a run of 128
//! operations that completed without blocking. A CPU-bound loop with **no** gmp calls holds
//! its P until it ends (its P's other goroutines wait; other Ps steal them if they can); call
//! [`gosched`] (or [`park::checkpoint`], cheaper: it yields only when asked to) now and then
//! in such a loop. sysmon names a goroutine that holds its P for over 100 ms while others
//! wait for it ([`Builder::hog_warning`]).
//!
//! ## The program's lifetime
//!
//! As in Go, the program ends when main ends. When [`run`]'s main goroutine returns (or a
//! [`Runtime`] is dropped) every other goroutine is cancelled at its next scheduling point:
//! its stack is unwound, so its drops run. Goroutines that have not ended after the
//! [exit grace](Builder::exit_grace) (100 ms: a loop with no gmp call, a read blocked inside
//! `syscall`) are abandoned as Go's exit abandons them, with one line each on stderr
//! (`gmp: goroutine 7 [syscall] abandoned at exit`).
//!
//! A panic that nobody joins (its [`JoinHandle`] was dropped) is, under `run`, Go's crash:
//! `run` panics with `goroutine 7 panicked: boom` and everything is cancelled
//! ([`UnhandledPanic`]). A `Runtime` from [`Runtime::builder`] ignores it by default, as std
//! does a thread's. Either way the panic is printed, a later deadlock report names it, and a
//! panic in a drop the runtime runs (a goroutine's result, its panic payload) cannot kill the
//! runtime's threads.
//!
//! ```
//! let r = std::panic::catch_unwind(|| {
//!     gmp_core::run(|| {
//!         drop(gmp_core::go(|| panic!("boom"))); // detached: nobody joins it
//!         gmp_core::sleep(std::time::Duration::from_secs(3600));
//!     })
//! });
//! assert_eq!(*r.unwrap_err().downcast::<String>().unwrap(), "goroutine 2 panicked: boom");
//! ```
//!
//! [`go`](fn@go) called outside any runtime uses a default runtime that has no deadlock detector
//! (plain threads may wake its goroutines, and it cannot see them); wrap the program in
//! [`run`] to get Go's `all goroutines are asleep - deadlock!`.
//!
//! ## Metrics
//!
//! [`metrics`] is Go's `runtime/metrics` for the scheduler: the `/sched/*` metrics of Go 1.26
//! as the fields of one [`Metrics`] struct, plus the scheduler's event counters (steals,
//! parks, syscalls, hand-offs) and the goroutine stacks' memory. It costs a few loads per P,
//! takes no scheduler lock and allocates nothing, so a monitoring goroutine may poll it.
//!
//! ```text
//! // Go                                            // gmp
//! s := []metrics.Sample{                           let m = gmp_core::metrics();
//!     {Name: "/sched/goroutines:goroutines"},      m.goroutines
//!     {Name: "/sched/goroutines/waiting:goroutines"},  m.goroutines_waiting
//!     {Name: "/sched/goroutines-created:goroutines"},  m.goroutines_created
//!     {Name: "/sched/threads/total:threads"},      m.threads
//!     {Name: "/sched/gomaxprocs:threads"},         m.procs
//! }
//! metrics.Read(s)
//! n := s[1].Value.Uint64()
//! ```
//!
//! ```
//! use gmp_core::park::{self, WaitReason};
//! use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
//! use std::sync::{Arc, Mutex};
//!
//! let rt = gmp_core::Runtime::builder().procs(1).build().unwrap();
//! rt.run(|| {
//!     let open = Arc::new(AtomicBool::new(false));
//!     let waiters = Arc::new(Mutex::new(Vec::new()));
//!     let hs: Vec<_> = (0..10)
//!         .map(|_| {
//!             let (open, waiters) = (open.clone(), waiters.clone());
//!             gmp_core::go(move || {
//!                 waiters.lock().unwrap().push(park::current());
//!                 while !open.load(SeqCst) {
//!                     park::park(WaitReason::ChanReceive);
//!                 }
//!             })
//!         })
//!         .collect();
//!     while waiters.lock().unwrap().len() < 10 {
//!         gmp_core::sleep(std::time::Duration::from_millis(1)); // the ten run and park
//!     }
//!     let m = gmp_core::metrics();
//!     assert_eq!((m.goroutines, m.goroutines_waiting, m.procs), (11, 10, 1));
//!     open.store(true, SeqCst);
//!     waiters.lock().unwrap().iter().for_each(|u| u.unpark());
//!     hs.into_iter().for_each(|h| h.join().unwrap());
//!     assert!(gmp_core::metrics().parks >= 10);
//! });
//! ```
//!
//! ## Testing with virtual time
//!
//! [`synctest::test`] is Go 1.25's `synctest.Test`: it runs a closure in a *bubble*, a runtime
//! whose clock is virtual. Time stands still while any of its goroutines can run, and jumps
//! to the next timer once every one of them is durably blocked (parked on a channel, lock,
//! `WaitGroup`, join, sleep or timed wait; not on I/O or in [`syscall`]). A test of an hour of
//! retries runs in microseconds, and a race between a 10 ms timeout and a 20 ms reply ends the
//! same way on every run. [`synctest::wait`] returns once every other goroutine is durably
//! blocked.
//!
//! ```text
//! // Go                                            // gmp
//! synctest.Test(t, func(t *testing.T) {            gmp_core::synctest::test(|| {
//!     start := time.Now()                              let start = gmp_core::time::now();
//!     time.Sleep(time.Hour)                            gmp_core::sleep(Duration::from_secs(3600));
//!     synctest.Wait()                                  gmp_core::synctest::wait();
//! })                                               });
//! ```
//!
//! ```
//! use gmp_core::{go, sleep, synctest, time};
//! use std::time::Duration;
//!
//! // A retry loop with backoff: 1 s, 2 s, 4 s, ... ; in a bubble, no real time passes.
//! let attempts = synctest::test(|| {
//!     let start = time::now();
//!     let mut at = Vec::new();
//!     let mut backoff = Duration::from_secs(1);
//!     for _ in 0..5 {
//!         at.push((time::now() - start).as_secs());
//!         sleep(backoff);
//!         backoff *= 2;
//!     }
//!     at
//! });
//! assert_eq!(attempts, [0, 1, 3, 7, 15]);
//!
//! // Every goroutine blocked and no timer pending: Go's bubble deadlock.
//! let r = std::panic::catch_unwind(|| {
//!     synctest::test(|| {
//!         let h = go(|| gmp_core::park::park(gmp_core::WaitReason::Park));
//!         h.join().unwrap();
//!     })
//! });
//! assert!(r.is_err());
//! ```
//!
//! Not virtual: `std::time::Instant::now()`, `std::thread::sleep`, plain threads, and I/O.
//!
//! ## Leaked goroutines
//!
//! [`leaked`] is Go 1.27's goroutine-leak profile (`pprof.Lookup("goroutineleak")`): the
//! goroutines parked on a channel, `WaitGroup` or [`JoinHandle`] that nothing can ever wake, in
//! [`dump`]'s format with `(leaked)` after the wait reason. Go finds them with a GC cycle; gmp
//! with ownership: once every handle of what a goroutine waits on is a handle that a leaked
//! goroutine waits through from its own stack, no handle is left elsewhere and none can be
//! made. It never reports a goroutine that could still be woken; it can miss leaks (see its
//! docs). A [`Runtime`] prints the report on stderr when it is dropped (so [`run`] does when it
//! returns) unless [`Builder::leak_report`] turns it off. Primitives of your own register what
//! they wait on with [`park::waiting_on`].
//!
//! ```
//! let rt = gmp_core::Runtime::builder().leak_report(false).build().unwrap();
//! rt.run(|| {
//!     let stuck = gmp_core::go(|| -> () {
//!         // Waits on nothing (Go: `select {}`): nothing can ever wake it.
//!         gmp_core::park::waiting_on(&[], || loop {
//!             gmp_core::park::park(gmp_core::WaitReason::SelectNoCases);
//!         })
//!     });
//!     while gmp_core::metrics().goroutines_waiting < 1 {
//!         gmp_core::sleep(std::time::Duration::from_millis(1));
//!     }
//!     let report = gmp_core::leaked();
//!     assert!(report.starts_with(&format!("goroutine {} [select (no cases) (leaked)]:", stuck.id())));
//! });
//! ```

#![cfg_attr(loom, allow(dead_code, unreachable_pub))]

mod block_on;
mod goroutine;
mod loom;
pub mod net;
pub mod park;
mod reason;
mod runtime;
mod sched;
mod scope;
mod stack;
pub mod synctest;
pub mod time;
pub mod trace;

pub use block_on::block_on;
pub use goroutine::{
    current_id, dump, go, goexit, gomaxprocs, gosched, leaked, lock_os_thread, num_goroutine,
    sleep, syscall, unlock_os_thread, GoId, JoinError, JoinHandle,
};
pub use reason::WaitReason;
pub use runtime::{run, Builder, Runtime, UnhandledPanic};
pub use sched::{metrics, Metrics};
pub use scope::{scope, Scope, ScopedJoinHandle};

/// Scheduler internals for gmp's own integration tests and loom models. Not a public API:
/// no stability, no docs.
#[doc(hidden)]
pub mod __private {
    pub use crate::sched::copyout::{
        copyout_stats, parked_resident, stacks_carved, stacks_copied_out, ParkedStack,
    };

    /// The heap bytes of a goroutine's G (with its `Arc` counts) and of the join slot of a
    /// goroutine returning `T` (with its count; the memory accounting test adds the
    /// allocator's share, which the slot's block class matches).
    pub fn goroutine_sizes<T>() -> (usize, usize) {
        (
            std::mem::size_of::<crate::sched::g::G>() + 16,
            crate::goroutine::join_slot_size::<T>(),
        )
    }
    pub use crate::sched::g::{
        cancel_waiting, commit_park, dead_word, goid_of, recheck_cancel_after_park, runnable_word,
        sweep_cancel, take_permit, unpark_state, UnparkAction, BLOCKING, DEAD, NOTIFIED, RUNNABLE,
        RUNNING, STACK_COPYING, STACK_OUT, STATUS_MASK, SYSCALL, WAITING,
    };
    pub use crate::sched::leak::{counts_read, still_parked};

    pub use crate::goroutine::SlotRefProbe;

    /// The leak tests' settle: waits (sleeping 1 ms at a time) until at least `parked`
    /// goroutines of the caller's runtime are parked and exactly `live` exist (the caller
    /// included); panics after 20 s.
    pub fn settle(parked: usize, live: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let m = crate::metrics();
            if m.goroutines_waiting >= parked && m.goroutines == live {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "never settled: {m:?}");
            crate::sleep(std::time::Duration::from_millis(1));
        }
    }
    pub use crate::sched::netpoll::PollWait;
    pub use crate::sched::runq::{Ptr, RunQueue, LOCAL_QUEUE_CAPACITY};
    pub use crate::sched::sudog::{SudogCache, SudogCentral};

    /// The file that the panic of `f` names, as a panic hook sees it: the tests of gmp's
    /// `#[track_caller]` misuse panics in all three crates. Swaps the process's panic hook
    /// while `f` runs, so a test binary calls it from one test only.
    pub fn panic_location(f: impl FnOnce()) -> String {
        static LOC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| {
            let file = info.location().map(|l| l.file().to_string());
            *LOC.lock().unwrap_or_else(|e| e.into_inner()) = file;
        }));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        std::panic::set_hook(prev);
        assert!(r.is_err(), "no panic");
        let file = LOC.lock().unwrap_or_else(|e| e.into_inner()).take();
        file.expect("the hook saw the panic")
    }
}
