//! Golden fixtures, one trial each: `tests/pass/x.wat` compiles and
//! expands to `x.wat.expanded`; `tests/fail/x.wat` fails with the
//! diagnostics in `x.wat.err`. `BLESS=1 cargo test -p tape-compiler --test
//! fixtures` rewrites the expectations; review the diff before committing
//! it. `cargo test -p tape-compiler --test fixtures fail/lexer` runs one.

use std::path::{Path, PathBuf};

use tape_compiler::{Library, Options};

mod support;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The tests' catalogue, and the fixture library in place of the standard
/// one, so the expectations do not move with it.
fn options() -> Options {
    let library = std::fs::read_to_string(dir().join("fixture-lib.wat")).unwrap();
    Options {
        library: Library::parse(&library).unwrap(),
        ..support::options()
    }
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn source(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn pass(path: &Path) -> Result<(), String> {
    let compiled = tape_compiler::compile_str(&name(path), &source(path)?, &options())
        .map_err(|error| format!("{}: {error}", path.display()))?;
    tape_testkit::check_golden(&path.with_extension("wat.expanded"), &compiled.expanded)
}

fn fail(path: &Path) -> Result<(), String> {
    match tape_compiler::compile_str(&name(path), &source(path)?, &options()) {
        Ok(_) => Err(format!("{}: compiled, but should fail", path.display())),
        Err(error) => {
            tape_testkit::check_golden(&path.with_extension("wat.err"), &format!("{error}\n"))
        }
    }
}

fn main() {
    let mut trials = Vec::new();
    for (kind, test) in [
        ("pass", pass as fn(&Path) -> Result<(), String>),
        ("fail", fail),
    ] {
        let prefix = format!("{kind}/");
        trials.extend(tape_testkit::named_trials(
            &prefix,
            &dir().join(kind),
            "wat",
            test,
        ));
    }
    tape_testkit::run(trials);
}
