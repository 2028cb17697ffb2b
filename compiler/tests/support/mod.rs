//! What the compiler's test targets share.

use tape_compiler::{Catalogue, Options};

/// The few host functions the tests call, without roles (as an embedder's
/// catalogue may be), and the standard library.
pub fn options() -> Options {
    let mut catalogue = Catalogue::new();
    catalogue.insert("core", "result", "(param $ptr i32) (result i32)");
    catalogue.insert("core", "arg", "(param $n i32) (result i32 i32)");
    catalogue.insert(
        "log",
        "write",
        "(param $level i32) (param $msg i32) (result i32)",
    );
    Options {
        catalogue,
        ..Options::default()
    }
}
