//! Waiter records off the goroutine's stack, from per-P caches (Go: `acquireSudog`,
//! `releaseSudog` in runtime/proc.go, `p.sudogcache` and `sched.sudogcache`).
//!
//! # Why
//!
//! A blocked operation leaves a record where its waker finds it: who to wake, the claim word,
//! the value in transit. If that record lived on the blocked goroutine's stack, a waker would
//! write into the stack of a parked goroutine, and the stack could never be copied out and
//! released while the goroutine is parked (`stack/mod.rs`). So every such record is a
//! [`SudogBox`]: a heap block that the blocked party owns and frees once no waker can reach
//! it, and nothing but the goroutine itself touches its stack.
//!
//! # The protocol
//!
//! - Blocks come in three size classes ([`CLASS_BYTES`], 16-byte aligned); a record that fits
//!   none (or is over-aligned, or zero-sized) is a plain `Box`.
//! - [`acquire_sudog`] pops the class's free list of the caller's P (no lock: only the M
//!   holding the P touches it, and there is no scheduling point between finding the P and
//!   using its cache). An empty list first takes up to half a list's worth from the
//!   runtime's central cache (one lock), else the block is allocated.
//! - [`release_sudog`] pushes onto the caller's P's list; a full list first moves half of
//!   itself to the central cache (Go moves half too), which keeps at most
//!   [`SUDOG_CENTRAL_CAP`](crate::loom::SUDOG_CENTRAL_CAP) blocks per class and frees the rest.
//! - A block may be released on another P, or on a plain thread (freed), than the one it came
//!   from: every block of a class has the same layout and comes from the global allocator.
//! - On a plain thread (no P), or inside `syscall(f)`, blocks come from and go to the global
//!   allocator directly.
//!
//! The central cache is the only part two threads race on; `tests/loom_sudog.rs` models two
//! Ps moving blocks through it and checks that no block is ever handed out twice.

use crate::loom::{Mutex, SUDOG_CACHE_CAP, SUDOG_CENTRAL_CAP};
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::fmt;
use std::marker::PhantomData;
use std::mem::size_of;
use std::ops::Deref;
use std::ptr::NonNull;

/// The size classes of records, in bytes. gmp-chan's record for a plain send or receive is
/// 40 bytes plus the value's `Option<T>`; gmp-sync's parking-lot waiter is 48. A goroutine's
/// task (`TaskBox`: its closure and a pointer, 16 bytes for a closure of one reference) and
/// its join slot (`SlotRef`: 80 bytes for `T = ()`) come from here too: the 24- and 88-byte
/// classes are glibc's 32- and 96-byte chunks, what their `Box` and `Arc` took before (a block
/// is `malloc`ed at its class's size: 8 bytes of header, rounded to 16).
pub(crate) const CLASS_BYTES: [usize; 5] = [24, 64, 88, 128, 256];
/// Alignment of every block.
const CLASS_ALIGN: usize = 16;
const NCLASS: usize = CLASS_BYTES.len();

/// The class of a block for `l`, or `None` when it comes from the allocator (too large,
/// over-aligned) or needs no memory (zero-sized).
const fn layout_class(l: Layout) -> Option<usize> {
    if l.size() == 0 || l.align() > CLASS_ALIGN {
        return None;
    }
    let mut c = 0;
    while c < NCLASS {
        if l.size() <= CLASS_BYTES[c] {
            return Some(c);
        }
        c += 1;
    }
    None
}

/// The class of a record of type `T` (see [`layout_class`]).
#[cfg(test)]
const fn class_of<T>() -> Option<usize> {
    layout_class(Layout::new::<T>())
}

fn layout(class: usize) -> Layout {
    // Cannot fail: the sizes are small multiples of the alignment, a power of two.
    Layout::from_size_align(CLASS_BYTES[class], CLASS_ALIGN).expect("valid block layout")
}

/// A free block of some class.
struct Block(NonNull<u8>);

// SAFETY: a free block is plain memory that nobody else points to; it can be freed or reused
// on any thread.
unsafe impl Send for Block {}

impl Block {
    fn alloc(class: usize) -> Block {
        let l = layout(class);
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc(l) };
        Block(NonNull::new(p).unwrap_or_else(|| handle_alloc_error(l)))
    }

    fn free(self, class: usize) {
        // SAFETY: every block of `class` was allocated by `Block::alloc(class)`, with this
        // layout, and nobody points to a free one.
        unsafe { dealloc(self.0.as_ptr(), layout(class)) }
    }
}

/// The free lists of one P (Go: `p.sudogcache`), owner only.
#[derive(Default)]
pub struct SudogCache {
    free: [Vec<Block>; NCLASS],
}

/// The runtime's free lists behind one lock (Go: `sched.sudogcache` under `sched.sudoglock`).
#[derive(Default)]
pub struct SudogCentral {
    free: Mutex<[Vec<Block>; NCLASS]>,
}

impl fmt::Debug for SudogCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lens: Vec<usize> = self.free.iter().map(Vec::len).collect();
        f.debug_struct("SudogCache").field("free", &lens).finish()
    }
}

impl fmt::Debug for SudogCentral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SudogCentral")
    }
}

impl SudogCache {
    /// Go: `acquireSudog`: a block of `class` from this cache, refilled from `central` (up to
    /// half a list's worth) or the allocator when empty.
    #[inline]
    pub fn acquire_sudog(&mut self, central: &SudogCentral, class: usize) -> NonNull<u8> {
        match self.free[class].pop() {
            Some(b) => b.0,
            None => self.refill(central, class),
        }
    }

    #[cold]
    fn refill(&mut self, central: &SudogCentral, class: usize) -> NonNull<u8> {
        let list = &mut self.free[class];
        let mut c = central.free.lock();
        let take = c[class].len().min(SUDOG_CACHE_CAP / 2);
        let at = c[class].len() - take;
        list.extend(c[class].drain(at..));
        drop(c);
        list.pop().unwrap_or_else(|| Block::alloc(class)).0
    }

    /// Go: `releaseSudog`: gives a block of `class` back to this cache, moving half of a full
    /// list to `central` first (freeing what `central` has no room for).
    #[inline]
    pub fn release_sudog(&mut self, central: &SudogCentral, class: usize, b: NonNull<u8>) {
        let list = &mut self.free[class];
        if list.len() < SUDOG_CACHE_CAP {
            list.push(Block(b));
        } else {
            self.spill(central, class, b);
        }
    }

    #[cold]
    fn spill(&mut self, central: &SudogCentral, class: usize, b: NonNull<u8>) {
        let list = &mut self.free[class];
        let half = list.split_off(list.len() / 2);
        let mut c = central.free.lock();
        let room = SUDOG_CENTRAL_CAP.saturating_sub(c[class].len());
        let mut half = half.into_iter();
        c[class].extend(half.by_ref().take(room));
        drop(c);
        for extra in half {
            extra.free(class);
        }
        list.push(Block(b));
    }

    /// Blocks held, per class (for tests).
    pub fn len(&self, class: usize) -> usize {
        self.free[class].len()
    }
}

impl SudogCentral {
    /// Blocks held, per class (for tests).
    pub fn len(&self, class: usize) -> usize {
        self.free.lock()[class].len()
    }
}

fn free_all(lists: &mut [Vec<Block>; NCLASS]) {
    for (class, list) in lists.iter_mut().enumerate() {
        for b in list.drain(..) {
            b.free(class);
        }
    }
}

impl Drop for SudogCache {
    fn drop(&mut self) {
        free_all(&mut self.free);
    }
}

impl Drop for SudogCentral {
    fn drop(&mut self) {
        free_all(&mut self.free.lock());
    }
}

/// Memory for a record of `layout`: a block from the caller's P's cache in a goroutine, else
/// from the allocator (a dangling, aligned pointer for a zero size).
#[inline]
pub(crate) fn alloc_record(layout: Layout) -> NonNull<u8> {
    match layout_class(layout) {
        Some(class) => {
            super::m::with_sudogcache(|cache, central, _| cache.acquire_sudog(central, class))
                .unwrap_or_else(|| Block::alloc(class).0)
        }
        None if layout.size() == 0 => {
            NonNull::new(layout.align() as *mut u8).expect("alignments are not zero")
        }
        None => {
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { alloc(layout) };
            NonNull::new(p).unwrap_or_else(|| handle_alloc_error(layout))
        }
    }
}

/// [`alloc_record`], with the caller's [`Unparker`](crate::park::Unparker) (what
/// [`park::current`](crate::park::current) returns), found with one look at the scheduler's
/// thread-local instead of two: the usual shape of a waiter record.
#[inline]
fn alloc_record_with_current(layout: Layout) -> (NonNull<u8>, crate::park::Unparker) {
    if let Some(class) = layout_class(layout) {
        let got = super::m::with_sudogcache(|cache, central, c| {
            let g = super::m::current_g_arc(c)?;
            Some((
                cache.acquire_sudog(central, class),
                super::GoUnparker::new(g),
            ))
        });
        if let Some(Some((block, g))) = got {
            return (block, crate::park::Unparker::goroutine(g));
        }
    }
    (alloc_record(layout), crate::park::current())
}

/// Gives back the memory of a record of `layout`: to the caller's P's cache in a goroutine,
/// else to the allocator.
///
/// # Safety
/// `ptr` came from [`alloc_record`] (or its `_with_current` form) for this layout, whatever
/// it held was dropped or moved out, and it is not used again.
#[inline]
pub(crate) unsafe fn free_record(ptr: NonNull<u8>, layout: Layout) {
    match layout_class(layout) {
        Some(class) => {
            let kept = super::m::with_sudogcache(|cache, central, _| {
                cache.release_sudog(central, class, ptr)
            });
            if kept.is_none() {
                Block(ptr).free(class);
            }
        }
        None if layout.size() == 0 => {}
        // SAFETY: allocated by `alloc_record` with this layout (the caller's contract).
        None => unsafe { dealloc(ptr.as_ptr(), layout) },
    }
}

/// A waiter record off the stack (Go: a `sudog` from `acquireSudog`): like a `Box<T>`, but
/// its memory comes from the running P's cache, so blocking does not call the allocator.
///
/// Blocking operations put what their wakers read and write (the claim word, the unparker,
/// the value in transit) in one of these instead of in their own frame, so that a parked
/// goroutine's stack is touched by nobody but itself and can be copied out while it waits.
/// The owner must not drop it while a waker can still reach it, exactly as it must not leave
/// a frame holding such a record.
///
/// ```
/// use gmp_core::park::SudogBox;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let rec = SudogBox::new(AtomicUsize::new(0));
/// rec.store(7, Ordering::Relaxed);
/// assert_eq!(rec.load(Ordering::Relaxed), 7);
/// ```
pub struct SudogBox<T> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: a SudogBox owns its T exactly as a Box does.
unsafe impl<T: Send> Send for SudogBox<T> {}
// SAFETY: as for Box: shared access hands out `&T` only.
unsafe impl<T: Sync> Sync for SudogBox<T> {}

impl<T> SudogBox<T> {
    /// The bytes a record of `T` takes: its size class's block, or `T`'s own size.
    pub const BLOCK_BYTES: usize = match layout_class(Layout::new::<T>()) {
        Some(c) => CLASS_BYTES[c],
        None => size_of::<T>(),
    };

    /// `v` in the memory `p` of a record of `T`.
    #[inline]
    fn fill(p: NonNull<u8>, v: T) -> Self {
        let ptr = p.cast::<T>();
        // SAFETY: `alloc_record` gave free memory of `T`'s layout (a block of a class `T`
        // fits, aligned to 16 >= its alignment, or the allocator's own).
        unsafe { ptr.as_ptr().write(v) };
        SudogBox {
            ptr,
            _owns: PhantomData,
        }
    }

    /// Moves `v` into a record from the caller's P's cache (or the allocator).
    pub fn new(v: T) -> Self {
        Self::fill(alloc_record(Layout::new::<T>()), v)
    }

    /// A record holding `f(unparker)`, with the caller's [`Unparker`](crate::park::Unparker) (what
    /// [`park::current`](crate::park::current) returns): the usual shape of a waiter record,
    /// made with one look at the scheduler's thread-local instead of two.
    #[inline]
    pub fn new_with(f: impl FnOnce(crate::park::Unparker) -> T) -> Self {
        let (p, me) = alloc_record_with_current(Layout::new::<T>());
        Self::fill(p, f(me))
    }

    /// Moves the record's value out and gives the memory back.
    #[inline]
    pub fn into_inner(self) -> T {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the record holds an initialised T, read once here; `this` is not dropped,
        // so the T is not dropped again, and the memory is given back just below.
        let v = unsafe { this.ptr.as_ptr().read() };
        // SAFETY: the value was moved out; only the memory remains.
        unsafe { free_record(this.ptr.cast(), Layout::new::<T>()) };
        v
    }
}

/// Raw bytes for a waiter record whose layout is known only at run time, from the same
/// caches as [`SudogBox`]: a select's claim word and its cases' value slots in one block (Go
/// takes one `sudog` per case). It only holds memory: whoever writes values into it drops
/// them before the bytes go.
pub struct SudogBytes {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl SudogBytes {
    /// At least `layout.size()` bytes aligned to `layout.align()`.
    pub fn new(layout: Layout) -> Self {
        SudogBytes {
            ptr: alloc_record(layout),
            layout,
        }
    }

    /// [`new`](Self::new), with the caller's [`Unparker`](crate::park::Unparker) (what
    /// [`park::current`](crate::park::current) returns), found with one look at the
    /// scheduler's thread-local instead of two.
    #[inline]
    pub fn new_with_current(layout: Layout) -> (Self, crate::park::Unparker) {
        let (ptr, me) = alloc_record_with_current(layout);
        (SudogBytes { ptr, layout }, me)
    }

    /// The first byte.
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.ptr
    }
}

impl Drop for SudogBytes {
    fn drop(&mut self) {
        // SAFETY: from `alloc_record` with this layout; its holder dropped what it wrote.
        unsafe { free_record(self.ptr, self.layout) };
    }
}

impl fmt::Debug for SudogBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SudogBytes")
            .field("size", &self.layout.size())
            .finish()
    }
}

impl<T> Deref for SudogBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the record holds an initialised T for as long as the box lives.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> Drop for SudogBox<T> {
    fn drop(&mut self) {
        // SAFETY: the record holds an initialised T, dropped once here.
        unsafe { std::ptr::drop_in_place(self.ptr.as_ptr()) };
        // SAFETY: dropped just above; the box is going away.
        unsafe { free_record(self.ptr.cast(), Layout::new::<T>()) };
    }
}

impl<T: fmt::Debug> fmt::Debug for SudogBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn classes_fit_and_oversized_records_are_boxed() {
        assert_eq!(class_of::<[u8; 1]>(), Some(0));
        assert_eq!(class_of::<[u64; 3]>(), Some(0));
        assert_eq!(class_of::<[u64; 4]>(), Some(1));
        assert_eq!(class_of::<[u64; 8]>(), Some(1));
        assert_eq!(class_of::<[u64; 9]>(), Some(2));
        assert_eq!(class_of::<[u64; 11]>(), Some(2));
        assert_eq!(class_of::<[u64; 12]>(), Some(3));
        assert_eq!(class_of::<[u64; 32]>(), Some(4));
        assert_eq!(class_of::<[u64; 33]>(), None);
        assert_eq!(class_of::<()>(), None);
        #[repr(align(64))]
        struct Wide;
        assert_eq!(class_of::<Wide>(), None);
        // Values of every kind come back whole and are dropped once.
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        struct D(std::sync::Arc<AtomicUsize>, [u64; 40]);
        impl Drop for D {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        drop(SudogBox::new(D(drops.clone(), [7; 40])));
        let b = SudogBox::new(D(drops.clone(), [9; 40]));
        assert_eq!(b.1[39], 9);
        let d = b.into_inner();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        drop(d);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        let small = SudogBox::new((1u8, 2u64));
        assert_eq!(*small, (1, 2));
        assert_eq!(SudogBox::new(()).into_inner(), ());
    }

    #[test]
    fn a_full_cache_moves_half_to_the_central_one_and_refills_from_it() {
        let central = SudogCentral::default();
        let mut a = SudogCache::default();
        let mut b = SudogCache::default();
        let blocks: Vec<NonNull<u8>> = (0..SUDOG_CACHE_CAP + 1)
            .map(|_| a.acquire_sudog(&central, 1))
            .collect();
        for p in blocks {
            a.release_sudog(&central, 1, p);
        }
        assert_eq!(a.len(1), SUDOG_CACHE_CAP - SUDOG_CACHE_CAP / 2 + 1);
        assert_eq!(central.len(1), SUDOG_CACHE_CAP / 2);
        // Another P refills from the central cache, half a list at a time.
        let p = b.acquire_sudog(&central, 1);
        assert_eq!(b.len(1), SUDOG_CACHE_CAP / 2 - 1);
        assert_eq!(central.len(1), 0);
        b.release_sudog(&central, 1, p);
        assert_eq!(a.len(0) + b.len(0) + central.len(0), 0);
    }
}
