//! A checker of Chrome trace-event JSON as `gmp_core::trace` writes it: a small JSON parser
//! (no serde in gmp-core's dependencies) and a validator of the format's rules and of the
//! names API.md fixes. Used by `rt_trace.rs`.
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap};

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn num(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }
}

/// Parses `s` as one JSON value (RFC 8259), or says where it is not JSON.
pub fn parse(s: &str) -> Result<Json, String> {
    let mut p = Parser {
        b: s.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        let from = self.i.saturating_sub(40);
        let to = (self.i + 40).min(self.b.len());
        format!(
            "{what} at byte {}: ...{}...",
            self.i,
            String::from_utf8_lossy(&self.b[from..to])
        )
    }
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected `{}`", c as char)))
        }
    }
    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            _ => Err(self.err("expected a value")),
        }
    }
    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.b[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.err("bad literal"))
        }
    }
    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.i < p.b.len() && p.b[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i > s
        };
        if self.b.get(self.i) == Some(&b'0') {
            self.i += 1;
        } else if !digits(self) {
            return Err(self.err("bad number"));
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("bad fraction"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("bad exponent"));
            }
        }
        let s = std::str::from_utf8(&self.b[start..self.i]).unwrap();
        s.parse().map(Json::Num).map_err(|_| self.err("bad number"))
    }
    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = String::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or_else(|| self.err("bad escape"))?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hex = self
                                .b
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or_else(|| self.err("bad \\u escape"))?;
                            self.i += 4;
                            out.push(char::from_u32(hex).unwrap_or('\u{fffd}'));
                        }
                        _ => return Err(self.err("bad escape")),
                    }
                }
                c if c < 0x20 => return Err(self.err("control character in a string")),
                _ => {
                    // Copy the whole UTF-8 sequence.
                    let start = self.i - 1;
                    let mut end = self.i;
                    while end < self.b.len() && (self.b[end] & 0xC0) == 0x80 {
                        end += 1;
                    }
                    out.push_str(
                        std::str::from_utf8(&self.b[start..end])
                            .map_err(|_| self.err("bad UTF-8"))?,
                    );
                    self.i = end;
                }
            }
        }
    }
    fn array(&mut self) -> Result<Json, String> {
        self.eat(b'[')?;
        let mut v = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Arr(v));
        }
        loop {
            v.push(self.value()?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Arr(v));
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }
    fn object(&mut self) -> Result<Json, String> {
        self.eat(b'{')?;
        let mut kv = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Obj(kv));
        }
        loop {
            self.ws();
            let k = self.string()?;
            self.eat(b':')?;
            let v = self.value()?;
            if kv.iter().any(|(k2, _)| *k2 == k) {
                return Err(self.err(&format!("duplicate key `{k}`")));
            }
            kv.push((k, v));
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Obj(kv));
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }
}

/// One trace event, its common fields pulled out.
#[derive(Debug, Clone)]
pub struct Ev {
    pub ph: String,
    pub name: String,
    pub pid: u64,
    pub tid: u64,
    /// µs.
    pub ts: f64,
    pub dur: f64,
    pub id: Option<u64>,
    pub cat: String,
    pub raw: Json,
}

impl Ev {
    pub fn arg(&self, key: &str) -> Option<&Json> {
        self.raw.get("args")?.get(key)
    }
    pub fn arg_u64(&self, key: &str) -> Option<u64> {
        self.arg(key)?.num().map(|n| n as u64)
    }
    pub fn arg_str(&self, key: &str) -> Option<&str> {
        self.arg(key)?.str()
    }
    /// Whether this `"X"` slice holds time `ts` (its ends included).
    pub fn holds(&self, ts: f64) -> bool {
        self.ph == "X" && self.ts <= ts && ts <= self.ts + self.dur
    }
}

/// A validated trace.
#[derive(Debug)]
pub struct Trace {
    /// Every non-metadata event, in file order.
    pub events: Vec<Ev>,
    /// Track names by (pid, tid), from `thread_name` metadata.
    pub tracks: BTreeMap<(u64, u64), String>,
    /// The trace's size in bytes.
    pub bytes: usize,
}

impl Trace {
    pub fn track(&self, e: &Ev) -> &str {
        &self.tracks[&(e.pid, e.tid)]
    }
    pub fn named(&self, name: &str) -> impl Iterator<Item = &Ev> + '_ {
        let name = name.to_string();
        self.events.iter().filter(move |e| e.name == name)
    }
    pub fn slices(&self) -> impl Iterator<Item = &Ev> + '_ {
        self.events.iter().filter(|e| e.ph == "X")
    }
    /// The `"X"` slice on `e`'s track that holds `e`'s time, if any (the innermost).
    pub fn enclosing(&self, e: &Ev) -> Option<&Ev> {
        self.slices()
            .filter(|s| s.pid == e.pid && s.tid == e.tid && s.holds(e.ts))
            .min_by(|a, b| a.dur.total_cmp(&b.dur))
    }
    /// The run slices of goroutine `g`.
    pub fn runs_of(&self, g: u64) -> Vec<&Ev> {
        let prefix = format!("G{g} ");
        self.slices()
            .filter(|s| s.name.starts_with(&prefix))
            .collect()
    }
    /// Flow pairs `(s, f)` by id.
    pub fn flows(&self) -> Vec<(&Ev, &Ev)> {
        let starts: HashMap<u64, &Ev> = self
            .events
            .iter()
            .filter(|e| e.ph == "s")
            .map(|e| (e.id.unwrap(), e))
            .collect();
        self.events
            .iter()
            .filter(|e| e.ph == "f")
            .map(|f| (starts[&f.id.unwrap()], f))
            .collect()
    }
}

fn is_track_name(n: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    n == "outside" || n.strip_prefix('P').is_some_and(num) || n.strip_prefix('M').is_some_and(num)
}

/// `G7 src/main.rs:12`: a goroutine id, a space, a file, a colon, a line.
pub fn is_run_name(n: &str) -> bool {
    let Some(rest) = n.strip_prefix('G') else {
        return false;
    };
    let Some((id, site)) = rest.split_once(' ') else {
        return false;
    };
    let Some((file, line)) = site.rsplit_once(':') else {
        return false;
    };
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && !file.is_empty()
        && !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
}

/// Parses and checks `json` against the trace-event format's rules and API.md's names;
/// panics with the rule broken.
pub fn validate(json: &str) -> Trace {
    let top = parse(json).unwrap_or_else(|e| panic!("not JSON: {e}"));
    let Some(Json::Arr(list)) = top.get("traceEvents") else {
        panic!("no traceEvents array");
    };
    let mut tracks = BTreeMap::new();
    let mut events = Vec::new();
    let mut pids = std::collections::BTreeSet::new();
    let num = |e: &Json, k: &str| -> Option<f64> { e.get(k).and_then(Json::num) };
    for e in list {
        let ph = e
            .get("ph")
            .and_then(Json::str)
            .expect("every event has a ph");
        let name = e
            .get("name")
            .and_then(Json::str)
            .expect("every event has a name");
        let pid = num(e, "pid").expect("every event has a pid") as u64;
        let tid = num(e, "tid").expect("every event has a tid") as u64;
        if ph == "M" {
            let arg = e.get("args").expect("metadata has args");
            match name {
                "thread_name" => {
                    let n = arg.get("name").and_then(Json::str).expect("a thread name");
                    assert!(
                        is_track_name(n),
                        "track name `{n}` is not P<n>, M<n> or outside"
                    );
                    if let Some(old) = tracks.insert((pid, tid), n.to_string()) {
                        panic!("track {pid}/{tid} named twice: {old}, {n}");
                    }
                }
                "process_name" => {
                    pids.insert(pid);
                }
                "thread_sort_index" => {
                    assert!(arg.get("sort_index").and_then(Json::num).is_some());
                }
                other => panic!("unexpected metadata `{other}`"),
            }
            assert!(e.get("ts").is_none() || events.is_empty());
            continue;
        }
        let ts = num(e, "ts").unwrap_or_else(|| panic!("{name}: no ts"));
        assert!(ts >= 0.0, "{name}: negative ts");
        let dur = match ph {
            "X" => {
                let d = num(e, "dur").unwrap_or_else(|| panic!("{name}: an X without dur"));
                assert!(d >= 0.0, "{name}: negative dur");
                d
            }
            _ => 0.0,
        };
        let cat = e.get("cat").and_then(Json::str).unwrap_or("").to_string();
        events.push(Ev {
            ph: ph.to_string(),
            name: name.to_string(),
            pid,
            tid,
            ts,
            dur,
            id: num(e, "id").map(|n| n as u64),
            cat,
            raw: e.clone(),
        });
    }
    // pid/tid consistent with the metadata.
    for e in &events {
        assert!(
            tracks.contains_key(&(e.pid, e.tid)),
            "{} `{}` on track {}/{} that no thread_name names",
            e.ph,
            e.name,
            e.pid,
            e.tid
        );
        assert!(pids.contains(&e.pid), "pid {} has no process_name", e.pid);
    }
    // Per track: ts monotone, slices nested or disjoint, every B has its E.
    let mut by_track: BTreeMap<(u64, u64), Vec<&Ev>> = BTreeMap::new();
    for e in &events {
        by_track.entry((e.pid, e.tid)).or_default().push(e);
    }
    for (t, evs) in &by_track {
        let mut last = f64::MIN;
        let mut open_x: Vec<f64> = Vec::new(); // ends of enclosing X slices
        let mut open_b: Vec<&str> = Vec::new();
        for e in evs {
            assert!(
                e.ts >= last,
                "track {t:?}: ts goes back at `{}` ({} < {last})",
                e.name,
                e.ts
            );
            last = e.ts;
            // Times are whole ns written as µs: compare them to within a rounding error (a
            // slice that starts where the last one ended, at one tick, abuts it).
            while open_x.last().is_some_and(|&end| end <= e.ts + 1e-6) {
                open_x.pop();
            }
            match e.ph.as_str() {
                "X" => {
                    if let Some(&end) = open_x.last() {
                        assert!(
                            e.ts + e.dur <= end + 1e-6,
                            "track {t:?}: slice `{}` at {} overlaps its neighbour ending at {end}",
                            e.name,
                            e.ts
                        );
                    }
                    open_x.push(e.ts + e.dur);
                }
                "B" => open_b.push(&e.name),
                "E" => {
                    assert!(open_b.pop().is_some(), "track {t:?}: an E without its B");
                }
                "i" | "I" => {
                    let s = e.raw.get("s").and_then(Json::str).unwrap_or("t");
                    assert!(["t", "p", "g"].contains(&s), "bad instant scope {s}");
                }
                "s" | "f" => {}
                other => panic!("unexpected ph `{other}`"),
            }
        }
        assert!(open_b.is_empty(), "track {t:?}: B without E: {open_b:?}");
    }
    // Flows: each s has exactly one f with its id, name and cat; the f is not earlier.
    let mut starts: HashMap<u64, &Ev> = HashMap::new();
    for e in events.iter().filter(|e| e.ph == "s") {
        let id = e.id.expect("a flow start has an id");
        assert!(starts.insert(id, e).is_none(), "flow id {id} started twice");
    }
    let mut ended = std::collections::HashSet::new();
    for f in events.iter().filter(|e| e.ph == "f") {
        let id = f.id.expect("a flow end has an id");
        let s = starts
            .get(&id)
            .unwrap_or_else(|| panic!("flow end {id} without a start"));
        assert!(ended.insert(id), "flow {id} ended twice");
        assert_eq!(
            (&s.name, &s.cat),
            (&f.name, &f.cat),
            "flow {id}'s ends differ"
        );
        assert!(
            f.ts >= s.ts,
            "flow {id} ends at {} before it starts at {}",
            f.ts,
            s.ts
        );
    }
    assert_eq!(ended.len(), starts.len(), "flows started but never ended");
    // API.md's names.
    for e in &events {
        let track = &tracks[&(e.pid, e.tid)];
        match (e.ph.as_str(), e.name.as_str()) {
            ("X", "syscall") => assert!(track.starts_with('M'), "a syscall slice on {track}"),
            ("X", n) => {
                assert!(is_run_name(n), "run slice named `{n}`");
                assert!(track.starts_with('P'), "run slice `{n}` on {track}");
            }
            ("i", "park") => {
                let r = e.arg_str("reason").unwrap_or("");
                assert!(!r.is_empty(), "a park without its reason");
                assert!(e.arg_u64("g").is_some());
            }
            ("i", n) if n.starts_with("spawn G") => {
                let id: u64 = n["spawn G".len()..].parse().expect("spawn G<id>");
                assert_eq!(e.arg_u64("g"), Some(id));
            }
            ("i", "steal") => assert!(e.arg_str("from").is_some_and(|p| p.starts_with('P'))),
            ("i", "retake") => assert!(track.starts_with('P')),
            ("i", "unpark") | ("s", "unpark") | ("f", "unpark") => {}
            (ph, n) => panic!("unexpected event {ph} `{n}`"),
        }
    }
    Trace {
        events,
        tracks,
        bytes: json.len(),
    }
}

#[test]
fn the_parser_reads_json_and_rejects_what_is_not() {
    let v = parse(r#"{"a":[1,-2.5e3,true,null,"x\"\u00e9y"],"b":{}}"#).unwrap();
    assert_eq!(
        v.get("a").unwrap(),
        &Json::Arr(vec![
            Json::Num(1.0),
            Json::Num(-2500.0),
            Json::Bool(true),
            Json::Null,
            Json::Str("x\"éy".into()),
        ])
    );
    for bad in [
        "{",
        "[1,]",
        "{\"a\" 1}",
        "01",
        "\"\n\"",
        "[1] x",
        "{\"a\":1,\"a\":2}",
    ] {
        assert!(parse(bad).is_err(), "{bad} parsed");
    }
}
