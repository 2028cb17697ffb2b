//! Tape's standard library, written in WebAssembly text.
//!
//! [`SOURCE`] is a list of `(func $std.… …)` fields: string functions,
//! number formatting and parsing, raw memory, and builders of wire values
//! for results. A program calls them as it calls its own functions; the
//! compiler pulls a function into the program only when the program calls
//! it (directly or through another library function), so a program pays
//! for nothing it does not use. Every function, its signature, behaviour
//! and status codes are in this crate's README.
//!
//! ```
//! use tape_rt::{Args, Config, Engine, Grants};
//!
//! let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
//! let program = engine.compile_str(
//!     "greet.wat",
//!     r#"(func $run (result i32)
//!          (argv 0 $name)
//!          (resv (call $std.str.concat "hello, " (call $std.str.to_upper (local.get $name))))
//!          (i32.const 0))"#,
//!     &Grants::new(),
//! )?;
//! let outcome = program.run(&Args::strings(["world"]))?;
//! assert_eq!(outcome.result::<String>(0)?, "hello, WORLD");
//! # Ok::<(), tape_rt::Error>(())
//! ```

#![warn(missing_docs)]

/// The library's WAT source.
pub const SOURCE: &str = include_str!("std.wat");
