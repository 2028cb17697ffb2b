//! Errors are reported at the user's file, line and column.

use crate::compile_error;

#[test]
fn a_wast_error_after_a_literal_points_at_the_original_column() {
    // The literal before the error is longer than its replacement would be
    // at the same place, so an unmapped offset would land elsewhere.
    let err =
        compile_error("(func $run (result i32)\n  (drop \"a long literal here\") (i32.bogus))");
    assert!(err.contains("test.wat:2:33"), "{err}");
    assert!(err.contains("(i32.bogus)"), "{err}");
}

#[test]
fn an_error_after_automatic_imports_points_at_the_original_line() {
    let err = compile_error(
        "(func $run (result i32)\n  (call $core.result \"x\"))\n(func $f (i32.nope))",
    );
    assert!(err.contains("test.wat:3:11"), "{err}");
}

#[test]
fn a_validation_error_names_and_points_at_the_function() {
    let err = compile_error("(func $ok)\n(func $bad (result i32)\n  (i64.const 1))");
    assert!(err.contains("type mismatch"), "{err}");
    assert!(err.contains("test.wat:3:4"), "{err}");
    assert!(err.contains("(i64.const 1)"), "{err}");
    assert!(err.contains("in `$bad`"), "{err}");
}

#[test]
fn a_validation_error_after_rewritten_text_points_at_the_instruction() {
    // A literal and a macro on the same line shift the expanded text; the
    // bad instruction is still found where the user wrote it.
    let err = compile_error(
        "(func $run (result i32)\n  (drop \"long enough literal\") (check (i32.const 1)) (f32.add (i32.const 1) (i32.const 2)))",
    );
    assert!(err.contains("type mismatch"), "{err}");
    assert!(err.contains("test.wat:2:55"), "{err}");
    assert!(err.contains("^^^^^^^ in `$run`"), "{err}");
}

#[test]
fn every_instruction_has_a_source_line_in_the_metadata() {
    let compiled = crate::compile("(func $run (result i32)\n  (drop \"x\")\n  (i32.const 7))");
    let lines = &compiled.metadata.lines;
    assert!(!lines.is_empty());
    assert!(lines.windows(2).all(|w| w[0].offset < w[1].offset));
    let on_line_3 = lines
        .iter()
        .find(|e| e.line == 3)
        .expect("a row for line 3");
    assert_eq!(on_line_3.column, 4);
    assert_eq!(compiled.metadata.location(on_line_3.offset), Some((3, 4)));
    assert_eq!(compiled.metadata.file, "test.wat");
    // The DWARF that `wast` wrote describes the expanded text: it is not kept.
    let debug_sections = wasmparser::Parser::new(0)
        .parse_all(&compiled.wasm)
        .filter_map(Result::ok)
        .filter(|p| matches!(p, wasmparser::Payload::CustomSection(c) if c.name().starts_with(".debug")))
        .count();
    assert_eq!(debug_sections, 0);
}

#[test]
fn unknown_capability_functions_list_what_exists() {
    let err = compile_error("(func $run (result i32)\n  (call $log.writ (i32.const 0) \"x\"))");
    assert!(
        err.contains("unknown capability function `$log.writ`"),
        "{err}"
    );
    assert!(err.contains("test.wat:2:9"), "{err}");
    assert!(err.contains("did you mean `$log.write`?"), "{err}");
}

#[test]
fn every_lexer_error_is_reported() {
    let err = compile_error("(func\n  \"\\q\" \"ok\"\n  § )");
    assert!(err.contains("invalid escape `\\q`"), "{err}");
    assert!(err.contains("test.wat:2:4"), "{err}");
    assert!(err.contains("unexpected character"), "{err}");
    assert!(err.contains("test.wat:3:3"), "{err}");
}

#[test]
fn non_utf8_files_are_reported_at_the_first_bad_byte() {
    let dir = std::env::temp_dir().join(format!("tape-compiler-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.wat");
    std::fs::write(&path, b"(func)\n(func \xff)").unwrap();
    let err = tape_compiler::compile_file(&path, &crate::options()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not valid UTF-8"), "{text}");
    assert!(text.contains("bad.wat:2:7"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_file_is_a_read_error() {
    let err = tape_compiler::compile_file("/nonexistent/x.wat", &crate::options()).unwrap_err();
    assert!(matches!(err, tape_compiler::Error::Read { .. }), "{err}");
}

#[test]
fn without_a_line_table_validation_errors_are_still_located() {
    let options = tape_compiler::Options {
        line_table: false,
        ..crate::options()
    };
    let ok = tape_compiler::compile_str(
        "test.wat",
        "(func $run (result i32) (i32.const 0))",
        &options,
    )
    .unwrap();
    assert!(ok.metadata.lines.is_empty());
    let err = tape_compiler::compile_str(
        "test.wat",
        "(func $bad (result i32)\n  (drop \"x\")\n  (i64.const 1))",
        &options,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("test.wat:3:4"), "{err}");
}

/// Found by the `compile` fuzz target: a string after a `;;` comment that
/// a `\r` ends is code, as wast reads it. It used to be skipped as part of
/// the comment, and wast's "unexpected end-of-file" for the unterminated
/// string then had a span one byte past the end of the source.
#[test]
fn a_carriage_return_ends_a_line_comment_as_in_wast() {
    let compiled = crate::compile(";; note\r(func $run (result i32) (call $core.result \"hi\"))");
    assert_eq!(compiled.metadata.literals[0].value, b"hi");
    for source in ["(module)\n;; a\r\"", "(module) \"", "(module) (;"] {
        let error = tape_compiler::compile_str("test.wat", source, &crate::options()).unwrap_err();
        for item in error.diagnostics().unwrap().items() {
            let span = item.span.clone().unwrap();
            assert!(
                span.end <= source.len(),
                "{source:?}: {span:?} for {}",
                item.message
            );
        }
        assert!(!error.to_string().is_empty());
    }
}

/// Found by the `compile` fuzz target: wast refuses `\` before a
/// multi-byte whitespace character (U+2006), and the caret under it was
/// one byte long, splitting the character. A span covers whole characters.
#[test]
fn a_span_never_splits_a_character() {
    for source in [
        "\"i2.o\\\u{2006} %\"",
        "(module) \u{2006}",
        "(func $run\u{3000}(result i32))",
    ] {
        let error = tape_compiler::compile_str("test.wat", source, &crate::options()).unwrap_err();
        for item in error.diagnostics().unwrap().items() {
            let span = item.span.clone().unwrap();
            assert!(
                source.is_char_boundary(span.start) && source.is_char_boundary(span.end),
                "{source:?}: {span:?} for {}",
                item.message
            );
        }
        assert!(!error.to_string().is_empty());
    }
}
