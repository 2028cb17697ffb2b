//! `tape replay`: run a recorded program again, offline, against its
//! trace.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tape_rt::trace::{Trace, Value, stand_ins};
use tape_rt::{Config, Engine, Program, Run, Timer};

use crate::failure::{Failure, Kind, Location};
use crate::input::{SourceOpts, display_name};
use crate::output::{NOTE, Output, OutputOpts, WARNING};
use crate::run::{RunBody, finish, print_run};

const AFTER_HELP: &str = "\
The program is compiled again and linked against stand-ins for every
capability: nothing reaches a file, a database or the network. Each call
the program makes is answered from the trace, in order; the first call
that is not the recorded one (another function, or other data sent) stops
the replay, naming both calls and the program's line. The replay then
compares how the run ended with the recording: the same status, results
and fuel, or the difference.

Examples:
  tape run --record fetch.trace examples/fetch/fetch.wat
  tape replay fetch.trace
  tape replay --program fetch-fixed.wat fetch.trace

Exit codes: as `tape run`'s for the replayed run, and 7 when it diverged
from the recording.";

/// Run a recorded program again, offline, against its trace
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Opts {
    /// The program to replay [default: the file the trace was recorded
    /// from, as it was named then]
    #[arg(long, value_name = "FILE")]
    program: Option<PathBuf>,
    /// Print fuel, time, peak memory and host calls after the run
    #[arg(long)]
    report: bool,
    #[command(flatten)]
    source: SourceOpts,
    #[command(flatten)]
    output: OutputOpts,
    /// The trace, from `tape run --record TRACE`
    #[arg(help_heading = "Arguments", value_name = "TRACE")]
    trace: PathBuf,
}

/// What `--json` adds to the envelope: the run's body, and the replay's.
#[derive(Serialize)]
struct Body {
    #[serde(flatten)]
    run: RunBody,
    replay: ReplayJson,
}

#[derive(Serialize)]
struct ReplayJson {
    trace: String,
    /// Calls in the trace.
    calls: usize,
    /// Whether the program is the one recorded (its SHA-256).
    same_program: bool,
    /// Whether it ended as recorded: status, results and fuel.
    same_end: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    difference: Option<String>,
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("replay", &opts.output);
    match execute(&opts, out) {
        Ok((body, failure)) => out.finish(Some(&body), failure),
        Err(failure) => out.fail(&display_name(&opts.trace), failure),
    }
}

/// Reads a trace file.
pub fn read_trace(path: &Path) -> Result<Trace, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::io(format!("cannot read the trace `{}`: {e}", path.display())))?;
    Trace::from_bytes(&bytes).map_err(|e| {
        Failure::new(Kind::BadTrace, format!("`{}`: {e}", path.display()))
            .help("record one with `tape run --record TRACE FILE`")
    })
}

fn execute(opts: &Opts, out: Output) -> Result<(Body, Option<Failure>), Failure> {
    let trace = read_trace(&opts.trace)?;
    let path = match &opts.program {
        Some(path) => path.clone(),
        None if trace.program.file == "<stdin>" => {
            return Err(
                Failure::usage("the trace was recorded from a program on standard input")
                    .help("give the program with `--program FILE`"),
            );
        }
        None => PathBuf::from(&trace.program.file),
    };
    let input = opts.source.read(&path).map_err(|failure| {
        if opts.program.is_none() {
            failure.help(format!(
                "the trace names the program `{}`; give it with `--program FILE`",
                trace.program.file
            ))
        } else {
            failure
        }
    })?;
    let limits = trace.limits.limits();
    let engine = Engine::new(Config {
        compile_budget: opts.source.budget(limits.timeout),
        timer: Timer::Signal,
        ..Config::default()
    })?;
    let grants = stand_ins(&tape_caps::grants());
    let program: Program = if input.is_module() {
        engine.load(&input.bytes, &grants)?
    } else {
        engine.compile_str(&input.name, input.text()?, &grants)?
    };
    let same_program = program.id().sha256 == trace.program.sha256;
    if !same_program && !out.json {
        crate::output::print_stderr(&format!(
            "{}: `{}` is not the program recorded (it has changed since, or it is another); replaying it as it is\n",
            out.styles.paint(WARNING, "warning"),
            input.name
        ));
    }
    let styles = out.styles;
    let json = out.json;
    let run = Run::new(&program)
        .observe(move |call| {
            if !json {
                print_log_call(styles, call);
            }
        })
        .replay(&trace);
    let difference = match &run {
        Err(error) if matches!(error.kind(), tape_rt::ErrorKind::Diverged { .. }) => None,
        run => trace.end.compare(run),
    };
    let source = if input.is_module() {
        None
    } else {
        input.text().ok()
    };
    // Where a diverging call was made, to show its line.
    let at = run
        .as_ref()
        .err()
        .and_then(|e| e.stack().frames.iter().find_map(|f| f.source.clone()));
    let finished = finish(input.name.clone(), None, run, &limits, opts.report, source)?;
    if !out.json {
        print_run(&finished.body, &finished.usage, out);
    }
    let mut failure = finished.failure;
    if let (Some(failure), Some(at)) = (failure.as_mut(), at)
        && failure.kind == Kind::Diverged
    {
        // The snippet shows the one frame a backtrace would.
        if failure.details.backtrace.len() <= 1 {
            failure.details.backtrace.clear();
        }
        failure.details.location = Some(Location {
            text: source.and_then(|text| {
                text.lines()
                    .nth((at.line as usize).saturating_sub(1))
                    .map(str::to_owned)
            }),
            file: at.file,
            line: at.line as usize,
            column: at.column as usize,
        });
    }
    match (&difference, &failure) {
        (Some(difference), None) => {
            failure = Some(
                Failure::new(
                    Kind::Diverged,
                    format!("the replay ended otherwise than the recording: {difference}"),
                )
                .help(
                    "every call was answered as recorded, so the program itself changed what it does \
                     with them; if that is meant, record it again with `tape run --record`",
                ),
            );
        }
        (None, _) if !out.json && failure.as_ref().is_none_or(|f| f.kind != Kind::Diverged) => {
            crate::output::print_stderr(&format!(
                "{}: replayed {} capability call{} from `{}`: the same status, results and fuel ({}) as recorded\n",
                out.styles.paint(NOTE, "note"),
                trace.calls.len(),
                if trace.calls.len() == 1 { "" } else { "s" },
                opts.trace.display(),
                trace.end.fuel,
            ));
        }
        _ => {}
    }
    let body = Body {
        run: finished.body,
        replay: ReplayJson {
            trace: opts.trace.display().to_string(),
            calls: trace.calls.len(),
            same_program,
            same_end: difference.is_none()
                && failure.as_ref().is_none_or(|f| f.kind != Kind::Diverged),
            difference,
        },
    };
    Ok((body, failure))
}

/// A replayed `log.write` shows its message, as the recorded run did.
fn print_log_call(styles: crate::output::Styles, call: &tape_rt::trace::Call) {
    if call.function != "log.write" {
        return;
    }
    let written = matches!(call.results.first(), Some(Value::I32(0)));
    let (Some(Value::I32(level)), Some(message)) = (
        call.params.first(),
        call.params.get(1).and_then(Value::bytes),
    ) else {
        return;
    };
    if let (true, Some(level)) = (written, tape_caps::Level::from_guest(*level)) {
        crate::grants::print_log(styles, level, &tape_caps::log::sanitize(message));
    }
}
