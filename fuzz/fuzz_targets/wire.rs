//! Arbitrary bytes through the wire decoder: see `tape_fuzz::wire`.
//!
//! `cargo fuzz run wire` (from the repository root) runs it under
//! libFuzzer. Built without `cargo fuzz`, it replays the files it is
//! given: `cargo run -p tape-fuzz --bin wire -- FILE…`.

#![cfg_attr(fuzzing, no_main)]

tape_fuzz::target!(wire);
