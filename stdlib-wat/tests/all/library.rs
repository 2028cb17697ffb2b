//! The library as a whole: it parses, every function validates, the fixed
//! API is all there with its signatures, and a program gets only what it
//! calls.

use tape_compiler::{Library, Options};

/// The library compiled as a program of its own, every function defined
/// in it, so an error points at its line in `std.wat` (linked on demand,
/// an error would point at the program's first call into the library).
#[test]
fn every_function_compiles_and_validates() {
    let options = Options {
        catalogue: tape_rt::Grants::new().catalogue(),
        library: Library::new(),
        ..Options::default()
    };
    tape_compiler::compile_str("stdlib-wat/src/std.wat", tape_stdlib::SOURCE, &options)
        .unwrap_or_else(|e| panic!("{e}"));
}
