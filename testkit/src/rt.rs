//! What the runtime's test suites share (feature `rt`): one engine per
//! test binary, compiling and running WAT, a stub capability, and a probe
//! of the largest heap allocation a call makes.
//!
//! The probe is this crate's global allocator when the feature is on: it
//! records sizes per thread and forwards every call to the system's.

use std::sync::OnceLock;

use std::sync::Arc;

use tape_rt::wasmtime::{self, Caller, ExternType, FuncType, Linker, Module, Val};
use tape_rt::{Args, Capability, Config, Engine, Function, Grants, Outcome, Program, Spec, State};

/// A compute-bound program of about 30 ms, nearly all of it in
/// `$is_prime` (its first instruction on line 18): counts the primes below
/// 400,000 and hands over the count, `33860`. The profiler's tests and
/// benchmark run it, as the CLI's tests do from the same file.
pub const PRIMES: &str = include_str!("../../tests/cli/programs/primes.wat");

/// One engine for the whole test binary, as an embedder would have. It keeps
/// compiled modules in memory only; the disk cache is tested in temporary
/// directories (`cache.rs`).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(Config {
            cache_dir: None,
            ..Config::default()
        })
        .expect("engine")
    })
}

/// `source` compiled as `test.wat` with `grants` on [`engine`]; panics
/// with the error if it does not compile or link.
pub fn program(source: &str, grants: &Grants) -> Program {
    engine()
        .compile_str("test.wat", source, grants)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `source` run with `core` only and no arguments; panics on an error.
pub fn run(source: &str) -> Outcome {
    program(source, &Grants::new())
        .run(&Args::new())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The error `source` ends with; panics if it compiles and runs.
pub fn run_err(source: &str, grants: &Grants) -> tape_rt::Error {
    match program(source, grants).run(&Args::new()) {
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
        Err(error) => error,
    }
}

/// A host function of a [`Stub`]: its parameters in, its results to set.
type HostFn =
    dyn Fn(&mut Caller<'_, State>, &[Val], &mut [Val]) -> wasmtime::Result<()> + Send + Sync;

/// What a [`Stub`] does when a run begins.
type BeginFn = dyn Fn(&mut State) + Send + Sync;

/// A capability for tests, made of closures: each function a name, a WAT
/// signature and a body over `Val`s, registered with the type its
/// signature declares. Tests that need a capability of their own write one
/// of these rather than a type and an impl.
///
/// ```
/// use tape_rt::wasmtime::Val;
/// use tape_testkit::rt::{Stub, program};
///
/// let double = Stub::new("math").function("double", "(param $n i32) (result i32)", |_, params, results| {
///     results[0] = Val::I32(params[0].unwrap_i32() * 2);
///     Ok(())
/// });
/// let grants = tape_rt::Grants::new().grant(double);
/// let outcome = program("(func $run (result i32) (call $math.double (i32.const 21)))", &grants)
///     .run(&tape_rt::Args::new())
///     .unwrap();
/// assert_eq!(outcome.status, 42);
/// ```
#[derive(Clone)]
pub struct Stub {
    spec: Spec,
    bodies: Vec<Arc<HostFn>>,
    begin: Option<Arc<BeginFn>>,
}

impl std::fmt::Debug for Stub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stub")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl Stub {
    /// A capability called `name`, with no functions yet.
    pub fn new(name: &'static str) -> Stub {
        Stub {
            spec: Spec::new(name, "a stub for tests", &[]),
            bodies: Vec::new(),
            begin: None,
        }
    }

    /// With the function `name` of type `signature` (WAT, as a
    /// [`Function`]'s), whose calls run `body`. Each call is counted in
    /// the run's usage under the capability's name.
    pub fn function(
        mut self,
        name: &'static str,
        signature: &'static str,
        body: impl Fn(&mut Caller<'_, State>, &[Val], &mut [Val]) -> wasmtime::Result<()>
        + Send
        + Sync
        + 'static,
    ) -> Stub {
        let mut functions = self.spec.functions.to_vec();
        functions.push(Function::new(name, signature));
        // Tests make a few of these: leaking their specs is the price of
        // a `Spec` made at run time.
        let functions: &'static [Function] = Box::leak(functions.into_boxed_slice());
        self.spec = Spec::new(self.spec.name, self.spec.description, functions);
        self.bodies.push(Arc::new(body));
        self
    }

    /// Runs `begin` at the start of every run, before the guest: to put
    /// state in the run with [`State::insert`], or to test what a
    /// capability's `begin_run` may do.
    pub fn on_begin(mut self, begin: impl Fn(&mut State) + Send + Sync + 'static) -> Stub {
        self.begin = Some(Arc::new(begin));
        self
    }
}

/// The type a WAT signature declares, read from a module importing it.
fn func_type(engine: &wasmtime::Engine, signature: &str) -> wasmtime::Result<FuncType> {
    let wasm = wat::parse_str(format!("(module (import \"m\" \"f\" (func {signature})))"))?;
    let module = Module::new(engine, wasm)?;
    match module.imports().next().map(|i| i.ty()) {
        Some(ExternType::Func(ty)) => Ok(ty),
        _ => Err(wasmtime::format_err!(
            "`{signature}` is not a function signature"
        )),
    }
}

impl Capability for Stub {
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let name = self.spec.name;
        for (function, body) in self.spec.functions.iter().zip(&self.bodies) {
            let ty = func_type(linker.engine(), function.signature)?;
            let body = body.clone();
            linker.func_new(
                name,
                function.name,
                ty,
                move |mut caller, params, results| {
                    caller.data_mut().count_call(name);
                    body(&mut caller, params, results)
                },
            )?;
        }
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        if let Some(begin) = &self.begin {
            begin(state);
        }
    }
}

/// The size of the largest heap allocation the current thread makes while
/// `f` runs, to prove that a guest's length prefix never makes the host
/// allocate it.
pub fn largest_allocation_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    counting::LARGEST.with(|largest| largest.set(0));
    let result = f();
    (result, counting::LARGEST.with(|largest| largest.get()))
}

/// A global allocator that remembers, per thread, the largest allocation
/// it was asked for. Per thread, so that tests running in parallel do not
/// see each other's allocations.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        pub static LARGEST: Cell<usize> = const { Cell::new(0) };
    }

    fn record(size: usize) {
        // `try_with`: during thread teardown the slot may be gone.
        let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
    }

    pub struct Counting;

    // The test binary needs its own allocator to observe allocation sizes;
    // each method records the size and forwards to `System` unchanged, so
    // `System`'s contract is this allocator's contract.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded unchanged.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            record(new_size);
            // SAFETY: forwarded unchanged.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;
}

/// How many POSIX timers of this process signal the calling thread: the
/// alarms of `Timer::Signal` runs still armed on it. `/proc/self/timers`
/// names the thread each timer notifies (`notify: signal/tid.1234`), and
/// `/proc/thread-self` links to `PID/task/TID`.
#[cfg(target_os = "linux")]
pub fn timers_of_this_thread() -> usize {
    let this = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    let tid = this
        .file_name()
        .and_then(|tid| tid.to_str())
        .expect("a thread id");
    std::fs::read_to_string("/proc/self/timers")
        .expect("/proc/self/timers")
        .lines()
        .filter(|line| line.trim() == format!("notify: signal/tid.{tid}"))
        .count()
}
