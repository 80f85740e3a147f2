//! The quiet-machine gate: the 1-minute load and other compilers running beside the bench.
//!
//! A table taken beside a build is not a measurement (shared/BENCH.md: Go's skynet read 42 s
//! beside a CI build, 0.7 s on a quiet machine). So the harness looks before it starts, when
//! the load is still its own to judge, and before and after each row, when it looks only for
//! other build processes: by then its own build and its own runs have raised the 1-minute
//! load, which says nothing about anyone else. By default noise stops the bench; with
//! `--allow-noise` it goes on and the table says so.
//!
//! The decisions are pure functions over text and process lists; only [`look`] reads `/proc`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;

/// A 1-minute load at or above this is not a quiet machine: half a core busy on average.
pub(super) const LOAD_LIMIT: f64 = 0.5;

/// Process names (`/proc/PID/comm`, which the kernel cuts to 15 bytes) of builds and
/// compilers: Cargo and rustc, C compilers, assemblers and linkers, and Go's driver with
/// its `compile` and `link` tools.
const BUILD_TOOLS: &[&str] = &[
    "cargo",
    "rustc",
    "rustdoc",
    "clippy-driver",
    "cc",
    "c++",
    "gcc",
    "g++",
    "cc1",
    "cc1plus",
    "clang",
    "clang++",
    "as",
    "collect2",
    "ld",
    "ld.bfd",
    "ld.gold",
    "ld.lld",
    "lld",
    "mold",
    "go",
    "compile",
    "link",
];

/// One process: its id, its parent's, and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Proc {
    pub(super) pid: u32,
    pub(super) ppid: u32,
    pub(super) comm: String,
}

/// The 1-minute load from the text of `/proc/loadavg` (`0.42 0.30 0.25 1/123 4567`).
pub(super) fn parse_loadavg(text: &str) -> Result<f64, String> {
    let first = text.split_whitespace().next().unwrap_or("");
    first
        .parse::<f64>()
        .ok()
        .filter(|l| l.is_finite() && *l >= 0.0)
        .ok_or_else(|| {
            format!(
                "cannot read the load from /proc/loadavg (`{}`)",
                text.trim()
            )
        })
}

/// A process from the text of `/proc/PID/stat` (`PID (COMM) STATE PPID ...`). The name may
/// hold spaces and parentheses, so it runs to the *last* `)`.
pub(super) fn parse_stat(text: &str) -> Option<Proc> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_string();
    let mut rest = text[close + 1..].split_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(Proc { pid, ppid, comm })
}

/// Whether a process of this name is a build or a compiler.
pub(super) fn is_build_tool(comm: &str) -> bool {
    BUILD_TOOLS.contains(&comm)
}

/// The harness's own process tree: `own` itself, its ancestors (the `cargo` that ran
/// `cargo xtask`, the shell) and its descendants (a workload, a `go build` it started).
pub(super) fn own_tree(procs: &[Proc], own: u32) -> HashSet<u32> {
    let parents: HashMap<u32, u32> = procs.iter().map(|p| (p.pid, p.ppid)).collect();
    let parent = |pid: u32| parents.get(&pid).copied();
    let mut tree = HashSet::from([own]);
    let mut at = own;
    while let Some(pp) = parent(at) {
        if pp == 0 || !tree.insert(pp) {
            break;
        }
        at = pp;
    }
    for p in procs {
        // Walk up from each process; it is a descendant if the walk reaches `own`.
        let mut seen = HashSet::new();
        let mut at = p.pid;
        while at != 0 && seen.insert(at) {
            if at == own {
                tree.insert(p.pid);
                break;
            }
            match parent(at) {
                Some(pp) => at = pp,
                None => break,
            }
        }
    }
    tree
}

/// What one look at the machine found.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Noise {
    /// The 1-minute load, if this look judged it (only the look at the start does).
    pub(super) load: Option<f64>,
    /// Builds and compilers outside the harness's own process tree, by pid.
    pub(super) builders: Vec<Proc>,
}

impl Noise {
    /// Judges a look: `load` (None: not judged), the processes running, the harness's pid.
    pub(super) fn judge(load: Option<f64>, procs: &[Proc], own: u32) -> Noise {
        let tree = own_tree(procs, own);
        let mut builders: Vec<Proc> = procs
            .iter()
            .filter(|p| is_build_tool(&p.comm) && !tree.contains(&p.pid))
            .cloned()
            .collect();
        builders.sort_by_key(|p| p.pid);
        Noise { load, builders }
    }

    pub(super) fn is_quiet(&self) -> bool {
        self.load.is_none_or(|l| l < LOAD_LIMIT) && self.builders.is_empty()
    }

    /// `load 3.20 at start (cargo pid 1234, rustc pid 1240)`, or `rustc pid 99 before
    /// skynet` for a look that did not judge the load: what was found, `when`.
    pub(super) fn describe(&self, when: &str) -> String {
        let procs: Vec<String> = self
            .builders
            .iter()
            .map(|p| format!("{} pid {}", p.comm, p.pid))
            .collect();
        match (self.load, procs.is_empty()) {
            (Some(l), true) => format!("load {l:.2} {when}"),
            (Some(l), false) => format!("load {l:.2} {when} ({})", procs.join(", ")),
            (None, _) => format!("{} {when}", procs.join(", ")),
        }
    }
}

/// What to do after a look.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    /// The machine is quiet.
    Go,
    /// Noisy, `--allow-noise` given: go on; the warning to print.
    Warn(String),
    /// Noisy: stop; the error.
    Refuse(String),
}

/// The verdict on a look taken `when` (`at start`, `before skynet`).
pub(super) fn verdict(noise: &Noise, when: &str, allow_noise: bool) -> Verdict {
    if noise.is_quiet() {
        return Verdict::Go;
    }
    let what = noise.describe(when);
    if allow_noise {
        Verdict::Warn(format!(
            "WARNING: NOT A QUIET MACHINE: {what}; going on (--allow-noise), \
             the table is marked and its figures are not comparable"
        ))
    } else {
        Verdict::Refuse(format!(
            "bench: not a quiet machine: {what} (the gate wants a 1-minute load below \
             {LOAD_LIMIT} and no other cargo, rustc, cc, ld or go running). Wait for it to \
             finish, or pass --allow-noise to measure anyway (the table is then marked as \
             not comparable)"
        ))
    }
}

/// The line above the table when any look was noisy: each noisy look with when it was
/// taken. None: every look was quiet.
pub(super) fn banner(looks: &[(String, Noise)]) -> Option<String> {
    let noisy: Vec<String> = looks
        .iter()
        .filter(|(_, n)| !n.is_quiet())
        .map(|(when, n)| n.describe(when))
        .collect();
    if noisy.is_empty() {
        return None;
    }
    let mut line = String::from("**NOT A QUIET MACHINE: ");
    let _ = write!(
        line,
        "{} — figures are not comparable** (rows measured beside other builds are marked ⚠)",
        noisy.join("; ")
    );
    Some(line)
}

/// The 1-minute load now.
pub(super) fn read_load() -> Result<f64, String> {
    let text = fs::read_to_string("/proc/loadavg")
        .map_err(|e| format!("cannot read /proc/loadavg: {e}"))?;
    parse_loadavg(&text)
}

/// Every process `/proc` shows now (those that vanish while it is read are left out).
fn read_procs() -> Vec<Proc> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|s| parse_stat(&s))
        .collect()
}

/// Looks at the machine now; `with_load` judges the 1-minute load too (only at the start).
pub(super) fn look(with_load: bool) -> Result<Noise, String> {
    let load = if with_load { Some(read_load()?) } else { None };
    Ok(Noise::judge(load, &read_procs(), std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, ppid: u32, comm: &str) -> Proc {
        Proc {
            pid,
            ppid,
            comm: comm.into(),
        }
    }

    #[test]
    fn reads_loadavg_and_stat() {
        assert_eq!(parse_loadavg("0.42 0.30 0.25 1/123 4567\n"), Ok(0.42));
        assert_eq!(parse_loadavg("3.20 1 1 1/1 1"), Ok(3.2));
        assert!(parse_loadavg("")
            .unwrap_err()
            .contains("cannot read the load"));
        assert!(parse_loadavg("x 1 1").is_err());
        assert!(parse_loadavg("-1 1 1").is_err());
        assert_eq!(
            parse_stat("1234 (cargo) S 99 1234 99 0 -1 4194560 ..."),
            Some(p(1234, 99, "cargo"))
        );
        // A name with spaces and parentheses runs to the last `)`.
        assert_eq!(parse_stat("7 (a (b) c) R 1 7 7"), Some(p(7, 1, "a (b) c")));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("7 (x) R"), None);
    }

    #[test]
    fn knows_builds_from_other_programs() {
        for c in [
            "cargo", "rustc", "cc", "cc1", "ld", "ld.lld", "go", "compile", "link",
        ] {
            assert!(is_build_tool(c), "{c}");
        }
        for c in [
            "bash",
            "bench_skynet",
            "skynet",
            "xtask",
            "sshd",
            "gopls",
            "cargo-xtask",
        ] {
            assert!(!is_build_tool(c), "{c}");
        }
    }

    #[test]
    fn own_tree_is_self_ancestors_and_descendants() {
        // init 1 → bash 10 → cargo 20 → xtask 30 → go 40 → compile 41; another cargo 50.
        let procs = [
            p(1, 0, "init"),
            p(10, 1, "bash"),
            p(20, 10, "cargo"),
            p(30, 20, "xtask"),
            p(40, 30, "go"),
            p(41, 40, "compile"),
            p(50, 1, "cargo"),
            p(51, 50, "rustc"),
        ];
        let tree = own_tree(&procs, 30);
        let mut v: Vec<u32> = tree.into_iter().collect();
        v.sort();
        assert_eq!(v, [1, 10, 20, 30, 40, 41]);
        // A cycle in a (racy) snapshot does not hang.
        let cyc = [p(5, 6, "a"), p(6, 5, "b"), p(30, 5, "xtask")];
        assert!(own_tree(&cyc, 30).contains(&30));
    }

    #[test]
    fn gate_ignores_its_own_cargo_but_not_another() {
        let procs = [
            p(1, 0, "init"),
            p(20, 1, "cargo"),
            p(30, 20, "xtask"),
            p(31, 30, "bench_skynet"),
        ];
        let quiet = Noise::judge(Some(0.1), &procs, 30);
        assert!(quiet.is_quiet(), "{quiet:?}");
        assert_eq!(verdict(&quiet, "at start", false), Verdict::Go);

        let mut busy = procs.to_vec();
        busy.push(p(1234, 1, "cargo"));
        busy.push(p(1240, 1234, "rustc"));
        let noise = Noise::judge(Some(0.1), &busy, 30);
        assert!(!noise.is_quiet());
        assert_eq!(
            noise.describe("at start"),
            "load 0.10 at start (cargo pid 1234, rustc pid 1240)"
        );
        let Verdict::Refuse(e) = verdict(&noise, "at start", false) else {
            panic!("a build beside the bench must refuse");
        };
        assert!(
            e.contains("load 0.10 at start (cargo pid 1234, rustc pid 1240)"),
            "{e}"
        );
        assert!(e.contains("--allow-noise"), "{e}");
        let Verdict::Warn(w) = verdict(&noise, "at start", true) else {
            panic!("--allow-noise must go on");
        };
        assert!(
            w.contains("NOT A QUIET MACHINE") && w.contains("rustc pid 1240"),
            "{w}"
        );
    }

    #[test]
    fn gate_refuses_a_loaded_machine_and_names_the_load() {
        let procs = [p(30, 1, "xtask")];
        assert!(Noise::judge(Some(0.49), &procs, 30).is_quiet());
        let loaded = Noise::judge(Some(0.5), &procs, 30);
        assert!(!loaded.is_quiet(), "a load of exactly 0.5 is not quiet");
        let Verdict::Refuse(e) = verdict(&loaded, "at start", false) else {
            panic!("load 0.5 must refuse");
        };
        assert!(e.contains("load 0.50 at start"), "{e}");
        // Later looks do not judge the load (the bench's own runs raise it).
        let later = Noise::judge(None, &procs, 30);
        assert!(later.is_quiet());
        let build = Noise::judge(None, &[p(30, 1, "xtask"), p(7, 1, "go")], 30);
        assert_eq!(build.describe("before skynet"), "go pid 7 before skynet");
    }

    #[test]
    fn look_reads_proc_and_spares_its_own_ancestors() {
        // Under `cargo test` this process's ancestors include a `cargo`: never reported.
        let procs = read_procs();
        let own = std::process::id();
        assert!(
            procs.iter().any(|p| p.pid == own),
            "own pid {own} not in /proc"
        );
        let tree = own_tree(&procs, own);
        let noise = look(true).unwrap();
        assert!(noise.load.is_some());
        assert!(
            noise.builders.iter().all(|b| !tree.contains(&b.pid)),
            "{noise:?}"
        );
    }

    #[test]
    fn banner_names_each_noisy_look_or_is_absent() {
        let quiet = Noise {
            load: Some(0.1),
            builders: vec![],
        };
        assert_eq!(banner(&[("at start".into(), quiet.clone())]), None);
        let start = Noise {
            load: Some(3.2),
            builders: vec![p(1234, 1, "cargo")],
        };
        let row = Noise {
            load: None,
            builders: vec![p(99, 1, "rustc")],
        };
        let b = banner(&[
            ("at start".into(), start),
            ("before yield".into(), quiet),
            ("before skynet".into(), row),
        ])
        .unwrap();
        assert_eq!(
            b,
            "**NOT A QUIET MACHINE: load 3.20 at start (cargo pid 1234); rustc pid 99 before \
             skynet — figures are not comparable** (rows measured beside other builds are \
             marked ⚠)"
        );
    }
}
