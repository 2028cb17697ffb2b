//! A program: compiling it ([`Engine::compile_str`] and the like), linking
//! it against its grants, and its runs.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use tape_compiler::{MEMORY_EXPORT, Metadata, RUN_EXPORT};

use crate::cache::Source;
use wasmtime::{
    CallHook, Extern, ExternType, Instance, InstancePre, Linker, Module, ModuleExport, Store,
    UpdateDeadline, Val,
};

use crate::capability::Capability;
use crate::engine::{Alarm, Engine, Limits};
use crate::error::{Error, ErrorKind, Result};
use crate::export::ExportType;
use crate::grants::Grants;
use crate::guest;
use crate::link::{
    RUN_TYPE, check_exports, check_imports, check_params, check_types, link_error, missing_export,
};
use crate::outcome::{Args, HostData, Outcome, Usage};
use crate::profile::{Profile, Profiling};
use crate::reason::Reason;
use crate::state::State;
use crate::trace::{self, Recorded, Recording, Replaying, StandIn, Trace};
use crate::trap::{classify, panic_message};

/// A compiled module linked against its grants: each run is only an
/// instantiation and a call.
///
/// Cheap to share between threads (`Program: Send + Sync`); runs are
/// independent and see nothing of each other.
pub struct Program {
    engine: Engine,
    pre: InstancePre<State>,
    metadata: Arc<Metadata>,
    /// The granted capabilities the module imports from: only these get
    /// [`Capability::begin_run`].
    capabilities: Vec<Arc<dyn Capability>>,
    /// Exports looked up once, so a run finds them without hashing names.
    memory_export: ModuleExport,
    run_export: Option<ModuleExport>,
    /// Whether the module imports from capabilities other than `core`: only
    /// then is the call hook that times host calls installed.
    time_host_calls: bool,
    /// SHA-256 of what it was compiled from: a trace names it.
    sha256: [u8; 32],
    /// Whether its grants hold a stand-in: it was linked to be replayed,
    /// with what else it was granted running for real.
    stand_ins: bool,
    /// The same module with its capabilities recorded, and with stand-ins
    /// for them, made at the first recording or replay.
    recording: OnceLock<Arc<Program>>,
    replaying: OnceLock<Arc<Program>>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl Program {
    pub(crate) fn new(
        engine: &Engine,
        module: Module,
        metadata: Metadata,
        grants: &Grants,
        sha256: [u8; 32],
    ) -> Result<Program> {
        let (memory_export, run_export) = check_exports(&module)?;
        let granted = grants.all();
        // Only the capabilities the module imports from are defined: the
        // others could not be called, and defining every granted function
        // costs a short run more than the rest of linking.
        let capabilities: Vec<_> = granted
            .iter()
            .filter(|c| module.imports().any(|i| i.module() == c.spec().name))
            .cloned()
            .collect();
        let mut linker = Linker::new(engine.wasmtime());
        for capability in &capabilities {
            capability.register(&mut linker).map_err(|e| {
                Error::capability(
                    capability.spec().name,
                    format!("cannot register its functions: {e:#}"),
                )
            })?;
        }
        let problems = check_imports(&module, &granted, grants);
        if !problems.is_empty() {
            return Err(link_error(problems));
        }
        let pre = match linker.instantiate_pre(&module) {
            Ok(pre) => pre,
            // Names all resolve, so a type is wrong; list every such import.
            Err(error) => {
                let problems = check_types(engine, &module, &linker);
                return Err(if problems.is_empty() {
                    ErrorKind::Module {
                        message: format!("{error:#}"),
                    }
                    .into()
                } else {
                    link_error(problems)
                });
            }
        };
        let time_host_calls = capabilities.iter().any(|c| c.spec().name != "core");
        let stand_ins = granted.iter().any(|c| c.is_stand_in());
        Ok(Program {
            engine: engine.clone(),
            pre,
            metadata: Arc::new(metadata),
            capabilities,
            memory_export,
            run_export,
            time_host_calls,
            sha256,
            stand_ins,
            recording: OnceLock::new(),
            replaying: OnceLock::new(),
        })
    }

    /// This module linked against `capabilities` (`core` is added), each
    /// wrapped by `wrap`.
    fn relinked(
        &self,
        wrap: impl Fn(&Arc<dyn Capability>) -> Arc<dyn Capability>,
    ) -> Result<Program> {
        let mut grants = Grants::new();
        for capability in &self.capabilities {
            if capability.spec().name != crate::core::CORE_SPEC.name {
                grants.add(wrap(capability));
            }
        }
        Program::new(
            &self.engine,
            self.pre.module().clone(),
            Metadata::clone(&self.metadata),
            &grants,
            self.sha256,
        )
    }

    fn recording(&self) -> Result<Arc<Program>> {
        if let Some(program) = self.recording.get() {
            return Ok(program.clone());
        }
        let program = Arc::new(self.relinked(|inner| {
            Arc::new(Recorded {
                inner: inner.clone(),
            })
        })?);
        Ok(self.recording.get_or_init(|| program).clone())
    }

    fn replaying(&self) -> Result<Arc<Program>> {
        if let Some(program) = self.replaying.get() {
            return Ok(program.clone());
        }
        let program = Arc::new(self.relinked(|inner| Arc::new(StandIn::new(*inner.spec())))?);
        Ok(self.replaying.get_or_init(|| program).clone())
    }

    /// Which program this is, as a [`Trace`] names it: its file name and
    /// the SHA-256 of the source text it was compiled from (or of the
    /// module it was loaded from).
    pub fn id(&self) -> trace::ProgramId {
        trace::ProgramId {
            file: self.metadata.file.clone(),
            sha256: self.sha256,
        }
    }

    /// The same compiled module linked against other `grants`, with
    /// nothing compiled again: for a host whose programs are compiled once
    /// and granted differently (a tenant's own `kv`, say). For what
    /// differs per run rather than per grant set, see [`Run::data`].
    ///
    /// ```
    /// use tape_rt::{Args, Config, Engine, ErrorKind, Grants};
    ///
    /// let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
    /// let source = "(func $run (result i32) (call $core.argc))";
    /// let program = engine.compile_str("argc.wat", source, &Grants::new())?;
    /// let again = program.link(&Grants::new())?;
    /// assert_eq!(again.run(&Args::strings(["a", "b"]))?.status, 2);
    /// # Ok::<(), tape_rt::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The link errors of [`Engine::load`]: a capability the module
    /// imports that `grants` lacks, or defines with another type.
    pub fn link(&self, grants: &Grants) -> Result<Program> {
        Program::new(
            &self.engine,
            self.pre.module().clone(),
            Metadata::clone(&self.metadata),
            grants,
            self.sha256,
        )
    }

    /// What the compiler recorded about the module.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The type of the export `name`, or `None` if the module has no such
    /// export: for a function, the [`Signature`](crate::Signature) that
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
    /// panicking host function, each its own [`ErrorKind`];
    /// [`ErrorKind::MissingExport`] if the module has no `run`. A non-zero
    /// status is not an error: see [`Outcome::status`].
    pub fn run(&self, args: &Args) -> Result<Outcome> {
        self.run_with(args, self.default_limits())
    }

    /// Runs the program with `limits`; see [`Program::run`]. A
    /// [`Run`](crate::Run) also passes host data to the capabilities.
    ///
    /// # Errors
    ///
    /// As [`Program::run`].
    pub fn run_with(&self, args: &Args, limits: &Limits) -> Result<Outcome> {
        self.run_prepared(args, limits, Vec::new())
    }

    /// The limits a run gets unless given others: the engine's.
    pub fn default_limits(&self) -> &Limits {
        &self.engine.config().limits
    }

    pub(crate) fn run_prepared(
        &self,
        args: &Args,
        limits: &Limits,
        data: HostData<'_>,
    ) -> Result<Outcome> {
        let run = self
            .run_export
            .as_ref()
            .ok_or_else(|| missing_export(RUN_EXPORT, RUN_TYPE))?;
        let (status, results, usage, reasons) =
            self.execute(&args.values, limits, data, |store, instance| {
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
            reasons,
        })
    }

    /// Calls the exported function `name` with `params` instead of `run`,
    /// in a fresh instance with no arguments, and returns what it returned.
    /// Results it hands over with `core.result` are dropped.
    /// [`export_type`](Program::export_type) gives the parameters it takes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MissingExport`] if there is no such exported function;
    /// [`ErrorKind::Invoke`] if `params` do not match its parameters in
    /// number and type (only numbers can be passed); otherwise as
    /// [`Program::run`].
    pub fn invoke(&self, name: &str, params: &[Val], limits: &Limits) -> Result<(Vec<Val>, Usage)> {
        self.invoke_prepared(name, params, &Args::new(), limits, Vec::new())
    }

    pub(crate) fn invoke_prepared(
        &self,
        name: &str,
        params: &[Val],
        args: &Args,
        limits: &Limits,
        data: HostData<'_>,
    ) -> Result<(Vec<Val>, Usage)> {
        let module = self.pre.module();
        let Some(ExternType::Func(ty)) = module.get_export(name) else {
            return Err(missing_export(name, "that is a function"));
        };
        let export = module
            .get_export_index(name)
            .ok_or_else(|| missing_export(name, "that is a function"))?;
        check_params(name, &ty, params)?;
        let mut results = vec![Val::I32(0); ty.results().len()];
        let ((), _, usage, _) = self.execute(&args.values, limits, data, |store, instance| {
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
    /// start function's imports — becomes [`ErrorKind::HostPanic`] for this run
    /// only.
    fn execute<R>(
        &self,
        args: &[Vec<u8>],
        limits: &Limits,
        data: HostData<'_>,
        call: impl FnOnce(&mut Store<State>, Instance) -> wasmtime::Result<R>,
    ) -> Result<Ended<R>> {
        let fuel = limits.fuel.unwrap_or(u64::MAX);
        let run = AssertUnwindSafe(|| {
            // The alarm, if any, is deleted when this frame ends.
            let (mut store, _alarm) = self.store(limits, fuel, data)?;
            let start = Instant::now();
            let returned = self
                .instantiate(&mut store, args)
                .and_then(|instance| call(&mut store, instance))
                .map_err(|e| {
                    classify(
                        e,
                        fuel,
                        limits,
                        &self.metadata,
                        store.data(),
                        self.engine.pool_instances(),
                    )
                });
            let time = start.elapsed();
            let dump = match &returned {
                Err(error) if store.data_mut().get::<DumpOnStop>().is_some() => {
                    self.dump(&store, error)
                }
                _ => None,
            };
            // Capabilities commit what a completed run did, or drop it.
            let ended = self.end_run(&mut store, returned.is_ok());
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
            // A run that stopped keeps what it had handed over, with the
            // error. The state, and each capability's part of it, is
            // dropped in here too, where a panicking `Drop` is still
            // contained.
            match (returned, ended) {
                (Ok(returned), Ok(())) => {
                    Ok((returned, state.results, usage, state.reasons.into()))
                }
                (Err(error), _) => Err(error.stopped(state.results, usage).with_dump(dump)),
                (Ok(_), Err(error)) => Err(error.stopped(state.results, usage)),
            }
        });
        match catch_unwind(run) {
            Ok(result) => result,
            Err(panic) => Err(ErrorKind::HostPanic {
                message: panic_message(&*panic),
            }
            .into()),
        }
    }

    /// The memory of a run that stopped with `error`, if it had one.
    fn dump(&self, store: &Store<State>, error: &Error) -> Option<trace::Dump> {
        let state = store.data();
        let memory = state.memory.handle().ok()?;
        let data = memory.data(store);
        let kept = data
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |last| last + 1);
        Some(trace::Dump {
            program: self.id(),
            error: error.message(),
            stack: error.stack().lines(),
            initial_top: self.metadata.initial_top,
            top: state.memory.top,
            memory_size: data.len() as u64,
            memory: data[..kept].to_vec().into(),
            literals: self
                .metadata
                .literals
                .iter()
                .map(|l| trace::DumpLiteral {
                    offset: l.offset,
                    line: l.line,
                    bytes: l.value.clone().into(),
                })
                .collect(),
            results: state
                .results
                .iter()
                .cloned()
                .map(trace::ByteBuf::from)
                .collect(),
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
                    Err(error) => Error::capability(
                        capability.spec().name,
                        format!("cannot finish the run: {error:#}"),
                    ),
                },
                Err(panic) => ErrorKind::HostPanic {
                    message: panic_message(&*panic),
                }
                .into(),
            };
            if commit {
                failure = Some(error);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// A store for one run, with its fuel, deadline, limits and each
    /// capability's fresh state; and with [`Timer::Signal`](crate::Timer::Signal),
    /// the alarm that rings at the deadline, to keep until the run ends.
    fn store(
        &self,
        limits: &Limits,
        fuel: u64,
        data: HostData<'_>,
    ) -> Result<(Store<State>, Option<Alarm>)> {
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
            .map_err(|e| Error::internal(format!("cannot set the fuel: {e:#}")))?;
        let mut alarm = None;
        match limits.timeout {
            Some(timeout) => {
                alarm = self.engine.watch(timeout)?;
                // With the engine's thread, sleep through the ticks that
                // surely come before the deadline, then check the clock at
                // each tick: a run stops at most one tick late, however the
                // ticks fall. With an alarm, the epoch advances when the
                // deadline has come (or another run's has).
                let ticks = match alarm {
                    Some(_) => 1,
                    None => (timeout.as_nanos() / tick.as_nanos().max(1)).max(1),
                };
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
        store.data_mut().metadata = Some(self.metadata.clone());
        for put in data {
            put(store.data_mut());
        }
        if store.data().time_calls && self.time_host_calls {
            store.call_hook(|mut store, hook| {
                if let CallHook::ReturningFromHost = hook {
                    store.data_mut().end_timed_call();
                }
                Ok(())
            });
        }
        if store.data_mut().get::<Profiling>().is_some() {
            // A sample at every tick, and the deadline checked as before.
            self.engine.start_ticker()?;
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(|mut store| {
                crate::profile::sample(&mut store);
                Ok(match store.data().deadline {
                    Some(deadline) if Instant::now() >= deadline => UpdateDeadline::Interrupt,
                    _ => UpdateDeadline::Continue(1),
                })
            });
        }
        for capability in &self.capabilities {
            capability.begin_run(store.data_mut());
        }
        Ok((store, alarm))
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
            let ptr = guest::write_value(&mut *store, arg)?;
            store.data_mut().arg_ptrs.push(ptr);
        }
        Ok(instance)
    }
}

/// The mark of a run whose memory is kept if it stops.
#[derive(Debug)]
struct DumpOnStop;

/// What a run that ended left: what `call` returned, the results, the
/// usage and the reasons of failing calls.
type Ended<R> = (R, Vec<Vec<u8>>, Usage, Vec<Reason>);

impl Engine {
    /// Compiles extended WAT, then links it against `grants`: a ready
    /// [`Program`]. `name` is the file name diagnostics show. The same
    /// source with the same name and grants comes from the module cache,
    /// compiler and all: only linking is left to do. [`Program::link`]
    /// links a compiled program again, against other grants.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Compile`] with located diagnostics; the link errors of
    /// [`Engine::load`].
    pub fn compile_str(&self, name: &str, source: &str, grants: &Grants) -> Result<Program> {
        let budget = self.config().compile_budget;
        budget.check_size(name, source.len())?;
        let line_table = tape_compiler::Options::LINE_TABLE;
        let key = Source {
            name,
            text: source,
            grants,
            line_table,
        };
        let (module, metadata) = self.cache().program(self.wasmtime(), &key, &budget, || {
            // Owned, for the thread that compiles within the budget.
            let options = tape_compiler::Options {
                catalogue: grants.catalogue(),
                line_table,
                budget,
                ..tape_compiler::Options::default()
            };
            let (name, source) = (name.to_string(), source.to_string());
            move || Ok(tape_compiler::compile_str(&name, &source, &options)?)
        })?;
        Program::new(
            self,
            module,
            metadata,
            grants,
            Sha256::digest(source).into(),
        )
    }

    /// Reads, compiles and links a `.wat` file; see [`Engine::compile_str`].
    /// Diagnostics name the file by its path.
    ///
    /// # Errors
    ///
    /// As [`Engine::compile_str`], and [`ErrorKind::Compile`] if the file cannot
    /// be read or is not UTF-8.
    pub fn compile_file(&self, path: impl AsRef<Path>, grants: &Grants) -> Result<Program> {
        let path = path.as_ref();
        let source = tape_compiler::read_source(path)?;
        self.compile_str(&path.display().to_string(), &source, grants)
    }

    /// Links a module Tape compiled earlier (with `tape build`), through the
    /// module cache.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Module`] if wasmtime rejects it or it has no `tape` section;
    /// [`ErrorKind::NotGranted`] or [`ErrorKind::MissingImport`], listing every
    /// import the grants do not provide; [`ErrorKind::MissingExport`] without
    /// a 32-bit `mem.tape` memory, or with a `run` that is not
    /// `(func (result i32))`.
    pub fn load(&self, wasm: &[u8], grants: &Grants) -> Result<Program> {
        let metadata = Metadata::from_module(wasm)?.ok_or_else(|| {
            Error::from(ErrorKind::Module {
                message: "it has no `tape` section; compile it with Tape".into(),
            })
        })?;
        let module = self.module(&metadata.file, wasm)?;
        Program::new(self, module, metadata, grants, Sha256::digest(wasm).into())
    }
}

/// One run of a [`Program`], set up before it starts: its arguments, its
/// limits, and host data for the capabilities.
///
/// Host data is how one compiled program serves many callers: each run
/// carries its own values (a tenant, a request, a narrower namespace),
/// which capabilities read with [`State::get`] in their host functions
/// and [`Capability::begin_run`](crate::Capability::begin_run). The
/// built-in `kv`, for one, keeps a run's keys under the
/// `tape_caps::kv::Namespace` it finds there.
///
/// ```
/// use tape_rt::{Args, Config, Engine, Grants, Run};
///
/// #[derive(Debug)]
/// struct Tenant(&'static str);
///
/// let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
/// let program = engine.compile_str("echo.wat", "(func $run (result i32) (i32.const 0))", &Grants::new())?;
/// let outcome = Run::new(&program)
///     .args(Args::strings(["hello"]))
///     .data(Tenant("acme"))
///     .run()?;
/// assert!(outcome.is_success());
/// # Ok::<(), tape_rt::Error>(())
/// ```
#[must_use = "a run does nothing until `run` or `invoke`"]
pub struct Run<'a> {
    program: &'a Program,
    args: Args,
    limits: Option<Limits>,
    data: HostData<'a>,
    max_trace_bytes: u64,
    observer: Option<trace::Observer>,
}

impl std::fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("args", &self.args)
            .field("limits", &self.limits)
            .field("data", &self.data.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Run<'a> {
    /// A run of `program` with no arguments, the engine's default limits
    /// and no host data.
    pub fn new(program: &'a Program) -> Run<'a> {
        Run {
            program,
            args: Args::new(),
            limits: None,
            data: Vec::new(),
            max_trace_bytes: trace::DEFAULT_MAX_BYTES,
            observer: None,
        }
    }

    /// With these arguments.
    pub fn args(mut self, args: Args) -> Self {
        self.args = args;
        self
    }

    /// With these limits instead of the engine's defaults.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// With `value` in the run's [`State`], where capabilities find it
    /// with [`State::get`]; one value per type, the last one given wins.
    pub fn data<T: Any + Send>(mut self, value: T) -> Self {
        self.data.push(Box::new(move |state| state.insert(value)));
        self
    }

    /// Times every capability call: [`Usage::host_time`] and each
    /// [`CapabilityUsage::time`](crate::CapabilityUsage::time) are filled
    /// in, at the cost of two clock reads a call (about 35 ns; a fast
    /// call such as `kv.get` on a file store takes about 100). Without it
    /// they are zero. `core`'s calls are never timed.
    pub fn time_calls(mut self) -> Self {
        self.data
            .push(Box::new(|state: &mut State| state.time_calls = true));
        self
    }

    /// Runs the program's `run`; see [`Program::run`].
    ///
    /// # Errors
    ///
    /// As [`Program::run`].
    pub fn run(self) -> Result<Outcome> {
        let limits = self
            .limits
            .unwrap_or_else(|| self.program.default_limits().clone());
        self.program.run_prepared(&self.args, &limits, self.data)
    }

    /// Runs the program's `run` as [`run`](Run::run) does, and records it:
    /// the [`Trace`] of its arguments, limits, every capability call (not
    /// `core`'s) with what was sent and what came back, and how it ended.
    /// The run is the same as an unrecorded one but for the recording's
    /// cost; a recording past its bound ([`Run::record_max`]) stops it.
    ///
    /// The trace comes back whatever became of the run: a run that trapped
    /// or hit a limit is worth replaying too.
    pub fn record(self) -> (Result<Outcome>, Trace) {
        let limits = self
            .limits
            .clone()
            .unwrap_or_else(|| self.program.default_limits().clone());
        let recording = Recording::new(self.max_trace_bytes);
        let shared = recording.clone();
        let mut data = self.data;
        data.push(Box::new(move |state: &mut State| state.insert(shared)));
        let run = self
            .program
            .recording()
            .and_then(|program| program.run_prepared(&self.args, &limits, data));
        let calls = std::mem::take(
            &mut recording
                .calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .calls,
        );
        let trace = Trace {
            program: self.program.id(),
            args: self
                .args
                .values
                .iter()
                .cloned()
                .map(trace::ByteBuf::from)
                .collect(),
            limits: trace::TraceLimits::of(&limits),
            calls,
            end: trace::End::of(&run),
        };
        (run, trace)
    }

    /// Runs the program's `run` as [`run`](Run::run) does, sampled at each
    /// tick of the engine's epoch clock ([`Config::epoch_tick`](crate::Config::epoch_tick)):
    /// the [`Profile`] of where its fuel and time went, by function and
    /// source line, whatever became of the run.
    pub fn profile(self) -> (Result<Outcome>, Profile) {
        let profiling = Profiling::new();
        let shared = profiling.clone();
        let program = self.program;
        let interval = program.engine.config().epoch_tick;
        let run = self.data(shared).run();
        let usage = match &run {
            Ok(outcome) => Some(&outcome.usage),
            Err(error) => error.usage(),
        };
        let (fuel, time) = usage.map_or((0, Duration::ZERO), |u| (u.fuel, u.time));
        let profile = profiling.profile(interval, &program.metadata, fuel, time);
        (run, profile)
    }

    /// Keeps the run's memory if a trap or a limit stops it: the error's
    /// [`dump`](crate::Error::dump) then holds it, with the static
    /// literals, where the allocator was and the results so far. Costs
    /// nothing unless the run stops; then a copy of its memory.
    pub fn dump_on_stop(mut self) -> Self {
        self.data
            .push(Box::new(|state: &mut State| state.insert(DumpOnStop)));
        self
    }

    /// At most `bytes` of calls in a recording ([`Run::record`]), counted
    /// as [`Trace::calls_bytes`] does; [`trace::DEFAULT_MAX_BYTES`] unless
    /// set.
    pub fn record_max(mut self, bytes: u64) -> Self {
        self.max_trace_bytes = bytes;
        self
    }

    /// Shows `observe` each recorded call as a [replay](Run::replay)
    /// answers it: to print a replayed `log.write`'s message, say.
    pub fn observe(mut self, observe: impl FnMut(&trace::Call) + Send + 'static) -> Self {
        self.observer = Some(Box::new(observe));
        self
    }

    /// Runs the program's `run` again against `trace`, with the trace's
    /// arguments and limits (unless [`limits`](Run::limits) were given):
    /// every capability call is answered from the trace, in order, and
    /// nothing reaches a file, a database or the network. Compare how it
    /// ended with [`trace.end.compare`](trace::End::compare).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Diverged`](crate::ErrorKind::Diverged) at the first
    /// call that is not the trace's next one (another function, or other
    /// data sent), located at the program's source line, and when the run
    /// ends with recorded calls left unmade; otherwise as [`Program::run`].
    pub fn replay(self, trace: &Trace) -> Result<Outcome> {
        let limits = self.limits.unwrap_or_else(|| trace.limits.limits());
        let args = Args {
            values: trace.args.iter().map(|a| a.to_vec()).collect(),
        };
        let shared = Arc::new(trace.clone());
        let observer = self.observer;
        let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = answered.clone();
        let mut data = self.data;
        data.push(Box::new(move |state: &mut State| {
            state.insert(Replaying {
                trace: shared,
                next: 0,
                answered: counted,
                observer,
            });
        }));
        // A program linked with stand-ins already is replayed as it is:
        // the capabilities linked beside them run for real (a test's
        // `json`). Any other has every capability replaced.
        let replaying;
        let program = if self.program.stand_ins {
            self.program
        } else {
            replaying = self.program.replaying()?;
            &*replaying
        };
        let outcome = program.run_prepared(&args, &limits, data)?;
        let answered = answered.load(std::sync::atomic::Ordering::Relaxed);
        match trace.calls.get(answered) {
            None => Ok(outcome),
            // The run returned with recorded calls unmade.
            Some(call) => Err(Error::from(ErrorKind::Diverged {
                index: answered,
                difference: format!(
                    "the program returned, and the recording has {} more call{}",
                    trace.calls.len() - answered,
                    if trace.calls.len() - answered == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
                recorded: Some(call.show_request()),
                made: "nothing: `run` returned".into(),
                stack: crate::error::CallStack::default(),
            })
            .stopped(outcome.results, outcome.usage)),
        }
    }

    /// Calls the exported function `name` instead of `run`; see
    /// [`Program::invoke`]. The arguments are written into memory as for
    /// `run`.
    ///
    /// # Errors
    ///
    /// As [`Program::invoke`].
    pub fn invoke(self, name: &str, params: &[Val]) -> Result<(Vec<Val>, Usage)> {
        let limits = self
            .limits
            .unwrap_or_else(|| self.program.default_limits().clone());
        self.program
            .invoke_prepared(name, params, &self.args, &limits, self.data)
    }
}
