//! `docs/reference.md` is what `tape doc --markdown` prints, and every
//! example in it runs. `BLESS=1 cargo test --test doc` rewrites the file.

use std::path::Path;
use std::process::Command;

fn tape() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tape"));
    command.env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join("tape-doc-test-cache"),
    );
    command
}

fn reference_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reference.md")
}

#[test]
fn the_reference_is_what_tape_doc_prints() {
    let output = tape().args(["doc", "--markdown"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    // Stale, it is rewritten from `tape doc --markdown` by
    // `BLESS=1 cargo test --test doc`.
    if let Err(stale) = tape_testkit::check_golden(&reference_path(), &printed) {
        panic!("{stale}");
    }
}

#[test]
fn every_example_in_the_reference_runs() {
    let reference = std::fs::read_to_string(reference_path()).unwrap();
    let examples: Vec<&str> = reference
        .split("```wat\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        // The signature shown at the head of each entry is not a program.
        .filter(|block| block.contains("$run"))
        .collect();
    assert!(examples.len() >= 10, "only {} examples", examples.len());
    let dir = std::env::temp_dir().join(format!("tape-doc-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (at, example) in examples.iter().enumerate() {
        let file = dir.join(format!("example{at}.wat"));
        std::fs::write(&file, example).unwrap();
        // A store and a directory for the examples that use them, and the
        // arguments they read, when they read any.
        let output = tape()
            .arg("run")
            .arg("--kv")
            .arg(dir.join("state.redb"))
            .arg("--dir-rw")
            .arg(&dir)
            .arg(&file)
            .arg("Ada")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "example {at} failed:\n{example}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unknown_name_suggests_what_it_means() {
    let output = tape().args(["doc", "std.str.includes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("did you mean `std.str.contains`?"),
        "{stderr}"
    );
}

#[test]
fn a_function_is_shown_with_its_roles() {
    let output = tape().args(["doc", "$kv.get"]).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("$kv.get (param $key i32) (result i32 i32)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("$key      str: a pointer to a string"),
        "{stdout}"
    );
    assert!(
        stdout.contains("result 1  status: a status (0 = ok)"),
        "{stdout}"
    );
    assert!(stdout.contains("`NOT_FOUND` (3)"), "{stdout}");
}
