use std::fmt;
use std::time::Duration;

use tape_compiler::ArgType;

use crate::outcome::Usage;

/// Everything that can stop a program from compiling, linking or running.
///
/// The host process survives every one of them; each is for one program or
/// one run only. An `Error` is one pointer wide; what went wrong is its
/// [`kind`](Error::kind), to match on, and the error it came from, where
/// there is one, is its [`source`](std::error::Error::source). A run that
/// stopped part way (a trap, a limit) keeps what it had done: the
/// [`results`](Error::results) it handed over and its
/// [`usage`](Error::usage).
///
/// ```
/// use tape_rt::{Args, Config, Engine, ErrorKind, Grants, Limits};
///
/// let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
/// let program = engine.compile_str("spin.wat", "(func $run (result i32) (loop (br 0)) (i32.const 0))", &Grants::new())?;
/// let limits = Limits { fuel: Some(10_000), ..Limits::default() };
/// let error = program.run_with(&Args::new(), &limits).unwrap_err();
/// assert!(matches!(error.kind(), ErrorKind::OutOfFuel { fuel: 10_000, .. }));
/// # Ok::<(), tape_rt::Error>(())
/// ```
pub struct Error {
    inner: Box<Inner>,
}

/// What an [`Error`] holds, behind one pointer.
struct Inner {
    kind: ErrorKind,
    /// What a run that stopped part way had done.
    stopped: Option<Stopped>,
}

/// What a run had done when it stopped.
struct Stopped {
    results: Vec<Vec<u8>>,
    usage: Usage,
    dump: Option<Box<crate::trace::Dump>>,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// What went wrong, by value.
    pub fn into_kind(self) -> ErrorKind {
        self.inner.kind
    }

    /// The results a run handed over before it stopped, each a whole wire
    /// value as in [`Outcome::results`](crate::Outcome::results): they are
    /// kept, so a run that traps or passes a limit late loses nothing it
    /// had written. Empty for an error before or outside a run.
    pub fn results(&self) -> &[Vec<u8>] {
        self.inner.stopped.as_ref().map_or(&[], |s| &s.results)
    }

    /// What a run used before it stopped; `None` for an error before or
    /// outside a run.
    pub fn usage(&self) -> Option<&Usage> {
        self.inner.stopped.as_ref().map(|s| &s.usage)
    }

    /// The error's message without its call stack: what `Display` shows
    /// before the `in $function at file:line:col` lines of
    /// [`stack`](Error::stack), for a host that shows the stack its own way.
    pub fn message(&self) -> String {
        let full = self.to_string();
        let stack = self.stack().to_string();
        match full.strip_suffix(&stack) {
            Some(message) if !stack.is_empty() => message.to_string(),
            _ => full,
        }
    }

    /// This error located at `stack`, if it is of a kind that has a
    /// stack and has none yet (a memory cap passed in a host function).
    pub(crate) fn at(mut self, stack: CallStack) -> Error {
        if let ErrorKind::MemoryExhausted { stack: empty, .. } = &mut self.inner.kind
            && empty.frames.is_empty()
        {
            *empty = stack;
        }
        self
    }

    /// This error, with what the run had done when it stopped.
    pub(crate) fn stopped(mut self, results: Vec<Vec<u8>>, usage: Usage) -> Error {
        self.inner.stopped = Some(Stopped {
            results,
            usage,
            dump: None,
        });
        self
    }

    /// This error, with the memory of the run it stopped.
    pub(crate) fn with_dump(mut self, dump: Option<crate::trace::Dump>) -> Error {
        if let Some(stopped) = &mut self.inner.stopped {
            stopped.dump = dump.map(Box::new);
        }
        self
    }

    /// The memory of the run when it stopped, for a run that asked for it
    /// ([`Run::dump_on_stop`](crate::Run::dump_on_stop)) and had
    /// instantiated its module.
    pub fn dump(&self) -> Option<&crate::trace::Dump> {
        self.inner.stopped.as_ref()?.dump.as_deref()
    }

    /// Where the program was when the run stopped, for the kinds that
    /// stop it in wasm code: a trap, fuel, the timeout, the stack, memory.
    /// Empty when the stop came from the host or before the run.
    pub fn stack(&self) -> &CallStack {
        static EMPTY: CallStack = CallStack { frames: Vec::new() };
        match self.kind() {
            ErrorKind::Trap { stack, .. }
            | ErrorKind::OutOfFuel { stack, .. }
            | ErrorKind::Timeout { stack, .. }
            | ErrorKind::StackOverflow { stack }
            | ErrorKind::MemoryExhausted { stack, .. }
            | ErrorKind::Diverged { stack, .. } => stack,
            _ => &EMPTY,
        }
    }

    /// An [`ErrorKind::Io`]: `context` says what was being done, e.g.
    /// "cannot open the key-value store `state.redb`".
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        ErrorKind::Io {
            context: context.into(),
            source,
        }
        .into()
    }

    /// An [`ErrorKind::Capability`]: the capability `name` failed for a
    /// reason of the host's, in `source`.
    pub fn capability(
        name: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        ErrorKind::Capability {
            name: name.into(),
            source: source.into(),
        }
        .into()
    }

    /// An [`ErrorKind::Internal`]: a state the runtime should never be in.
    pub(crate) fn internal(message: impl Into<String>) -> Error {
        ErrorKind::Internal {
            message: message.into(),
        }
        .into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                stopped: None,
            }),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.kind.fmt(f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.kind.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.kind.source()
    }
}

impl From<tape_compiler::Error> for Error {
    fn from(error: tape_compiler::Error) -> Error {
        ErrorKind::Compile(error).into()
    }
}

impl From<tape_protocol::Error> for Error {
    fn from(error: tape_protocol::Error) -> Error {
        ErrorKind::Wire(error).into()
    }
}

impl From<ArgumentError> for Error {
    fn from(error: ArgumentError) -> Error {
        ErrorKind::Argument(error).into()
    }
}

/// What an [`Error`] is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The source did not compile; the diagnostics point into it.
    #[error(transparent)]
    Compile(tape_compiler::Error),
    /// wasmtime rejected the module.
    #[error("cannot compile the module: {message}")]
    Module {
        /// wasmtime's message.
        message: String,
    },
    /// The module imports functions of capabilities that are known but not
    /// granted, and nothing else is wrong with its imports: granting the
    /// capabilities these problems name makes it link. Every problem is
    /// listed, not only the first.
    #[error("{}", LinkReport(problems))]
    NotGranted {
        /// Each import, with its capability.
        problems: Vec<LinkProblem>,
    },
    /// The module has imports no grant can provide (an unknown capability
    /// or function, a wrong type, a non-function import), and maybe some
    /// ungranted ones too. Every problem is listed, not only the first.
    #[error("{}", LinkReport(problems))]
    MissingImport {
        /// Each import that cannot be linked.
        problems: Vec<LinkProblem>,
    },
    /// The module lacks an export the run needs, or has it with the wrong
    /// type.
    #[error("the module has no export `{name}` {expected}")]
    MissingExport {
        /// The export's name.
        name: String,
        /// What it should be, e.g. "that is a function".
        expected: String,
    },
    /// Values that are not the arguments the program declares
    /// ([`Program::args_from_text`](crate::Program::args_from_text) and
    /// the like).
    #[error("{0}")]
    Argument(ArgumentError),
    /// [`Program::invoke`](crate::Program::invoke) was given parameters the
    /// function does not take.
    #[error("cannot call `{function}`: {message}")]
    Invoke {
        /// The function's export name.
        function: String,
        /// What is wrong with the parameters.
        message: String,
    },
    /// The guest trapped: `unreachable`, an out-of-bounds access, a division
    /// by zero…
    #[error("the program trapped: {message}{stack}")]
    Trap {
        /// wasmtime's description of the trap.
        message: String,
        /// Where: the wasm call stack, with function names.
        stack: CallStack,
    },
    /// The run used all the fuel it was given.
    #[error(
        "the program ran out of fuel after {fuel} units; raise the fuel limit if it is expected to run longer{stack}"
    )]
    OutOfFuel {
        /// The fuel it had.
        fuel: u64,
        /// Where it was: the wasm call stack.
        stack: CallStack,
    },
    /// The run went past its wall-clock deadline.
    #[error("the program was stopped after its {:?} timeout{stack}", timeout)]
    Timeout {
        /// The run's timeout.
        timeout: Duration,
        /// Where it was: the wasm call stack (empty if it was stopped
        /// while instantiating).
        stack: CallStack,
    },
    /// The run's memories, tables and GC heap would together grow past
    /// the memory cap ([`Limits::max_memory`](crate::Limits::max_memory)).
    #[error(
        "out of memory: the run's memories and tables would hold {requested} bytes, past its {limit}-byte limit{stack}"
    )]
    MemoryExhausted {
        /// Bytes the growth asked for, in all.
        requested: u64,
        /// The cap.
        limit: u64,
        /// Where the program was when it asked: the wasm call stack
        /// (empty for a capability's own memory).
        stack: CallStack,
    },
    /// The guest's call stack grew past the wasm stack cap.
    #[error("stack overflow: the program recursed past the wasm stack limit{stack}")]
    StackOverflow {
        /// Where: the wasm call stack, innermost frame first (as deep as
        /// wasmtime keeps it).
        stack: CallStack,
    },
    /// The guest handed the host a pointer or length outside its memory.
    #[error(
        "bad pointer: {what} at {ptr:#x} with length {len} does not fit in the {memory}-byte memory"
    )]
    BadPointer {
        /// What the pointer was for, e.g. "a length prefix".
        what: &'static str,
        /// The guest address.
        ptr: u64,
        /// The length read or written there.
        len: u64,
        /// The memory's size.
        memory: u64,
    },
    /// Data crossing the boundary is not valid wire data for its type.
    #[error("bad wire data: {0}")]
    Wire(tape_protocol::Error),
    /// A host function (or a capability's `begin_run`) panicked; the run
    /// was abandoned.
    #[error("a host function panicked: {message}")]
    HostPanic {
        /// The panic's message.
        message: String,
    },
    /// Every slot of the pooling allocator ([`Config::pooling`](crate::Config::pooling))
    /// holds a live run: retry once one ends, or raise
    /// [`Pooling::instances`](crate::Pooling::instances).
    #[error(
        "cannot start the run: all {instances} pooled instances are in use; wait for runs to finish or raise `Pooling::instances`"
    )]
    PoolExhausted {
        /// How many runs the pool holds.
        instances: u32,
    },
    /// A capability failed for a reason of the host's: it could not be
    /// set up (a database that does not open), register its functions, or
    /// commit what a completed run did.
    #[error("the `{name}` capability failed: {source}")]
    Capability {
        /// The capability's name.
        name: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The host's file system or threads failed: the module cache, the
    /// timeout thread, a capability's file.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// wasmtime refused the engine's configuration.
    #[error("cannot create the engine: {message}")]
    Engine {
        /// wasmtime's message.
        message: String,
    },
    /// A replayed run made a capability call its trace does not have
    /// there: another function, or the same one sent other data.
    #[error("{}", diverged_message(*index, difference, recorded.as_deref(), made, stack))]
    Diverged {
        /// The call's position in the trace, from 0.
        index: usize,
        /// What differs, in words: "the program sent `kv.set` another
        /// `$key` than the recording has".
        difference: String,
        /// The recorded call at that position, as a line; `None` past the
        /// trace's end.
        recorded: Option<String>,
        /// The call the run made, as a line.
        made: String,
        /// Where the program made it.
        stack: CallStack,
    },
    /// A trace that cannot be read or replayed.
    #[error("cannot use the trace: {message}")]
    Trace {
        /// What is wrong with it.
        message: String,
    },
    /// A state the runtime should never be in: a bug, to report.
    #[error("internal error: {message}")]
    Internal {
        /// What was found.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One import a program cannot be linked with, in
/// [`ErrorKind::NotGranted`] or [`ErrorKind::MissingImport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkProblem {
    /// `module.function` belongs to a built-in capability that is not
    /// granted.
    NotGranted {
        /// The capability.
        module: String,
        /// The function imported.
        function: String,
    },
    /// No capability, built-in or granted, has this name.
    UnknownCapability {
        /// The import's module: a capability that does not exist.
        module: String,
        /// The function imported.
        name: String,
        /// The capabilities that exist: built-in and granted.
        known: Vec<String>,
    },
    /// The capability is granted but has no function of this name.
    UnknownFunction {
        /// The capability.
        module: String,
        /// The function it does not have.
        name: String,
        /// The functions it does have.
        available: Vec<String>,
    },
    /// The function exists with another type.
    WrongType {
        /// The capability.
        module: String,
        /// The function.
        name: String,
        /// The type the capability defines.
        expected: String,
        /// The type the module imports it as.
        found: String,
    },
    /// A memory, table, global or tag import: capabilities provide only
    /// functions.
    NotAFunction {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// What it is instead: "memory", "table", "global" or "tag".
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl CallStack {
    /// Most lines [`lines`](CallStack::lines) gives: a deep recursion
    /// keeps its innermost and outermost frames, not thousands.
    pub const MAX_LINES: usize = 24;

    /// The frames as lines to show, innermost first: `$name at
    /// file:line:col`, a run of the same frame folded into one line
    /// (`… (× 5000)`), and at most [`MAX_LINES`](CallStack::MAX_LINES),
    /// the middle left out with a line that says how many frames it held.
    pub fn lines(&self) -> Vec<String> {
        let mut folded: Vec<(String, usize)> = Vec::new();
        for frame in &self.frames {
            let line = frame.to_string();
            match folded.last_mut() {
                Some((last, count)) if *last == line => *count += 1,
                _ => folded.push((line, 1)),
            }
        }
        let shown = |(line, count): &(String, usize)| match count {
            1 => line.clone(),
            n => format!("{line} (× {n})"),
        };
        if folded.len() <= CallStack::MAX_LINES {
            return folded.iter().map(shown).collect();
        }
        let (head, tail) = (CallStack::MAX_LINES - 5, 4);
        let left_out: usize = folded[head..folded.len() - tail]
            .iter()
            .map(|(_, n)| n)
            .sum();
        let mut lines: Vec<String> = folded[..head].iter().map(shown).collect();
        lines.push(format!("… {left_out} more frames …"));
        lines.extend(folded[folded.len() - tail..].iter().map(shown));
        lines
    }
}

impl fmt::Display for CallStack {
    /// One `\n  in $name at file:line:col` line per line of
    /// [`lines`](CallStack::lines) (nothing for an empty backtrace), so it
    /// reads well after a message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            write!(f, "\n  in {line}")?;
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

/// Why values cannot be the arguments a program declares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgumentError {
    /// The value is not of the argument's type.
    #[error("argument `{name}` ({ty}): {reason}")]
    Invalid {
        /// The argument's name.
        name: String,
        /// Its declared type.
        ty: ArgType,
        /// Why the value is not of it.
        reason: String,
    },
    /// A value already typed (a command line's `i32:5`) is of another
    /// type than the argument's.
    #[error("argument `{name}` is {}, but `{given}` is {}", article(*ty), article(*given_ty))]
    Mismatch {
        /// The argument's name.
        name: String,
        /// Its declared type.
        ty: ArgType,
        /// The value as written.
        given: String,
        /// The type it was given as.
        given_ty: ArgType,
    },
    /// A required argument was not given.
    #[error("missing argument `{name}` ({ty}): {description}")]
    Missing {
        /// The argument's name.
        name: String,
        /// Its declared type.
        ty: ArgType,
        /// What it is for, as the program declares it.
        description: String,
    },
    /// More values than the program declares arguments.
    #[error(
        "{given} arguments given, but the program takes {}",
        at_most(*declared)
    )]
    TooMany {
        /// Values given.
        given: usize,
        /// Arguments declared.
        declared: usize,
    },
    /// A named value for an argument the program does not declare.
    #[error("the program has no argument `{name}`")]
    Unknown {
        /// The name given.
        name: String,
        /// The names it does declare.
        declared: Vec<String>,
    },
    /// The same argument given twice.
    #[error("argument `{name}` is given twice")]
    Twice {
        /// The argument's name.
        name: String,
    },
    /// Named arguments that are not a JSON object.
    #[error("the arguments must be a JSON object with one property per argument, not {found}")]
    NotAnObject {
        /// What was given instead, e.g. "an array".
        found: &'static str,
    },
}

pub(crate) fn article(ty: ArgType) -> String {
    match ty {
        ArgType::I32 | ArgType::I64 => format!("an {ty}"),
        _ => format!("a {ty}"),
    }
}

fn at_most(declared: usize) -> String {
    match declared {
        0 => "none".into(),
        1 => "at most 1".into(),
        n => format!("at most {n}"),
    }
}

/// [`ErrorKind::Diverged`]'s message: what differs, then the two calls
/// one above the other.
fn diverged_message(
    index: usize,
    difference: &str,
    recorded: Option<&str>,
    made: &str,
    stack: &CallStack,
) -> String {
    let recorded = recorded.map_or(String::new(), |r| format!("\n  recorded: {r}"));
    format!(
        "the replay diverged at call {}: {difference}{recorded}\n  made:     {made}{stack}",
        index + 1
    )
}
