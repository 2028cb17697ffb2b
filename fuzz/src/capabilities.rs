//! `capabilities`: random guests that call every capability import with
//! random pointers, lengths, handles and memory contents, under tight
//! limits, against the real capabilities: `log`, an in-memory `kv`, `fs`
//! in a temporary directory, `json`, a fixed `time`, a seeded `rand`,
//! `http` with an allow-list that refuses everything, and `ai` pointed at
//! a closed loopback port.
//!
//! The guest does nothing but call host functions and keep what they
//! return (pointers, handles) in locals that later calls take as
//! arguments, so every way a run can end is the host's doing. Oracle:
//! - a run ends with status 0, or with `ErrorKind::BadPointer`,
//!   `ErrorKind::OutOfFuel`, `ErrorKind::MemoryExhausted` or
//!   `ErrorKind::Timeout`: a pointer outside memory, or a limit. A host panic
//!   (`ErrorKind::HostPanic`), an internal error (`ErrorKind::Internal`) or a trap
//!   the guest did not cause (`ErrorKind::Trap`) fails;
//! - the memory it reports never passes its cap;
//! - every line logged is free of control characters;
//! - `fs` writes nothing outside its directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Result, Unstructured};
use tape_caps::{Ai, Fs, Http, Json, Kv, Log, Rand, Stdin, Time};
use tape_rt::{Args, CORE_SPEC, Config, Engine, ErrorKind, Grants, Limits};

/// The run's limits: tight, so that a run is quick whatever it does.
fn limits() -> Limits {
    Limits {
        fuel: Some(1_000_000),
        timeout: Some(Duration::from_secs(1)),
        max_memory: 1 << 20,
        max_result_bytes: 64 << 10,
    }
}

/// Pointers worth trying, besides those into the guest's own data: the
/// first bytes, the end of the first page, past the cap, the top of the
/// address space.
const EDGES: [i32; 10] = [
    0,
    1,
    8,
    0xfffc,
    0xffff,
    0x1_0000,
    0xf_fffc,
    0x10_0000,
    i32::MAX,
    -1,
];

/// Texts the capabilities parse, so the fuzzer starts from inputs that get
/// past the first check: keys, paths (inside and outside the directory),
/// JSON documents and pointers, URLs, chat messages.
const WORDS: &[&str] = &[
    "",
    "k",
    "key/with/slashes",
    "notes.txt",
    "dir/sub/file.bin",
    ".",
    "../escape",
    "/etc/passwd",
    "a/../../b",
    "dir/",
    "nul\0byte",
    "{\"a\":[1,2.5,\"x\",null,true],\"b\":{\"c\":-7}}",
    "[[[[[]]]]]",
    "/a/0",
    "/b/c",
    "~1~0",
    "http://127.0.0.1:9/",
    "https://example.com/path?q=1",
    "X-Header: value\r\n",
    "[{\"role\":\"user\",\"content\":\"hi\"}]",
    "\u{1b}[31mred\n",
];

/// One import: its module, name and parameter and result types.
#[derive(Debug, Clone)]
struct Import {
    module: String,
    name: String,
    params: Vec<&'static str>,
    results: Vec<&'static str>,
}

/// Every function of every capability the guest is granted, from their
/// own catalogue entries, so a capability added later is fuzzed too.
fn imports() -> &'static [Import] {
    static IMPORTS: OnceLock<Vec<Import>> = OnceLock::new();
    IMPORTS.get_or_init(|| {
        let mut imports = Vec::new();
        for spec in std::iter::once(CORE_SPEC).chain(tape_caps::SPECS) {
            for function in spec.functions {
                let (params, results) = signature(function);
                imports.push(Import {
                    module: spec.name.to_string(),
                    name: function.name.to_string(),
                    params,
                    results,
                });
            }
        }
        imports
    })
}

/// The parameter and result types of a catalogue function, as words.
fn signature(function: &tape_rt::Function) -> (Vec<&'static str>, Vec<&'static str>) {
    let types = function
        .types()
        .unwrap_or_else(|e| panic!("a capability signature: {e}"));
    let word = |ty: &tape_rt::ValueType| match ty {
        tape_rt::ValueType::I64 => "i64",
        tape_rt::ValueType::F32 => "f32",
        tape_rt::ValueType::F64 => "f64",
        _ => "i32",
    };
    (
        types.params.iter().map(word).collect(),
        types.results.iter().map(word).collect(),
    )
}

/// How many locals keep results for later calls.
const SLOTS: usize = 8;

/// Where the guest's own values start.
const DATA_START: u32 = 16;

/// A guest program built from the input.
#[derive(Debug)]
struct Guest {
    /// The data segment at [`DATA_START`]: length-prefixed values, then
    /// raw bytes.
    data: Vec<u8>,
    /// The function body, as WAT.
    body: String,
    /// The memory's maximum, in pages, if any.
    max_pages: Option<u32>,
    /// The run's arguments.
    args: Vec<String>,
}

impl Guest {
    fn generate(u: &mut Unstructured<'_>) -> Result<Guest> {
        let mut data = Vec::new();
        let mut values = Vec::new();
        for _ in 0..u.int_in_range(0..=8)? {
            values.push(DATA_START + data.len() as u32);
            let bytes: Vec<u8> = if u.ratio(1, 2)? {
                u.choose(WORDS)?.as_bytes().to_vec()
            } else {
                u.arbitrary()?
            };
            // Mostly the true length; sometimes a lie.
            let len = if u.ratio(1, 8)? {
                u.arbitrary()?
            } else {
                bytes.len() as u32
            };
            data.extend_from_slice(&len.to_le_bytes());
            data.extend_from_slice(&bytes);
            while data.len() % 4 != 0 {
                data.push(0);
            }
        }
        let raw: Vec<u8> = u.arbitrary()?;
        data.extend_from_slice(&raw[..raw.len().min(512)]);

        let imports = imports();
        let mut body = String::new();
        for _ in 0..u.int_in_range(1..=24)? {
            let import = u.choose(imports)?;
            write!(body, "    (call ${}.{}", import.module, import.name).expect("a string");
            for param in &import.params {
                body.push(' ');
                body.push_str(&argument(u, param, &values)?);
            }
            body.push_str(")\n");
            // Keep i32 results, the last one first as the stack pops.
            for result in import.results.iter().rev() {
                if *result == "i32" {
                    let slot = u.choose_index(SLOTS)?;
                    writeln!(body, "    (local.set $r{slot})").expect("a string");
                } else {
                    body.push_str("    (drop)\n");
                }
            }
        }
        let max_pages = if u.arbitrary()? {
            Some(u.int_in_range(1..=32)?)
        } else {
            None
        };
        let mut args = Vec::new();
        for _ in 0..u.int_in_range(0..=2)? {
            args.push(u.choose(WORDS)?.to_string());
        }
        Ok(Guest {
            data,
            body,
            max_pages,
            args,
        })
    }

    fn source(&self) -> String {
        let mut text = String::from("(module\n");
        match self.max_pages {
            Some(max) => writeln!(text, "  (memory 1 {max})"),
            None => writeln!(text, "  (memory 1)"),
        }
        .expect("a string");
        write!(text, "  (data (i32.const {DATA_START}) \"").expect("a string");
        for byte in &self.data {
            write!(text, "\\{byte:02x}").expect("a string");
        }
        text.push_str("\")\n  (func $run (result i32)\n");
        for slot in 0..SLOTS {
            writeln!(text, "    (local $r{slot} i32)").expect("a string");
        }
        text.push_str(&self.body);
        text.push_str("    (i32.const 0)))\n");
        text
    }
}

/// One argument of type `ty`: for an i32, a pointer to one of the guest's
/// values, a result kept from an earlier call, an edge value or any
/// number.
fn argument(u: &mut Unstructured<'_>, ty: &str, values: &[u32]) -> Result<String> {
    Ok(match ty {
        "i32" => match u.choose_index(4)? {
            0 if !values.is_empty() => format!("(i32.const {})", u.choose(values)?),
            1 => format!("(local.get $r{})", u.choose_index(SLOTS)?),
            2 => format!("(i32.const {})", u.choose(&EDGES)?),
            _ => format!("(i32.const {})", u.arbitrary::<i32>()?),
        },
        "i64" => format!("(i64.const {})", u.arbitrary::<i64>()?),
        "f32" => format!("(f32.const {})", float_text(u.arbitrary::<f32>()?.into())),
        _ => format!("(f64.const {})", float_text(u.arbitrary()?)),
    })
}

/// A float as WAT text. An `f32` widened to `f64` prints a value that
/// rounds back to itself as an `f32` literal.
fn float_text(x: f64) -> String {
    match x {
        x if x.is_nan() => "nan".into(),
        f64::INFINITY => "inf".into(),
        f64::NEG_INFINITY => "-inf".into(),
        x => format!("{x:e}"),
    }
}

/// The engine every run shares.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(Config {
            cache_dir: None,
            memory_cache: 0,
            ..Config::default()
        })
        .expect("an engine")
    })
}

/// The directory `fs` is granted: a `root` inside a temporary directory of
/// its own, so that anything written beside `root` is an escape. One per
/// thread, as the tests run in parallel.
struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().join("root");
        Sandbox { _dir: dir, root }
    }
}

thread_local! {
    static SANDBOX: Sandbox = Sandbox::new();
}

/// Fresh capabilities for one run: an empty kv and an empty directory, so
/// that an input replays the same way whatever ran before it.
fn grants(root: &Path) -> Grants {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir(root).expect("the fs directory");
    Grants::new()
        .grant(Log::new().sink(|level, line| {
            assert!(
                !line.chars().any(char::is_control),
                "a {level:?} line reached the log with a control character: {line:?}"
            );
        }))
        .grant(Kv::in_memory().expect("an in-memory kv"))
        .grant(Fs::read_write(root).expect("fs"))
        .grant(Json::new())
        .grant(Time::fixed(
            1_700_000_000_000_000_000,
            Duration::from_millis(1),
        ))
        .grant(Rand::seeded(7))
        .grant(Http::new().timeout(Duration::from_millis(200)))
        .grant(Ai::new("http://127.0.0.1:9", "fuzz").timeout(Duration::from_millis(200)))
        .grant(Stdin::bytes(b"standard input for the fuzzer".to_vec()).max_bytes(64))
}

/// How runs ended: see [`Counts`](crate::Counts).
pub fn counts() -> &'static crate::Counts {
    static COUNTS: OnceLock<crate::Counts> = OnceLock::new();
    COUNTS.get_or_init(crate::Counts::default)
}

fn count(what: &'static str) {
    counts().add(what, "capabilities", "runs");
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(guest) = Guest::generate(&mut u) else {
        return;
    };
    SANDBOX.with(|sandbox| run(&guest, &sandbox.root));
}

fn run(guest: &Guest, root: &Path) {
    let source = guest.source();
    let grants = grants(root);
    let program = engine()
        .compile_str("guest.wat", &source, &grants)
        .unwrap_or_else(|e| panic!("the generated guest does not compile: {e}\n{source}"));
    let limits = limits();
    let result = program.run_with(&Args::strings(&guest.args), &limits);
    count("runs");
    count(match result.as_ref().map_err(|e| e.kind()) {
        Ok(_) => "completed",
        Err(ErrorKind::BadPointer { .. }) => "bad pointer",
        Err(ErrorKind::OutOfFuel { .. }) => "out of fuel",
        Err(ErrorKind::MemoryExhausted { .. }) => "memory exhausted",
        Err(ErrorKind::Timeout { .. }) => "timed out",
        Err(_) => "other",
    });
    match result {
        Ok(outcome) => {
            assert_eq!(outcome.status, 0, "the guest returns 0");
            assert!(
                outcome.usage.peak_memory <= limits.max_memory,
                "memory grew to {} bytes past the {}-byte cap",
                outcome.usage.peak_memory,
                limits.max_memory
            );
        }
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::BadPointer { .. }
                    | ErrorKind::OutOfFuel { .. }
                    | ErrorKind::MemoryExhausted { .. }
                    | ErrorKind::Timeout { .. }
            ) => {}
        Err(error) => panic!("the run failed with {error:?}: {error}\n{source}"),
    }
    let parent = root.parent().expect("root has a parent");
    let beside: Vec<_> = std::fs::read_dir(parent)
        .expect("the temporary directory")
        .map(|entry| entry.expect("an entry").file_name())
        .filter(|name| name != "root")
        .collect();
    assert!(
        beside.is_empty(),
        "fs wrote outside its directory: {beside:?}\n{source}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    replay_tests!(capabilities, 300, 1024, {
        // Shared with the corpus test, so only floors are certain.
        let counts = counts();
        assert!(counts.get("runs") >= 300, "{}", counts.summary());
        assert!(counts.get("completed") >= 30, "{}", counts.summary());
        assert!(counts.get("bad pointer") >= 30, "{}", counts.summary());
    });

    #[test]
    fn every_capability_is_called() {
        let modules: std::collections::BTreeSet<&str> =
            imports().iter().map(|i| i.module.as_str()).collect();
        assert_eq!(
            modules.into_iter().collect::<Vec<_>>(),
            [
                "ai", "core", "fs", "http", "json", "kv", "log", "rand", "stdin", "time"
            ]
        );
        assert!(imports().len() > 40, "only {} imports", imports().len());
    }
}
