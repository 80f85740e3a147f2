//! The binary form of an event in a chunk: two 8-byte words for the common ones, an extra word
//! for each field that does not fit them (Go: the varint-encoded events of a `traceBuf`).
//!
//! # Layout
//!
//! ```text
//! word 0   delta (bits 0..32) | payload (bits 32..64)
//! word 1   kind (bits 0..4) | flags (bits 4..9) | goid (bits 9..64)
//! then one word per flag set, in this order:
//!   F_TS     the tick count (the delta did not fit 32 bits)
//!   F_ARG    the payload (it did not fit 32 bits)
//!   F_SITE   an end event's spawn site (see below)
//!   F_TRACK  the track (not the buffer's own)
//!   F_GOID   the goroutine id (≥ 2^55; word 1 then holds 0)
//! ```
//!
//! - `delta`: ticks since the chunk's previous event (since its base, the tick count when it
//!   was handed to its owner, for the first), clamped at 0: a buffer's times never decrease,
//!   as the encoder makes them anyway (`encode.rs`, step 1). 2^32 ticks is over a second.
//! - `payload`: per [`Kind`]: `GoStart` and `GoCreate` the spawn site, as its offset from
//!   [`ANCHOR`] (a static of this crate: every `&'static Location` of the program's binary is
//!   within ±2 GiB of it, as x86_64's small code model guarantees); `GoPark`
//!   the wait reason (`G::wait_word`: a code below 256 for the built-in reasons); `GoSyscall`
//!   the M; `Steal` the victim P; 0 for the others.
//! - An end event (`GoPark`, `GoSched`, `GoEnd`, `GoSyscall`, `GoSysExit`) needs its
//!   goroutine's spawn site only when its start is not in the trace (the encoder names the
//!   slice from the end then). It omits it when the chunk's last record that gave a site
//!   was this goroutine's (its `GoStart`, in the common case): the decoder, reading the chunk
//!   in order, knows that site. So a run slice, a park and a wake-up are two words each.
//! - The track is the buffer's own, the P's for a P's buffer (`outside` for the shared one),
//!   except for `GoSysExit` (an M's) and the shared buffer's events.
//!
//! [`write`] and [`read`] keep the same [`Cursor`] (the clock and the site they last saw),
//! so each is the other's exact inverse; the tests check every flag both ways.

use super::buf::{Event, Kind, Track};

/// The most words one record takes: two, and one per flag.
pub(crate) const MAX_WORDS: usize = 7;

const F_TS: u64 = 1 << 0;
const F_ARG: u64 = 1 << 1;
const F_SITE: u64 = 1 << 2;
const F_TRACK: u64 = 1 << 3;
const F_GOID: u64 = 1 << 4;

const KIND_BITS: u32 = 4;
const FLAG_BITS: u32 = 5;
const GOID_SHIFT: u32 = KIND_BITS + FLAG_BITS;
/// Goroutine ids below this fit word 1 (2^55: more than a goroutine per ns for a year).
const GOID_LIMIT: u64 = 1 << (64 - GOID_SHIFT);

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

/// What a chunk's writer (and its reader, in step) knows of the records so far.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor {
    /// The tick count of the last record (the running maximum), the chunk's base at first.
    last: u64,
    /// The goroutine of the last record that gave a site (0: none yet; goids start at 1)...
    site_goid: u64,
    /// ...and that site.
    site: u64,
}

impl Cursor {
    /// A chunk's cursor before its first record; `base` is its base tick count.
    pub(crate) fn new(base: u64) -> Cursor {
        Cursor {
            last: base,
            site_goid: 0,
            site: 0,
        }
    }

    /// The tick count of the last record.
    pub(crate) fn last(&self) -> u64 {
        self.last
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

/// Writes `r`, dated `ts`, at `out`, in a chunk whose buffer's own track is `own`; returns the
/// words written.
///
/// # Safety
/// `out` is valid for writing [`MAX_WORDS`] words.
#[inline(always)]
pub(crate) unsafe fn write(out: *mut u64, cur: &mut Cursor, own: Track, ts: u64, r: &Rec) -> usize {
    let mut flags = 0;
    let mut n = 2;
    let mut put = |flag: u64, w: u64| {
        flags |= flag;
        // SAFETY: at most 5 extension words after the 2 of the head: `n` < MAX_WORDS, which
        // the caller guarantees room for.
        unsafe { out.add(n).write(w) };
        n += 1;
    };
    let d = ts.saturating_sub(cur.last);
    cur.last += d;
    let delta = match u32::try_from(d) {
        Ok(d) => d,
        Err(_) => {
            put(F_TS, cur.last);
            0
        }
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
    if is_end(r.kind) && cur.site_goid != r.goid {
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
    if site_is_payload(r.kind) || flags & F_SITE != 0 {
        cur.site_goid = r.goid;
        cur.site = r.site;
    }
    // SAFETY: room for MAX_WORDS (the caller), and the head is 2 of them.
    unsafe {
        out.write(delta as u64 | (payload as u64) << 32);
        out.add(1)
            .write(goid << GOID_SHIFT | flags << KIND_BITS | r.kind as u64);
    }
    n
}

/// Decodes the records of `words` (a chunk's filled words, base tick count `base`, own track
/// `own`) into `out`.
pub(crate) fn read(words: &[u64], base: u64, own: Track, out: &mut Vec<Event>) {
    let mut cur = Cursor::new(base);
    let mut it = words.iter().copied();
    while let (Some(w0), Some(h)) = (it.next(), it.next()) {
        let Some(kind) = Kind::from_bits((h & ((1 << KIND_BITS) - 1)) as u8) else {
            debug_assert!(false, "a trace record of unknown kind {h:#x}");
            return;
        };
        let flags = (h >> KIND_BITS) & ((1 << FLAG_BITS) - 1);
        let mut ext = |flag: u64| (flags & flag != 0).then(|| it.next().unwrap_or(0));
        let ts = ext(F_TS).unwrap_or(cur.last + (w0 & 0xffff_ffff));
        cur.last = ts;
        let payload = (w0 >> 32) as u32;
        let full = ext(F_ARG);
        let (arg, mut site) = if site_is_payload(kind) {
            (0, full.unwrap_or_else(|| site_of_payload(payload)))
        } else {
            (full.unwrap_or(payload as u64), 0)
        };
        let end_site = ext(F_SITE);
        let track = ext(F_TRACK).map_or(own, |t| Track::from_bits(t as u32));
        let goid = ext(F_GOID).unwrap_or(h >> GOID_SHIFT);
        if is_end(kind) {
            debug_assert!(end_site.is_some() || cur.site_goid == goid);
            site = end_site.unwrap_or(cur.site);
        }
        if site_is_payload(kind) || end_site.is_some() {
            cur.site_goid = goid;
            cur.site = site;
        }
        out.push(Event {
            ts,
            goid,
            arg,
            site,
            track,
            kind,
        });
    }
}

/// How many records `words` holds (a full chunk, for the flight recorder's ring).
pub(crate) fn count(words: &[u64]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i + 1 < words.len() {
        let flags = (words[i + 1] >> KIND_BITS) & ((1 << FLAG_BITS) - 1);
        i += 2 + flags.count_ones() as usize;
        n += 1;
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

    /// Writes `recs` (each dated as given) into one chunk from `base`; returns its words and the
    /// words each record took.
    fn write_all(base: u64, own: Track, recs: &[(u64, Rec)]) -> (Vec<u64>, Vec<usize>) {
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

    /// A run slice, its park and a wake-up take two words each (the park's site is the
    /// start's). Kills: the park writing its site again; a site near the anchor not inlined.
    #[test]
    fn the_common_events_are_two_words() {
        let (p0, site) = (Track::p(0), site_here());
        let recs = [
            (110, rec(Kind::GoStart, p0, 7, 0, site)),
            (150, rec(Kind::GoUnpark, p0, 8, 0, 0)),
            (190, rec(Kind::GoPark, p0, 7, 2, site)),
            (200, rec(Kind::GoCreate, p0, 9, 0, site)),
            (210, rec(Kind::GoSched, p0, 9, 0, site)),
        ];
        let (words, sizes) = write_all(100, p0, &recs);
        assert_eq!(sizes, [2, 2, 2, 2, 2]);
        assert_eq!(count(&words), recs.len());
    }

    /// Every flag decodes to what was written. Kills: any field's extension word written or
    /// read out of order; the delta not clamped; a far site or a big goid truncated; an end's
    /// site taken from another goroutine's record.
    #[test]
    fn every_field_round_trips() {
        let (p1, site) = (Track::p(1), site_here());
        let far = 0x7fff_1234_5670_u64; // far from any static: an extension word
        let other = (site ^ far) & !0xffff | 3; // an `Other` wait word: ≥ 2^32
        let big = 1 << 60;
        let recs = [
            (1_000, rec(Kind::GoStart, p1, 7, 0, site)),
            (990, rec(Kind::GoUnpark, p1, 8, 0, 0)), // earlier: clamped to 1_000
            (1_000 + (1 << 33), rec(Kind::GoPark, p1, 7, other, site)), // F_TS, F_ARG
            (1_000 + (1 << 33) + 5, rec(Kind::GoStart, p1, 9, 0, far)), // F_ARG
            (1_000 + (1 << 33) + 6, rec(Kind::GoSyscall, p1, 9, 3, far)),
            (
                1_000 + (1 << 33) + 7,
                rec(Kind::GoSysExit, Track::m(3), 7, 0, site),
            ), // F_SITE, F_TRACK
            (1_000 + (1 << 33) + 8, rec(Kind::GoCreate, p1, big, 0, 0)), // F_ARG (no site), F_GOID
            (1_000 + (1 << 33) + 9, rec(Kind::GoEnd, p1, big, 0, 0)),
            (1_000 + (1 << 33) + 9, rec(Kind::Steal, p1, 4, 0, 0)),
            (
                1_000 + (1 << 33) + 9,
                rec(Kind::Retake, Track::OUTSIDE, 0, 0, 0),
            ),
        ];
        let (words, sizes) = write_all(500, p1, &recs);
        assert_eq!(sizes, [2, 2, 4, 3, 2, 4, 4, 3, 2, 3]);
        assert_eq!(count(&words), recs.len());
        let mut out = Vec::new();
        read(&words, 500, p1, &mut out);
        assert_eq!(out.len(), recs.len());
        for (i, ((ts, r), e)) in recs.iter().zip(&out).enumerate() {
            let ts = if i == 1 { 1_000 } else { *ts };
            assert_eq!(
                (e.ts, e.kind, e.track, e.goid),
                (ts, r.kind, r.track, r.goid),
                "{i}"
            );
            let want_arg = if site_is_payload(r.kind) { 0 } else { r.arg };
            assert_eq!(e.arg, want_arg, "{i}");
            let want_site = if site_is_payload(r.kind) || is_end(r.kind) {
                r.site
            } else {
                0
            };
            assert_eq!(e.site, want_site, "{i}");
        }
    }
}
