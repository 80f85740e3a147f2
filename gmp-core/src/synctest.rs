//! Testing with virtual time (Go 1.25's `testing/synctest`): code full of timeouts, tickers and
//! deadlines, tested in microseconds and deterministically.
//!
//! [`test`] runs `f` as the main goroutine of a *bubble*: a fresh runtime whose clock is
//! virtual. The clock starts at the same instant in every bubble and stands still while any
//! goroutine of the bubble can run; when every one of them is *durably blocked*, it jumps to
//! the next timer, and every timer due at that instant fires before it moves again. So a test
//! that sleeps an hour takes microseconds, and a race between a 10 ms timeout and a 20 ms reply
//! always ends the same way, however loaded the machine.
//!
//! ```
//! use gmp_core::{go, sleep, synctest, time};
//! use std::time::Duration;
//!
//! synctest::test(|| {
//!     let start = time::now();
//!     let slow = go(move || {
//!         sleep(Duration::from_secs(3600)); // an hour, in microseconds of real time
//!         time::now()
//!     });
//!     sleep(Duration::from_secs(60));
//!     assert_eq!(time::now() - start, Duration::from_secs(60)); // exactly
//!     synctest::wait(); // the other goroutine is asleep: durably blocked
//!     assert_eq!(slow.join().unwrap() - start, Duration::from_secs(3600));
//! });
//! ```
//!
//! With gmp-chan, a timeout against a slow reply (`select!` with `time::after`) takes the
//! timeout at exactly 10 s of virtual time, every run:
//!
//! ```text
//! synctest::test(|| {
//!     let reply = chan::<&str>(1);
//!     let tx = reply.clone();
//!     go(move || { sleep(Duration::from_secs(20)); let _ = tx.send("pong"); });
//!     select! {
//!         recv(reply) -> r => panic!("{r:?}"),
//!         recv(time::after(Duration::from_secs(10))) -> _ => {} // always this one
//!     }
//!     sleep(Duration::from_secs(10));
//!     assert_eq!(reply.recv(), Some("pong"));
//! });
//! ```
//!
//! # What is virtual
//!
//! Inside a bubble: [`time::now`](crate::time::now), [`sleep`](crate::sleep),
//! [`time::after_fn`](crate::time::after_fn) and the runtime's timers, every timed park
//! ([`park_deadline`](crate::park::park_deadline)), and so gmp-chan's `after`, `tick`,
//! `Timer`, `Ticker`, every `*_timeout`, `select!`'s `default(timeout)`, context deadlines,
//! and gmp-sync's timed waits.
//!
//! **Not virtual**: `std::time::Instant::now()` and `SystemTime::now()`, `std::thread::sleep`,
//! plain threads (spawned with `std::thread`, even from a bubble), I/O and its deadlines
//! (`gmp_core::net`), and code inside [`syscall`](crate::syscall).
//!
//! # Durably blocked
//!
//! A goroutine is durably blocked when it is parked on a gmp primitive: a channel operation or
//! `select!`, a `Mutex`, `RwLock`, `WaitGroup`, `Cond`, `Semaphore`, a join, a `sleep` or a
//! timed wait. It is **not** while it waits on a socket, runs inside `syscall`, waits in
//! [`block_on`](crate::block_on), or runs: then the clock does not move (it cannot know when
//! the I/O ends) and no deadlock is reported. This is the runtime's deadlock predicate, timers
//! aside: when every goroutine is durably blocked and no timer is pending, `test` panics with
//! Go's `deadlock: all goroutines in bubble are blocked` and the goroutine dump.
//!
//! # The end of a bubble
//!
//! When `f` returns, `test` waits for the bubble's other goroutines to end (the clock moves as
//! needed). Any still blocked with no timer left to wake them is a leak: `test` panics with
//! `synctest: goroutines still blocked at end of bubble` and the dump. Cancel or close what
//! your goroutines wait on before `f` returns.
//!
//! Differences from Go: a bubble is a runtime of its own, so its goroutines cannot share a gmp
//! channel with goroutines of another runtime without the other side's clock being real (Go
//! panics when a bubble's channel is used from outside); bubbles do not nest.

use crate::park::{self, WaitReason};
use crate::runtime::Runtime;
use crate::sched;
use std::sync::atomic::Ordering::*;

/// Go's `synctest.Test`: runs `f` as the main goroutine of a new bubble (a runtime with a
/// virtual clock), waits for the bubble's other goroutines to end, and returns `f`'s value.
///
/// # Panics
/// With `f`'s panic; with `deadlock: all goroutines in bubble are blocked` and the dump when
/// every goroutine is durably blocked and no timer is pending; with
/// `synctest: goroutines still blocked at end of bubble` and the dump when `f` has returned and
/// the goroutines left are blocked with no timer pending.
#[track_caller]
pub fn test<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let rt = Runtime::builder()
        .bubble()
        .build()
        .expect("synctest: cannot build a bubble's runtime");
    let s = rt.sched().clone();
    let s2 = s.clone();
    let v = rt.run(move || {
        let v = f();
        // From here on, goroutines that block for good are leaks, not a deadlock.
        if let Some(b) = &s2.bubble {
            b.ended.store(true, Release);
        }
        v
    });
    // The others: until they end (the last one's exit unparks the run waiters), or the
    // bubble reports them (as does any fatal report).
    let me = park::current();
    s.run_waiters.lock().push(me.clone());
    let end = loop {
        if let Some(msg) = s.fatal.lock().clone() {
            break Err(msg);
        }
        if s.ngoroutines.load(SeqCst) == 0 {
            break Ok(());
        }
        park::park(WaitReason::Other("synctest: end of bubble"));
    };
    s.run_waiters.lock().retain(|u| !u.will_wake(&me));
    drop(rt);
    match end {
        Ok(()) => v,
        Err(msg) => panic!("{msg}"),
    }
}

/// Go's `synctest.Wait`: returns once every other goroutine of the calling goroutine's bubble
/// is durably blocked (see the module docs). The clock does not move meanwhile.
///
/// # Panics
/// Outside a bubble, or when another goroutine of the bubble is in `wait` already.
pub fn wait() {
    sched::synctest::wait();
}
