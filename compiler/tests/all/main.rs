//! The compiler's integration tests: one binary, one module per topic.

mod arguments;
mod budget;
mod diagnostics;
mod encode;
mod lints;
mod smoke;

use tape_compiler::Compiled;

#[path = "../support/mod.rs"]
mod support;

pub use support::options;

pub fn compile(source: &str) -> Compiled {
    tape_compiler::compile_str("test.wat", source, &options())
        .unwrap_or_else(|e| panic!("compile failed:\n{e}"))
}

/// The rendered diagnostics for a source that must not compile.
pub fn compile_error(source: &str) -> String {
    match tape_compiler::compile_str("test.wat", source, &options()) {
        Ok(_) => panic!("expected an error compiling:\n{source}"),
        Err(e) => e.to_string(),
    }
}
