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
    /// wasmtime rejected the module.
    #[error("cannot compile the module: {message}")]
    Module { message: String },
    /// The module imports a function of a capability that exists but was
    /// not granted.
    #[error(
        "`{module}.{function}` belongs to the `{module}` capability, which is not granted; grant it to run this program"
    )]
    NotGranted { module: String, function: String },
    /// The module imports something no capability provides.
    #[error("the module imports `{module}.{name}`, which {reason}")]
    MissingImport {
        module: String,
        name: String,
        reason: String,
    },
    /// The module lacks an export the run needs, or has it with the wrong
    /// type.
    #[error("the module has no export `{name}` {expected}")]
    MissingExport { name: String, expected: String },
    /// The guest trapped: `unreachable`, an out-of-bounds access, a division
    /// by zero…
    #[error("the program trapped: {message}{backtrace}")]
    Trap { message: String, backtrace: String },
    /// The run used all the fuel it was given.
    #[error("the program ran out of fuel after {fuel} units")]
    OutOfFuel { fuel: u64 },
    /// The run went past its wall-clock deadline.
    #[error("the program was stopped after its {:?} timeout", timeout)]
    Timeout { timeout: Duration },
    /// Guest memory would grow past the cap.
    #[error("out of memory: growing to {requested} bytes would pass the {limit}-byte limit")]
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
    /// A host function panicked; the run was abandoned.
    #[error("a host function panicked: {message}")]
    HostPanic { message: String },
    /// Creating the engine or an instance failed for a reason of the host's.
    #[error("{0}")]
    Host(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
