//! Arbitrary bytes through the wire decoder: see `tape_fuzz::wire`.
//!
//! `cargo fuzz run wire` (from the repository root) runs it under
//! libFuzzer. Built without `cargo fuzz`, it replays the files it is
//! given: `cargo run -p tape-fuzz --bin wire -- FILE…`.

#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tape_fuzz::wire::check(data));

#[cfg(not(fuzzing))]
fn main() {
    tape_fuzz::replay_main("wire", tape_fuzz::wire::check);
}
