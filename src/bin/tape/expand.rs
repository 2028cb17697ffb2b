//! `tape expand`: show the plain WebAssembly text a program becomes.

use std::path::PathBuf;

use serde::Serialize;
use tape_compiler::Options;

use crate::failure::Failure;
use crate::grants;
use crate::input::{SourceOpts, display_name};
use crate::output::{Output, OutputOpts};

const AFTER_HELP: &str = "\
Prints the program after Tape's preprocessor, with every extension rewritten
into plain WebAssembly text: string literals become `(i32.const OFFSET)`,
called capability functions get their imports, and so on. This is the text
the WebAssembly parser sees; the static data and the `tape` section are
added after it. Errors are reported at their places in the original file.

Examples:
  tape expand hello.wat
  tape expand hello.wat > hello.expanded.wat";

/// Print the plain WebAssembly text a program becomes.
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
    expanded: String,
}

pub fn run(opts: Opts) -> u8 {
    let out = Output::new("expand", &opts.output);
    match execute(&opts) {
        Ok(body) => {
            if !out.json {
                let mut text = body.expanded.clone();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                crate::output::print_stdout(&text);
            }
            out.finish(Some(&body), None)
        }
        Err(failure) => out.fail(&display_name(&opts.file), failure),
    }
}

fn execute(opts: &Opts) -> Result<Body, Failure> {
    let input = opts.source.read(&opts.file)?;
    let options = Options {
        catalogue: grants::catalogue(),
        budget: opts.source.budget(None),
        ..Options::default()
    };
    let expanded = tape_compiler::expand_str(&input.name, input.source("expand")?, &options)?;
    Ok(Body {
        file: input.name,
        expanded,
    })
}
