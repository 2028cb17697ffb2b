//! Recording a run, and replaying it offline.
//!
//! Everything a program learns from outside comes through capability calls
//! that copy bytes in and out of its memory. A [`Trace`] keeps a run's
//! arguments, its limits, and every such call in order — what the program
//! sent, what it got back (numbers, reply bytes, bytes written into its
//! memory, the reason of a failing call) — and how the run ended.
//! [`Run::record`](crate::Run::record) makes one;
//! [`Run::replay`](crate::Run::replay) runs the program again against it
//! with no capability reaching anything: each call is answered from the
//! trace, and the first call that differs from the recording stops the run
//! with [`ErrorKind::Diverged`], at the
//! program's source line.
//!
//! ```
//! use tape_rt::{Args, Capability, Config, Engine, Function, Grants, Run, Spec, State};
//! use tape_rt::trace::{Trace, stand_ins};
//! use tape_rt::wasmtime::{Caller, Linker};
//!
//! // A capability that answers from outside: here, a counter.
//! struct Counter(std::sync::atomic::AtomicI64);
//! const SPEC: Spec = Spec::new("counter", "a number that goes up", &[
//!     Function::new("next", "(result i64)").roles("-> num"),
//! ]);
//! impl Capability for Counter {
//!     fn spec(&self) -> &Spec { &SPEC }
//!     fn register(&self, linker: &mut Linker<State>) -> tape_rt::wasmtime::Result<()> {
//!         let n = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(self.0.load(std::sync::atomic::Ordering::SeqCst)));
//!         linker.func_wrap("counter", "next", move |_: Caller<'_, State>| {
//!             n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
//!         })?;
//!         Ok(())
//!     }
//! }
//!
//! let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
//! let source = "(func $run (result i32) (i32.wrap_i64 (call $counter.next)))";
//! let grants = Grants::new().grant(Counter(40.into()));
//! let program = engine.compile_str("next.wat", source, &grants)?;
//! let (outcome, trace) = Run::new(&program).record();
//! assert_eq!(outcome?.status, 40);
//!
//! // The trace is bytes: keep it in a file, read it back.
//! let trace = Trace::from_bytes(&trace.to_bytes())?;
//! assert_eq!(trace.calls.len(), 1);
//!
//! // Replayed with no counter at all: a stand-in answers from the trace.
//! let offline = engine.compile_str("next.wat", source, &stand_ins(&grants))?;
//! let replayed = Run::new(&offline).replay(&trace)?;
//! assert_eq!(replayed.status, 40);
//! assert_eq!(trace.end.compare(&Ok(replayed)), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A run that a trap or a limit stops can also leave its memory behind, a
//! [`Dump`] ([`Run::dump_on_stop`](crate::Run::dump_on_stop)): the bytes,
//! the static literals, where the allocator was, the results so far.
//!
//! A trace is the [wire format](tape_protocol) behind an eight-byte magic
//! and a version ([`Trace::to_bytes`]); reading one checks both and is
//! bounded by the bytes given. A capability keeps secrets out of it with
//! [`Spec::redact`](crate::Spec::redact): `http` writes `[redacted]` for
//! the values of credential headers, and keys the host adds itself (the
//! AI key) never pass through the guest, so they are never seen.

mod dump;
mod record;
mod replay;

use serde::{Deserialize, Serialize};

use crate::engine::Limits;
use crate::error::{Error, ErrorKind, Result};
use crate::outcome::Outcome;

pub use dump::{DUMP_MAGIC, DUMP_VERSION, Dump, DumpLiteral};
pub(crate) use record::{Recorded, Recording};
pub(crate) use replay::{Observer, Replaying};
pub use replay::{StandIn, stand_ins};

/// The first eight bytes of a trace file.
pub const MAGIC: [u8; 8] = *b"TAPETRC\n";

/// The version [`Trace::to_bytes`] writes; [`Trace::from_bytes`] reads
/// only this one.
pub const VERSION: u32 = 1;

/// How many bytes of calls a recording keeps, unless told otherwise
/// ([`Run::record_max`](crate::Run::record_max)): past it the run stops,
/// rather than fill the host's memory.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;

/// A recorded run: what it was given, every capability call it made, and
/// how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Trace {
    /// The program: its file name as diagnostics show it, and a SHA-256 of
    /// what it was compiled from (the source text, or the module's bytes).
    pub program: ProgramId,
    /// Each argument as a whole wire value, `[len][payload]`.
    pub args: Vec<ByteBuf>,
    /// The limits it ran with.
    pub limits: TraceLimits,
    /// Each capability call, in order.
    pub calls: Vec<Call>,
    /// How the run ended.
    pub end: End,
}

/// Bytes, written as one length-prefixed run in the wire format.
pub type ByteBuf = serde_bytes::ByteBuf;

/// Which program a trace is of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramId {
    /// Its file name, as diagnostics show it.
    pub file: String,
    /// SHA-256 of the source text it was compiled from, or of the module
    /// it was loaded from.
    pub sha256: [u8; 32],
}

impl ProgramId {
    /// The hash as 64 hexadecimal digits.
    pub fn hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The limits of a recorded run, which its replay runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceLimits {
    /// Fuel, if limited.
    pub fuel: Option<u64>,
    /// The timeout in milliseconds, if any.
    pub timeout_ms: Option<u64>,
    /// The memory cap in bytes.
    pub max_memory: u64,
    /// The results cap in bytes.
    pub max_result_bytes: u64,
}

impl TraceLimits {
    pub(crate) fn of(limits: &Limits) -> TraceLimits {
        TraceLimits {
            fuel: limits.fuel,
            timeout_ms: limits
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            max_memory: limits.max_memory,
            max_result_bytes: limits.max_result_bytes as u64,
        }
    }

    /// As [`Limits`].
    pub fn limits(&self) -> Limits {
        Limits {
            fuel: self.fuel,
            timeout: self.timeout_ms.map(std::time::Duration::from_millis),
            max_memory: self.max_memory,
            max_result_bytes: usize::try_from(self.max_result_bytes).unwrap_or(usize::MAX),
        }
    }
}

/// One capability call of a recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Call {
    /// The call as the program writes it: `kv.get`.
    pub function: String,
    /// What the program passed, parameter by parameter.
    pub params: Vec<Value>,
    /// What it got back, result by result.
    pub results: Vec<Value>,
    /// Bytes the call wrote into the program's memory at a pointer it was
    /// given (`rand.fill`'s), if any.
    pub filled: Option<ByteBuf>,
    /// The allocator's top before and after the call, when recorded: a
    /// replay leaves memory as the call did.
    pub top: Option<(u64, u64)>,
    /// Why it failed, when it recorded a reason.
    pub reason: Option<String>,
    /// What stopped the run in this call, if it did.
    pub error: Option<String>,
}

/// A parameter or result of a recorded call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Value {
    /// An `i32` that is not a pointer to data.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, by its bits.
    F32(u32),
    /// An `f64`, by its bits.
    F64(u64),
    /// A pointer to a length-prefixed value, and the value's payload
    /// (without its length prefix); redacted where the capability says.
    Data {
        /// The guest address.
        ptr: u32,
        /// The payload.
        bytes: ByteBuf,
    },
}

impl Value {
    /// The payload, for data.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Data { bytes, .. } => Some(bytes),
            _ => None,
        }
    }

    /// Whether the program sent the same thing: numbers equal, data equal
    /// (wherever it was in memory).
    pub(crate) fn same_request(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Data { bytes: a, .. }, Value::Data { bytes: b, .. }) => a == b,
            (a, b) => a == b,
        }
    }

    /// How a difference shows it: numbers as numbers, text as quoted text
    /// (shortened), other bytes in hex.
    pub fn show(&self) -> String {
        match self {
            Value::I32(n) => n.to_string(),
            Value::I64(n) => n.to_string(),
            Value::F32(bits) => f32::from_bits(*bits).to_string(),
            Value::F64(bits) => f64::from_bits(*bits).to_string(),
            Value::Data { bytes, .. } => show_bytes(bytes),
        }
    }
}

/// Bytes as text in quotes when they are UTF-8, else hex; at most 200
/// characters of either.
pub fn show_bytes(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut shown: String = text.chars().take(MAX).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            format!("{shown:?}")
        }
        Err(_) => {
            let mut shown: String = bytes
                .iter()
                .take(MAX / 2)
                .map(|b| format!("{b:02x}"))
                .collect();
            if bytes.len() > MAX / 2 {
                shown.push('…');
            }
            format!("0x{shown}")
        }
    }
}

/// How a recorded run ended.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct End {
    /// What `run` returned; `None` if it did not return.
    pub status: Option<i32>,
    /// The results it handed over, each a whole wire value.
    pub results: Vec<ByteBuf>,
    /// Fuel it used.
    pub fuel: u64,
    /// What stopped it, if something did.
    pub error: Option<String>,
}

impl End {
    pub(crate) fn of(run: &Result<Outcome>) -> End {
        match run {
            Ok(outcome) => End {
                status: Some(outcome.status),
                results: outcome.results.iter().cloned().map(ByteBuf::from).collect(),
                fuel: outcome.usage.fuel,
                error: None,
            },
            Err(error) => End {
                status: None,
                results: error.results().iter().cloned().map(ByteBuf::from).collect(),
                fuel: error.usage().map_or(0, |u| u.fuel),
                error: Some(error.to_string()),
            },
        }
    }

    /// How `run` (a replay) ended differently from this, in words; `None`
    /// when it returned the same status, handed over the same results and
    /// used the same fuel (or stopped with the same error).
    pub fn compare(&self, run: &Result<Outcome>) -> Option<String> {
        let now = End::of(run);
        let mut differences = Vec::new();
        match (&self.status, &now.status) {
            (Some(a), Some(b)) if a != b => {
                differences.push(format!("it returned status {b}, and {a} was recorded"));
            }
            (Some(a), None) => differences.push(format!(
                "it stopped ({}), and the recorded run returned {a}",
                now.error.as_deref().unwrap_or("")
            )),
            (None, Some(b)) => differences.push(format!(
                "it returned {b}, and the recorded run stopped ({})",
                self.error.as_deref().unwrap_or("")
            )),
            _ => {}
        }
        if self.results != now.results {
            let index = self
                .results
                .iter()
                .zip(&now.results)
                .position(|(a, b)| a != b)
                .unwrap_or(self.results.len().min(now.results.len()));
            let show = |results: &[ByteBuf]| {
                results.get(index).map_or("nothing".to_string(), |r| {
                    show_bytes(r.get(4..).unwrap_or_default())
                })
            };
            differences.push(format!(
                "result {index} is {}, and {} was recorded",
                show(&now.results),
                show(&self.results)
            ));
        }
        if self.fuel != now.fuel {
            differences.push(format!(
                "it used {} fuel, and the recorded run {}",
                now.fuel, self.fuel
            ));
        }
        (!differences.is_empty()).then(|| differences.join("; "))
    }
}

impl Trace {
    /// A trace written by hand rather than recorded (a test's): the
    /// program it is for, its arguments (each a whole wire value) and
    /// limits, and the calls to answer; its end is empty.
    pub fn new(program: ProgramId, args: Vec<Vec<u8>>, limits: &Limits, calls: Vec<Call>) -> Trace {
        Trace {
            program,
            args: args.into_iter().map(ByteBuf::from).collect(),
            limits: TraceLimits::of(limits),
            calls,
            end: End::default(),
        }
    }

    /// The trace as bytes: [`MAGIC`], [`VERSION`] as a little-endian u32,
    /// then the trace in the wire format.
    pub fn to_bytes(&self) -> Vec<u8> {
        framed(&MAGIC, VERSION, self)
    }

    /// Reads a trace written by [`Trace::to_bytes`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Trace`] if the bytes do not start with [`MAGIC`], are
    /// of another [`VERSION`], or are not a whole trace.
    pub fn from_bytes(bytes: &[u8]) -> Result<Trace> {
        unframed(bytes, &MAGIC, VERSION, "trace", "; record it again")
    }

    /// The bytes of every call's data, the measure a recording's bound
    /// counts.
    pub fn calls_bytes(&self) -> u64 {
        self.calls.iter().map(Call::weight).sum()
    }
}

impl Call {
    /// A call to `function` (`kv.get`) that was sent `params` and gave
    /// back `results`; nothing else. A call with no `params` where the
    /// function takes some matches whatever a replay sends it: a reply
    /// written by hand need not say what it answers.
    pub fn new(function: impl Into<String>, params: Vec<Value>, results: Vec<Value>) -> Call {
        Call {
            function: function.into(),
            params,
            results,
            filled: None,
            top: None,
            reason: None,
            error: None,
        }
    }

    /// What the call weighs in a trace: its data, and a little for the
    /// rest.
    pub(crate) fn weight(&self) -> u64 {
        let data = |values: &[Value]| -> u64 {
            values
                .iter()
                .map(|v| v.bytes().map_or(8, |b| b.len() as u64 + 12))
                .sum()
        };
        32 + self.function.len() as u64
            + data(&self.params)
            + data(&self.results)
            + self.filled.as_ref().map_or(0, |b| b.len() as u64)
            + self.reason.as_ref().map_or(0, |r| r.len() as u64)
            + self.error.as_ref().map_or(0, |e| e.len() as u64)
    }

    /// What the program sent, as a line: `kv.get("user:1")`.
    pub fn show_request(&self) -> String {
        let params: Vec<String> = self.params.iter().map(Value::show).collect();
        format!("{}({})", self.function, params.join(", "))
    }

    /// The call as a line: `kv.get("user:1") -> ("Ada", 0)`.
    pub fn show(&self) -> String {
        let list = |values: &[Value]| {
            values
                .iter()
                .map(Value::show)
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{}({}) -> ({})",
            self.function,
            list(&self.params),
            list(&self.results)
        )
    }
}

/// `magic`, `version` as a little-endian u32, then `value` in the wire
/// format: how traces and dumps are written.
pub(crate) fn framed<T: Serialize>(magic: &[u8; 8], version: u32, value: &T) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(&version.to_le_bytes());
    // Traces and dumps are plain data: every field has a wire encoding.
    match tape_protocol::to_vec(value) {
        Ok(body) => bytes.extend_from_slice(&body),
        Err(error) => unreachable!("a {} always encodes: {error}", std::any::type_name::<T>()),
    }
    bytes
}

/// Reads what [`framed`] wrote: a `what` ("trace") of this `version`,
/// bounded by `bytes`. `again` ends the message of another version.
pub(crate) fn unframed<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    magic: &[u8; 8],
    version: u32,
    what: &str,
    again: &str,
) -> Result<T> {
    let bad = |message: String| -> Error { ErrorKind::Trace { message }.into() };
    let body = bytes.strip_prefix(&magic[..]).ok_or_else(|| {
        let shown =
            String::from_utf8_lossy(magic.strip_suffix(b"\n").unwrap_or(magic)).into_owned();
        bad(format!(
            "it is not a Tape {what} (it does not start with `{shown}`)"
        ))
    })?;
    let (found, body) = body
        .split_first_chunk::<4>()
        .ok_or_else(|| bad("it ends inside its header".into()))?;
    let found = u32::from_le_bytes(*found);
    if found != version {
        return Err(bad(format!(
            "it is a version {found} {what}, and this Tape reads version {version}{again}"
        )));
    }
    tape_protocol::from_bytes(body).map_err(|e| bad(format!("it is damaged: {e}")))
}
