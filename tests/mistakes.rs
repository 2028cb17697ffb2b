//! The mistakes a newcomer or a model makes, each reported where it is
//! made, with a message that says how to fix it.
//!
//! Each `tests/mistakes/NAME.wat` is one mistake: its first line says what
//! it is, its second (`;; at: LINE:COLUMN`) where the mistake is. A trial
//! per file checks, through the real `tape check`:
//! - a diagnostic (error or warning) is at exactly that line and column,
//!   and has help;
//! - what `tape check` prints, and its exit code, are `NAME.err`.
//!
//! `BLESS=1 cargo test --test mistakes` rewrites the `.err` files; review
//! the diff before committing it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mistakes")
}

fn main() {
    let trials = tape_testkit::trials(&dir(), "wat", trial);
    assert!(trials.len() >= 40, "only {} mistakes", trials.len());
    tape_testkit::run(trials);
}

fn tape(file: &str, json: bool) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tape"));
    command
        .current_dir(dir())
        .args(["check", "--color", "never"]);
    if json {
        command.arg("--json");
    }
    command.arg(file).output().unwrap()
}

fn trial(path: &Path) -> Result<(), String> {
    let source = std::fs::read_to_string(path).unwrap();
    let at = source
        .lines()
        .nth(1)
        .and_then(|line| line.strip_prefix(";; at: "))
        .and_then(|at| at.split_once(':'))
        .and_then(|(line, column)| Some((line.parse::<u64>().ok()?, column.parse::<u64>().ok()?)))
        .ok_or("the second line must be `;; at: LINE:COLUMN`")?;
    let file = path.file_name().unwrap().to_string_lossy().into_owned();

    let output = tape(&file, true);
    let report: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("`tape check --json` printed no JSON ({e}): {output:?}"))?;
    let mut diagnostics: Vec<&Value> = Vec::new();
    if let Some(Value::Array(errors)) = report.pointer("/error/diagnostics") {
        diagnostics.extend(errors);
    }
    if let Some(Value::Array(warnings)) = report.pointer("/warnings") {
        diagnostics.extend(warnings);
    }
    if diagnostics.is_empty() {
        return Err(format!("`tape check` found nothing: {report}"));
    }
    let here: Vec<&&Value> = diagnostics
        .iter()
        .filter(|d| d["line"].as_u64() == Some(at.0) && d["column"].as_u64() == Some(at.1))
        .collect();
    if here.is_empty() {
        let found: Vec<String> = diagnostics
            .iter()
            .map(|d| format!("{}:{} {}", d["line"], d["column"], d["message"]))
            .collect();
        return Err(format!(
            "nothing reported at {}:{}; reported: {}",
            at.0,
            at.1,
            found.join("; ")
        ));
    }
    if let Some(bare) = here.iter().find(|d| !d["help"].is_string()) {
        return Err(format!("no help with `{}`", bare["message"]));
    }

    let output = tape(&file, false);
    let shown = format!(
        "exit code: {}\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr)
    );
    tape_testkit::check_golden(&path.with_extension("err"), &shown)
}
