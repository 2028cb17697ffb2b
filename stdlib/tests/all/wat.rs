//! Runs the WAT tests in `tests/wat/`.
//!
//! Each file is a list of functions; every one exported as `test_…` is a
//! test, called with no arguments in a fresh instance. It passes when it
//! returns. The assertions of `prelude.wat`, appended to every file, log
//! what they got and wanted and trap when they fail; a failure is reported
//! as `file:line:col: test_name` (the failing assertion's place, from the
//! trap's call stack), the trap, and those two log lines.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tape_caps::Log;
use tape_rt::{Error, ErrorKind, Grants, Limits};
use wasmparser::{ExternalKind, Parser, Payload};

const PRELUDE: &str = include_str!("prelude.wat");

/// Every test passed: how many there were. Otherwise every failure,
/// described, one paragraph each.
fn run_file(file: &str) -> Result<usize, Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wat")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    run_source(&format!("tests/wat/{file}"), &text)
}

/// As [`run_file`], for the text of a file named `name`.
fn run_source(name: &str, text: &str) -> Result<usize, Vec<String>> {
    // The prelude goes after the tests, so their line numbers are the file's.
    let source = format!("{text}\n{PRELUDE}");
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let grants = Grants::new().grant(Log::new().sink(move |_, message| {
        sink.lock().unwrap().push(message.to_string());
    }));
    let options = tape_compiler::Options {
        catalogue: grants.catalogue(),
        ..tape_compiler::Options::default()
    };
    let compiled =
        tape_compiler::compile_str(name, &source, &options).unwrap_or_else(|e| panic!("{e}"));
    let tests = test_exports(&compiled.wasm);
    assert!(!tests.is_empty(), "{name} has no `test_…` exports");
    let program = crate::engine()
        .load(&compiled.wasm, &grants)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    // A test that loops forever fails in a second, not ten.
    let limits = Limits {
        fuel: Some(100_000_000),
        timeout: Some(Duration::from_secs(5)),
        ..Limits::default()
    };
    let mut failures = Vec::new();
    for test in &tests {
        log.lock().unwrap().clear();
        if let Err(error) = program.invoke(test, &[], &limits) {
            failures.push(describe(name, test, &error, &log.lock().unwrap()));
        }
    }
    if failures.is_empty() {
        Ok(tests.len())
    } else {
        Err(failures)
    }
}

/// The names of the module's exported functions that start with `test_`.
fn test_exports(wasm: &[u8]) -> Vec<String> {
    let mut tests = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::ExportSection(exports) = payload.expect("a valid module") {
            for export in exports {
                let export = export.expect("a valid export");
                if export.kind == ExternalKind::Func && export.name.starts_with("test_") {
                    tests.push(export.name.to_string());
                }
            }
        }
    }
    tests
}

/// `file:line:col: test: what happened`, then the log lines.
fn describe(file: &str, test: &str, error: &Error, log: &[String]) -> String {
    let mut text = match error.kind() {
        // The outermost frame is the test itself, stopped at the call
        // that failed.
        ErrorKind::Trap { message, stack } => {
            match stack.frames.last().and_then(|f| f.source.as_ref()) {
                Some(at) => format!("{at}: {test}: trapped: {message}"),
                None => format!("{file}: {test}: trapped: {message}{stack}"),
            }
        }
        other => format!("{file}: {test}: {other}"),
    };
    for line in log {
        let _ = write!(text, "\n    {line}");
    }
    text
}

fn check(file: &str) {
    match run_file(file) {
        Ok(count) => eprintln!("{file}: {count} tests passed"),
        Err(failures) => panic!(
            "{} failed in {file}:\n\n{}\n",
            failures.len(),
            failures.join("\n\n")
        ),
    }
}

#[test]
fn strings() {
    check("strings.wat");
}

#[test]
fn numbers() {
    check("numbers.wat");
}

#[test]
fn memory() {
    check("memory.wat");
}

#[test]
fn wire() {
    check("wire.wat");
}

#[test]
fn reading() {
    check("reading.wat");
}

#[test]
fn seq() {
    check("seq.wat");
}

/// Every file in `tests/wat/` has its `#[test]` above.
#[test]
fn every_file_is_run() {
    let source = include_str!("wat.rs");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wat");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            source.contains(&format!("check(\"{name}\")")),
            "tests/wat/{name} has no #[test] in tests/all/wat.rs"
        );
    }
}

/// The harness fails a test whose assertion fails, and says where and why;
/// and a test that traps elsewhere, or runs out of fuel.
#[test]
fn failures_are_reported_with_their_line_and_values() {
    let failures = run_source(
        "broken.wat",
        r#"(func (export "test_passes")
  (call $assert_i32 (i32.const 1) (i32.const 1)))
(func (export "test_wrong_string")
  (call $assert_str "a" "a")
  (call $assert_str (call $std.str.concat "a" "b") "abc"))
(func (export "test_wrong_number")
  (call $assert_i64 (i64.const -9223372036854775808) (i64.const 42)))
(func (export "test_wrong_pair")
  (call $assert_piece (i32.const 0) (i32.const -1) "" (i32.const -1)))
(func (export "test_loops")
  (loop $forever (br $forever)))
"#,
    )
    .unwrap_err();
    assert_eq!(failures.len(), 4, "{failures:#?}");
    assert_eq!(
        failures[0],
        "broken.wat:5:4: test_wrong_string: trapped: wasm `unreachable` instruction executed\n    \
         got:  \"ab\"\n    want: \"abc\""
    );
    assert_eq!(
        failures[1],
        "broken.wat:7:4: test_wrong_number: trapped: wasm `unreachable` instruction executed\n    \
         got:  -9223372036854775808\n    want: 42"
    );
    assert_eq!(
        failures[2],
        "broken.wat:9:4: test_wrong_pair: trapped: wasm `unreachable` instruction executed\n    \
         got:  (null, -1)\n    want: (\"\", -1)"
    );
    assert!(
        failures[3].starts_with("broken.wat: test_loops: the program ran out of fuel"),
        "{}",
        failures[3]
    );
}
