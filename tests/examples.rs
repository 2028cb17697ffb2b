//! The gallery in `examples/`: every example runs as `examples/README.md`
//! says and prints what is stored beside it.
//!
//! An example is a directory `examples/NAME/` holding `NAME.wat`, its
//! `tape.toml` and what `tape run` prints:
//!
//! - `NAME.out`: standard output (required);
//! - `NAME.err`: standard error, if it is not empty;
//! - `NAME.exit`: the exit code, if it is not 0;
//! - `NAME.again.out`: standard output of a second run in the same
//!   directory, for an example that keeps state from one run to the next
//!   (its standard error and exit code are checked as the first run's).
//!
//! The command is the one in the example's row of the README's table, so
//! the README cannot drift from what works. Each example runs in a fresh
//! copy of its directory (without `*.redb` files an earlier run left), laid
//! out as in the repository so paths print the same: the repository is
//! never written, and the current directory does not matter.
//!
//! Examples that need a server get a real one on a free port of 127.0.0.1,
//! and flags that point the example at it (flags win over `tape.toml`):
//! one with an `[http]` table gets a file server for `examples/` (the
//! copy) in place of `127.0.0.1:8000`, and `--allow-http` for it; one
//! with an `[ai]` table gets `examples/ai_stub.rs` in place of
//! `127.0.0.1:8001`, with `--ai`.
//!
//! `BLESS=1` rewrites the expected files from what `tape` does now.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tape_testkit::server::{Reply, Request, Server};
use toml_edit::DocumentMut;

#[path = "../examples/ai_stub.rs"]
#[allow(dead_code)] // its `main`
mod ai_stub;

/// The origin the `[http]` examples' `tape.toml` allow, and the README
/// serves `examples/` on.
const SITE: &str = "127.0.0.1:8000";
/// The endpoint the `[ai]` examples' `tape.toml` name: `ai_stub`'s.
const AI: &str = "127.0.0.1:8001";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn examples_dir() -> PathBuf {
    root().join("examples")
}

fn main() {
    let commands = readme_commands();
    let names = example_names();
    let mut trials = vec![tape_testkit::Trial::test(
        "the_readme_runs_every_example_and_only_them",
        {
            let (commands, names) = (commands.clone(), names.clone());
            move || readme_and_examples_agree(&commands, &names).map_err(Into::into)
        },
    )];
    for name in names {
        let command = commands.get(&name).cloned();
        trials.push(tape_testkit::Trial::test(name.clone(), move || {
            let Some(command) = command else {
                return Err(
                    format!("{name}: no row of the table in examples/README.md runs it").into(),
                );
            };
            let failures = run_example(&name, &command);
            if failures.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} (BLESS=1 accepts what tape does now)",
                    failures.join("\n\n")
                )
                .into())
            }
        }));
    }
    trials.push(tape_testkit::Trial::test(
        "every_example_has_test_cases_that_pass_offline",
        every_example_has_test_cases_that_pass_offline,
    ));
    trials.push(tape_testkit::Trial::test(
        "every_example_compiles_through_the_fast_encoder",
        every_example_compiles_through_the_fast_encoder,
    ));
    tape_testkit::run(trials);
}

/// `tape test examples`, with no server anywhere: every example's cases
/// (recorded from the README's command, and some written by hand) replay
/// from their test files. `typo`, which does not compile, has none.
fn every_example_has_test_cases_that_pass_offline() -> Result<(), tape_testkit::Failed> {
    let mut missing = Vec::new();
    for name in example_names() {
        let file = examples_dir().join(&name).join(format!("{name}.test.toml"));
        if name != "typo" && !file.is_file() {
            missing.push(format!("examples/{name} has no {name}.test.toml"));
        }
    }
    if !missing.is_empty() {
        return Err(missing.join("\n").into());
    }
    // A copy, so that nothing the programs might leave lands in the
    // repository.
    let work = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir(), &work.path().join("examples"));
    let output = Command::new(env!("CARGO_BIN_EXE_tape"))
        .args(["test", "--json", "examples"])
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "`tape test --json` printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let cases = report["cases"].as_array().cloned().unwrap_or_default();
    let failed: Vec<String> = cases
        .iter()
        .filter(|c| c["ok"] != true)
        .map(|c| format!("{} {}: {}", c["file"], c["name"], c["failure"]))
        .collect();
    if !output.status.success() || !failed.is_empty() || cases.len() < 14 {
        return Err(format!(
            "{} cases, failing:\n{}\n{}",
            cases.len(),
            failed.join("\n"),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// The compiler's own encoder (`compiler/src/fast.rs`) takes every
/// example's expansion, as `tape expand` prints it, so none of them falls
/// back to `wast` (which writes the same module, more slowly). `typo` does
/// not compile.
fn every_example_compiles_through_the_fast_encoder() -> Result<(), tape_testkit::Failed> {
    let mut declined = Vec::new();
    for name in example_names().into_iter().filter(|name| name != "typo") {
        let dir = examples_dir().join(&name);
        let output = Command::new(env!("CARGO_BIN_EXE_tape"))
            .args(["expand", &format!("{name}.wat")])
            .current_dir(&dir)
            .output()
            .unwrap();
        let expanded = String::from_utf8(output.stdout).unwrap();
        if !output.status.success() {
            declined.push(format!(
                "{name}: tape expand failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        } else if !tape_compiler::fast_path_takes(&expanded) {
            declined.push(format!("{name}: left to wast"));
        }
    }
    if declined.is_empty() {
        Ok(())
    } else {
        Err(declined.join("\n").into())
    }
}

/// Each row of the README's table runs an example, and every example has
/// a row.
fn readme_and_examples_agree(
    commands: &BTreeMap<String, Vec<String>>,
    names: &[String],
) -> Result<(), String> {
    if names.len() < 12 {
        return Err(format!("the gallery has {} examples", names.len()));
    }
    let mut failures = Vec::new();
    for name in commands.keys() {
        if !names.contains(name) {
            failures.push(format!(
                "{name}: examples/README.md runs it, but there is no examples/{name}/{name}.wat"
            ));
        }
    }
    for name in names {
        if !commands.contains_key(name) {
            failures.push(format!(
                "{name}: no row of the table in examples/README.md runs it"
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Every directory in `examples/`: each must be an example.
fn example_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Each example's command, as words, from its row of the README's table:
/// the first `tape run …` in backticks on a line starting with `|`.
fn readme_commands() -> BTreeMap<String, Vec<String>> {
    let readme = std::fs::read_to_string(examples_dir().join("README.md")).unwrap();
    let mut commands = BTreeMap::new();
    for line in readme.lines().filter(|line| line.starts_with('|')) {
        let Some(command) = line
            .split('`')
            .skip(1)
            .step_by(2)
            .find(|span| span.starts_with("tape run "))
        else {
            continue;
        };
        let words = shlex::split(command)
            .unwrap_or_else(|| panic!("examples/README.md: cannot split `{command}` into words"));
        let name = words
            .iter()
            .find_map(|word| {
                let rest = word.strip_prefix("examples/")?.strip_suffix(".wat")?;
                let (dir, file) = rest.split_once('/')?;
                (dir == file).then(|| dir.to_string())
            })
            .unwrap_or_else(|| {
                panic!("examples/README.md: `{command}` runs no examples/NAME/NAME.wat")
            });
        let previous = commands.insert(name.clone(), words);
        assert!(
            previous.is_none(),
            "examples/README.md: two rows run {name}"
        );
    }
    commands
}

/// Runs one example as `command` says; what differs from its expected
/// files, if anything does.
fn run_example(name: &str, command: &[String]) -> Vec<String> {
    match try_run_example(name, command) {
        Ok(differences) => differences,
        Err(problem) => vec![format!("{name}: {problem}")],
    }
}

fn try_run_example(name: &str, command: &[String]) -> Result<Vec<String>, String> {
    let source = examples_dir().join(name);
    if !source.join(format!("{name}.wat")).is_file() {
        return Err(format!("examples/{name} has no {name}.wat"));
    }
    if command.get(..2) != Some(&["tape".to_string(), "run".to_string()]) {
        return Err("the README's command is not `tape run …`".into());
    }
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("examples").join(name);
    copy_dir(&source, &dir);
    let manifest: DocumentMut = std::fs::read_to_string(dir.join("tape.toml"))
        .map_err(|_| format!("examples/{name} has no tape.toml"))?
        .parse()
        .map_err(|e| format!("examples/{name}/tape.toml: {e}"))?;

    // The README's command, pointed at servers of the test's own.
    let mut args: Vec<String> = command[1..].to_vec();
    let mut flags = Vec::new();
    let mut servers = Vec::new();
    if manifest.contains_key("http") {
        let site_origin = format!("http://{SITE}");
        let allowed = manifest["http"]["allow"]
            .as_array()
            .is_some_and(|allow| allow.iter().any(|o| o.as_str() == Some(&site_origin)));
        if !allowed {
            return Err(format!(
                "its tape.toml has [http] but does not allow {site_origin}, where the README serves examples/"
            ));
        }
        let site = work.path().join("examples");
        let server = Server::start(move |request| serve_file(request, &site));
        let origin = format!("127.0.0.1:{}", server.port());
        for arg in &mut args {
            *arg = arg.replace(SITE, &origin);
        }
        flags.extend(["--allow-http".to_string(), format!("http://{origin}")]);
        servers.push(server);
    }
    if manifest.contains_key("ai") {
        let endpoint = format!("http://{AI}/v1");
        if manifest["ai"]["base-url"].as_str() != Some(&endpoint) {
            return Err(format!(
                "its tape.toml has [ai] but not base-url = \"{endpoint}\", where `cargo run --example ai_stub` answers"
            ));
        }
        let server = Server::start_raw(|stream| {
            let _ = ai_stub::serve(stream);
        });
        flags.extend(["--ai".to_string(), server.url("/v1")]);
        servers.push(server);
    }
    args.splice(1..1, flags);

    let mut differences = compare(name, "out", &run(&args, work.path()));
    if source.join(format!("{name}.again.out")).exists() {
        differences.extend(compare(name, "again.out", &run(&args, work.path())));
    }
    if differences.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![format!(
        "{name}: `tape {}` differs from examples/{name}/\n{}",
        args.join(" "),
        differences.join("\n")
    )])
}

/// What differs between `output` and the expected files of `name`, its
/// standard output being `NAME.{stdout}`; with `BLESS`, rewrites them
/// instead.
fn compare(name: &str, stdout: &str, output: &Output) -> Vec<String> {
    let code = output.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let exit = if code == 0 {
        String::new()
    } else {
        format!("{code}\n")
    };
    // Each file, what it should hold now, and whether it must exist: a
    // missing `.err` or `.exit` means "none" (empty, 0).
    let files = [
        (
            stdout,
            String::from_utf8_lossy(&output.stdout).into_owned(),
            true,
        ),
        ("err", stderr, false),
        ("exit", exit, false),
    ];
    let mut differences = Vec::new();
    for (extension, actual, required) in files {
        let path = examples_dir()
            .join(name)
            .join(format!("{name}.{extension}"));
        let expected = std::fs::read_to_string(&path).ok();
        let matches = match &expected {
            Some(expected) => *expected == actual,
            None => !required && actual.is_empty(),
        };
        if matches {
            continue;
        }
        if tape_testkit::blessing() {
            if actual.is_empty() && !required {
                std::fs::remove_file(&path).unwrap();
            } else {
                std::fs::write(&path, &actual).unwrap();
            }
            continue;
        }
        differences.push(format!(
            "{name}.{extension}:\n--- expected\n{}--- got\n{actual}---",
            expected.as_deref().unwrap_or("(no file)\n")
        ));
    }
    differences
}

fn run(args: &[String], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tape"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run tape")
}

/// Copies the directory tree `from` to `to`, leaving out `*.redb`: the
/// databases earlier runs of the README's commands left behind.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else if path.extension().is_none_or(|e| e != "redb") {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Answers one GET with the file under `root` its path names, as
/// `python3 -m http.server` does for the README's users; 404 for anything
/// else.
fn serve_file(request: &Request, root: &Path) -> Reply {
    let file = (request.method == "GET")
        .then(|| {
            Path::new(
                request
                    .path
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches('/'),
            )
        })
        .filter(|path| path.components().all(|c| matches!(c, Component::Normal(_))))
        .map(|path| root.join(path));
    match file.map(std::fs::read) {
        Some(Ok(body)) => Reply::ok(body),
        _ => Reply::status(404, "not found\n"),
    }
}
