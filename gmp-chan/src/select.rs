//! `select` (Go: runtime/select.go `selectgo`): the engine under `select!` and the dynamic
//! [`Select`] builder (Go: `reflect.Select`).
//!
//! The protocol is described in `chan.rs`: lock every case's channel in address order, poll the
//! cases in random order, else enqueue one entry per case sharing one claim word, unlock, park,
//! relock, remove the losing entries.

use crate::chan::{Hchan, State};
use crate::error::{SendError, TryRecvError, TrySendError};
use crate::handles::Chan;
use crate::loom::rand_below;
use crate::operand::{RecvOperand, SendOperand};
use crate::sudog::Sudog;
use crate::waitq::{Packet, Wakeup};
use gmp_core::park::{self, SudogBytes, WaitReason, WaitsOn};
use std::alloc::Layout;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// How a select waits when no case is ready.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// No `default`: wait for a case.
    Block,
    /// `default`: return at once.
    NonBlocking,
    /// `default(timeout)`: wait until the deadline.
    Deadline(Instant),
}

impl Mode {
    #[doc(hidden)]
    pub fn timeout(d: Duration) -> Mode {
        match gmp_core::time::now().checked_add(d) {
            Some(t) => Mode::Deadline(t),
            None => Mode::Block,
        }
    }
}

/// One type-erased case of a select (Go: `scase`).
pub(crate) trait Case {
    /// The channel's address (Go: `sortkey`), `None` for a nil channel.
    fn chan_addr(&self) -> Option<usize>;
    /// Whether this is a receive case.
    fn is_recv(&self) -> bool;
    /// Lock the channel by hand. Only called for non-nil cases.
    fn lock(&self);
    /// # Safety
    /// The caller locked this case's channel with [`Case::lock`].
    unsafe fn unlock(&self);
    /// With the lock held: complete now if possible (Go: pass 1 of `selectgo`). `Some(waker)`
    /// if the case fired; the waker is unparked after unlocking.
    ///
    /// # Safety
    /// The caller holds this case's channel lock and has no entry of this case queued.
    unsafe fn poll_locked(&self) -> Option<Option<Wakeup>>;
    /// With the lock held: enqueue an entry for `sg`'s case `case` (Go: pass 2). The case's
    /// value moves off the stack into `slot` (Go: one `sudog` per case) until
    /// [`unregister`](Case::unregister): in it if its packet fits, else in a box whose
    /// pointer the slot holds. Returns an async receiver to wake after unlocking (a send
    /// case notifies one: it will find the entry when polled).
    ///
    /// # Safety
    /// The caller holds the lock; `slot` is a free [`Slot`] that, like `sg` and `self`, stays
    /// alive until the entry is gone (see `chan.rs`, rule 3) and `unregister` has run.
    unsafe fn enqueue_locked(&self, sg: &Sudog, case: usize, slot: NonNull<Slot>)
        -> Option<Wakeup>;
    /// Once no entry of the select is queued any more: the value slot comes back from its
    /// record (Go: `releaseSudog`).
    fn unregister(&self);
    /// With the lock held: remove `sg`'s entries (Go: `dequeueSudoG`, pass 3).
    ///
    /// # Safety
    /// The caller holds the lock.
    unsafe fn dequeue_locked(&self, sg: &Sudog);
    /// What a select parked on this case waits on, for the leak check: the channel, through
    /// the case's handle (`None` for a nil channel).
    fn waits_on(&self) -> Option<WaitsOn>;
    /// Marks this case as the one that fired.
    fn fire(&self);
    /// The case fired but its result will never be read (a dropped or misused
    /// [`SelectedOperation`]): a received value goes back to the channel, ahead of the rest.
    /// (A fired send has delivered its value already.)
    fn unselect(&self);
}

/// One case of a select (Go: `scase`): the channel, the packet its value travels through,
/// and whether it fired. `D` is its direction, [`RecvDir`] or [`SendDir`]: everything else
/// about a receive case and a send case is the same code.
#[doc(hidden)]
pub struct OpCase<'a, T, D> {
    chan: Option<&'a Chan<T>>,
    /// A receive case's value lands here; a send case's value waits here.
    packet: Packet<T>,
    /// While the select is parked: the packet, moved off the stack where wakers reach it (in
    /// the select's record).
    parked: Cell<Option<NonNull<Slot>>>,
    fired: Cell<bool>,
    dir: PhantomData<D>,
}

/// A receive case: the channel and the slot its value lands in.
#[doc(hidden)]
pub type RecvCase<'a, T> = OpCase<'a, T, RecvDir>;

/// A send case: the channel and the value to send.
#[doc(hidden)]
pub type SendCase<'a, T> = OpCase<'a, T, SendDir>;

/// The direction of a [`RecvCase`].
#[doc(hidden)]
#[derive(Debug)]
pub enum RecvDir {}

/// The direction of a [`SendCase`].
#[doc(hidden)]
#[derive(Debug)]
pub enum SendDir {}

/// What differs between a receive case and a send case.
pub(crate) trait Dir {
    /// The case's type name, for `Debug`.
    const NAME: &'static str;
    /// Whether this is the receive direction.
    const IS_RECV: bool;
    /// [`Case::poll_locked`] for this direction, on the case's channel and packet.
    ///
    /// # Safety
    /// The caller holds `ch`'s lock and has no entry of this case queued.
    unsafe fn poll_locked<T>(ch: &Hchan<T>, packet: &Packet<T>) -> Option<Option<Wakeup>>;
    /// Queues the entry on this direction's queue (`recvq` or `sendq`); the caller holds the
    /// channel's lock. Returns an async receiver to wake after unlocking.
    fn enqueue<T>(st: &mut State<T>, sg: &Sudog, case: usize, packet: &Packet<T>)
        -> Option<Wakeup>;
    /// [`Case::unselect`] for this direction.
    fn unselect<T>(ch: &Hchan<T>, packet: &Packet<T>);
}

impl Dir for RecvDir {
    const NAME: &'static str = "RecvCase";
    const IS_RECV: bool = true;
    unsafe fn poll_locked<T>(ch: &Hchan<T>, packet: &Packet<T>) -> Option<Option<Wakeup>> {
        // SAFETY: the caller holds the lock.
        let r = unsafe { ch.with_locked(|st| ch.try_recv_locked(st)) };
        match r {
            Ok((v, waker)) => {
                // SAFETY: no entry of ours is queued, so nobody else can reach the packet.
                packet.with_mut(|p| unsafe { *p = Some(v) });
                Some(waker)
            }
            // Go: `rclose`: a closed, drained channel is ready and yields the zero value.
            Err(TryRecvError::Closed) => Some(None),
            Err(TryRecvError::Empty) => None,
        }
    }
    fn enqueue<T>(
        st: &mut State<T>,
        sg: &Sudog,
        case: usize,
        packet: &Packet<T>,
    ) -> Option<Wakeup> {
        Hchan::enqueue_recv(st, sg, case, packet);
        None
    }
    fn unselect<T>(ch: &Hchan<T>, packet: &Packet<T>) {
        // SAFETY: the select is over: no entry of ours is queued, the packet is ours alone.
        if let Some(v) = packet.with_mut(|p| unsafe { (*p).take() }) {
            ch.unrecv(v);
        }
    }
}

impl Dir for SendDir {
    const NAME: &'static str = "SendCase";
    const IS_RECV: bool = false;
    unsafe fn poll_locked<T>(ch: &Hchan<T>, packet: &Packet<T>) -> Option<Option<Wakeup>> {
        // SAFETY: no entry of ours is queued, so nobody else can reach the packet.
        let v = packet.with_mut(|p| unsafe { (*p).take() });
        let v = v.expect("gmp-chan: send case polled without its value");
        // SAFETY: the caller holds the lock.
        let r = unsafe { ch.with_locked(|st| ch.try_send_locked(st, v)) };
        match r {
            Ok(waker) => Some(waker),
            // A send case on a closed channel is ready: it fires with the value back.
            Err(TrySendError::Closed(v)) => {
                // SAFETY: as above.
                packet.with_mut(|p| unsafe { *p = Some(v) });
                Some(None)
            }
            Err(TrySendError::Full(v)) => {
                // SAFETY: as above.
                packet.with_mut(|p| unsafe { *p = Some(v) });
                None
            }
        }
    }
    fn enqueue<T>(
        st: &mut State<T>,
        sg: &Sudog,
        case: usize,
        packet: &Packet<T>,
    ) -> Option<Wakeup> {
        Hchan::enqueue_send(st, sg, case, packet)
    }
    fn unselect<T>(_ch: &Hchan<T>, _packet: &Packet<T>) {
        // Delivered; or the channel was closed, and the value can only be dropped.
    }
}

impl<'a, T, D> OpCase<'a, T, D> {
    fn with_packet(chan: Option<&'a Chan<T>>, packet: Option<T>) -> Self {
        OpCase {
            chan,
            packet: Packet::new(packet),
            parked: Cell::new(None),
            fired: Cell::new(false),
            dir: PhantomData,
        }
    }

    /// The packet's final contents if this case fired.
    fn output(self) -> Option<Option<T>> {
        if self.fired.get() {
            Some(self.packet.into_inner())
        } else {
            None
        }
    }

    fn hchan(&self) -> &'a Hchan<T> {
        &self.chan.expect("gmp-chan: nil case used").inner
    }
}

impl<'a, T> RecvCase<'a, T> {
    #[doc(hidden)]
    pub fn new(chan: Option<&'a Chan<T>>) -> Self {
        OpCase::with_packet(chan, None)
    }

    /// `Some(received)` if this case fired (`received` is `None` for a closed channel).
    #[doc(hidden)]
    pub fn into_output(self) -> Option<Option<T>> {
        self.output()
    }

    #[doc(hidden)]
    pub fn as_case(&self) -> CaseRef<'_> {
        CaseRef(self)
    }
}

impl<'a, T> SendCase<'a, T> {
    #[doc(hidden)]
    pub fn new(chan: Option<&'a Chan<T>>, v: T) -> Self {
        OpCase::with_packet(chan, Some(v))
    }

    /// `Some(result)` if this case fired: `Ok` if the value was delivered, `Err` with the
    /// value if the channel was closed.
    #[doc(hidden)]
    pub fn into_output(self) -> Option<Result<(), SendError<T>>> {
        self.output().map(|left| match left {
            None => Ok(()),
            Some(v) => Err(SendError(v)),
        })
    }

    #[doc(hidden)]
    pub fn as_case(&self) -> CaseRef<'_> {
        CaseRef(self)
    }
}

impl<T, D: Dir> fmt::Debug for OpCase<'_, T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(D::NAME).field("chan", &self.chan).finish()
    }
}

fn addr_of<T>(c: &Option<&Chan<T>>) -> Option<usize> {
    c.map(|c| &*c.inner as *const Hchan<T> as usize)
}

impl<T, D: Dir> Case for OpCase<'_, T, D> {
    fn chan_addr(&self) -> Option<usize> {
        addr_of(&self.chan)
    }
    fn is_recv(&self) -> bool {
        D::IS_RECV
    }
    fn lock(&self) {
        self.hchan().raw_lock();
    }
    unsafe fn unlock(&self) {
        // SAFETY: forwarded contract (the caller locked it).
        unsafe { self.hchan().raw_unlock() }
    }
    unsafe fn poll_locked(&self) -> Option<Option<Wakeup>> {
        // SAFETY: forwarded contract (lock held, no entry of ours queued).
        unsafe { D::poll_locked(self.hchan(), &self.packet) }
    }
    unsafe fn enqueue_locked(
        &self,
        sg: &Sudog,
        case: usize,
        slot: NonNull<Slot>,
    ) -> Option<Wakeup> {
        // SAFETY: no entry of this case is queued yet: the packet is ours alone.
        let v = self.packet.with_mut(|p| unsafe { (*p).take() });
        let rec: NonNull<Packet<T>> = if fits_slot::<Packet<T>>() {
            let r = slot.cast::<Packet<T>>();
            // SAFETY: the slot is free memory that a packet fits (the caller's contract,
            // `fits_slot`).
            unsafe { r.as_ptr().write(Packet::new(v)) };
            r
        } else {
            let b = NonNull::from(Box::leak(Box::new(Packet::new(v))));
            // SAFETY: the slot is free and holds a pointer (the caller's contract).
            unsafe { slot.cast::<NonNull<Packet<T>>>().as_ptr().write(b) };
            b
        };
        // SAFETY: the caller holds the lock; the slot stays alive until `unregister`, after
        // every entry is gone.
        let notify = unsafe {
            self.hchan()
                .with_locked(|st| D::enqueue(st, sg, case, rec.as_ref()))
        };
        self.parked.set(Some(slot));
        notify
    }
    fn unregister(&self) {
        if let Some(slot) = self.parked.take() {
            // SAFETY: written by `enqueue_locked`, read once here; no entry of this case is
            // queued any more, so nobody else touches it.
            let v = unsafe {
                if fits_slot::<Packet<T>>() {
                    slot.cast::<Packet<T>>().as_ptr().read()
                } else {
                    let b = slot.cast::<NonNull<Packet<T>>>().as_ptr().read();
                    *Box::from_raw(b.as_ptr())
                }
            }
            .into_inner();
            // SAFETY: as above: the inline packet is ours alone.
            self.packet.with_mut(|p| unsafe { *p = v });
        }
    }
    unsafe fn dequeue_locked(&self, sg: &Sudog) {
        // SAFETY: the caller holds the lock.
        unsafe { self.hchan().with_locked(|st| Hchan::dequeue(st, sg)) }
    }
    fn waits_on(&self) -> Option<WaitsOn> {
        self.chan.map(|c| WaitsOn::handle(&c.inner, c))
    }
    fn fire(&self) {
        self.fired.set(true);
    }
    fn unselect(&self) {
        if self.fired.get() {
            D::unselect(self.hchan(), &self.packet);
        }
    }
}

/// A borrowed, type-erased case, as `select!` hands it to [`run_select`].
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct CaseRef<'r>(&'r (dyn Case + 'r));

impl fmt::Debug for CaseRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaseRef")
            .field("recv", &self.0.is_recv())
            .field("nil", &self.0.chan_addr().is_none())
            .finish()
    }
}

/// How many cases a select handles without allocating its lists (Go keeps `pollorder` and
/// `lockorder` on the goroutine's stack).
const INLINE_CASES: usize = 8;

/// A list of at most the capacity it was made with: inline up to `N` items, else on the heap.
/// A select makes three per blocking call (poll order, lock order, the leak registration);
/// three allocations and frees were about a fifth of a 4-case select's time.
enum ShortList<T: Copy, const N: usize> {
    Inline {
        items: [MaybeUninit<T>; N],
        len: usize,
    },
    Heap(Vec<T>),
}

impl<T: Copy, const N: usize> ShortList<T, N> {
    /// An empty list for up to `cap` items.
    fn with_capacity(cap: usize) -> Self {
        if cap <= N {
            ShortList::Inline {
                items: [const { MaybeUninit::uninit() }; N],
                len: 0,
            }
        } else {
            ShortList::Heap(Vec::with_capacity(cap))
        }
    }

    /// Appends `v`: at most as many times as the capacity the list was made with.
    fn push(&mut self, v: T) {
        match self {
            ShortList::Inline { items, len } => {
                items[*len].write(v); // panics (never UB) past N
                *len += 1;
            }
            ShortList::Heap(vec) => vec.push(v),
        }
    }
}

impl<T: Copy, const N: usize> std::ops::Deref for ShortList<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            // SAFETY: the first `len` items were written by `push`.
            ShortList::Inline { items, len } => unsafe {
                std::slice::from_raw_parts(items.as_ptr().cast::<T>(), *len)
            },
            ShortList::Heap(vec) => vec,
        }
    }
}

impl<T: Copy, const N: usize> std::ops::DerefMut for ShortList<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            // SAFETY: as in `deref`, and `&mut self` is exclusive.
            ShortList::Inline { items, len } => unsafe {
                std::slice::from_raw_parts_mut(items.as_mut_ptr().cast::<T>(), *len)
            },
            ShortList::Heap(vec) => vec,
        }
    }
}

/// Case indices, inline for a select of up to [`INLINE_CASES`].
type Indices = ShortList<usize, INLINE_CASES>;

/// The channels of a select, locked and unlocked together in address order.
struct Locks<'c, 'r> {
    cases: &'c [CaseRef<'r>],
    /// The non-nil cases as (channel address, case index), sorted (Go: `lockorder`, with its
    /// `sortkey` read once instead of through each case's vtable at every look).
    order: ShortList<(usize, usize), INLINE_CASES>,
}

impl Locks<'_, '_> {
    /// The non-nil cases `poll`, in address order (duplicates adjacent).
    fn new<'c, 'r>(cases: &'c [CaseRef<'r>], poll: &[usize]) -> Locks<'c, 'r> {
        let mut order = ShortList::with_capacity(poll.len());
        for &i in poll {
            order.push((cases[i].0.chan_addr().expect("poll lists non-nil cases"), i));
        }
        order.sort_unstable();
        Locks { cases, order }
    }

    /// The case indices in lock order.
    fn cases(&self) -> impl DoubleEndedIterator<Item = usize> + ExactSizeIterator + '_ {
        self.order.iter().map(|&(_, i)| i)
    }

    /// Whether position `k` of the order is the first of its channel.
    fn first_of_its_channel(&self, k: usize) -> bool {
        k == 0 || self.order[k - 1].0 != self.order[k].0
    }

    /// Go: `sellock`: each distinct channel once, in address order.
    fn lock(&self) {
        for (k, i) in self.cases().enumerate() {
            if self.first_of_its_channel(k) {
                self.cases[i].0.lock();
            }
        }
    }

    /// Go: `selunlock`: in reverse order, each distinct channel once.
    ///
    /// # Safety
    /// The caller holds the locks through [`Locks::lock`].
    unsafe fn unlock(&self) {
        for (k, i) in self.cases().enumerate().rev() {
            if self.first_of_its_channel(k) {
                // SAFETY: locked by `lock`, once per distinct channel, as here.
                unsafe { self.cases[i].0.unlock() };
            }
        }
    }

    /// Removes `sg`'s entries from every case's channel (Go: pass 3 of `selectgo`).
    ///
    /// # Safety
    /// The caller holds the locks.
    unsafe fn dequeue_all(&self, sg: &Sudog) {
        for i in self.cases() {
            // SAFETY: the caller holds every lock.
            unsafe { self.cases[i].0.dequeue_locked(sg) };
        }
    }

    /// Settles a registration that may still be live: under all locks, abort and remove
    /// every entry, or find the case that a claimer completed (it worked under one of them).
    fn settle(&self, sg: &Sudog) -> Option<usize> {
        self.lock();
        let r = if sg.try_abort() {
            None
        } else {
            Some(sg.completed().expect("gmp-chan: claimed but not completed"))
        };
        // SAFETY: locked just above; removes the losing entries (all of them on abort).
        unsafe {
            self.dequeue_all(sg);
            self.unlock();
        }
        r
    }
}

/// One case's value slot in a parked select's record: a `Packet<T>` that fits, else a pointer
/// to a boxed one.
#[repr(C, align(16))]
pub(crate) struct Slot([u8; SLOT_BYTES]);

/// The bytes of a [`Slot`]: a packet of a value up to 24 bytes (a `String`, a `Vec`) fits.
const SLOT_BYTES: usize = 32;

/// Whether a `P` fits a [`Slot`].
const fn fits_slot<P>() -> bool {
    std::mem::size_of::<P>() <= SLOT_BYTES && std::mem::align_of::<P>() <= 16
}

// The claim word takes the first slot of a record.
const _: () = assert!(fits_slot::<Sudog>());

/// A parked select's record (off its stack): its claim word and one value slot per case,
/// in one block. Dropping it (normally, or unwinding out of `park` when the goroutine is
/// cancelled) settles the registration if that was not done, brings every case's value back
/// and frees the block.
struct Frame<'l, 'c, 'r> {
    locks: &'l Locks<'c, 'r>,
    bytes: SudogBytes,
    /// Set once every entry is gone (pass 3, or the timeout's settle).
    settled: bool,
}

impl Frame<'_, '_, '_> {
    fn sg(&self) -> &Sudog {
        // SAFETY: written at offset 0 by `selectgo`, dropped only in `Frame::drop`.
        unsafe { self.bytes.as_ptr().cast::<Sudog>().as_ref() }
    }
}

impl Drop for Frame<'_, '_, '_> {
    fn drop(&mut self) {
        if !self.settled {
            let _ = self.locks.settle(self.sg());
        }
        for i in self.locks.cases() {
            self.locks.cases[i].0.unregister();
        }
        // SAFETY: no entry points at the record any more; the claim word is dropped once.
        unsafe { std::ptr::drop_in_place(self.bytes.as_ptr().cast::<Sudog>().as_ptr()) };
    }
}

/// Go: `selectgo`. Returns the index of the case that fired (its `fire` was called), or
/// `None` when a `default` was taken (`Mode::NonBlocking`) or the deadline passed.
pub(crate) fn selectgo(cases: &[CaseRef<'_>], mode: Mode) -> Option<usize> {
    park::checkpoint();
    // Go: pollorder, an inside-out Fisher-Yates shuffle of the non-nil cases.
    let mut poll = Indices::with_capacity(cases.len());
    for (i, c) in cases.iter().enumerate() {
        if c.0.chan_addr().is_none() {
            continue;
        }
        let j = rand_below(poll.len() + 1);
        poll.push(i);
        let last = poll.len() - 1;
        poll.swap(j, last);
    }
    if poll.is_empty() {
        // Only nil channels: nothing can ever fire.
        return match mode {
            Mode::NonBlocking => None,
            Mode::Deadline(d) => {
                while gmp_core::time::now() < d {
                    park::park_deadline(WaitReason::Select, d);
                }
                None
            }
            // Nothing can wake it: the leak check reports it (an empty registration).
            Mode::Block => park::waiting_on(&[], || loop {
                park::park(WaitReason::Select);
            }),
        };
    }
    // Go: lockorder, the same cases sorted by channel address (duplicates adjacent).
    let locks = Locks::new(cases, &poll);

    locks.lock();
    // Pass 1: the first ready case in poll order wins.
    for &i in poll.iter() {
        // SAFETY: all our channels are locked and nothing of ours is queued.
        if let Some(waker) = unsafe { cases[i].0.poll_locked() } {
            // SAFETY: locked above.
            unsafe { locks.unlock() };
            if let Some(w) = waker {
                w.wake();
            }
            cases[i].0.fire();
            return Some(i);
        }
    }
    if let Mode::NonBlocking = mode {
        // SAFETY: locked above.
        unsafe { locks.unlock() };
        return None;
    }

    // Pass 2: enqueue on every channel; one claim word, so one claim wins. The record (the
    // claim word, then each case's value slot) lives off the stack (Go: `acquireSudog`).
    let record =
        Layout::array::<Slot>(1 + locks.order.len()).expect("gmp-chan: a select record too large");
    let (bytes, me) = SudogBytes::new_with_current(record);
    // SAFETY: offset 0 of a fresh block of this layout; dropped by `Frame::drop`.
    unsafe {
        bytes
            .as_ptr()
            .cast::<Sudog>()
            .as_ptr()
            .write(Sudog::new(me))
    };
    let mut frame = Frame {
        locks: &locks,
        bytes,
        settled: false,
    };
    let first = frame.bytes.as_ptr().cast::<Slot>();
    // Async receivers told of our send cases (no allocation unless there are some).
    let mut notify = Vec::new();
    for (k, i) in locks.cases().enumerate() {
        // SAFETY: locked; slot `k + 1` is this case's part of the record, which, like the
        // claim word and the cases, outlives the entries: `Frame` settles and unregisters
        // before it frees the record, unwinding too.
        let w = unsafe { cases[i].0.enqueue_locked(frame.sg(), i, first.add(k + 1)) };
        notify.extend(w);
    }
    // SAFETY: locked above.
    unsafe { locks.unlock() };
    for w in notify {
        w.wake();
    }
    let done = match mode {
        Mode::Deadline(d) => frame.sg().wait_until(WaitReason::Select, d),
        _ => {
            // Only the cases' channels can end this wait: tell the leak check which, through
            // which handles.
            let mut on: ShortList<WaitsOn, INLINE_CASES> =
                ShortList::with_capacity(locks.order.len());
            for i in locks.cases() {
                if let Some(w) = cases[i].0.waits_on() {
                    on.push(w);
                }
            }
            Some(park::waiting_on(&on, || {
                frame.sg().wait(WaitReason::Select)
            }))
        }
    };
    // Pass 3 (or the timeout's abort): remove the losing entries under all locks.
    let chosen = match done {
        Some(k) => {
            locks.lock();
            // SAFETY: locked just above.
            unsafe {
                locks.dequeue_all(frame.sg());
                locks.unlock();
            }
            Some(k)
        }
        None => locks.settle(frame.sg()),
    };
    frame.settled = true;
    drop(frame);
    if let Some(k) = chosen {
        cases[k].0.fire();
    }
    chosen
}

/// Go's `select {}`: blocks forever (WaitReason `SelectNoCases`).
#[doc(hidden)]
pub fn block_forever() -> ! {
    // Nothing can wake it: the leak check reports it (an empty registration).
    park::waiting_on(&[], || loop {
        park::park(WaitReason::SelectNoCases);
    })
}

/// A select built at run time, Go's `reflect.Select`: add receive and send cases, then
/// [`select`](Select::select) (blocking), [`try_select`](Select::try_select) (with a
/// `default`) or [`select_timeout`](Select::select_timeout). Like `select!`, it picks at
/// random among the ready cases, and a nil channel (`None`) never fires.
///
/// ```
/// use gmp_chan::{chan, Chan, Select};
///
/// let chans: Vec<Chan<usize>> = (0..4).map(|_| chan(1)).collect();
/// chans[2].send(42).unwrap();
///
/// let mut sel = Select::new();
/// for c in &chans {
///     sel.recv(c);
/// }
/// let op = sel.select();
/// let i = op.index();
/// assert_eq!(i, 2);
/// assert_eq!(op.recv(&chans[i]), Some(42));
/// ```
pub struct Select<'a> {
    cases: Vec<Box<dyn Case + 'a>>,
}

/// The case a [`Select`] chose. Read its result with [`recv`](SelectedOperation::recv) or
/// [`send`](SelectedOperation::send), passing the same channel the case named.
///
/// It must be completed (crossbeam's rule): dropping it without `recv`/`send`, or calling
/// them with another channel or direction than the chosen case's, panics, and a value is
/// never silently lost: before the panic, a received value is returned to its channel
/// (ahead of the rest: the next receive gets it), and a selected send has already delivered
/// its value.
///
/// ```
/// let ch = gmp_chan::chan::<i32>(1);
/// ch.send(7).unwrap();
/// let mut sel = gmp_chan::Select::new();
/// sel.recv(&ch);
/// let op = sel.select();
/// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(op)));
/// assert!(r.is_err()); // "dropped `SelectedOperation` without completing the operation"
/// assert_eq!(ch.recv(), Some(7)); // the value is back
/// ```
pub struct SelectedOperation<'a> {
    index: usize,
    /// `None` once completed (`recv`/`send` took it).
    case: Option<Box<dyn Case + 'a>>,
}

impl<'a> Select<'a> {
    /// An empty select.
    pub fn new() -> Self {
        Select { cases: Vec::new() }
    }

    /// Adds a receive case; returns its index. `None` (a nil channel) never fires.
    pub fn recv<R: RecvOperand<'a>>(&mut self, r: R) -> usize
    where
        R::Elem: 'a,
    {
        self.cases.push(Box::new(RecvCase::new(r.recv_chan())));
        self.cases.len() - 1
    }

    /// Adds a send case of `v`; returns its index. `v` is dropped if another case fires.
    pub fn send<S: SendOperand<'a>>(&mut self, s: S, v: S::Elem) -> usize
    where
        S::Elem: 'a,
    {
        self.cases.push(Box::new(SendCase::new(s.send_chan(), v)));
        self.cases.len() - 1
    }

    /// Blocks until a case fires. With no cases (or only nil ones) it blocks forever, as
    /// `reflect.Select` does.
    pub fn select(self) -> SelectedOperation<'a> {
        self.run(Mode::Block)
            .expect("gmp-chan: a blocking select returned without a case")
    }

    /// Fires a ready case if there is one, else returns `None` (Go: a `default` case).
    ///
    /// ```
    /// let ch = gmp_chan::chan::<i32>(1);
    /// let mut sel = gmp_chan::Select::new();
    /// sel.recv(&ch);
    /// assert!(sel.try_select().is_none());
    /// ```
    pub fn try_select(self) -> Option<SelectedOperation<'a>> {
        self.run(Mode::NonBlocking)
    }

    /// Like [`select`](Self::select), but gives up after `d` with `None`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ch = gmp_chan::chan::<i32>(0);
    /// let mut sel = gmp_chan::Select::new();
    /// sel.send(&ch, 1);
    /// assert!(sel.select_timeout(Duration::from_millis(5)).is_none());
    /// ```
    pub fn select_timeout(self, d: Duration) -> Option<SelectedOperation<'a>> {
        self.run(Mode::timeout(d))
    }

    fn run(mut self, mode: Mode) -> Option<SelectedOperation<'a>> {
        if self.cases.is_empty() && matches!(mode, Mode::Block) {
            block_forever();
        }
        let refs: Vec<CaseRef<'_>> = self.cases.iter().map(|c| CaseRef(&**c)).collect();
        let index = selectgo(&refs, mode)?;
        drop(refs);
        let case = self.cases.swap_remove(index);
        Some(SelectedOperation {
            index,
            case: Some(case),
        })
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .finish()
    }
}

impl<'a> SelectedOperation<'a> {
    /// The index of the case that fired (as returned by [`Select::recv`]/[`Select::send`]).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The result of the chosen receive case: `Some(v)`, or `None` if the channel was closed.
    ///
    /// # Panics
    /// If the chosen case is not a receive on `r`'s channel.
    #[track_caller]
    pub fn recv<R: RecvOperand<'a>>(self, r: R) -> Option<R::Elem>
    where
        R::Elem: 'a,
    {
        let case: RecvCase<'a, R::Elem> = self.into_case(
            r.recv_chan(),
            "SelectedOperation::recv: the chosen case is not a receive on this channel",
        );
        case.into_output()
            .expect("gmp-chan: the chosen case did not fire")
    }

    /// The result of the chosen send case: `Ok(())`, or `Err` with the value if the channel
    /// was closed.
    ///
    /// # Panics
    /// If the chosen case is not a send on `s`'s channel.
    #[track_caller]
    pub fn send<S: SendOperand<'a>>(self, s: S) -> Result<(), SendError<S::Elem>>
    where
        S::Elem: 'a,
    {
        let case: SendCase<'a, S::Elem> = self.into_case(
            s.send_chan(),
            "SelectedOperation::send: the chosen case is not a send on this channel",
        );
        case.into_output()
            .expect("gmp-chan: the chosen case did not fire")
    }

    /// The chosen case as the `OpCase` it was built as, once checked to be a case of direction
    /// `D` on `chan`; otherwise returns a received value to its channel and panics with
    /// `wrong`.
    #[track_caller]
    fn into_case<T: 'a, D: Dir>(mut self, chan: Option<&Chan<T>>, wrong: &str) -> OpCase<'a, T, D> {
        let case = self
            .case
            .take()
            .expect("a SelectedOperation is completed once");
        let want = addr_of(&chan);
        if case.is_recv() != D::IS_RECV || want.is_none() || case.chan_addr() != want {
            case.unselect();
            panic!("{wrong} (case {})", self.index);
        }
        let raw = Box::into_raw(case) as *mut OpCase<'a, T, D>;
        // SAFETY: every `Case` is an `OpCase<'a, U, RecvDir>` or `OpCase<'a, U, SendDir>`,
        // and `is_recv` says which: this one is an `OpCase<'a, U, D>` whose channel is the
        // live `Hchan<T>` at `want`. Distinct live channels never share an address (each is
        // the sole content of its own `Arc` allocation, and none holds another inline), so it
        // is the same channel and `U = T`. The box came from `Box::new` in `Select::recv` or
        // `Select::send`.
        *unsafe { Box::from_raw(raw) }
    }
}

impl Drop for SelectedOperation<'_> {
    fn drop(&mut self) {
        let Some(case) = self.case.take() else {
            return; // completed
        };
        case.unselect();
        // Not a second panic while one unwinds (that would abort): the value is back anyway.
        if !std::thread::panicking() {
            panic!(
                "dropped `SelectedOperation` without completing the operation (case {}): \
                 call its `recv` or `send` with the chosen case's channel",
                self.index
            );
        }
    }
}

impl fmt::Debug for SelectedOperation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectedOperation")
            .field("index", &self.index)
            .finish()
    }
}

/// `select!`'s entry point: runs the select over `cases` (marking the one that fired).
#[doc(hidden)]
pub fn run_select(cases: &[CaseRef<'_>], mode: Mode) {
    let _ = selectgo(cases, mode);
}
