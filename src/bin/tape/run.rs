//! `tape run`: compile a program and run it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use tape_rt::{Args, Config, Engine, Error, Grants, Log, Outcome};

use crate::exit;

/// Compile FILE and run it, printing its results.
///
/// Each argument is passed to the program as a string. Each result is
/// printed on its own line: as text if it is UTF-8, as hex otherwise.
/// Log messages go to standard error.
///
/// Exit codes: 0 success; 1 the program returned a non-zero status;
/// 2 usage error; 3 compile error; 4 trap; 5 a limit was exceeded;
/// 6 a capability was not granted; 70 internal error.
#[derive(clap::Args)]
pub struct Opts {
    /// The program: a `.wat` file.
    file: PathBuf,
    /// Arguments for the program, each passed as a string.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn run(opts: Opts) -> u8 {
    let engine = match Engine::new(Config::default()) {
        Ok(engine) => engine,
        Err(error) => return report(&error),
    };
    let grants = Grants::new().grant(Log::new().sink(|level, message| {
        eprintln!("[{level}] {message}");
    }));
    let program = match engine.compile_file(&opts.file, &grants) {
        Ok(program) => program,
        Err(error) => return report(&error),
    };
    match program.run(&Args::strings(&opts.args)) {
        Ok(outcome) => print_outcome(&outcome),
        Err(error) => report(&error),
    }
}

fn print_outcome(outcome: &Outcome) -> u8 {
    let mut stdout = std::io::stdout().lock();
    for result in &outcome.results {
        // A result is `[len][payload]`; the payload is what the user sees.
        let payload = result.get(4..).unwrap_or_default();
        let line = match std::str::from_utf8(payload) {
            Ok(text) => text.to_string(),
            Err(_) => payload.iter().map(|b| format!("{b:02x}")).collect(),
        };
        // A closed stdout (`tape run … | head`) is not the program's fault.
        let _ = writeln!(stdout, "{line}");
    }
    if outcome.is_success() {
        exit::SUCCESS
    } else {
        let name = tape_rt::status::name(outcome.status).unwrap_or("program-defined");
        eprintln!(
            "error: the program returned status {} ({name})",
            outcome.status
        );
        exit::GUEST_STATUS
    }
}

fn report(error: &Error) -> u8 {
    let text = match error {
        Error::Compile(tape_compiler_error) => match tape_compiler_error.diagnostics() {
            Some(diagnostics) => {
                let color =
                    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
                diagnostics.render(color)
            }
            None => format!("error: {error}\n"),
        },
        _ => format!("error: {error}\n"),
    };
    eprint!("{text}");
    match error {
        Error::Compile(e) if e.diagnostics().is_some() => exit::COMPILE,
        Error::Compile(_) => exit::INTERNAL,
        Error::Trap { .. }
        | Error::BadPointer { .. }
        | Error::HostPanic { .. }
        | Error::Wire(_) => exit::TRAP,
        Error::OutOfFuel { .. }
        | Error::Timeout { .. }
        | Error::MemoryExhausted { .. }
        | Error::StackOverflow => exit::LIMIT,
        Error::NotGranted { .. } | Error::MissingImport { .. } => exit::DENIED,
        Error::Module { .. } | Error::MissingExport { .. } => exit::COMPILE,
        _ => exit::INTERNAL,
    }
}
