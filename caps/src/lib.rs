//! Tape's built-in capabilities, and the `tape.toml` manifest that grants
//! them.
//!
//! Each capability is a [`tape_rt::Capability`] in a module of its own,
//! with the grant table that configures it from a manifest beside it:
//!
//! | module | capability | what a program can do | grant table |
//! |---|---|---|---|
//! | [`log`] | [`Log`] | write log messages, within a byte budget | [`LogGrant`] |
//! | [`kv`] | [`Kv`] | keep state in a key-value store (redb, or Redis shared by many processes), committed when a run completes | [`KvGrant`] |
//! | [`http`] | [`Http`] | make HTTP requests to allowed origins | [`HttpGrant`] |
//! | [`fs`] | [`Fs`] | read (and write) files inside one directory | [`FsGrant`] |
//! | [`json`] | [`Json`] | parse, query and build JSON documents | [`JsonGrant`] |
//! | [`ai`] | [`Ai`] | ask an OpenAI-compatible chat model | [`AiGrant`] |
//! | [`time`] | [`Time`] | read a clock, the system's or a fixed one | [`TimeGrant`] |
//! | [`rand`] | [`Rand`] | draw random bytes, from the OS or a seed | [`RandGrant`] |
//! | [`stdin`] | [`Stdin`] | read the run's standard input, in chunks, bounded | [`StdinGrant`] |
//!
//! [`grants`] is where every grant set starts: only `core` granted, and
//! every built-in capability *known*, so a program calling one compiles and
//! is refused at link time with the grant it lacks. A [`Manifest`] (a
//! parsed `tape.toml`, which a host may change, as `tape run` lays its
//! flags over it) turns into [`Grants`] with [`Manifest::grants`]: the one
//! path the CLI and embedders share.
//!
//! ```
//! use tape_caps::Manifest;
//! use tape_rt::{Args, Config, Engine};
//!
//! let manifest = Manifest::parse("[json]\n[limits]\nfuel = 1_000_000\n", "tape.toml")?;
//! let grants = manifest.grants()?;
//! let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
//! let program = engine.compile_str("len.wat", r#"
//!     (func $run (result i32)
//!       (local $doc i32) (local $text i32) (local $status i32)
//!       (call $json.parse "[1, 2, 3]") (local.set $status) (local.set $doc)
//!       (check (local.get $status))
//!       (call $json.stringify (local.get $doc)) (local.set $status) (local.set $text)
//!       (check (local.get $status))
//!       (resv (local.get $text))
//!       (i32.const 0))"#, &grants)?;
//! let outcome = program.run_with(&Args::new(), &manifest.limits(engine.config().limits.clone()))?;
//! assert_eq!(outcome.result::<&str>(0)?, "[1,2,3]");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod ai;
pub mod fs;
pub mod http;
pub mod json;
pub mod kv;
pub mod log;
pub mod manifest;
pub mod rand;
mod refusal;
pub mod stdin;
pub mod table;
pub mod time;

pub use ai::{Ai, AiGrant};
pub use fs::{Fs, FsGrant};
pub use http::{Http, HttpGrant};
pub use json::{Json, JsonGrant};
pub use kv::{KV_CACHE_BYTES, Kv, KvGrant};
pub use log::{LOG_MESSAGE_OVERHEAD, Level, Log, LogGrant, LogSink};
pub use manifest::{LimitsTable, MANIFEST_NAME, Manifest, SPECS};
pub use rand::{Rand, RandGrant};
pub use stdin::{Stdin, StdinGrant};
pub use table::{ManifestError, Shared, Table};
pub use time::{DETERMINISTIC_START, Time, TimeGrant};

use tape_rt::Grants;

/// Only `core` granted, and every built-in capability known (see
/// [`Grants`]): the grants to start from, and the catalogue every command
/// compiles with.
///
/// ```
/// let grants = tape_caps::grants().grant(tape_caps::Json::new());
/// assert!(grants.is_granted("json"));
/// assert!(!grants.is_granted("kv") && grants.is_known("kv"));
/// assert!(grants.catalogue().signature("http", "get").is_some());
/// ```
pub fn grants() -> Grants {
    Grants::new().know(SPECS)
}

/// `docs/embedding.md`, whose code blocks are compiled and run as this
/// crate's doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/embedding.md")]
struct EmbeddingGuide;

/// `docs/writing.md`: its test of a program is a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../docs/writing.md")]
struct WritingGuide;

/// `docs/testing.md`: its Rust example of recording and replaying.
#[cfg(doctest)]
#[doc = include_str!("../../docs/testing.md")]
struct TestingGuide;

/// `docs/capabilities.md`: its Rust examples are doc tests too.
#[cfg(doctest)]
#[doc = include_str!("../../docs/capabilities.md")]
struct CapabilitiesGuide;
