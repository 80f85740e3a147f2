//! The trace clock: raw ticks on the hot path, nanoseconds since the session's start when the
//! trace is encoded (Go: `traceClockNow`, `cputicks`).
//!
//! Each event reads the clock once, so its cost is the tracer's. Two clocks:
//!
//! - **TSC** (x86_64 only): `rdtsc`, a few ns, no system call, no vDSO. Used only when the
//!   kernel itself chose the TSC as its clocksource
//!   (`/sys/devices/system/clocksource/clocksource0/current_clocksource` reads `tsc`): the
//!   kernel does so only after checking that the TSC runs at a constant rate, does not stop in
//!   idle states and is synchronised across CPUs, which is what the trace needs (a wake-up's
//!   arrow must not end before it starts, and an event recorded on one CPU must not be dated
//!   before one recorded earlier on another). The tick rate is measured against
//!   `Instant` over the whole time since the process first traced (two reads of each clock,
//!   one at that start and one when a trace is encoded), so its error is the clocks' read
//!   jitter (tens of ns) over that span: below 0.01% after a millisecond.
//! - **Monotonic**: `Instant::now()` (Linux: `clock_gettime(CLOCK_MONOTONIC)` through the
//!   vDSO, 20–30 ns), everywhere else, and on VMs whose kernel distrusts the TSC (`kvm-clock`,
//!   `hpet`).
//!
//! The choice is made once per process, at the first `start`. Ticks are stored raw; only the
//! encoder turns them into time (`Calibration`), so the hot path does no arithmetic.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Instant;

/// [`KIND`]: not chosen yet (no trace was ever started in this process).
const UNDECIDED: u8 = 0;
/// [`KIND`]: `rdtsc`.
const TSC: u8 = 1;
/// [`KIND`]: `Instant::now()`, as ns since [`BASE`].
const MONOTONIC: u8 = 2;

/// Which clock the process traces with.
///
/// | value       | meaning                                  | moved out by                     |
/// |-------------|------------------------------------------|----------------------------------|
/// | `UNDECIDED` | no trace started yet                     | the first [`init`] → `TSC` or `MONOTONIC` |
/// | `TSC`       | ticks are `rdtsc` values                  | never                            |
/// | `MONOTONIC` | ticks are ns since [`BASE`]               | never                            |
///
/// A plain std atomic, not the loom facade's: loom models never trace, and a static cannot
/// hold a loom atomic.
static KIND: AtomicU8 = AtomicU8::new(UNDECIDED);

/// Both clocks read together at the first [`init`]: the origin of `MONOTONIC` ticks and the
/// first point of the TSC's rate measurement.
static BASE: OnceLock<(Instant, u64)> = OnceLock::new();

/// Chooses the clock (once per process). Called by every session start, before any event.
pub(crate) fn init() {
    BASE.get_or_init(|| {
        let kind = if tsc_is_trusted() { TSC } else { MONOTONIC };
        KIND.store(kind, Relaxed);
        read_both()
    });
}

/// The clock's name, for the trace's `otherData`.
pub(crate) fn name() -> &'static str {
    match KIND.load(Relaxed) {
        TSC => "tsc",
        _ => "monotonic",
    }
}

/// Now, in raw ticks. Valid after [`init`].
#[inline(always)]
pub(crate) fn ticks() -> u64 {
    if KIND.load(Relaxed) == TSC {
        rdtsc()
    } else {
        monotonic_ns()
    }
}

/// Out of line: the hooks inline [`ticks`], and this is the TSC's fallback.
#[inline(never)]
fn monotonic_ns() -> u64 {
    let base = BASE.get().map_or_else(Instant::now, |b| b.0);
    base.elapsed().as_nanos() as u64
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[allow(unused_unsafe)] // `_rdtsc` is a safe function in newer Rusts, an `unsafe fn` in 1.85
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86_64 CPU and only reads the time-stamp counter (the
    // kernel lets user space read it whenever it uses it as its clocksource, `tsc_is_trusted`).
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn rdtsc() -> u64 {
    monotonic_ns()
}

/// Whether the kernel uses the TSC as its clocksource (so it found it stable and synchronised).
fn tsc_is_trusted() -> bool {
    cfg!(target_arch = "x86_64")
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc")
}

/// `Instant::now()` and the raw ticks at (about) the same moment: the ticks are read on both
/// sides of the `Instant` and averaged.
fn read_both() -> (Instant, u64) {
    if KIND.load(Relaxed) != TSC {
        let now = Instant::now();
        let base = BASE.get().map_or(now, |b| b.0);
        return (now, now.saturating_duration_since(base).as_nanos() as u64);
    }
    let a = rdtsc();
    let now = Instant::now();
    let b = rdtsc();
    (now, a + (b.wrapping_sub(a)) / 2)
}

/// Turns raw ticks into nanoseconds since a session's start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calibration {
    /// The session's start, in ticks.
    origin: u64,
    /// Nanoseconds per tick.
    ns_per_tick: f64,
}

impl Calibration {
    /// For a session that started at tick `origin`, measured now.
    pub(crate) fn now(origin: u64) -> Calibration {
        let ns_per_tick = match (KIND.load(Relaxed), BASE.get()) {
            (TSC, Some(&(i0, t0))) => {
                let (i1, t1) = read_both();
                let ns = i1.saturating_duration_since(i0).as_nanos() as f64;
                let ticks = t1.saturating_sub(t0) as f64;
                if ticks > 0.0 && ns > 0.0 {
                    ns / ticks
                } else {
                    1.0
                }
            }
            _ => 1.0,
        };
        Calibration {
            origin,
            ns_per_tick,
        }
    }

    /// A calibration where ticks are nanoseconds (the encoder's tests).
    #[cfg(test)]
    pub(crate) fn identity(origin: u64) -> Calibration {
        Calibration {
            origin,
            ns_per_tick: 1.0,
        }
    }

    /// Nanoseconds from the session's start to `ticks` (0 for anything earlier).
    pub(crate) fn ns(&self, ticks: u64) -> u64 {
        let d = ticks.saturating_sub(self.origin);
        if self.ns_per_tick == 1.0 {
            d
        } else {
            (d as f64 * self.ns_per_tick) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_advance_with_time_and_calibrate_to_nanoseconds() {
        init();
        let t0 = ticks();
        let start = Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let t1 = ticks();
        let wall = start.elapsed().as_nanos() as u64;
        let c = Calibration::now(t0);
        let ns = c.ns(t1);
        // Within 10% of the wall clock (`rdtsc` and `Instant` read at slightly other moments).
        assert!(
            ns > wall * 9 / 10 && ns < wall * 11 / 10,
            "{ns} ns vs {wall} ns"
        );
        assert_eq!(
            c.ns(t0.saturating_sub(1)),
            0,
            "earlier than the origin clamps to 0"
        );
    }
}
