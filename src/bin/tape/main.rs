//! `tape`: compile extended WebAssembly text and run it in a sandbox.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod run;

/// Compile WebAssembly text, extended by Tape, and run it in a sandbox that
/// can do nothing but what you grant.
#[derive(Parser)]
#[command(name = "tape", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(run::Opts),
}

/// Exit codes, documented in `tape --help` of each subcommand.
pub mod exit {
    /// The program ran and returned status 0.
    pub const SUCCESS: u8 = 0;
    /// The program ran and returned a non-zero status.
    pub const GUEST_STATUS: u8 = 1;
    /// The command line was wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The source did not compile.
    pub const COMPILE: u8 = 3;
    /// The program trapped.
    pub const TRAP: u8 = 4;
    /// The program exceeded a limit: fuel, time, memory or stack.
    pub const LIMIT: u8 = 5;
    /// The program needs a capability that was not granted.
    pub const DENIED: u8 = 6;
    /// Tape itself failed: a file could not be read, say.
    pub const INTERNAL: u8 = 70;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(opts) => run::run(opts),
    };
    ExitCode::from(code)
}
