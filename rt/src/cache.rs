//! The module cache: compiled modules kept in memory and on disk, so a
//! program compiled once starts from its machine code the next time.
//!
//! There are two kinds of key, and one kind of entry:
//! - a program compiled from source ([`Engine::compile_str`]) is keyed by
//!   its source text, its file name, the catalogue of host functions it may
//!   call and the compiler's build ([`tape_compiler::BUILD`]). Its entry
//!   holds the machine code and the metadata, so a hit skips the compiler
//!   too: no preprocessing, parsing or validation;
//! - a module loaded as bytes ([`Engine::load`]) is keyed by the SHA-256 of
//!   those bytes; its entry holds the machine code alone.
//!
//! The disk key also covers the engine — wasmtime's version and every
//! setting that changes the machine code
//! ([`wasmtime::Engine::precompile_compatibility_hash`]) — and this cache's
//! own format version, so an entry of another version or configuration is
//! never even looked at.
//!
//! An entry on disk is a small header and a payload:
//!
//! ```text
//! 0   8   magic "TAPEMOD\x02"
//! 8   32  the entry's key (it must match the file name's)
//! 40  8   payload length, u64 little-endian
//! 48  4   CRC-32 of the payload, u32 little-endian
//! 52  4   metadata length m, u32 little-endian (0: none)
//! 56  m   the metadata, in the wire format
//! …   …   the bytes of `Module::serialize`
//! ```
//!
//! Entries are written to a temporary file in the same directory and
//! renamed into place, so a reader sees a whole entry or none, and
//! concurrent writers (threads or processes) of the same entry each leave a
//! whole, valid one. An entry that is truncated, corrupt, of another
//! version, or that wasmtime refuses is counted as rejected, recompiled and
//! rewritten: never trusted.
//!
//! The folder is bounded ([`Config::cache_max_bytes`](crate::Config)):
//! after each write, if its entries add up to more, the least recently used
//! are deleted until they fill three quarters of it (so a full cache is not
//! pruned on every write). A hit marks its entry used by touching its
//! modification time. Temporary files an interrupted writer left behind are
//! deleted once they are an hour old.
//!
//! The checksum detects corruption and torn writes, not a hostile writer:
//! a process that can write the cache directory can put machine code in
//! it, just as it could replace the program that reads it. The directory is
//! created readable by its owner only. (Keys are SHA-256: two sources must
//! never share an entry, even if one was written to collide with the other.
//! The checksum needs no such strength, and CRC-32 reads a start's entry
//! in a few microseconds where SHA-256 took twenty.)
//!
//! [`Engine::compile_str`]: crate::Engine::compile_str
//! [`Engine::load`]: crate::Engine::load

use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash as _, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;

use sha2::{Digest, Sha256};
use tape_compiler::{Budget, Metadata};
use wasmtime::Module;

use crate::error::{Error, ErrorKind, Result};
use crate::grants::Grants;

type Hash = [u8; 32];

const MAGIC: &[u8; 8] = b"TAPEMOD\x02";
const HEADER: usize = 8 + 32 + 8 + 4;

/// A compiled module, and the metadata of the source it was compiled from
/// (for an entry keyed on source).
type Entry = (Module, Option<Metadata>);

/// How often the module cache was used, since the engine was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Modules found in memory.
    pub memory_hits: u64,
    /// Modules loaded from disk.
    pub disk_hits: u64,
    /// Modules compiled because no usable entry existed (for a source, by
    /// Tape's compiler and then wasmtime's).
    pub compiled: u64,
    /// Disk entries found unusable (truncated, corrupt, another version,
    /// refused by wasmtime) and replaced.
    pub rejected: u64,
    /// Disk entries written.
    pub written: u64,
    /// Disk entries that could not be written (the run goes on; the next
    /// start compiles again).
    pub write_failures: u64,
    /// Disk entries deleted to keep the folder within its bound.
    pub pruned: u64,
}

#[derive(Default)]
struct Counters {
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    compiled: AtomicU64,
    rejected: AtomicU64,
    written: AtomicU64,
    write_failures: AtomicU64,
    pruned: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The cache of one engine.
pub(crate) struct ModuleCache {
    memory: Option<Mutex<MemoryCache>>,
    /// `<cache dir>/modules`, if the disk cache is on.
    dir: Option<PathBuf>,
    /// Everything besides the key that decides an entry's machine code.
    engine_key: Hash,
    /// The bound on the bytes of `dir`'s entries.
    max_bytes: u64,
    counters: Counters,
}

/// What decides the module compiled from a source, besides the compiler's
/// build: see [`ModuleCache::program`].
pub(crate) struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
    /// Whose catalogue the program is compiled against.
    pub grants: &'a Grants,
    pub line_table: bool,
}

impl Source<'_> {
    fn key(&self) -> Hash {
        let mut bytes = Bytes(Vec::with_capacity(8 << 10));
        bytes.write(b"tape source\0");
        // Each `str` is hashed with a terminator, so the fields cannot run
        // into each other.
        tape_compiler::BUILD.hash(&mut bytes);
        self.name.hash(&mut bytes);
        self.line_table.hash(&mut bytes);
        self.grants.hash_catalogue(&mut bytes);
        let mut hasher = Sha256::new();
        hasher.update(&bytes.0);
        hasher.update(self.text.len().to_le_bytes());
        hasher.update(self.text);
        hasher.finalize().into()
    }
}

/// Collects what `std::hash::Hash` values write, for SHA-256 to hash in
/// one go: fed the few hundred short writes of a catalogue or an engine's
/// settings one by one, it takes several times as long.
struct Bytes(Vec<u8>);

impl Hasher for Bytes {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only the bytes are used")
    }
}

impl ModuleCache {
    pub(crate) fn new(
        engine: &wasmtime::Engine,
        cache_dir: Option<&Path>,
        max_bytes: u64,
        memory_entries: usize,
    ) -> Self {
        let mut bytes = Bytes(Vec::with_capacity(4 << 10));
        bytes.write(b"tape module cache\0");
        bytes.write(MAGIC);
        bytes.write(env!("CARGO_PKG_VERSION").as_bytes());
        engine.precompile_compatibility_hash().hash(&mut bytes);
        ModuleCache {
            memory: (memory_entries > 0).then(|| Mutex::new(MemoryCache::new(memory_entries))),
            dir: cache_dir.map(|dir| dir.join("modules")),
            engine_key: Sha256::digest(&bytes.0).into(),
            max_bytes,
            counters: Counters::default(),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let c = &self.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CacheStats {
            memory_hits: get(&c.memory_hits),
            disk_hits: get(&c.disk_hits),
            compiled: get(&c.compiled),
            rejected: get(&c.rejected),
            written: get(&c.written),
            write_failures: get(&c.write_failures),
            pruned: get(&c.pruned),
        }
    }

    /// The compiled module for `wasm`: from memory, from disk, or compiled
    /// now (and then stored in both).
    /// Compiling is held to `budget`'s time.
    pub(crate) fn module(
        &self,
        engine: &wasmtime::Engine,
        name: &str,
        wasm: &[u8],
        budget: &Budget,
    ) -> Result<Module> {
        let key = || Sha256::digest(wasm).into();
        let (module, _) = self.entry(engine, key, || {
            let (engine, wasm) = (engine.clone(), wasm.to_vec());
            within(name, budget, move || Ok((compile(&engine, &wasm)?, None)))
        })?;
        Ok(module)
    }

    /// The module compiled from `source` and its metadata: from memory, from
    /// disk, or from `compiler` and wasmtime now (and then stored in both),
    /// the two held to `budget`'s time together.
    pub(crate) fn program<C>(
        &self,
        engine: &wasmtime::Engine,
        source: &Source<'_>,
        budget: &Budget,
        // Called on a miss only: it copies what the compiling thread needs.
        prepare: impl FnOnce() -> C,
    ) -> Result<(Module, Metadata)>
    where
        C: FnOnce() -> Result<tape_compiler::Compiled> + Send + 'static,
    {
        let (module, metadata) = self.entry(
            engine,
            || source.key(),
            || {
                let (engine, compiler) = (engine.clone(), prepare());
                within(source.name, budget, move || {
                    let compiled = compiler()?;
                    Ok((compile(&engine, &compiled.wasm)?, Some(compiled.metadata)))
                })
            },
        )?;
        let metadata = metadata
            .ok_or_else(|| Error::internal("the module cache lost a program's metadata"))?;
        Ok((module, metadata))
    }

    /// The entry for `key`: from memory, from disk, or made now (and then
    /// stored in both). The key is computed only when a cache is on.
    fn entry(
        &self,
        engine: &wasmtime::Engine,
        key: impl FnOnce() -> Hash,
        make: impl FnOnce() -> Result<Entry>,
    ) -> Result<Entry> {
        if self.memory.is_none() && self.dir.is_none() {
            bump(&self.counters.compiled);
            return make();
        }
        let key = key();
        if let Some(entry) = self.memory_get(&key) {
            bump(&self.counters.memory_hits);
            return Ok(entry);
        }
        let disk = self.dir.as_ref().map(|dir| {
            let disk_key = self.disk_key(&key);
            (dir.join(hex(&disk_key)), disk_key)
        });
        if let Some((path, disk_key)) = &disk
            && let Some(entry) = self.disk_get(engine, path, disk_key)
        {
            bump(&self.counters.disk_hits);
            self.memory_put(key, &entry);
            return Ok(entry);
        }
        let entry = make()?;
        bump(&self.counters.compiled);
        if let Some((path, disk_key)) = &disk {
            match write_entry(path, disk_key, &entry) {
                Ok(()) => {
                    bump(&self.counters.written);
                    let pruned = prune(path, self.max_bytes);
                    self.counters.pruned.fetch_add(pruned, Ordering::Relaxed);
                }
                Err(error) => {
                    bump(&self.counters.write_failures);
                    tracing::warn!(
                        target: "tape::cache",
                        "cannot write the module cache entry {}: {error}",
                        path.display()
                    );
                }
            }
        }
        self.memory_put(key, &entry);
        Ok(entry)
    }

    fn disk_key(&self, key: &Hash) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(self.engine_key);
        hasher.update(key);
        hasher.finalize().into()
    }

    fn memory_get(&self, key: &Hash) -> Option<Entry> {
        let mut memory = self.memory.as_ref()?.lock().ok()?;
        memory.get(key)
    }

    fn memory_put(&self, key: Hash, entry: &Entry) {
        if let Some(mut memory) = self.memory.as_ref().and_then(|m| m.lock().ok()) {
            memory.put(key, entry.clone());
        }
    }

    /// The entry at `path`, if it exists and is sound; it is then marked
    /// used. An unsound one is counted and left for the caller to
    /// overwrite.
    fn disk_get(&self, engine: &wasmtime::Engine, path: &Path, key: &Hash) -> Option<Entry> {
        let (bytes, file) = match read_entry(path) {
            Ok(Some(read)) => read,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(target: "tape::cache", "cannot read {}: {error}", path.display());
                return None;
            }
        };
        match verify(&bytes, key).and_then(|payload| decode(engine, payload)) {
            Ok(entry) => {
                if let Some(file) = file {
                    mark_used(path, &file);
                }
                Some(entry)
            }
            Err(reason) => {
                bump(&self.counters.rejected);
                tracing::warn!(
                    target: "tape::cache",
                    "ignoring the module cache entry {}: {reason}; recompiling",
                    path.display()
                );
                None
            }
        }
    }
}

/// Runs `work`, a compilation, within `budget`'s time: on a thread of its
/// own, waited for until the time is up. Neither wasmtime nor `wast` can be
/// interrupted, so a compilation past its time is abandoned, not stopped:
/// it finishes in the background (in time linear in its size, bounded by
/// the budget's size, for Tape's compiler; Cranelift's optimiser can take
/// longer on pathological functions) and its result is dropped.
fn within(
    name: &str,
    budget: &Budget,
    work: impl FnOnce() -> Result<Entry> + Send + 'static,
) -> Result<Entry> {
    let Some(timeout) = budget.timeout else {
        return work();
    };
    let (send, receive) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("tape-compile".into())
        // As deep as the main thread's: parsing recurses with the nesting
        // of the source (which the compiler bounds).
        .stack_size(8 << 20)
        .spawn(move || {
            // The receiver may have given up; nothing to do about that.
            let _ = send.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
        })
        .map_err(|e| Error::io("cannot start a thread to compile on", e))?;
    match receive.recv_timeout(timeout) {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(RecvTimeoutError::Timeout) => Err(Error::from(ErrorKind::Compile(
            tape_compiler::Error::Timeout {
                name: name.to_string(),
                timeout,
            },
        ))),
        Err(RecvTimeoutError::Disconnected) => Err(Error::internal(
            "the compiling thread ended without a result",
        )),
    }
}

fn compile(engine: &wasmtime::Engine, wasm: &[u8]) -> Result<Module> {
    Module::new(engine, wasm).map_err(|e| {
        Error::from(ErrorKind::Module {
            message: format!("{e:#}"),
        })
    })
}

/// The bytes of the entry at `path`, with the file opened for writing too
/// when it can be, to mark it used through the same handle; `None` if there
/// is no entry.
fn read_entry(path: &Path) -> std::io::Result<Option<(Vec<u8>, Option<File>)>> {
    let (mut file, writable) = match File::options().read(true).write(true).open(path) {
        Ok(file) => (file, true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // A cache shared read-only still serves hits; they go unmarked.
        Err(_) => match File::open(path) {
            Ok(file) => (file, false),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        },
    };
    // `read_to_end` sizes the buffer from the file's length itself.
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Some((bytes, writable.then_some(file))))
}

/// The payload of an entry, if its header holds: magic, key, length and
/// hash.
fn verify<'a>(entry: &'a [u8], key: &Hash) -> Result<&'a [u8], String> {
    if entry.len() < HEADER {
        return Err(format!(
            "it is {} bytes, shorter than a header",
            entry.len()
        ));
    }
    let (header, payload) = entry.split_at(HEADER);
    if &header[..8] != MAGIC {
        return Err("it does not start with the cache's magic number".into());
    }
    if &header[8..40] != key {
        return Err("it holds another module's key".into());
    }
    let mut len = [0; 8];
    len.copy_from_slice(&header[40..48]);
    if u64::from_le_bytes(len) != payload.len() as u64 {
        return Err(format!(
            "its header says {} payload bytes but it has {}",
            u64::from_le_bytes(len),
            payload.len()
        ));
    }
    let mut checksum = [0; 4];
    checksum.copy_from_slice(&header[48..52]);
    if u32::from_le_bytes(checksum) != crc32fast::hash(payload) {
        return Err("its payload does not match its checksum".into());
    }
    Ok(payload)
}

/// The metadata and module of a payload [`verify`] vouched for.
fn decode(engine: &wasmtime::Engine, payload: &[u8]) -> Result<Entry, String> {
    let split = payload.split_first_chunk::<4>().and_then(|(len, rest)| {
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        (len <= rest.len()).then(|| rest.split_at(len))
    });
    let Some((metadata, module)) = split else {
        return Err("its metadata length is past its end".into());
    };
    let metadata = if metadata.is_empty() {
        None
    } else {
        let metadata = tape_protocol::from_bytes::<Metadata>(metadata)
            .map_err(|e| format!("its metadata does not decode: {e}"))?;
        Some(metadata)
    };
    let module = deserialize(engine, module).map_err(|e| format!("wasmtime refused it: {e}"))?;
    Ok((module, metadata))
}

/// Loads machine code that [`verify`] vouched for.
#[allow(unsafe_code)]
fn deserialize(engine: &wasmtime::Engine, payload: &[u8]) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize` runs the machine code it is given, so
    // the bytes must come from `Module::serialize`. These did: `verify`
    // checked that their checksum is the one written beside them by
    // `write_entry`, under a key that covers the engine's configuration and
    // version (and wasmtime checks those again itself). What the checksum
    // cannot tell apart — a hostile writer of the cache directory — could
    // equally replace this program; see the module docs.
    unsafe { Module::deserialize(engine, payload) }
}

fn write_entry(path: &Path, key: &Hash, (module, metadata): &Entry) -> std::io::Result<()> {
    let code = module.serialize().map_err(std::io::Error::other)?;
    let metadata = match metadata {
        Some(metadata) => tape_protocol::to_vec(metadata).map_err(std::io::Error::other)?,
        None => Vec::new(),
    };
    let metadata_len = u32::try_from(metadata.len()).map_err(std::io::Error::other)?;
    let parts = [&metadata_len.to_le_bytes()[..], &metadata, &code];
    let mut checksum = crc32fast::Hasher::new();
    for part in parts {
        checksum.update(part);
    }
    let payload_len: usize = parts.iter().map(|p| p.len()).sum();
    let dir = path.parent().expect("an entry path has a directory");
    create_private_dir(dir)?;
    let mut file = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    file.write_all(MAGIC)?;
    file.write_all(key)?;
    file.write_all(&(payload_len as u64).to_le_bytes())?;
    file.write_all(&checksum.finalize().to_le_bytes())?;
    for part in parts {
        file.write_all(part)?;
    }
    // Atomic on the same file system: readers see the old entry or this
    // whole one, and the last of several writers wins with a valid entry.
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Marks the entry at `path` as just used, for [`prune`]. Failing is
/// harmless: the entry may only be pruned a little early.
fn mark_used(path: &Path, file: &File) {
    if let Err(error) = file.set_modified(std::time::SystemTime::now()) {
        tracing::debug!(target: "tape::cache", "cannot touch {}: {error}", path.display());
    }
}

/// Keeps the entries in the folder of `written` (just written, and never
/// deleted here) within `max_bytes`: when they add up to more, deletes the
/// least recently used until they fill three quarters of it. Also deletes
/// temporary files an interrupted writer left more than an hour ago.
/// Returns how many entries it deleted.
fn prune(written: &Path, max_bytes: u64) -> u64 {
    const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(3600);
    let Some(dir) = written.parent() else {
        return 0;
    };
    let Ok(read) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut entries = Vec::new();
    let mut total = 0u64;
    for entry in read.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".tmp-") {
            if now
                .duration_since(used)
                .is_ok_and(|age| age > STALE_TEMPORARY)
            {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        }
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue; // not ours
        }
        total += meta.len();
        if path != written {
            entries.push((used, meta.len(), path));
        }
    }
    if total <= max_bytes {
        return 0;
    }
    entries.sort_by_key(|(used, _, _)| *used);
    let target = max_bytes / 4 * 3;
    let mut pruned = 0;
    for (_, len, path) in entries {
        if total <= target {
            break;
        }
        // Another process may have deleted it already: it is gone either way.
        match std::fs::remove_file(&path) {
            Ok(()) => pruned += 1,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => continue,
        }
        total -= len;
    }
    pruned
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A bounded map of cache entries; the least recently used goes first.
/// A `Module` is a reference-counted handle, so a hit is a clone of a
/// pointer (and of the metadata).
struct MemoryCache {
    capacity: usize,
    clock: u64,
    entries: HashMap<Hash, (Entry, u64)>,
}

impl MemoryCache {
    fn new(capacity: usize) -> Self {
        MemoryCache {
            capacity,
            clock: 0,
            entries: HashMap::new(),
        }
    }

    fn get(&mut self, key: &Hash) -> Option<Entry> {
        self.clock += 1;
        let (entry, used) = self.entries.get_mut(key)?;
        *used = self.clock;
        Some(entry.clone())
    }

    fn put(&mut self, key: Hash, entry: Entry) {
        self.clock += 1;
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            // A scan of a few dozen entries, only when a new module arrives.
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (entry, self.clock));
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/tape`, else
/// `~/.cache/tape` (`%LOCALAPPDATA%\tape` on Windows); `None` if none of
/// these variables is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

fn cache_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let non_empty = |name| var(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("tape"));
    }
    if cfg!(windows)
        && let Some(dir) = non_empty("LOCALAPPDATA")
    {
        return Some(PathBuf::from(dir).join("tape"));
    }
    non_empty("HOME").map(|home| PathBuf::from(home).join(".cache").join("tape"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> wasmtime::Engine {
        wasmtime::Engine::default()
    }

    const WAT: &str = r#"(module (func (export "f") (result i32) (i32.const 7)))"#;

    fn call_f(engine: &wasmtime::Engine, module: &Module) -> i32 {
        let mut store = wasmtime::Store::new(engine, ());
        let instance = wasmtime::Instance::new(&mut store, module, &[]).unwrap();
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        f.call(&mut store, ()).unwrap()
    }

    /// The one entry file in `dir/modules`.
    fn entry(dir: &Path) -> PathBuf {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("modules"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.pop().unwrap()
    }

    #[test]
    fn an_entry_of_another_wasmtime_version_is_refused_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let wasm = wat::parse_str(WAT).unwrap();
        ModuleCache::new(&engine, Some(dir.path()), u64::MAX, 0)
            .module(&engine, "test.wasm", &wasm, &Budget::default())
            .unwrap();
        let path = entry(dir.path());

        // The same entry with wasmtime's version changed, and a header that
        // vouches for it: only wasmtime's own check is left to catch it.
        // Its engine section starts with a format byte (0), the version's
        // length and the version, wasmtime's major number.
        let good = std::fs::read(&path).unwrap();
        let mut payload = good[HEADER..].to_vec();
        let version = [0, 2, b'4', b'8'];
        let at = payload
            .windows(version.len())
            .position(|w| w == version)
            .expect("the payload names its wasmtime version");
        payload[at + 2..at + 4].copy_from_slice(b"47");
        let mut forged = good[..40].to_vec();
        forged.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        forged.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        forged.extend_from_slice(&payload);
        std::fs::write(&path, &forged).unwrap();

        let cache = ModuleCache::new(&engine, Some(dir.path()), u64::MAX, 0);
        let module = cache
            .module(&engine, "test.wasm", &wasm, &Budget::default())
            .unwrap();
        assert_eq!(call_f(&engine, &module), 7);
        let stats = cache.stats();
        assert_eq!((stats.rejected, stats.compiled, stats.written), (1, 1, 1));
        assert_eq!(std::fs::read(&path).unwrap(), good);
    }

    #[test]
    fn another_configuration_uses_another_entry() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = wat::parse_str(WAT).unwrap();
        let plain = engine();
        let fueled = wasmtime::Engine::new(wasmtime::Config::new().consume_fuel(true)).unwrap();
        for engine in [&plain, &fueled] {
            ModuleCache::new(engine, Some(dir.path()), u64::MAX, 0)
                .module(engine, "test.wasm", &wasm, &Budget::default())
                .unwrap();
        }
        assert_eq!(
            std::fs::read_dir(dir.path().join("modules"))
                .unwrap()
                .count(),
            2
        );
    }

    #[test]
    fn the_memory_cache_evicts_the_least_recently_used() {
        let engine = engine();
        let cache = ModuleCache::new(&engine, None, u64::MAX, 2);
        let wasm: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                wat::parse_str(format!(
                    r#"(module (func (export "f") (result i32) (i32.const {i})))"#
                ))
                .unwrap()
            })
            .collect();
        let get = |i: usize| {
            cache
                .module(&engine, "test.wasm", &wasm[i], &Budget::default())
                .unwrap()
        };
        get(0);
        get(1);
        get(0); // 1 is now the oldest
        get(2); // evicts 1
        get(0);
        get(1);
        let stats = cache.stats();
        assert_eq!((stats.memory_hits, stats.compiled), (2, 4));
    }

    #[test]
    fn the_default_dir_follows_xdg_then_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/tape"))
        );
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/tape"))
        );
        assert_eq!(cache_dir_from(env(&[])), None);
    }
}
