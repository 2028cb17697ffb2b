//! `tape check`: report a program's errors without building it.

use std::path::PathBuf;

use serde::Serialize;
use tape_compiler::Options;

use crate::grants;
use crate::input::{SourceOpts, display_name};
use crate::lints::LintOpts;
use crate::output::{Output, OutputOpts};

const AFTER_HELP: &str = "\
Prints nothing and exits 0 when the program compiles without warnings;
prints the lints' warnings and exits 0 when it compiles with some;
otherwise prints every error the compiler found, each at its file, line
and column, and exits 3 (so does a warning made an error with --deny). With --json, the errors are in `error.diagnostics`. When the
program compiles, the tape.toml beside it (if any) is checked too: a
malformed one is reported at its line, with exit code 2.

Examples:
  tape check hello.wat
  tape check --json hello.wat | jq '.error.diagnostics[] | .line'";

/// Report a program's errors without building it.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Opts {
    #[command(flatten)]
    source: SourceOpts,
    #[command(flatten)]
    lints: LintOpts,
    #[command(flatten)]
    output: OutputOpts,
    /// The program: a `.wat` file, or `-` for standard input
    #[arg(help_heading = "Arguments")]
    file: PathBuf,
}

/// What `--json` adds to the envelope.
#[derive(Serialize)]
struct Body {
    file: String,
    /// What the lints found, as `error.diagnostics` are.
    warnings: serde_json::Value,
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("check", &opts.output);
    let input = match opts.source.read(&opts.file) {
        Ok(input) => input,
        Err(failure) => return out.fail(&display_name(&opts.file), failure),
    };
    let mut body = Body {
        file: input.name.clone(),
        warnings: serde_json::Value::Array(Vec::new()),
    };
    // The manifest's `[lints]` set the levels; a manifest that does not
    // read is reported below, after the program.
    let manifest = grants::GrantOpts::default().manifest(&opts.file);
    let lints = match opts
        .lints
        .lints(manifest.as_ref().ok().and_then(Option::as_ref))
    {
        Ok(lints) => lints,
        Err(failure) => return out.finish(Some(&body), Some(failure)),
    };
    let options = Options {
        catalogue: grants::catalogue(),
        budget: opts.source.budget(None),
        lints,
        ..Options::default()
    };
    let checked = input
        .source("check")
        .and_then(|source| Ok(tape_compiler::compile_str(&input.name, source, &options)?))
        .and_then(|compiled| crate::lints::report(compiled.warnings, out.json, out.styles))
        .map(|warnings| body.warnings = crate::output::diagnostics_json(&warnings))
        .and_then(|()| manifest.map(|_| ()));
    out.finish(Some(&body), checked.err())
}
