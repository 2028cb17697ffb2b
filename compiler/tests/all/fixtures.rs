//! Golden fixtures: `tests/pass/x.wat` compiles and expands to
//! `x.wat.expanded`; `tests/fail/x.wat` fails with the diagnostics in
//! `x.wat.err`. `BLESS=1 cargo test -p tape-compiler --test all fixtures`
//! rewrites the expectations; review the diff before committing it.

use std::path::{Path, PathBuf};

use tape_compiler::{Library, Options};

fn options() -> Options {
    let library = std::fs::read_to_string(dir().join("fixture-lib.wat")).unwrap();
    Options {
        library: Library::parse(&library).unwrap(),
        ..crate::options()
    }
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in tests/{kind}");
    files
}

/// Compares `actual` with the file at `expected`, or rewrites it under
/// `BLESS=1`; returns a failure description.
fn check(expected: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(expected, actual).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_default();
    (want != actual).then(|| {
        format!(
            "{}:\n--- expected\n{want}\n--- actual\n{actual}",
            expected.display()
        )
    })
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn pass() {
    let options = options();
    let mut failures = Vec::new();
    for path in fixtures("pass") {
        let source = std::fs::read_to_string(&path).unwrap();
        match tape_compiler::compile_str(&name(&path), &source, &options) {
            Ok(compiled) => {
                failures.extend(check(
                    &path.with_extension("wat.expanded"),
                    &compiled.expanded,
                ));
            }
            Err(error) => failures.push(format!("{}: {error}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn fail() {
    let options = options();
    let mut failures = Vec::new();
    for path in fixtures("fail") {
        let source = std::fs::read_to_string(&path).unwrap();
        match tape_compiler::compile_str(&name(&path), &source, &options) {
            Ok(_) => failures.push(format!("{}: compiled, but should fail", path.display())),
            Err(error) => {
                failures.extend(check(
                    &path.with_extension("wat.err"),
                    &format!("{error}\n"),
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
