//! The standard library's tests: one binary, one module per topic. Every
//! test compiles WAT with the library through the real compiler and runs it
//! in the real runtime.

mod library;
mod readme;
mod sizes;
mod wat;
mod wire;

use tape_rt::{Args, Grants, Outcome};
pub use tape_testkit::rt::engine;

/// Compiles `source` (with the standard library, as every program is) and
/// runs it with string arguments `args`; panics on any error.
pub fn run(source: &str, args: &[&str]) -> Outcome {
    run_with(source, Args::strings(args), Grants::new())
}

/// Compiles `source` against `grants` and runs it with `args`; panics on
/// any error.
pub fn run_with(source: &str, args: Args, grants: Grants) -> Outcome {
    engine()
        .compile_str("test.wat", source, &grants)
        .and_then(|program| program.run(&args))
        .unwrap_or_else(|e| panic!("{e}"))
}
