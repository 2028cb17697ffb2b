use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tape_compiler::{MEMORY_EXPORT, Metadata, RUN_EXPORT};
use wasmtime::{
    CallHook, Extern, ExternType, GcHeapOutOfMemory, Instance, InstancePre, Linker, Module,
    ModuleExport, PoolConcurrencyLimitError, Store, Trap, UpdateDeadline, Val, ValType,
    WasmBacktrace,
};

use crate::caller::caller_write_raw;
use crate::error::{CallStack, Frame, LinkProblem, SourceLocation};
use crate::export::{ExportType, Signature};
use crate::state::CapabilityUsage;
use crate::{Capability, Engine, Error, Grants, Limits, Result, State, caps};

/// A compiled module linked against its grants: each run is only an
/// instantiation and a call.
///
/// Cheap to share between threads (`Program: Send + Sync`); runs are
/// independent and see nothing of each other.
pub struct Program {
    engine: Engine,
    pre: InstancePre<State>,
    metadata: Metadata,
    /// The granted capabilities the module imports from: only these get
    /// [`Capability::begin_run`].
    capabilities: Vec<Arc<dyn Capability>>,
    /// Exports looked up once, so a run finds them without hashing names.
    memory_export: ModuleExport,
    run_export: Option<ModuleExport>,
    /// Whether the module imports from capabilities other than `core`: only
    /// then is the call hook that times host calls installed.
    time_host_calls: bool,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// The arguments of a run, each a wire value.
///
/// Made here, they are handed over as they are, whatever the program
/// declares; [`Program::args_from_text`] and [`Program::args_from_json`]
/// make them from values checked against its declared arguments.
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
    /// The most the run's memories, tables and GC heap, and the host
    /// memory capabilities held for it ([`State::reserve_memory`]), came
    /// to together: what counts against [`Limits::max_memory`].
    pub peak_memory: u64,
    /// Calls from the guest to host functions, all capabilities together.
    pub host_calls: u64,
    /// Time spent in host functions of capabilities other than `core`
    /// (those that count their calls with [`State::count_call`]); `core`'s
    /// calls take nanoseconds and are not timed.
    pub host_time: Duration,
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

    /// The payload of result `index`, its bytes after the length prefix:
    /// the text of a string, the raw bytes of a byte string.
    pub fn payload(&self, index: usize) -> Option<&[u8]> {
        self.results.get(index)?.get(4..)
    }
}

const RUN_TYPE: &str = "of type `(func (result i32))`; define `(func $run (result i32) …)`";

impl Program {
    pub(crate) fn new(
        engine: &Engine,
        module: Module,
        metadata: Metadata,
        grants: &Grants,
    ) -> Result<Program> {
        let (memory_export, run_export) = check_exports(&module)?;
        let granted = grants.all();
        // Only the capabilities the module imports from are defined: the
        // others could not be called, and defining every granted function
        // costs a short run more than the rest of linking.
        let capabilities: Vec<_> = granted
            .iter()
            .filter(|c| module.imports().any(|i| i.module() == c.name()))
            .cloned()
            .collect();
        let mut linker = Linker::new(engine.wasmtime());
        for capability in &capabilities {
            capability.register(&mut linker).map_err(|e| {
                Error::Host(format!(
                    "the `{}` capability failed to register: {e:#}",
                    capability.name()
                ))
            })?;
        }
        let problems = check_imports(&module, &granted);
        if !problems.is_empty() {
            return Err(link_error(problems));
        }
        let pre = match linker.instantiate_pre(&module) {
            Ok(pre) => pre,
            // Names all resolve, so a type is wrong; list every such import.
            Err(error) => {
                let problems = check_types(engine, &module, &linker);
                return Err(if problems.is_empty() {
                    Error::Module {
                        message: format!("{error:#}"),
                    }
                } else {
                    link_error(problems)
                });
            }
        };
        let time_host_calls = capabilities.iter().any(|c| c.name() != "core");
        Ok(Program {
            engine: engine.clone(),
            pre,
            metadata,
            capabilities,
            memory_export,
            run_export,
            time_host_calls,
        })
    }

    /// What the compiler recorded about the module.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The type of the export `name`, or `None` if the module has no such
    /// export: for a function, the [`Signature`] that
    /// [`invoke`](Program::invoke) checks its parameters against.
    ///
    /// ```
    /// use tape_rt::{Config, Engine, ExportType, Grants, ValueType};
    ///
    /// let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
    /// let source = r#"(module (memory 1)
    ///     (func (export "add") (param i32 i64) (result i64)
    ///       (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1))))"#;
    /// let program = engine.compile_str("add.wat", source, &Grants::new())?;
    /// let Some(ExportType::Func(signature)) = program.export_type("add") else {
    ///     panic!("`add` is a function");
    /// };
    /// assert_eq!(signature.params, [ValueType::I32, ValueType::I64]);
    /// assert_eq!(signature.to_string(), "(func (param i32 i64) (result i64))");
    /// assert_eq!(program.export_type("mem.tape"), Some(ExportType::Memory));
    /// assert_eq!(program.export_type("sub"), None);
    /// # Ok::<(), tape_rt::Error>(())
    /// ```
    pub fn export_type(&self, name: &str) -> Option<ExportType> {
        self.pre
            .module()
            .get_export(name)
            .map(|ty| ExportType::new(&ty))
    }

    /// Every export of the module with its type, in the module's order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = (&str, ExportType)> + '_ {
        self.pre
            .module()
            .exports()
            .map(|export| (export.name(), ExportType::new(&export.ty())))
    }

    /// Runs the program with the engine's default limits.
    ///
    /// # Errors
    ///
    /// A trap, fuel exhaustion, timeout, memory exhaustion, bad pointer or a
    /// panicking host function, each as its own [`Error`] variant;
    /// [`Error::MissingExport`] if the module has no `run`. A non-zero
    /// status is not an error: see [`Outcome::status`].
    pub fn run(&self, args: &Args) -> Result<Outcome> {
        self.run_with(args, &self.engine.config().limits)
    }

    /// Runs the program with `limits`; see [`Program::run`].
    ///
    /// # Errors
    ///
    /// As [`Program::run`].
    pub fn run_with(&self, args: &Args, limits: &Limits) -> Result<Outcome> {
        let run = self
            .run_export
            .as_ref()
            .ok_or_else(|| missing_export(RUN_EXPORT, RUN_TYPE))?;
        let (status, results, usage) = self.execute(&args.values, limits, |store, instance| {
            let func = instance
                .get_module_export(&mut *store, run)
                .and_then(Extern::into_func)
                .ok_or_else(|| missing_export(RUN_EXPORT, RUN_TYPE))?;
            func.typed::<(), i32>(&*store)?.call(&mut *store, ())
        })?;
        Ok(Outcome {
            status,
            results,
            usage,
        })
    }

    /// Calls the exported function `name` with `params` instead of `run`,
    /// in a fresh instance with no arguments, and returns what it returned.
    /// Results it hands over with `core.result` are dropped.
    /// [`export_type`](Program::export_type) gives the parameters it takes.
    ///
    /// # Errors
    ///
    /// [`Error::MissingExport`] if there is no such exported function;
    /// [`Error::Invoke`] if `params` do not match its parameters in number
    /// and type (only numbers can be passed); otherwise as [`Program::run`].
    pub fn invoke(&self, name: &str, params: &[Val], limits: &Limits) -> Result<(Vec<Val>, Usage)> {
        let module = self.pre.module();
        let Some(ExternType::Func(ty)) = module.get_export(name) else {
            return Err(missing_export(name, "that is a function"));
        };
        let export = module
            .get_export_index(name)
            .ok_or_else(|| missing_export(name, "that is a function"))?;
        check_params(name, &ty, params)?;
        let mut results = vec![Val::I32(0); ty.results().len()];
        let ((), _, usage) = self.execute(&[], limits, |store, instance| {
            let func = instance
                .get_module_export(&mut *store, &export)
                .and_then(Extern::into_func)
                .ok_or_else(|| missing_export(name, "that is a function"))?;
            func.call(&mut *store, params, &mut results)
        })?;
        Ok((results, usage))
    }

    /// One run: a fresh store with `limits`, each capability's
    /// `begin_run`, instantiation, the arguments written, then `call`.
    /// Everything in it that panics — a host function, `begin_run`, a
    /// start function's imports — becomes [`Error::HostPanic`] for this run
    /// only.
    fn execute<R>(
        &self,
        args: &[Vec<u8>],
        limits: &Limits,
        call: impl FnOnce(&mut Store<State>, Instance) -> wasmtime::Result<R>,
    ) -> Result<(R, Vec<Vec<u8>>, Usage)> {
        let fuel = limits.fuel.unwrap_or(u64::MAX);
        let run = AssertUnwindSafe(|| {
            let mut store = self.store(limits, fuel)?;
            let start = Instant::now();
            let returned = self
                .instantiate(&mut store, args)
                .and_then(|instance| call(&mut store, instance))
                .map_err(|e| classify(e, fuel, limits, &self.metadata, store.data()));
            let time = start.elapsed();
            // Capabilities commit what a completed run did, or drop it.
            let ended = self.end_run(&mut store, returned.is_ok());
            let returned = returned?;
            ended?;
            let peak_memory = store.data().peak_footprint;
            let used = fuel - store.get_fuel().unwrap_or(fuel);
            let state = store.into_data();
            let usage = Usage {
                fuel: used,
                time,
                peak_memory,
                host_calls: state.host_calls,
                host_time: state.host_time,
                capabilities: state
                    .usage
                    .iter()
                    .map(|(name, usage)| (name.to_string(), *usage))
                    .collect(),
            };
            // The state, and each capability's part of it, is dropped in
            // here too, where a panicking `Drop` is still contained.
            Ok((returned, state.results, usage))
        });
        match catch_unwind(run) {
            Ok(result) => result,
            Err(panic) => Err(Error::HostPanic {
                message: panic_message(&*panic),
            }),
        }
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

    /// A store for one run, with its fuel, deadline, limits and each
    /// capability's fresh state.
    fn store(&self, limits: &Limits, fuel: u64) -> Result<Store<State>> {
        let tick = self.engine.config().epoch_tick;
        let deadline = limits.timeout.map(|timeout| Instant::now() + timeout);
        let state = State::new(
            self.metadata.initial_top,
            self.engine.memory_cap(limits),
            limits.max_result_bytes,
            deadline,
        );
        let mut store = Store::new(self.engine.wasmtime(), state);
        store.limiter(|state| state);
        store
            .set_fuel(fuel)
            .map_err(|e| Error::Host(format!("cannot set the fuel: {e:#}")))?;
        match limits.timeout {
            Some(timeout) => {
                self.engine.start_ticker()?;
                // Sleep through the ticks that surely come before the
                // deadline, then check the clock at each tick: a run stops
                // at most one tick late, however the ticks fall.
                let ticks = (timeout.as_nanos() / tick.as_nanos().max(1)).max(1);
                store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX / 2));
                store.epoch_deadline_callback(|store| {
                    Ok(match store.data().deadline {
                        Some(deadline) if Instant::now() < deadline => UpdateDeadline::Continue(1),
                        _ => UpdateDeadline::Interrupt,
                    })
                });
            }
            None => store.set_epoch_deadline(u64::MAX / 2),
        }
        if self.time_host_calls {
            store.call_hook(|mut store, hook| {
                if let CallHook::ReturningFromHost = hook {
                    store.data_mut().end_timed_call();
                }
                Ok(())
            });
        }
        for capability in &self.capabilities {
            capability.begin_run(store.data_mut());
        }
        Ok(store)
    }

    /// Instantiates the module and writes the arguments into its memory.
    fn instantiate(
        &self,
        store: &mut Store<State>,
        args: &[Vec<u8>],
    ) -> wasmtime::Result<Instance> {
        let instance = self.pre.instantiate(&mut *store)?;
        let memory = instance
            .get_module_export(&mut *store, &self.memory_export)
            .and_then(Extern::into_memory)
            .ok_or_else(|| missing_export(MEMORY_EXPORT, "that is a 32-bit memory"))?;
        store.data_mut().memory.handle = Some(memory);
        for arg in args {
            let ptr = caller_write_raw(&mut *store, arg)?;
            store.data_mut().arg_ptrs.push(ptr);
        }
        Ok(instance)
    }
}

fn missing_export(name: &str, expected: &str) -> Error {
    Error::MissingExport {
        name: name.into(),
        expected: expected.into(),
    }
}

/// `mem.tape` must be a 32-bit memory; `run`, if there is one, a
/// `(func (result i32))`. A module without `run` links: it can still be
/// [invoked](Program::invoke).
fn check_exports(module: &Module) -> Result<(ModuleExport, Option<ModuleExport>)> {
    let memory = match module.get_export(MEMORY_EXPORT) {
        Some(ExternType::Memory(ty)) if !ty.is_64() => module.get_export_index(MEMORY_EXPORT),
        _ => None,
    }
    .ok_or_else(|| missing_export(MEMORY_EXPORT, "that is a 32-bit memory"))?;
    let run = match module.get_export(RUN_EXPORT) {
        None => None,
        Some(ExternType::Func(ty))
            if ty.params().len() == 0
                && ty.results().len() == 1
                && ty.results().all(|r| matches!(r, ValType::I32)) =>
        {
            module.get_export_index(RUN_EXPORT)
        }
        Some(_) => return Err(missing_export(RUN_EXPORT, RUN_TYPE)),
    };
    Ok((memory, run))
}

/// Every import must be a function of a granted capability; returns every
/// one that is not.
fn check_imports(module: &Module, granted: &[Arc<dyn Capability>]) -> Vec<LinkProblem> {
    let builtin = caps::builtin();
    let mut problems = Vec::new();
    for import in module.imports() {
        let (module_name, name) = (import.module().to_string(), import.name().to_string());
        let kind = match import.ty() {
            ExternType::Func(_) => None,
            ExternType::Memory(_) => Some("memory"),
            ExternType::Table(_) => Some("table"),
            ExternType::Global(_) => Some("global"),
            ExternType::Tag(_) => Some("tag"),
        };
        if let Some(kind) = kind {
            problems.push(LinkProblem::NotAFunction {
                module: module_name,
                name,
                kind,
            });
        } else if let Some(capability) = granted.iter().find(|c| c.name() == module_name) {
            if !capability.functions().iter().any(|f| f.name == name) {
                problems.push(LinkProblem::UnknownFunction {
                    available: capability
                        .functions()
                        .iter()
                        .map(|f| f.name.to_string())
                        .collect(),
                    module: module_name,
                    name,
                });
            }
        } else if builtin.iter().any(|c| c.name() == module_name) {
            problems.push(LinkProblem::NotGranted {
                module: module_name,
                function: name,
            });
        } else {
            let mut known: Vec<String> = builtin.iter().map(|c| c.name().to_string()).collect();
            for capability in granted {
                if !known.iter().any(|k| k == capability.name()) {
                    known.push(capability.name().to_string());
                }
            }
            problems.push(LinkProblem::UnknownCapability {
                module: module_name,
                name,
                known,
            });
        }
    }
    problems
}

/// Every function import whose type differs from the capability's
/// definition. Needs a store to look definitions up in, so it runs only
/// once linking has failed.
fn check_types(engine: &Engine, module: &Module, linker: &Linker<State>) -> Vec<LinkProblem> {
    let mut store = Store::new(engine.wasmtime(), State::new(0, 0, 0, None));
    let mut problems = Vec::new();
    for import in module.imports() {
        let ExternType::Func(wanted) = import.ty() else {
            continue;
        };
        let Some(Extern::Func(func)) = linker.get_by_import(&mut store, &import) else {
            continue;
        };
        let defined = func.ty(&store);
        if !defined.matches(&wanted) {
            problems.push(LinkProblem::WrongType {
                module: import.module().into(),
                name: import.name().into(),
                expected: func_type(&defined),
                found: func_type(&wanted),
            });
        }
    }
    problems
}

/// A function type as the WAT a capability's catalogue uses:
/// `(param i32) (result i32 i32)`.
fn func_type(ty: &wasmtime::FuncType) -> String {
    let lists = Signature::new(ty).lists();
    if lists.is_empty() {
        "(func)".into()
    } else {
        lists
    }
}

fn link_error(problems: Vec<LinkProblem>) -> Error {
    if problems
        .iter()
        .all(|p| matches!(p, LinkProblem::NotGranted { .. }))
    {
        Error::NotGranted { problems }
    } else {
        Error::MissingImport { problems }
    }
}

/// Numbers of the right types, one per parameter.
fn check_params(name: &str, ty: &wasmtime::FuncType, params: &[Val]) -> Result<()> {
    let wrong = |message: String| Error::Invoke {
        function: name.into(),
        message,
    };
    if ty.params().len() != params.len() {
        return Err(wrong(format!(
            "it takes {} parameters {}, and {} were given",
            ty.params().len(),
            func_type(ty),
            params.len()
        )));
    }
    for (index, (expected, given)) in ty.params().zip(params).enumerate() {
        let given_type = match given {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            _ => return Err(wrong(format!("parameter {index} is not a number"))),
        };
        if !ValType::eq(&expected, &given_type) {
            return Err(wrong(format!(
                "parameter {index} is {expected}, and {given_type} was given"
            )));
        }
    }
    Ok(())
}

/// Turns a failed instantiation or call into the error that says what
/// happened.
fn classify(
    error: wasmtime::Error,
    fuel: u64,
    limits: &Limits,
    metadata: &Metadata,
    state: &State,
) -> Error {
    let stack = error
        .downcast_ref::<WasmBacktrace>()
        .map(|backtrace| to_stack(backtrace, metadata))
        .unwrap_or_default();
    // wasmtime turns a refused growth of the GC heap into an allocation
    // failure of its own; the cause is the memory cap.
    if let Some((requested, limit)) = state.refused_growth
        && error.is::<GcHeapOutOfMemory<()>>()
    {
        return Error::MemoryExhausted { requested, limit };
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => Error::OutOfFuel { fuel },
            Trap::Interrupt => Error::Timeout {
                timeout: limits.timeout.unwrap_or_default(),
            },
            Trap::StackOverflow => Error::StackOverflow,
            other => {
                // wasmtime says "wasm trap: …"; our message already says
                // the program trapped.
                let message = other.to_string();
                Error::Trap {
                    message: message
                        .strip_prefix("wasm trap: ")
                        .unwrap_or(&message)
                        .to_string(),
                    stack,
                }
            }
        };
    }
    if let Some(pool) = error.downcast_ref::<PoolConcurrencyLimitError>() {
        return Error::Host(format!(
            "cannot start the run: {pool}; wait for runs to finish or raise `Pooling::instances`"
        ));
    }
    let error = match error.downcast::<Error>() {
        Ok(error) => return error,
        Err(error) => error,
    };
    match error.downcast::<tape_protocol::Error>() {
        Ok(error) => Error::Wire(error),
        Err(error) => Error::Trap {
            message: format!("{error:#}"),
            stack,
        },
    }
}

/// The frames of a trap, each located in the user's source through the
/// compiler's line table when the module has one.
fn to_stack(backtrace: &WasmBacktrace, metadata: &Metadata) -> CallStack {
    CallStack {
        frames: backtrace
            .frames()
            .iter()
            .map(|frame| {
                let source = frame
                    .module_offset()
                    .and_then(|offset| u32::try_from(offset).ok())
                    .and_then(|offset| metadata.location(offset))
                    .map(|(line, column)| SourceLocation {
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

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
