//! The runtime's integration tests: one binary, one module per topic. Every
//! test compiles and runs a real WAT program.

mod arguments;
mod cache;
mod capability;
mod core;
mod dump;
mod limits;
mod panics;
mod profile;
mod run_api;
mod timer;

pub use tape_testkit::rt::{engine, largest_allocation_during, program, run, run_err};
