//! `tape`: compile extended WebAssembly text and run it in a sandbox.
//!
//! One module per subcommand, each with its own `Opts` and `run`, which
//! returns the exit code; `output` prints text or JSON for all of them.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod arg;
mod build;
mod check;
mod expand;
mod failure;
mod grants;
mod input;
mod inspect;
mod invoke;
mod limits;
mod output;
mod run;

const AFTER_HELP: &str = "\
Examples:
  tape run hello.wat                      compile and run a program
  tape run greet.wat world i32:3          pass it a string and an i32
  tape build hello.wat -o hello.wasm      compile it into a module
  tape check hello.wat                    report its errors, if any
  tape inspect hello.wasm                 show what a module needs
  tape run --json --report hello.wat      one JSON object, with usage

Exit codes:
  0   success
  1   the program returned a non-zero status
  2   the command line was wrong
  3   the program did not compile, or the module is not valid
  4   the program trapped
  5   the program exceeded a limit: fuel, time, memory or stack
  6   the program needs a capability that was not granted
  70  Tape itself failed, or a file could not be read or written

Every command takes --json: one JSON object on standard output, with the
same exit codes. The reference, with the JSON schema, is docs/cli.md.";

/// Compile WebAssembly text, extended by Tape, and run it in a sandbox that
/// can do nothing but what you grant.
#[derive(Parser)]
#[command(
    name = "tape",
    version,
    about,
    after_help = AFTER_HELP,
    max_term_width = 100,
    subcommand_required = true,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(Box<run::Opts>),
    Build(build::Opts),
    Check(check::Opts),
    Expand(expand::Opts),
    Inspect(inspect::Opts),
}

/// Exit codes, documented in `tape --help` and docs/cli.md.
pub mod exit {
    /// The command succeeded (the program ran and returned status 0).
    pub const SUCCESS: u8 = 0;
    /// The program ran and returned a non-zero status.
    pub const GUEST_STATUS: u8 = 1;
    /// The command line was wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The source did not compile, or the module is not one Tape can load.
    pub const COMPILE: u8 = 3;
    /// The program trapped.
    pub const TRAP: u8 = 4;
    /// The program exceeded a limit: fuel, time, memory or stack.
    pub const LIMIT: u8 = 5;
    /// The program needs a capability that was not granted.
    pub const DENIED: u8 = 6;
    /// Tape itself failed, or a file could not be read or written.
    pub const INTERNAL: u8 = 70;
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let command = Cli::command();
            let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
            return ExitCode::from(output::clap_error(&error, &args, &names));
        }
    };
    let code = match cli.command {
        Command::Run(opts) => run::run(*opts),
        Command::Build(opts) => build::run(opts),
        Command::Check(opts) => check::run(opts),
        Command::Expand(opts) => expand::run(opts),
        Command::Inspect(opts) => inspect::run(opts),
    };
    ExitCode::from(code)
}
