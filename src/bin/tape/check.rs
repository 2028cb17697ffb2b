//! `tape check`: report a program's errors without building it.

use std::path::PathBuf;

use serde::Serialize;
use tape_compiler::{Compiled, Options, RUN_EXPORT};
use wasmparser::types::EntityType;
use wasmparser::{CompositeInnerType, ValType, Validator};

use crate::failure::{Failure, Kind};
use crate::grants;
use crate::input::{SourceOpts, display_name};
use crate::lints::LintOpts;
use crate::output::{Output, OutputOpts};

const AFTER_HELP: &str = "\
Prints nothing and exits 0 when the program compiles without warnings,
has its entry point and its tape.toml (if any) is valid; prints the lints'
warnings and exits 0 when that is all there is. Otherwise reports every
problem found, all of them: each compile error at its file, line and
column (declared arguments included), a missing or mistyped `run`
function, and a malformed tape.toml at its line. Exits 3 if the program
does not compile (a warning made an error with --deny included) or has no
entry point, else 2 for the tape.toml. With --json, the first problem is
`error`, the others are in `error.also`, and the warnings in `warnings`.

A module meant for `tape run --invoke NAME` needs no `run`: check it with
--invoke NAME, which checks that it exports the function NAME instead.

Examples:
  tape check hello.wat
  tape check --invoke add math.wat
  tape check --json hello.wat | jq '.error.diagnostics[] | .line'";

/// Report a program's errors without building it.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Opts {
    /// Check for an exported function NAME, as `tape run --invoke NAME`
    /// calls, instead of `run`
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
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
    let mut problems = Vec::new();
    let compiled = input
        .source("check")
        .and_then(|source| Ok(tape_compiler::compile_str(&input.name, source, &options)?));
    match compiled {
        Ok(compiled) => {
            // A denied lint's finding is a compile error, and comes first.
            match crate::lints::report(compiled.warnings.clone(), out.json, out.styles) {
                Ok(warnings) => body.warnings = crate::output::diagnostics_json(&warnings),
                Err(failure) => problems.push(failure),
            }
            problems.extend(entry_problem(
                &input.name,
                &compiled,
                opts.invoke.as_deref(),
            ));
        }
        Err(failure) => problems.push(failure),
    }
    if let Err(failure) = manifest {
        problems.push(failure);
    }
    let mut problems = problems.into_iter();
    let failure = problems.next().map(|mut first| {
        first.details.also = problems.collect();
        first
    });
    out.finish(Some(&body), failure)
}

/// What keeps `tape run` (or `tape run --invoke NAME`) from calling the
/// compiled program: no such export, or one of the wrong kind or type.
fn entry_problem(file: &str, compiled: &Compiled, invoke: Option<&str>) -> Option<Failure> {
    // The compiler validated the module, so this only reads its types.
    let types = Validator::new().validate_all(&compiled.wasm).ok()?;
    let types = types.as_ref();
    let name = invoke.unwrap_or(RUN_EXPORT);
    let export = types
        .core_exports()?
        .find(|(export, _)| *export == name)
        .map(|(_, ty)| ty);
    let missing =
        |message: String, help: String| Some(Failure::new(Kind::MissingExport, message).help(help));
    let Some(ty) = export else {
        return match invoke {
            None => missing(
                format!("`{file}` has no `run` function, so `tape run` cannot run it"),
                "define `(func $run (result i32) …)`, which returns 0 for success; a module \
                 whose functions are called with `tape run --invoke NAME` needs none: check \
                 it with `tape check --invoke NAME`"
                    .into(),
            ),
            Some(name) => missing(
                format!(
                    "`{file}` exports no function `{name}`, so `tape run --invoke {name}` cannot call it"
                ),
                format!(
                    "export it, `(func (export \"{name}\") …)`; `tape inspect` lists the exports"
                ),
            ),
        };
    };
    let (EntityType::Func(id) | EntityType::FuncExact(id)) = ty else {
        return missing(
            format!("the export `{name}` of `{file}` is not a function"),
            format!("export a function as `{name}`, and the other item under another name"),
        );
    };
    let CompositeInnerType::Func(func) = &types[id].composite_type.inner else {
        return None;
    };
    let is_run = func.params().is_empty() && func.results() == [ValType::I32];
    if invoke.is_none() && !is_run {
        return missing(
            format!("`run` has the type {func}, but `tape run` calls a `(func (result i32))`"),
            "`run` takes nothing and returns a status, 0 for success; give another name to \
             a function of another type, and call it with `tape run --invoke NAME`"
                .into(),
        );
    }
    None
}
