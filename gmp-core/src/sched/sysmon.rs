//! sysmon (Go: `sysmon`, `retake`, `preemptone`): a dedicated thread, without a P, that hands
//! the P of an M stuck in `syscall(f)` to another M and asks goroutines that hold their P for
//! over 10 ms to yield at their next preemption point.
//!
//! It sleeps 20 µs between rounds while it finds work, doubling up to 10 ms after 50 idle
//! rounds (Go's schedule), and sleeps until woken when every P is idle and no parked stack
//! waits to be copied out (`copyout.rs`, swept every 10 ms), so an idle runtime costs no CPU.

use super::{copyout, Sched, P_RUNNING, P_SYSCALL};
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;
use std::time::Duration;

/// Same as Go's sysmon start delay (runtime/proc.go: `delay = 20`).
const MIN_DELAY: Duration = Duration::from_micros(20);
/// Same as Go's cap (`if delay > 10*1000 { delay = 10 * 1000 }`).
const MAX_DELAY: Duration = Duration::from_millis(10);
/// Same as Go: after 50 idle rounds (1 ms) sysmon starts doubling its sleep.
const IDLE_ROUNDS_BEFORE_BACKOFF: u32 = 50;
/// Same as Go's `forcePreemptNS`: a goroutine may hold its P this long between scheduling points.
const FORCE_PREEMPT_NS: u64 = 10_000_000;
/// A P stays with an M in a syscall for at least one sysmon tick (Go retakes after the P has
/// been seen in `_Psyscall` by a previous round, ~20 µs).
const SYSCALL_GRACE_NS: u64 = 20_000;
/// Go: a P in a syscall with nothing else to run is retaken after 10 ms anyway.
const SYSCALL_IDLE_RETAKE_NS: u64 = 10_000_000;

/// Same as Go's sysmon: poll the network if it has not been polled for 10 ms.
const NETPOLL_INTERVAL_NS: u64 = 10_000_000;

/// What sysmon remembers of a P between rounds (Go: `sysmontick`).
#[derive(Clone, Copy, Default)]
struct Tick {
    schedtick: u32,
    schedwhen: u64,
    /// The hog warning was printed for this time slice.
    warned: bool,
}

/// Go: `sysmon`: the thread's body, until the runtime shuts down.
pub(super) fn sysmon(s: Arc<Sched>) {
    let mut ticks = vec![Tick::default(); s.gomaxprocs];
    let mut idle = 0u32;
    let mut delay = MIN_DELAY;
    let mut sweeper = copyout::Sweeper::default();
    loop {
        if idle == 0 {
            delay = MIN_DELAY;
        } else if idle > IDLE_ROUNDS_BEFORE_BACKOFF {
            delay = (delay * 2).min(MAX_DELAY);
        }
        s.sysmon_note.park_deadline(crate::loom::now() + delay);
        s.coarse_now.store(s.nanotime(crate::loom::now()), Relaxed);
        if s.shutdown.load(SeqCst) && s.ngoroutines.load(SeqCst) == 0 {
            return;
        }
        let now = s.nanotime(crate::loom::now());
        sweeper.round(&s, now);
        // Go's background scavenger: the pages of stacks freed beyond the warm budget.
        s.stacks.scavenge(crate::stack::SCAVENGE_PER_ROUND);
        if s.npidle.load(SeqCst) == s.gomaxprocs {
            // Nothing runs: sleep until a P gets busy (`pidleget` wakes us; Go: `sysmonwait`),
            // unless parked stacks wait to be copied out or freed ones to be scavenged (they
            // keep sysmon on its rounds, at most 10 ms apart; a list handed over meanwhile
            // wakes it).
            s.sysmon_wait.store(true, SeqCst);
            crate::loom::seqcst_fence();
            let all_idle = s.npidle.load(SeqCst) == s.gomaxprocs && !s.shutdown.load(SeqCst);
            if all_idle && (sweeper.pending(&s) || s.stacks.has_dirty()) {
                // Only copy-out work: keep the rounds, backing off as when idle.
                s.sysmon_wait.store(false, SeqCst);
                idle += 1;
                continue;
            }
            if all_idle {
                s.sysmon_note.park();
            }
            s.sysmon_wait.store(false, SeqCst);
            s.coarse_now.store(s.nanotime(crate::loom::now()), Relaxed);
            idle = 0;
            continue;
        }
        // Go: poll the network if nobody has for 10 ms and no M is blocked in the poller, so
        // Ps that never run out of work (and so never poll) do not starve I/O.
        let mut busy = false;
        if s.poll_until.load(SeqCst) == 0
            && s.netpoll_any_waiters()
            && s.lastpoll.load(Relaxed) + NETPOLL_INTERVAL_NS < now
        {
            let ready = s.netpoll_nonblock();
            if !ready.is_empty() {
                s.injectglist(ready); // no P here: onto the global queue, with wakep
                busy = true;
            }
        }
        if retake(&s, now, &mut ticks) > 0 || busy {
            idle = 0;
        } else {
            idle += 1;
        }
    }
}

/// A goroutine has held P `pp` past the hog warning without reaching a scheduling point. If
/// others wait for the P (its run queue, the global one, a timer of the P that is due), says
/// so on stderr, once per time slice; returns whether it did.
fn warn_hog(s: &Sched, pp: &super::P, now: u64) -> bool {
    let t0 = pp.timer0.load(SeqCst);
    // (A bubble's timers count in virtual time, not sysmon's.)
    let timer_due = t0 != 0 && t0 <= now && s.bubble.is_none();
    let waiting = !pp.runq.is_empty() || s.runqsize.load(SeqCst) > 0 || timer_due;
    if !waiting || s.shutdown.load(SeqCst) {
        return false;
    }
    let goid = pp.curg.load(Relaxed);
    if goid == 0 {
        // No goroutine holds the P: its M is between goroutines (descheduled by the OS on
        // a loaded machine). Nothing to name.
        return false;
    }
    let site = s
        .allgs
        .lock()
        .iter()
        .find(|g| g.goid() == goid)
        .and_then(|g| g.spawn_site());
    let site = site.map_or_else(|| "by the runtime".to_string(), |l| format!("at {l}"));
    eprintln!(
        "gmp: goroutine {goid} has run {} ms without a scheduling point (spawned {site}); \
         other goroutines on its P are waiting",
        s.hog_warning_ns / 1_000_000
    );
    true
}

/// Go: `retake`: hands off the Ps of Ms in long syscalls and flags goroutines that have held
/// their P for over 10 ms. Returns how many Ps it retook.
fn retake(s: &Arc<Sched>, now: u64, ticks: &mut [Tick]) -> usize {
    let mut n = 0;
    for (i, pp) in s.allp.iter().enumerate() {
        let t = pp.schedtick.load(Relaxed);
        if ticks[i].schedtick != t {
            ticks[i] = Tick {
                schedtick: t,
                schedwhen: now,
                warned: false,
            };
        }
        match pp.status.load(SeqCst) {
            // Go: preemptone, when the same time slice has lasted over 10 ms.
            P_RUNNING if ticks[i].schedwhen + FORCE_PREEMPT_NS <= now => {
                pp.preempt.store(true, Relaxed);
                let held = now - ticks[i].schedwhen;
                if s.hog_warning_ns != 0 && held >= s.hog_warning_ns && !ticks[i].warned {
                    ticks[i].warned = warn_hog(s, pp, now);
                }
            }
            P_SYSCALL => {
                let when = pp.syscall_when.load(Relaxed);
                if now < when + SYSCALL_GRACE_NS {
                    continue;
                }
                // Go: do not retake a P with nothing to run while other Ps (idle or spinning)
                // can take new work, unless the syscall has lasted 10 ms.
                if pp.runq.is_empty()
                    && s.nmspinning.load(SeqCst) + s.npidle.load(SeqCst) > 0
                    && now < when + SYSCALL_IDLE_RETAKE_NS
                {
                    continue;
                }
                if pp
                    .status
                    .compare_exchange(P_SYSCALL, super::P_IDLE, SeqCst, SeqCst)
                    .is_ok()
                {
                    n += 1;
                    s.stats.ngsyscall_nop.fetch_add(1, Relaxed);
                    super::trace::retake(s, i);
                    s.handoffp(i);
                }
            }
            _ => {}
        }
    }
    n
}
