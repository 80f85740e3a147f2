//! The goroutine dump (Go: `tracebackothers`, `goroutineheader`), the deadlock detector
//! (Go: `checkdead`), and the panic hook that names the goroutine (Go: `printpanics`).
//!
//! # Invariants
//!
//! - The dump reads each G's state word, wait reason and spawn site without stopping
//!   anything: a snapshot, racy by design, that never blocks or wakes a goroutine.
//! - A parked goroutine's stack is walked on its own stack, without running it: the dump
//!   claims it as copy-out's sweep does (`STACK_COPYING`, which keeps the sweep off it and
//!   makes an M that dequeues it meanwhile wait), puts a copied-out stack back, and resumes
//!   its coroutine with `Resume::Trace`; the goroutine's park loop (`gopark.rs: suspend`)
//!   records the return addresses of its frames (`own_frames`) and suspends again with
//!   `Suspend::Traced`, still parked, its permit and state untouched. So a dump never wakes
//!   a goroutine and never races its M. The addresses are symbolized afterwards, once per
//!   address (10,000 goroutines parked in the same place cost one lookup per frame).
//! - `checkdead` runs with `Sched::lock` held, whenever an M goes idle (`stopm`,
//!   `stoplockedm`), and reports only when no M runs, none polls, nothing is queued, no timer
//!   is pending, no goroutine waits on I/O, and every live goroutine is parked.

use super::g::{self, G};
use super::m::current_goid;
use super::synctest::Quiet;
use super::{Locked, Sched};
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;
use std::fmt::Write;

/// Go's dump of every goroutine of `s`: a `goroutine N [status]:` header per goroutine and
/// where it was spawned, blank lines between them.
pub(crate) fn dump(s: &Sched) -> String {
    let gs: Vec<Arc<G>> = s.allgs.lock().clone();
    let mut live: Vec<&Arc<G>> = gs.iter().filter(|g| g.status() != g::DEAD).collect();
    live.sort_by_key(|g| g.goid());
    dump_of(s, &live, false)
}

/// Go 1.27's goroutine-leak profile: the goroutines of `s` that nothing can ever wake
/// (`leak.rs`), in [`dump`]'s format with `(leaked)` after the wait reason, the first `limit`
/// of them (by goid), and how many there are.
pub(crate) fn leaked(s: &Sched, limit: usize) -> (usize, String) {
    let gs = super::leak::leaked_gs(s);
    let shown: Vec<&Arc<G>> = gs.iter().take(limit).collect();
    (gs.len(), dump_of(s, &shown, true))
}

/// The dump of goroutines `live`, in this order; `leaked` marks each header so.
fn dump_of(s: &Sched, live: &[&Arc<G>], leaked: bool) -> String {
    let now = s.nanotime(crate::loom::now());
    // Headers and stacks first (a snapshot, goroutine by goroutine), symbols after.
    let walked: Vec<(String, Option<Vec<usize>>)> = live
        .iter()
        .map(|g| {
            let mut h = String::new();
            header(&mut h, g, now, leaked);
            (h, frames_of(g))
        })
        .collect();
    // Symbolizing parses debug info, which takes far more stack than a goroutine has: on a
    // thread of its own (inside `syscall`, so a goroutine's P serves others meanwhile).
    let stacks = crate::syscall(|| {
        std::thread::scope(|sc| {
            std::thread::Builder::new()
                .name("gmp-dump".into())
                .stack_size(SYMBOLIZE_STACK)
                .spawn_scoped(sc, || symbolize(&walked))
                .map(|t| t.join().unwrap_or_default())
                .unwrap_or_default()
        })
    });
    let mut out = String::new();
    for (i, g) in live.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&walked[i].0);
        if let Some(st) = stacks.get(i) {
            out.push_str(st);
        }
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

/// Stack of the thread that symbolizes a dump (gimli's parsing is deep).
const SYMBOLIZE_STACK: usize = 16 << 20;

/// The traceback text of each walked goroutine (empty when it was not walked).
fn symbolize(walked: &[(String, Option<Vec<usize>>)]) -> Vec<String> {
    let mut cache = SymbolCache::default();
    walked
        .iter()
        .map(|(_, ips)| {
            let mut text = String::new();
            if let Some(ips) = ips {
                let mut frames = Vec::new();
                for &ip in ips {
                    frames.extend(cache.resolve(ip).iter().cloned());
                }
                write_stack(&mut text, &frames);
            }
            text
        })
        .collect()
}

/// The return addresses of the calling goroutine's frames, innermost first (at most
/// [`MAX_FRAMES`]): what a parked goroutine answers to `Resume::Trace`.
#[inline(never)]
pub(super) fn own_frames() -> Vec<usize> {
    // The goroutine's stack (its M, or the dump that resumed it, recorded it for the
    // overflow handler): the walk stops where it leaves it, since corosensei links the
    // coroutine's first frame to whoever resumed it.
    let (lo, top) =
        crate::stack::running().map_or((0, usize::MAX), |r| (r.guard_hi, r.guard_hi + r.size));
    let mut ips = Vec::with_capacity(32);
    backtrace::trace(|f| {
        let sp = f.sp() as usize;
        if sp != 0 && !(lo..=top).contains(&sp) {
            return false;
        }
        ips.push(f.ip() as usize);
        ips.len() < MAX_FRAMES
    });
    ips
}

crate::loom::thread_local! {
    /// Where a goroutine resumed by a dump leaves its frames: the dump resumes it on its own
    /// thread, so the answer goes through the thread, not through the switch. (Not a `const`
    /// initialiser: loom's `thread_local!` does not take one.)
    #[allow(clippy::missing_const_for_thread_local)]
    static TRACED: std::cell::RefCell<Vec<usize>> = std::cell::RefCell::new(Vec::new());
}

/// The traced goroutine's side: leaves its frames for the dump that resumed it.
#[inline(never)]
pub(super) fn put_traced(ips: Vec<usize>) {
    TRACED.with(|t| *t.borrow_mut() = ips);
}

/// The dump's side: the frames the goroutine it resumed left.
#[inline(never)]
fn take_traced() -> Vec<usize> {
    TRACED.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

/// Frames a goroutine's stack shows at most in a dump.
const MAX_FRAMES: usize = 100;

/// The frames of goroutine `g` for the dump: the caller's own, a parked goroutine's (walked
/// on its stack, see the module docs), or `None` (running elsewhere, runnable, in a
/// syscall, or a claim that lost a race with the sweep or a waker: a snapshot).
fn frames_of(g: &Arc<G>) -> Option<Vec<usize>> {
    if super::m::current_g().is_some_and(|me| std::ptr::eq(me, &**g)) {
        return Some(own_frames());
    }
    let put_back = |at: usize, bytes: &[u8]| {
        super::copyout::restore_stack(at, bytes);
        g.sched.stats.stacks_out.fetch_sub(1, Relaxed);
    };
    if !g.pstack.claim_in_place(&g.state, put_back) {
        return None;
    }
    // SAFETY: we hold the claim: no M runs the goroutine or takes its coroutine until we let
    // it go (`execute` waits in `stack_in`), and the sweep leaves it alone.
    let co = unsafe { g.co.with_mut(|c| (*c).take()) };
    let ips = co.map(|mut co| {
        // Should the walk overflow the goroutine's stack, the handler names it.
        let prev = crate::stack::running();
        crate::stack::set_running(Some(co.running_record(g.goid())));
        let r = co.resume(super::co::Resume::Trace);
        crate::stack::set_running(prev);
        let ips = match r {
            corosensei::CoroutineResult::Yield(super::co::Suspend::Traced) => take_traced(),
            _ => unreachable!("a parked goroutine answers a trace request with its frames"),
        };
        // SAFETY: still claimed, as above.
        unsafe { g.co.with_mut(|c| *c = Some(co)) };
        ips
    });
    g.pstack.release_claim(&g.state);
    ips
}

/// One symbolized frame: a function name (demangled, without its hash) and where.
#[derive(Clone)]
struct Frame {
    name: String,
    at: Option<String>,
    /// Its file is gmp's, a dependency's or the standard library's (see [`internal`]).
    foreign_file: bool,
    /// Its file is one of gmp's crates.
    gmp_file: bool,
}

/// Symbolized return addresses, resolved once each per dump.
#[derive(Default)]
struct SymbolCache {
    by_ip: std::collections::HashMap<usize, Vec<Frame>>,
}

impl SymbolCache {
    /// The frames at `ip`, innermost first (inlined calls are frames too).
    fn resolve(&mut self, ip: usize) -> &[Frame] {
        self.by_ip.entry(ip).or_insert_with(|| {
            let mut frames = Vec::new();
            // An ip is a return address: look up the call before it (backtrace's own rule).
            backtrace::resolve((ip as *mut std::ffi::c_void).wrapping_byte_sub(1), |sym| {
                let name = sym
                    .name()
                    .map_or_else(|| format!("{ip:#x}"), |n| format!("{n:#}"));
                let at = match (sym.filename(), sym.lineno()) {
                    (Some(f), Some(l)) => Some(format!("{}:{l}", relative(f))),
                    _ => None,
                };
                let file = sym.filename().map(|f| f.to_string_lossy().into_owned());
                let gmp_file = file.as_deref().is_some_and(|f| {
                    ["gmp-core/src/", "gmp-chan/src/", "gmp-sync/src/"]
                        .iter()
                        .any(|d| f.contains(d))
                });
                let foreign_file = gmp_file
                    || file.as_deref().is_some_and(|f| {
                        f.starts_with("/rustc/") || f.contains("/.cargo/registry/")
                    });
                frames.push(Frame {
                    name,
                    at,
                    foreign_file,
                    gmp_file,
                });
            });
            frames
        })
    }
}

/// `path` relative to the current directory when it lies below it (as spawn sites print).
fn relative(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|d| path.strip_prefix(d).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}

/// Whether a frame belongs to gmp, its coroutines, a dependency or the standard library:
/// folded in a dump, except the gmp call the user's code made (which says what it waits in).
/// By name, and by file for the frames an optimised build inlined (they carry a bare
/// function name).
fn internal(f: &Frame) -> bool {
    let name = f.name.trim_start_matches('<');
    let by_name = [
        "gmp_core::",
        "gmp_chan::",
        "gmp_sync::",
        "corosensei::",
        "backtrace::",
        "std::",
        "core::",
        "alloc::",
        "__rust",
        "rust_begin_unwind",
        "stack_init_trampoline",
    ]
    .iter()
    .any(|p| name.starts_with(p));
    by_name || f.foreign_file
}

/// Go's traceback of one goroutine, innermost first: the gmp call it waits in (`name(...)`),
/// then the user's frames, each with `file:line` indented below it; gmp's and std's own
/// frames between and below them are folded.
fn write_stack(out: &mut String, frames: &[Frame]) {
    let first_user = frames.iter().position(|f| !internal(f));
    // The gmp frame the user's code called: the operation it waits in. (Builds with only
    // line tables, as gmp's release profile, name functions without their path.)
    let entry = first_user.and_then(|u| {
        frames[..u]
            .iter()
            .rev()
            .find(|f| f.gmp_file || f.name.trim_start_matches('<').starts_with("gmp_"))
    });
    if let Some(entry) = entry {
        let _ = writeln!(out, "{}(...)", entry.name);
    }
    for f in frames.iter().filter(|f| !internal(f)) {
        let _ = writeln!(out, "{}", f.name);
        if let Some(at) = &f.at {
            let _ = writeln!(out, "    {at}");
        }
    }
}

/// Go: `goroutineheader`: `goroutine 7 [chan receive, 3 minutes, locked to thread]:`.
fn header(out: &mut String, g: &G, now: u64, leaked: bool) {
    let w = g.state.load(Acquire);
    let status = state_text(g, w);
    let _ = write!(out, "goroutine {} [{status}", g::goid_of(w));
    if leaked {
        out.push_str(" (leaked)");
    }
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
///
/// In a synctest bubble the same predicate, timers aside, means every goroutine is durably
/// blocked: the bubble decides (`synctest.rs`: release `wait`, move the clock to the next
/// timer, or report), and the caller runs the returned action once it drops the lock.
pub(crate) fn checkdead(s: &Sched, l: &mut Locked) -> Quiet {
    if s.shutdown.load(SeqCst) || l.mcount > l.nmidle + l.nmidlelocked || l.poller.is_some() {
        return Quiet::Nothing;
    }
    // A goroutine parked on a socket can be woken by the network, even by a peer outside
    // this runtime (Go: the M blocked in netpoll is not idle).
    if s.netpoll_any_waiters() {
        return Quiet::Nothing;
    }
    // Nor one waiting in `block_on`: its waker may be another runtime's (tokio's) thread.
    if s.external_waits.load(SeqCst) > 0 {
        return Quiet::Nothing;
    }
    let main_goexited = s.main_goexited.load(SeqCst);
    if !s.deadlock_detection && !main_goexited {
        return Quiet::Nothing;
    }
    if s.runqsize.load(SeqCst) > 0 {
        return Quiet::Nothing;
    }
    for p in s.allp.iter() {
        // Runnable work, or (outside a bubble) a timer that can still wake someone.
        if !p.runq.is_empty() || (p.timer0.load(SeqCst) != 0 && s.bubble.is_none()) {
            return Quiet::Nothing;
        }
    }
    let mut waiting = 0;
    for g in s.allgs.lock().iter() {
        let w = g.state.load(SeqCst);
        match w & g::STATUS_MASK {
            g::WAITING => waiting += 1,
            g::DEAD => {}
            _ => return Quiet::Nothing, // runnable, running, in a syscall or blocking its thread
        }
    }
    if let Some(b) = &s.bubble {
        if waiting > 0 {
            return b.quiescent(s, l);
        }
    }
    if waiting == 0 {
        if main_goexited {
            s.report_fatal("no goroutines (main called runtime.Goexit) - deadlock!".into());
        }
        return Quiet::Nothing;
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
    Quiet::Nothing
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
