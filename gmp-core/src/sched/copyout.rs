//! Copy-out of parked stacks: a goroutine parked for a while gets its live stack bytes copied
//! to a right-sized heap buffer and its stack pages given back to the kernel; the bytes go
//! back to the same addresses before it runs again (Java's virtual threads copy frames out
//! on every unmount; Go copies stacks to grow and shrink them).
//!
//! # Why it is sound
//!
//! A parked goroutine's stack is touched by nobody but itself: waiter records live in
//! `SudogBox`es (`sudog.rs`), results in join slots, timers in the heap. The only other
//! reader and writer is corosensei's switch, which runs when the goroutine is resumed, after
//! the bytes are back. The virtual range stays reserved for the goroutine, so every pointer
//! into the stack (its own frames point at each other) is valid again once the bytes are
//! back: nothing is relocated.
//!
//! # What is copied
//!
//! `[sp, top)`: from the goroutine's stack pointer just before its switch (recorded by
//! `co::switch_out`) minus what the switch writes below it (`co::switch_depth`, measured
//! once per process by a probe), to the top of the stack. A goroutine parked on a channel receive has about 450 bytes there, one
//! parked in a select, a Mutex, a sleep or a WaitGroup about 650. The whole usable range is
//! released (pages below `sp` that deeper calls once touched too).
//!
//! # The protocol: `ParkedStack::state`
//!
//! | value      | meaning                                        | moved out by                          |
//! |------------|------------------------------------------------|---------------------------------------|
//! | `RESIDENT` | the stack is in place (running, or not parked) | its M, `stack_park` → `PARKED`        |
//! | `PARKED`   | suspended for a park, bytes in place           | the sweep (`try_claim`) → `COPYING`; the resuming M (`reclaim`) → `RESIDENT` |
//! | `COPYING`  | the sweep is copying and releasing             | the sweep → `OUT`                     |
//! | `OUT`      | bytes in `copy`, pages released                | the resuming M (`reclaim`) → `RESIDENT` |
//!
//! The M sets `PARKED` before it publishes the goroutine `WAITING` (so the goroutine cannot
//! run elsewhere meanwhile), with Release: the goroutine's last writes to its stack happen
//! before the sweep's Acquire claim. The claim CAS (`PARKED → COPYING`) races the resuming
//! M's CAS (`PARKED → RESIDENT`): exactly one wins. An M that finds `COPYING` waits (the
//! copy of a few hundred bytes and one `madvise` batch); one that finds `OUT` is the only
//! party that may touch the goroutine (it owns the G), restores the bytes and resumes. The
//! sweep publishes `OUT` only after the pages are released, so a restore can never be wiped.
//!
//! `tests/loom_copyout.rs` models the claim against the wake-up with these functions.
//!
//! # When
//!
//! sysmon sweeps `allgs` every [`SWEEP_INTERVAL_NS`] and copies out the goroutines parked for
//! longer than [`COPY_OUT_AFTER_NS`], in batches of [`BATCH`] whose pages it releases with one
//! system call. The threshold keeps short parks (ping-pong, mutex hand-offs, a 10 ms sleep)
//! from ever paying; a goroutine copied out pays on wake-up a page fault and a copy of a few
//! hundred bytes (the `wake_parked` benchmark measures it).

use crate::loom::atomic::{AtomicU8, AtomicUsize, Ordering::*};
use crate::loom::UnsafeCell;

/// The stack is in place.
pub const RESIDENT: u8 = 0;
/// Suspended for a park, bytes in place: the sweep may claim it.
pub const PARKED: u8 = 1;
/// The sweep is copying it out.
pub const COPYING: u8 = 2;
/// Copied out; the pages are released.
pub const OUT: u8 = 3;

/// A goroutine parked this long is copied out by the next sweep.
pub(crate) const COPY_OUT_AFTER_NS: u64 = 20_000_000;
/// How often sysmon sweeps.
pub(crate) const SWEEP_INTERVAL_NS: u64 = 10_000_000;
/// Stacks released per `process_madvise` call (and the longest a resuming M may wait).
pub(crate) const BATCH: usize = 64;

/// A goroutine's stack as the copy-out protocol sees it (in its G).
pub struct ParkedStack {
    /// The state word (module docs).
    state: AtomicU8,
    /// The stack pointer at the goroutine's last switch out (`co::switch_out`).
    sp: AtomicUsize,
    /// Lowest usable address and top of the stack while parked.
    lo: AtomicUsize,
    top: AtomicUsize,
    /// The bytes `[sp, top)` while `OUT`: written by the sweep holding `COPYING`, taken by
    /// the M that finds `OUT`.
    copy: UnsafeCell<Option<Box<[u8]>>>,
}

// SAFETY: `copy` is touched only by the holder of `COPYING` (the sweep) and then, after the
// Release store of `OUT` and an Acquire load of it, by the one M that owns the G.
unsafe impl Sync for ParkedStack {}

impl Default for ParkedStack {
    fn default() -> Self {
        ParkedStack {
            state: AtomicU8::new(RESIDENT),
            sp: AtomicUsize::new(0),
            lo: AtomicUsize::new(0),
            top: AtomicUsize::new(0),
            copy: UnsafeCell::new(None),
        }
    }
}

impl std::fmt::Debug for ParkedStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParkedStack")
            .field("state", &self.state.load(Relaxed))
            .finish()
    }
}

impl ParkedStack {
    /// Where the goroutine records its stack pointer as it switches out (`co::switch_out`).
    pub fn sp(&self) -> &AtomicUsize {
        &self.sp
    }

    /// Its M, before publishing it `WAITING`: the stack `[lo, top)` may be copied out.
    pub fn stack_park(&self, lo: usize, top: usize) {
        self.lo.store(lo, Relaxed);
        self.top.store(top, Relaxed);
        debug_assert_eq!(self.state.load(Relaxed), RESIDENT);
        self.state.store(PARKED, Release);
    }

    /// The sweep: claims a parked stack; returns the stack pointer recorded at its switch and
    /// the stack's usable range `(sp, lo, top)`.
    pub fn try_claim(&self) -> Option<(usize, usize, usize)> {
        self.state
            .compare_exchange(PARKED, COPYING, Acquire, Relaxed)
            .ok()?;
        Some((
            self.sp.load(Relaxed),
            self.lo.load(Relaxed),
            self.top.load(Relaxed),
        ))
    }

    /// The sweep, holding the claim: keeps the copy (the pages are not released yet).
    pub fn set_copy(&self, bytes: Box<[u8]>) {
        // SAFETY: we hold `COPYING`: nobody else touches `copy` (state table).
        self.copy.with_mut(|c| unsafe { *c = Some(bytes) });
    }

    /// The sweep, after releasing the pages: the goroutine may be resumed from the copy.
    pub fn publish_out(&self) {
        self.state.store(OUT, Release);
    }

    /// The M that owns the G, before resuming it: the stack is in place when this returns.
    /// `restore(at, bytes)` writes a copy back to `[at, at + bytes.len())`, which ends at the
    /// stack's top.
    pub fn reclaim(&self, restore: impl FnOnce(usize, &[u8])) {
        loop {
            match self.state.load(Acquire) {
                RESIDENT => return,
                PARKED => {
                    if self
                        .state
                        .compare_exchange(PARKED, RESIDENT, Acquire, Relaxed)
                        .is_ok()
                    {
                        return;
                    }
                }
                COPYING => crate::loom::thread::yield_now(),
                _ => {
                    // SAFETY: `OUT` was published with Release after the copy was stored,
                    // and only the G's owner (us) moves out of `OUT`.
                    let bytes = self.copy.with_mut(|c| unsafe { (*c).take() });
                    let bytes = bytes.expect("a copied-out stack has its copy");
                    restore(self.top.load(Relaxed) - bytes.len(), &bytes);
                    self.state.store(RESIDENT, Relaxed);
                    return;
                }
            }
        }
    }

    /// Whether the stack is copied out.
    pub fn is_out(&self) -> bool {
        self.state.load(Acquire) == OUT
    }
}

/// The calling goroutine's stack pointer (approximately: the current frame's bottom).
#[inline(always)]
pub(crate) fn stack_pointer() -> usize {
    let sp: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads a register; no memory access.
    unsafe {
        std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    unsafe {
        std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let marker = 0u8;
        sp = std::hint::black_box(&marker) as *const u8 as usize - 256;
    }
    sp
}

/// Writes a copied-out stack back in place (the M's `restore` for [`ParkedStack::reclaim`]).
pub(crate) fn restore_stack(sp: usize, bytes: &[u8]) {
    // SAFETY: `[sp, sp + len)` is the part of the G's own stack that was live when it
    // parked; the stack stays mapped (only its pages were released) and nobody else uses
    // it: the G is ours and suspended.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), sp as *mut u8, bytes.len()) };
}

/// The lowest live address of a parked stack whose switch recorded `sp`: less what the
/// switch wrote below it, 16-aligned, never below `lo`.
fn live_from(sp: usize, lo: usize) -> usize {
    (sp.saturating_sub(super::co::switch_depth()) & !15).max(lo)
}

/// The sweep's copy of a claimed stack's live bytes `[sp, top)`.
fn copy_stack(sp: usize, top: usize) -> Box<[u8]> {
    // SAFETY: we hold the claim on a parked goroutine's stack: `[sp, top)` is mapped,
    // resident, and nobody writes it until we publish `OUT` (module docs).
    unsafe { std::slice::from_raw_parts(sp as *const u8, top - sp) }.into()
}

/// Entries of `allgs` looked at per hold of its lock (so `go` never waits long for it).
const SCAN_CHUNK: usize = 4096;

/// Go has none (its GC shrinks stacks instead): sysmon's sweep. Copies out every goroutine
/// parked for over [`COPY_OUT_AFTER_NS`] at `now`, releasing their pages in batches. Returns
/// how many parked goroutines were left for a later sweep (too recently parked).
pub(super) fn copyout_sweep(s: &super::Sched, now: u64) -> usize {
    use super::g::G;
    use crate::loom::Arc;
    let mut pending = 0;
    let mut next = 0;
    let mut batch: Vec<(Arc<G>, usize, usize)> = Vec::with_capacity(BATCH);
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(BATCH);
    loop {
        let done = {
            let all = s.allgs.lock();
            let end = (next + SCAN_CHUNK).min(all.len());
            while next < end && batch.len() < BATCH {
                let g = &all[next];
                next += 1;
                if g.pstack.state.load(Relaxed) != PARKED {
                    continue;
                }
                if now.saturating_sub(g.wait_since.load(Relaxed)) < COPY_OUT_AFTER_NS {
                    pending += 1;
                    continue;
                }
                if let Some((sp, lo, top)) = g.pstack.try_claim() {
                    batch.push((g.clone(), live_from(sp, lo), top));
                    ranges.push((lo, top - lo));
                }
            }
            next >= all.len()
        };
        for (g, sp, top) in &batch {
            g.pstack.set_copy(copy_stack(*sp, *top));
        }
        // SAFETY: each range is the usable part of a claimed goroutine's stack: mapped,
        // page-aligned, its live bytes saved just above, and nobody touches it until `OUT`.
        unsafe { crate::stack::release_pages_batch(&ranges) };
        for (g, _, _) in batch.drain(..) {
            g.pstack.publish_out();
        }
        ranges.clear();
        if done {
            return pending;
        }
    }
}

/// How many goroutines of the caller's runtime have their stack copied out right now.
pub fn stacks_copied_out() -> usize {
    super::m::current_sched().map_or(0, |s| {
        s.allgs.lock().iter().filter(|g| g.pstack.is_out()).count()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_switch_depth_probe_measures_something_plausible() {
        let d = super::super::co::switch_depth();
        eprintln!("switch depth: {d} bytes");
        assert!((16..4096).contains(&d) && d % 16 == 0, "{d}");
    }
}
