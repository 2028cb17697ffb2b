use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tape_compiler::Metadata;

use crate::program::Program;
use crate::{Error, Grants, Result};

/// Limits of one run. Every run of untrusted code should have all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Units of fuel (roughly, wasm instructions) a run may use; `None` for
    /// no limit.
    pub fuel: Option<u64>,
    /// Wall-clock time a run may take; `None` for no limit. Enforced with
    /// epoch interruption, so a run stops at most one tick after it.
    pub timeout: Option<Duration>,
    /// Bytes the guest memory may grow to.
    pub max_memory: u64,
    /// Bytes of results a run may hand over.
    pub max_result_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: Some(10_000_000_000),
            timeout: Some(Duration::from_secs(10)),
            max_memory: 64 << 20,
            max_result_bytes: 16 << 20,
        }
    }
}

/// How to build an [`Engine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The default limits of every run.
    pub limits: Limits,
    /// Bytes of native stack wasm code may use; deeper recursion is a
    /// stack-overflow error.
    pub max_wasm_stack: usize,
    /// How often the epoch advances: the granularity of timeouts.
    pub epoch_tick: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            max_wasm_stack: 512 << 10,
            epoch_tick: Duration::from_millis(10),
        }
    }
}

/// Compiles programs and holds what their runs share: one wasmtime engine
/// configured for untrusted code, and the thread that drives timeouts.
///
/// Cheap to clone; clones share everything. Safe to use from many threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    wasmtime: wasmtime::Engine,
    config: Config,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with fuel metering, epoch interruption and a wasm stack
    /// cap.
    ///
    /// # Errors
    ///
    /// [`Error::Host`] if wasmtime rejects the configuration or the ticker
    /// thread cannot start.
    pub fn new(config: Config) -> Result<Engine> {
        let mut wasm = wasmtime::Config::new();
        wasm.consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(config.max_wasm_stack);
        let wasmtime = wasmtime::Engine::new(&wasm)
            .map_err(|e| Error::Host(format!("cannot create the engine: {e}")))?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        spawn_ticker(wasmtime.clone(), config.epoch_tick, stop_ticker.clone())?;
        Ok(Engine {
            inner: Arc::new(Inner {
                wasmtime,
                config,
                stop_ticker,
            }),
        })
    }

    /// This engine's configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.wasmtime
    }

    /// Compiles extended WAT and links it against `grants`. `name` is the
    /// file name diagnostics show.
    ///
    /// # Errors
    ///
    /// [`Error::Compile`] with located diagnostics; the link errors of
    /// [`Engine::load`].
    pub fn compile_str(&self, name: &str, source: &str, grants: &Grants) -> Result<Program> {
        let options = tape_compiler::Options {
            catalogue: grants.catalogue(),
            ..tape_compiler::Options::default()
        };
        let compiled = tape_compiler::compile_str(name, source, &options)?;
        Program::new(self, &compiled.wasm, compiled.metadata, grants)
    }

    /// Reads, compiles and links a `.wat` file; see [`Engine::compile_str`].
    ///
    /// # Errors
    ///
    /// As [`Engine::compile_str`], and [`Error::Compile`] if the file cannot
    /// be read.
    pub fn compile_file(&self, path: impl AsRef<Path>, grants: &Grants) -> Result<Program> {
        let options = tape_compiler::Options {
            catalogue: grants.catalogue(),
            ..tape_compiler::Options::default()
        };
        let compiled = tape_compiler::compile_file(path, &options)?;
        Program::new(self, &compiled.wasm, compiled.metadata, grants)
    }

    /// Links a module Tape compiled earlier (with `tape build`).
    ///
    /// # Errors
    ///
    /// [`Error::Module`] if wasmtime rejects it or it has no `tape` section;
    /// [`Error::NotGranted`] or [`Error::MissingImport`] for an import the
    /// grants do not provide; [`Error::MissingExport`] without `run` or
    /// `mem.tape`.
    pub fn load(&self, wasm: &[u8], grants: &Grants) -> Result<Program> {
        let metadata = Metadata::from_module(wasm)?.ok_or_else(|| Error::Module {
            message: "it has no `tape` section; compile it with Tape".into(),
        })?;
        Program::new(self, wasm, metadata, grants)
    }
}

fn spawn_ticker(engine: wasmtime::Engine, tick: Duration, stop: Arc<AtomicBool>) -> Result<()> {
    std::thread::Builder::new()
        .name("tape-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                engine.increment_epoch();
            }
        })
        .map(drop)
        .map_err(|e| Error::Host(format!("cannot start the timeout thread: {e}")))
}
