//! The binary form of an event in a chunk: one 8-byte word for the common ones, two and an
//! extra word for each field that does not fit (Go: the varint-encoded events of a
//! `traceBuf`).
//!
//! # Layout
//!
//! Bit 0 of a record's first word says which form it has.
//!
//! ```text
//! short (one word):
//!   1 (bit 0) | kind (bits 1..5) | arg (bits 5..13) | delta (bits 13..37) | goid (bits 37..64)
//! switch (one word, a short record of kind SWITCH: a hand-off, see below):
//!   1 (bit 0) | 15 (bits 1..5) | how (bits 5..13) | delta (bits 13..37) | goid (bits 37..64)
//! long:
//!   word 0   0 (bit 0) | kind (bits 1..5) | flags (bits 5..10) | goid (bits 10..64)
//!   word 1   delta (bits 0..32) | payload (bits 32..64)
//!   then one word per flag set, in this order:
//!     F_TS     the tick count (the delta did not fit)
//!     F_ARG    the payload (it did not fit 32 bits)
//!     F_SITE   an end event's spawn site (see below)
//!     F_TRACK  the track (not the buffer's own)
//!     F_GOID   the goroutine id (≥ 2^54; word 0 then holds 0)
//! ```
//!
//! - `delta`: ticks since the chunk's previous dated event (since its base, the tick count
//!   when it was handed to its owner, for the first), clamped at 0: a buffer's times never
//!   decrease, as the encoder makes them anyway (`encode.rs`, step 1). All ones (24 bits in a
//!   short record, 32 in a long one) marks an event recorded without a clock read (a wake-up
//!   or a spawn, `buf.rs`'s `Tick::Undated`): the encoder places it between its dated
//!   neighbours. A dated delta that does not fit takes the long form (and `F_TS` past 32
//!   bits). 2^24 ticks is about 5 ms: a busy P's records are short.
//! - `payload`: per [`Kind`]: `GoStart` and `GoCreate` the spawn site, as its offset from
//!   [`ANCHOR`] (a static of this crate: every `&'static Location` of the program's binary is
//!   within ±2 GiB of it, as x86_64's small code model guarantees); `GoPark`
//!   the wait reason (`G::wait_word`: a code below 256 for the built-in reasons); `GoSyscall`
//!   the M; `Steal` the victim P; 0 for the others. A short record's `arg` is the payload when
//!   it fits 8 bits and is not a site.
//! - **Sites.** The writer and the reader keep, per chunk, the spawn sites of the last two
//!   goroutines whose records gave or used one ([`Cursor`]). A `GoStart` or `GoCreate` of one
//!   of them, and an end event (`GoPark`, `GoSched`, `GoEnd`, `GoSyscall`, `GoSysExit`) of one
//!   of them, leave the site out: short. An end event of another goroutine carries its site
//!   (`F_SITE`): the encoder names a slice from its end when its start is not in the trace.
//!   Two, because a P's goroutines often take turns: a ping-pong's run slice, park and
//!   wake-up are one word each.
//! - The track is the buffer's own, the P's for a P's buffer (`outside` for the shared one),
//!   except for `GoSysExit` (an M's) and the shared buffer's events: those are long.
//!
//! - **Hand-offs.** When a goroutine's run slice ends and the next one starts on the same P at
//!   the same tick (`buf.rs`: the start dated at the stop's tick), [`write_switch`] writes
//!   both as one switch word: `goid` is the goroutine that starts, the one that stops is the
//!   one the chunk's last start started ([`Cursor`]'s `running`), and `how` holds the stop's
//!   kind (bits 0..2: park, yield, exit), whether the stopping slice woke the starting
//!   goroutine (bit 2: its `GoUnpark`, undated, read back just before the stop) and a park's
//!   wait reason (bits 3..8, built-in reasons only). A ping-pong's hand-off (a wake-up, a
//!   park, a start) is one word. Otherwise the same events are written as their own records.
//!
//! [`write`] and [`read`] keep the same [`Cursor`] (the clock and the sites they last saw),
//! so each is the other's exact inverse; the tests check every form and flag both ways.

use super::buf::{Event, Kind, Track};

/// The most words one record takes: two, and one per flag.
pub(crate) const MAX_WORDS: usize = 7;

/// The delta of an undated long record (a dated one with this delta takes `F_TS`).
const UNDATED: u32 = u32::MAX;

const F_TS: u64 = 1 << 0;
const F_ARG: u64 = 1 << 1;
const F_SITE: u64 = 1 << 2;
const F_TRACK: u64 = 1 << 3;
const F_GOID: u64 = 1 << 4;

/// Bit 0 of a record's first word: a short record.
const SHORT: u64 = 1;
const KIND_SHIFT: u32 = 1;
const KIND_BITS: u32 = 4;
const FLAG_SHIFT: u32 = KIND_SHIFT + KIND_BITS;
const FLAG_BITS: u32 = 5;
const GOID_SHIFT: u32 = FLAG_SHIFT + FLAG_BITS;
/// Goroutine ids below this fit a long record's word 0 (2^54: more than a goroutine per ns
/// for half a year).
const GOID_LIMIT: u64 = 1 << (64 - GOID_SHIFT);

const S_ARG_SHIFT: u32 = KIND_SHIFT + KIND_BITS;
const S_ARG_BITS: u32 = 8;
const S_DELTA_SHIFT: u32 = S_ARG_SHIFT + S_ARG_BITS;
const S_DELTA_BITS: u32 = 24;
const S_GOID_SHIFT: u32 = S_DELTA_SHIFT + S_DELTA_BITS;
/// The kind field of a switch word (no [`Kind`] has it).
const SWITCH: u64 = 15;
const _: () = assert!(Kind::ALL.len() as u64 <= SWITCH);
/// A switch word's `how`: bits 0..2 the stop's kind, bit 2 the wake-up, bits 3..8 the reason.
const HOW_WOKEN: u64 = 1 << 2;
const HOW_REASON_SHIFT: u32 = 3;
/// Park reasons below this fit a switch word (`G::wait_word`'s built-in codes).
const HOW_REASON_LIMIT: u64 = 1 << (S_ARG_BITS - HOW_REASON_SHIFT);
/// The delta of an undated short record; dated deltas of a short record are below it.
const S_UNDATED: u64 = (1 << S_DELTA_BITS) - 1;
/// Goroutine ids below this fit a short record.
const S_GOID_LIMIT: u64 = 1 << (64 - S_GOID_SHIFT);

const fn mask(bits: u32) -> u64 {
    (1 << bits) - 1
}

/// The address sites are stored relative to.
static ANCHOR: u8 = 0;

fn anchor() -> u64 {
    &ANCHOR as *const u8 as u64
}

/// `site` as a payload, if it is within ±2 GiB of [`ANCHOR`] (no site, 0, is not: it takes
/// an extension word; `newproc` gives every goroutine a site).
#[inline(always)]
fn site_payload(site: u64) -> Option<u32> {
    i32::try_from(site.wrapping_sub(anchor()) as i64)
        .ok()
        .map(|o| o as u32)
}

fn site_of_payload(p: u32) -> u64 {
    anchor().wrapping_add(p as i32 as i64 as u64)
}

/// Whether `kind` ends a slice (and so carries its goroutine's site for an orphan end).
fn is_end(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::GoPark | Kind::GoSched | Kind::GoEnd | Kind::GoSyscall | Kind::GoSysExit
    )
}

/// Whether `kind`'s payload is its spawn site (else its `arg`).
fn site_is_payload(kind: Kind) -> bool {
    matches!(kind, Kind::GoStart | Kind::GoCreate)
}

/// Whether a record of `kind` gives or uses its goroutine's site (and so refreshes the
/// cursor's sites).
fn has_site(kind: Kind) -> bool {
    site_is_payload(kind) || is_end(kind)
}

/// What a chunk's writer (and its reader, in step) knows of the records so far.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor {
    /// The tick count of the last dated record (the running maximum), the chunk's base at
    /// first.
    last: u64,
    /// `(goid, site)` of the last two goroutines whose records gave or used a site, the
    /// latest first (goid 0: none; goids start at 1).
    sites: [(u64, u64); 2],
    /// `(goid, site)` of the goroutine the chunk's last `GoStart` started (goid 0: none): the
    /// one a switch word stops.
    running: (u64, u64),
}

impl Cursor {
    /// A chunk's cursor before its first record; `base` is its base tick count.
    pub(crate) fn new(base: u64) -> Cursor {
        Cursor {
            last: base,
            sites: [(0, 0); 2],
            running: (0, 0),
        }
    }

    /// The tick count of the last dated record.
    pub(crate) fn last(&self) -> u64 {
        self.last
    }

    /// The site of `goid`, if it is one of the two.
    #[inline(always)]
    fn site(&self, goid: u64) -> Option<u64> {
        if self.sites[0].0 == goid {
            Some(self.sites[0].1)
        } else if self.sites[1].0 == goid {
            Some(self.sites[1].1)
        } else {
            None
        }
    }

    /// `goid` (spawned at `site`) gave or used its site: it becomes the latest.
    #[inline(always)]
    fn touch(&mut self, goid: u64, site: u64) {
        if self.sites[0].0 != goid {
            self.sites[1] = self.sites[0];
            self.sites[0] = (goid, site);
        }
    }

    /// A record of `kind` for `goid` (spawned at `site`) was written or read: the cursor
    /// follows it (its sites, and the running goroutine).
    #[inline(always)]
    fn saw(&mut self, kind: Kind, goid: u64, site: u64) {
        if has_site(kind) {
            self.touch(goid, site);
        }
        if kind == Kind::GoStart {
            self.running = (goid, site);
        }
    }
}

/// An event as a hook gives it (an [`Event`] without its time).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rec {
    pub(crate) kind: Kind,
    pub(crate) track: Track,
    pub(crate) goid: u64,
    /// Per [`Kind`] (the payload of the layout, for the kinds whose payload is not the site).
    pub(crate) arg: u64,
    /// The goroutine's spawn site, a `&'static Location` as an address (0: none).
    pub(crate) site: u64,
}

impl Rec {
    /// `GoUnpark` of goroutine `goid` on `track`.
    pub(crate) fn unpark(track: Track, goid: u64) -> Rec {
        Rec {
            kind: Kind::GoUnpark,
            track,
            goid,
            arg: 0,
            site: 0,
        }
    }
}

/// Writes `r`, dated `ts` (`None`: undated), at `out`, in a chunk whose buffer's own track is
/// `own`; returns the words written.
///
/// # Safety
/// `out` is valid for writing [`MAX_WORDS`] words.
#[inline(always)]
pub(crate) unsafe fn write(
    out: *mut u64,
    cur: &mut Cursor,
    own: Track,
    ts: Option<u64>,
    r: &Rec,
) -> usize {
    // The delta, and the tick count it moves the cursor to.
    let (d, at) = match ts {
        None => (None, cur.last),
        Some(ts) => {
            let d = ts.saturating_sub(cur.last);
            (Some(d), cur.last + d)
        }
    };
    let known = cur.site(r.goid) == Some(r.site);
    let short = r.track == own
        && r.goid < S_GOID_LIMIT
        && d.is_none_or(|d| d < S_UNDATED)
        && if has_site(r.kind) { known } else { true }
        && (site_is_payload(r.kind) || r.arg <= mask(S_ARG_BITS));
    cur.last = at;
    cur.saw(r.kind, r.goid, r.site);
    if short {
        let delta = d.unwrap_or(S_UNDATED);
        let arg = if site_is_payload(r.kind) { 0 } else { r.arg };
        // SAFETY: room for MAX_WORDS (the caller).
        unsafe {
            out.write(
                SHORT
                    | (r.kind as u64) << KIND_SHIFT
                    | arg << S_ARG_SHIFT
                    | delta << S_DELTA_SHIFT
                    | r.goid << S_GOID_SHIFT,
            )
        };
        return 1;
    }
    // SAFETY: the caller's room, as above.
    unsafe { write_long(out, own, d, at, known, r) }
}

/// The slice ends a switch word holds, by their code in `how` (bits 0..2).
const SWITCH_STOPS: [Kind; 3] = [Kind::GoPark, Kind::GoSched, Kind::GoEnd];
const HOW_STOP_MASK: u64 = 3;

/// The code of a slice end in a switch word's `how`.
fn stop_code(kind: Kind) -> Option<u64> {
    SWITCH_STOPS
        .iter()
        .position(|&k| k == kind)
        .map(|c| c as u64)
}

/// A hand-off as one switch word (see [`write_switch`]), moving the cursor as writing it does;
/// `None` (the cursor untouched) when it does not fit one word.
#[inline(always)]
pub(crate) fn switch_word(
    cur: &mut Cursor,
    ts: u64,
    stop: &Rec,
    start: &Rec,
    woken: bool,
) -> Option<u64> {
    let code = stop_code(stop.kind)?;
    let d = ts.saturating_sub(cur.last);
    let reason = if stop.kind == Kind::GoPark {
        stop.arg
    } else {
        0
    };
    let fits = cur.running == (stop.goid, stop.site)
        && cur.site(start.goid) == Some(start.site)
        && start.goid < S_GOID_LIMIT
        && d < S_UNDATED
        && reason < HOW_REASON_LIMIT;
    if !fits {
        return None;
    }
    let how = code | if woken { HOW_WOKEN } else { 0 } | reason << HOW_REASON_SHIFT;
    cur.last += d;
    cur.saw(stop.kind, stop.goid, stop.site);
    cur.saw(Kind::GoStart, start.goid, start.site);
    Some(
        SHORT
            | SWITCH << KIND_SHIFT
            | how << S_ARG_SHIFT
            | d << S_DELTA_SHIFT
            | start.goid << S_GOID_SHIFT,
    )
}

/// Writes a hand-off at `out`: the slice of the goroutine `stop` names ends (`GoPark`,
/// `GoSched` or `GoEnd`) and `start` (a `GoStart`) begins, both at tick `ts`; `woken`: the
/// ending slice woke `start`'s goroutine (a `GoUnpark`, undated, just before the end). One
/// switch word when the layout allows (module docs), else the same events as records.
/// Returns the words written.
///
/// # Safety
/// `out` is valid for writing 3 × [`MAX_WORDS`] words.
#[inline(always)]
pub(crate) unsafe fn write_switch(
    out: *mut u64,
    cur: &mut Cursor,
    own: Track,
    ts: u64,
    stop: &Rec,
    start: &Rec,
    woken: bool,
) -> usize {
    debug_assert_eq!(start.kind, Kind::GoStart);
    let word = if stop.track == own && start.track == own {
        switch_word(cur, ts, stop, start, woken)
    } else {
        None
    };
    match word {
        Some(word) => {
            // SAFETY: room for one word (the caller's 3 × MAX_WORDS).
            unsafe { out.write(word) };
            1
        }
        _ => {
            let mut n = 0;
            let unpark = Rec::unpark(start.track, start.goid);
            // SAFETY: at most three records of MAX_WORDS each: the caller's room.
            unsafe {
                if woken {
                    n += write(out, cur, own, None, &unpark);
                }
                n += write(out.add(n), cur, own, Some(ts), stop);
                n + write(out.add(n), cur, own, Some(ts), start)
            }
        }
    }
}

/// The long form of [`write`] (whose cursor is already moved): `d` the delta (`None`:
/// undated), `at` the tick count, `known` whether the reader knows the goroutine's site.
///
/// # Safety
/// As [`write`].
#[inline(never)]
unsafe fn write_long(
    out: *mut u64,
    own: Track,
    d: Option<u64>,
    at: u64,
    known: bool,
    r: &Rec,
) -> usize {
    let mut flags = 0;
    let mut n = 2;
    let mut put = |flag: u64, w: u64| {
        flags |= flag;
        // SAFETY: at most 5 extension words after the 2 of the head: `n` < MAX_WORDS, which
        // the caller guarantees room for.
        unsafe { out.add(n).write(w) };
        n += 1;
    };
    let delta = match d {
        None => UNDATED,
        Some(d) => match u32::try_from(d) {
            Ok(d) if d != UNDATED => d,
            _ => {
                put(F_TS, at);
                0
            }
        },
    };
    let payload = if site_is_payload(r.kind) {
        site_payload(r.site).unwrap_or_else(|| {
            put(F_ARG, r.site);
            0
        })
    } else {
        u32::try_from(r.arg).unwrap_or_else(|_| {
            put(F_ARG, r.arg);
            0
        })
    };
    if is_end(r.kind) && !known {
        put(F_SITE, r.site);
    }
    if r.track != own {
        put(F_TRACK, r.track.bits() as u64);
    }
    let goid = if r.goid < GOID_LIMIT {
        r.goid
    } else {
        put(F_GOID, r.goid);
        0
    };
    // SAFETY: room for MAX_WORDS (the caller), and the head is 2 of them.
    unsafe {
        out.write(goid << GOID_SHIFT | flags << FLAG_SHIFT | (r.kind as u64) << KIND_SHIFT);
        out.add(1).write(delta as u64 | (payload as u64) << 32);
    }
    n
}

/// Decodes the records of `words` (a chunk's filled words, base tick count `base`, own track
/// `own`) into `out`.
pub(crate) fn read(words: &[u64], base: u64, own: Track, out: &mut Vec<Event>) {
    let mut cur = Cursor::new(base);
    let mut it = words.iter().copied();
    while let Some(h) = it.next() {
        if h & SHORT != 0 && (h >> KIND_SHIFT) & mask(KIND_BITS) == SWITCH {
            read_switch(h, &mut cur, own, out);
            continue;
        }
        let Some(kind) = Kind::from_bits(((h >> KIND_SHIFT) & mask(KIND_BITS)) as u8) else {
            debug_assert!(false, "a trace record of unknown kind {h:#x}");
            return;
        };
        let (ts, goid, arg, mut site, track) = if h & SHORT != 0 {
            let delta = (h >> S_DELTA_SHIFT) & mask(S_DELTA_BITS);
            let ts = (delta != S_UNDATED).then(|| cur.last + delta);
            let goid = h >> S_GOID_SHIFT;
            let arg = (h >> S_ARG_SHIFT) & mask(S_ARG_BITS);
            let known = if has_site(kind) {
                let s = cur.site(goid);
                debug_assert!(s.is_some(), "a short record of an unknown site");
                s.unwrap_or(0)
            } else {
                0
            };
            if site_is_payload(kind) {
                (ts, goid, 0, known, own)
            } else {
                (ts, goid, arg, known, own)
            }
        } else {
            let Some(w1) = it.next() else {
                debug_assert!(false, "a long trace record cut short");
                return;
            };
            let flags = (h >> FLAG_SHIFT) & mask(FLAG_BITS);
            let mut ext = |flag: u64| (flags & flag != 0).then(|| it.next().unwrap_or(0));
            let delta = w1 as u32;
            let ts = match ext(F_TS) {
                Some(ts) => Some(ts),
                None if delta == UNDATED => None,
                None => Some(cur.last + delta as u64),
            };
            let payload = (w1 >> 32) as u32;
            let full = ext(F_ARG);
            let end_site = ext(F_SITE);
            let track = ext(F_TRACK).map_or(own, |t| Track::from_bits(t as u32));
            let goid = ext(F_GOID).unwrap_or(h >> GOID_SHIFT);
            if site_is_payload(kind) {
                let site = full.unwrap_or_else(|| site_of_payload(payload));
                (ts, goid, 0, site, track)
            } else {
                let arg = full.unwrap_or(payload as u64);
                let site = if is_end(kind) {
                    let s = end_site.or_else(|| cur.site(goid));
                    debug_assert!(s.is_some(), "an end record of an unknown site");
                    s.unwrap_or(0)
                } else {
                    0
                };
                (ts, goid, arg, site, track)
            }
        };
        if let Some(ts) = ts {
            cur.last = ts;
        }
        cur.saw(kind, goid, site);
        if !has_site(kind) {
            site = 0;
        }
        out.push(Event {
            ts: ts.unwrap_or(cur.last),
            dated: ts.is_some(),
            goid,
            arg,
            site,
            track,
            kind,
        });
    }
}

/// Decodes the switch word `h` (module docs) into its two or three events.
fn read_switch(h: u64, cur: &mut Cursor, own: Track, out: &mut Vec<Event>) {
    let how = (h >> S_ARG_SHIFT) & mask(S_ARG_BITS);
    let Some(&stop) = SWITCH_STOPS.get((how & HOW_STOP_MASK) as usize) else {
        debug_assert!(false, "a switch word of unknown stop {h:#x}");
        return;
    };
    let goid = h >> S_GOID_SHIFT;
    let ev = |kind, ts, dated, goid, arg, site| Event {
        ts,
        dated,
        goid,
        arg,
        site,
        track: own,
        kind,
    };
    if how & HOW_WOKEN != 0 {
        out.push(ev(Kind::GoUnpark, cur.last, false, goid, 0, 0));
    }
    let ts = cur.last + ((h >> S_DELTA_SHIFT) & mask(S_DELTA_BITS));
    cur.last = ts;
    let (sgoid, ssite) = cur.running;
    debug_assert!(sgoid != 0, "a switch word with no goroutine running");
    // Looked up before the stop touches the sites, as the writer did.
    let site = cur.site(goid);
    debug_assert!(site.is_some(), "a switch word starting an unknown site");
    let site = site.unwrap_or(0);
    let reason = if stop == Kind::GoPark {
        how >> HOW_REASON_SHIFT
    } else {
        0
    };
    out.push(ev(stop, ts, true, sgoid, reason, ssite));
    cur.saw(stop, sgoid, ssite);
    out.push(ev(Kind::GoStart, ts, true, goid, 0, site));
    cur.saw(Kind::GoStart, goid, site);
}

/// How many events `words` holds (a full chunk, for the flight recorder's ring).
pub(crate) fn count(words: &[u64]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < words.len() {
        let h = words[i];
        if h & SHORT != 0 {
            i += 1;
            n += if (h >> KIND_SHIFT) & mask(KIND_BITS) == SWITCH {
                2 + ((h >> S_ARG_SHIFT) & HOW_WOKEN != 0) as usize
            } else {
                1
            };
        } else {
            i += 2 + ((h >> FLAG_SHIFT) & mask(FLAG_BITS)).count_ones() as usize;
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::Location;

    fn site_here() -> u64 {
        Location::caller() as *const Location<'static> as u64
    }

    fn rec(kind: Kind, track: Track, goid: u64, arg: u64, site: u64) -> Rec {
        Rec {
            kind,
            track,
            goid,
            arg,
            site,
        }
    }

    /// Writes `recs` (each dated as given, `None`: undated) into one chunk from `base`;
    /// returns its words and the words each record took.
    fn write_all(base: u64, own: Track, recs: &[(Option<u64>, Rec)]) -> (Vec<u64>, Vec<usize>) {
        let mut words = vec![0; recs.len() * MAX_WORDS];
        let mut cur = Cursor::new(base);
        let mut n = 0;
        let mut sizes = Vec::new();
        for (ts, r) in recs {
            // SAFETY: `words` has room for MAX_WORDS per record.
            let k = unsafe { write(words.as_mut_ptr().add(n), &mut cur, own, *ts, r) };
            sizes.push(k);
            n += k;
        }
        words.truncate(n);
        (words, sizes)
    }

    /// Writes and reads back `recs`, checking every field; returns the sizes.
    fn round_trip(base: u64, own: Track, recs: &[(Option<u64>, Rec)]) -> Vec<usize> {
        let (words, sizes) = write_all(base, own, recs);
        assert_eq!(count(&words), recs.len());
        let mut out = Vec::new();
        read(&words, base, own, &mut out);
        assert_eq!(out.len(), recs.len());
        let mut last = base;
        for (i, ((ts, r), e)) in recs.iter().zip(&out).enumerate() {
            // Dated: clamped to the running maximum; undated: the previous dated tick.
            let want_ts = ts.map_or(last, |t| t.max(last));
            last = want_ts;
            assert_eq!(
                (e.ts, e.dated, e.kind, e.track, e.goid),
                (want_ts, ts.is_some(), r.kind, r.track, r.goid),
                "{i}"
            );
            let want_arg = if site_is_payload(r.kind) { 0 } else { r.arg };
            assert_eq!(e.arg, want_arg, "{i}");
            let want_site = if has_site(r.kind) { r.site } else { 0 };
            assert_eq!(e.site, want_site, "{i}");
        }
        sizes
    }

    /// A ping-pong on one P: once each goroutine's site is known, a run slice's start, its
    /// park and a wake-up are one word each. Kills: a site cache of one (the two alternate);
    /// a start with a known site written long; an undated wake-up written long.
    #[test]
    fn a_ping_pong_is_one_word_an_event() {
        let (p0, site_a, site_b) = (Track::p(0), site_here(), site_here());
        let (a, b) = (7, 8);
        let mut recs = vec![
            (Some(110), rec(Kind::GoStart, p0, a, 0, site_a)),
            (None, rec(Kind::GoUnpark, p0, b, 0, 0)),
            (Some(190), rec(Kind::GoPark, p0, a, 2, site_a)),
            (Some(190), rec(Kind::GoStart, p0, b, 0, site_b)),
        ];
        let mut t = 190;
        for _ in 0..3 {
            for (me, other, site) in [(b, a, site_b), (a, b, site_a)] {
                t += 80;
                recs.push((None, rec(Kind::GoUnpark, p0, other, 0, 0)));
                recs.push((Some(t), rec(Kind::GoPark, p0, me, 2, site)));
                let other_site = if other == a { site_a } else { site_b };
                recs.push((Some(t), rec(Kind::GoStart, p0, other, 0, other_site)));
            }
        }
        let sizes = round_trip(100, p0, &recs);
        // Each goroutine's first start gives its site (long); the rest are short.
        assert_eq!(sizes[..4], [2, 1, 1, 2]);
        assert!(sizes[4..].iter().all(|&k| k == 1), "{sizes:?}");
    }

    /// A hand-off (a wake-up, the end of the running slice, the next start at the same tick)
    /// is one switch word and reads back as the three events; one that does not fit a word
    /// (the stop of a goroutine that is not the running one, an `Other` reason) is written as
    /// records. Kills: the switch word naming the wrong stopping goroutine or reason; the
    /// wake-up flag lost or set; `count` counting a switch word as one event; a switch word
    /// written for a stop the reader cannot attribute.
    #[test]
    fn a_hand_off_is_one_word() {
        let (p0, site_a, site_b) = (Track::p(0), site_here(), site_here());
        let (a, b) = (7, 8);
        let mut words = vec![0u64; 64];
        let mut cur = Cursor::new(100);
        let mut n = 0;
        let mut put = |cur: &mut Cursor, ts, r: Rec| {
            // SAFETY: `words` has room (64 words, a few records).
            n += unsafe { write(words.as_mut_ptr().add(n), cur, p0, ts, &r) };
            n
        };
        put(&mut cur, Some(110), rec(Kind::GoStart, p0, a, 0, site_a));
        put(&mut cur, Some(120), rec(Kind::GoStart, p0, b, 0, site_b)); // B's site known
        let at = put(&mut cur, Some(130), rec(Kind::GoStart, p0, a, 0, site_a));
        let mut sw = |cur: &mut Cursor, at: usize, ts, stop: Rec, start: Rec, woken| {
            // SAFETY: `words` has room for 3 × MAX_WORDS past every `at` used below.
            unsafe {
                write_switch(
                    words.as_mut_ptr().add(at),
                    cur,
                    p0,
                    ts,
                    &stop,
                    &start,
                    woken,
                )
            }
        };
        // A wakes B, parks on a channel (reason 1), B starts: one word.
        let (park_a, start_a) = (
            rec(Kind::GoPark, p0, a, 1, site_a),
            rec(Kind::GoStart, p0, a, 0, site_a),
        );
        let start_b = rec(Kind::GoStart, p0, b, 0, site_b);
        assert_eq!(sw(&mut cur, at, 190, park_a, start_b, true), 1);
        // B yields and starts again at once, nobody woken: one word.
        let yield_b = rec(Kind::GoSched, p0, b, 0, site_b);
        assert_eq!(sw(&mut cur, at + 1, 200, yield_b, start_b, false), 1);
        // A stop of A, which is not running: records (no unpark, a park, a start).
        let k3 = sw(&mut cur, at + 2, 210, park_a, start_a, false);
        assert!(k3 >= 2, "{k3}");
        // B is not running now either (A is): an `Other` reason, woken: records too.
        let other = (site_a ^ 0x7fff_0000_0000) & !0xffff | 3; // an `Other` reason
        let park_other = rec(Kind::GoPark, p0, a, other, site_a);
        let k4 = sw(&mut cur, at + 2 + k3, 220, park_other, start_b, true);
        assert!(k4 >= 3, "{k4}");
        words.truncate(at + 2 + k3 + k4);
        let mut out = Vec::new();
        read(&words, 100, p0, &mut out);
        assert_eq!(count(&words), out.len());
        let got: Vec<(Kind, u64, u64, u64, bool, u64)> = out
            .iter()
            .map(|e| (e.kind, e.goid, e.ts, e.arg, e.dated, e.site))
            .collect();
        use Kind::*;
        assert_eq!(
            got[3..],
            [
                (GoUnpark, b, 130, 0, false, 0),
                (GoPark, a, 190, 1, true, site_a),
                (GoStart, b, 190, 0, true, site_b),
                (GoSched, b, 200, 0, true, site_b),
                (GoStart, b, 200, 0, true, site_b),
                (GoPark, a, 210, 1, true, site_a),
                (GoStart, a, 210, 0, true, site_a),
                (GoUnpark, b, 210, 0, false, 0),
                (GoPark, a, 220, other, true, site_a),
                (GoStart, b, 220, 0, true, site_b),
            ]
        );
    }

    /// Every form and flag decodes to what was written. Kills: any field's extension word
    /// written or read out of order; the delta not clamped; a far site or a big goid
    /// truncated; an end's site taken from another goroutine's record; a short record's
    /// delta or goid overflowing; an undated record read as dated.
    #[test]
    fn every_field_round_trips() {
        let (p1, site) = (Track::p(1), site_here());
        let far = 0x7fff_1234_5670_u64; // far from any static: an extension word
        let other = (site ^ far) & !0xffff | 3; // an `Other` wait word: ≥ 2^32
        let big = 1 << 60;
        let t0 = 1_000 + (1 << 33);
        let recs = [
            (Some(1_000), rec(Kind::GoStart, p1, 7, 0, site)), // long: site unknown
            (Some(990), rec(Kind::GoUnpark, p1, 8, 0, 0)),     // earlier: clamped, short
            (Some(t0), rec(Kind::GoPark, p1, 7, other, site)), // F_TS, F_ARG
            (Some(t0 + 5), rec(Kind::GoStart, p1, 9, 0, far)), // F_ARG
            (Some(t0 + 6), rec(Kind::GoSyscall, p1, 9, 3, far)), // short
            (Some(t0 + 7), rec(Kind::GoSysExit, Track::m(3), 7, 0, site)), // F_TRACK
            (Some(t0 + 8), rec(Kind::GoCreate, p1, big, 0, 0)), // F_ARG (no site), F_GOID
            (Some(t0 + 9), rec(Kind::GoEnd, p1, big, 0, 0)),   // F_GOID
            (Some(t0 + 9), rec(Kind::Steal, p1, 4, 0, 0)),     // short
            (Some(t0 + 9), rec(Kind::Retake, Track::OUTSIDE, 0, 0, 0)), // F_TRACK
            (Some(t0 + 10), rec(Kind::GoPark, p1, 11, 2, site)), // F_SITE: 11 unknown
            (None, rec(Kind::GoUnpark, p1, 12, 0, 0)),         // short, undated
            (None, rec(Kind::GoUnpark, Track::m(1), 13, 0, 0)), // long, undated, F_TRACK
            (
                Some(t0 + 11 + (1 << 25)),
                rec(Kind::GoSched, p1, 11, 0, site),
            ), // long delta
            (
                Some(t0 + 12 + (1 << 25)),
                rec(Kind::GoPark, p1, 11, 300, site),
            ), // arg > 8 bits
            (None, rec(Kind::GoCreate, p1, 1 << 27, 0, site)), // goid too big for short
            (
                Some(t0 + 13 + (1 << 25)),
                rec(Kind::GoStart, p1, 11, 0, site),
            ), // short
        ];
        let sizes = round_trip(500, p1, &recs);
        assert_eq!(sizes, [2, 1, 4, 3, 1, 3, 4, 3, 1, 3, 3, 1, 3, 2, 2, 2, 1]);
    }
}
