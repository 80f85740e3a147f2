//! Goroutines wired to their M (Go: `LockOSThread`, `UnlockOSThread`, `startlockedm`,
//! `stoplockedm`).
//!
//! # The protocol
//!
//! - `lock_os_thread` records the M in the goroutine (`G::lockedm`) and the goroutine in the
//!   M (`MCtx::lockedg`); nesting is counted (`G::locked`), the last `unlock_os_thread`
//!   unwires.
//! - A wired goroutine runs only on its M. When another M dequeues it, that M hands it and
//!   its own P to the wired M (`startlockedm`: `locked_handoff`, then `nextp`, then the note)
//!   and goes idle.
//! - While its goroutine is not running, a wired M gives its P away (`handoffp`) and sleeps
//!   in `stoplockedm` until the goroutine is handed back with a P. Such Ms count in
//!   `nmidlelocked`, so the deadlock detector treats them as idle.
//! - gmp also wires a goroutine for the length of a suspension while it unwinds (see
//!   `gopark::suspend`): std's panic count is per thread.

use super::dump::checkdead;
use super::g::G;
use super::m::{ctx, current_g_arc, MCtx, MShared};
use super::p::{acquirep, releasep};
use super::NO_P;
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;

/// Go: `startlockedm`: `g` is locked to `m2`: give it our P and the goroutine.
pub(super) fn startlockedm(c: &MCtx, g: Arc<G>, m2: Arc<MShared>) {
    let p = releasep(c);
    *m2.locked_handoff.lock() = Some(g);
    m2.nextp.store(p, SeqCst);
    m2.note.unpark();
}

/// Go: `stoplockedm`: hand our P to someone else and sleep until our locked goroutine is
/// handed back with a P. `None` when the M should exit.
pub(super) fn stoplockedm(c: &MCtx) -> Option<Arc<G>> {
    let s = &c.sched;
    if c.p.get() != NO_P {
        let p = releasep(c);
        s.handoffp(p);
    }
    {
        let mut l = s.lock.lock();
        l.nmidlelocked += 1;
        let quiet = checkdead(s, &mut l);
        drop(l);
        quiet.run(s);
    }
    let g = loop {
        if let Some(g) = c.m.locked_handoff.lock().take() {
            break Some(g);
        }
        if s.shutdown.load(SeqCst) && s.ngoroutines.load(SeqCst) == 0 {
            break None;
        }
        c.m.note.park();
    };
    s.lock.lock().nmidlelocked -= 1;
    if g.is_some() {
        let p = c.m.nextp.swap(NO_P, SeqCst);
        acquirep(c, p);
    }
    g
}

/// Go: `LockOSThread`: wires the calling goroutine to its M. Returns `false` on a plain thread.
pub(crate) fn lock_os_thread() -> bool {
    let Some(c) = ctx() else { return false };
    let Some(g) = current_g_arc(c) else {
        return false;
    };
    // SAFETY: the running goroutine's own cells.
    let first = g.locked.with_mut(|n| unsafe {
        *n = (*n).checked_add(1).expect("LockOSThread nesting overflow");
        *n == 1
    });
    if first {
        // SAFETY: as above.
        unsafe { g.lockedm.with_mut(|m| *m = Some(c.m.clone())) };
        c.lockedg.set(Some(g));
    }
    true
}

/// Go: `UnlockOSThread`: undoes one `lock_os_thread`; the last one unwires.
pub(crate) fn unlock_os_thread() {
    let Some(c) = ctx() else { return };
    let Some(g) = current_g_arc(c) else { return };
    // SAFETY: the running goroutine's own cells.
    let last = g.locked.with_mut(|n| unsafe {
        if *n == 0 {
            return false;
        }
        *n -= 1;
        *n == 0
    });
    if last {
        // SAFETY: as above.
        unsafe { g.lockedm.with_mut(|m| *m = None) };
        c.lockedg.set(None);
    }
}
