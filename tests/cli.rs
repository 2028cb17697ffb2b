//! The `tape` command line, run as a process.
//!
//! Every case in `tests/cli/*.toml` is one trial: a command line with its
//! expected standard output, standard error and exit code
//! (`cargo test --test cli run-status` runs one). `BLESS=1` rewrites the
//! expectations from what `tape` does now. The cases a fixture cannot hold
//! are trials of their own below. (The examples in `examples/` have their
//! own runner, `tests/examples.rs`.)

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use toml_edit::{DocumentMut, Item, Table, value};

use tape_testkit::server::{Reply, Server};

fn tape() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tape"));
    // Plain text whatever the terminal, and help wrapped the same way on
    // every machine.
    command.env("NO_COLOR", "1").env("COLUMNS", "100");
    command
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn main() {
    let mut trials = tape_testkit::trials(&root().join("tests/cli"), "toml", |case| {
        run_case(case).map_or(Ok(()), Err)
    });
    trials.extend([
        tape_testkit::test(
            "patterns_match_any_text_within_a_line_only",
            patterns_match_any_text_within_a_line_only,
        ),
        tape_testkit::test(
            "build_writes_a_module_to_standard_output_with_dash",
            build_writes_a_module_to_standard_output_with_dash,
        ),
        tape_testkit::test(
            "a_built_module_runs_and_the_build_leaves_no_temporary_files",
            a_built_module_runs_and_the_build_leaves_no_temporary_files,
        ),
        tape_testkit::test(
            "an_agent_runs_a_program_with_an_object_made_from_its_argument_schema",
            an_agent_runs_a_program_with_an_object_made_from_its_argument_schema,
        ),
        tape_testkit::test(
            "a_stopped_run_leaves_its_memory_for_inspect",
            a_stopped_run_leaves_its_memory_for_inspect,
        ),
        tape_testkit::test(
            "a_profile_is_a_table_a_folded_file_a_flame_graph_and_json",
            a_profile_is_a_table_a_folded_file_a_flame_graph_and_json,
        ),
        tape_testkit::test(
            "a_recorded_fetch_replays_with_its_server_stopped",
            a_recorded_fetch_replays_with_its_server_stopped,
        ),
        tape_testkit::test(
            "a_terminal_gets_color_unless_no_color_is_set",
            a_terminal_gets_color_unless_no_color_is_set,
        ),
        tape_testkit::test(
            "a_source_that_is_not_utf8_is_a_located_compile_error",
            a_source_that_is_not_utf8_is_a_located_compile_error,
        ),
        tape_testkit::test(
            "https_is_verified_against_a_certificate_authority_granted_in_the_manifest_or_by_flag",
            https_is_verified_against_a_certificate_authority_granted_in_the_manifest_or_by_flag,
        ),
        tape_testkit::test(
            "a_program_deletes_with_http_request_and_reads_the_servers_answer",
            a_program_deletes_with_http_request_and_reads_the_servers_answer,
        ),
        tape_testkit::test(
            "kv_on_redis_is_shared_by_every_tape_run_naming_it",
            kv_on_redis_is_shared_by_every_tape_run_naming_it,
        ),
        tape_testkit::test(
            "the_binary_loads_no_shared_library_beyond_libc",
            the_binary_loads_no_shared_library_beyond_libc,
        ),
        tape_testkit::test(
            "a_timed_run_has_no_timeout_thread_and_stops_at_its_deadline",
            a_timed_run_has_no_timeout_thread_and_stops_at_its_deadline,
        ),
    ]);
    tape_testkit::run(trials);
}

/// One `tests/cli/*.toml` case:
///
/// ```toml
/// # What the case shows.
/// args = ["run", "echo.wat", "a"]   # the command line after `tape`
/// stdin = "…"                       # optional; otherwise none
/// before = [["build", "x.wat"]]     # optional; commands that must succeed first
/// status = 0                        # the exit code
/// stdout = "a\n"
/// stderr = ""
///
/// [files]                           # optional; written before the run
/// "x.wat" = "…"
/// ```
///
/// Each case runs in a fresh directory holding `tests/cli/programs/*` and
/// its `[files]`. In `stdout` and `stderr`, `[..]` stands for any text
/// within a line (timings, say); blessing keeps an expectation that still
/// matches, so the patterns survive it.
/// Runs one case; a description of what differs, if anything does.
fn run_case(path: &Path) -> Option<String> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let mut doc: DocumentMut = text
        .parse()
        .unwrap_or_else(|e| panic!("{name} is not valid TOML: {e}"));

    let work = tempfile::tempdir().unwrap();
    for program in std::fs::read_dir(root().join("tests/cli/programs")).unwrap() {
        let program = program.unwrap().path();
        std::fs::copy(&program, work.path().join(program.file_name().unwrap())).unwrap();
    }
    if let Some(files) = doc.get("files").and_then(Item::as_table_like) {
        for (file, contents) in files.iter() {
            let contents = contents
                .as_str()
                .unwrap_or_else(|| panic!("{name}: files.{file} is not a string"));
            let target = work.path().join(file);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, contents).unwrap();
        }
    }
    for before in doc
        .get("before")
        .and_then(Item::as_array)
        .into_iter()
        .flatten()
    {
        let args = strings(before, &name);
        let output = run(&args, None, work.path());
        if !output.status.success() {
            return Some(format!(
                "{name}: `tape {}` (before) failed:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    let args = strings(
        doc.get("args")
            .and_then(Item::as_value)
            .unwrap_or_else(|| panic!("{name} has no `args`")),
        &name,
    );
    let stdin = doc.get("stdin").and_then(Item::as_str).map(str::to_string);
    let output = run(&args, stdin.as_deref(), work.path());

    let status = i64::from(output.status.code().unwrap_or(-1));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let mut differences = Vec::new();
    if doc.get("status").and_then(Item::as_integer) != Some(status) {
        differences.push(format!(
            "exit code: expected {:?}, got {status}",
            doc.get("status").and_then(Item::as_integer)
        ));
        doc["status"] = value(status);
    }
    for (key, actual) in [("stdout", &stdout), ("stderr", &stderr)] {
        let wanted = doc.get(key).and_then(Item::as_str).map(str::to_string);
        if !wanted.as_deref().is_some_and(|w| matches(w, actual)) {
            differences.push(format!(
                "{key}:\n--- expected\n{}\n--- got\n{actual}\n---",
                wanted.as_deref().unwrap_or("(nothing given)")
            ));
            doc[key] = value(actual.as_str());
        }
    }
    if differences.is_empty() {
        return None;
    }
    if tape_testkit::blessing() {
        order_keys(doc.as_table_mut());
        std::fs::write(path, doc.to_string()).unwrap();
        return None;
    }
    Some(format!(
        "{name}: `tape {}`\n{}\n",
        args.join(" "),
        differences.join("\n")
    ))
}

fn run(args: &[String], stdin: Option<&str>, dir: &Path) -> Output {
    let mut child = tape()
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tape");
    if let Some(stdin) = stdin {
        // `tape` may exit without reading its input (a usage error, say).
        let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        if let Err(e) = written {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    child.wait_with_output().unwrap()
}

fn strings(value: &toml_edit::Value, name: &str) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{name}: expected an array of strings"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{name}: expected strings"))
                .to_string()
        })
        .collect()
}

/// Keeps keys a blessing added in the usual order: after `args`, `stdin`
/// and `before`, then `status`, `stdout`, `stderr`.
fn order_keys(table: &mut Table) {
    let rank = |key: &str| match key {
        "args" => 0,
        "stdin" => 1,
        "before" => 2,
        "status" => 3,
        "stdout" => 4,
        "stderr" => 5,
        _ => 6,
    };
    table.sort_values_by(|a, _, b, _| rank(a.get()).cmp(&rank(b.get())));
}

/// Whether `actual` is `expected`, where `[..]` in `expected` stands for
/// any text within one line.
fn matches(expected: &str, actual: &str) -> bool {
    let expected: Vec<&str> = expected.split('\n').collect();
    let actual: Vec<&str> = actual.split('\n').collect();
    expected.len() == actual.len()
        && expected
            .iter()
            .zip(&actual)
            .all(|(pattern, line)| line_matches(pattern, line))
}

fn line_matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split("[..]");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn patterns_match_any_text_within_a_line_only() {
    assert!(matches("a\nb\n", "a\nb\n"));
    assert!(!matches("a\n", "a\nb\n"));
    assert!(matches("time [..]µs\n", "time 12.5µs\n"));
    assert!(matches("[..] of [..]\n", "3 of 10\n"));
    assert!(matches("x[..]", "x"));
    assert!(!matches("x[..]y", "xy\ny"));
    assert!(matches("a[..]ba", "aba"), "`[..]` may be empty");
    assert!(!matches("ab[..]ba", "aba"), "the parts may not overlap");
    assert!(!matches("time [..]µs", "time 12ms"));
}

/// What fixtures cannot hold: a binary module on standard output.
fn build_writes_a_module_to_standard_output_with_dash() {
    let output = tape()
        .args(["build", "tests/cli/programs/hello.wat", "-o", "-"])
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout.starts_with(b"\0asm\x01\0\0\0"));
    assert!(output.stderr.is_empty());
}

/// A module built by `tape build` runs as its source does, and `build`
/// leaves nothing but the module behind.
fn a_built_module_runs_and_the_build_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("hello.wasm");
    let source = root().join("tests/cli/programs/hello.wat");
    let status = tape()
        .arg("build")
        .arg(&source)
        .arg("-o")
        .arg(&module)
        .status()
        .unwrap();
    assert!(status.success());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["hello.wasm"]);
    let output = tape().arg("run").arg(&module).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello, world\n");
}

/// `tape run --dump FILE` on a run a limit stops writes its memory, and
/// `tape inspect FILE` shows where it stopped, the literals, the results
/// and the heap; a run that completes writes nothing.
fn a_stopped_run_leaves_its_memory_for_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("started.dump");
    let program = root().join("tests/cli/programs/started.wat");
    let output = tape()
        .args(["run", "--fuel", "1000", "--dump"])
        .arg(&dump)
        .arg(&program)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("note: the memory at the stop is in"),
        "{stderr}"
    );
    let shown = tape().arg("inspect").arg(&dump).output().unwrap();
    assert!(shown.status.success());
    let text = String::from_utf8_lossy(&shown.stdout);
    for expected in [
        "stopped: the program ran out of fuel after 1000 units",
        "started.wat:3:4",
        "static literals:",
        "line 6    \"started\"",
        "results handed over: 1",
        "  0  \"started\"",
        "heap: 0x",
    ] {
        assert!(text.contains(expected), "`{expected}` in:\n{text}");
    }
    let json = tape()
        .args(["inspect", "--json"])
        .arg(&dump)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["source"], "dump");
    assert_eq!(json["memory_size"], 65536);
    assert_eq!(json["results"][0]["value"], "started");
    assert_eq!(json["literals"][0]["value"], "started");

    // A run that completes leaves nothing.
    let fine = dir.path().join("hello.dump");
    let output = tape()
        .args(["run", "--dump"])
        .arg(&fine)
        .arg(root().join("tests/cli/programs/hello.wat"))
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!fine.exists());
}

/// `examples/fetch` recorded against a real server on loopback, then
/// replayed after the server is gone and its `kv` file deleted: the same
/// output, and the note that it ended as recorded.
fn a_recorded_fetch_replays_with_its_server_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let example = dir.path().join("fetch");
    std::fs::create_dir(&example).unwrap();
    for file in ["fetch.wat", "tape.toml"] {
        std::fs::copy(root().join("examples/fetch").join(file), example.join(file)).unwrap();
    }
    let server = Server::start(|request| match request.path.as_str() {
        "/hello.txt" => Reply::ok("Hello from a server that will be gone."),
        _ => Reply::status(404, "no"),
    });
    let url = server.url("/hello.txt");
    let recorded = tape()
        .args([
            "run",
            "--allow-http",
            &server.origin(),
            "--record",
            "fetch.trace",
        ])
        .arg("fetch/fetch.wat")
        .arg(&url)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        recorded.status.success(),
        "{}",
        String::from_utf8_lossy(&recorded.stderr)
    );
    assert_eq!(server.requests().len(), 1);
    drop(server);
    std::fs::remove_file(example.join("pages.redb")).unwrap();
    let replayed = tape()
        .args(["replay", "fetch.trace"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&replayed.stderr);
    assert!(replayed.status.success(), "{stderr}");
    assert_eq!(replayed.stdout, recorded.stdout);
    assert!(
        stderr.contains("note: replayed 3 capability calls from `fetch.trace`: the same status, results and fuel"),
        "{stderr}"
    );
    assert!(
        !example.join("pages.redb").exists(),
        "a replay opens no store"
    );
}

/// `tape run --profile` on a run of some milliseconds: the table on
/// standard error names the hot function and line, `--folded` and
/// `--flamegraph` write their files, and `--json` carries the profile.
fn a_profile_is_a_table_a_folded_file_a_flame_graph_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let program = root().join("tests/cli/programs/primes.wat");
    let (svg, folded) = (dir.path().join("p.svg"), dir.path().join("p.folded"));
    let output = tape()
        .args(["run", "--profile", "--flamegraph"])
        .arg(&svg)
        .arg("--folded")
        .arg(&folded)
        .arg(&program)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "33860\n");
    let table: Vec<&str> = stderr.lines().collect();
    assert!(table[0].starts_with("profile: "), "{stderr}");
    assert!(table[0].contains(" samples every 100 µs: "), "{stderr}");
    assert!(
        table[2].contains("$is_prime  ("),
        "the hottest function first:\n{stderr}"
    );
    let hottest = table.iter().position(|l| *l == "hottest lines:").unwrap();
    assert!(table[hottest + 1].contains("primes.wat:"), "{stderr}");
    assert!(table[hottest + 1].contains("$is_prime"), "{stderr}");
    let folded = std::fs::read_to_string(&folded).unwrap();
    assert!(
        folded.lines().any(|l| l.starts_with("$run;$is_prime ")),
        "{folded}"
    );
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<?xml"), "{}", &svg[..100.min(svg.len())]);
    assert!(svg.contains("$is_prime"));

    let output = tape()
        .args(["run", "--json", "--profile"])
        .arg(&program)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let profile = &json["profile"];
    assert_eq!(profile["interval_us"], 100);
    assert!(profile["samples"].as_u64().unwrap() > 0, "{profile}");
    assert_eq!(profile["functions"][0]["function"], "$is_prime");
    assert!(
        profile["lines"][0]["at"]
            .as_str()
            .unwrap()
            .contains("primes.wat:")
    );
    assert!(
        profile["folded"]
            .as_str()
            .unwrap()
            .contains("$run;$is_prime ")
    );
}

/// What an agent that calls programs as tools does: it reads the JSON
/// Schema of a program's arguments from `tape inspect --json`, makes an
/// object that fits it (here, a value per property by its JSON type), and
/// runs the program with that object. The same holds for a module built
/// from it, whose `tape` section carries the declarations.
fn an_agent_runs_a_program_with_an_object_made_from_its_argument_schema() {
    let dir = tempfile::tempdir().unwrap();
    let source = root().join("tests/cli/programs/greet.wat");
    let module = dir.path().join("greet.wasm");
    let built = tape()
        .arg("build")
        .arg(&source)
        .arg("-o")
        .arg(&module)
        .status()
        .unwrap();
    assert!(built.success());
    for program in [&source, &module] {
        let output = tape()
            .args(["inspect", "--json"])
            .arg(program)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        let inspected: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let schema = &inspected["arguments_schema"];
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], serde_json::json!(["name"]));

        let mut object = serde_json::Map::new();
        for (name, property) in schema["properties"].as_object().unwrap() {
            let value = match property["type"].as_str() {
                Some("string") => serde_json::json!("Ada"),
                Some("integer") => {
                    let minimum = property["minimum"].as_i64().unwrap();
                    let maximum = property["maximum"].as_i64().unwrap();
                    assert!(minimum <= 3 && 3 <= maximum);
                    serde_json::json!(3)
                }
                other => panic!("{name}: an unexpected type {other:?}"),
            };
            object.insert(name.clone(), value);
        }
        let object = serde_json::Value::Object(object).to_string();
        let output = tape()
            .args(["run", "--args-json", &object])
            .arg(program)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "hello, Ada\nhello, Ada\nhello, Ada\n",
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(0));
    }
}

/// On a terminal, diagnostics are colored unless `NO_COLOR` is set to
/// something (<https://no-color.org>). util-linux `script` gives `tape` a
/// terminal.
fn a_terminal_gets_color_unless_no_color_is_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.wat"),
        "(func $run (result i32)\n  (i32.bogus))",
    )
    .unwrap();
    let on_terminal = |no_color: Option<&str>| {
        let command = format!("'{}' run bad.wat", env!("CARGO_BIN_EXE_tape"));
        let mut script = Command::new("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .current_dir(dir.path())
            .env_remove("NO_COLOR")
            .env("TERM", "xterm")
            .stdin(Stdio::null());
        if let Some(value) = no_color {
            script.env("NO_COLOR", value);
        }
        let output = script.output().expect("util-linux `script` runs");
        assert_eq!(output.status.code(), Some(3));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let colored = on_terminal(None);
    assert!(colored.contains("bad.wat:2:4"), "{colored}");
    assert!(colored.contains("\x1b["), "{colored}");
    assert!(
        on_terminal(Some("")).contains("\x1b["),
        "an empty NO_COLOR is unset"
    );
    let plain = on_terminal(Some("1"));
    assert!(plain.contains("bad.wat:2:4"), "{plain}");
    assert!(!plain.contains("\x1b["), "{plain}");
}

/// What fixtures cannot hold: a source that is not UTF-8, which is a
/// compile error located at the bad byte.
fn a_source_that_is_not_utf8_is_a_located_compile_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("latin1.wat"),
        b"(func $run (result i32)\n  (call $core.result \"caf\xe9\"))\n",
    )
    .unwrap();
    let output = tape()
        .args(["check", "latin1.wat"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: `latin1.wat` is not valid UTF-8: byte 0xe9\n  --> latin1.wat:2:26\n\
         help: WebAssembly text is UTF-8; write other bytes as `\\hh` escapes in strings\n"
    );
    let output = tape()
        .args(["run", "--json", "-"])
        .current_dir(dir.path())
        .stdin(std::fs::File::open(dir.path().join("latin1.wat")).unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            r#""diagnostics":[{"severity":"error","file":"<stdin>","line":2,"column":26,"#
        ),
        "{stdout}"
    );
}

/// What fixtures cannot hold: an HTTPS server on a port chosen at run time,
/// whose certificate authority exists only for this test. `tape run`
/// reaches it when the authority is granted in `tape.toml` (a path
/// relative to the manifest, not to the working directory) or with
/// `--http-ca`, and not otherwise: Mozilla's roots do not know it.
fn https_is_verified_against_a_certificate_authority_granted_in_the_manifest_or_by_flag() {
    let (server, ca) = Server::start_tls(|request| Reply::ok(format!("secure {}", request.path)));
    let (other, other_ca) = Server::start_tls(|_| Reply::ok("other"));
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("certs")).unwrap();
    std::fs::write(project.join("certs/ca.pem"), &ca).unwrap();
    std::fs::write(dir.path().join("other.pem"), &other_ca).unwrap();
    std::fs::copy(
        root().join("tests/cli/programs/fetch.wat"),
        project.join("fetch.wat"),
    )
    .unwrap();
    std::fs::write(
        project.join("tape.toml"),
        format!(
            "[http]\nallow = [\"{}\"]\nroot-certificates = \"certs/ca.pem\"\n",
            server.origin()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let output = tape()
            .arg("run")
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let ok = |stdout: &str| (Some(0), stdout.to_string(), String::new());

    // From the manifest, run from its parent directory.
    let url = server.url("/manifest");
    assert_eq!(run(&["project/fetch.wat", &url]), ok("secure /manifest\n"));

    // From the flag alone.
    let origin = server.origin();
    let url = server.url("/flag");
    let flags = [
        "--no-manifest",
        "--allow-http",
        &origin,
        "--http-ca",
        "project/certs/ca.pem",
    ];
    assert_eq!(
        run(&[&flags[..], &["project/fetch.wat", &url]].concat()),
        ok("secure /flag\n")
    );

    // A flag's authority adds to the manifest's: both servers verify.
    let other_origin = other.origin();
    let flags = [
        "--allow-http",
        &other_origin,
        "--http-ca",
        "other.pem",
        "project/fetch.wat",
    ];
    let url = other.url("/");
    assert_eq!(run(&[&flags[..], &[&url]].concat()), ok("other\n"));
    let url = server.url("/both");
    assert_eq!(run(&[&flags[..], &[&url]].concat()), ok("secure /both\n"));

    // Without the authority the handshake fails, and nothing is sent.
    let before = server.requests().len();
    let url = server.url("/unverified");
    let (code, stdout, stderr) = run(&[
        "--no-manifest",
        "--allow-http",
        &origin,
        "project/fetch.wat",
        &url,
    ]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    // The run says why, at the call.
    assert!(
        stderr.starts_with(
            "error: the program returned status 6 (I/O failure), from `http.get_body`: "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("invalid peer certificate: UnknownIssuer"),
        "{stderr}"
    );
    assert!(stderr.contains("--> project/fetch.wat:5:4"), "{stderr}");
    // Nor does another authority's certificate stand in for it.
    let (code, _, stderr) = run(&[
        "--no-manifest",
        "--allow-http",
        &origin,
        "--http-ca",
        "other.pem",
        "project/fetch.wat",
        &url,
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(server.requests().len(), before);
}

/// `tape run` with `http.request`, against a server on a port chosen at
/// run time: the DELETE arrives with its method and header, and the
/// server's 404 is an answer the program reads (exit 0), where no server at
/// all is a failure with its reason.
fn a_program_deletes_with_http_request_and_reads_the_servers_answer() {
    let server = Server::start(|request| match request.path.as_str() {
        "/items/7" => Reply::ok(format!("deleted by {}", request.method)),
        _ => Reply::status(404, "no such item"),
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/cli/programs/delete.wat"),
        dir.path().join("delete.wat"),
    )
    .unwrap();
    let run = |origin: &str, url: &str| {
        let output = tape()
            .args(["run", "--allow-http", origin, "delete.wat", url])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let origin = server.origin();
    assert_eq!(
        run(&origin, &server.url("/items/7")),
        (
            Some(0),
            "200\ndeleted by DELETE\n".to_string(),
            String::new()
        )
    );
    assert_eq!(
        run(&origin, &server.url("/items/8")),
        (Some(0), "404\nno such item\n".to_string(), String::new())
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|r| r.method == "DELETE" && r.header("authorization") == Some("Bearer t"))
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, stdout, stderr) = run(&origin, &format!("{origin}/items/7"));
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: the program returned status 6 (I/O failure), from `http.request`: "
        ) && stderr.contains("the connection was refused"),
        "{stderr}"
    );
}

/// `--kv redis://…` keeps the store on a real Redis: runs from different
/// directories, as different machines would be, count on one counter.
fn kv_on_redis_is_shared_by_every_tape_run_naming_it() {
    let redis = tape_testkit::redis::RedisServer::start();
    let program = root().join("tests/cli/programs/visits.wat");
    let program = program.to_str().unwrap().to_string();
    for expected in ["1\n1\nthe first run\n-1\n", "2\n0\nthe first run\n-1\n"] {
        let dir = tempfile::tempdir().unwrap();
        let args = [
            "run".to_string(),
            "--kv".into(),
            redis.url(),
            program.clone(),
        ];
        let output = run(&args, None, dir.path());
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected,
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Every shared library the binary names is one more the dynamic loader
/// maps and relocates at every start: `tape` needs glibc's own (libc, the
/// loader, and libgcc for unwinding where `build.rs` could not link the
/// unwinder in) and nothing else. libm came back once
/// with a dependency's `f64::powf` (tokio's), and cost `tape run` about
/// 5% of its start; `main.rs` defines `pow` for that.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_binary_loads_no_shared_library_beyond_libc() {
    use object::elf;
    use object::read::elf::{Dyn, FileHeader};
    let data = std::fs::read(env!("CARGO_BIN_EXE_tape")).expect("the binary reads");
    let header = elf::FileHeader64::<object::Endianness>::parse(&*data).expect("an ELF file");
    let endian = header.endian().expect("an ELF file");
    let sections = header.sections(endian, &*data).expect("its sections");
    let (dynamic, link) = sections
        .dynamic(endian, &*data)
        .expect("its dynamic section")
        .expect("tape is dynamically linked");
    let strings = sections.strings(endian, &*data, link).expect("its strings");
    let needed: Vec<String> = dynamic
        .iter()
        .filter(|entry| entry.tag32(endian).map(i64::from) == Some(elf::DT_NEEDED))
        .map(|entry| String::from_utf8_lossy(entry.string(endian, strings).unwrap()).into_owned())
        .collect();
    assert!(needed.iter().any(|lib| lib == "libc.so.6"), "{needed:?}");
    let allowed = [
        "libc.so.6",
        "libgcc_s.so.1",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
    ];
    let extra: Vec<_> = needed
        .iter()
        .filter(|lib| !allowed.contains(&lib.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "tape needs {extra:?} besides glibc's own (all: {needed:?}); find the symbols it takes from them with `nm -D --undefined-only`"
    );
    // `build.rs` links the unwinder in where the C compiler has it (it
    // does on this kind of machine): then the loader has one library less
    // to load at every start.
    if option_env!("TAPE_STATIC_UNWINDER").is_some() {
        assert!(
            !needed.iter().any(|lib| lib == "libgcc_s.so.1"),
            "build.rs linked the unwinder in, yet tape needs libgcc_s.so.1: {needed:?}"
        );
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn the_binary_loads_no_shared_library_beyond_libc() {}

/// `tape run` stops a timed run with a timer signal (`Timer::Signal`),
/// not a thread of the engine's: a thread would cost a short run about
/// 100 µs to start (`benches/process.rs`). Seen from outside, while a
/// program from the cache spins: the process has one thread, and it is
/// stopped as its time is up, with the timeout's error.
#[cfg(target_os = "linux")]
fn a_timed_run_has_no_timeout_thread_and_stops_at_its_deadline() {
    let work = tempfile::tempdir().unwrap();
    let spin = work.path().join("spin.wat");
    std::fs::write(
        &spin,
        "(func $run (result i32) (loop $l (br $l)) (i32.const 0))",
    )
    .unwrap();
    // Compiling runs on threads of its own (the compile budget's, and
    // wasmtime's parallel compilation): a first run fills the cache, so
    // that the second has nothing to compile.
    let first = tape()
        .args(["run", "--timeout", "100ms"])
        .arg(&spin)
        .env("XDG_CACHE_HOME", work.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(5), "{first:?}");
    let start = std::time::Instant::now();
    let child = tape()
        .args(["run", "--timeout", "1500ms"])
        .arg(&spin)
        .env("XDG_CACHE_HOME", work.path().join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Spinning, well before the deadline.
    let threads = || {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", child.id())).unwrap();
        tasks
            .map(|task| std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap())
            .map(|name| name.trim().to_string())
            .collect::<Vec<_>>()
    };
    std::thread::sleep(std::time::Duration::from_millis(700));
    let seen = threads();
    let output = child.wait_with_output().unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(seen, ["tape"], "the threads of a spinning `tape run`");
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("stopped after its 1.5s timeout"),
        "{stderr}"
    );
    assert!(took >= std::time::Duration::from_millis(1500), "{took:?}");
}

#[cfg(not(target_os = "linux"))]
fn a_timed_run_has_no_timeout_thread_and_stops_at_its_deadline() {}
