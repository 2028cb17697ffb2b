//! `tape check`: report a program's errors without building it.

use std::path::PathBuf;

use serde::Serialize;
use tape_compiler::Options;

use crate::grants;
use crate::input::{SourceOpts, display_name};
use crate::output::{Output, OutputOpts};

const AFTER_HELP: &str = "\
Prints nothing and exits 0 when the program compiles; otherwise prints
every error the compiler found, each at its file, line and column, and
exits 3. With --json, the errors are in `error.diagnostics`. When the
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
    output: OutputOpts,
    /// The program: a `.wat` file, or `-` for standard input
    #[arg(help_heading = "Arguments")]
    file: PathBuf,
}

/// What `--json` adds to the envelope.
#[derive(Serialize)]
struct Body {
    file: String,
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("check", &opts.output);
    let input = match opts.source.read(&opts.file) {
        Ok(input) => input,
        Err(failure) => return out.fail(&display_name(&opts.file), failure),
    };
    let body = Body {
        file: input.name.clone(),
    };
    let options = Options {
        catalogue: grants::catalogue(),
        budget: opts.source.budget(None),
        ..Options::default()
    };
    let checked = input
        .source("check")
        .and_then(|source| Ok(tape_compiler::compile_str(&input.name, source, &options)?))
        .and_then(|_| grants::GrantOpts::default().manifest(&opts.file));
    out.finish(Some(&body), checked.err())
}
