//! `tape test`: run the test cases beside a program, each against the
//! capability replies it lists, offline.
//!
//! A program `NAME.wat` has its cases in `NAME.test.toml` (or
//! `NAME.test.json`) beside it: each gives arguments, maybe standard
//! input, the status and results expected, and the replies of the
//! capability calls the program makes, in order, recorded (`tape run
//! --record`, then `tape test --bless TRACE`) or written by hand. The
//! format is docs/testing.md.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tape_rt::trace::{Call, Trace, Value, stand_ins};
use tape_rt::{Config, Engine, Grants, Limits, Program, Run, Timer};

use crate::arg::{self, Arg};
use crate::failure::{Failure, Kind};
use crate::input::{Input, SourceOpts};
use crate::output::{ERROR, NOTE, Output, OutputOpts};

const AFTER_HELP: &str = "\
Test files:
  A program NAME.wat has its cases in NAME.test.toml (or NAME.test.json)
  beside it. Each [[case]] gives `args` (words as `tape run` takes them),
  maybe `stdin`, the `status` and `results` expected, and under
  [[case.calls]] the reply of each capability call the program makes, in
  order. `json` and `log` run for real unless `live` says otherwise; every
  other capability answers from the calls, and nothing reaches a file, a
  database or the network. docs/testing.md has the format.

Turning a run into a test:
  tape run --record saves.trace fetch.wat http://127.0.0.1:8000/a.txt
  tape test --bless saves.trace      adds the case `saves` to fetch.test.toml

Examples:
  tape test                          every test file under the current directory
  tape test examples/fetch           one example's cases
  tape test --bless fetch.wat        expect what the program does now

Exit codes: 0 every case passed, 1 a case failed, 2 usage or a bad test
file, 3 a program that does not compile.";

/// Run the test cases beside programs, offline, against the capability
/// replies they list
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Opts {
    /// Rewrite each case's expected `status` and `results` from what the
    /// program does now; a TRACE (from `tape run --record`) becomes a case
    /// of its program's test file, named after the trace
    #[arg(long)]
    bless: bool,
    /// Run only the cases whose name contains TEXT
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    #[command(flatten)]
    source: SourceOpts,
    #[command(flatten)]
    output: OutputOpts,
    /// Programs, test files, directories (searched for test files), or
    /// with --bless traces [default: .]
    #[arg(help_heading = "Arguments", value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// A test file, as written.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// The program, relative to the test file [default: NAME.wat beside
    /// NAME.test.toml, else NAME.wasm].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    program: Option<String>,
    #[serde(default, rename = "case")]
    cases: Vec<Case>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Words as `tape run` takes them after FILE, or `{ hex = "…" }` for a
    /// wire value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    args: Vec<Data>,
    /// The run's standard input: `stdin` then runs for real on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stdin: Option<Data>,
    /// Capabilities that run for real rather than answer from `calls`.
    #[serde(default = "default_live", skip_serializing_if = "is_default_live")]
    live: Vec<String>,
    /// The status `run` returns [default: 0].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<i32>,
    /// The results, in order; not checked when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    results: Option<Vec<Data>>,
    /// Text the error that stops the run contains, for a case that
    /// expects it to stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stops: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    calls: Vec<CallCase>,
}

/// One capability call of a case, and its reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallCase {
    /// `kv.get`.
    call: String,
    /// What the program must send, parameter by parameter; anything when
    /// left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent: Option<Vec<Item>>,
    /// What the call gives back, result by result: data where it returns
    /// a pointer, numbers elsewhere.
    reply: Vec<Item>,
    /// Bytes the call writes at the pointer it is given (`rand.fill`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filled: Option<Data>,
    /// Why it failed, what `core.reason` then reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The error the call stopped the run with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// A parameter or a result: a number, or data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Item {
    Int(i64),
    Float(f64),
    Data(Data),
}

/// Bytes: text when they are UTF-8, a sequence of strings as `kv.list`
/// replies, else hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum Data {
    Text(String),
    Strings { strings: Vec<String> },
    Http { http: HttpReply },
    Hex { hex: String },
}

/// The reply of `http.get`, `post` and `request`, as fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpReply {
    status: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    headers: Vec<(String, String)>,
    body: Box<Data>,
}

impl HttpReply {
    /// The reply's fields, if `bytes` is exactly one.
    fn decode(bytes: &[u8]) -> Option<HttpReply> {
        fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
            let (len, rest) = bytes.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            let taken = rest.get(..len)?;
            *bytes = &rest[len..];
            Some(taken)
        }
        let (status, mut rest) = bytes.split_first_chunk::<4>()?;
        let mut headers = take(&mut rest)?;
        let body = take(&mut rest)?;
        if !rest.is_empty() {
            return None;
        }
        let mut pairs = Vec::new();
        while !headers.is_empty() {
            let mut pair = take(&mut headers)?;
            let name = std::str::from_utf8(take(&mut pair)?).ok()?;
            let value = std::str::from_utf8(take(&mut pair)?).ok()?;
            if !pair.is_empty() {
                return None;
            }
            pairs.push((name.to_string(), value.to_string()));
        }
        Some(HttpReply {
            status: u32::from_le_bytes(*status),
            headers: pairs,
            body: Box::new(Data::of(body)),
        })
    }

    fn encode(&self) -> Result<Vec<u8>, String> {
        fn push(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let mut pair = Vec::new();
            push(&mut pair, name.as_bytes());
            push(&mut pair, value.as_bytes());
            push(&mut headers, &pair);
        }
        let mut out = self.status.to_le_bytes().to_vec();
        push(&mut out, &headers);
        push(&mut out, &self.body.bytes()?);
        Ok(out)
    }
}

fn default_live() -> Vec<String> {
    vec!["json".into(), "log".into()]
}

fn is_default_live(live: &[String]) -> bool {
    live == default_live()
}

/// Capabilities a case may run for real: those whose answers depend only
/// on the run (a fresh store in memory for `kv`, the fixed clock, the
/// seeded generator).
const LIVE: &[&str] = &["json", "log", "kv", "time", "rand", "stdin"];

impl Data {
    /// The most readable form that gives back `bytes`: text without control
    /// characters, else a sequence of such strings, else any text, else
    /// hexadecimal.
    fn of(bytes: &[u8]) -> Data {
        let plain = |text: &str| {
            !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        };
        let text = std::str::from_utf8(bytes).ok();
        if let Some(text) = text.filter(|t| plain(t)) {
            return Data::Text(text.into());
        }
        if let Some(strings) = strings(bytes).filter(|s| s.iter().all(|s| plain(s))) {
            return Data::Strings { strings };
        }
        match text {
            Some(text) => Data::Text(text.into()),
            None => Data::Hex {
                hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            },
        }
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Data::Text(text) => Ok(text.as_bytes().to_vec()),
            Data::Strings { strings } => {
                let mut bytes = Vec::new();
                for s in strings {
                    bytes.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    bytes.extend_from_slice(s.as_bytes());
                }
                Ok(bytes)
            }
            Data::Http { http } => http.encode(),
            Data::Hex { hex } => {
                let hex: String = hex.split_whitespace().collect();
                if !hex.len().is_multiple_of(2) {
                    return Err(format!("`{hex}` has an odd number of hexadecimal digits"));
                }
                (0..hex.len())
                    .step_by(2)
                    .map(|i| {
                        u8::from_str_radix(&hex[i..i + 2], 16)
                            .map_err(|_| format!("`{hex}` is not hexadecimal"))
                    })
                    .collect()
            }
        }
    }
}

/// `bytes` as whole `[u32 len][utf-8]` strings one after another, if they
/// are (and there is at least one).
fn strings(mut bytes: &[u8]) -> Option<Vec<String>> {
    let mut strings = Vec::new();
    while let Some((len, rest)) = bytes.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let text = rest.get(..len)?;
        strings.push(std::str::from_utf8(text).ok()?.to_string());
        bytes = &rest[len..];
    }
    (bytes.is_empty() && !strings.is_empty()).then_some(strings)
}

/// What one case came to.
#[derive(Debug, Serialize)]
struct CaseReport {
    file: String,
    program: String,
    name: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    blessed: bool,
    /// What the program logged, shown for a failing case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logs: Vec<String>,
}

#[derive(Serialize)]
struct Body {
    cases: Vec<CaseReport>,
    passed: usize,
    failed: usize,
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("test", &opts.output);
    match execute(&opts, out) {
        Ok((body, failure)) => out.finish(Some(&body), failure),
        Err(failure) => out.fail("", failure),
    }
}

fn execute(opts: &Opts, out: Output) -> Result<(Body, Option<Failure>), Failure> {
    let paths = if opts.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        opts.paths.clone()
    };
    let mut files = Vec::new();
    for path in &paths {
        if path.extension().is_some_and(|e| e == "trace") {
            if !opts.bless {
                return Err(Failure::usage(format!(
                    "`{}` is a trace; `tape test --bless` turns it into a case",
                    path.display()
                ))
                .help(format!("run `tape test --bless {}`", path.display())));
            }
            files.push(case_from_trace(path)?);
        } else {
            files.extend(test_files(path)?);
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        return Err(Failure::usage(format!(
            "no test files in {}",
            paths
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .help("a program NAME.wat has its cases in NAME.test.toml beside it (docs/testing.md)"));
    }
    let mut reports = Vec::new();
    for file in &files {
        reports.extend(run_file(file, opts, out)?);
    }
    let failed = reports.iter().filter(|r| !r.ok).count();
    let passed = reports.len() - failed;
    if !out.json {
        print_summary(&reports, passed, failed, out);
    }
    let failure = (failed > 0).then(|| {
        Failure::new(
            Kind::Status,
            format!(
                "{failed} of {} test case{} failed",
                reports.len(),
                if reports.len() == 1 { "" } else { "s" }
            ),
        )
        .help("`tape test --bless` expects what the programs do now, if that is right")
    });
    Ok((
        Body {
            cases: reports,
            passed,
            failed,
        },
        failure,
    ))
}

/// The test files `path` stands for: itself, the one beside a program, or
/// every one under a directory.
fn test_files(path: &Path) -> Result<Vec<PathBuf>, Failure> {
    if path.is_dir() {
        let mut found = Vec::new();
        walk(path, &mut found)
            .map_err(|e| Failure::io(format!("cannot read `{}`: {e}", path.display())))?;
        // `./x.test.toml` reads better as `x.test.toml`.
        return Ok(found
            .into_iter()
            .map(|p| p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p))
            .collect());
    }
    if is_test_file(path) {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.exists() {
        return Err(Failure::io(format!(
            "no file or directory `{}`",
            path.display()
        )));
    }
    let beside = ["toml", "json"]
        .iter()
        .map(|ext| path.with_extension(format!("test.{ext}")))
        .find(|p| p.exists());
    beside.map(|p| vec![p]).ok_or_else(|| {
        Failure::usage(format!("`{}` has no test file beside it", path.display())).help(format!(
            "write its cases in `{}` (docs/testing.md), or record a run with `tape run --record`",
            path.with_extension("test.toml").display()
        ))
    })
}

fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".test.toml") || n.ends_with(".test.json"))
}

/// Test files under `dir`, skipping hidden directories and `target`.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, found)?;
            }
        } else if is_test_file(&path) {
            found.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<(TestFile, String), Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::io(format!("cannot read `{}`: {e}", path.display())))?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        toml::from_str(&text).map_err(|e| e.to_string())
    };
    let file = parsed.map_err(|e| {
        Failure::new(
            Kind::Manifest,
            format!("`{}` is not a test file: {}", path.display(), e.trim_end()),
        )
        .help("the format is in docs/testing.md")
    })?;
    Ok((file, text))
}

/// The program a test file is for.
fn program_of(test_file: &Path, file: &TestFile) -> Result<PathBuf, Failure> {
    let dir = test_file.parent().unwrap_or(Path::new(""));
    if let Some(program) = &file.program {
        return Ok(dir.join(program));
    }
    let name = test_file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| {
            n.strip_suffix(".test.toml")
                .or(n.strip_suffix(".test.json"))
        })
        .unwrap_or_default();
    ["wat", "wasm"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.exists())
        .ok_or_else(|| {
            Failure::usage(format!(
                "`{}` is for `{name}.wat`, which is not beside it",
                test_file.display()
            ))
            .help("name the program with `program = \"FILE\"` at the top of the test file")
        })
}

/// Runs every case of one test file, blessing it if asked.
fn run_file(path: &Path, opts: &Opts, out: Output) -> Result<Vec<CaseReport>, Failure> {
    let (file, text) = read_file(path)?;
    let program_path = program_of(path, &file)?;
    let input = opts.source.read(&program_path)?;
    let manifest = tape_caps::Manifest::beside(&program_path).map_err(Failure::from)?;
    let limits = manifest
        .as_ref()
        .map_or_else(Limits::default, |m| m.limits(Limits::default()));
    let engine = Engine::new(Config {
        compile_budget: opts.source.budget(limits.timeout),
        timer: Timer::Signal,
        ..Config::default()
    })?;
    let offline = stand_ins(&tape_caps::grants());
    let program = compile(&engine, &input, &offline)?;
    let mut reports = Vec::new();
    let mut blessed = Vec::new();
    for (index, case) in file.cases.iter().enumerate() {
        if opts.filter.as_ref().is_some_and(|f| !case.name.contains(f)) {
            continue;
        }
        let (report, actual) = run_case(path, &input, &program, &offline, &limits, case)?;
        if !out.json {
            let verdict = if report.ok || (opts.bless && actual.is_some()) {
                "ok"
            } else {
                "FAILED"
            };
            crate::output::print_stdout(&format!(
                "test {} {} ... {verdict}{}\n",
                path.display(),
                case.name,
                if opts.bless && !report.ok && actual.is_some() {
                    " (blessed)"
                } else {
                    ""
                }
            ));
        }
        if opts.bless
            && let Some(actual) = actual
            && !report.ok
        {
            blessed.push((index, actual));
            reports.push(CaseReport {
                ok: true,
                failure: None,
                blessed: true,
                ..report
            });
        } else {
            reports.push(report);
        }
    }
    if !blessed.is_empty() {
        bless(path, &text, &blessed)?;
    }
    Ok(reports)
}

fn compile(engine: &Engine, input: &Input, grants: &Grants) -> Result<Program, Failure> {
    Ok(if input.is_module() {
        engine.load(&input.bytes, grants)?
    } else {
        engine.compile_str(&input.name, input.text()?, grants)?
    })
}

/// What a case's run came to, to bless it with.
#[derive(Debug, Clone)]
enum Actual {
    Returned { status: i32, results: Vec<Data> },
    Stopped { error: String },
}

fn run_case(
    file: &Path,
    input: &Input,
    program: &Program,
    offline: &Grants,
    limits: &Limits,
    case: &Case,
) -> Result<(CaseReport, Option<Actual>), Failure> {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let mut report = CaseReport {
        file: file.display().to_string(),
        program: input.name.clone(),
        name: case.name.clone(),
        ok: false,
        failure: None,
        blessed: false,
        logs: Vec::new(),
    };
    let prepared = prepare(program, offline, case, logs.clone());
    let (program, trace) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            report.failure = Some(format!("case `{}`: {message}", case.name));
            return Ok((report, None));
        }
    };
    let run = Run::new(&program).limits(limits.clone()).replay(&trace);
    report.logs = std::mem::take(&mut *logs.lock().unwrap_or_else(|e| e.into_inner()));
    let (failure, actual) = judge(case, run);
    report.ok = failure.is_none();
    report.failure = failure;
    Ok((report, actual))
}

/// The case's program (linked with what runs live) and its trace.
fn prepare(
    program: &Program,
    offline: &Grants,
    case: &Case,
    logs: Arc<Mutex<Vec<String>>>,
) -> Result<(Program, Trace), String> {
    let mut grants = offline.clone();
    let mut live = case.live.clone();
    if case.stdin.is_some() && !live.iter().any(|l| l == "stdin") {
        live.push("stdin".into());
    }
    for name in &live {
        let capability: Arc<dyn tape_rt::Capability> = match name.as_str() {
            "json" => Arc::new(tape_caps::Json::new()),
            "log" => {
                let logs = logs.clone();
                Arc::new(tape_caps::Log::new().sink(move |level, message| {
                    logs.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("[{level}] {message}"));
                }))
            }
            "kv" => Arc::new(tape_caps::Kv::in_memory().map_err(|e| e.to_string())?),
            "time" => Arc::new(tape_caps::Time::fixed(
                tape_caps::DETERMINISTIC_START,
                std::time::Duration::from_millis(1),
            )),
            "rand" => Arc::new(tape_caps::Rand::seeded(0)),
            "stdin" => {
                let bytes = match &case.stdin {
                    Some(data) => data.bytes()?,
                    None => Vec::new(),
                };
                Arc::new(tape_caps::Stdin::bytes(bytes))
            }
            other => {
                return Err(format!(
                    "`{other}` cannot run live in a test; give its replies in [[case.calls]] (live: {})",
                    LIVE.join(", ")
                ));
            }
        };
        grants.add(capability);
    }
    let linked = program.link(&grants).map_err(|e| e.to_string())?;
    let args = if case.args.iter().all(|a| matches!(a, Data::Text(_))) {
        // Words, as `tape run` takes them after FILE.
        let words = case
            .args
            .iter()
            .enumerate()
            .map(|(index, arg)| match arg {
                Data::Text(word) => Arg::parse(word)
                    .map_err(|e| format!("argument {index} (`{word}`): {}", e.message)),
                other => other.bytes().map(Arg::Wire),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if linked.arguments().is_empty() {
            arg::undeclared(words)
        } else {
            crate::run::positional_args(&linked, words)
        }
        .map_err(|failure| failure.message)?
    } else {
        // Wire values as they are: text is a string, the rest its bytes.
        let mut args = tape_rt::Args::new();
        for arg in &case.args {
            args = match arg {
                Data::Text(text) => args.push_raw(wire_string(text.as_bytes())),
                other => args.push_raw(other.bytes()?),
            };
        }
        args
    };
    let calls = case
        .calls
        .iter()
        .enumerate()
        .map(|(index, call)| {
            to_call(call).map_err(|e| format!("call {} (`{}`): {e}", index + 1, call.call))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let trace = Trace::new(
        linked.id(),
        args.values().to_vec(),
        &Limits::default(),
        calls,
    );
    Ok((linked, trace))
}

/// A case's call as a trace holds it, typed by the function's signature.
fn to_call(call: &CallCase) -> Result<Call, String> {
    let (module, name) = call
        .call
        .split_once('.')
        .ok_or("write the call as `capability.function`, e.g. `kv.get`")?;
    let spec = tape_caps::SPECS
        .iter()
        .find(|s| s.name == module)
        .ok_or_else(|| format!("there is no capability `{module}`"))?;
    let function = spec.function(name).ok_or_else(|| {
        format!(
            "`{module}` has no function `{name}`; it has {}",
            spec.functions
                .iter()
                .map(|f| format!("`{}`", f.name))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let types = function.types()?;
    let words = |types: &[tape_rt::ValueType]| -> Vec<String> {
        types.iter().map(ToString::to_string).collect()
    };
    let (params, results) = (words(&types.params), words(&types.results));
    let roles = tape_compiler::Roles::parse(function.roles).unwrap_or_default();
    let convert = |items: &[Item], types: &[String], roles: &[tape_compiler::Role], what: &str| {
        if items.len() != types.len() {
            return Err(format!(
                "`{}` {what} {} value{}, and {} {} given",
                call.call,
                types.len(),
                if types.len() == 1 { "" } else { "s" },
                items.len(),
                if items.len() == 1 { "is" } else { "are" }
            ));
        }
        items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (item, ty))| {
                let pointer = roles.get(i).is_some_and(|r| r.is_pointer());
                value(item, ty.as_str(), pointer).map_err(|e| format!("value {i}: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()
    };
    let sent = match &call.sent {
        Some(sent) => convert(sent, &params, &roles.params, "takes")?,
        None => Vec::new(),
    };
    let reply = convert(&call.reply, &results, &roles.results, "returns")?;
    let mut made = Call::new(call.call.clone(), sent, reply);
    made.reason = call.reason.clone();
    made.error = call.error.clone();
    made.filled = match &call.filled {
        Some(data) => Some(data.bytes()?.into()),
        None => None,
    };
    Ok(made)
}

fn value(item: &Item, ty: &str, pointer: bool) -> Result<Value, String> {
    Ok(match (item, ty) {
        (Item::Data(data), "i32") if pointer => Value::Data {
            ptr: 0,
            bytes: data.bytes()?.into(),
        },
        (Item::Int(0), "i32") if pointer => Value::I32(0),
        (Item::Int(n), "i32") => Value::I32(
            i32::try_from(*n)
                .or_else(|_| u32::try_from(*n).map(|n| n as i32))
                .map_err(|_| format!("{n} does not fit in an i32"))?,
        ),
        (Item::Int(n), "i64") => Value::I64(*n),
        (Item::Float(x), "f32") => Value::F32((*x as f32).to_bits()),
        (Item::Int(n), "f32") => Value::F32((*n as f32).to_bits()),
        (Item::Float(x), "f64") => Value::F64(x.to_bits()),
        (Item::Int(n), "f64") => Value::F64((*n as f64).to_bits()),
        (Item::Data(_), _) => return Err(format!("a {ty} is a number here, not data")),
        (_, _) if pointer => return Err("this is data: text, or `{ hex = \"…\" }`".into()),
        (item, ty) => return Err(format!("{item:?} is not a {ty}")),
    })
}

/// Whether the run is what the case expects: `None` if it is, else what
/// differs; and what it did, to bless the case with.
fn judge(case: &Case, run: tape_rt::Result<tape_rt::Outcome>) -> (Option<String>, Option<Actual>) {
    let outcome = match run {
        Ok(outcome) => outcome,
        Err(error) if matches!(error.kind(), tape_rt::ErrorKind::Diverged { .. }) => {
            return (Some(error.to_string()), None);
        }
        Err(error) => {
            let message = error.to_string();
            let failure = match &case.stops {
                Some(expected) if message.contains(expected.as_str()) => None,
                Some(expected) => Some(format!(
                    "the run stopped otherwise than expected:\n  expected: {expected}\n  stopped:  {message}"
                )),
                None => Some(format!("the run stopped: {message}")),
            };
            return (
                failure,
                Some(Actual::Stopped {
                    error: error.message(),
                }),
            );
        }
    };
    let results: Vec<Data> = outcome
        .results
        .iter()
        .map(|r| Data::of(r.get(4..).unwrap_or_default()))
        .collect();
    let mut differences = Vec::new();
    if let Some(expected) = &case.stops {
        differences.push(format!(
            "the run returned status {}, and it was expected to stop: {expected}",
            outcome.status
        ));
    }
    let expected_status = case.status.unwrap_or(0);
    if outcome.status != expected_status {
        let name = |s: i32| tape_rt::status::name(s).map_or(String::new(), |n| format!(" ({n})"));
        let mut line = format!(
            "status: expected {expected_status}{}, got {}{}",
            name(expected_status),
            outcome.status,
            name(outcome.status)
        );
        if let Some(reason) = outcome
            .reasons
            .last()
            .filter(|r| r.status == outcome.status)
        {
            line.push_str(&format!(", from `{}`: {}", reason.call, reason.message));
        }
        differences.push(line);
    }
    if let Some(expected) = &case.results
        && expected != &results
    {
        differences.push(diff(expected, &results));
    }
    let actual = Actual::Returned {
        status: outcome.status,
        results,
    };
    (
        (!differences.is_empty()).then(|| differences.join("\n")),
        Some(actual),
    )
}

/// The expected results and those the run handed over, line by line:
/// ` ` the same, `-` expected, `+` got.
fn diff(expected: &[Data], got: &[Data]) -> String {
    let show = |d: &Data| match d {
        Data::Text(text) => format!("{text:?}"),
        Data::Strings { strings } => format!("strings {strings:?}"),
        Data::Http { http } => format!("http {http:?}"),
        Data::Hex { hex } => format!("hex {hex}"),
    };
    let mut lines = vec!["results differ (- expected, + got):".to_string()];
    for i in 0..expected.len().max(got.len()) {
        match (expected.get(i), got.get(i)) {
            (Some(a), Some(b)) if a == b => lines.push(format!("    {}", show(a))),
            (a, b) => {
                if let Some(a) = a {
                    lines.push(format!("  - {}", show(a)));
                }
                if let Some(b) = b {
                    lines.push(format!("  + {}", show(b)));
                }
            }
        }
    }
    lines.join("\n")
}

fn print_summary(reports: &[CaseReport], passed: usize, failed: usize, out: Output) {
    let failing: Vec<&CaseReport> = reports.iter().filter(|r| !r.ok).collect();
    let mut text = String::new();
    if !failing.is_empty() {
        text.push_str("\nfailures:\n");
        for report in failing {
            text.push_str(&format!(
                "\n---- {} {} ----\n{}\n",
                report.file,
                report.name,
                report.failure.as_deref().unwrap_or_default()
            ));
            if !report.logs.is_empty() {
                text.push_str("logs:\n");
                for line in &report.logs {
                    text.push_str(&format!("  {line}\n"));
                }
            }
        }
    }
    let verdict = if failed == 0 {
        out.styles.paint(NOTE, "ok")
    } else {
        out.styles.paint(ERROR, "FAILED")
    };
    text.push_str(&format!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed\n"
    ));
    crate::output::print_stdout(&text);
}

/// Writes what the cases at `blessed` did as what they expect, keeping
/// the rest of the file (comments included) as it is.
fn bless(path: &Path, text: &str, blessed: &[(usize, Actual)]) -> Result<(), Failure> {
    let written = if path.extension().is_some_and(|e| e == "json") {
        let (mut file, _) = read_file(path)?;
        for (index, actual) in blessed {
            if let Some(case) = file.cases.get_mut(*index) {
                expect(case, actual);
            }
        }
        let mut json = serde_json::to_string_pretty(&file)
            .map_err(|e| Failure::io(format!("cannot write `{}`: {e}", path.display())))?;
        json.push('\n');
        json
    } else {
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e| Failure::new(Kind::Manifest, format!("`{}`: {e}", path.display())))?;
        let Some(cases) = doc
            .get_mut("case")
            .and_then(toml_edit::Item::as_array_of_tables_mut)
        else {
            return Ok(());
        };
        for (index, actual) in blessed {
            let Some(table) = cases.get_mut(*index) else {
                continue;
            };
            for key in ["status", "results", "stops"] {
                table.remove(key);
            }
            match actual {
                Actual::Returned { status, results } => {
                    if *status != 0 {
                        table.insert("status", toml_edit::value(i64::from(*status)));
                    }
                    table.insert("results", toml_edit::value(results_array(results)));
                }
                Actual::Stopped { error } => {
                    table.insert("stops", toml_edit::value(error.as_str()));
                }
            }
        }
        doc.to_string()
    };
    crate::build::write_atomically(path, written.as_bytes())
}

fn expect(case: &mut Case, actual: &Actual) {
    case.stops = None;
    match actual {
        Actual::Returned { status, results } => {
            case.status = (*status != 0).then_some(*status);
            case.results = Some(results.clone());
        }
        Actual::Stopped { error } => {
            case.status = None;
            case.results = None;
            case.stops = Some(error.clone());
        }
    }
}

#[derive(Serialize)]
struct Wrapped {
    value: Vec<Data>,
}

fn results_array(results: &[Data]) -> toml_edit::Array {
    let mut array = toml_edit::Array::new();
    for result in results {
        match result {
            Data::Text(text) => array.push(text.as_str()),
            other => {
                // Serialized as a one-element array, then taken out of it.
                let text = toml::to_string(&Wrapped {
                    value: vec![other.clone()],
                })
                .unwrap_or_default();
                let parsed: Option<toml_edit::Value> = text
                    .parse::<toml_edit::DocumentMut>()
                    .ok()
                    .and_then(|doc| doc.get("value")?.as_array()?.get(0).cloned());
                if let Some(value) = parsed {
                    array.push(value);
                }
            }
        }
    }
    if results.len() > 1 {
        for item in array.iter_mut() {
            item.decor_mut().set_prefix("\n  ");
        }
        array.set_trailing("\n");
        array.set_trailing_comma(true);
    }
    array
}

/// `tape test --bless TRACE`: the trace as a case of its program's test
/// file (added, or in place of the case of the same name); returns that
/// file.
fn case_from_trace(path: &Path) -> Result<PathBuf, Failure> {
    let trace = crate::replay::read_trace(path)?;
    let program = PathBuf::from(&trace.program.file);
    if trace.program.file == "<stdin>" || !program.exists() {
        return Err(Failure::usage(format!(
            "the trace `{}` is of `{}`, which is not here",
            path.display(),
            trace.program.file
        ))
        .help("record it from the directory the program is named from"));
    }
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("recorded")
        .to_string();
    // Compiled for its declared arguments, to write them as words.
    let input = Input::read_max(&program, tape_compiler::Budget::DEFAULT_MAX_SOURCE_BYTES)?;
    let engine = Engine::new(Config::default())?;
    let program_of_trace = compile(&engine, &input, &stand_ins(&tape_caps::grants()))?;
    let live = default_live();
    let calls = trace
        .calls
        .iter()
        .filter(|c| {
            let module = c.function.split_once('.').map_or("", |(m, _)| m);
            !live.iter().any(|l| l == module)
        })
        .map(|c| CallCase {
            call: c.function.clone(),
            sent: Some(c.params.iter().map(item).collect()),
            reply: c
                .results
                .iter()
                .enumerate()
                .map(|(i, v)| reply_item(&c.function, i, v))
                .collect(),
            filled: c.filled.as_ref().map(|b| Data::of(b)),
            reason: c.reason.clone(),
            error: c.error.clone(),
        })
        .collect();
    let case = Case {
        name: name.clone(),
        args: case_args(&program_of_trace, &trace.args),
        stdin: None,
        live,
        status: trace.end.status.filter(|s| *s != 0),
        results: trace.end.status.map(|_| {
            trace
                .end
                .results
                .iter()
                .map(|r| Data::of(r.get(4..).unwrap_or_default()))
                .collect()
        }),
        stops: trace.end.error.clone(),
        calls,
    };
    let test_file = program.with_extension("test.toml");
    let text = match std::fs::read_to_string(&test_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Failure::io(format!(
                "cannot read `{}`: {e}",
                test_file.display()
            )));
        }
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Failure::new(Kind::Manifest, format!("`{}`: {e}", test_file.display())))?;
    let new = TestFile {
        program: None,
        cases: vec![case],
    };
    let new: toml_edit::DocumentMut = toml::to_string(&new)
        .map_err(|e| Failure::io(format!("cannot write the case: {e}")))?
        .parse()
        .map_err(|e| Failure::io(format!("cannot write the case: {e}")))?;
    let Some(toml_edit::Item::ArrayOfTables(mut added)) = new.as_table().get("case").cloned()
    else {
        return Err(Failure::io("cannot write the case"));
    };
    let cases = doc
        .entry("case")
        .or_insert(toml_edit::Item::ArrayOfTables(
            toml_edit::ArrayOfTables::new(),
        ))
        .as_array_of_tables_mut()
        .ok_or_else(|| {
            Failure::new(
                Kind::Manifest,
                format!(
                    "`{}`: `case` is not an array of tables",
                    test_file.display()
                ),
            )
        })?;
    let Some(table) = added.get_mut(0).map(std::mem::take) else {
        return Err(Failure::io("cannot write the case"));
    };
    let same = (0..cases.len()).find(|&i| {
        cases
            .get(i)
            .and_then(|t| t.get("name"))
            .and_then(toml_edit::Item::as_str)
            == Some(name.as_str())
    });
    match same {
        Some(i) => {
            if let Some(old) = cases.get_mut(i) {
                *old = table;
            }
        }
        None => cases.push(table),
    }
    let mut written = doc.to_string();
    if text.is_empty() {
        written.insert_str(
            0,
            &format!(
                "# Test cases of `{}`: `tape test {}` runs them (docs/testing.md).\n\n",
                program.file_name().unwrap_or_default().to_string_lossy(),
                test_file.display()
            ),
        );
    }
    crate::build::write_atomically(&test_file, written.as_bytes())?;
    Ok(test_file)
}

/// `[u32 len][bytes]`.
fn wire_string(bytes: &[u8]) -> Vec<u8> {
    let mut wire = (bytes.len() as u32).to_le_bytes().to_vec();
    wire.extend_from_slice(bytes);
    wire
}

/// A declared argument's wire value as the word `tape run` reads into it.
fn declared_word(ty: tape_rt::ArgType, wire: &[u8]) -> Option<String> {
    use tape_rt::ArgType;
    let fixed = |n: usize| (wire.len() == n).then_some(wire);
    Some(match ty {
        ArgType::Str | ArgType::Json => {
            let (len, rest) = wire.split_first_chunk::<4>()?;
            (u32::from_le_bytes(*len) as usize == rest.len()).then_some(())?;
            std::str::from_utf8(rest).ok()?.to_string()
        }
        ArgType::I32 => i32::from_le_bytes(fixed(4)?.try_into().ok()?).to_string(),
        ArgType::U32 => u32::from_le_bytes(fixed(4)?.try_into().ok()?).to_string(),
        ArgType::I64 => i64::from_le_bytes(fixed(8)?.try_into().ok()?).to_string(),
        ArgType::U64 => u64::from_le_bytes(fixed(8)?.try_into().ok()?).to_string(),
        ArgType::F32 => f32::from_le_bytes(fixed(4)?.try_into().ok()?).to_string(),
        ArgType::F64 => f64::from_le_bytes(fixed(8)?.try_into().ok()?).to_string(),
        ArgType::Bool => match fixed(1)? {
            [0] => "false".into(),
            [1] => "true".into(),
            _ => return None,
        },
        _ => return None,
    })
}

/// A trace's arguments as a case gives them: words when every one can be
/// written as one (by its declared type, if the program declares them),
/// else every one as its wire value.
fn case_args(program: &Program, args: &[tape_rt::trace::ByteBuf]) -> Vec<Data> {
    let declared = program.arguments();
    let words: Option<Vec<Data>> = if declared.is_empty() {
        args.iter()
            .map(|a| match word(a) {
                Data::Text(text) => Some(Data::Text(text)),
                _ => None,
            })
            .collect()
    } else {
        args.iter()
            .zip(declared)
            .map(|(a, d)| {
                let text = declared_word(d.ty, a)?;
                // A word that looks like a prefix is written `str:…`.
                Some(match Arg::parse(&text) {
                    Ok(Arg::Plain(_)) => Data::Text(text),
                    _ if matches!(d.ty, tape_rt::ArgType::Str) => Data::Text(format!("str:{text}")),
                    _ => Data::Text(text),
                })
            })
            .collect::<Option<Vec<_>>>()
            .filter(|words| words.len() == args.len())
    };
    words.unwrap_or_else(|| {
        args.iter()
            .map(|a| match word(a) {
                Data::Text(text) if !text.starts_with("str:") => Data::Text(text),
                _ => Data::of(a),
            })
            .collect()
    })
}

/// A reply's value in a case: an HTTP response as its fields, anything
/// else as [`item`] makes it.
fn reply_item(function: &str, index: usize, value: &Value) -> Item {
    let http = matches!(function, "http.get" | "http.post" | "http.request") && index == 0;
    match value {
        Value::Data { bytes, .. } if http => match HttpReply::decode(bytes) {
            Some(reply) => Item::Data(Data::Http { http: reply }),
            None => item(value),
        },
        _ => item(value),
    }
}

/// A trace's value in a case: numbers as numbers, data as text or hex.
fn item(value: &Value) -> Item {
    match value {
        Value::I32(n) => Item::Int(i64::from(*n)),
        Value::I64(n) => Item::Int(*n),
        Value::F32(bits) => Item::Float(f64::from(f32::from_bits(*bits))),
        Value::F64(bits) => Item::Float(f64::from_bits(*bits)),
        Value::Data { bytes, .. } => Item::Data(Data::of(bytes)),
        _ => Item::Int(0),
    }
}

/// An argument's wire value as a word `tape run` would read back into it,
/// or its bytes in hex.
fn word(wire: &[u8]) -> Data {
    let text = wire
        .split_first_chunk::<4>()
        .filter(|(len, rest)| u32::from_le_bytes(**len) as usize == rest.len())
        .and_then(|(_, rest)| std::str::from_utf8(rest).ok());
    match text {
        Some(text) if Arg::parse(text) == Ok(Arg::Plain(text.to_string())) => {
            Data::Text(text.into())
        }
        Some(text) => Data::Text(format!("str:{text}")),
        None => Data::Hex {
            hex: wire.iter().map(|b| format!("{b:02x}")).collect(),
        },
    }
}
