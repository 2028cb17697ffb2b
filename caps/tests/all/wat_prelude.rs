//! WAT helpers for the capability tests, so each guest reads as the steps
//! it takes: `$ok` keeps the value of a `(value, status)` pair and traps on
//! any status but 0; `$st` keeps only the status; `$must` traps on a
//! non-zero status; `$emit…` hand a number over as a result, and `$out`
//! the value at a pointer. Also: the capability docs' examples compile.

use tape_rt::{Grants, Outcome, Program};

const PRELUDE: &str = r#"
(func $ok (param $v i32) (param $s i32) (result i32)
  (if (local.get $s) (then unreachable))
  (local.get $v))
(func $ok64 (param $v i64) (param $s i32) (result i64)
  (if (local.get $s) (then unreachable))
  (local.get $v))
(func $okf (param $v f64) (param $s i32) (result f64)
  (if (local.get $s) (then unreachable))
  (local.get $v))
(func $st (param $v i32) (param $s i32) (result i32) (local.get $s))
(func $st64 (param $v i64) (param $s i32) (result i32) (local.get $s))
(func $stf (param $v f64) (param $s i32) (result i32) (local.get $s))
(func $must (param $s i32)
  (if (local.get $s) (then unreachable)))
(func $arg (param $n i32) (result i32)
  (call $ok (call $core.arg (local.get $n))))
(func $out (param $ptr i32)
  (call $must (call $core.result (local.get $ptr))))
(func $emit (param $x i32)
  (local $p i32)
  (local.set $p (call $core.alloc (i32.const 8)))
  (i32.store (local.get $p) (i32.const 4))
  (i32.store offset=4 (local.get $p) (local.get $x))
  (call $out (local.get $p)))
(func $emit64 (param $x i64)
  (local $p i32)
  (local.set $p (call $core.alloc (i32.const 12)))
  (i32.store (local.get $p) (i32.const 8))
  (i64.store offset=4 (local.get $p) (local.get $x))
  (call $out (local.get $p)))
(func $emitf (param $x f64)
  (local $p i32)
  (local.set $p (call $core.alloc (i32.const 12)))
  (i32.store (local.get $p) (i32.const 8))
  (f64.store offset=4 (local.get $p) (local.get $x))
  (call $out (local.get $p)))
"#;

/// Compiles `body` with the helpers above.
pub fn guest(body: &str, grants: &Grants) -> Program {
    crate::program(&format!("{PRELUDE}\n{body}"), grants)
}

/// Every result of `outcome` emitted with `$emit`.
pub fn emitted(outcome: &Outcome) -> Vec<i32> {
    (0..outcome.results.len())
        .map(|i| outcome.result::<(i32,)>(i).unwrap().0)
        .collect()
}

/// Every WAT example in the `kv`, `fs`, `json`, `time` and `rand` sections
/// of `docs/capabilities.md` compiles and links.
#[test]
fn the_examples_in_the_capability_docs_compile() {
    let docs = include_str!("../../../docs/capabilities.md");
    let dir = tempfile::tempdir().unwrap();
    let grants = tape_caps::grants()
        .grant(tape_caps::Kv::in_memory().unwrap())
        .grant(tape_caps::Fs::read_write(dir.path()).unwrap())
        .grant(tape_caps::Json::new())
        .grant(tape_caps::Time::system())
        .grant(tape_caps::Rand::os());
    let mut compiled = Vec::new();
    for section in docs.split("\n## ").skip(1) {
        let name = section.lines().next().unwrap();
        if !["kv", "fs", "json", "time", "rand"].contains(&name) {
            continue;
        }
        for block in section.split("```wat\n").skip(1) {
            let source = block.split("```").next().unwrap();
            crate::engine()
                .compile_str(&format!("{name}.wat"), source, &grants)
                .unwrap_or_else(|e| panic!("the {name} example does not compile: {e}"));
            compiled.push(name);
        }
    }
    assert_eq!(compiled, ["kv", "kv", "fs", "json", "json", "time", "rand"]);
}

/// The `core` and `log` sections' examples run and do what their comments
/// say: the core one logs why a file could not be read and returns the
/// status, or hands the file over; the log one logs at three levels.
#[test]
fn the_core_and_log_examples_run() {
    use std::sync::{Arc, Mutex};
    let docs = include_str!("../../../docs/capabilities.md");
    let section = |name: &str| {
        let section = docs
            .split("\n## ")
            .find(|s| s.lines().next() == Some(name))
            .unwrap();
        let blocks: Vec<&str> = section
            .split("```wat\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert_eq!(blocks.len(), 1, "one example in `{name}`");
        blocks[0]
    };
    let dir = tempfile::tempdir().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let grants = tape_caps::grants()
        .grant(tape_caps::Fs::read_only(dir.path()).unwrap())
        .grant(tape_caps::Log::new().sink(move |level, text| {
            sink.lock().unwrap().push(format!("[{level}] {text}"));
        }));
    let core = crate::engine()
        .compile_str("core.wat", section("core"), &grants)
        .unwrap();
    let outcome = core.run(&tape_rt::Args::strings(["notes.txt"])).unwrap();
    assert_eq!(outcome.status, tape_rt::status::NOT_FOUND);
    assert_eq!(
        *lines.lock().unwrap(),
        ["[error] fs.read: there is no `notes.txt` in the granted directory"]
    );
    std::fs::write(dir.path().join("notes.txt"), "remember").unwrap();
    let outcome = core.run(&tape_rt::Args::strings(["notes.txt"])).unwrap();
    assert_eq!(outcome.status, 0);
    assert_eq!(outcome.result::<String>(0).unwrap(), "remember");

    lines.lock().unwrap().clear();
    let log = crate::engine()
        .compile_str("log.wat", section("log"), &grants)
        .unwrap();
    let outcome = log.run(&tape_rt::Args::new()).unwrap();
    assert_eq!(outcome.result::<String>(0).unwrap(), "done");
    assert_eq!(
        *lines.lock().unwrap(),
        [
            "[info] starting",
            "[debug] argc: 0",
            "[warn] no arguments; greeting the world"
        ]
    );
}
