//! Values encoded and decoded, and their near misses: see `tape_fuzz::protocol`.
//!
//! `cargo fuzz run protocol` (from the repository root) runs it under
//! libFuzzer. Built without `cargo fuzz`, it replays the files it is
//! given: `cargo run -p tape-fuzz --bin protocol -- FILE…`.

#![cfg_attr(fuzzing, no_main)]

tape_fuzz::target!(protocol);
