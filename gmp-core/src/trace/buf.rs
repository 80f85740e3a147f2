//! The recording side of a trace: compact binary events in chunks, one chunk being filled per
//! P (by the M that holds the P, with no lock) plus one shared chunk under a lock for events
//! recorded off a P, and the per-runtime session state (Go: `traceBuf`, `traceBufFlush`).
//!
//! # The buffer protocol
//!
//! - A runtime's trace state ([`TraceState`]) is made at its first `start` and lives as long
//!   as the runtime. It holds one [`Buf`] per P and one shared `Buf`; each points at its
//!   current [`Chunk`] of [`CHUNK_WORDS`] words, which holds records of two words for most
//!   events (`record.rs`).
//! - The **owner** of a `Buf` appends: the M holding the P for a P's buffer, whoever holds
//!   `shared_lock` for the shared one. Appending writes a record's words at `len` and then
//!   stores the new `len` with Release. Nothing else writes a chunk's words (or its cursor,
//!   the writer's state), and no word below `len` is written again while the chunk belongs
//!   to the same session.
//! - Everything else goes through `inner` (one lock per runtime, taken per chunk, never per
//!   event): only the owner, holding `inner`, replaces its `Buf`'s current chunk (`refill`:
//!   a full chunk goes to the `full` list, a chunk left from an earlier session is reset);
//!   readers (`stop`, the flight recorder's snapshot) hold `inner` while they decode the
//!   `full` chunks and `[0, len)` of each current chunk (`len` read with Acquire). So a reader
//!   never sees a chunk change hands, and an owner appending meanwhile only adds words past
//!   the `len` the reader read.
//! - Sessions are numbered by `gen` (table on [`TraceState::gen`]); a chunk carries the `gen`
//!   it was filled for, so events of an ended session are never mixed into the next one, and
//!   a late event (an owner that saw the session live just before it stopped) lands in a chunk
//!   nobody will read, which its owner resets on its next append.
//! - Current chunks are never freed while the runtime lives (an owner may still hold a pointer
//!   to one): they are reused by the next session, and freed with the runtime. `full` and
//!   `free` chunks are owned by the lists, which keep a few free ones for reuse (a flight
//!   recorder's ring takes its new chunks from the ones it drops).
//! - Chunk memory comes from the runtime's arena (`arena.rs`), a chunk's pages faulted in at
//!   once when it is handed out (under `inner`), not one by one as the owner's stores reach
//!   them: on a VM page faults are the dearest part of recording. Free chunks beyond the few
//!   kept for reuse give their pages back to the kernel and wait, as `cold` chunks, for a
//!   later session.
//! - A flight recorder keeps only the newest `full` chunks: enough of them to make `max_bytes`
//!   of JSON at [`EST_JSON_BYTES`] an event (a lower bound, so the ring never holds less
//!   than the recorder must write), counting each chunk's records when it is handed over.
//!   When it drops a chunk it remembers, per buffer, the last tick it dropped
//!   (`dropped_until`): the snapshot then starts after the latest of those, where every
//!   buffer is complete.

use super::arena::{self, Arena};
use super::clock;
use super::record::{self, Cursor, Rec, MAX_WORDS};
use crate::loom::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::Mutex;
use crossbeam_utils::CachePadded;
use std::collections::VecDeque;
use std::io;
use std::ptr::NonNull;
use std::sync::OnceLock;

/// Words per chunk: 2048 × 8 bytes = 16 KiB, up to 2,048 events of one word, so a runtime
/// takes its chunk lock about once per 1,000–2,000 events per P, and a flight recorder's ring
/// is trimmed at that granularity.
pub(crate) const CHUNK_WORDS: usize = 2048;
const CHUNK_BYTES: usize = CHUNK_WORDS * 8;

/// A lower bound of the JSON bytes one recorded event turns into (the smallest record, a
/// flow's end, is about 85 bytes; a park makes a run slice and an instant, about 230): the
/// flight recorder's ring keeps at least `max_bytes` of JSON with it.
pub(crate) const EST_JSON_BYTES: usize = 48;

/// Free chunks kept for reuse beyond those in use, per buffer.
const FREE_PER_BUF: usize = 2;

/// What happened (Go: the `traceEv*` event types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Goroutine `goid` (spawned at `site`) starts or resumes running on the P of the track:
    /// opens its run slice (Go: `GoStart`).
    GoStart,
    /// It parked: closes the run slice; `arg` is the wait reason (`G::wait_word`) (Go:
    /// `GoBlock*`).
    GoPark,
    /// It yielded and stays runnable: closes the run slice (Go: `GoSched`, `GoPreempt`).
    GoSched,
    /// It ended: closes the run slice (Go: `GoEnd`).
    GoEnd,
    /// It entered `syscall(f)`: closes the run slice on the P of the track and opens a
    /// `syscall` slice on M `arg`'s track (Go: `GoSysCall`).
    GoSyscall,
    /// It left `syscall(f)`: closes the `syscall` slice on the M of the track (Go:
    /// `GoSysExit`).
    GoSysExit,
    /// Goroutine `goid` was woken (WAITING → RUNNABLE) by whoever runs on the track (Go:
    /// `GoUnblock`).
    GoUnpark,
    /// Goroutine `goid` was created at `site` (Go: `GoCreate`).
    GoCreate,
    /// The P of the track stole goroutine `goid` from P `arg` (Go has no event; its
    /// `ProcSteal` is sysmon's retake).
    Steal,
    /// sysmon took the P of the track from an M stuck in `syscall(f)` (Go: `ProcSteal`).
    Retake,
}

impl Kind {
    pub(crate) const ALL: [Kind; 10] = [
        Kind::GoStart,
        Kind::GoPark,
        Kind::GoSched,
        Kind::GoEnd,
        Kind::GoSyscall,
        Kind::GoSysExit,
        Kind::GoUnpark,
        Kind::GoCreate,
        Kind::Steal,
        Kind::Retake,
    ];

    /// The kind whose discriminant is `b`.
    pub(crate) fn from_bits(b: u8) -> Option<Kind> {
        Self::ALL.get(b as usize).copied()
    }
}

/// Which track an event belongs to: a P, an M, or the threads outside the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Track(u32);

/// What a [`Track`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TrackOf {
    P(usize),
    M(usize),
    Outside,
}

impl Track {
    const M_BIT: u32 = 1 << 31;
    /// Plain threads and other runtimes' goroutines (they spawn and wake goroutines too).
    pub(crate) const OUTSIDE: Track = Track(u32::MAX);

    pub(crate) fn p(id: usize) -> Track {
        Track(id as u32 & !Self::M_BIT)
    }

    pub(crate) fn m(id: usize) -> Track {
        // `u32::MAX` is OUTSIDE: an M id never gets near it (`Builder::max_threads`); clamp.
        let id = id.min((!Self::M_BIT - 1) as usize) as u32;
        Track(Self::M_BIT | id)
    }

    /// Its bits, for a record's extension word ([`Track::from_bits`] undoes it).
    pub(crate) fn bits(self) -> u32 {
        self.0
    }

    pub(crate) fn from_bits(b: u32) -> Track {
        Track(b)
    }

    pub(crate) fn of(self) -> TrackOf {
        if self == Self::OUTSIDE {
            TrackOf::Outside
        } else if self.0 & Self::M_BIT != 0 {
            TrackOf::M((self.0 & !Self::M_BIT) as usize)
        } else {
            TrackOf::P(self.0 as usize)
        }
    }
}

/// One recorded event as the encoder reads it (decoded from a chunk's records, `record.rs`;
/// strings as `'static` pointers resolved when the trace is encoded).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    /// Raw clock ticks ([`clock::ticks`]); for an undated event, its buffer's previous dated
    /// tick until the encoder places it.
    pub(crate) ts: u64,
    /// Whether `ts` was read from the clock (else the encoder estimates it, `encode.rs`).
    pub(crate) dated: bool,
    pub(crate) goid: u64,
    /// Per [`Kind`].
    pub(crate) arg: u64,
    /// The goroutine's spawn site, a `&'static Location` as an address (0: none).
    pub(crate) site: u64,
    pub(crate) track: Track,
    pub(crate) kind: Kind,
}

/// [`CHUNK_WORDS`] words of records and how many are filled.
pub(crate) struct Chunk {
    /// The session it is filled for. Written by its owner under `inner` (`reset`).
    gen: AtomicU64,
    /// Filled words: stored with Release by the owner after writing a record.
    len: AtomicUsize,
    /// Index of the buffer it belongs to (P id, or the shared buffer's); written under `inner`.
    src: AtomicUsize,
    /// The tick count its first record's delta counts from; written under `inner` (`reset`).
    base: AtomicU64,
    /// The owner's record state (`record.rs`); reset under `inner`, read by others only once
    /// the chunk is full and handed over. A std cell, not the loom facade's (whose access
    /// takes a closure the hooks would call out of line): loom models never trace.
    cursor: std::cell::UnsafeCell<Cursor>,
    /// [`CHUNK_WORDS`] words of the arena (which outlives every chunk).
    words: NonNull<u64>,
}

// SAFETY: the words are written only by the chunk's owner, at `len`, before a Release store of
// `len`; others read only words below a `len` they loaded with Acquire (the module's protocol).
// The cursor is the owner's, and changes hands under `inner`.
unsafe impl Sync for Chunk {}
// SAFETY: `words` is memory the chunk alone uses (the arena hands each piece out once); the
// rest is atomics and the owner's cursor.
unsafe impl Send for Chunk {}

impl Chunk {
    fn new_boxed(words: NonNull<u64>) -> Box<Chunk> {
        Box::new(Chunk {
            gen: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            src: AtomicUsize::new(0),
            base: AtomicU64::new(0),
            cursor: std::cell::UnsafeCell::new(Cursor::new(0)),
            words,
        })
    }

    /// Makes it an empty chunk of session `gen` for buffer `src` (under `inner`, by the owner).
    fn reset(&self, gen: u64, src: usize) {
        let base = clock::ticks();
        self.len.store(0, Relaxed);
        self.src.store(src, Relaxed);
        self.base.store(base, Relaxed);
        // SAFETY: the owner (the caller) is the only one using the cursor.
        unsafe { *self.cursor.get() = Cursor::new(base) };
        self.gen.store(gen, Relaxed);
    }

    /// Its filled words, `[0, len)` with `len` loaded with Acquire.
    fn filled(&self) -> &[u64] {
        let n = self.len.load(Acquire);
        // SAFETY: words below a `len` loaded with Acquire were written before its Release
        // store and are not written again (module protocol); the owner writes only past it.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr(), n) }
    }

    /// Appends its events to `out`; `own` is its buffer's own track.
    fn copy_into(&self, out: &mut Vec<Event>, own: Track) {
        record::read(self.filled(), self.base.load(Relaxed), own, out);
    }

    /// The tick of its last event (its base when empty). Only once it is handed over.
    fn last_ts(&self) -> u64 {
        // SAFETY: the owner wrote the cursor last before handing the chunk over under
        // `inner`, which the caller holds.
        unsafe { (*self.cursor.get()).last() }
    }
}

/// One buffer: the chunk being filled, and the events its owner holds back to write with the
/// next ones (see "Hand-offs" on [`Active::stop_p`]).
struct Buf {
    /// The current chunk (null before the first event). Replaced only by the owner holding
    /// `inner`; read by readers holding `inner`.
    cur: AtomicPtr<Chunk>,
    /// A slice end held back: only the owner reads or writes it. A std cell, not the loom
    /// facade's, as the chunk's cursor.
    pend_stop: std::cell::UnsafeCell<PendStop>,
    /// A wake-up held back: the woken goroutine's id and the session's tag.
    ///
    /// | value                 | meaning                            | moved by                   |
    /// |-----------------------|------------------------------------|----------------------------|
    /// | 0                     | none                               | owner: `unpark_p` → held   |
    /// | `goid << 16 \| tag`    | `GoUnpark goid` of session `tag`  | owner: written out → 0     |
    ///
    /// `tag` is the low 16 bits of the session's `gen` (odd, so never 0); a value of another
    /// session is dropped. The owner stores 0 before the Release store of the `len` that
    /// covers the written record, so a reader that loads `len` (Acquire) and then this word
    /// never counts the wake-up twice (`collect` reads it: a wake-up held back in a slice
    /// still running is in the trace).
    pend_unpark: AtomicU64,
}

/// A slice end held back by [`Active::stop_p`] until the next start on the P.
#[derive(Clone, Copy)]
struct PendStop {
    /// The session it belongs to (0: none; sessions are odd).
    gen: u64,
    /// Its tick (the clock read at the end).
    ts: u64,
    rec: Rec,
}

const NO_STOP: PendStop = PendStop {
    gen: 0,
    ts: 0,
    rec: Rec {
        kind: Kind::GoPark,
        track: Track::OUTSIDE,
        goid: 0,
        arg: 0,
        site: 0,
    },
};

/// Bits of a held wake-up's word that hold the session's tag.
const TAG_BITS: u32 = 16;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

/// The `pend_unpark` word of a wake-up of `goid` in session `gen`; `None` when the id is too
/// large to hold back (it is then written at once).
#[inline(always)]
fn held_unpark(goid: u64, gen: u64) -> Option<u64> {
    (goid >> (64 - TAG_BITS) == 0).then_some(goid << TAG_BITS | gen & TAG_MASK)
}

/// The goroutine a `pend_unpark` word holds back a wake-up of, if it is one of session `gen`.
#[inline(always)]
fn held_goid(word: u64, gen: u64) -> Option<u64> {
    (word != 0 && word & TAG_MASK == gen & TAG_MASK).then_some(word >> TAG_BITS)
}

// SAFETY: `pend_stop` is only used by the buffer's owner (the M holding the P, or the holder
// of `shared_lock`), one thread at a time, with ownership handed over through the P's (or
// the lock's) synchronisation; the rest is atomics.
unsafe impl Sync for Buf {}

impl Buf {
    fn new() -> Buf {
        Buf {
            cur: AtomicPtr::new(std::ptr::null_mut()),
            pend_stop: std::cell::UnsafeCell::new(NO_STOP),
            pend_unpark: AtomicU64::new(0),
        }
    }
}

/// What a session does with its events.
pub(crate) enum Mode {
    /// `trace::start`: everything, written to this writer when the trace stops.
    Trace(Box<dyn io::Write + Send>),
    /// `FlightRecorder`: the newest `max_bytes` of JSON, kept in memory.
    Flight { max_bytes: usize },
}

/// A live session.
pub(crate) struct Session {
    pub(crate) gen: u64,
    pub(crate) mode: Mode,
    /// When it started, in ticks.
    pub(crate) origin: u64,
    /// A `GoStart` at `origin` for each goroutine running when it started (Go: the
    /// `GoStatus` events a trace begins with), so one that runs through the whole trace
    /// shows too.
    initial: Vec<Event>,
}

/// What `stop` is asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    /// `trace::stop`: the `trace::start` session.
    Trace,
    /// `FlightRecorder::stop`: the recorder's session `gen`.
    Flight(u64),
    /// The runtime is shutting down: whatever runs.
    Any,
}

/// Events taken from a runtime, for the encoder.
#[derive(Debug)]
pub(crate) struct Collected {
    /// Per buffer (the Ps', the shared one, then the session's initial events), in the order
    /// recorded.
    pub(crate) bufs: Vec<Vec<Event>>,
    /// The session's start, in ticks.
    pub(crate) origin: u64,
    /// Only events after this tick count (a flight recorder's dropped chunks); 0 for all.
    pub(crate) window: u64,
    /// When the events were taken, in ticks: slices still open end here.
    pub(crate) end: u64,
    /// The trace's `pid`: the runtime's id.
    pub(crate) pid: u64,
    /// The runtime's number of Ps (each gets a named track).
    pub(crate) procs: usize,
}

/// Chunk lists and the session, under `TraceState::inner`.
struct Inner {
    session: Option<Session>,
    /// Full chunks of the live session, oldest first, each with its number of records (a
    /// flight recorder's; 0 in a trace, which keeps them all).
    full: VecDeque<(Box<Chunk>, usize)>,
    /// The records of `full`, summed.
    full_events: usize,
    /// Boxed: chunks move between these lists and `Buf::cur` (a raw pointer), so their address
    /// must not change. Their memory is resident.
    #[allow(clippy::vec_box)]
    free: Vec<Box<Chunk>>,
    /// Free chunks whose pages went back to the kernel.
    #[allow(clippy::vec_box)]
    cold: Vec<Box<Chunk>>,
    /// Where chunk memory comes from.
    arena: Arena,
    /// Per buffer: the last tick of its newest chunk a flight recorder dropped.
    dropped_until: Vec<u64>,
}

impl Inner {
    fn recycle(&mut self, c: Box<Chunk>, nbufs: usize) {
        if self.free.len() < FREE_PER_BUF * nbufs {
            self.free.push(c);
        } else {
            arena::release(c.words.cast(), CHUNK_BYTES);
            self.cold.push(c);
        }
    }

    /// A free chunk (its pages faulted in): a recycled one, else new.
    fn take_chunk(&mut self) -> Box<Chunk> {
        if let Some(c) = self.free.pop() {
            return c;
        }
        if let Some(c) = self.cold.pop() {
            arena::populate(c.words.cast(), CHUNK_BYTES);
            return c;
        }
        Chunk::new_boxed(self.arena.take())
    }

    /// Hands a full chunk over; a flight recorder drops the oldest ones it no longer needs.
    fn push_full(&mut self, c: Box<Chunk>, nbufs: usize) {
        let Some(Session {
            mode: Mode::Flight { max_bytes },
            ..
        }) = &self.session
        else {
            self.full.push_back((c, 0));
            return;
        };
        let max_bytes = *max_bytes;
        let n = record::count(c.filled());
        self.full.push_back((c, n));
        self.full_events += n;
        // Enough chunks for `max_bytes` at the lower bound, and one more (the oldest) for the
        // chunks of other buffers that the snapshot's window cuts away: drop the oldest while
        // the chunks after the next one still make `max_bytes`.
        while self.full.len() > 2
            && (self.full_events - self.full[0].1 - self.full[1].1) * EST_JSON_BYTES >= max_bytes
        {
            let Some((old, n)) = self.full.pop_front() else {
                break;
            };
            self.full_events -= n;
            let src = old.src.load(Relaxed);
            self.dropped_until[src] = self.dropped_until[src].max(old.last_ts());
            self.recycle(old, nbufs);
        }
    }

    /// Empties `full` into the free list.
    fn clear_full(&mut self, nbufs: usize) {
        for (c, _) in std::mem::take(&mut self.full) {
            self.recycle(c, nbufs);
        }
        self.full_events = 0;
    }
}

/// A runtime's trace buffers and session (made at its first `start`).
pub(crate) struct TraceState {
    /// The session number: odd while a session records, even between sessions.
    ///
    /// | value | meaning                               | moved out by                      |
    /// |-------|---------------------------------------|-----------------------------------|
    /// | even  | no session: hooks record nothing      | `start` (under `inner`) → +1      |
    /// | odd   | session `gen` records                 | `stop` (under `inner`) → +1       |
    ///
    /// Hooks load it (Acquire, pairs with the Release stores) and record into chunks of that
    /// `gen`; a hook that read it just before a stop records into a chunk nobody reads.
    gen: AtomicU64,
    pbufs: Box<[CachePadded<Buf>]>,
    /// The owner's lock of `shared_buf`: sysmon, plain threads, Ms without a P. Taken before
    /// `inner`, never after it.
    shared_lock: Mutex<()>,
    shared_buf: Buf,
    inner: Mutex<Inner>,
    pid: u64,
}

impl TraceState {
    fn new(procs: usize, pid: u64) -> TraceState {
        TraceState {
            gen: AtomicU64::new(0),
            pbufs: (0..procs).map(|_| CachePadded::new(Buf::new())).collect(),
            shared_lock: Mutex::new(()),
            shared_buf: Buf::new(),
            inner: Mutex::new(Inner {
                session: None,
                full: VecDeque::new(),
                full_events: 0,
                free: Vec::new(),
                cold: Vec::new(),
                arena: Arena::new(CHUNK_BYTES),
                dropped_until: vec![0; procs + 1],
            }),
            pid,
        }
    }

    fn nbufs(&self) -> usize {
        self.pbufs.len() + 1
    }

    /// The owner's slow path: a new current chunk for `b` (buffer `idx`) in session `gen`, or
    /// null when that session is over.
    #[cold]
    #[inline(never)]
    fn refill(&self, b: &Buf, idx: usize, gen: u64) -> *mut Chunk {
        let mut l = self.inner.lock();
        if l.session.as_ref().map(|s| s.gen) != Some(gen) {
            return std::ptr::null_mut();
        }
        let old = b.cur.load(Relaxed);
        if !old.is_null() {
            // SAFETY: a current chunk is freed only with the runtime (module protocol).
            let oc = unsafe { &*old };
            if oc.gen.load(Relaxed) != gen {
                // Left from an earlier session, whose stop copied what it needed: reuse it.
                oc.reset(gen, idx);
                return old;
            }
            // SAFETY: current chunks come from `Box::into_raw` below; this one stops being
            // current before `inner` is released, and only its owner (us) used the pointer.
            let full = unsafe { Box::from_raw(old) };
            let nbufs = self.nbufs();
            l.push_full(full, nbufs);
        }
        let new = l.take_chunk();
        new.reset(gen, idx);
        let new = Box::into_raw(new);
        b.cur.store(new, Release);
        new
    }

    /// Copies the events of session `gen`: the `full` chunks (taken, with `take`) and each
    /// buffer's current chunk. Holds `inner` (the caller's guard).
    /// `origin` is the session's start.
    fn collect(&self, l: &mut Inner, gen: u64, origin: u64, take: bool) -> Vec<Vec<Event>> {
        let mut out: Vec<Vec<Event>> = vec![Vec::new(); self.nbufs()];
        for (c, _) in &l.full {
            let src = c.src.load(Relaxed);
            c.copy_into(&mut out[src], self.own_track(src));
        }
        let bufs = self.pbufs.iter().map(|b| &**b).chain([&self.shared_buf]);
        for (i, b) in bufs.enumerate() {
            let c = b.cur.load(Acquire);
            // SAFETY: current chunks live as long as the runtime; it is not replaced while we
            // hold `inner`.
            if let Some(c) = unsafe { c.as_ref() } {
                if c.gen.load(Relaxed) == gen {
                    c.copy_into(&mut out[i], self.own_track(i));
                }
            }
            // A wake-up held back by a slice still running: its next record (after the `len`
            // just read, see `pend_unpark`).
            if let Some(goid) = held_goid(b.pend_unpark.load(Relaxed), gen) {
                let prev = out[i].last().map_or(origin, |e| e.ts);
                out[i].push(Event {
                    ts: prev,
                    dated: false,
                    goid,
                    arg: 0,
                    site: 0,
                    track: self.own_track(i),
                    kind: Kind::GoUnpark,
                });
            }
        }
        if take {
            l.clear_full(self.nbufs());
        }
        out
    }

    /// The track most events of buffer `idx` are on (records name other tracks explicitly):
    /// its P's, or `outside` for the shared buffer.
    fn own_track(&self, idx: usize) -> Track {
        if idx < self.pbufs.len() {
            Track::p(idx)
        } else {
            Track::OUTSIDE
        }
    }
}

impl Drop for TraceState {
    fn drop(&mut self) {
        let bufs = self.pbufs.iter().map(|b| &**b).chain([&self.shared_buf]);
        for b in bufs {
            let c = b.cur.load(Acquire);
            if !c.is_null() {
                // SAFETY: from `Box::into_raw` in `refill`; the runtime is gone, so no owner
                // is left to use it.
                drop(unsafe { Box::from_raw(c) });
            }
        }
    }
}

/// When a record is dated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tick {
    /// Now: a clock read.
    Now,
    /// At the buffer's latest tick (its chunk's base if it has no record yet): no clock
    /// read, for an event the hook knows follows that one at once.
    Last,
    /// Not dated: an instant inside a run slice (a wake-up, a spawn) that the encoder places
    /// between the buffer's dated events around it (`encode.rs`, step 1).
    Undated,
}

/// A live session's handle for the hooks: where to append.
#[derive(Clone, Copy)]
pub(crate) struct Active<'a> {
    st: &'a TraceState,
    gen: u64,
}

impl Active<'_> {
    /// Appends to P `p`'s buffer, dated now (all of `recs` at the same tick): no lock (one
    /// per chunk, about 1,000 events).
    ///
    /// # Safety
    /// The calling thread is the M that holds P `p` (it owns the P's buffer).
    #[inline(always)]
    pub(crate) unsafe fn push_p(&self, p: usize, recs: &[Rec]) {
        self.push(&self.st.pbufs[p], p, Track::p(p), recs, Tick::Now);
    }

    /// [`push_p`](Self::push_p), dated `when`.
    ///
    /// # Safety
    /// As `push_p`.
    #[inline(always)]
    pub(crate) unsafe fn push_p_at(&self, p: usize, recs: &[Rec], when: Tick) {
        self.push(&self.st.pbufs[p], p, Track::p(p), recs, when);
    }

    /// A run slice on P `p` ends (`stop`: a `GoPark`, `GoSched` or `GoEnd`), dated now.
    ///
    /// # Hand-offs
    ///
    /// A slice's end is most often followed at once, on the same P and at the same tick, by
    /// the next slice's start, and the ending slice has often just woken the goroutine that
    /// starts (a ping-pong's hand-off). The buffer holds the end back (and a wake-up, see
    /// [`unpark_p`](Self::unpark_p)) and [`start_p`](Self::start_p) writes the three events
    /// in one append, one word when they fit (`record.rs`, "Hand-offs"), instead of three
    /// appends. Every other append on the buffer writes what is held back first, so the
    /// buffer's order is the order things happened; the M writes it out too before it lets
    /// the P go ([`flush_p`](Self::flush_p)). A held-back end is not in a trace that stops
    /// meanwhile (a microsecond at most: the P's scheduler is looking for the next goroutine);
    /// a held-back wake-up is (`collect`).
    ///
    /// # Safety
    /// As `push_p`.
    #[inline(always)]
    pub(crate) unsafe fn stop_p(&self, p: usize, stop: Rec) {
        // SAFETY: the caller holds P `p`, so `p` is one of the runtime's Ps.
        let b = unsafe { self.pbuf(p) };
        // SAFETY: the caller owns the buffer, and with it `pend_stop`.
        let held = unsafe { &mut *b.pend_stop.get() };
        if held.gen != 0 {
            // Never expected (a start comes between two ends): write the first one out.
            self.flush_slow(b, p);
        }
        *held = PendStop {
            gen: self.gen,
            ts: clock::ticks(),
            rec: stop,
        };
    }

    /// A run slice on P `p` starts (`start`, a `GoStart`); `fresh`: at the tick of the end
    /// held back (see "Hand-offs" on [`stop_p`](Self::stop_p)), else now.
    ///
    /// # Safety
    /// As `push_p`.
    #[inline(always)]
    pub(crate) unsafe fn start_p(&self, p: usize, start: Rec, fresh: bool) {
        // SAFETY: the caller holds P `p`.
        let b = unsafe { self.pbuf(p) };
        // SAFETY: the caller owns the buffer, and with it `pend_stop`.
        let held = unsafe { &mut *b.pend_stop.get() };
        let c = b.cur.load(Relaxed);
        // The hand-off in one word, when the chunk has room and nothing else is held back
        // than the starting goroutine's wake-up; everything else takes `start_slow`.
        if fresh && held.gen == self.gen && !c.is_null() {
            // SAFETY: a current chunk lives as long as the runtime (module protocol).
            let chunk = unsafe { &*c };
            let n = chunk.len.load(Relaxed);
            let u = b.pend_unpark.load(Relaxed);
            let woken = held_unpark(start.goid, self.gen) == Some(u);
            if chunk.gen.load(Relaxed) == self.gen && n < CHUNK_WORDS && (u == 0 || woken) {
                // SAFETY: only the owner (the caller) uses a current chunk's cursor.
                let cur = unsafe { &mut *chunk.cursor.get() };
                if let Some(word) = record::switch_word(cur, held.ts, &held.rec, &start, woken) {
                    held.gen = 0;
                    if woken {
                        // Cleared before the `len` that covers it (the table on the word).
                        b.pend_unpark.store(0, Relaxed);
                    }
                    // SAFETY: `n < CHUNK_WORDS`: inside the chunk, past `len` (module
                    // protocol: only the owner writes there, no reader looks yet).
                    unsafe { chunk.words.as_ptr().add(n).write(word) };
                    prefetch_for_write(chunk.words.as_ptr().wrapping_add(n + PREFETCH_AHEAD));
                    chunk.len.store(n + 1, Release);
                    return;
                }
            }
        }
        self.start_slow(b, p, start, fresh);
    }

    /// [`start_p`](Self::start_p)'s general case: what is held back, then the start, as
    /// records (a hand-off as one word if it fits, `record::write_switch`).
    #[cold]
    #[inline(never)]
    fn start_slow(&self, b: &Buf, p: usize, start: Rec, fresh: bool) {
        // SAFETY: the caller owns the buffer, and with it `pend_stop`.
        let held = unsafe { &mut *b.pend_stop.get() };
        if !fresh || held.gen != self.gen {
            let when = if fresh { Tick::Last } else { Tick::Now };
            self.push(b, p, Track::p(p), &[start], when);
            return;
        }
        let stop = *held;
        held.gen = 0;
        let woken = held_unpark(start.goid, self.gen) == Some(b.pend_unpark.load(Relaxed));
        if woken {
            // Folded into the hand-off; cleared before the `len` that covers it (table).
            b.pend_unpark.store(0, Relaxed);
        }
        self.write(b, p, Track::p(p), 3, |w| {
            // SAFETY: `write` made room for 3 records.
            unsafe { w.put_switch(stop.ts, &stop.rec, &start, woken) }
        });
    }

    /// Goroutine `goid` was woken by the slice running on P `p` (undated): held back if the
    /// buffer holds nothing back, so that a hand-off to `goid` writes it in its own word (see
    /// "Hand-offs" on [`stop_p`](Self::stop_p)), else written.
    ///
    /// # Safety
    /// As `push_p`.
    #[inline(always)]
    pub(crate) unsafe fn unpark_p(&self, p: usize, goid: u64) {
        // SAFETY: the caller holds P `p`.
        let b = unsafe { self.pbuf(p) };
        // SAFETY: the caller owns the buffer, and with it `pend_stop`.
        let held = unsafe { (*b.pend_stop.get()).gen };
        match held_unpark(goid, self.gen) {
            Some(word) if held == 0 && b.pend_unpark.load(Relaxed) == 0 => {
                b.pend_unpark.store(word, Relaxed)
            }
            _ => self.unpark_slow(b, p, goid),
        }
    }

    /// [`unpark_p`](Self::unpark_p) when something is held back already: written as a record.
    #[cold]
    #[inline(never)]
    fn unpark_slow(&self, b: &Buf, p: usize, goid: u64) {
        let unpark = Rec::unpark(Track::p(p), goid);
        self.push(b, p, Track::p(p), &[unpark], Tick::Undated);
    }

    /// Writes out what `b` (P `p`'s buffer, which the caller owns) holds back.
    #[cold]
    #[inline(never)]
    fn flush_slow(&self, b: &Buf, p: usize) {
        self.push(b, p, Track::p(p), &[], Tick::Undated);
    }

    /// P `p`'s buffer.
    ///
    /// # Safety
    /// `p` is one of the runtime's Ps (`p < procs`).
    #[inline(always)]
    unsafe fn pbuf(&self, p: usize) -> &Buf {
        debug_assert!(p < self.st.pbufs.len());
        // SAFETY: the caller's bound.
        unsafe { self.st.pbufs.get_unchecked(p) }
    }

    /// Writes out what P `p`'s buffer holds back: its M lets the P go.
    ///
    /// # Safety
    /// As `push_p`.
    pub(crate) unsafe fn flush_p(&self, p: usize) {
        // SAFETY: the caller holds P `p`.
        let b = unsafe { self.pbuf(p) };
        // SAFETY: the caller owns the buffer, and with it `pend_stop`.
        let held = unsafe { (*b.pend_stop.get()).gen };
        if held != 0 || b.pend_unpark.load(Relaxed) != 0 {
            self.flush_slow(b, p);
        }
    }

    /// Appends to the shared buffer, under its lock: for sysmon, plain threads and Ms without
    /// a P (all of them on slow paths already).
    pub(crate) fn push_shared(&self, r: Rec) {
        let _owner = self.st.shared_lock.lock();
        let idx = self.st.pbufs.len();
        self.push(&self.st.shared_buf, idx, Track::OUTSIDE, &[r], Tick::Now);
    }

    /// Appends `recs` dated `when` (after what the buffer holds back) to `b`, buffer `idx`
    /// whose own track is `own`. The caller owns `b`.
    #[inline(always)]
    fn push(&self, b: &Buf, idx: usize, own: Track, recs: &[Rec], when: Tick) {
        self.write(b, idx, own, recs.len(), |w| {
            let ts = match when {
                Tick::Now => Some(clock::ticks()),
                Tick::Last => Some(w.cur.last()),
                Tick::Undated => None,
            };
            for r in recs {
                // SAFETY: `write` made room for `recs.len()` records.
                unsafe { w.put(ts, r) };
            }
        });
    }

    /// The owner's append (module protocol) to `b`, buffer `idx` whose own track is `own`:
    /// writes what the buffer holds back (the wake-up, then the slice end: the order they
    /// happened in), then lets `f` write up to `recs` records, then publishes them. The
    /// caller owns `b`.
    /// Inlined into each hook, where the kind and the track are constants, so that only the
    /// record's fields the kind has are looked at.
    #[inline(always)]
    fn write(&self, b: &Buf, idx: usize, own: Track, recs: usize, f: impl FnOnce(&mut Writer<'_>)) {
        // The records, and the two held back.
        let room = (recs + 2) * MAX_WORDS;
        let mut c = b.cur.load(Relaxed);
        // SAFETY: a current chunk lives as long as the runtime (module protocol).
        let stale = |c: *mut Chunk| unsafe {
            c.is_null()
                || (*c).gen.load(Relaxed) != self.gen
                || (*c).len.load(Relaxed) + room > CHUNK_WORDS
        };
        if stale(c) {
            c = self.st.refill(b, idx, self.gen);
            if c.is_null() {
                return; // the session stopped meanwhile
            }
        }
        // SAFETY: as above.
        let chunk = unsafe { &*c };
        let mut w = Writer {
            words: chunk.words.as_ptr(),
            n: chunk.len.load(Relaxed),
            // SAFETY: only the owner (the caller) uses a current chunk's cursor.
            cur: unsafe { &mut *chunk.cursor.get() },
            own,
        };
        let u = b.pend_unpark.load(Relaxed);
        if u != 0 {
            b.pend_unpark.store(0, Relaxed);
            if let Some(goid) = held_goid(u, self.gen) {
                // SAFETY: room for it (`room`).
                unsafe { w.put(None, &Rec::unpark(own, goid)) };
            }
        }
        // SAFETY: the caller owns `b`, and with it `pend_stop`.
        let held = unsafe { &mut *b.pend_stop.get() };
        if held.gen != 0 {
            let stop = *held;
            held.gen = 0;
            if stop.gen == self.gen {
                // SAFETY: room for it (`room`).
                unsafe { w.put(Some(stop.ts), &stop.rec) };
            }
        }
        f(&mut w);
        prefetch_for_write(w.words.wrapping_add(w.n + PREFETCH_AHEAD));
        chunk.len.store(w.n, Release);
    }
}

/// The owner's writing position in its current chunk, during one append.
struct Writer<'a> {
    words: *mut u64,
    /// Words filled (published when the append ends).
    n: usize,
    cur: &'a mut Cursor,
    own: Track,
}

impl Writer<'_> {
    /// Writes `r` dated `ts` (`None`: undated).
    ///
    /// # Safety
    /// Room for [`MAX_WORDS`] more words in the chunk (`Active::write` made it).
    #[inline(always)]
    unsafe fn put(&mut self, ts: Option<u64>, r: &Rec) {
        // SAFETY: the words are inside the chunk (the caller) and past `len`: no reader looks
        // at them before the Release store of `len`, and only the owner writes them.
        self.n += unsafe { record::write(self.words.add(self.n), self.cur, self.own, ts, r) };
    }

    /// Writes a hand-off (`record::write_switch`).
    ///
    /// # Safety
    /// Room for 3 × [`MAX_WORDS`] more words.
    #[inline(always)]
    unsafe fn put_switch(&mut self, ts: u64, stop: &Rec, start: &Rec, woken: bool) {
        // SAFETY: as in `put`, for three records.
        self.n += unsafe {
            record::write_switch(
                self.words.add(self.n),
                self.cur,
                self.own,
                ts,
                stop,
                start,
                woken,
            )
        };
    }
}

/// How far ahead of the end of the records [`prefetch_for_write`] asks for a chunk's line:
/// 64 words, 512 bytes, eight cache lines (measured: 24 words gained about half as much).
const PREFETCH_AHEAD: usize = 64;

/// Asks the CPU to bring the cache line of `at` in for writing (`prefetchw`), so that the
/// owner's next records do not wait for it: without it, pingpong traced spent about 5 % of
/// its time on cache misses of the records' stores (measured against a build whose records
/// all went to the same words). `at` may lie past the chunk (a prefetch never faults) and is
/// never dereferenced. A no-op off x86_64 (and `prefetchw` is a no-op on CPUs without it).
#[inline(always)]
fn prefetch_for_write(at: *const u64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetchw` is a hint: it reads no memory architecturally, cannot fault, and
    // changes no register or flag.
    unsafe {
        core::arch::asm!(
            "prefetchw [{at}]",
            at = in(reg) at,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// A runtime's tracing: made lazily, so a runtime that never traces pays one empty
/// `OnceLock`.
#[derive(Default)]
pub(crate) struct RuntimeTrace {
    state: OnceLock<Box<TraceState>>,
}

impl std::fmt::Debug for RuntimeTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeTrace")
            .field("active", &self.active().is_some())
            .finish()
    }
}

fn already(mode: &Mode) -> io::Error {
    let msg = match mode {
        Mode::Trace(_) => "gmp: trace: tracing is already enabled on this runtime",
        Mode::Flight { .. } => "gmp: trace: a flight recorder is already running on this runtime",
    };
    io::Error::new(io::ErrorKind::AlreadyExists, msg)
}

fn not_running(which: Which, live: Option<&Session>) -> io::Error {
    let msg = match (which, live.map(|s| &s.mode)) {
        (Which::Trace, Some(Mode::Flight { .. })) => {
            "gmp: trace: tracing is not enabled on this runtime (a flight recorder runs: stop it \
             with FlightRecorder::stop)"
        }
        (Which::Flight(_), _) => "gmp: trace: the flight recorder is not running",
        _ => "gmp: trace: tracing is not enabled on this runtime",
    };
    io::Error::new(io::ErrorKind::NotFound, msg)
}

impl RuntimeTrace {
    /// The live session, if any (the hooks' first step).
    #[inline]
    pub(crate) fn active(&self) -> Option<Active<'_>> {
        let st = self.state.get()?;
        let gen = st.gen.load(Acquire);
        (gen & 1 == 1).then_some(Active { st, gen: gen as _ })
    }

    /// Starts a session on a runtime with `procs` Ps and id `pid`, where `running` lists the
    /// goroutines running as it starts: `(P, goid, spawn site)`. Returns its `gen`.
    pub(crate) fn start(
        &self,
        procs: usize,
        pid: u64,
        mode: Mode,
        running: &[(usize, u64, u64)],
    ) -> io::Result<u64> {
        let st = self
            .state
            .get_or_init(|| Box::new(TraceState::new(procs, pid)));
        let mut l = st.inner.lock();
        if let Some(s) = &l.session {
            return Err(already(&s.mode));
        }
        clock::init();
        l.clear_full(st.nbufs());
        l.dropped_until.iter_mut().for_each(|d| *d = 0);
        let gen = st.gen.load(Relaxed) + 1;
        debug_assert!(gen & 1 == 1);
        let origin = clock::ticks();
        let initial = running
            .iter()
            .map(|&(p, goid, site)| Event {
                ts: origin,
                dated: true,
                goid,
                arg: 0,
                site,
                track: Track::p(p),
                kind: Kind::GoStart,
            })
            .collect();
        l.session = Some(Session {
            gen,
            mode,
            origin,
            initial,
        });
        super::SESSIONS
            .0
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        st.gen.store(gen, Release);
        Ok(gen)
    }

    /// Stops the session `which` names and takes its events.
    pub(crate) fn stop(&self, which: Which) -> io::Result<(Session, Collected)> {
        let Some(st) = self.state.get() else {
            return Err(not_running(which, None));
        };
        let mut l = st.inner.lock();
        let ok = match (&l.session, which) {
            (None, _) => false,
            (Some(s), Which::Trace) => matches!(s.mode, Mode::Trace(_)),
            (Some(s), Which::Flight(gen)) => s.gen == gen,
            (Some(_), Which::Any) => true,
        };
        if !ok {
            return Err(not_running(which, l.session.as_ref()));
        }
        let Some(s) = l.session.take() else {
            unreachable!("checked above")
        };
        st.gen.store(s.gen + 1, Release);
        super::SESSIONS
            .0
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        let end = clock::ticks();
        let mut bufs = st.collect(&mut l, s.gen, s.origin, true);
        drop(l);
        bufs.push(s.initial.clone());
        let c = Collected {
            bufs,
            origin: s.origin,
            window: 0,
            end,
            pid: st.pid,
            procs: st.pbufs.len(),
        };
        Ok((s, c))
    }

    /// A copy of a flight recorder's session `gen`, windowed to where every buffer is
    /// complete.
    pub(crate) fn snapshot(&self, gen: u64) -> io::Result<Collected> {
        let which = Which::Flight(gen);
        let Some(st) = self.state.get() else {
            return Err(not_running(which, None));
        };
        let mut l = st.inner.lock();
        let (origin, initial) = match &l.session {
            Some(s) if s.gen == gen => (s.origin, s.initial.clone()),
            other => return Err(not_running(which, other.as_ref())),
        };
        let window = l.dropped_until.iter().copied().max().unwrap_or(0);
        let mut bufs = st.collect(&mut l, gen, origin, false);
        drop(l);
        bufs.push(initial);
        Ok(Collected {
            bufs,
            origin,
            window,
            end: clock::ticks(),
            pid: st.pid,
            procs: st.pbufs.len(),
        })
    }

    /// Whether session `gen` still records.
    pub(crate) fn is_live(&self, gen: u64) -> bool {
        self.state
            .get()
            .is_some_and(|st| st.gen.load(Acquire) == gen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records a 2-word record (a spawn with no site) holds per chunk.
    const PER_CHUNK: usize = (CHUNK_WORDS - MAX_WORDS) / 2 + 1;

    /// Starts a flight-recorder session on a one-P runtime's trace that keeps everything.
    fn start_flight(rt: &RuntimeTrace) -> u64 {
        rt.start(1, 1, Mode::Flight { max_bytes: 1 << 30 }, &[])
            .unwrap()
    }

    fn create(goid: u64) -> Rec {
        Rec {
            kind: Kind::GoCreate,
            track: Track::p(0),
            goid,
            arg: 0,
            site: 0,
        }
    }

    #[test]
    fn tracks_round_trip() {
        assert_eq!(Track::p(3).of(), TrackOf::P(3));
        assert_eq!(Track::m(7).of(), TrackOf::M(7));
        assert_eq!(Track::OUTSIDE.of(), TrackOf::Outside);
        assert_ne!(Track::m(usize::MAX), Track::OUTSIDE);
        for t in [Track::p(3), Track::m(7), Track::OUTSIDE] {
            assert_eq!(Track::from_bits(t.bits()), t);
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_bits(k as u8), Some(k));
        }
        assert_eq!(Kind::from_bits(Kind::ALL.len() as u8), None);
    }

    /// Chunks fill, hand over and are all collected in order; a stopped session records
    /// nothing; the next session starts empty. Kills: `refill` dropping the full chunk
    /// instead of listing it; `collect` skipping current chunks; `stop` leaving `gen` odd.
    #[test]
    fn chunks_hand_over_and_sessions_do_not_mix() {
        let rt = RuntimeTrace::default();
        let n = PER_CHUNK * 2 + 5;
        for round in 0..2u64 {
            let gen = rt
                .start(1, 9, Mode::Flight { max_bytes: 1 << 30 }, &[])
                .unwrap();
            let a = rt.active().unwrap();
            for i in 0..n as u64 {
                // SAFETY: this thread stands for the M holding P 0 (no other thread pushes).
                unsafe { a.push_p(0, &[create(i + round)]) };
            }
            a.push_shared(Rec {
                kind: Kind::Retake,
                ..create(0)
            });
            let (_, c) = rt.stop(Which::Flight(gen)).unwrap();
            assert!(rt.active().is_none());
            let goids: Vec<u64> = c.bufs[0].iter().map(|e| e.goid).collect();
            assert_eq!(goids, (round..n as u64 + round).collect::<Vec<_>>());
            assert!(c.bufs[0].iter().all(|e| e.track == Track::p(0)));
            assert_eq!(c.bufs[1].len(), 1);
            assert_eq!(c.bufs[1][0].track, Track::p(0));
            // Stopped: a hook holding the old handle records nothing anyone reads.
            // SAFETY: as above.
            unsafe { a.push_p(0, &[create(999)]) };
        }
    }

    /// Records pushed together share one tick, and each chunk's clock starts at its base.
    /// Kills: a pair read at two ticks; a chunk decoded from the wrong base.
    #[test]
    fn a_pair_shares_its_tick() {
        let rt = RuntimeTrace::default();
        let gen = start_flight(&rt);
        let a = rt.active().unwrap();
        let before = clock::ticks();
        for i in 0..PER_CHUNK as u64 {
            // SAFETY: this thread stands for the M holding P 0.
            unsafe { a.push_p(0, &[create(2 * i), create(2 * i + 1)]) };
        }
        let (_, c) = rt.stop(Which::Flight(gen)).unwrap();
        let evs = &c.bufs[0];
        assert_eq!(evs.len(), 2 * PER_CHUNK);
        assert!(evs[0].ts >= before && evs.last().unwrap().ts <= clock::ticks());
        for pair in evs.chunks(2) {
            assert_eq!(pair[0].ts, pair[1].ts);
        }
        assert!(evs.windows(2).all(|w| w[0].ts <= w[1].ts));
    }

    /// `Tick::Last` dates a record at the buffer's latest tick without a clock read, and
    /// `Tick::Undated` leaves it undated, read back at the previous dated tick. Kills: `Last`
    /// reading the clock; an undated record moving the buffer's clock or read as dated.
    #[test]
    fn last_and_undated_ticks() {
        let rt = RuntimeTrace::default();
        let gen = start_flight(&rt);
        let a = rt.active().unwrap();
        // SAFETY: this thread stands for the M holding P 0 (so for each push below).
        unsafe { a.push_p(0, &[create(1)]) };
        std::thread::sleep(std::time::Duration::from_millis(2));
        // SAFETY: as above.
        unsafe { a.push_p_at(0, &[create(2)], Tick::Last) };
        // SAFETY: as above.
        unsafe { a.push_p_at(0, &[create(3)], Tick::Undated) };
        std::thread::sleep(std::time::Duration::from_millis(2));
        // SAFETY: as above.
        unsafe { a.push_p(0, &[create(4)]) };
        let (_, c) = rt.stop(Which::Flight(gen)).unwrap();
        let evs = &c.bufs[0];
        let got: Vec<(u64, bool)> = evs.iter().map(|e| (e.goid, e.dated)).collect();
        assert_eq!(got, [(1, true), (2, true), (3, false), (4, true)]);
        assert_eq!(evs[1].ts, evs[0].ts, "Last: the previous record's tick");
        assert_eq!(
            evs[2].ts, evs[0].ts,
            "Undated: read at the previous dated tick"
        );
        assert!(evs[3].ts > evs[0].ts, "the clock moved on meanwhile");
    }

    fn g(kind: Kind, goid: u64, arg: u64) -> Rec {
        Rec {
            kind,
            track: Track::p(0),
            goid,
            arg,
            site: 0x1000 + goid,
        }
    }

    /// What a buffer holds back (a wake-up, a slice end) is written before anything recorded
    /// after it, a hand-off to the woken goroutine takes one word, and a stop or a snapshot
    /// sees a wake-up still held back by a running slice. Kills: a held-back event written
    /// after a later one; a hand-off taking three words; a held-back wake-up missing from the
    /// collected events (or counted twice); `flush_p` leaving the slice end held back.
    #[test]
    fn held_back_events_keep_their_order() {
        use Kind::*;
        let rt = RuntimeTrace::default();
        let gen = start_flight(&rt);
        let a = rt.active().unwrap();
        // SAFETY: this thread stands for the M holding P 0 (for every call below too).
        unsafe {
            a.start_p(0, g(GoStart, 1, 0), false);
            a.start_p(0, g(GoStart, 2, 0), false); // 2's site known
            a.start_p(0, g(GoStart, 1, 0), false);
            a.unpark_p(0, 2);
        }
        let len = |rt: &RuntimeTrace| {
            let st = rt.state.get().unwrap();
            let c = st.pbufs[0].cur.load(Acquire);
            // SAFETY: a current chunk lives as long as the runtime.
            unsafe { (*c).len.load(Acquire) }
        };
        let before = len(&rt);
        // A snapshot sees the held-back wake-up, once.
        let snap = rt.snapshot(gen).unwrap();
        let kinds: Vec<(Kind, u64)> = snap.bufs[0].iter().map(|e| (e.kind, e.goid)).collect();
        assert_eq!(kinds[3..], [(GoUnpark, 2)]);
        assert!(!snap.bufs[0][3].dated);
        // SAFETY: as above.
        unsafe {
            a.stop_p(0, g(GoPark, 1, 1));
            a.start_p(0, g(GoStart, 2, 0), true); // the hand-off: one word
        }
        assert_eq!(len(&rt), before + 1, "a hand-off in one word");
        // SAFETY: as above.
        unsafe {
            a.unpark_p(0, 1); // held back
            a.push_p_at(0, &[g(GoCreate, 3, 0)], Tick::Undated); // written after it
            a.stop_p(0, g(GoSched, 2, 0));
            a.unpark_p(0, 1); // after a held-back end: the end is written first
            a.start_p(0, g(GoStart, 1, 0), false); // not fresh: the end, then the start
            a.stop_p(0, g(GoEnd, 1, 0));
            a.flush_p(0); // the M lets the P go
        }
        let (_, c) = rt.stop(Which::Flight(gen)).unwrap();
        let evs = &c.bufs[0];
        let got: Vec<(Kind, u64, bool)> = evs.iter().map(|e| (e.kind, e.goid, e.dated)).collect();
        assert_eq!(
            got[3..],
            [
                (GoUnpark, 2, false),
                (GoPark, 1, true),
                (GoStart, 2, true),
                (GoUnpark, 1, false),
                (GoCreate, 3, false),
                (GoSched, 2, true),
                (GoUnpark, 1, false),
                (GoStart, 1, true),
                (GoEnd, 1, true),
            ]
        );
        assert_eq!(evs[4].ts, evs[5].ts, "the start at the end's tick");
        assert_eq!(evs[4].arg, 1, "the park's reason");
        assert!(
            evs[10].ts >= evs[8].ts,
            "a start that was not fresh is dated now"
        );
    }

    /// A held-back event of a session that stopped is dropped, not written into the next
    /// one. Kills: `pend_stop` or `pend_unpark` written without their session check.
    #[test]
    fn held_back_events_do_not_outlive_their_session() {
        use Kind::*;
        let rt = RuntimeTrace::default();
        let gen = start_flight(&rt);
        let a = rt.active().unwrap();
        // SAFETY: this thread stands for the M holding P 0.
        unsafe {
            a.start_p(0, g(GoStart, 1, 0), false);
            a.unpark_p(0, 5);
            a.stop_p(0, g(GoPark, 1, 1));
        }
        rt.stop(Which::Flight(gen)).unwrap();
        let gen2 = start_flight(&rt);
        let b = rt.active().unwrap();
        // SAFETY: as above.
        unsafe { b.push_p(0, &[g(GoCreate, 9, 0)]) };
        let (_, c) = rt.stop(Which::Flight(gen2)).unwrap();
        let got: Vec<(Kind, u64)> = c.bufs[0].iter().map(|e| (e.kind, e.goid)).collect();
        assert_eq!(got, [(GoCreate, 9)]);
    }

    /// The ring keeps the newest chunks and a window where every buffer is complete. Kills:
    /// `push_full` never trimming; `dropped_until` not recorded (the window would start at 0).
    #[test]
    fn flight_ring_keeps_the_newest_chunks() {
        let rt = RuntimeTrace::default();
        let max_bytes = PER_CHUNK * EST_JSON_BYTES; // one chunk's worth
        let gen = rt.start(1, 1, Mode::Flight { max_bytes }, &[]).unwrap();
        let a = rt.active().unwrap();
        let n = PER_CHUNK as u64 * 10;
        for i in 0..n {
            // SAFETY: this thread stands for the M holding P 0.
            unsafe { a.push_p(0, &[create(i)]) };
        }
        let c = rt.snapshot(gen).unwrap();
        let kept = c.bufs[0].len();
        assert!(kept <= 3 * PER_CHUNK, "{kept} events kept");
        assert!(kept >= PER_CHUNK, "{kept} events kept");
        assert_eq!(c.bufs[0].last().unwrap().goid, n - 1);
        assert!(c.window > 0 && c.bufs[0][0].ts > c.window);
        rt.stop(Which::Flight(gen)).unwrap();
        assert!(rt.snapshot(gen).is_err());
    }
}
