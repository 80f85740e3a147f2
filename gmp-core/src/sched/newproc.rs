//! Goroutine creation and reuse (Go: `newproc`, `malg`, `gfget`/`gfput`), and the per-P
//! caches that make a spawn cheap: free Gs, coroutines with their stacks (Go: `stackcache`),
//! goroutine ids (Go: `goidcache`).
//!
//! # Invariants
//!
//! - A G is reused after it dies; it is never freed while the runtime lives unless the free
//!   lists overflow (`release_g`). `allgs` holds every G not released, with each G's index in
//!   it, so release is O(1).
//! - A free G has no stack: stacks follow *running* goroutines. A goroutine that finishes
//!   leaves its coroutine in its P's cache (`coput`) and the next goroutine to run there
//!   without one takes it (`coget`), so a spawner that outruns its goroutines keeps few stacks
//!   in use.
//! - The per-P caches (`gfree`, `cocache`, `goidcache`) are touched only by the M holding the
//!   P; they spill to and refill from shared state (`Locked::gfree`, the stack pool,
//!   `goidgen`) in batches, as Go's do.
//! - A new goroutine is published by the Release store of its RUNNABLE state word, after every
//!   other field is written; it then goes into the spawner's `runnext` (or the global queue).

use super::co::Co;
use super::g::{self, TaskBox, G};
use super::m::current_p_of;
use super::p::P;
use super::Sched;
use crate::loom::atomic::Ordering::*;
use crate::loom::Arc;
use std::panic::Location;

/// Per-P free-G list bounds (Go: `gfput` moves Gs to the global list at 64, down to 32).
const GFREE_MAX: usize = 64;
const GFREE_KEEP: usize = 32;
/// Beyond this many free Gs in the global list, dead Gs are released.
const GFREE_GLOBAL_MAX: usize = 4096;
/// Per-P cache of idle coroutines (with their stacks): at this many, half go back to the
/// stack pool (Go: `stackcache` per P, `_StackCacheSize`, refilled and released by halves).
const CO_CACHE_MAX: usize = 32;
/// Same as Go's `_GoidCacheBatch` (runtime/proc.go).
const GOID_CACHE_BATCH: u64 = 16;

impl Sched {
    /// Go: `newproc`. Creates a goroutine running `task` and makes it runnable. `pp` is the
    /// caller's P when the caller is an M of this runtime. Returns the goroutine id.
    pub(crate) fn newproc(
        self: &Arc<Self>,
        task: TaskBox,
        site: &'static Location<'static>,
        parent: u64,
        is_main: bool,
    ) -> u64 {
        let pp = current_p_of(self);
        super::copyout::copyout_assist(self);
        let g = match pp {
            Some(pp) => self.gfget(pp),
            None => self.gfget_global(),
        }
        .unwrap_or_else(|| self.malg());
        let goid = match pp {
            Some(pp) => self.goid_from_cache(pp),
            None => self.goidgen.fetch_add(1, Relaxed) + 1,
        };
        if self.shutdown.load(SeqCst) {
            task.cancel(crate::JoinError::Cancelled, self, goid);
            return goid;
        }
        // SAFETY: a free G is owned by whoever took it off a free list; it is not published
        // until the state store below.
        unsafe {
            g.task.with_mut(|t| *t = Some(task));
            g.budget.with_mut(|b| *b = g::BUDGET);
            g.locked.with_mut(|l| *l = 0);
        }
        g.spawn_site
            .store(site as *const Location<'static> as *mut _, Relaxed);
        g.parent.store(parent, Relaxed);
        g.cancel.store(false, Relaxed);
        g.is_main.store(is_main, Relaxed);
        self.ngoroutines.fetch_add(1, Relaxed);
        self.stats.count_created(pp);
        g.state.store(g::runnable_word(goid), Release);
        super::trace::go_create(self, pp, goid, site);
        match pp {
            Some(pp) => self.runqput(pp, g, true),
            None => self.globrunqput(g),
        }
        self.wakep();
        goid
    }

    /// Go: `malg` + `allgadd`: a brand-new G, without a stack until it first runs.
    fn malg(self: &Arc<Self>) -> Arc<G> {
        let g = Arc::new(G::new(self.clone()));
        let mut all = self.allgs.lock();
        g.allg_index.store(all.len(), Relaxed);
        all.push(g.clone());
        g
    }

    /// Go: the `pp.goidcache` refill in `newproc1`: ids are reserved in batches of 16.
    fn goid_from_cache(&self, pp: &P) -> u64 {
        // SAFETY: owner-only field of the P this M holds.
        pp.goidcache.with_mut(|c| unsafe {
            let c = &mut *c;
            if c.0 == c.1 {
                let end = self.goidgen.fetch_add(GOID_CACHE_BATCH, Relaxed) + GOID_CACHE_BATCH;
                *c = (end - GOID_CACHE_BATCH + 1, end + 1);
            }
            let id = c.0;
            c.0 += 1;
            id
        })
    }

    /// Go: `gfget`.
    fn gfget(&self, pp: &P) -> Option<Arc<G>> {
        // SAFETY: owner-only field of the P this M holds.
        let local = pp.gfree.with_mut(|v| unsafe { (*v).pop() });
        if local.is_some() {
            return local;
        }
        let mut l = self.lock.lock();
        if l.gfree.is_empty() {
            return None;
        }
        let n = l.gfree.len().min(GFREE_KEEP);
        let at = l.gfree.len() - n;
        let mut batch = l.gfree.split_off(at);
        drop(l);
        let g = batch.pop();
        // SAFETY: as above.
        pp.gfree.with_mut(|v| unsafe { (*v).extend(batch) });
        g
    }

    /// `gfget` for a spawner without a P: straight from the global list.
    fn gfget_global(&self) -> Option<Arc<G>> {
        self.lock.lock().gfree.pop()
    }

    /// Go: `gfput`: keeps a dead G (its coroutine went to the P's cache) for reuse.
    pub(crate) fn gfput(&self, pp: &P, g: Arc<G>) {
        // SAFETY: owner-only field of the P this M holds.
        let spill = pp.gfree.with_mut(|v| unsafe {
            let v = &mut *v;
            v.push(g);
            if v.len() >= GFREE_MAX {
                v.split_off(GFREE_KEEP)
            } else {
                Vec::new()
            }
        });
        if spill.is_empty() {
            return;
        }
        let mut l = self.lock.lock();
        l.gfree.extend(spill);
        let excess = if l.gfree.len() > GFREE_GLOBAL_MAX {
            l.gfree.split_off(GFREE_GLOBAL_MAX)
        } else {
            Vec::new()
        };
        drop(l);
        for g in excess {
            self.release_g(g);
        }
    }

    /// Drops a dead G for good: its stack goes back to the pool, and it leaves `allgs`.
    pub(super) fn release_g(&self, g: Arc<G>) {
        // SAFETY: a G on a free list is owned by whoever took it off.
        if let Some(co) = unsafe { g.co.with_mut(|c| (*c).take()) } {
            self.stacks.free(co.into_stack());
        }
        let mut all = self.allgs.lock();
        let i = g.allg_index.load(Relaxed);
        debug_assert!(Arc::ptr_eq(&all[i], &g), "allgs index out of date");
        all.swap_remove(i);
        if let Some(moved) = all.get(i) {
            moved.allg_index.store(i, Relaxed);
        }
    }

    /// Go: `stackalloc` from the P's `stackcache`: an idle coroutine for a goroutine about
    /// to run its first time on `pp`, else a new one on a stack from the pool.
    pub(crate) fn coget(&self, pp: &P) -> std::io::Result<Co> {
        // SAFETY: owner-only field of the P this M holds.
        if let Some(co) = pp.cocache.with_mut(|v| unsafe { (*v).pop() }) {
            return Ok(co);
        }
        self.stacks.alloc().map(Co::new)
    }

    /// Go: `stackfree` into the P's `stackcache` (`stackcacherelease` at the limit): keeps a
    /// finished goroutine's coroutine for the next one.
    pub(crate) fn coput(&self, pp: &P, co: Co) {
        // SAFETY: owner-only field of the P this M holds.
        let spill = pp.cocache.with_mut(|v| unsafe {
            let v = &mut *v;
            v.push(co);
            if v.len() >= CO_CACHE_MAX {
                v.split_off(CO_CACHE_MAX / 2)
            } else {
                Vec::new()
            }
        });
        for co in spill {
            self.stacks.free(co.into_stack());
        }
    }

    /// Spawns a runtime-internal goroutine (an `after_fn` callback).
    pub(super) fn spawn_internal(self: &Arc<Self>, f: Box<dyn FnOnce() + Send>) {
        let task = crate::goroutine::task_for(f);
        self.newproc(task, Location::caller(), 0, false);
    }
}
