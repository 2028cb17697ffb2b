use std::fmt;
use std::time::Duration;

/// Everything that can stop a program from compiling, linking or running.
///
/// The host process survives every one of them; each is for one program or
/// one run only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source did not compile; the diagnostics point into it.
    #[error(transparent)]
    Compile(#[from] tape_compiler::Error),
    /// A `tape.toml` is malformed, has a field the format does not have,
    /// or a value of the wrong form.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Manifest {
        path: std::path::PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// wasmtime rejected the module.
    #[error("cannot compile the module: {message}")]
    Module { message: String },
    /// The module imports functions of capabilities that exist but are not
    /// granted, and nothing else is wrong with its imports: granting the
    /// capabilities these problems name makes it link. Every problem is
    /// listed, not only the first.
    #[error("{}", LinkReport(problems))]
    NotGranted { problems: Vec<LinkProblem> },
    /// The module has imports no grant can provide (an unknown capability
    /// or function, a wrong type, a non-function import), and maybe some
    /// ungranted ones too. Every problem is listed, not only the first.
    #[error("{}", LinkReport(problems))]
    MissingImport { problems: Vec<LinkProblem> },
    /// The module lacks an export the run needs, or has it with the wrong
    /// type.
    #[error("the module has no export `{name}` {expected}")]
    MissingExport { name: String, expected: String },
    /// Values that are not the arguments the program declares
    /// ([`Program::args_from_text`](crate::Program::args_from_text) and
    /// the like).
    #[error("{0}")]
    Argument(#[from] crate::ArgumentError),
    /// [`Program::invoke`](crate::Program::invoke) was given parameters the
    /// function does not take.
    #[error("cannot call `{function}`: {message}")]
    Invoke { function: String, message: String },
    /// The guest trapped: `unreachable`, an out-of-bounds access, a division
    /// by zero…
    #[error("the program trapped: {message}{stack}")]
    Trap {
        message: String,
        /// Where: the wasm call stack, with function names.
        stack: CallStack,
    },
    /// The run used all the fuel it was given.
    #[error(
        "the program ran out of fuel after {fuel} units; raise the fuel limit if it is expected to run longer"
    )]
    OutOfFuel { fuel: u64 },
    /// The run went past its wall-clock deadline.
    #[error("the program was stopped after its {:?} timeout", timeout)]
    Timeout { timeout: Duration },
    /// The run's memories, tables and GC heap would together grow past
    /// the memory cap ([`Limits::max_memory`](crate::Limits::max_memory)).
    #[error(
        "out of memory: the run's memories and tables would hold {requested} bytes, past its {limit}-byte limit"
    )]
    MemoryExhausted { requested: u64, limit: u64 },
    /// The guest's call stack grew past the wasm stack cap.
    #[error("stack overflow: the program recursed past the wasm stack limit")]
    StackOverflow,
    /// The guest handed the host a pointer or length outside its memory.
    #[error(
        "bad pointer: {what} at {ptr:#x} with length {len} does not fit in the {memory}-byte memory"
    )]
    BadPointer {
        what: &'static str,
        ptr: u64,
        len: u64,
        memory: u64,
    },
    /// Data crossing the boundary is not valid wire data for its type.
    #[error("bad wire data: {0}")]
    Wire(#[from] tape_protocol::Error),
    /// A host function (or a capability's `begin_run`) panicked; the run
    /// was abandoned.
    #[error("a host function panicked: {message}")]
    HostPanic { message: String },
    /// Creating the engine or an instance failed for a reason of the host's.
    #[error("{0}")]
    Host(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One import a program cannot be linked with, in
/// [`Error::NotGranted`] or [`Error::MissingImport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkProblem {
    /// `module.function` belongs to a built-in capability that is not
    /// granted.
    NotGranted { module: String, function: String },
    /// No capability, built-in or granted, has this name.
    UnknownCapability {
        module: String,
        name: String,
        /// The capabilities that exist: built-in and granted.
        known: Vec<String>,
    },
    /// The capability is granted but has no function of this name.
    UnknownFunction {
        module: String,
        name: String,
        /// The functions it does have.
        available: Vec<String>,
    },
    /// The function exists with another type.
    WrongType {
        module: String,
        name: String,
        /// The type the capability defines.
        expected: String,
        /// The type the module imports it as.
        found: String,
    },
    /// A memory, table, global or tag import: capabilities provide only
    /// functions.
    NotAFunction {
        module: String,
        name: String,
        kind: &'static str,
    },
}

impl LinkProblem {
    /// The import's module name: the capability it asks for.
    pub fn module(&self) -> &str {
        match self {
            LinkProblem::NotGranted { module, .. }
            | LinkProblem::UnknownCapability { module, .. }
            | LinkProblem::UnknownFunction { module, .. }
            | LinkProblem::WrongType { module, .. }
            | LinkProblem::NotAFunction { module, .. } => module,
        }
    }

    /// The import's field name: the function it asks for.
    pub fn name(&self) -> &str {
        match self {
            LinkProblem::NotGranted { function: name, .. }
            | LinkProblem::UnknownCapability { name, .. }
            | LinkProblem::UnknownFunction { name, .. }
            | LinkProblem::WrongType { name, .. }
            | LinkProblem::NotAFunction { name, .. } => name,
        }
    }
}

impl fmt::Display for LinkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkProblem::NotGranted { module, function } => write!(
                f,
                "`{module}.{function}` belongs to the `{module}` capability, which is not granted; grant `{module}` to run this program"
            ),
            LinkProblem::UnknownCapability {
                module,
                name,
                known,
            } => write!(
                f,
                "`{module}.{name}`: no capability provides it; there is no capability `{module}` (known: {})",
                known.join(", ")
            ),
            LinkProblem::UnknownFunction {
                module,
                name,
                available,
            } => write!(
                f,
                "`{module}.{name}`: the `{module}` capability does not have `{name}` (it has: {})",
                available.join(", ")
            ),
            LinkProblem::WrongType {
                module,
                name,
                expected,
                found,
            } => write!(
                f,
                "`{module}.{name}` is imported as `{found}`, but the `{module}` capability defines it as `{expected}`"
            ),
            LinkProblem::NotAFunction { module, name, kind } => write!(
                f,
                "`{module}.{name}` is imported as a {kind}; capabilities provide only functions"
            ),
        }
    }
}

/// Renders a list of link problems: inline for one, one per line for more.
struct LinkReport<'a>(&'a [LinkProblem]);

impl fmt::Display for LinkReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [one] => write!(f, "cannot link the module: {one}"),
            problems => {
                write!(f, "cannot link the module: {} problems", problems.len())?;
                let mut grants: Vec<&str> = Vec::new();
                for problem in problems {
                    if let LinkProblem::NotGranted { module, .. } = problem
                        && !grants.contains(&module.as_str())
                    {
                        grants.push(module);
                    }
                }
                if !grants.is_empty() {
                    write!(f, " (grant: {})", grants.join(", "))?;
                }
                for problem in problems {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

/// The wasm call stack of a trap, innermost frame first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStack {
    /// Each frame, innermost first.
    pub frames: Vec<Frame>,
}

/// One frame of a [`CallStack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The function's index in the module.
    pub func_index: u32,
    /// Its name from the name section (`$inner` in the source), if any.
    pub func_name: Option<String>,
    /// The byte offset of the trapping or calling instruction in the
    /// module.
    pub module_offset: Option<usize>,
    /// Where the user wrote that instruction, from the compiler's line
    /// table ([`Metadata::lines`](tape_compiler::Metadata::lines)); `None`
    /// for a module compiled without one.
    pub source: Option<SourceLocation>,
}

/// A place in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file name the program was compiled under.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl fmt::Display for CallStack {
    /// One `\n  in $name at file:line:col` line per frame (nothing for an
    /// empty backtrace), so it reads well after a message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for frame in &self.frames {
            write!(f, "\n  in {frame}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Frame {
    /// `$name at file:line:col`, or at its module offset where the source
    /// is unknown; `function N` for a function without a name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.func_name {
            Some(name) => write!(f, "${name}")?,
            None => write!(f, "function {}", self.func_index)?,
        }
        match (&self.source, self.module_offset) {
            (Some(source), _) => write!(f, " at {source}"),
            (None, Some(offset)) => write!(f, " at module offset {offset:#x}"),
            (None, None) => Ok(()),
        }
    }
}
