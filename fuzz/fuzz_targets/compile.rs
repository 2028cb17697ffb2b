//! Any text through the compiler: see `tape_fuzz::compile`.
//!
//! `cargo fuzz run compile` (from the repository root) runs it under
//! libFuzzer. Built without `cargo fuzz`, it replays the files it is
//! given: `cargo run -p tape-fuzz --bin compile -- FILE…`.

#![cfg_attr(fuzzing, no_main)]

tape_fuzz::target!(compile);
