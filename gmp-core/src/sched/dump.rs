//! The goroutine dump (Go: `tracebackothers`, `goroutineheader`), the deadlock detector
//! (Go: `checkdead`), and the panic hook that names the goroutine (Go: `printpanics`).
//!
//! # Invariants
//!
//! - The dump reads each G's state word, wait reason and spawn site without stopping
//!   anything: a snapshot, racy by design, that never blocks or wakes a goroutine.
//! - `checkdead` runs with `Sched::lock` held, whenever an M goes idle (`stopm`,
//!   `stoplockedm`), and reports only when no M runs, none polls, nothing is queued, no timer
//!   is pending, no goroutine waits on I/O, and every live goroutine is parked.

use super::g::{self, G};
use super::m::current_goid;
use super::{Locked, Sched};
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;
use std::fmt::Write;

/// Go's dump of every goroutine of `s`: a `goroutine N [status]:` header per goroutine and
/// where it was spawned, blank lines between them.
pub(crate) fn dump(s: &Sched) -> String {
    let gs: Vec<Arc<G>> = s.allgs.lock().clone();
    let now = s.nanotime(crate::loom::now());
    let mut out = String::new();
    let mut live: Vec<&Arc<G>> = gs.iter().filter(|g| g.status() != g::DEAD).collect();
    live.sort_by_key(|g| g.goid());
    for (i, g) in live.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        header(&mut out, g, now);
        match g.spawn_site() {
            Some(site) => {
                let parent = g.parent.load(Relaxed);
                if parent != 0 {
                    let _ = writeln!(out, "created by {site} in goroutine {parent}");
                } else {
                    let _ = writeln!(out, "created by {site}");
                }
            }
            None => out.push_str("created by the runtime\n"),
        }
    }
    out
}

/// Go: `goroutineheader`: `goroutine 7 [chan receive, 3 minutes, locked to thread]:`.
fn header(out: &mut String, g: &G, now: u64) {
    let w = g.state.load(Acquire);
    let status = state_text(g, w);
    let _ = write!(out, "goroutine {} [{status}", g::goid_of(w));
    if w & g::STATUS_MASK == g::WAITING {
        let since = g.wait_since.load(Relaxed);
        let mins = now.saturating_sub(since) / 60_000_000_000;
        if since != 0 && mins >= 1 {
            let _ = write!(out, ", {mins} minutes");
        }
    }
    // SAFETY: a racy read of a plain counter for display only; it is a u32 written by the
    // goroutine itself, never torn on the platforms gmp supports.
    let locked = g.locked.with(|l| unsafe { std::ptr::read_volatile(l) });
    if locked > 0 {
        out.push_str(", locked to thread");
    }
    out.push_str("]:\n");
}

/// The bracketed state of a dump header: `runnable`, `running`, `syscall`, or the wait
/// reason of a parked goroutine (also of one that blocks its thread while it unwinds).
fn state_text(g: &G, w: u64) -> String {
    match w & g::STATUS_MASK {
        g::RUNNABLE => "runnable".into(),
        g::RUNNING if w & g::BLOCKING != 0 => g.wait_reason().to_string(),
        g::RUNNING => "running".into(),
        g::SYSCALL => "syscall".into(),
        g::WAITING => g.wait_reason().to_string(),
        _ => "dead".into(),
    }
}

/// The state named in `gmp: goroutine 7 [...] abandoned at exit`: as in the dump, except that
/// a runnable goroutine is `running` (it was cancelled, and no M was free to unwind it).
pub(super) fn abandoned_state(g: &G) -> String {
    let w = g.state.load(Acquire);
    if w & g::STATUS_MASK == g::RUNNABLE {
        return "running".into();
    }
    state_text(g, w)
}

/// Go: `checkdead`, called with `sched.lock` held when an M goes idle. If no M is running,
/// nothing is runnable, no timer is pending and goroutines remain parked, reports
/// "all goroutines are asleep - deadlock!" (or Go's Goexit variant) to `run`.
pub(crate) fn checkdead(s: &Sched, l: &Locked) {
    if s.shutdown.load(SeqCst) || l.mcount > l.nmidle + l.nmidlelocked || l.poller.is_some() {
        return;
    }
    // A goroutine parked on a socket can be woken by the network, even by a peer outside
    // this runtime (Go: the M blocked in netpoll is not idle).
    if s.netpoll_any_waiters() {
        return;
    }
    // Nor one waiting in `block_on`: its waker may be another runtime's (tokio's) thread.
    if s.external_waits.load(SeqCst) > 0 {
        return;
    }
    let main_goexited = s.main_goexited.load(SeqCst);
    if !s.deadlock_detection && !main_goexited {
        return;
    }
    if s.runqsize.load(SeqCst) > 0 {
        return;
    }
    for p in s.allp.iter() {
        if !p.runq.is_empty() || p.timer0.load(SeqCst) != 0 {
            return; // runnable work, or a timer that can still wake someone
        }
    }
    let mut waiting = 0;
    for g in s.allgs.lock().iter() {
        let w = g.state.load(SeqCst);
        match w & g::STATUS_MASK {
            g::WAITING => waiting += 1,
            g::DEAD => {}
            _ => return, // runnable, running, in a syscall or blocking its thread: not dead
        }
    }
    if waiting == 0 {
        if main_goexited {
            s.report_fatal("no goroutines (main called runtime.Goexit) - deadlock!".into());
        }
        return;
    }
    if s.deadlock_detection {
        let mut earlier = s.panicked_earlier();
        if !earlier.is_empty() {
            earlier.push('\n');
        }
        s.report_fatal(format!(
            "all goroutines are asleep - deadlock!\n\n{earlier}{}",
            dump(s)
        ));
    }
}

/// Prints `goroutine N panicked at ...` for panics inside goroutines (std prints the thread
/// name); everything else goes to the hook that was installed before.
pub(crate) fn install_panic_hook() {
    if !crate::loom::PANIC_HOOK {
        return;
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match current_goid() {
            Some(id) => {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| info.payload().downcast_ref::<String>().map(|s| s.as_str()))
                    .unwrap_or("Box<dyn Any>");
                match info.location() {
                    Some(loc) => eprintln!("goroutine {id} panicked at {loc}:\n{msg}"),
                    None => eprintln!("goroutine {id} panicked:\n{msg}"),
                }
            }
            None => prev(info),
        }));
    });
}
