//! The scheduler's trace hooks (Go: `traceGoStart`, `traceGoPark`, `traceGoUnpark`,
//! `traceGoCreate`, `traceGoSysCall`, `traceGoSysExit`, `traceProcSteal` in
//! runtime/traceruntime.go): one call at each place where something worth a trace event
//! happens, each telling `crate::trace` what and on whose track.
//!
//! # Cost
//!
//! Each hook is `#[inline(always)]` and, when no trace runs in the process, only loads
//! `trace::SESSIONS` (relaxed) and branches on it; its body is a `#[cold]` out-of-line
//! function. With a trace running on another runtime, the body returns after looking at its
//! own runtime's session.
//!
//! # Clock reads
//!
//! The hooks that end a run slice (`go_park`, `go_sched`, `go_end`, `go_syscall`) read the
//! clock and mark the M's `trace_tick_fresh` (the first three hold the end back, to be
//! written with the next start: `trace/buf.rs`, "Hand-offs"; `proc_stop` writes it out when
//! the M lets the P go). `schedule` keeps the mark only when
//! `findrunnable` finds the next goroutine at once in the P's own queue, with no timer run
//! first; `go_start` then dates the new slice at that tick (`Tick::Last`) instead of reading
//! the clock again. `go_unpark` and `go_create` record undated (`Tick::Undated`) on a P: the
//! encoder places them (`trace/mod.rs`, "Clock reads, and what is estimated").
//!
//! # Which buffer
//!
//! An event goes to the buffer of the P the calling M holds, which only that M appends to
//! (`trace/buf.rs`): every `push_p` below is on a P the caller holds. Off a P (sysmon, a plain
//! thread, an M inside `syscall(f)`) it goes to the runtime's shared buffer under its lock.

use super::g::G;
use super::m::{ctx, MCtx};
use super::p::P;
use super::{Sched, NO_P};
use crate::loom::atomic::Ordering::Relaxed;
use crate::trace::{self, Kind, Rec, Tick, Track};
use std::panic::Location;

fn site_of(g: &G) -> u64 {
    g.spawn_site.load(Relaxed) as u64
}

/// The record of `kind` for goroutine `g` on `track`.
fn rec(kind: Kind, track: Track, g: &G, arg: u64) -> Rec {
    Rec {
        kind,
        track,
        goid: g.goid(),
        arg,
        site: site_of(g),
    }
}

/// `execute` is about to resume the goroutine `c.g` on its P: its run slice begins.
#[inline(always)]
pub(super) fn go_start(c: &MCtx) {
    if trace::on() {
        go_start_slow(c);
    }
}

#[cold]
#[inline(never)]
fn go_start_slow(c: &MCtx) {
    let Some(t) = c.sched.trace.active() else {
        return;
    };
    // SAFETY: `execute` set `c.g` to the G it runs, kept alive by the `Arc` it holds.
    let Some(g) = (unsafe { c.g.get().as_ref() }) else {
        return;
    };
    let p = c.p.get();
    if p != NO_P {
        let fresh = c.trace_tick_fresh.replace(false);
        // SAFETY: this M holds P `p`.
        unsafe { t.start_p(p, rec(Kind::GoStart, Track::p(p), g, 0), fresh) };
    }
}

/// `park_m`: the goroutine `g` suspended to park and is back on its M: its run slice ends,
/// with a park instant naming its wait reason. Recorded before the park commits, as Go's
/// `park_m` does: if a permit raced in, the goroutine continues at once, in a new slice.
#[inline(always)]
pub(super) fn go_park(c: &MCtx, g: &G) {
    if trace::on() {
        go_park_slow(c, g);
    }
}

/// `gosched_m`: the goroutine yielded: its run slice ends (it may continue at once, in a new
/// one).
#[inline(always)]
pub(super) fn go_sched(c: &MCtx, g: &G) {
    if trace::on() {
        go_sched_slow(c, g);
    }
}

/// `goexit0`: the goroutine ended: its last run slice ends.
#[inline(always)]
pub(super) fn go_end(c: &MCtx, g: &G) {
    if trace::on() {
        go_end_slow(c, g);
    }
}

#[cold]
#[inline(never)]
fn go_park_slow(c: &MCtx, g: &G) {
    go_stop(c, g, Kind::GoPark);
}

#[cold]
#[inline(never)]
fn go_sched_slow(c: &MCtx, g: &G) {
    go_stop(c, g, Kind::GoSched);
}

#[cold]
#[inline(never)]
fn go_end_slow(c: &MCtx, g: &G) {
    go_stop(c, g, Kind::GoEnd);
}

/// The three above, each with its `kind` a constant (the record's encoding then looks only
/// at the fields that kind has).
#[inline(always)]
fn go_stop(c: &MCtx, g: &G, kind: Kind) {
    let Some(t) = c.sched.trace.active() else {
        return;
    };
    let arg = match kind {
        Kind::GoPark => g.wait_word(),
        _ => 0,
    };
    let p = c.p.get();
    if p != NO_P {
        // SAFETY: this M holds P `p`.
        unsafe { t.stop_p(p, rec(kind, Track::p(p), g, arg)) };
        c.trace_tick_fresh.set(true);
    }
    // Without a P (never expected: a goroutine parks, yields and ends holding one) there is
    // no run slice to end.
}

/// `g` enters `syscall(f)` on this M, which still holds P `p`: its run slice on the P ends,
/// a `syscall` slice on the M begins.
#[inline(always)]
pub(super) fn go_syscall(c: &MCtx, p: usize, g: &G) {
    if trace::on() {
        go_syscall_slow(c, p, g);
    }
}

#[cold]
#[inline(never)]
fn go_syscall_slow(c: &MCtx, p: usize, g: &G) {
    if let Some(t) = c.sched.trace.active() {
        let m = c.m.id as u64;
        // SAFETY: the caller (`entersyscall`) still holds P `p`.
        unsafe { t.push_p(p, &[rec(Kind::GoSyscall, Track::p(p), g, m)]) };
    }
}

/// `g` left `syscall(f)`: its `syscall` slice ends; if this M holds a P again, the goroutine
/// runs on: a run slice begins there.
#[inline(always)]
pub(super) fn go_sysexit(c: &MCtx, g: &G) {
    if trace::on() {
        go_sysexit_slow(c, g);
    }
}

#[cold]
#[inline(never)]
fn go_sysexit_slow(c: &MCtx, g: &G) {
    let Some(t) = c.sched.trace.active() else {
        return;
    };
    let exit = rec(Kind::GoSysExit, Track::m(c.m.id), g, 0);
    match c.p.get() {
        NO_P => t.push_shared(exit),
        // One tick for both: the syscall slice ends where the run slice resumes.
        // SAFETY: this M holds P `p` (it took it back).
        p => unsafe { t.push_p(p, &[exit, rec(Kind::GoStart, Track::p(p), g, 0)]) },
    }
}

/// Goroutine `goid` of `s` was parked and is made runnable by the caller (before it is
/// queued, so its next run cannot be dated before this); `pp` is the P of `s` the caller's M
/// holds (`None`: none). Undated (see "Clock reads" in the module docs).
#[inline(always)]
pub(super) fn go_unpark(s: &Sched, pp: Option<&P>, goid: u64) {
    if trace::on() {
        go_unpark_slow(s, pp, goid);
    }
}

#[cold]
#[inline(never)]
fn go_unpark_slow(s: &Sched, pp: Option<&P>, goid: u64) {
    let Some(t) = s.trace.active() else {
        return;
    };
    match pp {
        // SAFETY: `pp` is the P the calling M holds (`ready`'s `current_p_of`).
        Some(pp) => unsafe { t.unpark_p(pp.id, goid) },
        None => t.push_shared(Rec::unpark(off_p_track(s), goid)),
    }
}

/// `releasep`: this M lets P `p` go: what the P's buffer holds back is written out (a slice
/// end waiting for the next start, a wake-up: `trace/buf.rs`, "Hand-offs"), so that a P left
/// idle has all its events in the buffer.
#[inline(always)]
pub(super) fn proc_stop(c: &MCtx, p: usize) {
    if trace::on() {
        proc_stop_slow(c, p);
    }
}

#[cold]
#[inline(never)]
fn proc_stop_slow(c: &MCtx, p: usize) {
    if let Some(t) = c.sched.trace.active() {
        // SAFETY: the caller (`releasep`) still holds P `p`.
        unsafe { t.flush_p(p) };
    }
}

/// The track of an event recorded off a P of `s`: the caller's M's if it is one of `s`'s,
/// else `outside`.
fn off_p_track(s: &Sched) -> Track {
    match ctx() {
        Some(c) if std::ptr::eq(&*c.sched, s) => Track::m(c.m.id),
        _ => Track::OUTSIDE,
    }
}

/// `newproc` made goroutine `goid` (spawned at `site`); `pp` is the P the caller's M holds
/// (`None`: no P of `s`). Undated on a P (see "Clock reads").
#[inline(always)]
pub(super) fn go_create(s: &Sched, pp: Option<&P>, goid: u64, site: &'static Location<'static>) {
    if trace::on() {
        go_create_slow(s, pp, goid, site);
    }
}

#[cold]
#[inline(never)]
fn go_create_slow(s: &Sched, pp: Option<&P>, goid: u64, site: &'static Location<'static>) {
    let Some(t) = s.trace.active() else {
        return;
    };
    let create = |track| Rec {
        kind: Kind::GoCreate,
        track,
        goid,
        arg: 0,
        site: site as *const Location<'static> as u64,
    };
    match pp {
        // SAFETY: `newproc`'s `pp` is the P the calling M holds (`current_p_of`).
        Some(pp) => unsafe { t.push_p_at(pp.id, &[create(Track::p(pp.id))], Tick::Undated) },
        None => t.push_shared(create(off_p_track(s))),
    }
}

/// P `pp` (held by this M) stole `g` from P `victim`.
#[inline(always)]
pub(super) fn steal(c: &MCtx, pp: &P, victim: usize, g: &G) {
    if trace::on() {
        steal_slow(c, pp, victim, g);
    }
}

#[cold]
#[inline(never)]
fn steal_slow(c: &MCtx, pp: &P, victim: usize, g: &G) {
    if let Some(t) = c.sched.trace.active() {
        let steal = Rec {
            site: 0,
            ..rec(Kind::Steal, Track::p(pp.id), g, victim as u64)
        };
        // SAFETY: this M holds `pp` (the thief).
        unsafe { t.push_p(pp.id, &[steal]) };
    }
}

/// sysmon took P `p` from an M in `syscall(f)`.
#[inline(always)]
pub(super) fn retake(s: &Sched, p: usize) {
    if trace::on() {
        retake_slow(s, p);
    }
}

#[cold]
#[inline(never)]
fn retake_slow(s: &Sched, p: usize) {
    if let Some(t) = s.trace.active() {
        t.push_shared(Rec {
            kind: Kind::Retake,
            track: Track::p(p),
            goid: 0,
            arg: 0,
            site: 0,
        });
    }
}

/// The goroutines running on `s`'s Ps right now, as `(P, goid, spawn site)`: a trace
/// starting opens their run slices (Go: the `GoStatus` events). One scan of `allgs` for
/// their sites.
pub(crate) fn running_goroutines(s: &Sched) -> Vec<(usize, u64, u64)> {
    let mut running: Vec<(usize, u64, u64)> = s
        .allp
        .iter()
        .filter(|pp| pp.status.load(Relaxed) == super::P_RUNNING)
        .map(|pp| (pp.id, pp.curg.load(Relaxed), 0))
        .filter(|r| r.1 != 0)
        .collect();
    if running.is_empty() {
        return running;
    }
    for g in s.allgs.lock().iter() {
        let goid = g.goid();
        if let Some(r) = running.iter_mut().find(|r| r.1 == goid) {
            r.2 = site_of(g);
        }
    }
    running
}
