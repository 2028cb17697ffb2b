//! `docs/writing.md` cannot rot: its programs (the ```wat blocks that start
//! with `;; NAME.wat`) are written to a directory, and each `$ tape …`
//! command of its ```console blocks runs there and prints what follows it,
//! standard output then standard error. Its Rust test runs as a doc test of
//! tape-caps.

use std::path::Path;
use std::process::Command;

const PAGE: &str = include_str!("../docs/writing.md");

#[test]
fn every_command_on_the_page_prints_what_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = 0;
    for block in PAGE.split("```wat\n").skip(1) {
        let source = block.split("```").next().unwrap();
        let name = source
            .lines()
            .next()
            .and_then(|line| line.strip_prefix(";; "))
            .filter(|name| name.ends_with(".wat"))
            .unwrap_or_else(|| {
                panic!("a program on the page does not start with `;; NAME.wat`:\n{source}")
            });
        std::fs::write(dir.path().join(name), source).unwrap();
        files += 1;
    }
    assert_eq!(files, 5);
    let mut commands = 0;
    for block in PAGE.split("```console\n").skip(1) {
        let block = block.split("```").next().unwrap();
        for run in block.split("$ ").skip(1) {
            let (command, expected) = run.split_once('\n').unwrap();
            check(dir.path(), command, expected);
            commands += 1;
        }
    }
    assert_eq!(commands, 8);
}

fn check(dir: &Path, command: &str, expected: &str) {
    let mut words = command.split_whitespace();
    assert_eq!(words.next(), Some("tape"), "{command}");
    let output = Command::new(env!("CARGO_BIN_EXE_tape"))
        .args(words)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        printed.trim_end(),
        expected.trim_end(),
        "`{command}` printed something else"
    );
}
