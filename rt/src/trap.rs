//! What stopped a run: a trap, a limit or a host error, told apart and
//! located in the user's source.

use tape_compiler::Metadata;
use wasmtime::{GcHeapOutOfMemory, PoolConcurrencyLimitError, Trap, WasmBacktrace};

use crate::engine::Limits;
use crate::error::{CallStack, Frame, SourceLocation};
use crate::error::{Error, ErrorKind};
use crate::state::State;

/// Turns a failed instantiation or call into the error that says what
/// happened.
pub(crate) fn classify(
    error: wasmtime::Error,
    fuel: u64,
    limits: &Limits,
    metadata: &Metadata,
    state: &State,
    pool_instances: u32,
) -> Error {
    let stack = error
        .downcast_ref::<WasmBacktrace>()
        .map(|backtrace| to_stack(backtrace, Some(metadata)))
        .unwrap_or_default();
    // wasmtime turns a refused growth of the GC heap into an allocation
    // failure of its own; the cause is the memory cap.
    if let Some((requested, limit)) = state.refused_growth
        && error.is::<GcHeapOutOfMemory<()>>()
    {
        return ErrorKind::MemoryExhausted {
            requested,
            limit,
            stack,
        }
        .into();
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => ErrorKind::OutOfFuel { fuel, stack },
            Trap::Interrupt => ErrorKind::Timeout {
                timeout: limits.timeout.unwrap_or_default(),
                stack,
            },
            Trap::StackOverflow => ErrorKind::StackOverflow { stack },
            other => {
                // wasmtime says "wasm trap: …"; our message already says
                // the program trapped.
                let message = other.to_string();
                ErrorKind::Trap {
                    message: message
                        .strip_prefix("wasm trap: ")
                        .unwrap_or(&message)
                        .to_string(),
                    stack,
                }
            }
        }
        .into();
    }
    if error.is::<PoolConcurrencyLimitError>() {
        return ErrorKind::PoolExhausted {
            instances: pool_instances,
        }
        .into();
    }
    let error = match error.downcast::<Error>() {
        // An error of the host's, while the guest called it or grew its
        // memory: where the guest was is the backtrace wasmtime added.
        Ok(error) => return error.at(stack),
        Err(error) => error,
    };
    match error.downcast::<tape_protocol::Error>() {
        Ok(error) => ErrorKind::Wire(error).into(),
        Err(error) => ErrorKind::Trap {
            message: format!("{error:#}"),
            stack,
        }
        .into(),
    }
}

/// The frames of a trap, each located in the user's source through the
/// compiler's line table when the module has one.
pub(crate) fn to_stack(backtrace: &WasmBacktrace, metadata: Option<&Metadata>) -> CallStack {
    CallStack {
        frames: backtrace
            .frames()
            .iter()
            .map(|frame| {
                let source = frame
                    .module_offset()
                    .and_then(|offset| u32::try_from(offset).ok())
                    .zip(metadata)
                    .and_then(|(offset, metadata)| metadata.location(offset).zip(Some(metadata)))
                    .map(|((line, column), metadata)| SourceLocation {
                        file: metadata.file.clone(),
                        line,
                        column,
                    });
                Frame {
                    func_index: frame.func_index(),
                    func_name: frame.func_name().map(str::to_string),
                    module_offset: frame.module_offset(),
                    source,
                }
            })
            .collect(),
    }
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
