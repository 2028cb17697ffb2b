//! Tape's runtime: runs compiled programs in a wasmtime sandbox that can do
//! nothing but what the host grants.
//!
//! An [`Engine`] compiles a program and links it against [`Grants`] into a
//! [`Program`]; each [`Program::run`] instantiates it with fresh state,
//! writes the arguments into guest memory, calls `run` and collects the
//! results. Every run is bounded by fuel, a wall-clock timeout, a memory
//! cap and a stack cap, and every failure is an [`Error`] for that run only.
//!
//! ```
//! use std::time::Duration;
//! use tape_rt::{Args, Config, Engine, Grants, Limits, Log};
//!
//! // Compiled modules are cached in memory and on disk, by default under
//! // `~/.cache/tape`; `cache_dir: None` keeps them off the disk.
//! let engine = Engine::new(Config {
//!     cache_dir: Some(std::env::temp_dir().join("tape-doc-cache")),
//!     ..Config::default()
//! })?;
//! let grants = Grants::new().grant(Log::new());
//! // Log a greeting, then hand argument 0 back as the result.
//! let source = r#"(func $run (result i32)
//!                   (drop (call $log.write (i32.const 2) "greeting"))
//!                   (call $core.arg (i32.const 0))
//!                   (drop)
//!                   (call $core.result))"#;
//! let program = engine.compile_str("greet.wat", source, &grants)?;
//!
//! // Tighter limits than the engine's defaults, for this run.
//! let limits = Limits {
//!     fuel: Some(1_000_000),
//!     timeout: Some(Duration::from_secs(1)),
//!     max_memory: 1 << 20,
//!     ..Limits::default()
//! };
//! let outcome = program.run_with(&Args::strings(["hello, world"]), &limits)?;
//! assert!(outcome.is_success());
//! assert_eq!(outcome.result::<&str>(0)?, "hello, world");
//! assert_eq!(outcome.usage.host_calls, 3);
//!
//! // The same program again: its machine code comes from the cache.
//! engine.compile_str("greet.wat", source, &grants)?;
//! assert_eq!(engine.cache_stats().memory_hits, 1);
//! # Ok::<(), tape_rt::Error>(())
//! ```
//!
//! Every limit is enforced by wasmtime: fuel metering, epoch interruption
//! for the timeout, a `ResourceLimiter` for memory, a wasm stack cap. A
//! run that passes one ends with its own [`Error`] variant
//! ([`Error::OutOfFuel`], [`Error::Timeout`], [`Error::MemoryExhausted`],
//! [`Error::StackOverflow`]); the engine and its other runs go on. An
//! embedder that starts many runs turns on [`Config::pooling`].
//!
//! A host embeds its own host functions by implementing [`Capability`]; see
//! `examples/custom_capability.rs` in the repository.

mod arguments;
mod cache;
mod caller;
mod capability;
mod caps;
mod engine;
mod error;
mod export;
mod manifest;
mod memory;
mod program;
mod state;
pub mod status;

pub use arguments::{ArgType, ArgsBuilder, Argument, ArgumentError};
pub use cache::{CacheStats, default_cache_dir};
pub use caller::{caller_alloc, caller_read_bytes, caller_read_bytes_max, caller_write_raw};
pub use capability::{Capability, Function, Grants};
pub use caps::{
    Ai, Core, Fs, Http, Json, KV_CACHE_BYTES, Kv, LOG_MESSAGE_OVERHEAD, Level, Log, MAX_RESULTS,
    Rand, Time,
};
pub use engine::{Config, Engine, Limits, Pooling};
pub use error::{CallStack, Error, Frame, LinkProblem, Result, SourceLocation};
pub use export::{ExportType, Signature, ValueType};
pub use manifest::{
    AiGrant, DETERMINISTIC_START, FsGrant, HttpGrant, JsonGrant, KvGrant, LimitsTable, LogGrant,
    MANIFEST_NAME, Manifest, RandGrant, TimeGrant,
};
pub use memory::WasmMemory;
pub use program::{Args, Outcome, Program, Usage};
pub use state::{CapabilityUsage, MAX_MEMORIES, MAX_TABLES, State, TABLE_ENTRY_BYTES};

/// wasmtime, re-exported so capability authors use the same version.
pub use wasmtime;
