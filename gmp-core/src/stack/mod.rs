//! Goroutine stacks: sizes, the slab-backed [`StackPool`], and (in `overflow`) the
//! stack-overflow report.
//!
//! # Design
//!
//! A goroutine runs on a corosensei coroutine, so it needs a stack of its own: a fixed-size
//! range of memory with an inaccessible guard page below it (stacks grow down). Go grows its
//! stacks by copying; Rust cannot (pointers into the stack are everywhere), so a goroutine
//! gets its whole stack up front and we make that cheap in three ways.
//!
//! **Reserved, committed on touch.** Stacks are address space, not memory: slabs are mapped
//! `MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE` and the kernel supplies a physical page only
//! when one is first written. A parked goroutine that used 3 KiB of its 64 KiB stack costs
//! one page of RSS. No byte of a slot is written by the pool (no headers, no canaries), so an
//! unused stack costs no RSS at all.
//!
//! **Slabs, not one mapping per stack.** The kernel caps a process at `vm.max_map_count`
//! mappings (65,530 by default). A stack made the classic way (mmap + `mprotect` a guard)
//! costs two: the guard splits the mapping. That caps a process near 32,750 stacks. Instead
//! the pool maps large slabs and carves them into slots:
//!
//! ```text
//!   slab (one mmap, one VMA) ───────────────────────────────────────────────────────────►
//!   │ guard │      stack 0 (size)      │ guard │      stack 1 (size)      │ guard │ ...
//!   │ 1 page│ ◄── grows down from top  │ 1 page│ ◄── grows down from top  │
//!   ^slot 0 start = limit()   base() = ^slot 0 end = slot 1 start
//! ```
//!
//! Each slot is one guard page plus `size` usable bytes; a stack's base (its highest address,
//! where the coroutine starts) is the end of its slot, and an overflow runs into the guard
//! at the bottom of the same slot, never into the neighbour below it. The guard is made with
//! `madvise(MADV_GUARD_INSTALL)` (Linux ≥ 6.13), which puts a marker in the page table
//! instead of changing the mapping's protection, so the slab stays one mapping whatever the
//! number of guards in it. On older kernels the pool falls back to `mprotect(PROT_NONE)`
//! guards (two mappings per stack, as before) and, when the limit is reached, returns an
//! error that names `vm.max_map_count`, its value, and how to raise it. Slabs start at
//! [`FIRST_SLAB_BYTES`] and double up to [`MAX_SLAB_BYTES`], so a small runtime reserves
//! little and a million 64 KiB stacks (68 GiB of address space) take about 75 slabs. Guards
//! are installed lazily, when a slot is first handed out, so mapping a 1 GiB slab is one
//! cheap system call.
//!
//! **Pooled.** A fresh mmap'ed stack costs ~10 µs; a pooled one a lock and a `Vec` pop. A
//! freed stack goes to one of two free lists under one [`parking_lot::Mutex`]:
//!
//! - `warm` (LIFO, at most [`WARM_POOL_BYTES`] worth of stacks, 1024 of 64 KiB): its pages
//!   stay resident, so the next goroutine reuses them without page faults;
//! - `cold`: a stack freed while `warm` is full has its pages returned to the kernel with
//!   `MADV_DONTNEED`, so a burst of a million goroutines that ends does not leave gigabytes
//!   of RSS behind. The guard page is not part of the released range (and guard markers
//!   survive DONTNEED anyway; a test proves it). Releases are deferred and batched (Go's
//!   background scavenger): such stacks wait in `dirty` (still resident, handed out before
//!   `cold` ones), and sysmon releases the oldest, [`RELEASE_BATCH`] per `process_madvise`
//!   call, at most [`SCAVENGE_PER_ROUND`] per round (`scavenge`). Only when `dirty` passes
//!   [`DIRTY_MAX`] (sysmon fell behind) does `free` release a batch itself. Each release
//!   costs the other CPUs a TLB shootdown, and each page freed a trip through the kernel's
//!   allocator: done at every free, they made a burst of 100,000 goroutines ending spend most
//!   of its time in the kernel.
//!
//! `alloc` takes `warm`, then `cold`, then carves a new slot (mapping a new slab when the
//! current one is used up). Slots are never unmapped one by one; dropping the pool unmaps its
//! slabs. The scheduler keeps a small per-P cache of stacks in front of the pool, so the
//! global lock is off the common spawn/exit path (Go: `stackcache` per P in front of
//! `stackpool`, runtime/stack.go).
//!
//! # What a parked goroutine costs, byte by byte
//!
//! A goroutine parked on a channel receive, returning `()`, in a release build on x86_64
//! (pinned by `gmp-chan/tests/mem_parked.rs`; the `parked_memory` benchmark measures the
//! same as RSS):
//!
//! | part                          | bytes | where                                        |
//! |-------------------------------|-------|----------------------------------------------|
//! | its G, with the `Arc` counts  | 288   | `sched/g.rs` (the coroutine handle inside)   |
//! | its join slot                 | 80    | `goroutine.rs`, `SlotCell<()>`, an 88-byte block |
//! | its waiter record             | 64    | a `SudogBox` block (`sched/sudog.rs`)         |
//! | its stack, copied out         | 608   | the live bytes `[sp, top)`, on the heap       |
//! | the allocator's headers       | ~40   | glibc: 8 bytes and rounding per chunk         |
//! | **in all**                    | ~1,090 | RSS: about 1.1 KiB in `parked_memory` (allocator slack) |
//!
//! The entry task (the closure) is freed when the goroutine starts; its captures live on the
//! stack. While it runs, and for its first 20 ms parked, the stack costs its touched pages
//! instead (one 4 KiB page for most goroutines) and the copy nothing.
//!
//! **When the stack is copied out** (`sched/copyout.rs`): sysmon copies out the goroutines
//! parked for over 20 ms, every 10 ms, releasing their pages in batches; when goroutines park
//! faster than sysmon keeps up, parking Ms and spawning goroutines help. A goroutine woken
//! after a copy-out pays a page fault and a copy of a few hundred bytes before it runs; a
//! short park (ping-pong, a mutex hand-off, a 10 ms sleep) never pays anything.
//!
//! # Ownership rules
//!
//! A [`Stack`] is a unique handle (not `Clone`) to one slot of one pool. Give it back with
//! [`StackPool::free`] on the pool it came from; a `Stack` that is dropped instead is leaked
//! until the pool is dropped. The pool must outlive its stacks: dropping a pool while stacks
//! are out is a bug (a debug assertion), and in release builds the pool then leaks its slabs
//! instead of unmapping memory a coroutine might still run on.
//!
//! # Overflow
//!
//! An overflow touches the guard page and the kernel raises SIGSEGV. `overflow.rs` installs a
//! handler (on an alternate signal stack, since the faulting stack is full) that recognises
//! the guard page of the goroutine running on the faulting thread, prints
//! `goroutine N overflowed its stack (S bytes)` and aborts. Rust functions with frames larger
//! than a page probe their stack page by page (`probestack`), so they touch the guard before
//! anything below it; C code compiled without `-fstack-clash-protection` could jump over a
//! one-page guard into the neighbouring stack, as it can on any thread stack.

mod overflow;
mod sys;

use std::fmt;
use std::io;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use parking_lot::{Mutex, MutexGuard};

// The scheduler's interface; until the rewritten scheduler lands only the tests use it.
#[allow(unused_imports)]
pub(crate) use overflow::{
    ensure_altstack, install_overflow_handler, running, set_running, RunningStack,
};
use sys::GuardKind;
pub(crate) use sys::{page_size, release_pages_batch};

/// Default usable bytes of a goroutine stack (the guard page comes on top).
///
/// 64 KiB: research (rust-peers.md §2.3) measured `println!` at 0.4 KiB, float formatting at
/// 2.7 KiB, sorting 10k items at 5 KiB, and a caught panic needs up to 23 KiB (with
/// `RUST_BACKTRACE=1`, see [`MIN_STACK_SIZE`]); 64 KiB leaves room for real call chains on top
/// of a panic. Only touched pages cost memory, so the generous reservation is nearly free.
pub(crate) const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// Smallest stack size a runtime accepts ([`validate_stack_size`]).
///
/// 32 KiB, the smallest power of two on which a goroutine can always panic: gmp promises
/// that a panicking goroutine does not take the process down (join returns `Panicked`), and
/// the panic machinery runs on the panicking stack. `panic_fits_in_min_stack` measures a
/// caught panic on this exact size: 6 KiB with the default hook, 23 KiB when
/// `RUST_BACKTRACE=1` makes the hook capture and print a backtrace (research measured 22 KiB
/// too). On 16 KiB a panic would turn into a stack-overflow abort exactly when someone sets
/// `RUST_BACKTRACE` to debug it. Going smaller would save only address space, never memory:
/// RSS is paid per touched page, so a goroutine that uses 3 KiB costs one page on a 16 KiB
/// stack and on a 64 KiB stack alike.
pub(crate) const MIN_STACK_SIZE: usize = 32 * 1024;

/// Largest stack size a runtime accepts: 1 GiB, Go's `maxstacksize` on 64-bit systems
/// (runtime/proc.go: `maxstacksize = 1000000000`). Larger is almost surely a unit mistake.
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;

/// Worst-case bytes of stack the pool keeps resident in its `warm` list. Beyond this, freed
/// stacks have their pages released. 64 MiB = 1024 stacks of 64 KiB; a typical goroutine
/// touched 1–2 pages, so the usual cost is 4–8 MiB of RSS.
const WARM_POOL_BYTES: usize = 64 << 20;

/// Stacks beyond the warm budget released together (one `process_madvise`, one TLB flush).
const RELEASE_BATCH: usize = 256;

/// Stacks sysmon's scavenger releases per round (every 10 ms at most while there are any):
/// up to 100,000 a second, at 4 KiB or more each.
pub(crate) const SCAVENGE_PER_ROUND: usize = 4 * RELEASE_BATCH;

/// Freed stacks waiting for the scavenger beyond which `free` releases a batch itself: 64 MiB
/// of one-page stacks.
const DIRTY_MAX: usize = 16384;

/// Never-used slots whose guard pages are installed together (one `process_madvise`): a
/// burst of 100,000 new goroutines made one `madvise` call each.
const GUARD_BATCH: usize = 32;

/// The `warm` list holds at least this many stacks, however large they are.
const MIN_WARM_STACKS: usize = 16;

/// Size of a pool's first slab (60 stacks of 64 KiB). Each next slab is twice as large.
const FIRST_SLAB_BYTES: usize = 4 << 20;

/// Slabs stop doubling here: 1 GiB (~15,400 stacks of 64 KiB) of address space per mapping.
const MAX_SLAB_BYTES: usize = if cfg!(target_pointer_width = "64") {
    1 << 30
} else {
    64 << 20
};

/// Checks a requested goroutine stack size and rounds it up to whole pages.
///
/// Sizes below [`MIN_STACK_SIZE`] (after rounding) or above [`MAX_STACK_SIZE`] are an
/// `InvalidInput` error whose message names the bound (`Builder::build()` returns it).
pub(crate) fn validate_stack_size(bytes: usize) -> io::Result<usize> {
    if bytes > MAX_STACK_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "goroutine stack size {bytes} bytes is above the maximum of {MAX_STACK_SIZE} \
                 bytes (1 GiB)"
            ),
        ));
    }
    let page = page_size();
    // Cannot overflow: bytes <= 1 GiB.
    let rounded = bytes.div_ceil(page) * page;
    if rounded < MIN_STACK_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "goroutine stack size {bytes} bytes is below the minimum of {MIN_STACK_SIZE} \
                 bytes (32 KiB): a goroutine needs about 22 KiB of stack to unwind a panic"
            ),
        ));
    }
    Ok(rounded)
}

/// One goroutine stack: a unique handle to a slot of a [`StackPool`].
///
/// Layout (addresses grow to the right): `[guard_lo, guard_hi)` is the guard page,
/// `[guard_hi, base)` the `size` usable bytes. Give it back with [`StackPool::free`].
pub(crate) struct Stack {
    /// Highest address, one past the usable range (corosensei's `base`).
    top: NonZeroUsize,
    /// Usable bytes, excluding the guard.
    size: usize,
    /// Bytes of guard below the usable range (one page).
    guard: usize,
}

impl Stack {
    /// Usable bytes of this stack, excluding the guard page.
    #[allow(dead_code)] // used by the stack tests; the scheduler keeps a RunningStack record
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The guard page as `(lo, hi)`: any access to `lo..hi` faults.
    pub(crate) fn guard_range(&self) -> (usize, usize) {
        let hi = self.top.get() - self.size;
        (hi - self.guard, hi)
    }

    /// The record the overflow handler needs while goroutine `goid` runs on this stack
    /// (pass it to [`set_running`]).
    pub(crate) fn running(&self, goid: u64) -> RunningStack {
        let (guard_lo, guard_hi) = self.guard_range();
        RunningStack {
            goid,
            guard_lo,
            guard_hi,
            size: self.size,
        }
    }

    /// Start of the slot (the guard page's low end).
    fn slot_start(&self) -> usize {
        self.top.get() - self.size - self.guard
    }
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = self.guard_range();
        f.debug_struct("Stack")
            .field("guard", &format_args!("{lo:#x}..{hi:#x}"))
            .field("usable", &format_args!("{hi:#x}..{:#x}", self.top.get()))
            .field("size", &self.size)
            .finish()
    }
}

// SAFETY: the trait's contract holds:
// 1. `base()` is the end of the slot, page-aligned, so aligned to STACK_ALIGNMENT (16).
// 2. `limit()` is the start of the slot, the low end of the guard page, as the trait asks
//    ("this limit must include any guard pages"; corosensei's trap handler uses it to decide
//    whether a faulting stack pointer lies in this stack). It is page-aligned too.
// 3. `base - limit - guard = size >= MIN_STACK_SIZE (32 KiB) >= corosensei's 4096` usable
//    bytes, readable and writable, and the guard page below them faults on any access
//    (installed before the `Stack` is created, never removed while the pool lives).
// 4. The memory stays mapped until the pool is dropped, which requires every stack to have
//    been freed (or leaks the slabs): a coroutine never runs on unmapped memory.
unsafe impl corosensei::stack::Stack for Stack {
    #[inline]
    fn base(&self) -> corosensei::stack::StackPointer {
        self.top
    }

    #[inline]
    fn limit(&self) -> corosensei::stack::StackPointer {
        NonZeroUsize::new(self.slot_start()).expect("mmap never returns address 0")
    }
}

/// One mapping the pool carves slots from.
#[derive(Debug)]
struct Slab {
    base: usize,
    len: usize,
}

/// The pool's mutable state, behind its mutex.
#[derive(Debug)]
struct PoolState {
    /// Freed stacks whose pages may be resident (LIFO: the most recently used is hottest).
    warm: Vec<Stack>,
    /// Freed stacks beyond the warm budget, waiting to be released in a batch (resident).
    dirty: std::collections::VecDeque<Stack>,
    /// Freed stacks whose pages were released with `MADV_DONTNEED`.
    cold: Vec<Stack>,
    /// Slot starts carved from a slab whose guard install failed; retried first.
    unguarded: Vec<usize>,
    /// Never-used slot starts whose guards are installed (carved in a batch).
    fresh: Vec<usize>,
    /// Every slab mapped so far (unmapped on drop).
    slabs: Vec<Slab>,
    /// Next uncarved slot start in the newest slab, and that slab's end.
    bump: usize,
    bump_end: usize,
    /// Size of the next slab to map.
    next_slab_bytes: usize,
    /// Stacks handed out and not yet freed.
    live: usize,
    /// Slots carved so far (each was a fresh stack, paid for in page faults when used).
    carved: usize,
    /// Bytes of all `slabs`.
    mapped: usize,
}

/// What a [`StackPool`] holds, for `metrics()` ([`StackPool::usage`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackUsage {
    /// Stacks handed out and not freed (with a goroutine, or in a P's coroutine cache).
    pub(crate) in_use: usize,
    /// Freed stacks whose pages were not released (`warm` and `dirty`): each was used.
    pub(crate) pooled_resident: usize,
    /// Bytes of address space mapped for stacks (every slab, guard pages included).
    pub(crate) reserved: usize,
}

/// The per-runtime source of goroutine stacks (see the module docs for the design).
///
/// `Send + Sync`; every method takes `&self`.
///
/// Cost (thread CPU time on the project's 2-core VM, release build, `measure_pool_costs`):
/// `alloc` of a pooled stack plus `free` into `warm` is ~30 ns for the pair (one uncontended
/// lock each); the first `alloc` of each slot adds one `madvise` call (~1.5 µs); a new slab
/// (every 60–15,000 slots) one `mmap`; a `free` beyond the warm budget one `MADV_DONTNEED`
/// (~2.5 µs for untouched pages, tens of µs once pages were touched: the TLB flush).
pub(crate) struct StackPool {
    /// Usable bytes per stack (page multiple).
    stack_size: usize,
    /// Guard bytes per stack (one page).
    guard_size: usize,
    /// `guard_size + stack_size`.
    slot_size: usize,
    guard_kind: GuardKind,
    /// Most stacks kept in `warm`.
    warm_cap: usize,
    /// Stacks of `dirty` released together.
    release_batch: usize,
    /// `free` releases a batch itself when `dirty` holds more than this.
    dirty_max: usize,
    /// `dirty`'s length, written under the lock: sysmon looks every round without taking it.
    dirty_len: AtomicUsize,
    state: Mutex<PoolState>,
}

impl fmt::Debug for StackPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        f.debug_struct("StackPool")
            .field("stack_size", &self.stack_size)
            .field("guard_kind", &self.guard_kind)
            .field("live", &st.live)
            .field("warm", &st.warm.len())
            .field("dirty", &st.dirty.len())
            .field("cold", &st.cold.len())
            .field("slabs", &st.slabs.len())
            .finish()
    }
}

impl StackPool {
    /// A pool of stacks of `stack_size` usable bytes, a size returned by
    /// [`validate_stack_size`]. Maps nothing until the first `alloc`.
    pub(crate) fn new(stack_size: usize) -> Self {
        let warm_cap = (WARM_POOL_BYTES / stack_size).max(MIN_WARM_STACKS);
        let mut pool = Self::with_options(stack_size, sys::detect_guard_kind(), warm_cap);
        pool.release_batch = RELEASE_BATCH;
        pool.dirty_max = DIRTY_MAX;
        pool
    }

    fn with_options(stack_size: usize, guard_kind: GuardKind, warm_cap: usize) -> Self {
        let page = page_size();
        assert!(
            (corosensei::stack::MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&stack_size)
                && stack_size % page == 0,
            "StackPool::new({stack_size}): use validate_stack_size first"
        );
        StackPool {
            stack_size,
            guard_size: page,
            slot_size: stack_size + page,
            guard_kind,
            warm_cap,
            release_batch: 1,
            dirty_max: 0,
            dirty_len: AtomicUsize::new(0),
            state: Mutex::new(PoolState {
                warm: Vec::new(),
                dirty: std::collections::VecDeque::new(),
                cold: Vec::new(),
                unguarded: Vec::new(),
                fresh: Vec::new(),
                slabs: Vec::new(),
                bump: 0,
                bump_end: 0,
                next_slab_bytes: FIRST_SLAB_BYTES,
                live: 0,
                carved: 0,
                mapped: 0,
            }),
        }
    }

    /// How many distinct stacks this pool has carved so far.
    pub(crate) fn carved(&self) -> usize {
        self.state.lock().carved
    }

    /// What the pool holds now: one uncontended lock held for three loads.
    pub(crate) fn usage(&self) -> StackUsage {
        let st = self.state.lock();
        StackUsage {
            in_use: st.live,
            pooled_resident: st.warm.len() + st.dirty.len(),
            reserved: st.mapped,
        }
    }

    /// Usable bytes of every stack of this pool.
    pub(crate) fn stack_size(&self) -> usize {
        self.stack_size
    }

    /// Hands out a stack: a pooled one if any, else a new slot (mapping a new slab if needed).
    ///
    /// Errors: the kernel refused memory (`OutOfMemory`, with a message naming
    /// `vm.max_map_count` and how to raise it), or another `mmap`/`madvise` failure.
    pub(crate) fn alloc(&self) -> io::Result<Stack> {
        let slots = {
            let mut st = self.state.lock();
            if let Some(stack) = st.warm.pop().or_else(|| self.pop_dirty(&mut st)) {
                st.live += 1;
                return Ok(stack);
            }
            if let Some(stack) = st.cold.pop() {
                st.live += 1;
                return Ok(stack);
            }
            if let Some(slot) = st.fresh.pop() {
                st.live += 1;
                st.carved += 1;
                return Ok(self.stack_at(slot));
            }
            let mut slots = vec![self.carve(&mut st)?];
            // More never-used slots of the same slab, to guard with one system call.
            while self.guard_kind == GuardKind::Madvise
                && slots.len() < GUARD_BATCH
                && st.unguarded.is_empty()
                && st.bump < st.bump_end
            {
                slots.push(self.carve(&mut st)?);
            }
            st.live += 1;
            st.carved += 1;
            slots
        };
        // SAFETY: each `s..s + guard_size` is the first page of a slot just carved from one of
        // our slabs (page-aligned: slabs are, and slot_size is a page multiple); no stack
        // covers it and nobody else knows its address.
        let batched =
            slots.len() > 1 && unsafe { sys::install_guards_batch(&slots, self.guard_size) };
        let mut guarded = Vec::with_capacity(slots.len());
        let mut first_err = None;
        for (i, &s) in slots.iter().enumerate() {
            let r = if batched {
                Ok(())
            } else {
                // SAFETY: as above.
                unsafe { sys::install_guard(self.guard_kind, s, self.guard_size) }
            };
            match r {
                Ok(()) => guarded.push(s),
                Err(e) => {
                    self.state.lock().unguarded.push(s);
                    if i == 0 {
                        first_err = Some(e);
                    }
                }
            }
        }
        let mut st = self.state.lock();
        if let Some(e) = first_err {
            st.fresh.extend(guarded);
            st.live -= 1;
            st.carved -= 1;
            return Err(e);
        }
        st.fresh.extend(guarded.drain(1..));
        drop(st);
        Ok(self.stack_at(slots[0]))
    }

    /// The stack of a guarded slot starting at `slot`.
    fn stack_at(&self, slot: usize) -> Stack {
        Stack {
            top: NonZeroUsize::new(slot + self.slot_size).expect("slot end is not 0"),
            size: self.stack_size,
            guard: self.guard_size,
        }
    }

    /// A never-used slot start (its guard not installed yet); maps a new slab if needed.
    fn carve(&self, st: &mut PoolState) -> io::Result<usize> {
        if let Some(slot) = st.unguarded.pop() {
            return Ok(slot);
        }
        if st.bump == st.bump_end {
            let slots = (st.next_slab_bytes / self.slot_size).max(1);
            let len = slots * self.slot_size;
            let base = sys::map_slab(len, self.guard_kind)?;
            st.slabs.push(Slab { base, len });
            st.mapped += len;
            st.bump = base;
            st.bump_end = base + len;
            st.next_slab_bytes = (st.next_slab_bytes * 2).min(MAX_SLAB_BYTES);
        }
        let slot = st.bump;
        st.bump += self.slot_size;
        Ok(slot)
    }

    /// Takes a stack back. Its contents are garbage from now on. Cheap unless the warm list
    /// is full, in which case the stack's pages are first released to the kernel.
    ///
    /// `stack` must come from this pool (checked in debug builds).
    pub(crate) fn free(&self, stack: Stack) {
        let mut st = self.state.lock();
        debug_assert!(
            stack.size == self.stack_size && self.owns(&st, &stack),
            "StackPool::free: {stack:?} does not belong to this pool"
        );
        debug_assert!(st.live > 0);
        st.live -= 1;
        if st.warm.len() < self.warm_cap {
            st.warm.push(stack);
            return;
        }
        st.dirty.push_back(stack);
        self.dirty_len.store(st.dirty.len(), Relaxed);
        if st.dirty.len() > self.dirty_max {
            self.release_oldest(st, self.release_batch);
        }
    }

    /// sysmon's scavenger (Go: `bgscavenge`): releases the pages of up to `max` of the stacks
    /// freed longest ago. Returns how many it released.
    pub(crate) fn scavenge(&self, max: usize) -> usize {
        if !self.has_dirty() {
            return 0;
        }
        let mut done = 0;
        while done < max {
            let st = self.state.lock();
            if st.dirty.is_empty() {
                break;
            }
            done += self.release_oldest(st, self.release_batch.min(max - done));
        }
        done
    }

    /// Whether freed stacks wait for the scavenger.
    pub(crate) fn has_dirty(&self) -> bool {
        self.dirty_len.load(Relaxed) != 0
    }

    /// The most recently freed `dirty` stack (still resident), under the lock.
    fn pop_dirty(&self, st: &mut PoolState) -> Option<Stack> {
        let s = st.dirty.pop_back()?;
        self.dirty_len.store(st.dirty.len(), Relaxed);
        Some(s)
    }

    /// Releases up to `n` of the oldest `dirty` stacks with one system call (the lock is let
    /// go meanwhile) and files them `cold`. Returns how many.
    fn release_oldest(&self, mut st: MutexGuard<'_, PoolState>, n: usize) -> usize {
        let n = n.min(st.dirty.len());
        let batch: Vec<Stack> = st.dirty.drain(..n).collect();
        self.dirty_len.store(st.dirty.len(), Relaxed);
        drop(st);
        let ranges: Vec<(usize, usize)> =
            batch.iter().map(|s| (s.guard_range().1, s.size)).collect();
        // SAFETY: each range is the usable part of a stack of our pool that its owner gave
        // back, so nobody needs its contents; page-aligned, it stays mapped, and the guard page
        // is outside it.
        unsafe { sys::release_pages_batch(&ranges) };
        self.state.lock().cold.extend(batch);
        n
    }

    /// Whether `stack` is a slot of one of this pool's slabs.
    fn owns(&self, st: &PoolState, stack: &Stack) -> bool {
        let start = stack.slot_start();
        st.slabs.iter().any(|s| {
            start >= s.base && start < s.base + s.len && (start - s.base) % self.slot_size == 0
        })
    }
}

impl Drop for StackPool {
    fn drop(&mut self) {
        let st = self.state.get_mut();
        if st.live != 0 {
            if !std::thread::panicking() {
                debug_assert_eq!(st.live, 0, "StackPool dropped with stacks still in use");
            }
            // A coroutine may still run on one of them: leak the address space rather than
            // unmap memory in use.
            return;
        }
        for slab in st.slabs.drain(..) {
            // SAFETY: the slab is our own mapping and no stack carved from it is in use
            // (`live == 0`); the free lists are dropped with the pool.
            unsafe { sys::unmap(slab.base, slab.len) };
        }
    }
}

#[cfg(test)]
mod tests;
