use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tape_compiler::{MEMORY_EXPORT, Metadata, RUN_EXPORT};
use wasmtime::{ExternType, InstancePre, Linker, Module, Store, Trap, ValType, WasmBacktrace};

use crate::caller::caller_write_raw;
use crate::state::CapabilityUsage;
use crate::{Capability, Engine, Error, Grants, Limits, Result, State, caps};

/// A compiled module linked against its grants: each run is only an
/// instantiation and a call.
///
/// Cheap to share between threads (`Program: Send + Sync`); runs are
/// independent and see nothing of each other.
pub struct Program {
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<State>,
    pub(crate) metadata: Metadata,
    pub(crate) capabilities: Vec<Arc<dyn Capability>>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// The arguments of a run, each a wire value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    values: Vec<Vec<u8>>,
}

impl Args {
    /// No arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// Each string as one argument (`[len][utf-8]`).
    pub fn strings<S: AsRef<str>>(strings: impl IntoIterator<Item = S>) -> Self {
        let values = strings
            .into_iter()
            .map(|s| {
                let s = s.as_ref().as_bytes();
                let mut value = Vec::with_capacity(4 + s.len());
                value.extend_from_slice(&(s.len() as u32).to_le_bytes());
                value.extend_from_slice(s);
                value
            })
            .collect();
        Args { values }
    }

    /// Adds `value`, encoded in the wire format.
    ///
    /// # Errors
    ///
    /// [`Error::Wire`] if it cannot be encoded (over 4 GiB).
    pub fn push<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self> {
        self.values.push(tape_protocol::to_vec(value)?);
        Ok(self)
    }

    /// Adds a value already in wire format.
    pub fn push_raw(mut self, wire: Vec<u8>) -> Self {
        self.values.push(wire);
        self
    }
}

/// What a run produced and what it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What `run` returned: 0 for success.
    pub status: i32,
    /// Each result the guest handed over, as a whole wire value
    /// (`[len][payload]`).
    pub results: Vec<Vec<u8>>,
    /// What the run used.
    pub usage: Usage,
}

/// Resources a run used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    /// Fuel consumed.
    pub fuel: u64,
    /// Wall-clock time, from instantiation to return.
    pub time: Duration,
    /// Size of the guest memory at the end, which is its peak: it never
    /// shrinks.
    pub peak_memory: u64,
    /// Calls from the guest to host functions, all capabilities together.
    pub host_calls: u64,
    /// Per capability (other than `core`), in order of first use.
    pub capabilities: Vec<(String, CapabilityUsage)>,
}

impl Outcome {
    /// Whether `run` returned 0.
    pub fn is_success(&self) -> bool {
        self.status == 0
    }

    /// Decodes result `index` as a `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Wire`] if the bytes are not a `T`, or there is no such
    /// result.
    pub fn result<'a, T: Deserialize<'a>>(&'a self, index: usize) -> Result<T> {
        let bytes = self.results.get(index).ok_or_else(|| {
            Error::Wire(tape_protocol::Error::Custom {
                offset: None,
                message: format!(
                    "there is no result {index}; the run gave {}",
                    self.results.len()
                ),
            })
        })?;
        Ok(tape_protocol::from_bytes(bytes)?)
    }
}

impl Program {
    pub(crate) fn new(
        engine: &Engine,
        wasm: &[u8],
        metadata: Metadata,
        grants: &Grants,
    ) -> Result<Program> {
        let module = Module::new(engine.wasmtime(), wasm).map_err(|e| Error::Module {
            message: format!("{e:#}"),
        })?;
        check_exports(&module)?;
        let capabilities = grants.all();
        check_imports(&module, &capabilities)?;
        let mut linker = Linker::new(engine.wasmtime());
        for capability in &capabilities {
            capability.register(&mut linker).map_err(|e| {
                Error::Host(format!(
                    "the `{}` capability failed to register: {e}",
                    capability.name()
                ))
            })?;
        }
        let pre = linker.instantiate_pre(&module).map_err(|e| Error::Module {
            message: format!("{e:#}"),
        })?;
        Ok(Program {
            engine: engine.clone(),
            pre,
            metadata,
            capabilities,
        })
    }

    /// What the compiler recorded about the module.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Runs the program with the engine's default limits.
    ///
    /// # Errors
    ///
    /// A trap, fuel exhaustion, timeout, memory exhaustion, bad pointer or a
    /// panicking host function, each as its own [`Error`] variant. A
    /// non-zero status is not an error: see [`Outcome::status`].
    pub fn run(&self, args: &Args) -> Result<Outcome> {
        self.run_with(args, &self.engine.config().limits)
    }

    /// Runs the program with `limits`; see [`Program::run`].
    ///
    /// # Errors
    ///
    /// As [`Program::run`].
    pub fn run_with(&self, args: &Args, limits: &Limits) -> Result<Outcome> {
        let state = State::new(
            self.metadata.initial_top,
            limits.max_memory,
            limits.max_result_bytes,
            args.values.clone(),
        );
        let mut store = Store::new(self.engine.wasmtime(), state);
        store.limiter(|state| state);
        let fuel = limits.fuel.unwrap_or(u64::MAX);
        store
            .set_fuel(fuel)
            .map_err(|e| Error::Host(e.to_string()))?;
        let tick = self.engine.config().epoch_tick;
        store.set_epoch_deadline(match limits.timeout {
            // One tick more than the timeout holds, so a run is never cut
            // short; it stops at most one tick late.
            Some(timeout) => (timeout.as_nanos() / tick.as_nanos().max(1)) as u64 + 1,
            None => u64::MAX / 2,
        });
        for capability in &self.capabilities {
            capability.begin_run(store.data_mut());
        }

        let start = Instant::now();
        let called = catch_unwind(AssertUnwindSafe(|| self.call_run(&mut store)));
        let time = start.elapsed();
        self.end_run(&mut store, matches!(called, Ok(Ok(_))))?;

        let status = match called {
            Ok(Ok(status)) => status,
            Ok(Err(error)) => return Err(classify(error, fuel, limits)),
            Err(panic) => {
                return Err(Error::HostPanic {
                    message: panic_message(&*panic),
                });
            }
        };
        let peak_memory = store
            .data()
            .memory
            .handle
            .map_or(0, |m| m.data_size(&store) as u64);
        let used = fuel - store.get_fuel().unwrap_or(fuel);
        let state = store.into_data();
        Ok(Outcome {
            status,
            results: state.results,
            usage: Usage {
                fuel: used,
                time,
                peak_memory,
                host_calls: state.host_calls,
                capabilities: state
                    .usage
                    .into_iter()
                    .map(|(name, usage)| (name.to_string(), usage))
                    .collect(),
            },
        })
    }

    /// Lets every capability finish the run: commit buffered effects if it
    /// `completed`, discard them if not. Only a completed run's failure to
    /// commit is an error (a failed run already has one), and once one
    /// capability failed to commit, those after it discard theirs.
    fn end_run(&self, store: &mut Store<State>, completed: bool) -> Result<()> {
        let mut failure = None;
        for capability in &self.capabilities {
            let commit = completed && failure.is_none();
            let ended = catch_unwind(AssertUnwindSafe(|| {
                capability.end_run(store.data_mut(), commit)
            }));
            let error = match ended {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => match error.downcast::<Error>() {
                    Ok(error) => error,
                    Err(error) => Error::Host(format!(
                        "the `{}` capability failed to finish the run: {error:#}",
                        capability.name()
                    )),
                },
                Err(panic) => Error::HostPanic {
                    message: panic_message(&*panic),
                },
            };
            if commit {
                failure = Some(error);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    fn call_run(&self, store: &mut Store<State>) -> wasmtime::Result<i32> {
        let instance = self.pre.instantiate(&mut *store)?;
        let memory = instance
            .get_memory(&mut *store, MEMORY_EXPORT)
            .ok_or_else(|| missing_export(MEMORY_EXPORT, "(a memory)"))?;
        store.data_mut().memory.handle = Some(memory);
        let args = std::mem::take(&mut store.data_mut().args);
        for arg in &args {
            let ptr = caller_write_raw(&mut *store, arg)?;
            store.data_mut().arg_ptrs.push(ptr);
        }
        let run = instance.get_typed_func::<(), i32>(&mut *store, RUN_EXPORT)?;
        run.call(&mut *store, ())
    }
}

fn missing_export(name: &str, expected: &str) -> Error {
    Error::MissingExport {
        name: name.into(),
        expected: expected.into(),
    }
}

fn check_exports(module: &Module) -> Result<()> {
    match module.get_export(RUN_EXPORT) {
        Some(ExternType::Func(ty))
            if ty.params().len() == 0 && {
                let results: Vec<_> = ty.results().collect();
                results.len() == 1 && matches!(results[0], ValType::I32)
            } => {}
        _ => {
            return Err(missing_export(
                RUN_EXPORT,
                "of type `(func (result i32))`; define `(func $run (result i32) …)`",
            ));
        }
    }
    match module.get_export(MEMORY_EXPORT) {
        Some(ExternType::Memory(ty)) if !ty.is_64() => Ok(()),
        _ => Err(missing_export(MEMORY_EXPORT, "that is a 32-bit memory")),
    }
}

/// Every import must be a function of a granted capability.
fn check_imports(module: &Module, granted: &[Arc<dyn Capability>]) -> Result<()> {
    for import in module.imports() {
        let (module_name, name) = (import.module(), import.name());
        let missing = |reason: String| Error::MissingImport {
            module: module_name.into(),
            name: name.into(),
            reason,
        };
        if !matches!(import.ty(), ExternType::Func(_)) {
            return Err(missing(
                "is not a function; capabilities provide only functions".into(),
            ));
        }
        if let Some(capability) = granted.iter().find(|c| c.name() == module_name) {
            if !capability.functions().iter().any(|f| f.name == name) {
                let known: Vec<_> = capability.functions().iter().map(|f| f.name).collect();
                return Err(missing(format!(
                    "the `{module_name}` capability does not have (it has: {})",
                    known.join(", ")
                )));
            }
        } else if caps::builtin().iter().any(|c| c.name() == module_name) {
            return Err(Error::NotGranted {
                module: module_name.into(),
                function: name.into(),
            });
        } else {
            return Err(missing("no capability provides".into()));
        }
    }
    Ok(())
}

/// Turns a failed call into the error that says what happened.
fn classify(error: wasmtime::Error, fuel: u64, limits: &Limits) -> Error {
    let backtrace = error
        .downcast_ref::<WasmBacktrace>()
        .map(format_backtrace)
        .unwrap_or_default();
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => Error::OutOfFuel { fuel },
            Trap::Interrupt => Error::Timeout {
                timeout: limits.timeout.unwrap_or_default(),
            },
            Trap::StackOverflow => Error::StackOverflow,
            other => Error::Trap {
                message: other.to_string(),
                backtrace,
            },
        };
    }
    match error.downcast::<Error>() {
        Ok(error) => error,
        Err(error) => Error::Trap {
            message: format!("{error:#}"),
            backtrace,
        },
    }
}

fn format_backtrace(backtrace: &WasmBacktrace) -> String {
    let mut text = String::new();
    for frame in backtrace.frames() {
        let name = frame.func_name().map_or_else(
            || format!("function {}", frame.func_index()),
            |n| format!("${n}"),
        );
        text.push_str(&format!("\n  in {name}"));
        if let Some(offset) = frame.module_offset() {
            text.push_str(&format!(" at module offset {offset:#x}"));
        }
    }
    text
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
