//! Tape's standard library, written in WebAssembly text.
//!
//! Functions under the `$std.` prefix will live here and be linked into a
//! program on demand by the compiler. The library is not written yet; this
//! crate holds its place in the workspace.
