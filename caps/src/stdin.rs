//! The `stdin` capability: the run's standard input, read in chunks or
//! whole, bounded, and never waiting past the run's deadline.
//!
//! The input is the process's standard input ([`Stdin::process`], what
//! `tape run` grants when its standard input is a pipe or a file), bytes
//! the host holds ([`Stdin::bytes`]), or, per run, an [`Input`] the host
//! passes as run data ([`Run::data`](tape_rt::Run::data)), which takes the
//! place of the others for that run.

use std::io::Read;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tape_rt::guest::{self, write_bytes};
use tape_rt::{Capability, Error, Function, Spec, State, status};
use wasmtime::{Caller, Linker};

/// Bytes a run may read in all, by default: 16 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 20;

/// Bytes one `stdin.read` returns at most: 64 KiB.
pub const MAX_CHUNK: usize = 64 << 10;

/// How long a run without a deadline waits for input that does not come.
const WAIT: Duration = Duration::from_secs(10);

/// A run's standard input, granted.
///
/// ```
/// use tape_caps::stdin::{Input, Stdin};
/// use tape_rt::{Config, Engine, Run};
///
/// let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
/// let grants = tape_caps::grants().grant(Stdin::bytes(b"from the host".to_vec()));
/// let program = engine.compile_str("cat.wat", r#"
///     (func $run (result i32)
///       (local $text i32) (local $status i32)
///       (call $stdin.all) (local.set $status) (local.set $text)
///       (check (local.get $status))
///       (resv (local.get $text))
///       (i32.const 0))"#, &grants)?;
/// assert_eq!(Run::new(&program).run()?.result::<&str>(0)?, "from the host");
/// // This run's own input, as run data.
/// let outcome = Run::new(&program).data(Input::new(b"per run".to_vec())).run()?;
/// assert_eq!(outcome.result::<&str>(0)?, "per run");
/// # Ok::<(), tape_rt::Error>(())
/// ```
#[derive(Clone)]
pub struct Stdin {
    source: Source,
    max_bytes: u64,
}

impl std::fmt::Debug for Stdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stdin")
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Where a [`Stdin`]'s input comes from.
#[derive(Clone)]
enum Source {
    /// A stream read on a thread of its own, chunk by chunk, as runs ask:
    /// shared by the runs of the capability, which take turns with it.
    Stream(Arc<Mutex<Stream>>),
    /// Bytes the host holds: every run reads them from the start.
    Bytes(Arc<[u8]>),
}

/// A stream's chunks, read ahead by its thread, at most two at a time.
/// The thread starts at the first read: input a program never asks for
/// is never read.
struct Stream {
    reader: Option<Box<dyn Read + Send>>,
    chunks: Option<Receiver<std::io::Result<Vec<u8>>>>,
    /// What was received and not yet handed to a run.
    left: Vec<u8>,
    ended: bool,
}

/// One run's own standard input, passed as run data: it takes the place
/// of the capability's source for that run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input(Vec<u8>);

impl Input {
    /// `bytes` as the run's standard input.
    pub fn new(bytes: Vec<u8>) -> Input {
        Input(bytes)
    }
}

/// What a run has read.
#[derive(Debug, Default)]
struct StdinRun {
    /// The run's own input and how far it has read, if it has one, or
    /// how far it has read the capability's bytes.
    own: Option<Arc<[u8]>>,
    at: usize,
    read: u64,
}

impl Stdin {
    /// The process's standard input, read on a thread of its own as runs
    /// ask for it: what `tape run` grants when it is a pipe or a file.
    pub fn process() -> Stdin {
        Stdin::reader(std::io::stdin())
    }

    /// The bytes `reader` gives, read on a thread of its own. A run that
    /// asks for input that has not come waits until its deadline, then
    /// gets `TIMED_OUT`.
    pub fn reader(reader: impl Read + Send + 'static) -> Stdin {
        Stdin {
            source: Source::Stream(Arc::new(Mutex::new(Stream {
                reader: Some(Box::new(reader)),
                chunks: None,
                left: Vec::new(),
                ended: false,
            }))),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// `bytes` as the input of every run.
    pub fn bytes(bytes: Vec<u8>) -> Stdin {
        Stdin {
            source: Source::Bytes(bytes.into()),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// Bytes a run may read in all (default [`DEFAULT_MAX_BYTES`]).
    pub fn max_bytes(mut self, max: u64) -> Self {
        self.max_bytes = max;
        self
    }

    /// Up to `max` more bytes for the run: an empty vector at the end of
    /// the input, or the status and reason that refuse them.
    fn next(
        &self,
        run: &mut StdinRun,
        max: usize,
        deadline: Instant,
    ) -> Result<Vec<u8>, (i32, String)> {
        let room = self.max_bytes.saturating_sub(run.read);
        if room == 0 && max > 0 {
            let ended = match (&run.own, &self.source) {
                (Some(bytes), _) | (None, Source::Bytes(bytes)) => run.at >= bytes.len(),
                (None, Source::Stream(_)) => false,
            };
            return if ended {
                Ok(Vec::new())
            } else {
                Err(budget(self.max_bytes))
            };
        }
        let max = max
            .min(MAX_CHUNK)
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        let bytes = match (&run.own, &self.source) {
            (Some(bytes), _) | (None, Source::Bytes(bytes)) => {
                let end = (run.at + max).min(bytes.len());
                let chunk = bytes[run.at..end].to_vec();
                run.at = end;
                chunk
            }
            (None, Source::Stream(stream)) => {
                let mut stream = stream.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(reader) = stream.reader.take() {
                    let (send, chunks) = std::sync::mpsc::sync_channel(2);
                    let spawned = std::thread::Builder::new()
                        .name("tape-stdin".into())
                        .spawn(move || pump(reader, &send));
                    match spawned {
                        Ok(_) => stream.chunks = Some(chunks),
                        Err(error) => {
                            stream.ended = true;
                            tracing::warn!(target: "tape::stdin", "cannot start reading standard input: {error}");
                        }
                    }
                }
                while stream.left.is_empty() && !stream.ended {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    let Some(chunks) = &stream.chunks else {
                        stream.ended = true;
                        break;
                    };
                    match chunks.recv_timeout(wait) {
                        Ok(Ok(chunk)) => stream.left = chunk,
                        Ok(Err(error)) => {
                            stream.ended = true;
                            tracing::warn!(target: "tape::stdin", "reading standard input failed: {error}");
                            return Err((
                                status::IO_FAILURE,
                                "reading standard input failed; the host's log has the details"
                                    .into(),
                            ));
                        }
                        Err(RecvTimeoutError::Disconnected) => stream.ended = true,
                        Err(RecvTimeoutError::Timeout) => {
                            return Err((
                                status::TIMED_OUT,
                                "no input came before the run's deadline".into(),
                            ));
                        }
                    }
                }
                let take = max.min(stream.left.len());
                stream.left.drain(..take).collect()
            }
        };
        run.read += bytes.len() as u64;
        Ok(bytes)
    }
}

/// The reason for a run that has read all it may.
fn budget(max: u64) -> (i32, String) {
    (
        status::TOO_LARGE,
        format!("the run has read {max} bytes of standard input, all it may"),
    )
}

/// Reads `reader` in chunks into `send` until it ends, fails, or no one
/// listens.
fn pump(mut reader: impl Read, send: &SyncSender<std::io::Result<Vec<u8>>>) {
    loop {
        let mut chunk = vec![0; MAX_CHUNK];
        match reader.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                chunk.truncate(n);
                if send.send(Ok(chunk)).is_err() {
                    return;
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                let _ = send.send(Err(error));
                return;
            }
        }
    }
}

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(
    "stdin",
    "read the run's standard input, in chunks or whole, bounded",
    &[
        Function::new("read", "(param $max i32) (result i32 i32)")
            .roles("count -> ptr status")
            .doc("The next bytes of standard input, at most `$max` (and 64 KiB): (pointer to `[len][bytes]`, status).\n\nStatus `NOT_FOUND` (3) at the end of the input, `TOO_LARGE` (4) once the run has read all it may (16 MiB by default), `TIMED_OUT` (5) if no input comes before the run's deadline.\n\n```wat\n(func $run (result i32)\n  (local $chunk i32) (local $status i32) (local $bytes i32)\n  (block $done\n    (loop $next\n      (call $stdin.read (i32.const 4096)) (local.set $status) (local.set $chunk)\n      (br_if $done (i32.eq (local.get $status) (i32.const 3)))\n      (check (local.get $status))\n      (local.set $bytes (i32.add (local.get $bytes) (call $std.str.len (local.get $chunk))))\n      (br $next)))\n  (resv (call $std.i32.to_str (local.get $bytes)))\n  (i32.const 0))\n```"),
        Function::new("all", "(result i32 i32)")
            .roles("-> ptr status")
            .doc("The rest of standard input, whole: (pointer to `[len][bytes]`, status).\n\nStatus `TOO_LARGE` (4) if it is more than the run may read (16 MiB by default), `TIMED_OUT` (5) if it has not ended by the run's deadline.\n\n```wat\n(func $run (result i32)\n  (local $text i32) (local $status i32)\n  (call $stdin.all) (local.set $status) (local.set $text)\n  (check (local.get $status))\n  (resv (call $std.str.to_upper (local.get $text)))\n  (i32.const 0))\n```"),
    ],
);

fn run_state<'a>(caller: &'a mut Caller<'_, State>) -> wasmtime::Result<&'a mut StdinRun> {
    caller
        .data_mut()
        .get::<StdinRun>()
        .ok_or_else(|| Error::capability("stdin", "no state for this run").into())
}

impl Capability for Stdin {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let this = self.clone();
        linker.func_wrap(
            "stdin",
            "read",
            move |mut caller: Caller<'_, State>, max: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call("stdin");
                let deadline = caller
                    .data()
                    .deadline()
                    .unwrap_or_else(|| Instant::now() + WAIT);
                let max = usize::try_from(max).unwrap_or(0);
                let next = this.next(run_state(&mut caller)?, max, deadline);
                let chunk = match next {
                    Ok(chunk) if chunk.is_empty() && max > 0 => {
                        let message = "the end of standard input";
                        return Ok((
                            0,
                            guest::fail(&mut caller, "stdin.read", status::NOT_FOUND, message),
                        ));
                    }
                    Ok(chunk) => chunk,
                    Err((status, message)) => {
                        return Ok((0, guest::fail(&mut caller, "stdin.read", status, message)));
                    }
                };
                let ptr = write_bytes(&mut caller, &chunk)?;
                caller.data_mut().usage_mut("stdin").bytes_out += chunk.len() as u64;
                Ok((ptr as i32, status::OK))
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            "stdin",
            "all",
            move |mut caller: Caller<'_, State>| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call("stdin");
                let deadline = caller
                    .data()
                    .deadline()
                    .unwrap_or_else(|| Instant::now() + WAIT);
                let mut all = Vec::new();
                loop {
                    match this.next(run_state(&mut caller)?, MAX_CHUNK, deadline) {
                        Ok(chunk) if chunk.is_empty() => break,
                        Ok(chunk) => all.extend(chunk),
                        Err((status, message)) => {
                            return Ok((0, guest::fail(&mut caller, "stdin.all", status, message)));
                        }
                    }
                }
                let ptr = write_bytes(&mut caller, &all)?;
                caller.data_mut().usage_mut("stdin").bytes_out += all.len() as u64;
                Ok((ptr as i32, status::OK))
            },
        )?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        let own = state
            .get::<Input>()
            .map(|input| Arc::from(std::mem::take(&mut input.0)));
        state.insert(StdinRun {
            own,
            ..StdinRun::default()
        });
    }
}

/// `[stdin]`: grants the process's standard input; see [`Stdin`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct StdinGrant {
    /// Bytes a run may read in all.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_bytes: Option<u64>,
}

impl StdinGrant {
    /// The capability: the process's standard input.
    pub fn stdin(&self) -> Stdin {
        let stdin = Stdin::process();
        match self.max_bytes {
            Some(max) => stdin.max_bytes(max),
            None => stdin,
        }
    }
}

impl crate::table::Table for StdinGrant {
    fn grant(&self, _: &crate::table::Shared) -> tape_rt::Result<Arc<dyn Capability>> {
        Ok(Arc::new(self.stdin()))
    }
}
