//! Tape's standard library, written in WebAssembly text.
//!
//! [`SOURCE`] is a list of `(func $std.… …)` fields. The compiler pulls a
//! function into a program only when the program calls it (directly or
//! through another library function), so a program pays for nothing it does
//! not use. The functions are documented in this crate's README.

/// The library's WAT source.
pub const SOURCE: &str = include_str!("std.wat");
