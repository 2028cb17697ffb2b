//! The built-in capabilities' integration tests: one binary, one module
//! per capability or topic. Every test compiles and runs a real WAT
//! program against real stores, directories and loopback servers.

mod adversarial;
mod ai;
mod fs;
mod http;
mod json;
mod kv;
mod kv_ops;
mod linking;
mod log;
mod manifest;
mod replay;
mod specs;
mod ssrf;
mod time_rand;
mod wat_prelude;

pub use tape_testkit::rt::{engine, largest_allocation_during, program, run, run_err};
