//! Why a command failed: a kind (which fixes the exit code and the JSON
//! `error.kind`), a message, and what else helps act on it.

use tape_compiler::Diagnostics;

use crate::exit;

/// What went wrong, in the words `--json` uses (`error.kind`). The names
/// are part of the stable JSON schema in `docs/cli.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The program returned a non-zero status.
    Status,
    /// The command line was wrong.
    Usage,
    /// The `tape.toml` is malformed or has a field the format lacks.
    Manifest,
    /// The source has errors.
    Compile,
    /// The bytes are not a module Tape can load.
    InvalidModule,
    /// The module lacks `run` or `mem.tape`.
    MissingExport,
    /// The program trapped.
    Trap,
    /// The program handed the host a pointer outside its memory.
    BadPointer,
    /// The program handed the host data that is not valid wire data.
    BadWireData,
    /// A host function panicked.
    HostPanic,
    /// The run used all its fuel.
    OutOfFuel,
    /// The run went past its timeout.
    Timeout,
    /// Guest memory would grow past its cap.
    OutOfMemory,
    /// The guest's stack grew past its cap.
    StackOverflow,
    /// The module imports a capability that was not granted.
    NotGranted,
    /// The module imports something no capability provides.
    MissingImport,
    /// A file could not be read or written.
    Io,
    /// A replay made another capability call than its recording has, or
    /// ended otherwise.
    Diverged,
    /// The trace file is not a trace this Tape reads.
    BadTrace,
    /// Tape itself failed.
    Internal,
}

impl Kind {
    /// The name `--json` reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Status => "status",
            Kind::Usage => "usage",
            Kind::Manifest => "manifest",
            Kind::Compile => "compile",
            Kind::InvalidModule => "invalid-module",
            Kind::MissingExport => "missing-export",
            Kind::Trap => "trap",
            Kind::BadPointer => "bad-pointer",
            Kind::BadWireData => "bad-wire-data",
            Kind::HostPanic => "host-panic",
            Kind::OutOfFuel => "out-of-fuel",
            Kind::Timeout => "timeout",
            Kind::OutOfMemory => "out-of-memory",
            Kind::StackOverflow => "stack-overflow",
            Kind::NotGranted => "not-granted",
            Kind::MissingImport => "missing-import",
            Kind::Io => "io",
            Kind::Diverged => "diverged",
            Kind::BadTrace => "bad-trace",
            Kind::Internal => "internal",
        }
    }

    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Status => exit::GUEST_STATUS,
            Kind::Usage | Kind::Manifest | Kind::BadTrace => exit::USAGE,
            Kind::Compile | Kind::InvalidModule | Kind::MissingExport => exit::COMPILE,
            Kind::Trap | Kind::BadPointer | Kind::BadWireData | Kind::HostPanic => exit::TRAP,
            Kind::OutOfFuel | Kind::Timeout | Kind::OutOfMemory | Kind::StackOverflow => {
                exit::LIMIT
            }
            Kind::NotGranted | Kind::MissingImport => exit::DENIED,
            Kind::Diverged => exit::DIVERGED,
            Kind::Io | Kind::Internal => exit::INTERNAL,
        }
    }
}

/// A place in a file, 1-based, for a problem found outside the compiler
/// (a source that is not UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The text of that line, to show under the place.
    pub text: Option<String>,
}

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    /// One line.
    pub message: String,
    /// What else is known; boxed, as it is rarely all there, to keep
    /// `Result<_, Failure>` small.
    pub details: Box<Details>,
}

/// What helps act on a [`Failure`], beyond its message.
#[derive(Debug, Default)]
pub struct Details {
    /// What to do about it.
    pub help: Option<String>,
    /// For [`Kind::Compile`]: every diagnostic, with the source to show.
    pub diagnostics: Option<Box<Diagnostics>>,
    /// Where, when the problem has a place but no compiler diagnostics.
    pub location: Option<Location>,
    /// For [`Kind::NotGranted`] and [`Kind::MissingImport`]: the import.
    pub import: Option<(String, String)>,
    /// For a stop in wasm code (a trap, fuel, the timeout, the stack,
    /// memory): the guest's frames, innermost first (`$f at file:line:col`).
    pub backtrace: Vec<String>,
    /// For [`Kind::Status`]: why the capability call whose status the
    /// program returned failed, as `--json` gives it.
    pub reason: Option<serde_json::Value>,
    /// For a usage error about the arguments of a program that declares
    /// them: its usage (`crate::usage::usage`).
    pub usage: Option<String>,
    /// Other problems the same command found (`tape check` reports every
    /// one), shown after this one.
    pub also: Vec<Failure>,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            details: Box::default(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Usage, message)
    }

    pub fn io(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Io, message)
    }

    pub fn help(mut self, help: impl Into<String>) -> Failure {
        self.details.help = Some(help.into());
        self
    }

    pub fn usage_text(mut self, usage: impl Into<String>) -> Failure {
        self.details.usage = Some(usage.into());
        self
    }

    pub fn at(mut self, location: Location) -> Failure {
        self.details.location = Some(location);
        self
    }

    fn import(mut self, module: &str, name: &str) -> Failure {
        self.details.import = Some((module.to_string(), name.to_string()));
        self
    }

    fn compile(diagnostics: Box<Diagnostics>) -> Failure {
        let errors = diagnostics
            .items()
            .iter()
            .filter(|item| item.severity == tape_compiler::Severity::Error)
            .count();
        let warnings = diagnostics.items().len() - errors;
        let warnings = match warnings {
            0 => String::new(),
            1 => ", 1 warning".to_string(),
            n => format!(", {n} warnings"),
        };
        let mut failure = Failure::new(
            Kind::Compile,
            format!(
                "could not compile `{}` ({errors} error{}{warnings})",
                diagnostics.file(),
                if errors == 1 { "" } else { "s" }
            ),
        );
        failure.details.diagnostics = Some(diagnostics);
        failure
    }
}

impl From<tape_compiler::Error> for Failure {
    fn from(error: tape_compiler::Error) -> Failure {
        use tape_compiler::Error;
        match error {
            Error::Source(diagnostics) => Failure::compile(diagnostics),
            Error::Read { .. } => Failure::io(error.to_string()),
            Error::InvalidModule(_) | Error::Metadata(_) => {
                Failure::new(Kind::InvalidModule, error.to_string())
            }
            Error::TooLarge { .. } => Failure::new(Kind::Compile, error.to_string())
                .help("split the program, or raise the limit with `--max-source SIZE`"),
            Error::Timeout { .. } => Failure::new(Kind::Timeout, error.to_string()).help(
                "a function with a very large body is the usual cause: split it; \
                 or give compiling more time with `--timeout DURATION`",
            ),
        }
    }
}

impl From<tape_caps::ManifestError> for Failure {
    fn from(error: tape_caps::ManifestError) -> Failure {
        use tape_caps::ManifestError;
        match error {
            ManifestError::Invalid {
                path,
                line,
                column,
                message,
            } => Failure::new(Kind::Manifest, message)
                .at(Location {
                    file: path.display().to_string(),
                    line,
                    column,
                    // Manifests are small; the error came from reading
                    // this very file a moment ago.
                    text: std::fs::read_to_string(&path).ok().and_then(|text| {
                        text.lines().nth(line.saturating_sub(1)).map(str::to_owned)
                    }),
                })
                .help("docs/manifest.md describes every table and field of tape.toml"),
            // It exists but cannot be read, or `--manifest` names nothing.
            ManifestError::Read { .. } => Failure::usage(error.to_string()),
            ManifestError::Grant { .. } => Failure::usage(error.to_string())
                .help("fix the table in tape.toml, or override it with a flag"),
            other => Failure::usage(other.to_string()),
        }
    }
}

/// How to grant `capability`, for messages about missing grants: the flag,
/// and the `tape.toml` table.
pub fn grant_help(capability: &str) -> Option<&'static str> {
    Some(match capability {
        "kv" => "--kv PATH (or a [kv] table in tape.toml)",
        "fs" => {
            "--dir PATH (read-only) or --dir-rw PATH (or an [fs] table with `dir` in tape.toml)"
        }
        "http" => "--allow-http ORIGIN (or an [http] table with `allow` in tape.toml)",
        "ai" => {
            "--ai URL --ai-model NAME (or an [ai] table with `base-url` and `model` in tape.toml)"
        }
        _ => return None,
    })
}

impl From<tape_rt::Error> for Failure {
    fn from(error: tape_rt::Error) -> Failure {
        use tape_rt::ErrorKind;
        // Where the program was, for every stop in wasm code: a trap, fuel,
        // the timeout, the stack, memory.
        let backtrace = error.stack().lines();
        let message = error.message();
        let located = |mut failure: Failure| {
            failure.details.backtrace = backtrace.clone();
            failure
        };
        let error = match error.into_kind() {
            ErrorKind::Compile(inner) => return inner.into(),
            other => other,
        };
        let kind = match &error {
            ErrorKind::Module { .. } => Kind::InvalidModule,
            ErrorKind::MissingExport { .. } => Kind::MissingExport,
            // `tape run --invoke` checks parameters first; this is the
            // runtime agreeing that the command line was wrong.
            ErrorKind::Invoke { .. } => Kind::Usage,
            ErrorKind::NotGranted { problems } => {
                let mut failure = Failure::new(Kind::NotGranted, error.to_string());
                if let Some(first) = problems.first() {
                    failure = failure.import(first.module(), first.name());
                    let mut flags: Vec<&str> = problems
                        .iter()
                        .filter_map(|p| grant_help(p.module()))
                        .collect();
                    flags.dedup();
                    if !flags.is_empty() {
                        failure = failure.help(format!("grant it with {}", flags.join(", and ")));
                    }
                }
                return failure;
            }
            ErrorKind::MissingImport { problems } => {
                let mut failure = Failure::new(Kind::MissingImport, error.to_string()).help(
                    "a program may import only the functions of capabilities; \
                     `tape inspect` lists what a module imports",
                );
                if let Some(first) = problems.first() {
                    failure = failure.import(first.module(), first.name());
                }
                return failure;
            }
            ErrorKind::Trap { .. } => {
                return located(Failure::new(Kind::Trap, message));
            }
            ErrorKind::BadPointer { .. } => Kind::BadPointer,
            ErrorKind::Wire(_) => Kind::BadWireData,
            ErrorKind::HostPanic { .. } => Kind::HostPanic,
            ErrorKind::OutOfFuel { .. } => {
                return located(
                    Failure::new(Kind::OutOfFuel, message)
                        .help("give the run more with `--fuel N`, or `--fuel none`"),
                );
            }
            ErrorKind::Timeout { .. } => {
                return located(Failure::new(Kind::Timeout, message).help(
                    "give the run more time with `--timeout DURATION`, or `--timeout none`",
                ));
            }
            ErrorKind::MemoryExhausted { .. } => {
                return located(
                    Failure::new(Kind::OutOfMemory, message)
                        .help("raise the cap with `--max-memory SIZE`"),
                );
            }
            ErrorKind::StackOverflow { .. } => {
                return located(Failure::new(Kind::StackOverflow, message));
            }
            ErrorKind::Diverged { .. } => {
                return located(Failure::new(Kind::Diverged, message).help(
                    "the program no longer makes the calls it made when it was recorded: \
                     if that is meant, record it again with `tape run --record FILE`",
                ));
            }
            ErrorKind::Trace { .. } => Kind::BadTrace,
            ErrorKind::Io { .. } | ErrorKind::Capability { .. } => Kind::Io,
            _ => Kind::Internal,
        };
        Failure::new(kind, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_documented_exit_code() {
        let expected = [
            (Kind::Status, 1),
            (Kind::Usage, 2),
            (Kind::Compile, 3),
            (Kind::InvalidModule, 3),
            (Kind::MissingExport, 3),
            (Kind::Trap, 4),
            (Kind::BadPointer, 4),
            (Kind::BadWireData, 4),
            (Kind::HostPanic, 4),
            (Kind::OutOfFuel, 5),
            (Kind::Timeout, 5),
            (Kind::OutOfMemory, 5),
            (Kind::StackOverflow, 5),
            (Kind::NotGranted, 6),
            (Kind::MissingImport, 6),
            (Kind::Io, 70),
            (Kind::Diverged, 7),
            (Kind::BadTrace, 2),
            (Kind::Internal, 70),
        ];
        for (kind, code) in expected {
            assert_eq!(kind.exit_code(), code, "{}", kind.name());
        }
    }
}
