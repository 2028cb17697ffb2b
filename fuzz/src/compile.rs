//! `compile`: any text through [`tape_compiler::compile_str`].
//!
//! Oracle: compiling never panics (nor overflows the stack, nor hangs past
//! libFuzzer's `-timeout`). What compiles validates with wasmparser,
//! carries the metadata it reports, exports memory 0 as `mem.tape`, and
//! expands to the text `expand_str` gives. What fails has at least one
//! diagnostic, each span a range of the source on character boundaries,
//! and renders.

use std::sync::OnceLock;

use tape_compiler::{Compiled, MEMORY_EXPORT, Metadata, Options};
use wasmparser::{ExternalKind, Parser, Payload, Validator, WasmFeatures};

/// The options `tape run` compiles with: every built-in capability in the
/// catalogue, so `call $log.write` and friends import themselves.
fn options() -> &'static Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    OPTIONS.get_or_init(|| Options {
        catalogue: tape_rt::Grants::new().catalogue(),
        ..Options::default()
    })
}

/// Checks one input; bytes that are not UTF-8 are not source text.
pub fn check(data: &[u8]) {
    if let Ok(source) = std::str::from_utf8(data) {
        check_source(source);
    }
}

/// Checks one source text.
pub fn check_source(source: &str) {
    let options = options();
    match tape_compiler::compile_str("fuzz.wat", source, options) {
        Ok(compiled) => check_compiled(source, &compiled, options),
        Err(error) => check_error(source, &error),
    }
}

fn check_compiled(source: &str, compiled: &Compiled, options: &Options) {
    let mut validator = Validator::new_with_features(WasmFeatures::default());
    if let Err(error) = validator.validate_all(&compiled.wasm) {
        panic!("the compiler's output does not validate: {error}\nsource:\n{source}");
    }
    let metadata = Metadata::from_module(&compiled.wasm)
        .expect("readable metadata")
        .expect("a tape section");
    assert_eq!(metadata, compiled.metadata, "the tape section disagrees");
    assert!(
        exports_memory_zero(&compiled.wasm),
        "no `{MEMORY_EXPORT}` export of memory 0"
    );
    let expanded =
        tape_compiler::expand_str("fuzz.wat", source, options).expect("what compiles also expands");
    assert_eq!(expanded, compiled.expanded, "expand_str disagrees");
}

fn exports_memory_zero(wasm: &[u8]) -> bool {
    Parser::new(0).parse_all(wasm).any(|payload| match payload {
        Ok(Payload::ExportSection(reader)) => reader.into_iter().any(|export| {
            export.is_ok_and(|e| {
                e.name == MEMORY_EXPORT && e.kind == ExternalKind::Memory && e.index == 0
            })
        }),
        _ => false,
    })
}

fn check_error(source: &str, error: &tape_compiler::Error) {
    let diagnostics = error
        .diagnostics()
        .unwrap_or_else(|| panic!("compiling text failed with a non-source error: {error}"));
    assert!(
        !diagnostics.items().is_empty(),
        "an error without diagnostics"
    );
    for item in diagnostics.items() {
        assert!(!item.message.is_empty(), "a diagnostic without a message");
        if let Some(span) = &item.span {
            assert!(
                span.start <= span.end
                    && span.end <= source.len()
                    && source.is_char_boundary(span.start)
                    && source.is_char_boundary(span.end),
                "diagnostic `{}` has span {span:?}, not a range of the {}-byte source",
                item.message,
                source.len()
            );
        }
    }
    // Both renderings a user sees: plain (`Display`) and coloured.
    assert!(!error.to_string().is_empty());
    assert!(!diagnostics.render(true).is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    replay_tests!(compile, 300, 256);

    /// The oracle is not vacuous: a module that compiles is checked, and a
    /// broken one reaches the diagnostics checks.
    #[test]
    fn the_oracle_sees_both_outcomes() {
        let compiled = tape_compiler::compile_str(
            "ok.wat",
            r#"(func $run (result i32) (i32.const 0))"#,
            options(),
        )
        .unwrap();
        assert!(exports_memory_zero(&compiled.wasm));
        check_source(r#"(func $run (result i32) (i32.const 0))"#);
        let error = tape_compiler::compile_str("bad.wat", "(func $run (result i32)", options())
            .unwrap_err();
        check_error("(func $run (result i32)", &error);
    }
}
