//! The encoder: recorded events to Chrome trace-event JSON (the format of `chrome://tracing`,
//! read by ui.perfetto.dev), when a trace stops or a flight recorder writes.
//!
//! # From events to records
//!
//! 1. Each buffer's ticks are made non-decreasing (a P moves between Ms, so two cores' clocks
//!    meet in one buffer; they agree, `clock.rs`, but a clamp makes it a guarantee), filtered
//!    to the window, turned into ns since the session's start, and all buffers are merged by
//!    time (a stable sort, so equal times keep their buffer's order).
//! 2. One pass pairs them: a `GoStart` opens a run slice on its P's track and the next end
//!    event of that track (`GoPark`, `GoSched`, `GoEnd`, `GoSyscall`) closes it into one
//!    complete (`"X"`) event, so no `"B"` can lose its `"E"`. (A trace's first events are a
//!    `GoStart` for each goroutine running as it started.) An end whose start fell before the
//!    window (the flight recorder dropped it) becomes a slice from the window's start; a slice
//!    still open at the end closes there.
//!    `GoSyscall`/`GoSysExit` do the same for `syscall` slices on M tracks. A `GoUnpark` is a
//!    flow start (`"s"`) on the waker's track, paired with the wakee's next `GoStart` (the
//!    `"f"`, never dated before the `"s"`); one left unpaired becomes an `unpark` instant.
//! 3. Records are sorted by time (so every track's `ts` is monotone in the file; at equal times
//!    slices first, so what happens at a slice's start is read inside it) and written
//!    after the metadata (`process_name`, then `thread_name` and `thread_sort_index` for
//!    each track: every P, and each M that appears).
//!
//! The flight recorder's byte budget is met by moving the window's start forward until the
//! whole output fits (`write_window`).

use super::buf::{Collected, Event, Kind, TrackOf};
use super::clock::{self, Calibration};
use crate::sched::g::reason_of_word;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::panic::Location;

/// tids: P `k` is `k + 1`, M `k` is `M_TID + k`, and the outside track `OUTSIDE_TID`.
const M_TID: u64 = 1_000_000;
const OUTSIDE_TID: u64 = 2_000_000_000;

fn tid(t: TrackOf) -> u64 {
    match t {
        TrackOf::P(p) => p as u64 + 1,
        TrackOf::M(m) => M_TID + m as u64,
        TrackOf::Outside => OUTSIDE_TID,
    }
}

fn track_name(tid: u64) -> String {
    match tid {
        OUTSIDE_TID => "outside".to_string(),
        t if t >= M_TID => format!("M{}", t - M_TID),
        t => format!("P{}", t - 1),
    }
}

/// One output event, before it is written.
#[derive(Debug, Clone, Copy)]
struct Rec {
    /// ns since the session's start.
    ts: u64,
    tid: u64,
    what: What,
}

#[derive(Debug, Clone, Copy)]
enum What {
    /// A goroutine's run interval on a P; `end` says how it ended.
    Run {
        goid: u64,
        site: u64,
        dur: u64,
        end: &'static str,
    },
    /// A goroutine inside `syscall(f)`, on its M's track.
    Syscall {
        goid: u64,
        dur: u64,
    },
    Park {
        goid: u64,
        /// `G::wait_word`.
        reason: u64,
    },
    Spawn {
        goid: u64,
        site: u64,
    },
    /// An unpark's flow start, waiting for its pair (`id` 0 until paired).
    FlowS {
        id: u64,
        goid: u64,
    },
    FlowF {
        id: u64,
    },
    /// An unpark whose wakee did not run again in the trace.
    Unpark {
        goid: u64,
    },
    Steal {
        goid: u64,
        from: u64,
    },
    Retake,
}

/// An event with its time in ns.
#[derive(Clone, Copy)]
struct Timed {
    /// When it happened, or for an undated event (a wake-up, a spawn) the earliest it can
    /// have happened: the previous dated event of its buffer. Events are ordered by this.
    ns: u64,
    /// `ns` for a dated event; for an undated one, the estimate written (step 2 keeps it no
    /// later than the wakee's or the child's next start).
    est: u64,
    e: Event,
}

/// Step 1's placing of one buffer's events, in ticks: `(earliest, estimate)` of each. A dated
/// event's time is its tick, made non-decreasing; a run of undated ones is spaced evenly
/// between the dated ticks around it (up to `end`, the collection's, after the last), and
/// each is known to be no earlier than the dated tick before it.
fn place(buf: &[Event], end: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(buf.len());
    let mut last = 0;
    let mut i = 0;
    while i < buf.len() {
        if buf[i].dated {
            last = last.max(buf[i].ts);
            out.push((last, last));
            i += 1;
            continue;
        }
        let run = buf[i..].iter().take_while(|e| !e.dated).count();
        // The reader dates an undated event at its chunk's previous dated tick (or its base).
        let lo = last.max(buf[i].ts);
        let hi = buf.get(i + run).map_or(end, |e| e.ts).max(lo);
        for k in 0..run {
            let step = (hi - lo) as u128 * (k as u128 + 1) / (run as u128 + 1);
            out.push((lo, lo + step as u64));
        }
        last = lo;
        i += run;
    }
    out
}

/// Step 1: clamp, place the undated, window, convert, merge.
fn prepare(c: &Collected, cal: &Calibration) -> Vec<Timed> {
    let n = c.bufs.iter().map(Vec::len).sum();
    let mut all = Vec::with_capacity(n);
    for buf in &c.bufs {
        for (e, (t, est)) in buf.iter().zip(place(buf, c.end)) {
            if c.window == 0 || t > c.window {
                all.push(Timed {
                    ns: cal.ns(t),
                    est: cal.ns(est),
                    e: *e,
                });
            }
        }
    }
    all.sort_by_key(|t| t.ns);
    all
}

/// A slice open on a track: since when, whose.
#[derive(Clone, Copy)]
struct Open {
    since: u64,
    goid: u64,
    site: u64,
}

/// A wake-up waiting for its wakee's next run after a park.
#[derive(Clone, Copy)]
struct Pending {
    /// Its `FlowS` in `recs`.
    idx: usize,
    /// Its estimated time (ns).
    est: u64,
}

/// Step 2's state: the records so far and what is open.
struct Pairing {
    recs: Vec<Rec>,
    /// Per track (tid): the slice open there.
    open: HashMap<u64, Open>,
    /// Per track: where its last slice ended (a new one never starts earlier).
    last_end: HashMap<u64, u64>,
    /// Per wakee: its flow starts waiting for its next run after a park.
    pending: HashMap<u64, Vec<Pending>>,
    /// Goroutines whose next run needs no wake-up: spawned, yielded, or in `syscall(f)`
    /// (a goroutine not seen yet, or last seen parking, needs one).
    no_wake: HashSet<u64>,
    /// Per goroutine: its spawn instant and that instant's estimate, until it first runs.
    spawned: HashMap<u64, (usize, u64)>,
    next_flow: u64,
    /// The window's start: slices whose start fell before it begin here.
    start: u64,
}

impl Pairing {
    fn floor(&self, tid: u64) -> u64 {
        self.last_end
            .get(&tid)
            .copied()
            .unwrap_or(self.start)
            .max(self.start)
    }

    fn open(&mut self, tid: u64, at: u64, goid: u64, site: u64) {
        let since = at.max(self.floor(tid));
        self.open.insert(tid, Open { since, goid, site });
    }

    /// Closes the slice open on `tid` at `at` (a run slice that ended `how`, or with `None` a
    /// `syscall` slice). With none open (it started before the window), one from the window's
    /// start, for goroutine `goid` spawned at `site`.
    fn close(&mut self, tid: u64, at: u64, goid: u64, site: u64, how: Option<&'static str>) {
        let floor = self.floor(tid);
        let o = self.open.remove(&tid).unwrap_or(Open {
            since: floor,
            goid,
            site,
        });
        let since = o.since.max(floor).min(at);
        let dur = at - since;
        let what = match how {
            Some(end) => What::Run {
                goid: o.goid,
                site: o.site,
                dur,
                end,
            },
            None => What::Syscall { goid: o.goid, dur },
        };
        self.recs.push(Rec {
            ts: since,
            tid,
            what,
        });
        self.last_end.insert(tid, at);
    }

    /// A run slice of another goroutine is open on `tid`: its end was lost (the session
    /// stopped under it); close it at `at`.
    fn close_other(&mut self, tid: u64, at: u64, goid: u64) {
        if let Some(o) = self.open.get(&tid).copied() {
            if o.goid != goid {
                self.close(tid, at, o.goid, o.site, Some("unknown"));
            }
        }
    }

    fn instant(&mut self, ts: u64, tid: u64, what: What) {
        self.recs.push(Rec { ts, tid, what });
    }

    fn event(&mut self, t: &Timed) {
        let (at, e) = (t.ns, &t.e);
        let tid = tid(e.track.of());
        match e.kind {
            Kind::GoStart => {
                self.close_other(tid, at, e.goid);
                self.open(tid, at, e.goid, e.site);
                if let Some((idx, est)) = self.spawned.remove(&e.goid) {
                    let r = &mut self.recs[idx];
                    r.ts = est.min(at).max(r.ts.min(at));
                }
                if !self.no_wake.remove(&e.goid) {
                    self.woken(tid, at, e.goid);
                }
            }
            Kind::GoPark | Kind::GoSched | Kind::GoEnd | Kind::GoSyscall => {
                match e.kind {
                    Kind::GoPark | Kind::GoEnd => self.no_wake.remove(&e.goid),
                    _ => self.no_wake.insert(e.goid),
                };
                self.close_other(tid, at, e.goid);
                let how = match e.kind {
                    Kind::GoPark => "park",
                    Kind::GoSched => "yield",
                    Kind::GoEnd => "exit",
                    _ => "syscall",
                };
                self.close(tid, at, e.goid, e.site, Some(how));
                if e.kind == Kind::GoPark {
                    let what = What::Park {
                        goid: e.goid,
                        reason: e.arg,
                    };
                    self.instant(at, tid, what);
                } else if e.kind == Kind::GoSyscall {
                    self.open(tid_of_m(e.arg), at, e.goid, e.site);
                }
            }
            Kind::GoSysExit => self.close(tid, at, e.goid, e.site, None),
            Kind::GoUnpark => {
                let w = Pending {
                    idx: self.recs.len(),
                    est: t.est,
                };
                self.pending.entry(e.goid).or_default().push(w);
                self.instant(
                    at,
                    tid,
                    What::FlowS {
                        id: 0,
                        goid: e.goid,
                    },
                );
            }
            Kind::GoCreate => {
                let what = What::Spawn {
                    goid: e.goid,
                    site: e.site,
                };
                self.spawned.insert(e.goid, (self.recs.len(), t.est));
                self.no_wake.insert(e.goid);
                self.instant(at, tid, what);
            }
            Kind::Steal => {
                let what = What::Steal {
                    goid: e.goid,
                    from: e.arg,
                };
                self.instant(at, tid, what);
            }
            Kind::Retake => self.instant(at, tid, What::Retake),
        }
    }

    /// Goroutine `goid` runs on `tid` from `at` after a park: the wake-up that caused it is
    /// the earliest (by its estimate) of those seen so far, all of which are no later than
    /// `at` at the earliest. (Each run after a park has one wake-up; an undated one is known
    /// only to lie in a span of its waker's slice, so when the wakee ran more than once in
    /// that span the estimates tell its wake-ups apart.) The flow's start is its estimate,
    /// but never after `at`.
    fn woken(&mut self, tid: u64, at: u64, goid: u64) {
        let Some(waiting) = self.pending.get_mut(&goid) else {
            return;
        };
        let Some(k) = (0..waiting.len()).min_by_key(|&k| (waiting[k].est, k)) else {
            return;
        };
        let w = waiting.remove(k);
        if waiting.is_empty() {
            self.pending.remove(&goid);
        }
        let id = self.next_flow;
        self.next_flow += 1;
        let s = &mut self.recs[w.idx];
        if let What::FlowS { id: sid, .. } = &mut s.what {
            *sid = id;
        }
        s.ts = w.est.min(at).max(s.ts.min(at));
        let ts = at.max(s.ts);
        self.instant(ts, tid, What::FlowF { id });
    }

    /// Closes what is still open at `end`, turns unpaired flow starts into instants, and
    /// sorts the records by time.
    fn finish(mut self, end: u64) -> Vec<Rec> {
        let mut still: Vec<(u64, Open)> = self.open.drain().collect();
        still.sort_by_key(|(tid, _)| *tid);
        for (tid, o) in still {
            let dur = end.max(o.since) - o.since;
            let what = if is_m_tid(tid) {
                What::Syscall { goid: o.goid, dur }
            } else {
                What::Run {
                    goid: o.goid,
                    site: o.site,
                    dur,
                    end: "running",
                }
            };
            self.recs.push(Rec {
                ts: o.since,
                tid,
                what,
            });
        }
        for w in self.pending.into_values().flatten() {
            let r = &mut self.recs[w.idx];
            if let What::FlowS { goid, .. } = r.what {
                r.what = What::Unpark { goid };
                r.ts = w.est.max(r.ts);
            }
        }
        for (idx, est) in self.spawned.into_values() {
            let r = &mut self.recs[idx];
            r.ts = est.max(r.ts);
        }
        // At equal times a slice comes first, so a flow end or an instant at its start is
        // read inside it.
        self.recs.sort_by_key(|r| {
            (
                r.ts,
                !matches!(r.what, What::Run { .. } | What::Syscall { .. }),
            )
        });
        self.recs
    }
}

/// Step 2: pairs events into records. `start`: the window's start (orphan ends begin there);
/// `end`: where slices still open end.
fn pair(evs: &[Timed], start: u64, end: u64) -> Vec<Rec> {
    let mut p = Pairing {
        recs: Vec::with_capacity(evs.len() + evs.len() / 2),
        open: HashMap::new(),
        last_end: HashMap::new(),
        pending: HashMap::new(),
        no_wake: HashSet::new(),
        spawned: HashMap::new(),
        next_flow: 1,
        start,
    };
    for t in evs {
        p.event(t);
    }
    p.finish(end)
}

fn is_m_tid(tid: u64) -> bool {
    (M_TID..OUTSIDE_TID).contains(&tid)
}

fn tid_of_m(m: u64) -> u64 {
    tid(TrackOf::M(m as usize))
}

/// `12.345`: ns as µs with three decimals.
fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// `s` as a JSON string literal.
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `src/main.rs:12` for a spawn site address (None for 0).
fn site(addr: u64) -> Option<String> {
    let loc = addr as *const Location<'static>;
    // SAFETY: sites are recorded only from `&'static Location` references (`G::spawn_site`).
    let loc = unsafe { loc.as_ref() }?;
    Some(format!("{}:{}", loc.file(), loc.line()))
}

/// Renders one record (no trailing separator).
fn render(r: &Rec, pid: u64, out: &mut String) {
    out.clear();
    let head = |out: &mut String, ph: &str, name: &str, cat: &str| {
        let _ = write!(out, "{{\"ph\":\"{ph}\",\"name\":");
        quote(out, name);
        let _ = write!(
            out,
            ",\"cat\":\"{cat}\",\"pid\":{pid},\"tid\":{},\"ts\":{}",
            r.tid,
            us(r.ts)
        );
    };
    match r.what {
        What::Run {
            goid,
            site: s,
            dur,
            end,
        } => {
            let name = match site(s) {
                Some(s) => format!("G{goid} {s}"),
                None => format!("G{goid}"),
            };
            head(out, "X", &name, "goroutine");
            let _ = write!(
                out,
                ",\"dur\":{},\"args\":{{\"g\":{goid},\"end\":\"{end}\"}}}}",
                us(dur)
            );
        }
        What::Syscall { goid, dur } => {
            head(out, "X", "syscall", "syscall");
            let _ = write!(out, ",\"dur\":{},\"args\":{{\"g\":{goid}}}}}", us(dur));
        }
        What::Park { goid, reason } => {
            head(out, "i", "park", "sched");
            let _ = write!(out, ",\"s\":\"t\",\"args\":{{\"g\":{goid},\"reason\":");
            quote(out, reason_of_word(reason).as_str());
            out.push_str("}}");
        }
        What::Spawn { goid, site: s } => {
            head(out, "i", &format!("spawn G{goid}"), "sched");
            let _ = write!(out, ",\"s\":\"t\",\"args\":{{\"g\":{goid}");
            if let Some(s) = site(s) {
                out.push_str(",\"site\":");
                quote(out, &s);
            }
            out.push_str("}}");
        }
        What::FlowS { id, goid } => {
            head(out, "s", "unpark", "wake");
            let _ = write!(out, ",\"id\":{id},\"args\":{{\"g\":{goid}}}}}");
        }
        What::FlowF { id } => {
            head(out, "f", "unpark", "wake");
            let _ = write!(out, ",\"id\":{id},\"bp\":\"e\"}}");
        }
        What::Unpark { goid } => {
            head(out, "i", "unpark", "wake");
            let _ = write!(out, ",\"s\":\"t\",\"args\":{{\"g\":{goid}}}}}");
        }
        What::Steal { goid, from } => {
            head(out, "i", "steal", "sched");
            let _ = write!(
                out,
                ",\"s\":\"t\",\"args\":{{\"g\":{goid},\"from\":\"P{from}\"}}}}"
            );
        }
        What::Retake => {
            head(out, "i", "retake", "sched");
            out.push_str(",\"s\":\"t\"}");
        }
    }
}

/// The metadata events: the process, and each track of `recs` plus every P.
fn metadata(recs: &[Rec], pid: u64, procs: usize) -> Vec<String> {
    let mut tids: BTreeSet<u64> = recs.iter().map(|r| r.tid).collect();
    tids.extend((0..procs as u64).map(|p| p + 1));
    let mut out = Vec::with_capacity(2 * tids.len() + 1);
    out.push(format!(
        "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"tid\":0,\"args\":{{\"name\":\"gmp runtime {pid}\"}}}}"
    ));
    for (i, t) in tids.into_iter().enumerate() {
        let mut s = format!("{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{t},\"args\":{{\"name\":");
        quote(&mut s, &track_name(t));
        s.push_str("}}");
        out.push(s);
        out.push(format!(
            "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{pid},\"tid\":{t},\"args\":{{\"sort_index\":{i}}}}}"
        ));
    }
    out
}

fn header() -> String {
    format!(
        "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"producer\":\"gmp-core {}\",\"clock\":\"{}\"}},\"traceEvents\":[\n",
        env!("CARGO_PKG_VERSION"),
        clock::name()
    )
}

const FOOTER: &str = "\n]}\n";
const SEP: &str = ",\n";

/// Writes `meta` then `recs` as a whole trace; returns the bytes written.
fn write_all(w: &mut dyn Write, meta: &[String], recs: &[Rec], pid: u64) -> io::Result<usize> {
    let mut n = 0;
    let mut put = |w: &mut dyn Write, s: &str| -> io::Result<()> {
        w.write_all(s.as_bytes())?;
        n += s.len();
        Ok(())
    };
    put(w, &header())?;
    let mut first = true;
    for m in meta {
        if !first {
            put(w, SEP)?;
        }
        first = false;
        put(w, m)?;
    }
    let mut line = String::new();
    for r in recs {
        render(r, pid, &mut line);
        if !first {
            put(w, SEP)?;
        }
        first = false;
        put(w, &line)?;
    }
    put(w, FOOTER)?;
    Ok(n)
}

/// A whole trace (`trace::stop`, a runtime's shutdown). Returns the bytes written.
pub(crate) fn write_trace(c: &Collected, w: &mut dyn Write) -> io::Result<usize> {
    write_trace_with(c, &Calibration::now(c.origin), w)
}

fn write_trace_with(c: &Collected, cal: &Calibration, w: &mut dyn Write) -> io::Result<usize> {
    let evs = prepare(c, cal);
    let start = cal.ns(c.window.max(c.origin));
    let end = cal.ns(c.end).max(evs.last().map_or(0, |t| t.ns));
    let recs = pair(&evs, start, end);
    let meta = metadata(&recs, c.pid, c.procs);
    let mut bw = io::BufWriter::with_capacity(1 << 16, w);
    let n = write_all(&mut bw, &meta, &recs, c.pid)?;
    bw.flush()?;
    Ok(n)
}

/// The newest events that fit in `max_bytes` of JSON, metadata included (the flight
/// recorder). Only the metadata is written, even if larger, when `max_bytes` cannot hold more.
pub(crate) fn write_window(
    c: &Collected,
    max_bytes: usize,
    w: &mut dyn Write,
) -> io::Result<usize> {
    write_window_with(c, &Calibration::now(c.origin), max_bytes, w)
}

fn write_window_with(
    c: &Collected,
    cal: &Calibration,
    max_bytes: usize,
    w: &mut dyn Write,
) -> io::Result<usize> {
    let evs = prepare(c, cal);
    let end = cal.ns(c.end).max(evs.last().map_or(0, |t| t.ns));
    let mut start = cal.ns(c.window.max(c.origin));
    let mut from = 0;
    let fixed = header().len() + FOOTER.len();
    let mut line = String::new();
    loop {
        let recs = pair(&evs[from..], start, end);
        let meta = metadata(&recs, c.pid, c.procs);
        let meta_len: usize = meta.iter().map(|m| m.len() + SEP.len()).sum();
        let sizes: Vec<usize> = recs
            .iter()
            .map(|r| {
                render(r, c.pid, &mut line);
                line.len() + SEP.len()
            })
            .collect();
        let total = fixed + meta_len + sizes.iter().sum::<usize>();
        if total <= max_bytes || recs.is_empty() {
            let mut bw = io::BufWriter::with_capacity(1 << 16, w);
            let n = write_all(&mut bw, &meta, &recs, c.pid)?;
            bw.flush()?;
            return Ok(n);
        }
        // Keep the newest records that fit, and start the window at the oldest of them.
        let budget = max_bytes.saturating_sub(fixed + meta_len);
        let mut keep = 0;
        let mut used = 0;
        for s in sizes.iter().rev() {
            if used + s > budget {
                break;
            }
            used += s;
            keep += 1;
        }
        let cut = recs.len() - keep;
        let new_start = recs.get(cut).map_or(end, |r| r.ts).max(start);
        // Always drop at least one more event, so the loop ends.
        from = evs
            .partition_point(|t| t.ns < new_start)
            .max(from + 1)
            .min(evs.len());
        start = new_start;
    }
}

#[cfg(test)]
mod tests {
    use super::super::buf::Track;
    use super::*;

    fn ev(ts: u64, kind: Kind, track: Track, goid: u64, arg: u64) -> Event {
        Event {
            ts,
            dated: true,
            goid,
            arg,
            site: Location::caller() as *const Location<'static> as u64,
            track,
            kind,
        }
    }

    fn collected(bufs: Vec<Vec<Event>>, window: u64, end: u64) -> Collected {
        Collected {
            bufs,
            origin: 0,
            window,
            end,
            pid: 4,
            procs: 2,
        }
    }

    fn encode(c: &Collected) -> String {
        let mut out = Vec::new();
        write_trace_with(c, &Calibration::identity(0), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn lines_with<'a>(s: &'a str, pat: &str) -> Vec<&'a str> {
        s.lines().filter(|l| l.contains(pat)).collect()
    }

    /// A goroutine that ran when the trace started shows from the trace's start; one still
    /// running at the end shows to the end. Kills: orphan ends dropped; open slices dropped.
    #[test]
    fn slices_cut_by_the_window_are_closed_at_its_edges() {
        let p0 = Track::p(0);
        let c = collected(
            vec![vec![
                ev(
                    2_000,
                    Kind::GoPark,
                    p0,
                    7,
                    crate::sched::g::word_of_reason(crate::WaitReason::Sleep),
                ),
                ev(3_000, Kind::GoStart, p0, 8, 0),
            ]],
            0,
            5_000,
        );
        let s = encode(&c);
        let runs = lines_with(&s, "\"ph\":\"X\"");
        assert_eq!(runs.len(), 2, "{s}");
        assert!(
            runs[0].contains("\"name\":\"G7 ") && runs[0].contains("\"ts\":0.000,\"dur\":2.000")
        );
        assert!(runs[0].contains("\"end\":\"park\""));
        assert!(
            runs[1].contains("\"name\":\"G8 ") && runs[1].contains("\"ts\":3.000,\"dur\":2.000")
        );
        assert!(runs[1].contains("\"end\":\"running\""));
        assert!(s.contains("\"reason\":\"sleep\""));
    }

    /// An undated event: its earliest time is the previous dated tick of its buffer.
    fn undated(prev: u64, kind: Kind, track: Track, goid: u64) -> Event {
        Event {
            dated: false,
            ..ev(prev, kind, track, goid, 0)
        }
    }

    /// Undated events are spaced evenly between the dated ones around them, the last ones up
    /// to the collection's end; dated ones keep their (non-decreasing) time. Kills: undated
    /// events left at their lower bound; a run spaced over the wrong neighbours; the estimate
    /// used as the order.
    #[test]
    fn undated_events_are_placed_between_their_neighbours() {
        let p0 = Track::p(0);
        let buf = vec![
            ev(1_000, Kind::GoStart, p0, 1, 0),
            undated(1_000, Kind::GoUnpark, p0, 2),
            undated(1_000, Kind::GoCreate, p0, 3),
            undated(1_000, Kind::GoUnpark, p0, 4),
            ev(1_400, Kind::GoPark, p0, 1, 0),
            ev(1_300, Kind::GoStart, p0, 5, 0), // a skewed clock: clamped to 1_400
            undated(1_400, Kind::GoUnpark, p0, 6),
        ];
        let placed = place(&buf, 2_000);
        assert_eq!(
            placed,
            [
                (1_000, 1_000),
                (1_000, 1_100),
                (1_000, 1_200),
                (1_000, 1_300),
                (1_400, 1_400),
                (1_400, 1_400),
                (1_400, 1_700),
            ]
        );
    }

    /// Wake-ups pair with the wakee's runs after its parks, one each, told apart by their
    /// estimates: here G2 is woken twice inside one slice of G1's (by G4 on another P, timed,
    /// then by G1, undated, whose earliest time is its slice's start). A run after a yield
    /// takes none; an undated spawn never shows after its child's first start. Kills: pairing
    /// by earliest time (G1's wake-up would take G2's first run); every waiting wake-up paired
    /// with one run; a yield's run taking a wake-up; the estimate left after the wakee's
    /// start; the spawn not clamped.
    #[test]
    fn undated_wakeups_pair_with_the_runs_they_caused() {
        let (p0, p1) = (Track::p(0), Track::p(1));
        let c = collected(
            vec![
                vec![
                    ev(1_000, Kind::GoStart, p0, 1, 0),
                    undated(1_000, Kind::GoCreate, p0, 3),
                    undated(1_000, Kind::GoUnpark, p0, 2),
                    ev(3_000, Kind::GoPark, p0, 1, 0),
                ],
                vec![
                    ev(500, Kind::GoStart, p1, 2, 0),
                    ev(600, Kind::GoPark, p1, 2, 0),
                    ev(1_000, Kind::GoStart, p1, 4, 0),
                    ev(1_100, Kind::GoUnpark, p1, 2, 0), // G4 wakes G2 (timed)
                    ev(1_150, Kind::GoPark, p1, 4, 0),
                    ev(1_200, Kind::GoStart, p1, 2, 0), // G4's wake-up
                    ev(1_300, Kind::GoSched, p1, 2, 0),
                    ev(1_350, Kind::GoStart, p1, 2, 0), // after a yield: no wake-up
                    ev(1_400, Kind::GoPark, p1, 2, 0),
                    ev(2_200, Kind::GoStart, p1, 2, 0), // G1's wake-up
                    ev(2_300, Kind::GoEnd, p1, 2, 0),
                    ev(1_500, Kind::GoStart, p1, 3, 0), // clamped to 2_300 on this track
                    ev(2_400, Kind::GoEnd, p1, 3, 0),
                ],
                vec![],
            ],
            0,
            5_000,
        );
        let s = encode(&c);
        let fs = lines_with(&s, "\"ph\":\"s\"");
        let ff = lines_with(&s, "\"ph\":\"f\"");
        assert_eq!((fs.len(), ff.len()), (2, 2), "{s}");
        let id = |l: &str| {
            l.split("\"id\":")
                .nth(1)
                .unwrap()
                .split([',', '}'])
                .next()
                .unwrap()
                .to_string()
        };
        // G4's timed wake-up at 1.100 and G2's run at 1.200.
        let s4 = fs
            .iter()
            .find(|l| l.contains("\"tid\":2,"))
            .expect("G4's flow start");
        assert!(s4.contains("\"ts\":1.100"), "{s}");
        let f4 = ff
            .iter()
            .find(|l| l.contains("\"ts\":1.200"))
            .expect("its end at 1.200");
        assert_eq!(id(s4), id(f4), "{s}");
        // G1's: estimated at 2.333 (the second of two undated events over 1.000..3.000),
        // clamped to the run it woke, at 2.200.
        let s1 = fs
            .iter()
            .find(|l| l.contains("\"tid\":1,"))
            .expect("G1's flow start");
        assert!(s1.contains("\"ts\":2.200"), "{s}");
        let f1 = ff
            .iter()
            .find(|l| l.contains("\"ts\":2.200"))
            .expect("its end at 2.200");
        assert_eq!(id(s1), id(f1), "{s}");
        // The spawn: estimated at 1.667, before G3's first start at 2.300.
        let spawn = lines_with(&s, "\"name\":\"spawn G3\"");
        assert!(spawn[0].contains("\"ts\":1.666"), "{s}");
    }

    #[test]
    fn flows_pair_waker_and_wakee_and_never_run_backwards() {
        let (p0, p1) = (Track::p(0), Track::p(1));
        let c = collected(
            vec![
                vec![
                    ev(1_000, Kind::GoStart, p0, 1, 0),
                    ev(2_000, Kind::GoUnpark, p0, 2, 1),
                    ev(4_000, Kind::GoUnpark, p0, 3, 1),
                    ev(4_500, Kind::GoPark, p0, 1, 0),
                ],
                vec![
                    ev(500, Kind::GoStart, p1, 2, 0),
                    ev(600, Kind::GoPark, p1, 2, 0),
                    ev(1_990, Kind::GoStart, p1, 2, 0), // a skewed clock: before the unpark
                    ev(3_000, Kind::GoEnd, p1, 2, 0),
                ],
                vec![],
            ],
            0,
            5_000,
        );
        let s = encode(&c);
        let starts = lines_with(&s, "\"ph\":\"s\"");
        let ends = lines_with(&s, "\"ph\":\"f\"");
        // G2's only start after its wake-up at 2.000 is... none: the skewed one is earlier, so
        // the flow stays unpaired (an instant), like the wake-up of G3, which never ran.
        assert!(starts.is_empty() && ends.is_empty(), "{s}");
        assert_eq!(lines_with(&s, "\"name\":\"unpark\"").len(), 2);

        let c = collected(
            vec![
                vec![
                    ev(1_000, Kind::GoStart, p0, 1, 0),
                    ev(2_000, Kind::GoUnpark, p0, 2, 1),
                    ev(2_500, Kind::GoPark, p0, 1, 0),
                ],
                vec![
                    ev(500, Kind::GoStart, p1, 2, 0),
                    ev(600, Kind::GoPark, p1, 2, 0),
                    ev(2_100, Kind::GoStart, p1, 2, 0),
                ],
                vec![],
            ],
            0,
            5_000,
        );
        let s = encode(&c);
        let fs = lines_with(&s, "\"ph\":\"s\"");
        let ff = lines_with(&s, "\"ph\":\"f\"");
        assert_eq!((fs.len(), ff.len()), (1, 1), "{s}");
        assert!(fs[0].contains("\"tid\":1,\"ts\":2.000") && fs[0].contains("\"id\":1"));
        assert!(ff[0].contains("\"tid\":2,\"ts\":2.100") && ff[0].contains("\"id\":1"));
    }

    /// Ticks that run backwards inside a buffer (a P handed between cores) are clamped, so
    /// slices never overlap. Kills: the clamp in `prepare`.
    #[test]
    fn a_buffer_never_runs_backwards() {
        let p0 = Track::p(0);
        let c = collected(
            vec![vec![
                ev(1_000, Kind::GoStart, p0, 1, 0),
                ev(2_000, Kind::GoSched, p0, 1, 0),
                ev(1_999, Kind::GoStart, p0, 2, 0),
                ev(3_000, Kind::GoEnd, p0, 2, 0),
            ]],
            0,
            5_000,
        );
        let s = encode(&c);
        let runs = lines_with(&s, "\"ph\":\"X\"");
        assert!(runs[1].contains("\"ts\":2.000,\"dur\":1.000"), "{s}");
    }

    /// The flight recorder's output never exceeds its budget and keeps the newest events.
    /// Kills: writing everything; keeping the oldest instead.
    #[test]
    fn a_window_fits_its_budget_and_keeps_the_newest() {
        let p0 = Track::p(0);
        let mut buf = Vec::new();
        for i in 0..1000u64 {
            buf.push(ev(i * 10 + 1, Kind::GoCreate, p0, i + 1, 0));
        }
        let c = collected(vec![buf, vec![], vec![]], 0, 20_000);
        for max in [2_000, 10_000, 50_000] {
            let mut out = Vec::new();
            let n = write_window_with(&c, &Calibration::identity(0), max, &mut out).unwrap();
            assert_eq!(n, out.len());
            assert!(n <= max, "{n} > {max}");
            let s = String::from_utf8(out).unwrap();
            assert!(s.contains("\"spawn G1000\""), "the newest is kept");
            assert!(!s.contains("\"spawn G1\""), "the oldest is dropped");
            assert!(n > max * 8 / 10, "{n} bytes of {max}: the budget is used");
        }
    }
}
