//! Random guests against every capability import: see `tape_fuzz::capabilities`.
//!
//! `cargo fuzz run capabilities` (from the repository root) runs it under
//! libFuzzer. Built without `cargo fuzz`, it replays the files it is
//! given: `cargo run -p tape-fuzz --bin capabilities -- FILE…`.

#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tape_fuzz::capabilities::check(data));

#[cfg(not(fuzzing))]
fn main() {
    tape_fuzz::replay_main("capabilities", tape_fuzz::capabilities::check);
}
