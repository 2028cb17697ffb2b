//! What Tape's test suites share.
//!
//! - **Golden files.** A test compares what it produced with a file kept
//!   in the repository; with `BLESS=1` in the environment it rewrites the
//!   file instead ([`check_golden`]). Review the diff before committing it.
//! - **Fixture directories.** Each file of a directory is one trial of a
//!   `harness = false` test target ([`trials`]), so a failure names its
//!   fixture and `cargo test --test NAME FIXTURE` runs one, as wasm-tools'
//!   `tests/cli.rs` does.
//!
//! A `harness = false` test target's `main`:
//!
//! ```no_run
//! let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mistakes");
//! let trials = tape_testkit::trials(&dir, "wat", |path| {
//!     let actual = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
//!     tape_testkit::check_golden(&path.with_extension("err"), &actual)
//! });
//! tape_testkit::run(trials);
//! ```

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "rt")]
pub mod rt;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "server")]
pub mod server;

pub use libtest_mimic::{Arguments, Failed, Trial};

/// Whether `BLESS` is set: golden files are rewritten, not compared.
pub fn blessing() -> bool {
    std::env::var_os("BLESS").is_some()
}

/// Compares `actual` with the golden file at `expected`; under `BLESS=1`,
/// writes `actual` there instead.
///
/// # Errors
///
/// Both texts, and how to accept the new one, when they differ; a file
/// that cannot be written when blessing.
pub fn check_golden(expected: &Path, actual: &str) -> Result<(), String> {
    if blessing() {
        return std::fs::write(expected, actual)
            .map_err(|e| format!("cannot write {}: {e}", expected.display()));
    }
    let want = std::fs::read_to_string(expected).unwrap_or_default();
    if want == actual {
        return Ok(());
    }
    Err(format!(
        "{} differs (BLESS=1 accepts what it is now)\n--- expected\n{want}\n--- actual\n{actual}",
        expected.display()
    ))
}

/// The files of `dir` whose names end in `.{extension}`, sorted.
///
/// # Panics
///
/// When `dir` cannot be read, or holds none: a fixture directory that
/// went missing must not pass as empty.
pub fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no .{extension} fixtures in {}",
        dir.display()
    );
    files
}

/// One trial per `.{extension}` file of `dir`, named by the file's stem,
/// each running `test` on its path.
pub fn trials<F>(dir: &Path, extension: &str, test: F) -> Vec<Trial>
where
    F: Fn(&Path) -> Result<(), String> + Clone + Send + 'static,
{
    named_trials("", dir, extension, test)
}

/// As [`trials`], each named `{prefix}{stem}`: `fail/lexer` for the
/// fixture `fail/lexer.wat` with the prefix `fail/`.
pub fn named_trials<F>(prefix: &str, dir: &Path, extension: &str, test: F) -> Vec<Trial>
where
    F: Fn(&Path) -> Result<(), String> + Clone + Send + 'static,
{
    files(dir, extension)
        .into_iter()
        .map(|path| {
            let stem = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = format!("{prefix}{stem}");
            let test = test.clone();
            Trial::test(name, move || test(&path).map_err(Failed::from))
        })
        .collect()
}

/// A plain test function as a trial: it fails by panicking, as a
/// `#[test]` does.
pub fn test(name: &str, test: fn()) -> Trial {
    Trial::test(name, move || {
        test();
        Ok(())
    })
}

/// Runs the trials with the command line's filters and options, and exits.
pub fn run(trials: Vec<Trial>) -> ! {
    libtest_mimic::run(&Arguments::from_args(), trials).exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_golden_file_matches_or_says_how_it_differs() {
        if blessing() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("tape-testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let golden = dir.join("x.out");
        std::fs::write(&golden, "one\n").unwrap();
        assert_eq!(check_golden(&golden, "one\n"), Ok(()));
        let error = check_golden(&golden, "two\n").unwrap_err();
        assert!(
            error.contains("--- expected\none\n\n--- actual\ntwo\n"),
            "{error}"
        );
        assert!(check_golden(&dir.join("missing.out"), "x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
