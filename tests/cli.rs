//! The `tape` command line, run as a process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tape(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tape"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tape")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `examples/*.wat` with an expected output beside it
/// (`x.wat.out`) runs and prints exactly that. `BLESS=1` rewrites the
/// expectations.
#[test]
fn every_example_prints_its_expected_output() {
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    examples.sort();
    assert!(!examples.is_empty());
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for example in &examples {
        let expected_path = example.with_extension("wat.out");
        let relative = example.strip_prefix(root()).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_tape"))
            .arg("run")
            .arg(relative)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        if bless {
            std::fs::write(&expected_path, stdout.as_bytes()).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!("{} has no {}", relative.display(), expected_path.display())
        });
        if stdout != expected || !output.status.success() {
            failures.push(format!(
                "{}: exit {:?}\n--- expected\n{expected}--- got\n{stdout}--- stderr\n{}",
                relative.display(),
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn write_temp(name: &str, source: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, source).unwrap();
    (dir, path)
}

#[test]
fn arguments_reach_the_program_and_results_print_one_per_line() {
    let (_dir, path) = write_temp(
        "echo.wat",
        r#"(func $run (result i32)
             (call $core.arg (i32.const 1)) (drop) (drop (call $core.result))
             (call $core.arg (i32.const 0)) (drop) (call $core.result))"#,
    );
    let out = tape(&["run", path.to_str().unwrap(), "first", "--second"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "--second\nfirst\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_compile_error_exits_3_with_a_located_diagnostic() {
    let (_dir, path) = write_temp("bad.wat", "(func $run (result i32)\n  (i32.bogus))");
    let out = tape(&["run", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("bad.wat:2:4"), "{stderr}");
    assert!(!stderr.contains("\x1b["), "NO_COLOR is respected: {stderr}");
}

#[test]
fn a_non_zero_status_exits_1_and_logs_go_to_stderr() {
    let (_dir, path) = write_temp(
        "fail.wat",
        r#"(func $run (result i32) (drop (call $log.write (i32.const 1) "careful")) (i32.const 3))"#,
    );
    let out = tape(&["run", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[warn] careful"), "{stderr}");
    assert!(stderr.contains("status 3 (not found)"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_trap_exits_4_and_a_missing_file_70() {
    let (_dir, path) = write_temp("trap.wat", "(func $run (result i32) unreachable)");
    let out = tape(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));

    let out = tape(&["run", "/nonexistent/x.wat"]);
    assert_eq!(out.status.code(), Some(70));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read `/nonexistent/x.wat`"));
}

#[test]
fn a_missing_import_exits_6_and_usage_errors_2() {
    let (_dir, path) = write_temp(
        "env.wat",
        r#"(module (import "env" "f" (func)) (func $run (result i32) (i32.const 0)))"#,
    );
    assert_eq!(
        tape(&["run", path.to_str().unwrap()]).status.code(),
        Some(6)
    );
    assert_eq!(tape(&["frobnicate"]).status.code(), Some(2));
}
