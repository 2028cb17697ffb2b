//! Any input, valid UTF-8 or not, compiles or fails with diagnostics; it
//! never panics, overflows the stack or produces an invalid module.
//!
//! `cargo fuzz run compile` (from the repository root).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let options = tape_compiler::Options::default();
    if let Ok(compiled) = tape_compiler::compile_str("fuzz.wat", source, &options) {
        // Output always validates and carries readable metadata.
        let metadata = tape_compiler::Metadata::from_module(&compiled.wasm)
            .expect("readable metadata")
            .expect("a tape section");
        assert_eq!(metadata, compiled.metadata);
    }
});
