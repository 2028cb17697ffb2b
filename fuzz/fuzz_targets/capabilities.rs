//! Random guests against every capability import: see `tape_fuzz::capabilities`.
//!
//! `cargo fuzz run capabilities` (from the repository root) runs it under
//! libFuzzer. Built without `cargo fuzz`, it replays the files it is
//! given: `cargo run -p tape-fuzz --bin capabilities -- FILE…`.

#![cfg_attr(fuzzing, no_main)]

tape_fuzz::target!(capabilities);
