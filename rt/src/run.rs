//! One run: what goes in (arguments, limits, host data) and what comes
//! out (an [`Outcome`]).

use std::any::Any;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasmtime::Val;

use crate::state::CapabilityUsage;
use crate::{Error, ErrorKind, Limits, Program, Result, State};

/// The arguments of a run, each a wire value.
///
/// Made here, they are handed over as they are, whatever the program
/// declares; [`Program::args_from_text`] and [`Program::args_from_json`]
/// make them from values checked against its declared arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    pub(crate) values: Vec<Vec<u8>>,
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
    /// [`ErrorKind::Wire`] if it cannot be encoded (over 4 GiB).
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
    /// [`ErrorKind::Wire`] if the bytes are not a `T`, or there is no such
    /// result.
    pub fn result<'a, T: Deserialize<'a>>(&'a self, index: usize) -> Result<T> {
        let bytes = self.results.get(index).ok_or_else(|| {
            Error::from(ErrorKind::Wire(tape_protocol::Error::Custom {
                offset: None,
                message: format!(
                    "there is no result {index}; the run gave {}",
                    self.results.len()
                ),
            }))
        })?;
        Ok(tape_protocol::from_bytes(bytes)?)
    }

    /// The payload of result `index`, its bytes after the length prefix:
    /// the text of a string, the raw bytes of a byte string.
    pub fn payload(&self, index: usize) -> Option<&[u8]> {
        self.results.get(index)?.get(4..)
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

/// Host data put into a run's state before its capabilities begin.
pub(crate) type HostData<'a> = Vec<Box<dyn FnOnce(&mut State) + Send + 'a>>;
