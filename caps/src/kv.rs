//! The `kv` capability: a key-value store in redb, one namespace per
//! grant (and per run, with [`Namespace`]), a run's writes committed when
//! it completes.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use redb::backends::InMemoryBackend;
use redb::{
    Database, DatabaseError, ReadOnlyTable, ReadableDatabase, ReadableTableMetadata,
    TableDefinition, TableError,
};
use wasmtime::{Caller, Linker};

use tape_rt::guest::{self, read_bytes_max, value_len};
use tape_rt::guest::{write_bytes, write_strings};
use tape_rt::{Capability, Error, Function, Result, Spec, State, status};

use crate::refusal::Refusal;

/// A persistent key-value store for the guest: UTF-8 keys, byte values, one
/// namespace per grant.
///
/// | import | signature | reply | statuses |
/// |---|---|---|---|
/// | `kv.get` | `(param $key i32) (result i32 i32)` | the value, `[len][bytes]` | `NOT_FOUND` if absent |
/// | `kv.set` | `(param $key i32) (param $value i32) (result i32)` | — | `TOO_LARGE` past a cap |
/// | `kv.delete` | `(param $key i32) (result i32)` | — | `OK` also when absent |
/// | `kv.list` | `(param $prefix i32) (result i32 i32)` | keys starting with `prefix`, sorted, as a wire sequence of strings `[total][len][key][len][key]…` | `TOO_LARGE` with the first [`max_list`](Kv::max_list) keys when more match |
///
/// `$key`, `$value` and `$prefix` point at `[len][bytes]`, as a string
/// literal does. Every function returns [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT)
/// for a key that is empty or not UTF-8, [`TOO_LARGE`](status::TOO_LARGE)
/// for a key, value or run's writes over their cap, and
/// [`IO_FAILURE`](status::IO_FAILURE) if the database fails. Each element
/// of a `list` reply is a string the guest can hand straight back to
/// `kv.get`.
///
/// ```wat
/// ;; Count this program's runs in the 4-byte value of key "runs".
/// (func $run (result i32)
///   (local $value i32) (local $status i32) (local $n i32)
///   (call $kv.get "runs")
///   (local.set $status)
///   (local.set $value)
///   (if (i32.eqz (local.get $status))
///     (then (local.set $n (i32.load offset=4 (local.get $value)))))
///   (local.set $value (call $core.alloc (i32.const 8)))
///   (i32.store (local.get $value) (i32.const 4))
///   (i32.store offset=4 (local.get $value) (i32.add (local.get $n) (i32.const 1)))
///   (call $kv.set "runs" (local.get $value)))
/// ```
///
/// # Transactions
///
/// A run sees a snapshot of its namespace taken at its first `kv` call,
/// plus its own writes. Its writes are buffered and committed in one
/// transaction when `run` returns (whatever status it returns); a run that
/// traps, times out or fails in any other way commits nothing. Runs of one
/// process on one store may overlap: their commits apply in turn, the last
/// writer of a key winning. Runs of different processes on one file
/// ([`Kv::shared`]) do not overlap: each holds the file from its first
/// `kv` call to its commit, so a read-modify-write loses no update. The key-count cap is checked again at commit, and a run whose
/// writes would pass it — because concurrent runs added keys meanwhile —
/// fails with an error and commits nothing.
///
/// # Limits
///
/// Each is a builder method: [`max_key_bytes`](Kv::max_key_bytes) (1 KiB),
/// [`max_value_bytes`](Kv::max_value_bytes) (1 MiB),
/// [`max_keys`](Kv::max_keys) per namespace (100,000),
/// [`max_list`](Kv::max_list) keys per `list` reply (1,000) and
/// [`max_run_bytes`](Kv::max_run_bytes) of keys and values a run may buffer
/// (16 MiB).
///
/// ```no_run
/// use tape_caps::Kv;
/// use tape_rt::Grants;
///
/// let kv = Kv::open("state.redb")?.namespace("app");
/// let grants = Grants::new().grant(kv);
/// # Ok::<(), tape_rt::Error>(())
/// ```
#[derive(Clone)]
pub struct Kv {
    store: Store,
    namespace: Arc<str>,
    /// The redb table that holds the namespace: `tape.kv/<namespace>`.
    table: Arc<str>,
    max_key_bytes: usize,
    max_value_bytes: usize,
    max_keys: u64,
    max_list: usize,
    max_run_bytes: usize,
}

impl fmt::Debug for Kv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kv")
            .field("namespace", &self.namespace)
            .field("max_key_bytes", &self.max_key_bytes)
            .field("max_value_bytes", &self.max_value_bytes)
            .field("max_keys", &self.max_keys)
            .field("max_list", &self.max_list)
            .field("max_run_bytes", &self.max_run_bytes)
            .finish_non_exhaustive()
    }
}

type Table = ReadOnlyTable<&'static str, &'static [u8]>;

const DEFAULT_NAMESPACE: &str = "default";

/// Bytes of database pages redb keeps cached in memory, per open database
/// (its own default is 1 GiB, which a guest reading many values would
/// fill in the host's memory).
pub const KV_CACHE_BYTES: usize = 16 << 20;

/// How long a run without a deadline waits for another process to let go
/// of a shared database file.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Where a [`Kv`]'s database is.
#[derive(Clone)]
enum Store {
    /// Open for as long as the `Kv` lives: in memory, or a file this
    /// process holds.
    Held(Arc<Database>),
    /// A file other processes open too.
    Shared(Arc<SharedFile>),
}

/// A database file that processes take turns with: redb lets one process
/// open a file at a time, so a run opens it at its first `kv` call,
/// waiting for other processes to let go until its deadline, and the last
/// run of this process to end closes it.
struct SharedFile {
    path: PathBuf,
    /// The database, while runs of this process use it.
    open: Mutex<Weak<Database>>,
}

impl SharedFile {
    /// The open database, opened now if no run of this process has it,
    /// waiting until `deadline` for other processes. `Err(None)` if the
    /// deadline passed first.
    fn acquire(&self, deadline: Instant) -> Result<Arc<Database>, Option<DatabaseError>> {
        let mut pause = Duration::from_millis(1);
        loop {
            // Not held while waiting: another run of this process may
            // have a nearer deadline, or open the file first.
            {
                let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(db) = open.upgrade() {
                    return Ok(db);
                }
                match open_file(&self.path) {
                    Ok(db) => {
                        let db = Arc::new(db);
                        *open = Arc::downgrade(&db);
                        return Ok(db);
                    }
                    Err(DatabaseError::DatabaseAlreadyOpen) => {}
                    Err(error) => return Err(Some(error)),
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

fn open_file(path: &Path) -> Result<Database, DatabaseError> {
    Database::builder()
        .set_cache_size(KV_CACHE_BYTES)
        .create(path)
}

impl Kv {
    /// A store in the redb database file at `path`, created if it does not
    /// exist, with the namespace `"default"` and default limits. The
    /// file stays open, and no other process can open it, for as long as
    /// this `Kv` (or a program granted it) lives: for a long-lived process
    /// that owns its state. For a file several processes use in turn, see
    /// [`Kv::shared`].
    ///
    /// A database file can be open once per process: to grant several
    /// namespaces of one file, clone this `Kv` and call
    /// [`namespace`](Kv::namespace) on each clone.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](tape_rt::ErrorKind::Io) if the file cannot be
    /// created or opened, [`ErrorKind::Capability`](tape_rt::ErrorKind::Capability)
    /// if it is not a redb database or is already open.
    pub fn open(path: impl AsRef<Path>) -> Result<Kv> {
        let path = path.as_ref();
        let db = open_file(path).map_err(|e| cannot_open(path, e))?;
        Ok(Kv::with_store(Store::Held(Arc::new(db))))
    }

    /// A store in the redb database file at `path`, created if it does
    /// not exist, that processes take turns with, as `tape run` does: the
    /// file is open only while runs use it. A run opens it at its first
    /// `kv` call and holds it until it ends, so runs in different
    /// processes never overlap; a run that finds another process holding
    /// it waits, until its deadline (10 seconds for a run without one),
    /// then gets [`TIMED_OUT`](status::TIMED_OUT). Runs of this process
    /// share the open file, as with [`Kv::open`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](tape_rt::ErrorKind::Io) if the file cannot be
    /// created or opened, [`ErrorKind::Capability`](tape_rt::ErrorKind::Capability)
    /// if it is not a redb database; checked now unless another process
    /// holds it.
    pub fn shared(path: impl AsRef<Path>) -> Result<Kv> {
        let path = path.as_ref();
        match open_file(path) {
            Ok(db) => drop(db),
            Err(DatabaseError::DatabaseAlreadyOpen) => {}
            Err(error) => return Err(cannot_open(path, error)),
        }
        Ok(Kv::with_store(Store::Shared(Arc::new(SharedFile {
            path: path.to_path_buf(),
            open: Mutex::new(Weak::new()),
        }))))
    }

    /// A store that lives in memory and is gone when the last clone of this
    /// `Kv` (and every program granted it) is dropped: for tests, and for
    /// embedders that keep state only while they run. It behaves exactly
    /// as a file would, transactions included.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Capability`](tape_rt::ErrorKind::Capability) if the
    /// database cannot be set up in memory.
    pub fn in_memory() -> Result<Kv> {
        let db = Database::builder()
            .set_cache_size(KV_CACHE_BYTES)
            .create_with_backend(InMemoryBackend::new())
            .map_err(|e| Error::capability(NAME, e))?;
        Ok(Kv::with_store(Store::Held(Arc::new(db))))
    }

    fn with_store(store: Store) -> Kv {
        Kv {
            store,
            namespace: DEFAULT_NAMESPACE.into(),
            table: table_name(DEFAULT_NAMESPACE).into(),
            max_key_bytes: 1024,
            max_value_bytes: 1 << 20,
            max_keys: 100_000,
            max_list: 1000,
            max_run_bytes: 16 << 20,
        }
    }

    /// Keys of this grant live in `namespace` (by default `"default"`);
    /// keys of other namespaces are invisible to it.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace.into();
        self.table = table_name(namespace).into();
        self
    }

    /// Longest key, in bytes (default 1 KiB). Also bounds `list`'s prefix.
    pub fn max_key_bytes(mut self, max: usize) -> Self {
        self.max_key_bytes = max;
        self
    }

    /// Largest value, in bytes (default 1 MiB).
    pub fn max_value_bytes(mut self, max: usize) -> Self {
        self.max_value_bytes = max;
        self
    }

    /// Most keys the namespace may hold (default 100,000).
    pub fn max_keys(mut self, max: u64) -> Self {
        self.max_keys = max;
        self
    }

    /// Most keys one `list` reply holds (default 1,000).
    pub fn max_list(mut self, max: usize) -> Self {
        self.max_list = max;
        self
    }

    /// Bytes of keys and values one run may buffer for its commit (default
    /// 16 MiB). Writing a key again replaces its buffered value; a deletion
    /// counts its key.
    pub fn max_run_bytes(mut self, max: usize) -> Self {
        self.max_run_bytes = max;
        self
    }

    fn definition(table: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
        TableDefinition::new(table)
    }

    /// The database for a run that must be done by `deadline`, or the
    /// status that says why there is none.
    fn database(&self, deadline: Option<Instant>) -> Result<Arc<Database>, Refusal> {
        let shared = match &self.store {
            Store::Held(db) => return Ok(db.clone()),
            Store::Shared(shared) => shared,
        };
        let deadline = deadline.unwrap_or_else(|| Instant::now() + LOCK_WAIT);
        shared.acquire(deadline).map_err(|error| match error {
            Some(error) => io_failure(self, error),
            None => {
                tracing::warn!(
                    target: "tape::kv",
                    path = %shared.path.display(),
                    "another process held the key-value store until the run's deadline"
                );
                Refusal::new(
                    status::TIMED_OUT,
                    "another process held the key-value store until the run's deadline",
                )
            }
        })
    }

    /// A read snapshot of the namespace; `None` when nothing was ever
    /// written to it.
    fn snapshot(db: &Database, table: &str) -> Result<Option<Table>, redb::Error> {
        let txn = db.begin_read()?;
        match txn.open_table(Kv::definition(table)) {
            Ok(table) => Ok(Some(table)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies a run's writes in one transaction. `Ok(Err(count))` if the
    /// namespace would hold `count` keys, past the cap, and nothing was
    /// written.
    fn commit(
        &self,
        db: &Database,
        table: &str,
        pending: &Pending,
    ) -> Result<Result<(), u64>, redb::Error> {
        let txn = db.begin_write()?;
        let over = {
            let mut table = txn.open_table(Kv::definition(table))?;
            let before = table.len()?;
            for (key, value) in pending {
                match value {
                    Some(value) => drop(table.insert(key.as_str(), value.as_slice())?),
                    None => drop(table.remove(key.as_str())?),
                }
            }
            let after = table.len()?;
            (after > self.max_keys && after > before).then_some(after)
        };
        match over {
            Some(count) => {
                txn.abort()?;
                Ok(Err(count))
            }
            None => {
                txn.commit()?;
                Ok(Ok(()))
            }
        }
    }

    /// The key at `bytes`, or why it is refused.
    fn key(&self, bytes: Vec<u8>) -> Result<String, Refusal> {
        match String::from_utf8(bytes) {
            Ok(key) if !key.is_empty() => Ok(key),
            Ok(_) => Err(Refusal::new(status::INVALID_ARGUMENT, "the key is empty")),
            Err(_) => Err(Refusal::new(
                status::INVALID_ARGUMENT,
                "the key is not UTF-8",
            )),
        }
    }
}

fn cannot_open(path: &Path, error: DatabaseError) -> Error {
    let context = format!("cannot open the key-value store `{}`", path.display());
    match error {
        DatabaseError::Storage(redb::StorageError::Io(source)) => Error::io(context, source),
        error => Error::capability(NAME, format!("{context}: {error}")),
    }
}

fn table_name(namespace: &str) -> String {
    format!("tape.kv/{namespace}")
}

/// The namespace a redb table holds, as messages name it: `grant/run` for
/// a run's [`Namespace`] inside its grant's.
fn shown(table: &str) -> String {
    table.trim_start_matches("tape.kv/").replace('\0', "/")
}

/// Host data ([`Run::data`](tape_rt::Run::data)) that puts one run's keys
/// in a namespace of their own, inside the grant's: one compiled program
/// serves many tenants, each seeing only its own keys. Every limit of the
/// grant applies to each namespace on its own (`max_keys` per tenant).
///
/// ```
/// use tape_caps::kv::{Kv, Namespace};
/// use tape_rt::{Args, Config, Engine, Run};
///
/// let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
/// let grants = tape_caps::grants().grant(Kv::in_memory()?.namespace("app"));
/// let program = engine.compile_str("count.wat", r#"
///     (func $run (result i32)
///       (local $old i32) (local $status i32)
///       (call $kv.get "seen") (local.set $status) (local.set $old)
///       (check (call $kv.set "seen" "yes"))
///       (resv (if (result i32) (local.get $status) (then "first") (else "again")))
///       (i32.const 0))"#, &grants)?;
/// let visit = |tenant: &str| -> Result<String, tape_rt::Error> {
///     let outcome = Run::new(&program).data(Namespace::new(tenant)).run()?;
///     Ok(outcome.result::<String>(0)?)
/// };
/// assert_eq!(visit("acme")?, "first");
/// assert_eq!(visit("acme")?, "again");
/// assert_eq!(visit("globex")?, "first", "another tenant's keys are its own");
/// # Ok::<(), tape_rt::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    /// The namespace `name`, inside the grant's. A NUL character, which
    /// separates it from the grant's in the store, is replaced.
    pub fn new(name: impl Into<String>) -> Namespace {
        Namespace(name.into().replace('\0', "\u{fffd}"))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A run's writes: `None` deletes.
type Pending = BTreeMap<String, Option<Vec<u8>>>;

/// One run's view of the store.
#[derive(Default)]
struct KvRun {
    /// When the run must end: how long it may wait for a shared file.
    deadline: Option<Instant>,
    /// The redb table of the run's namespace: the grant's, or a
    /// [`Namespace`] inside it.
    table: Arc<str>,
    /// `None` until the first call; then `Some(None)` if the namespace is
    /// empty. Declared before `db`, so that it is dropped first.
    snapshot: Option<Option<Table>>,
    /// The database, from the first call on.
    db: Option<Arc<Database>>,
    pending: Pending,
    /// Bytes of keys and values in `pending`.
    pending_bytes: usize,
    /// Keys in this run's view minus keys in the snapshot.
    added: i64,
}

/// Logs a storage failure for the host and tells the guest only that I/O
/// failed.
fn io_failure(kv: &Kv, error: impl Into<redb::Error>) -> Refusal {
    let error = error.into();
    tracing::warn!(target: "tape::kv", namespace = %kv.namespace, "key-value store failed: {error}");
    Refusal::new(
        status::IO_FAILURE,
        "the key-value store failed; the host's log has the details",
    )
}

impl KvRun {
    fn snapshot(&mut self, kv: &Kv) -> Result<Option<&Table>, Refusal> {
        if self.snapshot.is_none() {
            let db = match &self.db {
                Some(db) => db.clone(),
                None => self.db.insert(kv.database(self.deadline)?).clone(),
            };
            self.snapshot = Some(Kv::snapshot(&db, &self.table).map_err(|e| io_failure(kv, e))?);
        }
        Ok(self.snapshot.as_ref().and_then(Option::as_ref))
    }

    fn get(&mut self, kv: &Kv, key: &str) -> Result<Option<Vec<u8>>, Refusal> {
        if let Some(value) = self.pending.get(key) {
            return Ok(value.clone());
        }
        let Some(table) = self.snapshot(kv)? else {
            return Ok(None);
        };
        let value = table.get(key).map_err(|e| io_failure(kv, e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn contains(&mut self, kv: &Kv, key: &str) -> Result<bool, Refusal> {
        if let Some(value) = self.pending.get(key) {
            return Ok(value.is_some());
        }
        let Some(table) = self.snapshot(kv)? else {
            return Ok(false);
        };
        let value = table.get(key).map_err(|e| io_failure(kv, e))?;
        Ok(value.is_some())
    }

    /// Buffers `key = value` (`None` deletes), within the run's byte cap.
    fn write(&mut self, kv: &Kv, key: String, value: Option<Vec<u8>>) -> Result<(), Refusal> {
        let size = key.len() + value.as_ref().map_or(0, Vec::len);
        let replaced = self
            .pending
            .get(&key)
            .map_or(0, |old| key.len() + old.as_ref().map_or(0, Vec::len));
        let bytes = self.pending_bytes - replaced + size;
        if bytes > kv.max_run_bytes {
            return Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the run's writes would come to {bytes} bytes of keys and values, past its {}-byte limit",
                    kv.max_run_bytes
                ),
            ));
        }
        self.pending_bytes = bytes;
        self.pending.insert(key, value);
        Ok(())
    }

    fn set(&mut self, kv: &Kv, key: String, value: Vec<u8>) -> Result<(), Refusal> {
        let exists = self.contains(kv, &key)?;
        if !exists {
            let stored = match self.snapshot(kv)? {
                Some(table) => table.len().map_err(|e| io_failure(kv, e))?,
                None => 0,
            };
            let max = i64::try_from(kv.max_keys).unwrap_or(i64::MAX);
            if (stored as i64).saturating_add(self.added) >= max {
                return Err(Refusal::new(
                    status::TOO_LARGE,
                    format!(
                        "namespace `{}` holds {} keys, its limit; `{key}` would be one more",
                        shown(&self.table),
                        kv.max_keys
                    ),
                ));
            }
        }
        self.write(kv, key, Some(value))?;
        if !exists {
            self.added += 1;
        }
        Ok(())
    }

    fn delete(&mut self, kv: &Kv, key: String) -> Result<(), Refusal> {
        if !self.contains(kv, &key)? {
            return Ok(());
        }
        self.write(kv, key, None)?;
        self.added -= 1;
        Ok(())
    }

    /// Keys with `prefix`, sorted: the snapshot's merged with the run's
    /// writes. `bool`: more matched than `max_list`.
    fn list(&mut self, kv: &Kv, prefix: &str) -> Result<(Vec<String>, bool), Refusal> {
        let mut stored = match self.snapshot(kv)? {
            Some(table) => Some(table.range(prefix..).map_err(|e| io_failure(kv, e))?),
            None => None,
        };
        let mut next_stored = || -> Result<Option<String>, Refusal> {
            let Some(range) = stored.as_mut() else {
                return Ok(None);
            };
            match range.next() {
                Some(Ok((key, _))) if key.value().starts_with(prefix) => {
                    Ok(Some(key.value().to_string()))
                }
                Some(Err(e)) => Err(io_failure(kv, e)),
                _ => Ok(None),
            }
        };
        let mut pending = self
            .pending
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .peekable();
        let mut keys = Vec::new();
        let mut stored_key = next_stored()?;
        loop {
            // Take the smaller of the next stored and next buffered key; a
            // buffered write to a stored key decides whether it is listed.
            let key = match (&stored_key, pending.peek()) {
                (None, None) => break,
                (Some(s), Some((p, _))) if s.as_str() < p.as_str() => {
                    stored_key.take().map(|s| (s, true))
                }
                (Some(_), None) => stored_key.take().map(|s| (s, true)),
                (Some(s), Some((p, _))) => {
                    if s == *p {
                        stored_key = None;
                    }
                    pending.next().map(|(k, v)| (k.clone(), v.is_some()))
                }
                (None, Some(_)) => pending.next().map(|(k, v)| (k.clone(), v.is_some())),
            };
            if stored_key.is_none() {
                stored_key = next_stored()?;
            }
            match key {
                Some((key, true)) => {
                    if keys.len() == kv.max_list {
                        return Ok((keys, true));
                    }
                    keys.push(key);
                }
                _ => continue,
            }
        }
        Ok((keys, false))
    }
}

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(NAME, DESCRIPTION, FUNCTIONS);

pub(crate) const FUNCTIONS: &[Function] = &[
    Function::new("get", "(param $key i32) (result i32 i32)")
        .roles("str -> ptr status")
        .doc("The value stored under key `$key`: (pointer to `[len][bytes]`, status).\n\nStatus `NOT_FOUND` (3) when there is none."),
    Function::new("set", "(param $key i32) (param $value i32) (result i32)")
        .roles("str ptr -> status")
        .doc("Stores the bytes of the length-prefixed value at `$value` under key `$key`.\n\nWrites are kept in the run and committed when it returns; a failed run writes nothing. Status `TOO_LARGE` (4) past a size or count cap."),
    Function::new("delete", "(param $key i32) (result i32)")
        .roles("str -> status")
        .doc("Deletes key `$key`; status 0 also when it was absent."),
    Function::new("list", "(param $prefix i32) (result i32 i32)")
        .roles("str -> ptr status")
        .doc("The keys that start with `$prefix`, sorted, as a sequence of strings `[total][len][key]…`.\n\nStatus `TOO_LARGE` (4), *with* a reply of the first keys, when more match than one reply holds."),
];

pub(crate) const NAME: &str = "kv";
pub(crate) const DESCRIPTION: &str =
    "a persistent key-value store: get, set, delete and list keys by prefix, in one namespace";

/// This run's [`KvRun`]; it exists from `begin_run` on.
fn run_state<'a>(caller: &'a mut Caller<'_, State>) -> wasmtime::Result<&'a mut KvRun> {
    caller
        .data_mut()
        .get::<KvRun>()
        .ok_or_else(|| Error::capability(NAME, "no state for this run").into())
}

impl Kv {
    /// The key at `ptr`, or why it is refused: too long (checked before
    /// it is copied), empty or not UTF-8.
    fn read_key(
        &self,
        caller: &mut Caller<'_, State>,
        ptr: i32,
    ) -> wasmtime::Result<Result<String, Refusal>> {
        let Some(bytes) = read_bytes_max(&*caller, ptr as u32, self.max_key_bytes)? else {
            let len = value_len(&*caller, ptr as u32)?;
            return Ok(Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the key is {len} bytes, past the {}-byte limit",
                    self.max_key_bytes
                ),
            )));
        };
        caller.data_mut().usage_mut(NAME).bytes_in += bytes.len() as u64;
        Ok(self.key(bytes))
    }
}

impl Capability for Kv {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "get",
            move |mut caller: Caller<'_, State>, key: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call(NAME);
                let key = match this.read_key(&mut caller, key)? {
                    Ok(key) => key,
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "kv.get"))),
                };
                let run = run_state(&mut caller)?;
                let value = match run.get(&this, &key) {
                    Ok(Some(value)) => value,
                    Ok(None) => {
                        let message =
                            format!("no key `{key}` in namespace `{}`", shown(&run.table));
                        return Ok((
                            0,
                            guest::fail(&mut caller, "kv.get", status::NOT_FOUND, message),
                        ));
                    }
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "kv.get"))),
                };
                let ptr = write_bytes(&mut caller, &value)?;
                caller.data_mut().usage_mut(NAME).bytes_out += value.len() as u64;
                Ok((ptr as i32, status::OK))
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "set",
            move |mut caller: Caller<'_, State>, key: i32, value: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_call(NAME);
                let key = this.read_key(&mut caller, key)?;
                let Some(value) = read_bytes_max(&caller, value as u32, this.max_value_bytes)?
                else {
                    let len = value_len(&caller, value as u32)?;
                    let message = format!(
                        "the value is {len} bytes, past the {}-byte limit",
                        this.max_value_bytes
                    );
                    return Ok(guest::fail(
                        &mut caller,
                        "kv.set",
                        status::TOO_LARGE,
                        message,
                    ));
                };
                caller.data_mut().usage_mut(NAME).bytes_in += value.len() as u64;
                let key = match key {
                    Ok(key) => key,
                    Err(refusal) => return Ok(refusal.fail(&mut caller, "kv.set")),
                };
                Ok(match run_state(&mut caller)?.set(&this, key, value) {
                    Ok(()) => status::OK,
                    Err(refusal) => refusal.fail(&mut caller, "kv.set"),
                })
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "delete",
            move |mut caller: Caller<'_, State>, key: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_call(NAME);
                let key = match this.read_key(&mut caller, key)? {
                    Ok(key) => key,
                    Err(refusal) => return Ok(refusal.fail(&mut caller, "kv.delete")),
                };
                Ok(match run_state(&mut caller)?.delete(&this, key) {
                    Ok(()) => status::OK,
                    Err(refusal) => refusal.fail(&mut caller, "kv.delete"),
                })
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "list",
            move |mut caller: Caller<'_, State>, prefix: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call(NAME);
                let Some(prefix) = read_bytes_max(&caller, prefix as u32, this.max_key_bytes)?
                else {
                    let len = value_len(&caller, prefix as u32)?;
                    let message = format!(
                        "the prefix is {len} bytes, past the {}-byte key limit",
                        this.max_key_bytes
                    );
                    return Ok((
                        0,
                        guest::fail(&mut caller, "kv.list", status::TOO_LARGE, message),
                    ));
                };
                caller.data_mut().usage_mut(NAME).bytes_in += prefix.len() as u64;
                let Ok(prefix) = String::from_utf8(prefix) else {
                    let message = "the prefix is not UTF-8";
                    return Ok((
                        0,
                        guest::fail(&mut caller, "kv.list", status::INVALID_ARGUMENT, message),
                    ));
                };
                let (keys, truncated) = match run_state(&mut caller)?.list(&this, &prefix) {
                    Ok(listed) => listed,
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "kv.list"))),
                };
                let ptr = write_strings(&mut caller, &keys)?;
                let bytes: usize = keys.iter().map(|k| 4 + k.len()).sum();
                caller.data_mut().usage_mut(NAME).bytes_out += bytes as u64;
                let status = if truncated {
                    let message = format!(
                        "more than {} keys start with `{prefix}`; the reply holds the first {}",
                        this.max_list, this.max_list
                    );
                    guest::fail(&mut caller, "kv.list", status::TOO_LARGE, message)
                } else {
                    status::OK
                };
                Ok((ptr as i32, status))
            },
        )?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        let deadline = state.deadline();
        let table = match state.get::<Namespace>() {
            Some(Namespace(inner)) => format!("{}\u{0}{inner}", self.table).into(),
            None => self.table.clone(),
        };
        state.insert(KvRun {
            deadline,
            table,
            ..KvRun::default()
        });
    }

    fn end_run(&self, state: &mut State, completed: bool) -> wasmtime::Result<()> {
        let Some(run) = state.get::<KvRun>() else {
            return Ok(());
        };
        // Dropping the snapshot ends its read transaction; dropping `db`
        // closes a shared file once no other run of this process has it.
        let KvRun {
            pending,
            snapshot,
            db,
            table,
            ..
        } = std::mem::take(run);
        drop(snapshot);
        let Some(db) = db.filter(|_| completed && !pending.is_empty()) else {
            return Ok(());
        };
        let namespace = shown(&table);
        match self.commit(&db, &table, &pending) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(count)) => Err(Error::capability(
                NAME,
                format!(
                    "the run's key-value writes were not committed: namespace `{namespace}` would hold {count} keys, past its cap of {} (other runs added keys meanwhile)",
                    self.max_keys
                ),
            )
            .into()),
            Err(e) => Err(Error::capability(
                NAME,
                format!(
                    "the run's key-value writes were not committed to namespace `{namespace}`: {e}"
                ),
            )
            .into()),
        }
    }
}

/// `[kv]`: see [`Kv`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct KvGrant {
    /// The database file, relative to the manifest; without one the store
    /// lives in memory for one program.
    pub path: Option<PathBuf>,
    /// Keys of other namespaces are invisible to this grant.
    pub namespace: Option<String>,
    /// Longest key.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_key_bytes: Option<u64>,
    /// Largest value.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_value_bytes: Option<u64>,
    /// Keys the namespace may hold.
    pub max_keys: Option<u64>,
    /// Keys one `list` returns.
    pub max_list: Option<u64>,
    /// Bytes of keys and values a run may write.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_run_bytes: Option<u64>,
}

impl KvGrant {
    /// The capability: the database at `path`, shared with other processes
    /// ([`Kv::shared`]), or one in memory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](tape_rt::ErrorKind::Io) or
    /// [`ErrorKind::Capability`](tape_rt::ErrorKind::Capability) if the
    /// database cannot be opened.
    pub fn kv(&self) -> Result<Kv> {
        let mut kv = match &self.path {
            // Other `tape` processes may use the file too.
            Some(path) => Kv::shared(path)?,
            None => Kv::in_memory()?,
        };
        if let Some(namespace) = &self.namespace {
            kv = kv.namespace(namespace);
        }
        if let Some(max) = self.max_key_bytes {
            kv = kv.max_key_bytes(crate::table::saturate(max));
        }
        if let Some(max) = self.max_value_bytes {
            kv = kv.max_value_bytes(crate::table::saturate(max));
        }
        if let Some(max) = self.max_keys {
            kv = kv.max_keys(max);
        }
        if let Some(max) = self.max_list {
            kv = kv.max_list(crate::table::saturate(max));
        }
        if let Some(max) = self.max_run_bytes {
            kv = kv.max_run_bytes(crate::table::saturate(max));
        }
        Ok(kv)
    }
}

impl crate::table::Table for KvGrant {
    /// `path` is relative to the manifest.
    fn resolve(
        &mut self,
        base: &Path,
        _: &dyn Fn(usize, &str) -> crate::table::ManifestError,
    ) -> Result<(), crate::table::ManifestError> {
        self.path = self.path.take().map(|p| base.join(p));
        Ok(())
    }

    fn grant(&self, _: &crate::table::Shared) -> Result<Arc<dyn Capability>> {
        Ok(Arc::new(self.kv()?))
    }
}
