//! What goes into a run and what comes out of it: its [`Args`], its
//! [`Outcome`] and the [`Usage`] in it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::reason::Reason;
use crate::state::CapabilityUsage;
use crate::state::State;

/// The arguments of a run, each a wire value.
///
/// Made here, they are handed over as they are, whatever the program
/// declares; [`Program::args_from_text`](crate::Program::args_from_text) and
/// [`Program::args_from_json`](crate::Program::args_from_json)
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

    /// Each argument as a whole wire value.
    pub fn values(&self) -> &[Vec<u8>] {
        &self.values
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
    /// Why capability calls of the run failed, oldest first: the last
    /// [`Reason::MAX_REASONS`](crate::Reason::MAX_REASONS). The last one
    /// is usually why a run that returns a capability's status failed.
    pub reasons: Vec<Reason>,
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
    /// to together: what counts against [`Limits::max_memory`](crate::Limits::max_memory).
    pub peak_memory: u64,
    /// Calls from the guest to host functions, all capabilities together.
    pub host_calls: u64,
    /// Time spent in host functions of capabilities other than `core`
    /// (those that count their calls with [`State::count_call`]), in a run
    /// made with [`Run::time_calls`](crate::Run::time_calls); zero
    /// otherwise. `core`'s calls take nanoseconds and are never timed.
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
    /// A result is found in guest memory from its pointer alone, so it
    /// always carries a length prefix. Strings, sequences, structs and
    /// tuples have one of their own; a number, a bool or a char does not, so
    /// a guest hands it over as `[width][bytes]` (`$std.wire.i64` makes one),
    /// which is the one-field tuple `(T,)`. Either decodes here as `T`: when
    /// the bytes are not a `T`, they are tried as `(T,)`.
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
        match tape_protocol::from_bytes(bytes) {
            Ok(value) => Ok(value),
            Err(error) => match tape_protocol::from_bytes::<(T,)>(bytes) {
                Ok((value,)) => Ok(value),
                Err(_) => Err(error.into()),
            },
        }
    }

    /// The payload of result `index`, its bytes after the length prefix:
    /// the text of a string, the raw bytes of a byte string.
    pub fn payload(&self, index: usize) -> Option<&[u8]> {
        self.results.get(index)?.get(4..)
    }
}

/// Host data put into a run's state before its capabilities begin.
pub(crate) type HostData<'a> = Vec<Box<dyn FnOnce(&mut State) + Send + 'a>>;
