//! The ways out of the `fs` capability's directory, from `paths.toml`:
//! each case a trial, run through `tape run --dir-rw`, checking the status
//! the guest gets and that nothing outside the directory changed.

use std::path::Path;

use libtest_mimic::{Failed, Trial};
use serde::Deserialize;

use crate::kit::{scratch, tape};

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize, Clone)]
struct Case {
    op: String,
    path: String,
    expect: String,
}

const READ: &str = r#"(func $run (result i32) (local $reply i32) (local $status i32)
  (call $fs.read (call $arg0))
  (local.set $status) (local.set $reply)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.result (local.get $reply)))"#;

const WRITE: &str = r#"(func $run (result i32) (call $fs.write (call $arg0) "pwned"))"#;

const LIST: &str = r#"(func $run (result i32) (local $reply i32) (local $status i32)
  (call $fs.list (call $arg0))
  (local.set $status) (local.set $reply)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.result (local.get $reply)))"#;

const ARG0: &str = r#"(func $arg0 (result i32) (local $p i32) (local $s i32)
  (call $core.arg (i32.const 0)) (local.set $s) (local.set $p)
  (if (local.get $s) (then (unreachable)))
  (local.get $p))"#;

/// The directory `paths.toml` describes, in `dir`.
fn lay_out(dir: &Path) -> std::io::Result<()> {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("sub"))?;
    std::fs::write(dir.join("secret.txt"), "secret")?;
    std::fs::write(root.join("hello.txt"), "hello")?;
    std::fs::write(root.join("sub/inner.txt"), "inner")?;
    for (target, at) in [
        ("../../secret.txt", "sub/out"),
        ("../hello.txt", "sub/back"),
        ("hello.txt", "ok"),
        ("..", "up"),
        ("../", "outdir"),
        ("/etc", "etc"),
        ("/etc/passwd", "abs"),
        ("/dev/zero", "zero"),
        ("self", "self"),
    ] {
        std::os::unix::fs::symlink(target, root.join(at))?;
    }
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status()?;
    assert!(made.success(), "mkfifo failed");
    for (name, source) in [("read.wat", READ), ("write.wat", WRITE), ("list.wat", LIST)] {
        std::fs::write(dir.join(name), format!("{ARG0}\n{source}"))?;
    }
    Ok(())
}

/// Everything outside `root/`, with contents, to compare before and
/// after a case.
fn outside(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut seen: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        // `.cache` and `.launch-report` are the suite's own.
        .filter(|entry| {
            let name = entry.file_name();
            name != "root" && !name.to_string_lossy().starts_with('.')
        })
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).unwrap_or_default())
        })
        .collect();
    seen.sort();
    seen
}

fn check(case: &Case) -> Result<(), Failed> {
    let dir = scratch();
    lay_out(dir.path())?;
    let before = outside(dir.path());
    let program = format!("{}.wat", case.op);
    let run = tape(
        dir.path(),
        &["run", "--dir-rw", "root", &program, &case.path],
    );
    let got = match run.code {
        Some(0) => "ok".to_string(),
        Some(1) => run
            .stderr
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(name, _)| name.to_string())
            .unwrap_or_default(),
        _ => return Err(format!("the run failed; {}", run.describe()).into()),
    };
    if got != case.expect {
        return Err(format!(
            "`{}` of {:?} gave {got:?}, expected {:?}; {}",
            case.op,
            case.path,
            case.expect,
            run.describe()
        )
        .into());
    }
    if outside(dir.path()) != before {
        return Err(format!("`{}` of {:?} changed files outside", case.op, case.path).into());
    }
    if Path::new("/pwned-by-tape-security-test.txt").exists() {
        return Err("a file was written at the file system's root".into());
    }
    Ok(())
}

pub fn trials() -> Vec<Trial> {
    let text = include_str!("paths.toml");
    let cases: Cases = toml::from_str(text).expect("paths.toml");
    cases
        .case
        .into_iter()
        .map(|case| {
            let name = format!("paths::{} {:?}", case.op, case.path);
            Trial::test(name, move || check(&case))
        })
        .collect()
}
