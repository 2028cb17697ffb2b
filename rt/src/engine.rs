use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tape_compiler::Budget;
use wasmtime::{Enabled, InstanceAllocationStrategy, Module, PoolingAllocationConfig};

use crate::cache::{CacheStats, ModuleCache, default_cache_dir};
use crate::error::{Error, ErrorKind, Result};

#[cfg(target_os = "linux")]
pub(crate) use crate::alarm::Alarm;
/// Where there is no timer signal, there are no alarms.
#[cfg(not(target_os = "linux"))]
pub(crate) enum Alarm {}

/// Limits of one run. Every run of untrusted code should have all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Units of fuel (roughly, wasm instructions) a run may use; `None` for
    /// no limit.
    pub fuel: Option<u64>,
    /// Wall-clock time a run may take, instantiation included; `None` for
    /// no limit. Enforced with epoch interruption: a run stops within one
    /// [`Config::epoch_tick`] after it, or at it with [`Timer::Signal`]
    /// (once the guest runs wasm code again, if a host function is
    /// blocking).
    pub timeout: Option<Duration>,
    /// Bytes the run's memories, tables and GC heap may hold together
    /// (a table entry counts [`TABLE_ENTRY_BYTES`](crate::TABLE_ENTRY_BYTES));
    /// a run has at most [`MAX_MEMORIES`](crate::MAX_MEMORIES) memories and
    /// [`MAX_TABLES`](crate::MAX_TABLES) tables. With [`Config::pooling`],
    /// no run gets more than the engine's default `max_memory`, the size of
    /// a pool slot.
    pub max_memory: u64,
    /// Bytes of results a run may hand over.
    pub max_result_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: Some(10_000_000_000),
            timeout: Some(Duration::from_secs(10)),
            max_memory: 64 << 20,
            max_result_bytes: 16 << 20,
        }
    }
}

/// How to build an [`Engine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The default limits of every run.
    pub limits: Limits,
    /// Bytes of native stack wasm code may use; deeper recursion is a
    /// stack-overflow error.
    pub max_wasm_stack: usize,
    /// How often the epoch advances: the granularity of timeouts. At least
    /// 100 µs; a shorter tick is raised to that.
    pub epoch_tick: Duration,
    /// What advances the epoch when a run's time is up: a thread of the
    /// engine's (the default, for any embedder) or, for a process that
    /// runs a program and exits, a timer signal per run.
    pub timer: Timer,
    /// Where compiled modules are cached on disk (in its `modules/`
    /// folder); `None` turns the disk cache off. Defaults to
    /// [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Bytes the disk cache may hold; past this, the least recently used
    /// entries are deleted. Default 512 MiB (a module's entry is often
    /// tens or hundreds of KiB).
    pub cache_max_bytes: u64,
    /// How many compiled modules to keep in memory, the least recently
    /// used leaving first; 0 turns the memory cache off.
    pub memory_cache: usize,
    /// Instantiate from wasmtime's pooling allocator instead of mapping
    /// fresh memory for every run: several times faster to start a run,
    /// for embedders that run many. Off by default, since it reserves
    /// address space for every slot up front.
    pub pooling: Option<Pooling>,
    /// How large a program (source text, or a built module's bytes) may be,
    /// and how long compiling it may take, Tape's compiler and wasmtime's
    /// together. Default: [`Budget::DEFAULT_MAX_SOURCE_BYTES`] and 10
    /// seconds. A program from the cache is not compiled, so only its size
    /// is checked.
    ///
    /// Neither compiler can be interrupted: a compilation that runs out of
    /// time returns [`ErrorKind::Compile`] with
    /// [`tape_compiler::Error::Timeout`] at once, and goes on in a
    /// background thread until it finishes, its result unused.
    pub compile_budget: Budget,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            max_wasm_stack: 512 << 10,
            epoch_tick: Duration::from_millis(10),
            timer: Timer::Thread,
            cache_dir: default_cache_dir(),
            cache_max_bytes: 512 << 20,
            memory_cache: 64,
            pooling: None,
            compile_budget: Budget {
                timeout: Some(Duration::from_secs(10)),
                ..Budget::default()
            },
        }
    }
}

/// What stops a run when its time is up ([`Config::timer`]).
///
/// Timeouts are wasmtime's epoch interruption: compiled code checks the
/// engine's epoch at function entries and loop heads, and a run whose
/// deadline has passed stops at the next check. Something must advance the
/// epoch; this says what.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timer {
    /// A thread of the engine's advances the epoch every
    /// [`Config::epoch_tick`], started by the first run with a timeout. One
    /// thread for every run of the engine, on any thread, which suits any
    /// embedder; it costs a process the start of a thread (about 100 µs on
    /// a 2-vCPU VM).
    #[default]
    Thread,
    /// Each run with a timeout arms a one-shot POSIX timer for its
    /// deadline, which sends `SIGALRM` to the thread running it; Tape's
    /// handler advances the epoch. Four system calls a run and no thread:
    /// what the `tape` command uses. A run stops at its deadline rather
    /// than up to a tick after it.
    ///
    /// The process's `SIGALRM` handler is Tape's from the first such run
    /// on, for good: choose it only where nothing else in the process uses
    /// `SIGALRM`. System calls the signal interrupts are restarted
    /// (`SA_RESTART`), and it comes once, when the run must stop anyway.
    /// Where the signal cannot be used — not Linux, `SIGALRM` handled by
    /// someone else (before Tape's first run, or since: checked as each
    /// run is armed), or blocked on the run's thread — the engine falls
    /// back to [`Timer::Thread`] for that run. A handler put in place while
    /// a run is in progress takes that run's signal: it then stops only by
    /// its fuel.
    Signal,
}

/// Settings of the pooling allocator ([`Config::pooling`]).
///
/// Each slot holds one instance with one memory of at most the engine's
/// default [`Limits::max_memory`], and reserves 4 GiB of address space (but
/// no memory) so that bounds checks stay free: the default 1000 slots
/// reserve about 4 TiB, which a 64-bit process has. The first 64 KiB of a
/// slot's memory stay mapped between runs and are reset in place, with
/// `PAGEMAP_SCAN` where the kernel has it.
///
/// Measured with `cargo bench -p tape-rt` (`instantiate` group): a trivial
/// run takes about 0.56× the time it takes with the on-demand allocator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pooling {
    /// How many runs may be live at once. One more fails with
    /// [`ErrorKind::PoolExhausted`](crate::ErrorKind::PoolExhausted) until
    /// a slot frees up.
    pub instances: u32,
}

impl Default for Pooling {
    fn default() -> Self {
        Pooling { instances: 1000 }
    }
}

/// Bytes of each pooled memory kept resident between runs: most runs touch
/// less, and re-zeroing what they touched beats unmapping and faulting the
/// pages in again (`PERF-NOTES.md`).
const KEEP_RESIDENT: usize = 64 << 10;

/// Compiles programs and holds what their runs share: one wasmtime engine
/// configured for untrusted code, the module cache, and the thread that
/// drives timeouts (started by the first run that has one, unless
/// [`Config::timer`] says otherwise).
///
/// Cheap to clone; clones share everything. Safe to use from many threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    wasmtime: wasmtime::Engine,
    config: Config,
    cache: ModuleCache,
    /// The size of a pool slot's memory, with pooling.
    pool_memory: Option<u64>,
    stop_ticker: Arc<AtomicBool>,
    /// Whether the thread that drives timeouts started, or why it could
    /// not: it starts with the first run that has a timeout.
    ticker: OnceLock<std::result::Result<(), (std::io::ErrorKind, String)>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with fuel metering, epoch interruption, a wasm stack cap,
    /// the module cache and, if asked, the pooling allocator.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Engine`] if wasmtime rejects the configuration (a pool it
    /// cannot reserve, say).
    pub fn new(mut config: Config) -> Result<Engine> {
        config.epoch_tick = config.epoch_tick.max(Duration::from_micros(100));
        let mut wasm = wasmtime::Config::new();
        wasm.consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(config.max_wasm_stack)
            // Shared memories and atomics need threads Tape does not give
            // a run. Set here rather than left to wasmtime's features,
            // which another crate in a build may turn on.
            .wasm_features(wasmtime::WasmFeatures::THREADS, false)
            // What the compiler accepts, the engine runs.
            .wasm_custom_page_sizes(true)
            .wasm_wide_arithmetic(true);
        let mut pool_memory = None;
        if let Some(pooling) = &config.pooling {
            // wasm32 memories stop at 4 GiB, and wasmtime reserves 4 GiB per
            // slot anyway; less than a page is no memory at all.
            let slot = config.limits.max_memory.clamp(1 << 16, 1 << 32);
            let slot = slot.next_multiple_of(1 << 16);
            let mut pool = PoolingAllocationConfig::new();
            pool.total_core_instances(pooling.instances)
                .total_memories(pooling.instances)
                .total_tables(pooling.instances)
                .total_gc_heaps(pooling.instances)
                .max_memories_per_module(1)
                .max_memory_size(slot as usize)
                .linear_memory_keep_resident(KEEP_RESIDENT)
                .pagemap_scan(Enabled::Auto);
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            pool_memory = Some(slot);
        }
        let wasmtime = wasmtime::Engine::new(&wasm).map_err(|e| {
            Error::from(ErrorKind::Engine {
                message: format!("{e:#}"),
            })
        })?;
        let cache = ModuleCache::new(
            &wasmtime,
            config.cache_dir.as_deref(),
            config.cache_max_bytes,
            config.memory_cache,
        );
        Ok(Engine {
            inner: Arc::new(Inner {
                wasmtime,
                config,
                cache,
                pool_memory,
                stop_ticker: Arc::new(AtomicBool::new(false)),
                ticker: OnceLock::new(),
            }),
        })
    }

    /// Starts the thread that advances the epoch, once: timeouts need it,
    /// nothing else does. Started by the first run with a timeout rather
    /// than with the engine, so an engine that only compiles, or runs
    /// without timeouts, has no second thread; and a thread starting costs
    /// a short run's start more than it does later (`benches/process.rs`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if the thread cannot start; every later call says
    /// so too.
    pub(crate) fn start_ticker(&self) -> Result<()> {
        let inner = &self.inner;
        inner
            .ticker
            .get_or_init(|| {
                spawn_ticker(
                    inner.wasmtime.clone(),
                    inner.config.epoch_tick,
                    inner.stop_ticker.clone(),
                )
                .map_err(|e| (e.kind(), e.to_string()))
            })
            .clone()
            .map_err(|(kind, message)| {
                Error::io(
                    "cannot start the timeout thread",
                    std::io::Error::new(kind, message),
                )
            })
    }

    /// Makes sure something will advance the epoch `timeout` from now:
    /// with [`Timer::Signal`], an alarm for this run, which the caller keeps
    /// until the run ends; otherwise (or where the signal cannot be used)
    /// the engine's thread, and `None`.
    ///
    /// # Errors
    ///
    /// As [`start_ticker`](Engine::start_ticker).
    pub(crate) fn watch(&self, timeout: Duration) -> Result<Option<Alarm>> {
        #[cfg(target_os = "linux")]
        if self.inner.config.timer == Timer::Signal {
            match Alarm::arm(&self.inner.wasmtime, timeout) {
                Ok(alarm) => return Ok(Some(alarm)),
                Err(error) => {
                    tracing::debug!(
                        "no timer signal for this run ({error}): the timeout thread instead"
                    );
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = timeout;
        self.start_ticker()?;
        Ok(None)
    }

    /// How many runs the pooling allocator holds; 0 without one.
    pub(crate) fn pool_instances(&self) -> u32 {
        self.inner
            .config
            .pooling
            .as_ref()
            .map_or(0, |p| p.instances)
    }

    /// This engine's configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// How often the module cache found what it was asked for.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    pub(crate) fn cache(&self) -> &ModuleCache {
        &self.inner.cache
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.wasmtime
    }

    /// The memory cap of a run with `limits`: theirs, within a pool slot.
    pub(crate) fn memory_cap(&self, limits: &Limits) -> u64 {
        self.inner
            .pool_memory
            .map_or(limits.max_memory, |slot| limits.max_memory.min(slot))
    }

    /// The compiled module for `wasm`, through the cache, within the
    /// compile budget.
    pub(crate) fn module(&self, name: &str, wasm: &[u8]) -> Result<Module> {
        let budget = &self.inner.config.compile_budget;
        budget.check_size(name, wasm.len())?;
        self.inner
            .cache
            .module(&self.inner.wasmtime, name, wasm, budget)
    }
}

/// Advances the epoch every `tick`, on a fixed schedule so that sleeps
/// running long do not add up, until `stop`.
fn spawn_ticker(
    engine: wasmtime::Engine,
    tick: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("tape-epoch".into())
        .spawn(move || {
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                next += tick;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                engine.increment_epoch();
            }
        })
        .map(drop)
}
