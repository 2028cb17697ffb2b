//! The runtime's integration tests: one binary, one module per topic. Every
//! test compiles and runs a real WAT program.

mod ai;
mod capability;
mod core;
mod fs;
mod http;
mod json;
mod kv;
mod limits;
mod linking;
mod log;
mod server;
mod time_rand;
mod wat_prelude;

use std::sync::OnceLock;

use tape_rt::{Args, Config, Engine, Grants, Outcome, Program};

/// One engine for the whole binary, as an embedder would have.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(Config::default()).expect("engine"))
}

pub fn program(source: &str, grants: &Grants) -> Program {
    engine()
        .compile_str("test.wat", source, grants)
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn run(source: &str) -> Outcome {
    program(source, &Grants::new())
        .run(&Args::new())
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn run_err(source: &str, grants: &Grants) -> tape_rt::Error {
    match program(source, grants).run(&Args::new()) {
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
        Err(error) => error,
    }
}
