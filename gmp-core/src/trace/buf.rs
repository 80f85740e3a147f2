//! The recording side of a trace: compact binary events in chunks, one chunk being filled per
//! P (by the M that holds the P, with no lock) plus one shared chunk under a lock for events
//! recorded off a P, and the per-runtime session state (Go: `traceBuf`, `traceBufFlush`).
//!
//! # The buffer protocol
//!
//! - A runtime's trace state ([`TraceState`]) is made at its first `start` and lives as long
//!   as the runtime. It holds one [`Buf`] per P and one shared `Buf`; each points at its
//!   current [`Chunk`] of [`CHUNK_EVENTS`] events.
//! - The **owner** of a `Buf` appends: the M holding the P for a P's buffer, whoever holds
//!   `shared_lock` for the shared one. Appending writes slot `len` and then stores `len + 1`
//!   with Release. Nothing else writes a chunk's slots, and no slot below `len` is written
//!   again while the chunk belongs to the same session.
//! - Everything else goes through `inner` (one lock per runtime, taken per chunk, never per
//!   event): only the owner, holding `inner`, replaces its `Buf`'s current chunk (`refill`:
//!   a full chunk goes to the `full` list, a chunk left from an earlier session is reset);
//!   readers (`stop`, the flight recorder's snapshot) hold `inner` while they copy the `full`
//!   chunks and `[0, len)` of each current chunk (`len` read with Acquire). So a reader never
//!   sees a chunk change hands, and an owner appending meanwhile only adds slots past the
//!   `len` the reader read.
//! - Sessions are numbered by `gen` (table on [`TraceState::gen`]); a chunk carries the `gen`
//!   it was filled for, so events of an ended session are never mixed into the next one, and
//!   a late event (an owner that saw the session live just before it stopped) lands in a chunk
//!   nobody will read, which its owner resets on its next append.
//! - Current chunks are never freed while the runtime lives (an owner may still hold a pointer
//!   to one): they are reused by the next session, and freed with the runtime. `full` and
//!   `free` chunks are owned by the lists.
//! - A flight recorder keeps only the newest `full` chunks: enough of them to make `max_bytes`
//!   of JSON at [`EST_JSON_BYTES`] an event (a lower bound, so the ring never holds less
//!   than the recorder must write). When it drops a chunk it remembers, per buffer, the last
//!   tick it dropped (`dropped_until`): the snapshot then starts after the latest of those,
//!   where every buffer is complete.

use super::clock;
use crate::loom::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::{Mutex, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::sync::OnceLock;

/// Events per chunk: 512 × 40 bytes = 20 KiB, so a runtime takes its chunk lock once per 512
/// events per P, and a flight recorder's ring is trimmed at that granularity.
pub(crate) const CHUNK_EVENTS: usize = 512;

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
    /// It parked: closes the run slice; `arg` is the wait reason ([`pack_str`]) (Go:
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
    /// Goroutine `goid` was woken (WAITING → RUNNABLE) by whoever runs on the track; `arg` is
    /// the waker's goroutine id, 0 for none (Go: `GoUnblock`).
    GoUnpark,
    /// Goroutine `goid` was created at `site` (Go: `GoCreate`).
    GoCreate,
    /// The P of the track stole goroutine `goid` from P `arg` (Go has no event; its
    /// `ProcSteal` is sysmon's retake).
    Steal,
    /// sysmon took the P of the track from an M stuck in `syscall(f)` (Go: `ProcSteal`).
    Retake,
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

/// One recorded event: 40 bytes, no allocation, strings as `'static` pointers resolved when
/// the trace is encoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    /// Raw clock ticks ([`clock::ticks`]).
    pub(crate) ts: u64,
    pub(crate) goid: u64,
    /// Per [`Kind`].
    pub(crate) arg: u64,
    /// The goroutine's spawn site, a `&'static Location` as an address (0: none).
    pub(crate) site: u64,
    pub(crate) track: Track,
    pub(crate) kind: Kind,
}

/// Packs a `&'static str` (a wait reason) into one word: a 48-bit address and a 16-bit
/// length (cut at 65535 bytes, on a char boundary), as `G::wait_other` does.
pub(crate) fn pack_str(s: &'static str) -> u64 {
    let mut len = s.len().min(0xffff);
    while !s.is_char_boundary(len) {
        len -= 1;
    }
    debug_assert!((s.as_ptr() as u64) >> 48 == 0);
    ((s.as_ptr() as u64) << 16) | len as u64
}

/// The string [`pack_str`] packed ("" for 0).
pub(crate) fn unpack_str(w: u64) -> &'static str {
    if w == 0 {
        return "";
    }
    let ptr = (w >> 16) as *const u8;
    let len = (w & 0xffff) as usize;
    // SAFETY: every packed word comes from `pack_str` on a `&'static str`, and `len` is a char
    // boundary of it.
    unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) }
}

/// [`CHUNK_EVENTS`] event slots and how many are filled.
pub(crate) struct Chunk {
    /// The session it is filled for. Written by its owner under `inner` (`reset`).
    gen: AtomicU64,
    /// Filled slots: stored with Release by the owner after writing a slot.
    len: AtomicUsize,
    /// Index of the buffer it belongs to (P id, or the shared buffer's); written under `inner`.
    src: AtomicUsize,
    slots: Box<[UnsafeCell<MaybeUninit<Event>>]>,
}

// SAFETY: the slots are written only by the chunk's owner, at `len`, before a Release store of
// `len`; others read only slots below a `len` they loaded with Acquire (the module's protocol).
unsafe impl Sync for Chunk {}

impl Chunk {
    fn new_boxed() -> Box<Chunk> {
        Box::new(Chunk {
            gen: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            src: AtomicUsize::new(0),
            slots: (0..CHUNK_EVENTS)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        })
    }

    /// Makes it an empty chunk of session `gen` for buffer `src` (under `inner`, by the owner).
    fn reset(&self, gen: u64, src: usize) {
        self.len.store(0, Relaxed);
        self.src.store(src, Relaxed);
        self.gen.store(gen, Relaxed);
    }

    /// Appends `[0, len)` to `out`.
    fn copy_into(&self, out: &mut Vec<Event>) {
        let n = self.len.load(Acquire);
        out.extend((0..n).map(|i| {
            // SAFETY: slots below a `len` loaded with Acquire were written before its Release
            // store and are not written again (module protocol).
            self.slots[i].with(|s| unsafe { (*s).assume_init() })
        }));
    }

    /// The tick of its last event (0 when empty).
    fn last_ts(&self) -> u64 {
        match self.len.load(Acquire) {
            0 => 0,
            // SAFETY: as in `copy_into`.
            n => self.slots[n - 1].with(|s| unsafe { (*s).assume_init().ts }),
        }
    }
}

/// One buffer: the chunk being filled.
struct Buf {
    /// The current chunk (null before the first event). Replaced only by the owner holding
    /// `inner`; read by readers holding `inner`.
    cur: AtomicPtr<Chunk>,
}

impl Buf {
    fn new() -> Buf {
        Buf {
            cur: AtomicPtr::new(std::ptr::null_mut()),
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
    /// Full chunks of the live session, oldest first.
    full: VecDeque<Box<Chunk>>,
    /// Boxed: chunks move between these lists and `Buf::cur` (a raw pointer), so their address
    /// must not change.
    #[allow(clippy::vec_box)]
    free: Vec<Box<Chunk>>,
    /// Per buffer: the last tick of its newest chunk a flight recorder dropped.
    dropped_until: Vec<u64>,
}

impl Inner {
    fn recycle(&mut self, c: Box<Chunk>, nbufs: usize) {
        if self.free.len() < FREE_PER_BUF * nbufs {
            self.free.push(c);
        }
    }

    /// Hands a full chunk over; a flight recorder drops the oldest ones it no longer needs.
    fn push_full(&mut self, c: Box<Chunk>, nbufs: usize) {
        self.full.push_back(c);
        let Some(Session {
            mode: Mode::Flight { max_bytes },
            ..
        }) = &self.session
        else {
            return;
        };
        // Enough chunks for `max_bytes` at the lower bound, and one more for the chunks of
        // other buffers that the snapshot's window cuts away.
        let keep = max_bytes.div_ceil(CHUNK_EVENTS * EST_JSON_BYTES).max(1) + 1;
        while self.full.len() > keep {
            let Some(old) = self.full.pop_front() else {
                break;
            };
            let src = old.src.load(Relaxed);
            self.dropped_until[src] = self.dropped_until[src].max(old.last_ts());
            self.recycle(old, nbufs);
        }
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
                free: Vec::new(),
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
        let new = l.free.pop().unwrap_or_else(Chunk::new_boxed);
        new.reset(gen, idx);
        let new = Box::into_raw(new);
        b.cur.store(new, Release);
        new
    }

    /// Copies the events of session `gen`: the `full` chunks (taken, with `take`) and each
    /// buffer's current chunk. Holds `inner` (the caller's guard).
    fn collect(&self, l: &mut Inner, gen: u64, take: bool) -> Vec<Vec<Event>> {
        let mut out: Vec<Vec<Event>> = vec![Vec::new(); self.nbufs()];
        for c in &l.full {
            let src = c.src.load(Relaxed);
            c.copy_into(&mut out[src]);
        }
        let bufs = self.pbufs.iter().map(|b| &**b).chain([&self.shared_buf]);
        for (i, b) in bufs.enumerate() {
            let c = b.cur.load(Acquire);
            // SAFETY: current chunks live as long as the runtime; it is not replaced while we
            // hold `inner`.
            if let Some(c) = unsafe { c.as_ref() } {
                if c.gen.load(Relaxed) == gen {
                    c.copy_into(&mut out[i]);
                }
            }
        }
        if take {
            let nbufs = self.nbufs();
            for c in std::mem::take(&mut l.full) {
                l.recycle(c, nbufs);
            }
        }
        out
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

/// A live session's handle for the hooks: where to append.
#[derive(Clone, Copy)]
pub(crate) struct Active<'a> {
    st: &'a TraceState,
    gen: u64,
}

impl Active<'_> {
    /// Appends to P `p`'s buffer: no lock (one per 512 events).
    ///
    /// # Safety
    /// The calling thread is the M that holds P `p` (it owns the P's buffer).
    #[inline]
    pub(crate) unsafe fn push_p(
        &self,
        p: usize,
        kind: Kind,
        track: Track,
        goid: u64,
        arg: u64,
        site: u64,
    ) {
        self.push(&self.st.pbufs[p], p, kind, track, goid, arg, site);
    }

    /// Appends to the shared buffer, under its lock: for sysmon, plain threads and Ms without
    /// a P (all of them on slow paths already).
    pub(crate) fn push_shared(&self, kind: Kind, track: Track, goid: u64, arg: u64, site: u64) {
        let _owner = self.st.shared_lock.lock();
        let idx = self.st.pbufs.len();
        self.push(&self.st.shared_buf, idx, kind, track, goid, arg, site);
    }

    /// The owner's append (module protocol). The caller owns `b`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn push(&self, b: &Buf, idx: usize, kind: Kind, track: Track, goid: u64, arg: u64, site: u64) {
        let mut c = b.cur.load(Relaxed);
        // SAFETY: a current chunk lives as long as the runtime (module protocol).
        let stale = |c: *mut Chunk| unsafe {
            c.is_null()
                || (*c).gen.load(Relaxed) != self.gen
                || (*c).len.load(Relaxed) == CHUNK_EVENTS
        };
        if stale(c) {
            c = self.st.refill(b, idx, self.gen);
            if c.is_null() {
                return; // the session stopped meanwhile
            }
        }
        // SAFETY: as above.
        let chunk = unsafe { &*c };
        let n = chunk.len.load(Relaxed);
        let ev = Event {
            ts: clock::ticks(),
            goid,
            arg,
            site,
            track,
            kind,
        };
        // SAFETY: slot `n` is past `len`: no reader looks at it before the Release store
        // below, and only the owner (the caller) writes slots.
        chunk.slots[n].with_mut(|s| unsafe {
            (*s).write(ev);
        });
        chunk.len.store(n + 1, Release);
    }
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
        let nbufs = st.nbufs();
        for c in std::mem::take(&mut l.full) {
            l.recycle(c, nbufs);
        }
        l.dropped_until.iter_mut().for_each(|d| *d = 0);
        let gen = st.gen.load(Relaxed) + 1;
        debug_assert!(gen & 1 == 1);
        let origin = clock::ticks();
        let initial = running
            .iter()
            .map(|&(p, goid, site)| Event {
                ts: origin,
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
        let mut bufs = st.collect(&mut l, s.gen, true);
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
        let mut bufs = st.collect(&mut l, gen, false);
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

    #[test]
    fn tracks_round_trip() {
        assert_eq!(Track::p(3).of(), TrackOf::P(3));
        assert_eq!(Track::m(7).of(), TrackOf::M(7));
        assert_eq!(Track::OUTSIDE.of(), TrackOf::Outside);
        assert_ne!(Track::m(usize::MAX), Track::OUTSIDE);
    }

    #[test]
    fn strings_round_trip() {
        assert_eq!(unpack_str(pack_str("chan receive")), "chan receive");
        assert_eq!(unpack_str(0), "");
    }

    #[test]
    fn events_are_forty_bytes() {
        assert_eq!(std::mem::size_of::<Event>(), 40);
    }

    /// Chunks fill, hand over and are all collected in order; a stopped session records
    /// nothing; the next session starts empty. Kills: `refill` dropping the full chunk
    /// instead of listing it; `collect` skipping current chunks; `stop` leaving `gen` odd.
    #[test]
    fn chunks_hand_over_and_sessions_do_not_mix() {
        let rt = RuntimeTrace::default();
        let n = CHUNK_EVENTS * 2 + 5;
        for round in 0..2u64 {
            let gen = rt
                .start(1, 9, Mode::Flight { max_bytes: 1 << 30 }, &[])
                .unwrap();
            let a = rt.active().unwrap();
            for i in 0..n as u64 {
                // SAFETY: this thread stands for the M holding P 0 (no other thread pushes).
                unsafe { a.push_p(0, Kind::GoCreate, Track::p(0), i + round, 0, 0) };
            }
            a.push_shared(Kind::Retake, Track::p(0), 0, 0, 0);
            let (_, c) = rt.stop(Which::Flight(gen)).unwrap();
            assert!(rt.active().is_none());
            let goids: Vec<u64> = c.bufs[0].iter().map(|e| e.goid).collect();
            assert_eq!(goids, (round..n as u64 + round).collect::<Vec<_>>());
            assert_eq!(c.bufs[1].len(), 1);
            // Stopped: a hook holding the old handle records nothing anyone reads.
            // SAFETY: as above.
            unsafe { a.push_p(0, Kind::GoCreate, Track::p(0), 999, 0, 0) };
        }
    }

    /// The ring keeps the newest chunks and a window where every buffer is complete. Kills:
    /// `push_full` never trimming; `dropped_until` not recorded (the window would start at 0).
    #[test]
    fn flight_ring_keeps_the_newest_chunks() {
        let rt = RuntimeTrace::default();
        let max_bytes = CHUNK_EVENTS * EST_JSON_BYTES; // one chunk's worth
        let gen = rt.start(1, 1, Mode::Flight { max_bytes }, &[]).unwrap();
        let a = rt.active().unwrap();
        let n = CHUNK_EVENTS as u64 * 10;
        for i in 0..n {
            // SAFETY: this thread stands for the M holding P 0.
            unsafe { a.push_p(0, Kind::GoCreate, Track::p(0), i, 0, 0) };
        }
        let c = rt.snapshot(gen).unwrap();
        let kept = c.bufs[0].len();
        assert!(kept <= 3 * CHUNK_EVENTS, "{kept} events kept");
        assert!(kept >= CHUNK_EVENTS, "{kept} events kept");
        assert_eq!(c.bufs[0].last().unwrap().goid, n - 1);
        assert!(c.window > 0 && c.bufs[0][0].ts > c.window);
        rt.stop(Which::Flight(gen)).unwrap();
        assert!(rt.snapshot(gen).is_err());
    }
}
