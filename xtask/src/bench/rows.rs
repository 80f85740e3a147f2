//! The benchmark rows: each workload, its arguments and its target (shared/BENCH.md).

/// What a row is measured against.
#[derive(Clone, Copy, Debug)]
pub(super) enum Target {
    /// gmp/Go at most this (lower is better).
    RatioAtMost(f64),
    /// gmp/Go at least this (higher is better: throughput).
    RatioAtLeast(f64),
    /// gmp's own value at most this, in the row's unit.
    AtMost(f64),
    /// Completes, with peak RSS at most this many KiB.
    PeakRssAtMost(u64),
}

/// One benchmark row (shared/BENCH.md, plus idle_cpu from issue 2).
#[derive(Debug)]
pub(super) struct Row {
    /// Row name, as printed by the workload in `row=`.
    pub(super) name: &'static str,
    /// The binary: `bench_<bin>` on the gmp side, `<bin>` (directory) on the Go side.
    pub(super) bin: &'static str,
    /// Extra arguments for both sides.
    args: &'static [&'static str],
    /// The target of BENCH.md.
    pub(super) target: Target,
    /// The target as the table shows it.
    pub(super) target_text: &'static str,
}

pub(super) const ROWS: &[Row] = &[
    Row {
        name: "spawn_join",
        bin: "spawn_join",
        args: &[],
        target: Target::RatioAtMost(0.7),
        target_text: "≤ 0.7×",
    },
    Row {
        name: "yield",
        bin: "yield",
        args: &[],
        target: Target::RatioAtMost(0.15),
        target_text: "≤ 0.15×",
    },
    Row {
        name: "spawn_memory",
        bin: "spawn_memory",
        args: &[],
        target: Target::AtMost(512.0),
        target_text: "≤ 512 B",
    },
    Row {
        name: "million",
        bin: "million",
        args: &[],
        target: Target::PeakRssAtMost(1536 * 1024),
        target_text: "completes, RSS ≤ 1.5 GiB",
    },
    Row {
        name: "sleep_timers",
        bin: "sleep_timers",
        args: &[],
        target: Target::RatioAtMost(0.7),
        target_text: "≤ 0.7×",
    },
    Row {
        name: "idle_cpu",
        bin: "idle_cpu",
        args: &[],
        target: Target::AtMost(5.0),
        target_text: "< 5 % of a core",
    },
    Row {
        name: "pingpong",
        bin: "pingpong",
        args: &[],
        target: Target::RatioAtMost(0.5),
        target_text: "≤ 0.5×",
    },
    Row {
        name: "pingpong_p1",
        bin: "pingpong",
        args: &["--procs=1"],
        target: Target::RatioAtMost(0.5),
        target_text: "≤ 0.5×",
    },
    Row {
        name: "chan_mpmc",
        bin: "chan_mpmc",
        args: &[],
        target: Target::RatioAtMost(1.0),
        target_text: "≤ 1.0×",
    },
    Row {
        name: "select4",
        bin: "select4",
        args: &[],
        target: Target::RatioAtMost(0.45),
        target_text: "≤ 0.45×",
    },
    Row {
        name: "skynet",
        bin: "skynet",
        args: &[],
        target: Target::RatioAtMost(0.6),
        target_text: "≤ 0.6×",
    },
    Row {
        name: "parked_memory",
        bin: "parked_memory",
        args: &[],
        target: Target::AtMost(1536.0),
        target_text: "≤ 1,536 B",
    },
    Row {
        name: "wake_parked",
        bin: "wake_parked",
        args: &[],
        target: Target::RatioAtMost(1.5),
        target_text: "≤ 1.5×",
    },
    Row {
        name: "mutex_counter",
        bin: "mutex_counter",
        args: &[],
        target: Target::RatioAtMost(1.0),
        target_text: "≤ 1.0×",
    },
    Row {
        name: "echo_tcp",
        bin: "echo_tcp",
        args: &[],
        target: Target::RatioAtLeast(1.5),
        target_text: "≥ 1.5×",
    },
];

impl Row {
    /// The arguments every side of this row runs with: its own, `--procs` when the bench
    /// sets the Ps (`procs`) and the row does not fix its own, and `--secs` for echo_tcp.
    pub(super) fn workload_args(&self, echo_secs: f64, procs: Option<usize>) -> Vec<String> {
        let mut args: Vec<String> = self.args.iter().map(|s| s.to_string()).collect();
        if let Some(n) = procs {
            if !self.args.iter().any(|a| a.starts_with("--procs")) {
                args.push(format!("--procs={n}"));
            }
        }
        if self.name == "echo_tcp" {
            args.push(format!("--secs={echo_secs}"));
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--procs` reaches every row but the one that fixes its own. Kills: `--procs` dropped,
    /// or overriding pingpong_p1's single P.
    #[test]
    fn procs_reach_every_row_that_does_not_fix_its_own() {
        let row = |n: &str| ROWS.iter().find(|r| r.name == n).unwrap();
        assert_eq!(
            row("skynet").workload_args(10.0, None),
            Vec::<String>::new()
        );
        assert_eq!(row("skynet").workload_args(10.0, Some(8)), ["--procs=8"]);
        assert_eq!(
            row("pingpong_p1").workload_args(10.0, Some(8)),
            ["--procs=1"]
        );
        assert_eq!(
            row("echo_tcp").workload_args(2.5, Some(8)),
            ["--procs=8", "--secs=2.5"]
        );
    }
}
