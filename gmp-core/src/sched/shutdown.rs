//! Shutdown: cancelling every goroutine and stopping the Ms (Go: `main` returning, except
//! that gmp unwinds the goroutines, so their drops run, instead of exiting the process), and
//! the fatal report that ends `run` (a deadlock, the thread limit).
//!
//! # The protocol
//!
//! - `shutdown` sets `Sched::shutdown`, then sweeps `allgs`: each goroutine is flagged
//!   `cancel` and, if parked, made runnable (`g::sweep_cancel`). A goroutine that was running
//!   during the sweep sees its flag at its next scheduling point (`check_cancel`) or when its
//!   M commits its next park (`park_m` → `recheck_cancel_after_park`): the SeqCst hand-shake
//!   in `g.rs` makes sure one of the two sides sees the other.
//! - Cancelled goroutines unwind with a private payload; their destructors may block (they
//!   are wired to their thread while they do, see `gopark.rs`).
//! - Ms exit when `shutdown` is set and `ngoroutines` is 0. The last goroutine to end wakes
//!   every M (`gdestroy` → `wake_all_ms`); the fence pair between `shutdown` and `gdestroy`
//!   makes sure either it or `shutdown` does.
//! - `shutdown` returns after joining every M thread and sysmon, then frees what is left:
//!   timers, queued Gs, free Gs and their stacks.

use super::dump::abandoned_state;
use super::g::{self, G};
use super::m::MShared;
use super::{Sched, PANICKED_EARLIER_MAX};
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;

impl Sched {
    /// Cancels every goroutine and stops the Ms (Go: main returning, but unwinding instead of
    /// exiting the process). Returns once every M thread has exited, or after the exit grace
    /// with the goroutines left abandoned.
    pub(crate) fn shutdown(self: &Arc<Self>) {
        self.start_shutdown();
        self.finish_shutdown();
    }

    /// [`shutdown`](Self::shutdown) called by a goroutine of this runtime (the last handle
    /// dropped inside it): waiting here would wait for the caller itself, so the wait and the
    /// clean-up run on a thread of their own, and the caller is cancelled at its next
    /// scheduling point.
    pub(crate) fn shutdown_from_inside(self: &Arc<Self>) {
        self.start_shutdown();
        let s = self.clone();
        let spawned = std::thread::Builder::new()
            .name("gmp-exit".into())
            .spawn(move || s.finish_shutdown());
        if let Err(e) = spawned {
            // The Ms still exit when the goroutines end; only the clean-up is lost.
            eprintln!(
                "gmp: cannot start the thread that ends the runtime ({e}): its memory is not freed"
            );
        }
    }

    /// The first half of shutdown: flags it, cancels every goroutine (the parked ones are
    /// made runnable to unwind), and wakes Ms to run them.
    fn start_shutdown(self: &Arc<Self>) {
        self.shutdown.store(true, SeqCst);
        // Pairs with the fence in `gdestroy` (the last goroutine's exit wakes the Ms).
        crate::loom::seqcst_fence();
        let gs: Vec<Arc<G>> = self.allgs.lock().clone();
        for g in &gs {
            if g::sweep_cancel(&g.state, &g.cancel) {
                self.globrunqput(g.clone());
            }
        }
        drop(gs);
        // Get Ms onto the cancelled goroutines (at least one M per P with work).
        for _ in 0..self.gomaxprocs {
            if self.runqsize.load(SeqCst) == 0 {
                break;
            }
            self.startm(None, false);
        }
        self.wake_all_ms();
    }

    /// The second half of shutdown: waits up to the exit grace for the goroutines to end, then
    /// joins the Ms and frees what is left; or abandons the goroutines still there.
    fn finish_shutdown(self: &Arc<Self>) {
        let ended = self.wait_for_goroutines();
        crate::trace::at_shutdown(self);
        if !ended {
            self.abandon();
            return;
        }
        loop {
            let threads = std::mem::take(&mut self.lock.lock().threads);
            if threads.is_empty() {
                break;
            }
            for t in threads {
                let _ = t.join();
            }
        }
        // Free what is left: timers, free Gs (and their stacks), and the G registry.
        for p in self.allp.iter() {
            drop(p.timers.lock().drain());
            p.timer0.store(0, SeqCst);
            // SAFETY: every M has exited, so nobody else owns this P's queue.
            for g in unsafe { p.runq.drain() } {
                drop(g);
            }
            // SAFETY: every M has exited, so nobody holds this P.
            let free = p.gfree.with_mut(|v| unsafe { std::mem::take(&mut *v) });
            for g in free {
                self.release_g(g);
            }
            // SAFETY: as above.
            let cos = p.cocache.with_mut(|v| unsafe { std::mem::take(&mut *v) });
            for co in cos {
                self.stacks.free(co.into_stack());
            }
            // The copy-out lists hold Gs, which hold the scheduler: a cycle to break.
            // SAFETY: as above.
            p.copyout_list.with_mut(|l| unsafe { (*l).clear() });
        }
        self.copyout_queue.lock().clear();
        let free = std::mem::take(&mut self.lock.lock().gfree);
        for g in free {
            self.release_g(g);
        }
        let rest = std::mem::take(&mut *self.allgs.lock());
        for g in rest {
            // Retiring a coroutine resumes it: its stack must be in place.
            let w = g.state.load(Acquire);
            g.pstack.stack_in(&g.state, w, |at, bytes| {
                super::copyout::restore_stack(at, bytes);
                self.stats.stacks_out.fetch_sub(1, Relaxed);
            });
            // SAFETY: all Ms are gone; nothing runs these Gs any more.
            if let Some(co) = unsafe { g.co.with_mut(|c| (*c).take()) } {
                self.stacks.free(co.into_stack());
            }
            // SAFETY: as above.
            if let Some(t) = unsafe { g.task.with_mut(|t| (*t).take()) } {
                t.cancel(crate::JoinError::Cancelled, self, g.goid());
            }
        }
    }

    /// Waits until no goroutine is left (`true`), or until the exit grace has passed (`false`).
    fn wait_for_goroutines(&self) -> bool {
        // `None`: for ever (under loom, or a grace too long for an `Instant`).
        let deadline = self
            .exit_grace
            .and_then(|grace| crate::loom::now().checked_add(grace));
        // The last goroutine's `gdestroy` wakes `exit_note` (`wake_all_ms`); the fences of
        // `start_shutdown` and `gdestroy` make sure it sees `shutdown` or we see its decrement.
        while self.ngoroutines.load(SeqCst) > 0 {
            match deadline {
                None => self.exit_note.park(),
                Some(d) if crate::loom::now() >= d => return false,
                Some(d) => {
                    self.exit_note.park_deadline(d);
                }
            }
        }
        true
    }

    /// Go's exit: the goroutines still alive after the exit grace are left as they are. Each
    /// gets a line on stderr; the threads of the Ms (and sysmon) are detached, never joined;
    /// nothing they may still touch is freed.
    fn abandon(&self) {
        let gs: Vec<Arc<G>> = self.allgs.lock().clone();
        let mut live: Vec<&Arc<G>> = gs.iter().filter(|g| g.status() != g::DEAD).collect();
        live.sort_by_key(|g| g.goid());
        for g in live {
            eprintln!(
                "gmp: goroutine {} [{}] abandoned at exit",
                g.goid(),
                abandoned_state(g)
            );
        }
        // Dropping a JoinHandle detaches its thread.
        drop(std::mem::take(&mut self.lock.lock().threads));
    }

    /// Wakes every idle M and the poller, so they notice shutdown, and whoever waits in
    /// `shutdown` for the last goroutine.
    pub(crate) fn wake_all_ms(&self) {
        let l = self.lock.lock();
        let ms: Vec<Arc<MShared>> = l.allm.clone();
        drop(l);
        for mm in ms {
            mm.note.unpark();
        }
        self.sysmon_note.unpark();
        self.exit_note.unpark();
        // The poller may be blocked in epoll rather than on its note (Go: netpollBreak).
        if let Some(np) = self.netpoll.get() {
            np.netpoll_break();
        }
    }

    /// A panic nobody joined (Go's crash): goroutine `goid` panicked with `msg` and its handle
    /// was dropped before, or is dropped now, without `join`; or a drop the runtime ran for it
    /// panicked. It is remembered for the deadlock report; under
    /// [`UnhandledPanic::ShutdownRuntime`](crate::UnhandledPanic) it is fatal: `run` panics
    /// with `goroutine 7 panicked: msg` and every goroutine is cancelled.
    pub(crate) fn unhandled_panic(self: &Arc<Self>, goid: u64, msg: String) {
        {
            let mut earlier = self.panicked_earlier.lock();
            if earlier.len() < PANICKED_EARLIER_MAX {
                earlier.push((goid, msg.clone()));
            }
        }
        if self.unhandled == crate::UnhandledPanic::ShutdownRuntime && !self.shutdown.load(SeqCst) {
            self.report_fatal(format!("goroutine {goid} panicked: {msg}"));
            self.start_shutdown();
        }
    }

    /// `goroutine 7 panicked earlier: boom` for each remembered unhandled panic, for the
    /// deadlock report (their lost `done()` is the usual cause).
    pub(crate) fn panicked_earlier(&self) -> String {
        let mut out = String::new();
        for (goid, msg) in self.panicked_earlier.lock().iter() {
            out.push_str(&format!("goroutine {goid} panicked earlier: {msg}\n"));
        }
        out
    }

    /// Reports a fatal condition (deadlock) to the threads waiting in `run`.
    pub(crate) fn report_fatal(&self, msg: String) {
        let mut f = self.fatal.lock();
        if f.is_some() {
            return;
        }
        *f = Some(msg);
        drop(f);
        for w in self.run_waiters.lock().iter() {
            w.unpark();
        }
    }
}
