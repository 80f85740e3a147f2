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
//! User code can break this with a `std::thread::scope` thread that keeps borrowing the
//! goroutine's locals while the goroutine parks on a gmp primitive; the crate docs forbid it
//! (as they forbid holding a `!Send` value across a park). Its writes would land on released
//! pages and be lost when the bytes come back. Installing guard markers instead of releasing
//! (`MADV_GUARD_INSTALL` also frees the pages) would turn that into a reported fault, for one
//! more system call per wake-up; not done yet.
//!
//! # What is copied
//!
//! `[sp, top)`: from the goroutine's stack pointer just before its switch (recorded by
//! `co::switch_out`) minus what the switch writes below it (`co::switch_depth`, measured
//! once per process by a probe), to the top of the stack: about 560 bytes for a goroutine
//! parked on a channel receive in a release build (`gmp-chan/tests/mem_parked.rs`). The
//! whole usable range is released (pages below `sp` that deeper calls once touched too).
//!
//! # The protocol: two bits of the G's state word
//!
//! Copy-out lives in the goroutine's state word (`g.rs`), next to its status, so that the
//! hot path pays nothing for it: parking is `commit_park`'s CAS as before, and resuming reads
//! the word that `execute`'s `fetch_add` returns anyway.
//!
//! | bits            | meaning                                  | set by / cleared by                    |
//! |-----------------|------------------------------------------|----------------------------------------|
//! | neither         | the stack is in place                    |                                        |
//! | `STACK_COPYING` | the sweep is copying and releasing it, or a dump or a leak check holds the goroutine where it is | set by the sweep's claim: a CAS from `WAITING` with neither bit; cleared by the sweep's `publish_out`. Or set by `freeze`: a CAS from `WAITING` with `STACK_OUT` either way; cleared by `release_claim` |
//! | `STACK_OUT`     | bytes in `copy`, pages released          | set by `publish_out` (the same `fetch_xor`, Release); cleared by the M that resumes the goroutine, after restoring it |
//!
//! The claim can only succeed while the goroutine is `WAITING`, that is, after its M's
//! `commit_park` (SeqCst, so the goroutine's last writes to its stack are visible to the
//! sweep's Acquire claim) and before a waker's `unpark_state` CAS (which keeps the bits): the
//! two CASes on one word decide. A woken goroutine may be made `RUNNABLE` and even picked
//! up by an M while `STACK_COPYING` is set: that M waits (a copy of a few hundred bytes and
//! one `madvise` batch). An M that finds `STACK_OUT` owns the G, restores the bytes, clears
//! the bit and resumes. The sweep publishes `STACK_OUT` only after the pages are released,
//! so a restore can never be wiped.
//!
//! `tests/loom_copyout.rs` models the claim against the wake-up with these functions.
//!
//! # When
//!
//! A parking M lists the goroutine in its P's list (once: a goroutine that parks again and
//! again stays listed), which goes to sysmon every [`LIST_HANDOFF`] entries or when the P
//! goes idle. Every [`SWEEP_INTERVAL_NS`] sysmon copies out the listed goroutines parked for
//! longer than [`COPY_OUT_AFTER_NS`], in batches of [`BATCH`] whose pages it releases with
//! one system call, and keeps watching the younger ones; a slow full scan of `allgs` catches
//! a listing lost to a race. Visiting only listed goroutines matters with a million: a scan
//! of `allgs` costs a cache miss per goroutine, about 100 ms. The threshold keeps short parks
//! (ping-pong, mutex hand-offs, a 10 ms sleep) from ever paying: at 5 ms, 100,000 goroutines
//! sleeping 10 ms took 1.58 times as long. A goroutine whose own timer (a `sleep`, a timed
//! wait) is due within the threshold is left alone too, even when its wait is already long:
//! that is a sleeper whose P is too busy to fire its timer on time, and it runs soon (in a
//! burst of 100,000 10 ms sleepers on 2 Ps, 15,000 were copied out, each for a copy, a
//! release and a page fault a few ms later; none are now). A goroutine copied out pays on
//! wake-up a page fault (1.5 µs on the project's VM) and a copy of a few hundred bytes (the
//! `wake_parked` benchmark measures it).

use super::g::{G, STACK_COPYING, STACK_OUT, STATUS_MASK, WAITING};
use super::{Sched, P};
use crate::loom::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::{Arc, UnsafeCell};

/// A goroutine parked this long is copied out by the next sweep.
pub(crate) const COPY_OUT_AFTER_NS: u64 = 20_000_000;
/// How often sysmon sweeps.
pub(crate) const SWEEP_INTERVAL_NS: u64 = 10_000_000;
/// Stacks released per `process_madvise` call (and the longest a resuming M may wait).
pub(crate) const BATCH: usize = 64;
/// Listed stacks waiting for sysmon beyond which parking Ms and spawning goroutines help
/// (64 lists: 64 MiB of stack pages at one page each).
pub(crate) const ASSIST_BUDGET: usize = 64 * LIST_HANDOFF;
/// The full scan of `allgs` runs at most this often, and at most every 10 µs per goroutine
/// (10 s with a million), so that it costs sysmon about 1 % of a core.
pub(crate) const FULL_SCAN_MIN_NS: u64 = 1_000_000_000;

/// A goroutine's stack as the copy-out protocol sees it (in its G; the protocol's state is
/// two bits of the G's state word). 48 bytes on x86_64.
pub struct ParkedStack {
    /// The stack pointer at the goroutine's last switch out (`co::switch_out`).
    sp: AtomicUsize,
    /// Lowest usable address and top of its stack, set when it gets its coroutine.
    lo: AtomicUsize,
    top: AtomicUsize,
    /// The bytes `[sp, top)` while copied out: written by the sweep holding
    /// `STACK_COPYING`, taken by the M that finds `STACK_OUT`.
    copy: UnsafeCell<Option<Box<[u8]>>>,
    /// In a P's list or sysmon's (`list_parked`): set by the parking M, cleared by sysmon.
    /// A hint only: a lost listing is found by sysmon's full scan.
    pub(crate) listed: AtomicBool,
    /// Scopes (`gmp_core::scope`) the goroutine is inside: while non-zero, other goroutines
    /// may borrow its locals, so its stack is never copied out. Changed only by the goroutine
    /// itself, while it runs (so before the park whose Release publishes WAITING); read by
    /// the sweep after its claiming CAS (Acquire), so it sees the count of that park.
    pins: AtomicU16,
}

// SAFETY: `copy` is touched only by the holder of `STACK_COPYING` (the sweep) and then,
// after the Release that publishes `STACK_OUT` and an Acquire load of it, by the one M that
// owns the G.
unsafe impl Sync for ParkedStack {}

impl Default for ParkedStack {
    fn default() -> Self {
        ParkedStack {
            sp: AtomicUsize::new(0),
            lo: AtomicUsize::new(0),
            top: AtomicUsize::new(0),
            copy: UnsafeCell::new(None),
            listed: AtomicBool::new(false),
            pins: AtomicU16::new(0),
        }
    }
}

impl std::fmt::Debug for ParkedStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParkedStack")
            .field("top", &self.top.load(Relaxed))
            .finish()
    }
}

/// Whether a state word is a parked goroutine whose stack is in place (the sweep's prey).
pub fn parked_resident(w: u64) -> bool {
    w & STATUS_MASK == WAITING && w & (STACK_COPYING | STACK_OUT) == 0
}

impl ParkedStack {
    /// Where the goroutine records its stack pointer as it switches out (`co::switch_out`).
    pub fn sp(&self) -> &AtomicUsize {
        &self.sp
    }

    /// The goroutine got its coroutine: its stack is `[lo, top)` (its M, at its first run).
    pub fn set_bounds(&self, lo: usize, top: usize) {
        self.lo.store(lo, Relaxed);
        self.top.store(top, Relaxed);
    }

    /// The sweep: claims the stack of a parked goroutine whose state word is `state`; returns
    /// the stack pointer recorded at its switch and its usable range `(sp, lo, top)`.
    pub fn try_claim(&self, state: &AtomicU64) -> Option<(usize, usize, usize)> {
        let w = state.load(Relaxed);
        if !parked_resident(w) {
            return None;
        }
        state
            .compare_exchange(w, w | STACK_COPYING, Acquire, Relaxed)
            .ok()?;
        if self.pins.load(Relaxed) != 0 {
            // Borrowed by a scope's goroutines: hand the claim back. The status may have
            // changed meanwhile (a waker); an M that dequeued the G waits in `stack_in` for
            // STACK_COPYING to clear, and finds the stack in place.
            state.fetch_and(!STACK_COPYING, Release);
            return None;
        }
        Some((
            self.sp.load(Relaxed),
            self.lo.load(Relaxed),
            self.top.load(Relaxed),
        ))
    }

    /// The running goroutine enters a scope whose goroutines may borrow its locals: its stack
    /// stays in place until the matching [`unpin`](Self::unpin).
    pub fn pin(&self) {
        let n = self.pins.load(Relaxed);
        assert!(
            n < u16::MAX,
            "gmp: more than 65535 nested scopes in one goroutine"
        );
        self.pins.store(n + 1, Relaxed);
    }

    /// The running goroutine leaves a scope (every goroutine of it has ended).
    pub fn unpin(&self) {
        let n = self.pins.load(Relaxed);
        debug_assert!(n > 0);
        self.pins.store(n - 1, Relaxed);
    }

    /// A dump claims a parked goroutine (resident or copied out, pinned or not) to walk its
    /// stack: [`freeze`](Self::freeze) it, and put a copied-out stack back first (it stays in
    /// place). `false` if it is not parked.
    pub(crate) fn claim_in_place(
        &self,
        state: &AtomicU64,
        restore: impl FnOnce(usize, &[u8]),
    ) -> bool {
        let Some(w) = self.freeze(state) else {
            return false;
        };
        if w & STACK_OUT != 0 {
            // SAFETY: we hold `STACK_COPYING`, and our CAS read `STACK_OUT` with Acquire.
            unsafe { self.put_back(state, restore) };
        }
        true
    }

    /// Holds a parked goroutine where it is, resident or copied out: `STACK_COPYING` on, as
    /// the sweep's claim, so the sweep leaves it alone and an M that dequeues it (a waker
    /// may still ready it) waits in [`stack_in`](Self::stack_in) until
    /// [`release_claim`](Self::release_claim). A sweep in progress is waited for. Returns the
    /// state word the claim was taken on (its `STACK_OUT` says where the bytes are), `None`
    /// if the goroutine is not parked. The dump's claim, and the leak check's (`leak.rs`),
    /// which reads the frozen stack with [`read_frozen`](Self::read_frozen).
    pub fn freeze(&self, state: &AtomicU64) -> Option<u64> {
        loop {
            let w = state.load(Relaxed);
            if w & STATUS_MASK != WAITING {
                return None;
            }
            if w & STACK_COPYING != 0 {
                // The sweep is copying it out (a batch takes microseconds), or a dump or a
                // leak check holds it: wait.
                crate::loom::thread::yield_now();
                continue;
            }
            if state
                .compare_exchange(w, w | STACK_COPYING, Acquire, Relaxed)
                .is_ok()
            {
                return Some(w);
            }
        }
    }

    /// Reads a `T` at `addr` of a goroutine held by [`freeze`](Self::freeze), `w` being the
    /// word it returned: from the stack if `addr` is in it and the stack is in place, from its
    /// copy if the stack is copied out, from memory elsewhere (the heap). `None` for an
    /// address of a copied-out stack below what was copied (no live frame is there).
    ///
    /// # Safety
    /// The caller holds the freeze, and `addr` holds a `T` the goroutine wrote before it
    /// parked and that stays valid while it is parked (in one of its live frames, or in memory
    /// its frames keep alive).
    pub(crate) unsafe fn read_frozen<T: Copy>(&self, w: u64, addr: usize) -> Option<T> {
        let (lo, top) = self.bounds();
        let size = std::mem::size_of::<T>();
        if (lo..top).contains(&addr) && w & STACK_OUT != 0 {
            // SAFETY: we hold `STACK_COPYING`, and the freeze's CAS read `STACK_OUT` with
            // Acquire: the copy is complete and nobody else touches it (state table).
            return self.copy.with(|c| unsafe {
                let bytes = (*c).as_deref()?;
                let base = top - bytes.len();
                if addr < base || addr + size > top {
                    return None;
                }
                Some(std::ptr::read_unaligned(
                    bytes.as_ptr().add(addr - base).cast::<T>(),
                ))
            });
        }
        // SAFETY: the caller's contract: a `T` lives at `addr` while the goroutine is parked,
        // and the freeze keeps it parked (no M resumes it until we let go).
        Some(unsafe { std::ptr::read_unaligned(addr as *const T) })
    }

    /// The goroutine's usable stack range `[lo, top)` (`(0, 0)` before its first run).
    pub(crate) fn bounds(&self) -> (usize, usize) {
        (self.lo.load(Relaxed), self.top.load(Relaxed))
    }

    /// Whether the goroutine is inside a scope whose goroutines may borrow its locals. Read
    /// by a holder of a claim (the sweep, a freeze), which sees the count of the park.
    pub(crate) fn pinned(&self) -> bool {
        self.pins.load(Relaxed) != 0
    }

    /// The dump or the leak check is done with the claim of [`claim_in_place`](Self::claim_in_place)
    /// or [`freeze`](Self::freeze).
    pub fn release_claim(&self, state: &AtomicU64) {
        let w = state.fetch_and(!STACK_COPYING, Release);
        debug_assert_ne!(w & STACK_COPYING, 0);
    }

    /// The sweep, holding the claim: keeps the copy (the pages are not released yet).
    pub fn set_copy(&self, bytes: Box<[u8]>) {
        // SAFETY: we hold `STACK_COPYING`: nobody else touches `copy` (state table).
        self.copy.with_mut(|c| unsafe { *c = Some(bytes) });
    }

    /// The sweep, after releasing the pages: `STACK_COPYING` off, `STACK_OUT` on, in one
    /// step that keeps the rest of the word (a waker may have changed the status).
    pub fn publish_out(&self, state: &AtomicU64) {
        let w = state.fetch_xor(STACK_COPYING | STACK_OUT, Release);
        debug_assert_eq!(w & (STACK_COPYING | STACK_OUT), STACK_COPYING);
    }

    /// The M that owns the G, before resuming it, with `w` the state word it last saw: the
    /// stack is in place when this returns. `restore(at, bytes)` writes a copy back to
    /// `[at, at + bytes.len())`, which ends at the stack's top.
    #[inline]
    pub fn stack_in(&self, state: &AtomicU64, w: u64, restore: impl FnOnce(usize, &[u8])) {
        if w & (STACK_COPYING | STACK_OUT) != 0 {
            self.stack_in_slow(state, restore);
        }
    }

    /// Writes the copy back to the stack's top and clears `STACK_OUT`.
    ///
    /// # Safety
    /// `STACK_OUT` is set and the caller saw it with Acquire (it was published with Release
    /// after the copy was stored), and no one else can clear it meanwhile: the G's owner in
    /// `stack_in`, or a dump holding the claim.
    unsafe fn put_back(&self, state: &AtomicU64, restore: impl FnOnce(usize, &[u8])) {
        // SAFETY: the caller's contract: the copy is ours alone.
        let bytes = self.copy.with_mut(|c| unsafe { (*c).take() });
        let bytes = bytes.expect("a copied-out stack has its copy");
        restore(self.top.load(Relaxed) - bytes.len(), &bytes);
        state.fetch_and(!STACK_OUT, Relaxed);
    }

    #[cold]
    fn stack_in_slow(&self, state: &AtomicU64, restore: impl FnOnce(usize, &[u8])) {
        loop {
            let w = state.load(Acquire);
            if w & STACK_COPYING != 0 {
                crate::loom::thread::yield_now();
                continue;
            }
            if w & STACK_OUT != 0 {
                // SAFETY: we read `STACK_OUT` with Acquire, and only the G's owner (us)
                // clears it.
                unsafe { self.put_back(state, restore) };
            }
            return;
        }
    }
}

/// The running goroutine's stack, pinned in place while this guard lives (a scope whose
/// goroutines borrow its locals, `gmp_core::scope`). Dropped by the same goroutine.
pub(crate) struct StackPin(&'static G);

/// Pins the calling goroutine's stack; `None` on a plain thread (a thread's stack is never
/// copied out).
pub(crate) fn pin_stack() -> Option<StackPin> {
    let g = super::m::current_g()?;
    g.pstack.pin();
    Some(StackPin(g))
}

impl Drop for StackPin {
    fn drop(&mut self) {
        self.0.pstack.unpin();
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

/// Writes a copied-out stack back in place (the M's `restore` for [`ParkedStack::stack_in`]).
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

/// A P hands its list of parked goroutines to sysmon when it holds this many (or when the P
/// goes idle).
pub(crate) const LIST_HANDOFF: usize = 256;

/// Listed goroutines sysmon looks at per sweep (about 6 ms of cache misses at most).
const YOUNG_VISITS: usize = 65536;

/// Entries of `allgs` looked at per hold of its lock by the full scan.
const SCAN_CHUNK: usize = 4096;

/// `park_m`, P `pp` held: lists the goroutine for sysmon unless it is listed already. A goroutine that parks again and again (ping-pong) is listed once, so the
/// steady state costs one load per park.
#[inline]
pub(super) fn list_parked(s: &Sched, pp: &P, g: &Arc<G>) {
    if !g.pstack.listed.load(Relaxed) {
        list_parked_slow(s, pp, g);
    }
}

#[cold]
fn list_parked_slow(s: &Sched, pp: &P, g: &Arc<G>) {
    g.pstack.listed.store(true, Relaxed);
    // SAFETY: the M holds `pp`: its list is ours (owner-only field).
    let full = pp.copyout_list.with_mut(|l| unsafe {
        (*l).push(g.clone());
        (*l).len() >= LIST_HANDOFF
    });
    if full {
        handoff_list(s, pp);
    }
}

/// Moves P `pp`'s list of parked goroutines to sysmon's queue (the P's owner only).
pub(super) fn handoff_list(s: &Sched, pp: &P) {
    // SAFETY: called by the M that holds `pp` (or, at shutdown, with every M gone).
    let list = pp
        .copyout_list
        .with_mut(|l| unsafe { std::mem::take(&mut *l) });
    if list.is_empty() {
        return;
    }
    let n = list.len();
    s.copyout_queue.lock().push_back(list);
    s.copyout_queued.fetch_add(n, Relaxed);
    // sysmon may have gone to sleep seeing no work: the last P going idle hands off here.
    // (It set `sysmon_wait` before it looked at the queue under the same lock.)
    if s.sysmon_wait.load(SeqCst) {
        s.sysmon_note.unpark();
    }
}

/// Go's GC assist, for copy-out: when sysmon falls behind (over [`ASSIST_BUDGET`] listed
/// stacks wait in its queue: a burst of goroutines parking faster than one thread copies
/// them), a parking M or a spawning goroutine copies out the oldest list itself, with
/// sysmon's policy ([`visit`]), and puts the younger ones back.
#[inline]
pub(super) fn copyout_assist(s: &Sched) {
    if s.copyout_queued.load(Relaxed) >= ASSIST_BUDGET {
        copyout_assist_slow(s);
    }
}

#[cold]
fn copyout_assist_slow(s: &Sched) {
    let Some(list) = s.copyout_queue.lock().pop_front() else {
        return;
    };
    s.copyout_queued.fetch_sub(list.len(), Relaxed);
    let now = s.nanotime(crate::loom::now());
    let mut batch = Batch::default();
    let young: Vec<Arc<G>> = list
        .into_iter()
        .filter_map(|g| visit(g, now, &mut batch))
        .collect();
    batch.finish();
    if !young.is_empty() {
        let n = young.len();
        s.copyout_queue.lock().push_back(young);
        s.copyout_queued.fetch_add(n, Relaxed);
    }
}

/// A look at listed goroutine `g` at `now`, by sysmon or an assist: if it no longer parks
/// with its stack in place (it runs, or the full scan copied it out), it is unlisted, to be
/// listed again at its next park; if it has parked for over [`COPY_OUT_AFTER_NS`], it is
/// unlisted and its stack claimed into `batch`; else it is handed back, still young.
fn visit(g: Arc<G>, now: u64, batch: &mut Batch) -> Option<Arc<G>> {
    if parked_resident(g.state.load(Relaxed)) && !old_enough(&g, now) {
        return Some(g);
    }
    g.pstack.listed.store(false, Relaxed);
    batch.claim(g);
    None
}

/// Whether parked goroutine `g` is worth copying out at `now`: it has parked for over
/// [`COPY_OUT_AFTER_NS`] and its own timer (a `sleep`, a timed wait) will not wake it within
/// that long. A sleeper whose deadline is near, or already past while its P is too busy to
/// fire the timer, is about to run: copying it would cost a copy, a release and a page fault
/// for nothing (a burst of 100,000 10 ms sleepers had 15,000 of them copied out).
fn old_enough(g: &G, now: u64) -> bool {
    if now.saturating_sub(g.wait_since.load(Relaxed)) < COPY_OUT_AFTER_NS {
        return false;
    }
    let due_ms = u64::from(g.timer_due_ms.load(Relaxed));
    due_ms == 0 || due_ms * 1_000_000 > now + COPY_OUT_AFTER_NS
}

/// sysmon's side: the goroutines it watches, parked but not yet for long enough.
#[derive(Default)]
pub(super) struct Sweeper {
    /// Oldest listing first; the still-young go to the back after a visit.
    young: std::collections::VecDeque<Arc<G>>,
    last_sweep: u64,
    last_full_scan: u64,
}

impl Sweeper {
    /// Whether parked goroutines wait for a later sweep (sysmon must not sleep deeply). Called
    /// by sysmon after it set `sysmon_wait`: see `handoff_list`.
    pub(super) fn pending(&self, s: &Sched) -> bool {
        !self.young.is_empty() || !s.copyout_queue.lock().is_empty()
    }

    /// One sysmon round: every [`SWEEP_INTERVAL_NS`], copies out the listed goroutines parked
    /// for over [`COPY_OUT_AFTER_NS`] and keeps watching the younger ones; every
    /// [`FULL_SCAN_MIN_NS`] (longer with many goroutines) also scans `allgs` for parked
    /// goroutines that no list holds.
    pub(super) fn round(&mut self, s: &Sched, now: u64) {
        if now < self.last_sweep + SWEEP_INTERVAL_NS {
            return;
        }
        self.last_sweep = now;
        let lists = std::mem::take(&mut *s.copyout_queue.lock());
        for list in lists {
            s.copyout_queued.fetch_sub(list.len(), Relaxed);
            self.young.extend(list);
        }
        let mut batch = Batch::default();
        // A visit costs a cache miss or two: at most YOUNG_VISITS per sweep, so that many
        // goroutines parking for 10–20 ms again and again cannot keep sysmon busy.
        let visits = self.young.len().min(YOUNG_VISITS);
        for _ in 0..visits {
            let g = self.young.pop_front().expect("counted");
            if let Some(g) = visit(g, now, &mut batch) {
                self.young.push_back(g);
            }
        }
        batch.finish();
        let full_every = FULL_SCAN_MIN_NS.max(s.ngoroutines.load(Relaxed) as u64 * 10_000);
        if now >= self.last_full_scan + full_every {
            self.last_full_scan = now;
            full_scan(s, now);
        }
    }
}

/// The sweep's claimed stacks, copied and released together.
#[derive(Default)]
struct Batch {
    stacks: Vec<(Arc<G>, usize, usize)>,
    ranges: Vec<(usize, usize)>,
}

impl Batch {
    /// Claims `g`'s stack if it is still parked; copies and releases a full batch.
    fn claim(&mut self, g: Arc<G>) {
        if let Some((sp, lo, top)) = g.pstack.try_claim(&g.state) {
            self.stacks.push((g, live_from(sp, lo), top));
            self.ranges.push((lo, top - lo));
            if self.stacks.len() == BATCH {
                self.finish();
            }
        }
    }

    /// Copies the claimed stacks, releases their pages with one system call, and publishes
    /// them `OUT`.
    fn finish(&mut self) {
        let mut bytes = 0;
        for (g, sp, top) in &self.stacks {
            bytes += top - sp;
            g.pstack.set_copy(copy_stack(*sp, *top));
        }
        if let Some((g, _, _)) = self.stacks.first() {
            let (n, b) = &g.sched.copyout_stats;
            n.fetch_add(self.stacks.len(), Relaxed);
            b.fetch_add(bytes, Relaxed);
        }
        // SAFETY: each range is the usable part of a claimed goroutine's stack: mapped,
        // page-aligned, its live bytes saved just above, and nobody touches it until `OUT`.
        unsafe { crate::stack::release_pages_batch(&self.ranges) };
        if let Some((g, _, _)) = self.stacks.first() {
            // Before any is published: a put-back (which subtracts) never precedes its add.
            g.sched
                .stats
                .stacks_out
                .fetch_add(self.stacks.len(), Relaxed);
        }
        for (g, _, _) in self.stacks.drain(..) {
            g.pstack.publish_out(&g.state);
        }
        self.ranges.clear();
    }
}

/// The slow path: copies out every goroutine of `allgs` parked for long enough, listed or
/// not (a goroutine whose listing raced sysmon's clearing of its flag is found here).
fn full_scan(s: &Sched, now: u64) {
    let mut next = 0;
    let mut batch = Batch::default();
    loop {
        let mut found = Vec::new();
        let done = {
            let all = s.allgs.lock();
            let end = (next + SCAN_CHUNK).min(all.len());
            for g in &all[next..end] {
                if parked_resident(g.state.load(Relaxed)) && old_enough(g, now) {
                    found.push(g.clone());
                }
            }
            next = end;
            next >= all.len()
        };
        for g in found {
            batch.claim(g);
        }
        if done {
            batch.finish();
            return;
        }
    }
}

/// How many stacks the caller's runtime has copied out so far, and how many bytes in all.
pub fn copyout_stats() -> (usize, usize) {
    super::m::current_sched().map_or((0, 0), |s| {
        let (n, b) = &s.copyout_stats;
        (n.load(Relaxed), b.load(Relaxed))
    })
}

/// How many distinct stacks the caller's runtime has carved (each paid for in page faults
/// when first used); 0 outside a runtime.
pub fn stacks_carved() -> usize {
    super::m::current_sched().map_or(0, |s| s.stacks.carved())
}

/// How many goroutines of the caller's runtime have their stack copied out right now.
pub fn stacks_copied_out() -> usize {
    super::m::current_sched().map_or(0, |s| {
        let all = s.allgs.lock();
        all.iter()
            .filter(|g| g.state.load(Acquire) & STACK_OUT != 0)
            .count()
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
