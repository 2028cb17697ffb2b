//! `tape`: compile extended WebAssembly text and run it in a sandbox.
//!
//! One module per subcommand, each with its own `Opts` and `run`, which
//! returns the exit code; `output` prints text or JSON for all of them.

use std::ffi::{OsStr, OsString};
use std::process::ExitCode;

use clap::{Args, FromArgMatches, Subcommand};

mod arg;
mod build;
mod check;
mod doc;
mod dump;
mod expand;
mod failure;
mod grants;
mod input;
mod inspect;
mod invoke;
mod limits;
mod lints;
mod output;
mod profile;
mod replay;
mod run;
mod serve;
mod test;
mod usage;

/// `pow(3)`, from the `libm` crate (musl's), defined here so that the
/// binary does not link the system's libm. Its one caller at the time of
/// writing is tokio's multi-threaded scheduler (`f64::powf`, for `tape
/// serve`'s statistics); for that, the dynamic loader would map and
/// relocate a whole shared library at every start of every command, which
/// cost `tape run` about 5% of its start (see `benches/process.rs`). A
/// definition in the executable is what `pow` resolves to, for any caller.
/// Only where libm is a shared library of its own: glibc's Linux.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // `no_mangle`: this is the C symbol `pow`.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

const AFTER_HELP: &str = "\
Examples:
  tape run hello.wat                      compile and run a program
  tape run greet.wat world i32:3          pass it a string and an i32
  tape build hello.wat -o hello.wasm      compile it into a module
  tape check hello.wat                    report its errors, if any
  tape inspect hello.wasm                 show what a module needs
  tape doc std.str                        the reference of a library group
  tape serve programs/ --tokens t.txt     serve a directory's programs over HTTP
  tape run --json --report hello.wat      one JSON object, with usage
  tape run --record t.trace fetch.wat     record its capability calls
  tape replay t.trace                     run it again offline, from them
  tape test --bless t.trace               make it a test case; `tape test` runs them

Exit codes:
  0   success
  1   the program returned a non-zero status
  2   the command line was wrong
  3   the program did not compile, or the module is not valid
  4   the program trapped
  5   the program exceeded a limit: fuel, time, memory or stack
  6   the program needs a capability that was not granted
  7   a replay diverged from its recording
  70  Tape itself failed, or a file could not be read or written

Every command takes --json: one JSON object on standard output, with the
same exit codes. The reference, with the JSON schema, is docs/cli.md.";

/// The command line. When `first` (the first argument) names a
/// subcommand, the options of each are added only when it is the one run
/// (`Command::defer`): building all five subcommands took a third of a
/// small program's start. Otherwise (help, a typo, nothing) all are built,
/// as the help lists each one's summary.
fn cli(first: Option<&OsStr>) -> clap::Command {
    type Augment = fn(clap::Command) -> clap::Command;
    let subcommands: [(&str, Augment); 9] = [
        ("run", run::Opts::augment_args),
        ("replay", replay::Opts::augment_args),
        ("test", test::Opts::augment_args),
        ("build", build::Opts::augment_args),
        ("check", check::Opts::augment_args),
        ("expand", expand::Opts::augment_args),
        ("inspect", inspect::Opts::augment_args),
        ("doc", doc::Opts::augment_args),
        ("serve", serve::Opts::augment_args),
    ];
    let first = first.and_then(OsStr::to_str);
    let defer = subcommands.iter().any(|(name, _)| Some(*name) == first);
    let mut cli = clap::Command::new("tape")
        .version(env!("CARGO_PKG_VERSION"))
        .about(env!("CARGO_PKG_DESCRIPTION"))
        .after_help(AFTER_HELP)
        .max_term_width(100)
        .subcommand_required(true)
        .arg_required_else_help(true);
    for (name, augment) in subcommands {
        let subcommand = clap::Command::new(name);
        cli = cli.subcommand(if defer {
            subcommand.defer(augment)
        } else {
            augment(subcommand)
        });
    }
    cli
}

#[derive(Subcommand)]
enum Command {
    Run(Box<run::Opts>),
    Replay(replay::Opts),
    Test(test::Opts),
    Build(build::Opts),
    Check(check::Opts),
    Expand(expand::Opts),
    Inspect(inspect::Opts),
    Doc(doc::Opts),
    Serve(Box<serve::Opts>),
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
    /// A replay made another capability call than its recording, or ended
    /// otherwise.
    pub const DIVERGED: u8 = 7;
    /// Tape itself failed, or a file could not be read or written.
    pub const INTERNAL: u8 = 70;
}

/// `tape run FILE [ARGS…]` with no option, the main job, read without
/// clap: with no option before FILE, the options are all at their defaults
/// and FILE and everything after it are the program's (`trailing_var_arg`),
/// so clap's answer is known; building its parser took as long as the rest
/// of a small program's start up to its engine. `None` for anything else,
/// which clap reads. A test checks that the two agree.
fn plain_run(args: &[OsString]) -> Option<run::Opts> {
    let [command, file, ..] = args else {
        return None;
    };
    let option = file.as_encoded_bytes().first() == Some(&b'-');
    (command == "run" && !option).then(|| run::Opts::program(args[1..].to_vec()))
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let parsed = match plain_run(&args) {
        Some(opts) => Ok(Command::Run(Box::new(opts))),
        None => cli(args.first().map(OsString::as_os_str))
            .try_get_matches()
            .and_then(|matches| Command::from_arg_matches(&matches)),
    };
    let command = match parsed {
        Ok(command) => command,
        Err(error) => {
            let cli = cli(None);
            let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
            return ExitCode::from(output::clap_error(&error, &args, &names));
        }
    };
    let code = match command {
        Command::Run(opts) => run::run(*opts),
        Command::Replay(opts) => replay::run(opts),
        Command::Test(opts) => test::run(opts),
        Command::Build(opts) => build::run(opts),
        Command::Check(opts) => check::run(opts),
        Command::Expand(opts) => expand::run(opts),
        Command::Inspect(opts) => inspect::run(opts),
        Command::Doc(opts) => doc::run(opts),
        Command::Serve(opts) => serve::run(*opts),
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    /// `f64::powf` in this binary is the `pow` above: C99's special cases
    /// and exact results where there is one.
    #[test]
    fn powf_is_pow() {
        let powf = |x: f64, y: f64| std::hint::black_box(x).powf(std::hint::black_box(y));
        assert_eq!(powf(2.0, 10.0), 1024.0);
        assert_eq!(powf(10.0, -2.0), 0.01);
        assert_eq!(powf(0.9, 0.0), 1.0);
        assert_eq!(powf(1.0, f64::NAN), 1.0);
        assert_eq!(powf(0.0, -1.0), f64::INFINITY);
        assert!(powf(-8.0, 1.0 / 3.0).is_nan());
        assert_eq!(powf(-2.0, 3.0), -8.0);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        assert_eq!(pow(3.0, 4.0), 81.0);
    }

    /// What clap makes of `tape ARGS`.
    fn clap_reads(args: &[&OsStr]) -> Result<Command, clap::Error> {
        let argv = std::iter::once(OsStr::new("tape")).chain(args.iter().copied());
        cli(args.first().copied())
            .try_get_matches_from(argv)
            .and_then(|matches| Command::from_arg_matches(&matches))
    }

    #[test]
    #[cfg(unix)]
    fn a_plain_run_is_read_as_clap_reads_it_and_anything_else_is_left_to_clap() {
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = OsStr::from_bytes(b"\xff.wat");
        let plain: &[&[&OsStr]] = &[
            &["run".as_ref(), "hello.wat".as_ref()],
            &[
                "run".as_ref(),
                "greet.wat".as_ref(),
                "world".as_ref(),
                "i32:3".as_ref(),
            ],
            // After FILE, options are the program's arguments.
            &[
                "run".as_ref(),
                "x.wat".as_ref(),
                "--json".as_ref(),
                "--fuel".as_ref(),
                "1".as_ref(),
            ],
            &[
                "run".as_ref(),
                "x.wat".as_ref(),
                "--help".as_ref(),
                "-".as_ref(),
                "--".as_ref(),
            ],
            &["run".as_ref(), "".as_ref()],
            &["run".as_ref(), not_utf8, not_utf8],
        ];
        for args in plain {
            let fast = plain_run(&args.iter().map(|a| a.to_os_string()).collect::<Vec<_>>())
                .unwrap_or_else(|| panic!("{args:?} is a plain run"));
            let Ok(Command::Run(read)) = clap_reads(args) else {
                panic!("clap reads {args:?} as a run");
            };
            assert_eq!(format!("{fast:?}"), format!("{read:?}"), "{args:?}");
        }
        let others: &[&[&str]] = &[
            &["run"],
            &["run", "-"],
            &["run", "--json", "x.wat"],
            &["run", "--", "x.wat"],
            &["build", "x.wat"],
            &["--help"],
            &[],
        ];
        for args in others {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            assert!(plain_run(&args).is_none(), "{args:?}");
        }
    }
}
