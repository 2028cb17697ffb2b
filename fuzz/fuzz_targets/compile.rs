//! Any text through the compiler: see `tape_fuzz::compile`.
//!
//! `cargo fuzz run compile` (from the repository root) runs it under
//! libFuzzer. Built without `cargo fuzz`, it replays the files it is
//! given: `cargo run -p tape-fuzz --bin compile -- FILE…`.

#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tape_fuzz::compile::check(data));

#[cfg(not(fuzzing))]
fn main() {
    tape_fuzz::replay_main("compile", tape_fuzz::compile::check);
}
