//! The `log` capability: messages with a level, sanitised and within a
//! byte budget, to `tracing` or a host's sink.

use std::fmt;
use std::sync::Arc;

use wasmtime::{Caller, Linker};

use tape_rt::guest::{self, read_bytes_max};
use tape_rt::{Capability, Function, Spec, State, status};

/// Log levels, as the guest numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 0: something failed.
    Error = 0,
    /// 1: something is wrong but the program goes on.
    Warn = 1,
    /// 2: what the program is doing.
    Info = 2,
    /// 3: details for whoever debugs it.
    Debug = 3,
    /// 4: everything.
    Trace = 4,
}

impl Level {
    /// The level a program passes to `log.write` as `$level`, if it is one.
    pub fn from_guest(level: i32) -> Option<Level> {
        Some(match level {
            0 => Level::Error,
            1 => Level::Warn,
            2 => Level::Info,
            3 => Level::Debug,
            4 => Level::Trace,
            _ => return None,
        })
    }

    /// `"error"`, `"warn"`, `"info"`, `"debug"` or `"trace"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Sink = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// Logging for the guest.
///
/// | import | signature | meaning |
/// |---|---|---|
/// | `log.write` | `(param $level i32) (param $msg i32) (result i32)` | log the string at `msg` at `level` (0 error … 4 trace) |
///
/// Status: [`OK`](status::OK); [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT)
/// for a level outside 0–4; [`TOO_LARGE`](status::TOO_LARGE) for a message
/// that does not fit in what is left of the run's byte budget (it is
/// dropped, and the first such message gets one warning in its place).
///
/// The budget counts what reaches the sink: each message's text once
/// escaped, plus [`LOG_MESSAGE_OVERHEAD`] bytes. So a run writes at most
/// [`max_bytes`](Log::max_bytes) bytes of log, and at most
/// `max_bytes / LOG_MESSAGE_OVERHEAD` messages.
///
/// Messages reach the sink with invalid UTF-8 replaced and every control
/// character escaped (`\n` as `\\n`, ESC as `\\u{1b}`), so a guest cannot
/// forge log lines or terminal escapes. The default sink emits a `tracing`
/// event with target `tape::guest`.
#[derive(Clone)]
pub struct Log {
    max_bytes: usize,
    sink: Sink,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log")
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for Log {
    fn default() -> Self {
        Self::new()
    }
}

/// Bytes of log messages a run may write by default.
pub const DEFAULT_LOG_BYTES: usize = 1 << 20;

/// Bytes each message counts against the budget besides its text: about
/// what a sink adds around it (`[level] ` and a newline), so that empty
/// messages are not free.
pub const LOG_MESSAGE_OVERHEAD: usize = 16;

impl Log {
    /// Logging to `tracing`, with a budget of 1 MiB per run.
    pub fn new() -> Self {
        Log {
            max_bytes: DEFAULT_LOG_BYTES,
            sink: Arc::new(to_tracing),
        }
    }

    /// Sets how many bytes of log a run may write, counted as the type
    /// documents.
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Sends messages to `sink` instead of `tracing`.
    pub fn sink(mut self, sink: impl Fn(Level, &str) + Send + Sync + 'static) -> Self {
        self.sink = Arc::new(sink);
        self
    }
}

fn to_tracing(level: Level, message: &str) {
    match level {
        Level::Error => tracing::error!(target: "tape::guest", "{message}"),
        Level::Warn => tracing::warn!(target: "tape::guest", "{message}"),
        Level::Info => tracing::info!(target: "tape::guest", "{message}"),
        Level::Debug => tracing::debug!(target: "tape::guest", "{message}"),
        Level::Trace => tracing::trace!(target: "tape::guest", "{message}"),
    }
}

/// How much of its budget a run has used.
#[derive(Debug, Default)]
struct LogState {
    written: usize,
    exhausted: bool,
}

/// Makes a guest message safe to print: lossy UTF-8, control characters
/// escaped.
pub fn sanitize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(
    "log",
    "write log messages at a level, within a per-run byte budget",
    FUNCTIONS,
);

const FUNCTIONS: &[Function] = &[Function::new("write", "(param $level i32) (param $msg i32) (result i32)")
        .roles("num str -> status?")
        .doc("Logs the string at `$msg` at `$level`: 0 error, 1 warn, 2 info, 3 debug, 4 trace.\n\n`tape run` prints it on standard error as `[level] message`, control characters escaped. Status `INVALID_ARGUMENT` (1) for another level, `TOO_LARGE` (4) once the run's log budget (1 MiB by default) is spent.\n\n```wat\n(func $run (result i32)\n  (check (call $log.write (i32.const 2) \"hello from the log\"))\n  (i32.const 0))\n```")];

impl Capability for Log {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let this = self.clone();
        linker.func_wrap(
            "log",
            "write",
            move |mut caller: Caller<'_, State>, level: i32, msg: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_call("log");
                let Some(level) = Level::from_guest(level) else {
                    let message = format!(
                        "level {level} is not one of 0 (error), 1 (warn), 2 (info), 3 (debug), 4 (trace)"
                    );
                    return Ok(guest::fail(&mut caller, "log.write", status::INVALID_ARGUMENT, message));
                };
                let Some(state) = caller.data_mut().get::<LogState>() else {
                    return Ok(status::INVALID_ARGUMENT);
                };
                // Escaping never shortens a message, so one whose raw bytes
                // are over what is left is refused before it is copied.
                let left = this
                    .max_bytes
                    .checked_sub(state.written + LOG_MESSAGE_OVERHEAD);
                let bytes = match left {
                    Some(left) => read_bytes_max(&caller, msg as u32, left)?,
                    None => None,
                };
                let left = left.unwrap_or(0);
                let state = caller.data_mut();
                if let Some(bytes) = &bytes {
                    state.usage_mut("log").bytes_in += bytes.len() as u64;
                }
                let message = bytes
                    .map(|bytes| sanitize(&bytes))
                    .filter(|text| text.len() <= left);
                let Some(text) = message else {
                    let Some(log) = state.get::<LogState>() else {
                        return Ok(status::INVALID_ARGUMENT);
                    };
                    if !log.exhausted {
                        log.exhausted = true;
                        (this.sink)(
                            Level::Warn,
                            &format!(
                                "log budget of {} bytes spent; further messages are dropped",
                                this.max_bytes
                            ),
                        );
                        // Recorded once: a program that logs on past its
                        // budget does not pay for a reason per message.
                        let message = format!(
                            "the run's log budget of {} bytes is spent; this message and the next are dropped",
                            this.max_bytes
                        );
                        return Ok(guest::fail(&mut caller, "log.write", status::TOO_LARGE, message));
                    }
                    return Ok(status::TOO_LARGE);
                };
                if let Some(log) = state.get::<LogState>() {
                    log.written += LOG_MESSAGE_OVERHEAD + text.len();
                }
                (this.sink)(level, &text);
                Ok(status::OK)
            },
        )?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        state.insert(LogState::default());
    }
}

/// `[log]`: see [`Log`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct LogGrant {
    /// Message bytes a run may log.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_bytes: Option<u64>,
    /// Where messages go: not in a manifest, but set by the host (`tape
    /// run` prints them on standard error); `None` for `tracing`.
    #[serde(skip)]
    pub sink: Option<LogSink>,
}

/// Where a [`LogGrant`]'s messages go; see [`Log::sink`].
#[derive(Clone)]
pub struct LogSink(Sink);

impl LogSink {
    /// Messages go to `sink`, each with its level and its sanitised text.
    pub fn new(sink: impl Fn(Level, &str) + Send + Sync + 'static) -> LogSink {
        LogSink(Arc::new(sink))
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogSink(..)")
    }
}

impl LogGrant {
    /// The capability, logging to its sink.
    pub fn log(&self) -> Log {
        let mut log = Log::new();
        if let Some(bytes) = self.max_bytes {
            log = log.max_bytes(crate::table::saturate(bytes));
        }
        if let Some(LogSink(sink)) = &self.sink {
            log.sink = sink.clone();
        }
        log
    }
}

impl crate::table::Table for LogGrant {
    fn grant(&self, _: &crate::table::Shared) -> tape_rt::Result<Arc<dyn Capability>> {
        Ok(Arc::new(self.log()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_bad_utf8_replaced() {
        assert_eq!(
            sanitize(b"a\nb\x1b[31m\tc\xff"),
            "a\\nb\\u{1b}[31m\\tc\u{fffd}"
        );
        assert_eq!(sanitize("héllo".as_bytes()), "héllo");
    }
}
