//! Tape against `wat` on wasm-smith's modules: see `tape_fuzz::differential`.
//!
//! `cargo fuzz run differential` (from the repository root) runs it under
//! libFuzzer. Built without `cargo fuzz`, it replays the files it is
//! given: `cargo run -p tape-fuzz --bin differential -- FILE…`.

#![cfg_attr(fuzzing, no_main)]

tape_fuzz::target!(differential);
