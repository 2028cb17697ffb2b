use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Linker};

use crate::capability::Function;
use crate::{Capability, Error, State};

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
/// use tape_rt::{Grants, Time};
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
        .ok_or_else(|| Error::Host("the `time` capability has no state for this run".into()).into())
}

fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

impl Capability for Time {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        DESCRIPTION
    }

    fn functions(&self) -> &[Function] {
        FUNCTIONS
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
