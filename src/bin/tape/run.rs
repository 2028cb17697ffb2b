//! `tape run`: compile a program and run it.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tape_rt::{Args, Config, Engine, Limits, Program, Run, Timer, Usage};

use crate::arg::{self, Arg};
use crate::failure::{Failure, Kind};
use crate::grants::GrantOpts;
use crate::input::{SourceOpts, display_name};
use crate::invoke::{self, Returned};
use crate::limits::{LimitOpts, show_size};
use crate::lints::LintOpts;
use crate::output::{NOTE, Output, OutputOpts, Shown, Styles};
use crate::usage;

const AFTER_HELP: &str = "\
Program arguments:
  Each argument is a string unless it starts with a type prefix:
    i32:N  i64:N  u32:N  u64:N   an integer, little-endian at its width
    f32:X  f64:X                 a float, little-endian at its width
    bool:true  bool:false        one byte, 1 or 0
    json:TEXT                    JSON text, checked, as a string
    wire:VALUE                   a JSON value in the wire format
    @FILE                        the bytes of a file, as [len][bytes]
    str:TEXT                     the string TEXT, even if it has a prefix
  A program that declares its arguments, (arg $name TYPE \"…\"), gets each
  plain word as its declared type, and `tape run FILE --help` prints its
  usage; --args-json passes them by name instead, as a JSON object.
  Options for tape go before FILE; everything after FILE is the program's.

Results:
  Each result prints on its own line: as text if it is UTF-8 with no control
  characters but tab, newline and carriage return; as hex otherwise.
  The program's log messages go to standard error.

--invoke NAME:
  Calls the exported function NAME instead of `run`, passing ARGS as numbers
  of its parameters' types, and prints each value it returns on its own line.
  Integers: decimal or 0x hex, signed or unsigned range (4294967295 is the
  i32 -1); floats: 1.5, -2e-3, inf, nan. What it returns is not a status:
  tape exits 0 when it returns.

Grants and limits:
  Grants and limits come from the tape.toml beside FILE, if there is one
  (docs/manifest.md), with the flags above over it. Without either, a
  program gets log, json, time and rand, and nothing that reaches files,
  the network or a database.

Examples:
  tape run hello.wat
  tape run greet.wat world i32:3 'json:{\"x\":1}' @photo.jpg
  tape run --args-json '{\"name\":\"Ada\",\"times\":2}' greet.wat
  tape run --fuel 1000000 --timeout 500ms --max-memory 16MiB loop.wat
  tape run --json --report hello.wat
  tape run --invoke add math.wat 2 -3
  echo '(func $run (result i32) (i32.const 0))' | tape run -

Exit codes: 0 success, 1 non-zero status, 2 usage, 3 compile error, 4 trap,
5 limit exceeded, 6 capability not granted, 70 internal error.";

/// Compile a program and run it, printing its results.
#[derive(clap::Args, Debug, Default)]
#[command(
    after_help = AFTER_HELP,
    override_usage = "tape run [OPTIONS] <FILE> [ARGS]..."
)]
pub struct Opts {
    /// Print fuel, time, peak memory and host calls after the run (on
    /// standard error; with --json, in the JSON)
    #[arg(long)]
    report: bool,
    /// Call the exported function NAME instead of `run`, with ARGS as its
    /// parameters (numbers), and print what it returns (below)
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// The program's declared arguments as one JSON object, by name
    /// (`tape inspect --json` gives its schema), instead of words after
    /// FILE; `@PATH` reads the object from a file
    #[arg(long, value_name = "JSON", conflicts_with = "invoke")]
    args_json: Option<String>,
    /// Record the run into TRACE: its arguments, limits, and every
    /// capability call with what was sent and what came back; `tape replay
    /// TRACE` runs it again offline (docs/testing.md)
    #[arg(long, value_name = "TRACE", conflicts_with = "invoke")]
    record: Option<std::path::PathBuf>,
    /// If a trap or a limit stops the run, write its memory into FILE,
    /// with a map (static literals, the allocator's top, results); `tape
    /// inspect FILE` reads it
    #[arg(long, value_name = "FILE", conflicts_with = "invoke")]
    dump: Option<std::path::PathBuf>,
    #[command(flatten)]
    limits: LimitOpts,
    #[command(flatten)]
    profile: crate::profile::ProfileOpts,
    #[command(flatten)]
    source: SourceOpts,
    #[command(flatten)]
    grants: GrantOpts,
    #[command(flatten)]
    lints: LintOpts,
    #[command(flatten)]
    output: OutputOpts,
    /// The program — a `.wat` file, a module from `tape build`, or `-` for
    /// standard input — then its arguments: strings, or typed by a prefix
    /// (below); with --invoke, numbers. Everything after FILE is the
    /// program's, even `--json`.
    // One list, as wasmtime does: clap stops looking for options at its
    // first value, so options after FILE reach the program.
    #[arg(
        help_heading = "Arguments",
        value_name = "FILE",
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    program_and_args: Vec<OsString>,
}

impl Opts {
    /// `tape run FILE [ARGS…]` with no option before FILE, which is what
    /// clap makes of it: every option at its default, and everything from
    /// FILE on the program's (`main` checks the two agree).
    pub fn program(program_and_args: Vec<OsString>) -> Opts {
        Opts {
            program_and_args,
            ..Opts::default()
        }
    }
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("run", &opts.output);
    match execute(&opts, out) {
        Ok((body, failure)) => out.finish(Some(&body), failure),
        Err(failure) => {
            let file = opts.program_and_args.first().map(Path::new);
            out.fail(&file.map(display_name).unwrap_or_default(), failure)
        }
    }
}

/// What `--json` adds to the envelope: a run's, or an invocation's.
#[derive(Serialize)]
#[serde(untagged)]
enum Body {
    Run(Box<RunBody>),
    Invoke(InvokeBody),
    Usage(UsageBody),
}

/// `tape run FILE --help` for a program that declares its arguments.
#[derive(Serialize)]
struct UsageBody {
    file: String,
    usage: String,
}

#[derive(Serialize)]
pub struct RunBody {
    pub file: String,
    /// The `tape.toml` the grants and limits came from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Whether `run` returned; `false` for a run stopped by a trap or a
    /// limit, whose `results` are those it handed over before.
    pub complete: bool,
    /// What `run` returned; absent when it did not return.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_name: Option<&'static str>,
    /// Why failing capability calls failed, oldest first; absent when
    /// none did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<serde_json::Value>,
    pub results: Vec<Shown>,
    /// What the lints found, each a diagnostic as in `error.diagnostics`;
    /// absent when they found nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    /// `--record`: the trace written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Recorded>,
    /// `--dump`: the memory written, for a run that stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dumped: Option<Dumped>,
    /// `--profile`: where the fuel and time went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<crate::profile::ProfileJson>,
}

/// `--dump`: where the memory went.
#[derive(Serialize)]
pub struct Dumped {
    pub path: String,
    pub bytes: u64,
}

/// `--invoke NAME`.
#[derive(Serialize)]
struct InvokeBody {
    file: String,
    invoke: String,
    returned: Vec<Returned>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<Report>,
}

/// `--report`.
#[derive(Serialize)]
pub struct Report {
    fuel: u64,
    time_us: u64,
    peak_memory: u64,
    host_calls: u64,
    capabilities: serde_json::Map<String, serde_json::Value>,
    limits: LimitsJson,
}

#[derive(Serialize)]
pub struct LimitsJson {
    fuel: Option<u64>,
    timeout_ms: Option<u64>,
    max_memory: u64,
}

fn execute(opts: &Opts, out: Output) -> Result<(Body, Option<Failure>), Failure> {
    let (file, args) = opts
        .program_and_args
        .split_first()
        .ok_or_else(|| Failure::usage("give the program to run"))?;
    // Arguments first: a typo in one should not wait for a compilation.
    // Those of an invoked function are typed by its signature, known
    // only once it is compiled.
    let typed = if opts.invoke.is_some() { &[][..] } else { args };
    let parsed = typed
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let text = text.to_str().ok_or_else(|| {
                Failure::usage(format!("argument {index} is not valid UTF-8"))
                    .help("pass bytes that are not text with `@FILE`")
            })?;
            Arg::parse(text).map_err(|e| {
                let failure = Failure::usage(format!("argument {index} (`{text}`): {}", e.message));
                match e.help {
                    Some(help) => failure.help(help),
                    None => failure,
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if opts.args_json.is_some() && !parsed.is_empty() {
        return Err(Failure::usage(
            "the arguments are given twice: as words after FILE, and with --args-json",
        )
        .help("give them one way: words after FILE, or one JSON object with --args-json"));
    }
    let args_json = opts.args_json.as_deref().map(read_args_json).transpose()?;
    let manifest = opts.grants.manifest(Path::new(file))?;
    let input = opts.source.read(Path::new(file))?;

    let mut limits = Limits::default();
    if let Some(manifest) = &manifest {
        limits = manifest.limits(limits);
    }
    let limits = opts.limits.apply(limits);
    let mut config = Config {
        compile_budget: opts.source.budget(limits.timeout),
        // One run, then the process ends: no thread for the timeout.
        timer: Timer::Signal,
        ..Config::default()
    };
    if opts.profile.wanted() {
        config.epoch_tick = crate::profile::INTERVAL;
    }
    let engine = Engine::new(config)?;
    // The process ends after this command, and what the engine holds
    // (compiled code, the cache's index, wasmtime's engine) is memory the
    // operating system takes back at once: a clone kept for ever spares a
    // short run the teardown (about 2% of `tape run hello`'s start).
    // What must be closed — a capability's database, its files — belongs
    // to the program, which is dropped as before.
    std::mem::forget(engine.clone());
    // Standard input is the program's to read when it is a pipe or a file
    // and not the program itself (`tape run -`).
    let stdin = file != "-" && !std::io::IsTerminal::is_terminal(&std::io::stdin());
    let grants = opts.grants.grants(manifest.as_ref(), out.styles, stdin)?;
    let lints = opts.lints.lints(manifest.as_ref())?;
    let program: Program = if input.is_module() {
        engine.load(&input.bytes, &grants)?
    } else {
        engine.compile_str(&input.name, input.text()?, &grants)?
    };
    // The warnings are kept in the module, so a run from the cache shows
    // them as the compile did.
    let source = if input.is_module() { "" } else { input.text()? };
    let warnings = tape_compiler::warnings(program.metadata(), &input.name, source, &lints);
    let warnings = crate::lints::report(warnings, out.json, out.styles)?;
    let warnings =
        (!warnings.items().is_empty()).then(|| crate::output::diagnostics_json(&warnings));
    if let Some(name) = &opts.invoke {
        let numbers = &opts.program_and_args[1..];
        return execute_invoke(opts, out, &program, name, numbers, &limits, input.name);
    }
    let declared = program.arguments();
    let asks_help = |arg: &Arg| matches!(arg, Arg::Plain(word) if word == "--help");
    if !declared.is_empty() && parsed.iter().any(asks_help) {
        let usage = usage::usage(&input.name, declared);
        if !out.json {
            crate::output::print_stdout(&usage);
        }
        let body = Body::Usage(UsageBody {
            file: input.name,
            usage,
        });
        return Ok((body, None));
    }
    let args = match args_json {
        Some(object) => named_args(&program, &input.name, &object),
        None if declared.is_empty() => arg::undeclared(parsed),
        None => positional_args(&program, parsed),
    }
    .map_err(|failure| match declared.is_empty() {
        true => failure,
        false => failure.usage_text(usage::usage(&input.name, declared)),
    })?;
    let manifest = manifest.map(|m| m.path().display().to_string());
    let source = if input.is_module() {
        None
    } else {
        input.text().ok()
    };
    for path in [&opts.record, &opts.dump].into_iter().flatten() {
        refuse_over_program(path, &input)?;
    }
    let mut prepared = Run::new(&program).args(args).limits(limits.clone());
    if opts.dump.is_some() {
        prepared = prepared.dump_on_stop();
    }
    let mut profile = None;
    let (run, recorded) = match &opts.record {
        None if opts.profile.wanted() => {
            let (run, sampled) = prepared.profile();
            profile = Some(sampled);
            (run, None)
        }
        None => (prepared.run(), None),
        Some(path) => {
            let (run, trace) = prepared.record();
            (run, Some(write_trace(path, &trace)?))
        }
    };
    let dumped = match (&opts.dump, &run) {
        (Some(path), Err(error)) => match error.dump() {
            Some(dump) => {
                let bytes = dump.to_bytes();
                crate::build::write_atomically(path, &bytes)?;
                Some(Dumped {
                    path: path.display().to_string(),
                    bytes: bytes.len() as u64,
                })
            }
            None => None,
        },
        _ => None,
    };
    let name = input.name.clone();
    let finished = finish(name, manifest, run, &limits, opts.report, source)?;
    let mut body = finished.body;
    body.warnings = warnings;
    if !out.json {
        print_run(&body, &finished.usage, out);
        if let Some(dumped) = &dumped {
            crate::output::print_stderr(&format!(
                "{}: the memory at the stop is in `{}` ({}); `tape inspect {}` shows it\n",
                out.styles.paint(NOTE, "note"),
                dumped.path,
                show_size(dumped.bytes),
                dumped.path,
            ));
        }
        if let Some(recorded) = &recorded {
            crate::output::print_stderr(&format!(
                "{}: recorded {} capability call{} in `{}` ({})\n",
                out.styles.paint(NOTE, "note"),
                recorded.calls,
                if recorded.calls == 1 { "" } else { "s" },
                recorded.path,
                show_size(recorded.bytes),
            ));
        }
    }
    if let Some(profile) = &profile {
        crate::profile::write(&opts.profile, profile, &format!("tape run {}", input.name))?;
        if !out.json {
            let text = crate::profile::render(profile, input.text().ok(), out.styles);
            crate::output::print_stderr(&text);
        }
        body.profile = Some(crate::profile::json(profile));
    }
    body.recorded = recorded;
    body.dumped = dumped;
    Ok((Body::Run(Box::new(body)), finished.failure))
}

/// Prints a run's results on standard output, and its report, if asked
/// for, on standard error.
pub fn print_run(body: &RunBody, usage: &Usage, out: Output) {
    let mut text = String::new();
    for result in &body.results {
        text.push_str(&result.value);
        text.push('\n');
    }
    crate::output::print_stdout(&text);
    if let Some(report) = &body.report {
        crate::output::print_stderr(&render_report(report, usage, out.styles));
    }
}

/// `--record`: where the trace went, and how big it is.
#[derive(Serialize)]
pub struct Recorded {
    pub path: String,
    pub calls: usize,
    pub bytes: u64,
}

/// `--record` may not name the program itself.
fn refuse_over_program(path: &Path, input: &crate::input::Input) -> Result<(), Failure> {
    if input
        .path
        .as_deref()
        .is_some_and(|source| crate::build::same_file(source, path))
    {
        return Err(Failure::usage(format!(
            "the trace `{}` is the program itself",
            path.display()
        ))
        .help("record into another file, e.g. `--record run.trace`"));
    }
    Ok(())
}

/// Writes the trace whole or not at all.
fn write_trace(path: &Path, trace: &tape_rt::trace::Trace) -> Result<Recorded, Failure> {
    let bytes = trace.to_bytes();
    crate::build::write_atomically(path, &bytes)?;
    Ok(Recorded {
        path: path.display().to_string(),
        calls: trace.calls.len(),
        bytes: bytes.len() as u64,
    })
}

/// A run that started, as `--json` reports it (and `tape serve` answers).
pub struct Finished {
    pub body: RunBody,
    /// Why it did not succeed: a non-zero status, or what stopped it.
    pub failure: Option<Failure>,
    pub usage: Usage,
}

/// What `run` came to, as the body `--json` prints: `file` is the name
/// shown, `source` its text (to show the line of a failing call), and
/// `report` whether to add the usage. An error that stopped the run part
/// way keeps what it handed over; one before it started is the `Err`.
pub fn finish(
    file: String,
    manifest: Option<String>,
    run: tape_rt::Result<tape_rt::Outcome>,
    limits: &Limits,
    report: bool,
    source: Option<&str>,
) -> Result<Finished, Failure> {
    let outcome = match run {
        Ok(outcome) => outcome,
        // The run stopped part way: what it handed over is shown all the
        // same, then why it stopped.
        Err(error) if error.usage().is_some() => {
            let usage = error.usage().cloned().unwrap_or_default();
            let body = RunBody {
                file,
                manifest,
                complete: false,
                status: None,
                status_name: None,
                reasons: Vec::new(),
                results: shown(error.results()),
                warnings: None,
                report: report.then(|| self::report(&usage, limits)),
                recorded: None,
                dumped: None,
                profile: None,
            };
            return Ok(Finished {
                body,
                failure: Some(error.into()),
                usage,
            });
        }
        Err(error) => return Err(error.into()),
    };
    let status_name = tape_rt::status::name(outcome.status);
    let failure = (!outcome.is_success())
        .then(|| status_failure(outcome.status, status_name, &outcome.reasons, source));
    let body = RunBody {
        file,
        manifest,
        complete: true,
        status: Some(outcome.status),
        status_name,
        reasons: outcome.reasons.iter().map(reason_json).collect(),
        results: shown(&outcome.results),
        warnings: None,
        report: report.then(|| self::report(&outcome.usage, limits)),
        recorded: None,
        dumped: None,
        profile: None,
    };
    Ok(Finished {
        body,
        failure,
        usage: outcome.usage,
    })
}

/// Results as shown: a result is `[len][payload]`, and the payload is
/// what the user sees.
fn shown(results: &[Vec<u8>]) -> Vec<Shown> {
    results
        .iter()
        .map(|r| Shown::new(r.get(4..).unwrap_or_default()))
        .collect()
}

/// The failure of a run that returned a non-zero `status`: when the last
/// capability call that failed failed with that status, it is the cause,
/// said with its reason and placed at the call in `source`.
fn status_failure(
    status: i32,
    status_name: Option<&'static str>,
    reasons: &[tape_rt::Reason],
    source: Option<&str>,
) -> Failure {
    let mut message = format!(
        "the program returned status {status} ({})",
        status_name.unwrap_or("program-defined")
    );
    let Some(reason) = reasons.last().filter(|r| r.status == status) else {
        return Failure::new(Kind::Status, message);
    };
    message.push_str(&format!(", from `{}`: {}", reason.call, reason.message));
    let mut failure = Failure::new(Kind::Status, message);
    failure.details.reason = Some(reason_json(reason));
    let at = reason.stack.frames.iter().find_map(|f| f.source.as_ref());
    if let Some(at) = at {
        failure.details.location = Some(crate::failure::Location {
            file: at.file.clone(),
            line: at.line as usize,
            column: at.column as usize,
            text: source
                .and_then(|text| text.lines().nth((at.line as usize).saturating_sub(1)))
                .map(str::to_owned),
        });
    }
    failure
}

/// A reason as `--json` gives it.
fn reason_json(reason: &tape_rt::Reason) -> serde_json::Value {
    serde_json::json!({
        "call": reason.call,
        "status": reason.status,
        "message": reason.message,
        "at": reason.location(),
        "backtrace": reason.stack.lines(),
    })
}

/// `--args-json`: the text, or `@PATH`'s contents, as JSON.
fn read_args_json(text: &str) -> Result<serde_json::Value, Failure> {
    let (text, from) = match text.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| Failure::io(format!("cannot read `{path}` for --args-json: {e}")))?,
            format!("`{path}`"),
        ),
        None => (text.to_string(), "--args-json".to_string()),
    };
    serde_json::from_str(&text).map_err(|e| {
        Failure::usage(format!("{from} is not valid JSON: {e}")).help(
            "give one JSON object with a property per argument, e.g. '{\"name\":\"Ada\"}'; \
             `tape inspect --json FILE` gives its schema",
        )
    })
}

/// Words after FILE, converted to the declared arguments' types.
pub fn positional_args(program: &Program, parsed: Vec<Arg>) -> Result<Args, Failure> {
    let mut builder = program.args_builder();
    let given = parsed.len();
    for (position, arg) in parsed.into_iter().enumerate() {
        arg.declare(position, &mut builder).map_err(|failure| {
            // Name the whole count, not the position of the first extra.
            match builder.argument(position) {
                Err(_) => arg::usage(tape_rt::ArgumentError::TooMany {
                    given,
                    declared: program.arguments().len(),
                }),
                Ok(_) => failure,
            }
        })?;
    }
    builder.finish().map_err(arg::usage)
}

/// `--args-json`: the declared arguments by name. A `bytes` argument's
/// string is the path of a file to read, as a word would be.
fn named_args(program: &Program, file: &str, object: &serde_json::Value) -> Result<Args, Failure> {
    if program.arguments().is_empty() {
        if object.as_object().is_some_and(serde_json::Map::is_empty) {
            return Ok(Args::new());
        }
        return Err(Failure::usage(format!(
            "`{file}` declares no arguments, so it cannot take them by name"
        ))
        .help(
            "pass them as words after FILE, or declare them in the program: \
             `(arg $name str \"what it is for\")` (docs/language.md)",
        ));
    }
    let Some(fields) = object.as_object() else {
        return Err(arg::usage(program.args_from_json(object).err().unwrap_or(
            tape_rt::ArgumentError::NotAnObject {
                found: "another value",
            },
        )));
    };
    let mut builder = program.args_builder();
    for (name, value) in fields {
        let position = builder.position(name).map_err(arg::usage)?;
        let declared = builder.argument(position).map_err(arg::usage)?;
        match value {
            serde_json::Value::String(path) if declared.ty == tape_rt::ArgType::Bytes => {
                Arg::File(path.into()).declare(position, &mut builder)?;
            }
            _ => builder.json(position, value).map_err(arg::usage)?,
        }
    }
    builder.finish().map_err(arg::usage)
}

/// `--invoke NAME`: what the function returns is its result, not a
/// status, so returning at all is success.
fn execute_invoke(
    opts: &Opts,
    out: Output,
    program: &Program,
    name: &str,
    args: &[OsString],
    limits: &Limits,
    file: String,
) -> Result<(Body, Option<Failure>), Failure> {
    let signature = invoke::signature(program, name)?;
    let params = invoke::params(name, &signature, args)?;
    let (values, usage) = program.invoke(name, &params, limits)?;
    let returned = invoke::returned(&signature, &values);
    let report = opts.report.then(|| report(&usage, limits));
    if !out.json {
        let mut text = String::new();
        for value in &returned {
            text.push_str(&value.value);
            text.push('\n');
        }
        crate::output::print_stdout(&text);
        if let Some(report) = &report {
            crate::output::print_stderr(&render_report(report, &usage, out.styles));
        }
    }
    let body = Body::Invoke(InvokeBody {
        file,
        invoke: name.to_string(),
        returned,
        report,
    });
    Ok((body, None))
}

fn report(usage: &Usage, limits: &Limits) -> Report {
    let capabilities = usage
        .capabilities
        .iter()
        .map(|(name, use_)| {
            let value = serde_json::json!({
                "calls": use_.calls,
                "bytes_in": use_.bytes_in,
                "bytes_out": use_.bytes_out,
                "tokens": use_.tokens,
            });
            (name.clone(), value)
        })
        .collect();
    Report {
        fuel: usage.fuel,
        time_us: u64::try_from(usage.time.as_micros()).unwrap_or(u64::MAX),
        peak_memory: usage.peak_memory,
        host_calls: usage.host_calls,
        capabilities,
        limits: LimitsJson {
            fuel: limits.fuel,
            timeout_ms: limits
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            max_memory: limits.max_memory,
        },
    }
}

fn render_report(report: &Report, usage: &Usage, styles: Styles) -> String {
    let limits = &report.limits;
    let of = |limit: Option<String>| match limit {
        Some(limit) => format!(" of {limit}"),
        None => " (no limit)".to_string(),
    };
    let mut rows = vec![
        (
            "fuel".to_string(),
            format!("{}{}", report.fuel, of(limits.fuel.map(|f| f.to_string()))),
        ),
        (
            "time".to_string(),
            format!(
                "{:.2?}{}",
                usage.time,
                of(limits
                    .timeout_ms
                    .map(|t| format!("{:?}", Duration::from_millis(t))))
            ),
        ),
        (
            "peak memory".to_string(),
            format!(
                "{}{}",
                show_size(report.peak_memory),
                of(Some(show_size(limits.max_memory)))
            ),
        ),
        ("host calls".to_string(), report.host_calls.to_string()),
    ];
    for (name, used) in &usage.capabilities {
        let mut parts = vec![
            plural(used.calls, "call"),
            format!("{} in", plural(used.bytes_in, "byte")),
            format!("{} out", plural(used.bytes_out, "byte")),
        ];
        if used.tokens > 0 {
            parts.push(plural(used.tokens, "token"));
        }
        rows.push((name.clone(), parts.join(", ")));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut text = format!("{}\n", styles.paint(NOTE, "report:"));
    for (key, value) in rows {
        text.push_str(&format!("  {key:width$}  {value}\n"));
    }
    text
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}
