//! The `time` capability: the wall clock and a per-run monotonic clock,
//! the system's or a fixed one that steps on each reading.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Linker};

use tape_rt::{Capability, Error, Function, Spec, State};

/// Clocks for the guest: the time of day and a stopwatch, in nanoseconds.
///
/// | import | signature | meaning |
/// |---|---|---|
/// | `time.now` | `(result i64)` | wall-clock time, in nanoseconds since 1970-01-01 00:00 UTC (negative before it) |
/// | `time.monotonic` | `(result i64)` | nanoseconds since the run started; never goes back |
///
/// Neither can fail, so neither returns a status. Every time value is an
/// `i64` of nanoseconds, which reaches to the year 2262.
///
/// [`Time::fixed`] makes runs reproducible: the clock starts at a chosen
/// instant in every run and each reading — of either function — moves it
/// on by a fixed step. The `n`-th reading of a run (from 0) sees
/// `start + n × step` from `now` and `n × step` from `monotonic`.
///
/// ```wat
/// ;; Time some work, in nanoseconds.
/// (func $run (result i32)
///   (local $start i64) (local $took i64)
///   (local.set $start (call $time.monotonic))
///   ;; … work …
///   (local.set $took (i64.sub (call $time.monotonic) (local.get $start)))
///   (i32.const 0))
/// ```
///
/// ```
/// use std::time::Duration;
/// use tape_caps::Time;
/// use tape_rt::Grants;
///
/// let live = Grants::new().grant(Time::system());
/// let reproducible = Grants::new().grant(Time::fixed(1_700_000_000_000_000_000, Duration::from_millis(1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    clock: Clock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    System,
    Fixed { start: i64, step: i64 },
}

impl Time {
    /// The host's clocks.
    pub fn system() -> Time {
        Time {
            clock: Clock::System,
        }
    }

    /// A deterministic clock: every run starts at `start_unix_nanos`
    /// (nanoseconds since the Unix epoch) and each reading advances it by
    /// `step` (at most about 292 years).
    pub fn fixed(start_unix_nanos: i64, step: Duration) -> Time {
        Time {
            clock: Clock::Fixed {
                start: start_unix_nanos,
                step: i64::try_from(step.as_nanos()).unwrap_or(i64::MAX),
            },
        }
    }
}

/// One run's clock.
#[derive(Debug)]
struct TimeRun {
    started: Instant,
    readings: i64,
}

impl TimeRun {
    /// How far the deterministic clock has moved, counting this reading.
    fn tick(&mut self, step: i64) -> i64 {
        let elapsed = self.readings.saturating_mul(step);
        self.readings = self.readings.saturating_add(1);
        elapsed
    }
}

/// Where a deterministic clock starts when the manifest does not say:
/// 2000-01-01T00:00:00Z, in nanoseconds since the Unix epoch.
pub const DETERMINISTIC_START: i64 = 946_684_800_000_000_000;

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(NAME, DESCRIPTION, FUNCTIONS);

const FUNCTIONS: &[Function] = &[
    Function::new("now", "(result i64)")
        .roles("-> num")
        .doc("Wall-clock time in nanoseconds since 1970-01-01 00:00 UTC (negative before it).\n\n```wat\n(func $run (result i32)\n  ;; seconds since 1970\n  (resv (call $std.i64.to_str (i64.div_s (call $time.now) (i64.const 1000000000))))\n  (i32.const 0))\n```"),
    Function::new("monotonic", "(result i64)")
        .roles("-> num")
        .doc("Nanoseconds since the run started; never goes back."),
];

const NAME: &str = "time";
const DESCRIPTION: &str = "read the wall clock and a per-run monotonic clock, in nanoseconds";

fn run_state<'a>(caller: &'a mut Caller<'_, State>) -> wasmtime::Result<&'a mut TimeRun> {
    let state = caller.data_mut();
    state.count_call(NAME);
    state
        .get::<TimeRun>()
        .ok_or_else(|| Error::capability(NAME, "no state for this run").into())
}

fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

impl Capability for Time {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let clock = self.clock;
        linker.func_wrap(
            NAME,
            "now",
            move |mut caller: Caller<'_, State>| -> wasmtime::Result<i64> {
                let run = run_state(&mut caller)?;
                Ok(match clock {
                    Clock::System => match SystemTime::now().duration_since(UNIX_EPOCH) {
                        Ok(since) => nanos(since),
                        Err(before) => nanos(before.duration()).saturating_neg(),
                    },
                    Clock::Fixed { start, step } => start.saturating_add(run.tick(step)),
                })
            },
        )?;
        linker.func_wrap(
            NAME,
            "monotonic",
            move |mut caller: Caller<'_, State>| -> wasmtime::Result<i64> {
                let run = run_state(&mut caller)?;
                Ok(match clock {
                    Clock::System => nanos(run.started.elapsed()),
                    Clock::Fixed { step, .. } => run.tick(step),
                })
            },
        )?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        state.insert(TimeRun {
            started: Instant::now(),
            readings: 0,
        });
    }
}

/// `[time]`: see [`Time`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct TimeGrant {
    /// A fixed clock starting here, as RFC 3339 (`"2024-05-01T12:00:00Z"`),
    /// in nanoseconds since the Unix epoch.
    #[serde(default, deserialize_with = "crate::table::instant")]
    pub start: Option<i64>,
    /// How far a fixed clock moves per reading (default 1 ms).
    #[serde(default, deserialize_with = "crate::table::duration")]
    pub step: Option<Duration>,
}

impl TimeGrant {
    /// The capability: a fixed clock if `start` is set or `deterministic`
    /// (starting at [`DETERMINISTIC_START`]), else the system's.
    pub fn time(&self, deterministic: bool) -> Time {
        let step = self.step.unwrap_or(Duration::from_millis(1));
        match (self.start, deterministic) {
            (Some(start), _) => Time::fixed(start, step),
            (None, true) => Time::fixed(DETERMINISTIC_START, step),
            (None, false) => Time::system(),
        }
    }
}

impl crate::table::Table for TimeGrant {
    fn grant(
        &self,
        shared: &crate::table::Shared,
    ) -> tape_rt::Result<std::sync::Arc<dyn Capability>> {
        Ok(std::sync::Arc::new(self.time(shared.deterministic)))
    }
}
