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
//! use tape_rt::{Args, Config, Engine, Grants, Limits};
//!
//! // Compiled modules are cached in memory and on disk, by default under
//! // `~/.cache/tape`; `cache_dir: None` keeps them off the disk.
//! let engine = Engine::new(Config {
//!     cache_dir: Some(std::env::temp_dir().join("tape-doc-cache")),
//!     ..Config::default()
//! })?;
//! // Only `core`; `tape_caps::grants()` knows the built-in capabilities.
//! let grants = Grants::new();
//! // Hand argument 0 back as the result.
//! let source = r#"(func $run (result i32)
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
//! assert_eq!(outcome.usage.host_calls, 2);
//!
//! // The same program again: its machine code comes from the cache.
//! engine.compile_str("greet.wat", source, &grants)?;
//! assert_eq!(engine.cache_stats().memory_hits, 1);
//! # Ok::<(), tape_rt::Error>(())
//! ```
//!
//! # Concepts
//!
//! - [`Engine`]: one wasmtime engine set up for untrusted code, with the
//!   module cache ([`Config`]). Cheap to clone, shared by every program.
//! - [`Grants`]: the [`Capability`] values a program may call, each
//!   described once by a [`Spec`]. `core` (arguments, results, allocation)
//!   is always granted; the built-in capabilities (`log`, `kv`, `http`,
//!   `fs`, `json`, `ai`, `time`, `rand`) are in the `tape-caps` crate, with
//!   the `tape.toml` manifest that grants them.
//! - [`Program`]: a module linked against its grants. Each run is an
//!   instantiation and a call: [`Program::run`], [`Program::run_with`], or
//!   a [`Run`] for per-run host data.
//! - [`Limits`]: fuel, a wall-clock timeout, a memory cap, a results cap.
//!   Every limit is enforced by wasmtime (fuel metering, epoch
//!   interruption, a `ResourceLimiter`, a wasm stack cap); a run that
//!   passes one ends with its own [`ErrorKind`] ([`ErrorKind::OutOfFuel`],
//!   [`ErrorKind::Timeout`], [`ErrorKind::MemoryExhausted`],
//!   [`ErrorKind::StackOverflow`]), located at the function and source
//!   line where the program was ([`Error::stack`]), with the results it had
//!   handed over kept ([`Error::results`]); the engine and its other runs
//!   go on.
//!   An embedder that starts many runs turns on [`Config::pooling`]; a
//!   process that runs one program and exits, as the `tape` command does,
//!   sets [`Config::timer`] to [`Timer::Signal`], which stops a timed run
//!   with a timer signal instead of a thread of the engine's.
//! - [`Outcome`]: the status `run` returned, the results it handed over
//!   (wire values), and its [`Usage`].
//! - [`Error`]: one pointer wide, with a [`kind`](Error::kind) to match on.
//!
//! # Writing a capability
//!
//! A host adds host functions by implementing [`Capability`]: a [`Spec`],
//! functions registered on a wasmtime `Linker<State>`, and optional
//! per-run state in [`State`]. Host functions reach guest memory only
//! through the [`guest`] helpers, which check every pointer, and answer
//! with a [`status`]. A host function returns `wasmtime::Result`: Tape's
//! [`Error`] converts with `?`, and an `anyhow::Error` (or any boxed error)
//! with `wasmtime::Error::from_boxed(error.into())`, which keeps its chain.
//! (wasmtime's `anyhow` feature, which would make it `from_anyhow`, is off:
//! it makes every host call returning `wasmtime::Result` about 6% slower.)
//! `examples/custom_capability.rs` is a whole one, and
//! `examples/multi_tenant.rs` serves many tenants from one program, with
//! per-run host data ([`Run::data`]). `docs/embedding.md` is the guide.

#![warn(missing_docs)]

pub mod guest;
pub mod status;
pub mod trace;

#[cfg(target_os = "linux")]
mod alarm;
mod arguments;
mod cache;
mod capability;
mod core;
mod engine;
mod error;
mod export;
mod grants;
mod link;
mod outcome;
pub mod profile;
mod program;
mod reason;
mod state;
mod trap;

pub use arguments::{ArgType, ArgsBuilder, Argument, JSON_KINDS, json_kind};
pub use cache::{CacheStats, default_cache_dir};
pub use capability::{Capability, Function, Redactor, Spec};
pub use core::{CORE_SPEC, MAX_RESULTS};
pub use engine::{Config, Engine, Limits, Pooling, Timer};
pub use error::{
    ArgumentError, CallStack, Error, ErrorKind, Frame, LinkProblem, Result, SourceLocation,
};
pub use export::{ExportType, Signature, ValueType};
pub use grants::Grants;
pub use outcome::{Args, Outcome, Usage};
pub use program::{Program, Run};
pub use reason::Reason;
pub use state::{CapabilityUsage, MAX_MEMORIES, MAX_TABLES, State, TABLE_ENTRY_BYTES};

/// The compiler, re-exported: its [`Error`](tape_compiler::Error) is inside
/// [`ErrorKind::Compile`], and [`Metadata`](tape_compiler::Metadata) is what
/// [`Program::metadata`] returns.
pub use tape_compiler as compiler;
/// The wire format, re-exported: what arguments and results are, and what
/// a capability replies with ([`guest::write`]).
pub use tape_protocol as protocol;
/// wasmtime, re-exported so capability authors use the same version.
pub use wasmtime;
