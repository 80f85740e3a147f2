//! The leak check (Go 1.27's goroutine-leak profile, `/debug/pprof/goroutineleak`):
//! goroutines parked on a gmp channel, `WaitGroup` or `JoinHandle` that nothing can ever wake.
//!
//! # The idea
//!
//! Go finds them with a special GC cycle: a goroutine blocked on a channel is a root only if
//! some goroutine that can run reaches the channel. gmp has no GC, but it has ownership: every
//! handle of a channel (a `Chan`, `Sender` or `Receiver`) is one strong count of the channel's
//! `Arc`. A goroutine parked on a channel *through a handle on its own stack* holds that count
//! where nobody else can use it while it is parked. When every count of a channel is such a
//! handle, of goroutines that are themselves stuck, no handle exists anywhere else, none can be
//! made (making one takes a handle), and so no operation on the channel can ever happen again:
//! those goroutines are leaked.
//!
//! # What a blocked operation tells the check
//!
//! An operation that may block forever runs its parks inside [`waiting_on`], naming what it
//! waits on ([`WaitsOn`]): for each object, its shared part (whose strong count is its handle
//! count) and the handle the caller waits through; for a join, the goroutine joined. The list
//! lives in the caller's frame; the G points at it (`G::waits_on`) while the operation runs.
//! Timed waits never register: a deadline can wake them. Nor do locks, `Cond`s and
//! semaphores: they have no handles (they live in an `Arc` or a static that anything may
//! reach), so the check cannot tell who can still release them.
//!
//! # The check
//!
//! 1. Every goroutine parked with a registration is *frozen*: the copy-out claim
//!    (`copyout.rs`: `STACK_COPYING`), which keeps it from running (an M that dequeues it
//!    waits) without putting a copied-out stack back. Its registration is read from its
//!    stack, or from the stack's copy. One check runs at a time (two holding freezes could
//!    wait on each other).
//! 2. Each object's handle count is read once, then an Acquire fence.
//! 3. The greatest fixed point ([`stuck`]): start from every frozen goroutine; drop one if
//!    any object it waits on still has a handle that is not a stuck goroutine's own (a count
//!    above the distinct handles that stuck goroutines wait through from their own,
//!    unpinned, stack), or if the goroutine it joins is not stuck; repeat until nothing
//!    changes.
//! 4. Each survivor is confirmed still `WAITING`; any that is not is dropped and step 3
//!    runs again.
//! 5. The freezes are released, and the survivors are reported in `dump`'s format, their
//!    header saying `[chan receive (leaked)]`.
//!
//! # Why nothing reported can ever be woken (no false positives)
//!
//! A frozen goroutine cannot run, so between its freeze and its confirmation it could only
//! have been *woken*, and the confirmation sees that (a woken goroutine is never `WAITING`
//! again without running). So every survivor sat parked, in the same operation, holding
//! the handles it waits through, for the whole check. For each object a survivor waits on,
//! the count read at some instant `t` equalled the number of those handles: each was made
//! before its owner parked (so the count at `t` includes it) and none was dropped, so at `t`
//! no other handle existed. After `t` a new handle can only be cloned from an existing one,
//! all held by parked survivors; so the object never sees another operation, and nothing
//! wakes a survivor (no deadline, no other object). A party that woke a survivor before `t`
//! and then dropped its handle did so before the count the check read (a Release decrement
//! read by the check, with its Acquire fence): the confirmation sees the wake-up.
//! `tests/loom_leak.rs` models the freeze and the count against a waker that wakes and
//! drops its handle.
//!
//! # Limits: what is not reported
//!
//! The check sees only handles that goroutines wait through, so it misses (never mis-reports):
//! - a cycle through handles that are merely held: a goroutine parked on channel A that keeps
//!   the only other handle of channel B, on which another goroutine is parked, keeps that one
//!   from being reported, even when it is leaked itself (Go's GC would find both);
//! - handles kept on the heap (in a `Vec`, a `Box`, an `Arc`, a struct behind a pointer) or in
//!   a static or a thread-local: anybody might reach those;
//! - a goroutine inside a `gmp_core::scope`: its scope's goroutines may borrow its handles;
//! - a goroutine waiting through a handle it borrows from another goroutine's stack.
//!
//! Handles lent to another thread by `std::thread::scope` from a goroutine's stack while it
//! parks would fool it; the crate forbids such borrowing anyway (copy-out moves parked stacks).

use super::g::{self, G};
use super::Sched;
use crate::loom::atomic::{fence, Ordering::*};
use crate::loom::Arc;
use std::collections::HashMap;

/// One thing a parked goroutine waits on, for the leak check ([`leaked`](crate::leaked)): an
/// object whose handles are the clones of one `Arc` (a gmp channel, a `WaitGroup`), with the
/// handle the goroutine waits through, or the end of a goroutine it joins.
///
/// Made by primitives built on [`park`](crate::park) and registered with [`waiting_on`] around
/// a wait that has no deadline:
///
/// ```
/// use gmp_core::park::{self, WaitsOn, WaitReason};
/// use std::sync::Arc;
///
/// /// A one-shot flag with handles (each clone can set it).
/// #[derive(Clone)]
/// struct Flag(Arc<std::sync::atomic::AtomicBool>);
///
/// let f = Flag(Arc::new(Default::default()));
/// f.0.store(true, std::sync::atomic::Ordering::SeqCst);
/// // Wait through `f`: if every handle of `f.0` ends up on goroutines parked here, they leak.
/// park::waiting_on(&[WaitsOn::handle(&f.0, &f)], || {
///     while !f.0.load(std::sync::atomic::Ordering::SeqCst) {
///         park::park(WaitReason::Park);
///     }
/// });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct WaitsOn(On);

#[derive(Clone, Copy, Debug)]
enum On {
    /// An object whose handles each hold one strong count of the `Arc` whose pointee is at
    /// `shared`; `count` reads that count; the caller waits through the handle at `via`.
    Handles {
        shared: *const (),
        via: usize,
        count: unsafe fn(*const ()) -> usize,
    },
    /// The end of goroutine `goid` of runtime `runtime` (`JoinHandle::join`).
    End { runtime: u64, goid: u64 },
}

/// An `Arc` whose clones are an object's handles (a handle holds one strong count). Sealed:
/// std's `Arc` (and loom's, in gmp's models).
pub trait SharedHandles: sealed::Sealed {
    #[doc(hidden)]
    fn shared_ptr(&self) -> *const ();
    /// The strong count of the `Arc` whose pointee is at `shared`.
    ///
    /// # Safety
    /// `shared` came from [`shared_ptr`](Self::shared_ptr) of an `Arc` of this type that
    /// is still alive.
    #[doc(hidden)]
    unsafe fn count_at(shared: *const ()) -> usize;
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

impl<T> sealed::Sealed for Arc<T> {}

impl<T> SharedHandles for Arc<T> {
    fn shared_ptr(&self) -> *const () {
        Arc::as_ptr(self).cast()
    }
    unsafe fn count_at(shared: *const ()) -> usize {
        // SAFETY: the caller's contract: `shared` is the pointee of a live `Arc<T>`; the
        // rebuilt `Arc` is never dropped, so the count is only read.
        let a = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(shared.cast::<T>()) });
        Arc::strong_count(&a)
    }
}

impl WaitsOn {
    /// The caller waits on the object whose handles are the clones of `shared`, through the
    /// handle `via` (the value whose method blocks: a `Chan`, a `WaitGroup`). Every handle
    /// must hold one strong count of `shared`, and no `Weak` of it may be upgraded to one:
    /// then a count made up only of handles that stuck goroutines wait through from their own
    /// stacks means nobody else can reach the object. Extra counts (a clone held by the
    /// runtime, a timer) only make the check more careful.
    pub fn handle<A: SharedHandles, H>(shared: &A, via: &H) -> WaitsOn {
        WaitsOn(On::Handles {
            shared: shared.shared_ptr(),
            via: via as *const H as usize,
            count: A::count_at,
        })
    }

    /// The caller waits for goroutine `goid` of runtime `runtime` to end.
    pub(crate) fn end(runtime: u64, goid: u64) -> WaitsOn {
        WaitsOn(On::End { runtime, goid })
    }
}

/// Where a G finds its registration: in the frame of [`waiting_on`], read by the check from
/// the stack (or its copy) as plain bytes, so `#[repr(C)]`.
#[repr(C)]
#[derive(Clone, Copy)]
struct OnList {
    ptr: *const WaitsOn,
    len: usize,
}

/// Runs `f`, whose parks (without a deadline) wait on `on` and nothing else, with `on`
/// registered for the leak check ([`leaked`](crate::leaked)): a goroutine parked inside `f`
/// is reported when nobody else can reach any of `on` (an empty `on` means nothing can wake
/// it: a receive from a nil channel, `select {}`). Outside a goroutine it just runs `f`.
///
/// `f` must not park for anything else (a lock, a timed wait, I/O) while registered, or the
/// check could report a goroutine that such an event would wake.
pub fn waiting_on<R>(on: &[WaitsOn], f: impl FnOnce() -> R) -> R {
    let Some(g) = super::m::current_g() else {
        return f();
    };
    let list = OnList {
        ptr: on.as_ptr(),
        len: on.len(),
    };
    // Only the goroutine writes its own registration, while it runs; its park's commit
    // (SeqCst) publishes it to a check that freezes the goroutine (Acquire).
    let prev = g.waits_on.load(Relaxed);
    g.waits_on.store(&list as *const OnList as usize, Relaxed);
    /// Puts the previous registration back, unwinding too (a cancelled goroutine).
    struct Restore<'a>(&'a G, usize);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            self.0.waits_on.store(self.1, Relaxed);
        }
    }
    let _restore = Restore(g, prev);
    let r = f();
    // `list` must live until the registration is gone.
    std::hint::black_box(&list);
    r
}

/// A frozen goroutine and what it waits on.
struct Candidate {
    g: Arc<G>,
    goid: u64,
    /// Its stack, `[lo, top)`, where handles it owns alone live.
    lo: usize,
    top: usize,
    /// Inside a scope: its handles may be borrowed by the scope's goroutines.
    pinned: bool,
    on: Vec<WaitsOn>,
}

impl Candidate {
    /// Whether the handle at `via` is this goroutine's alone (on its own stack, not lent).
    fn owns(&self, via: usize) -> bool {
        !self.pinned && (self.lo..self.top).contains(&via)
    }
}

/// Registrations longer than this are not read (a corrupt length): the goroutine is skipped.
const MAX_ON: usize = 1 << 16;

/// One leak check at a time: two, each holding freezes, could wait on each other's.
static CHECK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The goroutines of `s` that nothing can ever wake (see the module docs), by goid.
pub(crate) fn leaked_gs(s: &Sched) -> Vec<Arc<G>> {
    let _one = CHECK.lock().unwrap_or_else(|e| e.into_inner());
    let gs: Vec<Arc<G>> = s.allgs.lock().clone();
    let me = super::m::current_g().map(|g| g as *const G);
    let mut frozen: Vec<Arc<G>> = Vec::new();
    let mut cands: Vec<Candidate> = Vec::new();
    for g in gs {
        if Some(&*g as *const G) == me || g.waits_on.load(Relaxed) == 0 || g.status() != g::WAITING
        {
            continue;
        }
        let Some(w) = g.pstack.freeze(&g.state) else {
            continue;
        };
        frozen.push(g.clone());
        if let Some(on) = registration(&g, w) {
            let (lo, top) = g.pstack.bounds();
            cands.push(Candidate {
                goid: g::goid_of(w),
                pinned: g.pstack.pinned(),
                lo,
                top,
                on,
                g,
            });
        }
    }
    // Each object's count, read once; the fence makes the wake-ups of parties whose
    // decrements we read visible to the confirmation below.
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for c in &cands {
        for w in &c.on {
            if let On::Handles { shared, count, .. } = w.0 {
                // SAFETY: the goroutine is frozen inside `waiting_on`, whose `on` borrows a
                // live `Arc` of `shared` (`WaitsOn::handle`), and `count` is that `Arc` type's.
                counts
                    .entry(shared as usize)
                    .or_insert_with(|| unsafe { count(shared) });
            }
        }
    }
    counts_read();
    let mut alive = stuck(&cands, &counts, s.id);
    loop {
        let mut dropped = false;
        for (i, c) in cands.iter().enumerate() {
            if alive[i] && !still_parked(&c.g.state) {
                alive[i] = false;
                dropped = true;
            }
        }
        if !dropped {
            break;
        }
        alive = stuck_from(&cands, &counts, s.id, alive);
    }
    for g in &frozen {
        g.pstack.release_claim(&g.state);
    }
    let mut out: Vec<Arc<G>> = cands
        .into_iter()
        .zip(alive)
        .filter(|(_, a)| *a)
        .map(|(c, _)| c.g)
        .collect();
    out.sort_by_key(|g| g.goid());
    out
}

/// Step 2's end, once every count is read: an Acquire fence, so that whatever a party did
/// before a decrement the check read (a wake-up, then dropping its handle) is visible to the
/// confirmation ([`still_parked`]).
pub fn counts_read() {
    fence(Acquire);
}

/// Step 4: whether a frozen goroutine whose state word is `state` is still parked, that is,
/// was never woken since its freeze (it cannot run while frozen, so a woken one stays
/// `RUNNABLE`).
pub fn still_parked(state: &crate::loom::atomic::AtomicU64) -> bool {
    state.load(Acquire) & g::STATUS_MASK == g::WAITING
}

/// The registration of frozen goroutine `g` (`w`: the word it was frozen on).
fn registration(g: &G, w: u64) -> Option<Vec<WaitsOn>> {
    let at = g.waits_on.load(Relaxed);
    if at == 0 {
        return None;
    }
    // SAFETY: we hold the freeze; `at` is the `OnList` in the frame of the `waiting_on` the
    // goroutine parked in (it clears the pointer before that frame ends, and it has not run
    // since it parked).
    let list: OnList = unsafe { g.pstack.read_frozen(w, at)? };
    if list.len > MAX_ON {
        return None;
    }
    let mut on = Vec::with_capacity(list.len);
    for i in 0..list.len {
        let p = list.ptr.wrapping_add(i) as usize;
        // SAFETY: as above: the `on` slice that `waiting_on` borrows outlives its frame's
        // registration, in the goroutine's stack or in memory its frames keep alive.
        on.push(unsafe { g.pstack.read_frozen::<WaitsOn>(w, p)? });
    }
    Some(on)
}

/// The greatest set of candidates that are stuck (see the module docs, step 3), as a mask.
fn stuck(cands: &[Candidate], counts: &HashMap<usize, usize>, runtime: u64) -> Vec<bool> {
    stuck_from(cands, counts, runtime, vec![true; cands.len()])
}

/// [`stuck`], starting from the candidates `alive` (a superset of the answer).
///
/// A worklist, linear in the registrations: each object keeps how many stuck goroutines
/// wait through each handle they own; dropping a goroutine lowers those counts, and only an
/// object whose owned handles fall below its count (it becomes reachable, for good: the set
/// only shrinks) sends its waiters back to the list, as does a dropped goroutine its joiners.
/// (Recomputing every object for every goroutine was quadratic: 100,000 goroutines leaked on
/// one channel took minutes.)
fn stuck_from(
    cands: &[Candidate],
    counts: &HashMap<usize, usize>,
    runtime: u64,
    mut alive: Vec<bool>,
) -> Vec<bool> {
    /// One object: its handle count, who waits on it, and the handles stuck waiters own.
    #[derive(Default)]
    struct Obj {
        count: usize,
        waiters: Vec<usize>,
        /// Handle address → how many stuck waiters wait through it (one, but for a select
        /// naming the channel twice through one handle).
        owned: HashMap<usize, usize>,
    }
    impl Obj {
        fn reachable(&self) -> bool {
            self.count != self.owned.len()
        }
    }
    let mut objs: HashMap<usize, Obj> = HashMap::new();
    let mut joiners: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, c) in cands.iter().enumerate() {
        for w in &c.on {
            match w.0 {
                On::Handles { shared, via, .. } => {
                    let o = objs.entry(shared as usize).or_default();
                    o.count = counts
                        .get(&(shared as usize))
                        .copied()
                        .unwrap_or(usize::MAX);
                    o.waiters.push(i);
                    if alive[i] && c.owns(via) {
                        *o.owned.entry(via).or_default() += 1;
                    }
                }
                On::End { goid, .. } => joiners.entry(goid).or_default().push(i),
            }
        }
    }
    let by_goid: HashMap<u64, usize> = cands.iter().enumerate().map(|(i, c)| (c.goid, i)).collect();
    let mut work: Vec<usize> = (0..cands.len()).filter(|&i| alive[i]).collect();
    while let Some(i) = work.pop() {
        if !alive[i] {
            continue;
        }
        let reachable = cands[i].on.iter().any(|w| match w.0 {
            On::Handles { shared, .. } => objs[&(shared as usize)].reachable(),
            On::End { runtime: r, goid } => {
                r != runtime || !by_goid.get(&goid).is_some_and(|&j| alive[j])
            }
        });
        if !reachable {
            continue;
        }
        alive[i] = false;
        // Its handles no longer count as stuck ones: objects that become reachable send
        // their waiters back; its joiners are checked again.
        for w in &cands[i].on {
            if let On::Handles { shared, via, .. } = w.0 {
                if !cands[i].owns(via) {
                    continue;
                }
                let o = objs.get_mut(&(shared as usize)).expect("indexed above");
                let was = o.reachable();
                if let Some(n) = o.owned.get_mut(&via) {
                    *n -= 1;
                    if *n == 0 {
                        o.owned.remove(&via);
                    }
                }
                if !was && o.reachable() {
                    work.extend(o.waiters.iter().copied().filter(|&j| alive[j]));
                }
            }
        }
        if let Some(js) = joiners.get(&cands[i].goid) {
            work.extend(js.iter().copied().filter(|&j| alive[j]));
        }
    }
    alive
}
