//! `compile`: any text through [`tape_compiler::compile_str`].
//!
//! Oracle: compiling never panics (nor overflows the stack, nor hangs past
//! libFuzzer's `-timeout`). What compiles validates with wasmparser,
//! carries the metadata it reports, exports memory 0 as `mem.tape`, and
//! expands to the text `expand_str` gives; each literal in the metadata
//! lies, as `[len][bytes]`, in an active data segment of memory 0 at its
//! offset (4-aligned, from 8 on, below an 8-aligned `initial_top`), equal
//! literals share one offset, and the line table is sorted. What fails has at least one
//! diagnostic, each span a range of the source on character boundaries,
//! and renders. So does every warning of the lints, which the module keeps
//! and gives back the same.

use std::sync::OnceLock;

use tape_compiler::{Compiled, MEMORY_EXPORT, Metadata, Options};
use wasmparser::{DataKind, ExternalKind, Operator, Parser, Payload, Validator, WasmFeatures};

/// The options `tape run` compiles with: every built-in capability in the
/// catalogue, so `call $log.write` and friends import themselves.
fn options() -> &'static Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    OPTIONS.get_or_init(|| Options {
        catalogue: tape_caps::grants().catalogue(),
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
    check_static_data(&compiled.wasm, &metadata);
    check_warnings(source, compiled);
}

/// The lints' warnings: placed within the source, on character
/// boundaries, kept whole in the module, and shown the same read back
/// from it (as a run from the cache shows them).
fn check_warnings(source: &str, compiled: &Compiled) {
    let warnings = &compiled.warnings;
    for item in warnings.items() {
        assert!(!item.message.is_empty(), "a warning without a message");
        if let Some(span) = &item.span {
            assert!(
                span.start <= span.end
                    && span.end <= source.len()
                    && source.is_char_boundary(span.start)
                    && source.is_char_boundary(span.end),
                "warning `{}` has span {span:?}, not a range of the {}-byte source",
                item.message,
                source.len()
            );
        }
    }
    assert_eq!(
        compiled.metadata.warnings.len(),
        warnings.items().len(),
        "the module keeps another number of warnings than the compile found"
    );
    let shown = tape_compiler::warnings(
        &compiled.metadata,
        "fuzz.wat",
        source,
        &tape_compiler::Lints::default(),
    );
    assert_eq!(shown.items(), warnings.items(), "warnings read back differ");
    let _ = warnings.render(false);
}

/// The literals the metadata lists are where it says, as it says.
fn check_static_data(wasm: &[u8], metadata: &Metadata) {
    let top = u64::from(metadata.initial_top);
    assert!(top % 8 == 0 && top >= 8, "initial_top {top}");
    let segments = memory0_segments(wasm);
    for literal in &metadata.literals {
        let offset = u64::from(literal.offset);
        let end = offset + 4 + literal.value.len() as u64;
        assert!(
            offset >= 8 && offset % 4 == 0 && end <= top,
            "literal at {offset}..{end} with initial_top {top}"
        );
        let mut expected = (literal.value.len() as u32).to_le_bytes().to_vec();
        expected.extend_from_slice(&literal.value);
        let found = segments.iter().any(|(start, data)| {
            offset
                .checked_sub(*start)
                .and_then(|at| data.get(at as usize..(at + expected.len() as u64) as usize))
                == Some(&expected[..])
        });
        assert!(found, "no data segment holds the literal at {offset}");
        for other in &metadata.literals {
            assert!(
                other.value != literal.value || other.offset == literal.offset,
                "equal literals at {offset} and {}",
                other.offset
            );
        }
    }
    assert!(
        metadata.lines.is_sorted_by_key(|entry| entry.offset),
        "the line table is not sorted"
    );
}

/// The active data segments of memory 0 at constant offsets.
fn memory0_segments(wasm: &[u8]) -> Vec<(u64, &[u8])> {
    let mut segments = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::DataSection(reader)) = payload else {
            continue;
        };
        for segment in reader.into_iter().flatten() {
            let DataKind::Active {
                memory_index: 0,
                offset_expr,
            } = segment.kind
            else {
                continue;
            };
            let offset = match offset_expr.get_operators_reader().read() {
                Ok(Operator::I32Const { value }) => u64::from(value as u32),
                Ok(Operator::I64Const { value }) => value as u64,
                _ => continue,
            };
            segments.push((offset, segment.data));
        }
    }
    segments
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
        let literals =
            r#"(func $run (result i32) (drop "a") (drop "bc") (drop "a") (i32.const 0))"#;
        let compiled = tape_compiler::compile_str("lit.wat", literals, options()).unwrap();
        assert_eq!(compiled.metadata.literals.len(), 2);
        check_static_data(&compiled.wasm, &compiled.metadata);
        check_source(literals);
        let error = tape_compiler::compile_str("bad.wat", "(func $run (result i32)", options())
            .unwrap_err();
        check_error("(func $run (result i32)", &error);
    }
}
