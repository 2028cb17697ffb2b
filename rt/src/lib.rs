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
//! use tape_rt::{Args, Config, Engine, Grants, Log};
//!
//! let engine = Engine::new(Config::default())?;
//! let grants = Grants::new().grant(Log::new());
//! let program = engine.compile_str(
//!     "greet.wat",
//!     r#"(func $run (result i32)
//!          (drop (call $log.write (i32.const 2) "greeting"))
//!          (call $core.result "hello, world"))"#,
//!     &grants,
//! )?;
//! let outcome = program.run(&Args::new())?;
//! assert!(outcome.is_success());
//! assert_eq!(outcome.result::<&str>(0)?, "hello, world");
//! # Ok::<(), tape_rt::Error>(())
//! ```
//!
//! A host embeds its own host functions by implementing [`Capability`]; see
//! `examples/custom_capability.rs` in the repository.

mod caller;
mod capability;
mod caps;
mod engine;
mod error;
mod memory;
mod program;
mod state;
pub mod status;

pub use caller::{caller_alloc, caller_read_bytes, caller_write_raw};
pub use capability::{Capability, Function, Grants};
pub use caps::{Ai, Core, Fs, Http, Json, Kv, Level, Log, Rand, Time};
pub use engine::{Config, Engine, Limits};
pub use error::{Error, Result};
pub use memory::WasmMemory;
pub use program::{Args, Outcome, Program, Usage};
pub use state::{CapabilityUsage, State};

/// wasmtime, re-exported so capability authors use the same version.
pub use wasmtime;
