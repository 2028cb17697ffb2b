//! The standard library's tests: one binary, one module per topic. Every
//! test compiles WAT with the library through the real compiler and runs it
//! in the real runtime.

mod library;
mod readme;
mod sizes;
mod wat;
mod wire;

use std::sync::OnceLock;

use tape_rt::{Args, Config, Engine, Grants, Outcome};

/// One engine for the whole binary, keeping compiled modules in memory only.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(Config {
            cache_dir: None,
            ..Config::default()
        })
        .expect("engine")
    })
}

/// Compiles `source` (with the standard library, as every program is) and
/// runs it with string arguments `args`; panics on any error.
pub fn run(source: &str, args: &[&str]) -> Outcome {
    engine()
        .compile_str("test.wat", source, &Grants::new())
        .and_then(|program| program.run(&Args::strings(args)))
        .unwrap_or_else(|e| panic!("{e}"))
}
