//! Profiling a run: where its fuel and time went, by function and by
//! source line.
//!
//! A profiled run ([`Run::profile`](crate::Run::profile)) is sampled at
//! each tick of the engine's epoch clock ([`Config::epoch_tick`](crate::Config::epoch_tick);
//! `tape run --profile` sets it to 100 µs): each sample takes the guest's
//! call stack. A stack's share of the run's fuel and time is its share of
//! the samples: an estimate, as with any sampling profiler, that does not
//! depend on the ticks being regular. A stack is a path of functions, each
//! at the source line it was on; [`Profile::functions`] and
//! [`Profile::lines`] add them up, [`Profile::folded`] writes them for
//! flame graphs.
//!
//! Samples are taken where the guest checks the epoch (function entries
//! and loop headers), so time spent in a host function is counted to the
//! guest's place when it next checks; [`Usage`](crate::Usage) has each
//! capability's own time. A run shorter than a tick has no samples.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tape_compiler::Metadata;
use wasmtime::{AsContextMut, WasmBacktrace};

use crate::error::SourceLocation;
use crate::state::State;

/// Where a profiled run's fuel and time went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Profile {
    /// The sampling interval: the engine's epoch tick.
    pub interval: Duration,
    /// Samples taken.
    pub samples: u64,
    /// Each distinct call stack sampled, with what was counted to it.
    pub stacks: Vec<Stack>,
}

/// One call stack of a [`Profile`], outermost frame first, and what was
/// counted to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stack {
    /// The frames, from `$run` in to where the guest was.
    pub frames: Vec<ProfileFrame>,
    /// Samples that found the guest here.
    pub samples: u64,
    /// The run's time times this stack's share of the samples.
    pub time: Duration,
    /// The run's fuel times this stack's share of the samples.
    pub fuel: u64,
}

/// A frame of a [`Stack`]: the function, and where in the source it was.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct ProfileFrame {
    /// `$name`, or `function N` for one without a name.
    pub function: String,
    /// The source line it was on, when the module has a line table.
    pub location: Option<SourceLocation>,
    /// Where its first instruction is.
    pub start: Option<SourceLocation>,
}

/// A function's share of a [`Profile`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FunctionCost {
    /// `$name`.
    pub function: String,
    /// Where its first instruction is.
    pub location: Option<SourceLocation>,
    /// Counted while it was the innermost frame.
    pub self_time: Duration,
    /// Fuel counted while it was the innermost frame.
    pub self_fuel: u64,
    /// Counted while it was anywhere on the stack (once per stack).
    pub total_time: Duration,
    /// Fuel counted while it was anywhere on the stack.
    pub total_fuel: u64,
    /// Samples that found it innermost.
    pub self_samples: u64,
}

/// A source line's share of a [`Profile`]: what was counted while the
/// guest was on it, innermost.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LineCost {
    /// The line.
    pub location: SourceLocation,
    /// The function it is in.
    pub function: String,
    /// Time counted here.
    pub time: Duration,
    /// Fuel counted here.
    pub fuel: u64,
    /// Samples that found the guest here.
    pub samples: u64,
}

impl Profile {
    /// Time counted to samples, in all.
    pub fn time(&self) -> Duration {
        self.stacks.iter().map(|s| s.time).sum()
    }

    /// Fuel counted to samples, in all.
    pub fn fuel(&self) -> u64 {
        self.stacks.iter().map(|s| s.fuel).sum()
    }

    /// Each function, the most self fuel first.
    pub fn functions(&self) -> Vec<FunctionCost> {
        let mut by_name: HashMap<&str, FunctionCost> = HashMap::new();
        for stack in &self.stacks {
            let mut seen: Vec<&str> = Vec::new();
            for (depth, frame) in stack.frames.iter().enumerate() {
                let cost = by_name
                    .entry(&frame.function)
                    .or_insert_with(|| FunctionCost {
                        function: frame.function.clone(),
                        location: frame.start.clone(),
                        self_time: Duration::ZERO,
                        self_fuel: 0,
                        total_time: Duration::ZERO,
                        total_fuel: 0,
                        self_samples: 0,
                    });
                if depth + 1 == stack.frames.len() {
                    cost.self_time += stack.time;
                    cost.self_fuel += stack.fuel;
                    cost.self_samples += stack.samples;
                }
                // A recursive function counts once per stack.
                if !seen.contains(&frame.function.as_str()) {
                    seen.push(&frame.function);
                    cost.total_time += stack.time;
                    cost.total_fuel += stack.fuel;
                }
            }
        }
        let mut functions: Vec<FunctionCost> = by_name.into_values().collect();
        functions.sort_by(|a, b| {
            (b.self_fuel, b.self_time, &a.function).cmp(&(a.self_fuel, a.self_time, &b.function))
        });
        functions
    }

    /// Each source line the guest was found on, the most fuel first: the
    /// innermost frame's that has one, so that time in a library function
    /// counts to the line that called it.
    pub fn lines(&self) -> Vec<LineCost> {
        let mut by_line: HashMap<(&SourceLocation, &str), LineCost> = HashMap::new();
        for stack in &self.stacks {
            let Some((frame, location)) = stack
                .frames
                .iter()
                .rev()
                .find_map(|f| Some((f, f.location.as_ref()?)))
            else {
                continue;
            };
            let cost = by_line
                .entry((location, &frame.function))
                .or_insert_with(|| LineCost {
                    location: location.clone(),
                    function: frame.function.clone(),
                    time: Duration::ZERO,
                    fuel: 0,
                    samples: 0,
                });
            cost.time += stack.time;
            cost.fuel += stack.fuel;
            cost.samples += stack.samples;
        }
        let mut lines: Vec<LineCost> = by_line.into_values().collect();
        lines.sort_by(|a, b| {
            (b.fuel, b.time, &a.location.line).cmp(&(a.fuel, a.time, &b.location.line))
        });
        lines
    }

    /// The stacks in the folded format flame graph tools read (`inferno`,
    /// Brendan Gregg's `flamegraph.pl`, speedscope): a line per stack,
    /// `$run;$outer;$inner COUNT`, with COUNT the fuel counted to it, or
    /// with `by_time`, the microseconds.
    pub fn folded(&self, by_time: bool) -> String {
        let mut counts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        for stack in &self.stacks {
            let count = if by_time {
                u64::try_from(stack.time.as_micros()).unwrap_or(u64::MAX)
            } else {
                stack.fuel
            };
            let names: Vec<String> = stack
                .frames
                .iter()
                .map(|f| f.function.replace([';', ' '], "_"))
                .collect();
            *counts.entry(names.join(";")).or_default() += count;
        }
        counts
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(stack, count)| format!("{stack} {count}\n"))
            .collect()
    }
}

/// A profiled run's sampler, in its [`State`]: stacks by their frames'
/// module offsets, filled at each epoch tick, shared with the
/// [`Run`](crate::Run) that reads them once the run has ended.
#[derive(Clone)]
pub(crate) struct Profiling {
    pub(crate) shared: Arc<Mutex<Sampled>>,
}

/// What a sampler has gathered.
#[derive(Default)]
pub(crate) struct Sampled {
    samples: u64,
    /// Samples by stack, each frame `(function index, module offset, the
    /// function's start offset)`, innermost first.
    stacks: HashMap<Vec<(u32, u32, u32)>, u64>,
    names: HashMap<u32, Option<String>>,
}

impl Profiling {
    pub(crate) fn new() -> Profiling {
        Profiling {
            shared: Arc::new(Mutex::new(Sampled::default())),
        }
    }

    /// The profile of a run that used `fuel` and `time`, with frames named
    /// and located through `metadata`.
    pub(crate) fn profile(
        &self,
        interval: Duration,
        metadata: &Metadata,
        fuel: u64,
        time: Duration,
    ) -> Profile {
        let sampled = lock(&self.shared);
        let place = |found: Option<(u32, u32)>| {
            found.map(|(line, column)| SourceLocation {
                file: metadata.file.clone(),
                line,
                column,
            })
        };
        let mut stacks: Vec<Stack> = sampled
            .stacks
            .iter()
            .map(|(frames, &samples)| Stack {
                frames: frames
                    .iter()
                    .rev()
                    .map(|&(index, offset, start)| {
                        let function = match sampled.names.get(&index) {
                            Some(Some(name)) => format!("${name}"),
                            _ => format!("function {index}"),
                        };
                        // The standard library's functions have no lines
                        // in the program's source.
                        let library = function.starts_with("$std.");
                        ProfileFrame {
                            location: place(locate(metadata, offset, start)).filter(|_| !library),
                            start: place(locate(metadata, start, start)).filter(|_| !library),
                            function,
                        }
                    })
                    .collect(),
                samples,
                time: share_of_time(time, samples, sampled.samples),
                fuel: share(fuel, samples, sampled.samples),
            })
            .collect();
        stacks.sort_by(|a, b| a.frames.cmp(&b.frames));
        Profile {
            interval,
            samples: sampled.samples,
            stacks,
        }
    }
}

/// `whole × part / of`, without overflow.
fn share(whole: u64, part: u64, of: u64) -> u64 {
    if of == 0 {
        return 0;
    }
    u64::try_from(u128::from(whole) * u128::from(part) / u128::from(of)).unwrap_or(u64::MAX)
}

fn share_of_time(whole: Duration, part: u64, of: u64) -> Duration {
    let nanos = u64::try_from(whole.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(share(nanos, part, of))
}

/// The source place of `offset` in the function that starts at `start`:
/// a sample at the function's entry, before its first instruction, is at
/// that instruction, not at the end of the function before it.
fn locate(metadata: &Metadata, offset: u32, start: u32) -> Option<(u32, u32)> {
    let entries = &metadata.lines;
    let after = entries.partition_point(|entry| entry.offset <= offset);
    match after.checked_sub(1).and_then(|i| entries.get(i)) {
        Some(entry) if entry.offset >= start => Some((entry.line, entry.column)),
        _ => entries
            .get(after)
            .filter(|entry| entry.offset >= start)
            .map(|entry| (entry.line, entry.column)),
    }
}

fn lock(shared: &Mutex<Sampled>) -> std::sync::MutexGuard<'_, Sampled> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Takes one sample: the guest's stack now.
pub(crate) fn sample(mut store: impl AsContextMut<Data = State>) {
    let mut store = store.as_context_mut();
    let Some(profiling) = store.data_mut().get::<Profiling>().cloned() else {
        return;
    };
    let backtrace = WasmBacktrace::capture(&store);
    let mut sampled = lock(&profiling.shared);
    sampled.samples += 1;
    let mut key = Vec::with_capacity(backtrace.frames().len());
    for frame in backtrace.frames() {
        let index = frame.func_index();
        sampled
            .names
            .entry(index)
            .or_insert_with(|| frame.func_name().map(str::to_string));
        let offset = frame
            .module_offset()
            .and_then(|o| u32::try_from(o).ok())
            .unwrap_or(0);
        let start = frame
            .func_offset()
            .and_then(|o| u32::try_from(o).ok())
            .map_or(0, |within| offset.saturating_sub(within));
        key.push((index, offset, start));
    }
    *sampled.stacks.entry(key).or_insert(0) += 1;
}
