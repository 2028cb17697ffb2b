//! The `kv` capability: a key-value store in redb or on Redis, one namespace per
//! grant (and per run, with [`Namespace`]), a run's writes committed when
//! it completes.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redb::backends::InMemoryBackend;
use redb::{
    Database, DatabaseError, ReadOnlyTable, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, TableError,
};
use wasmtime::{Caller, Linker};

mod redis_store;

use tape_rt::guest::{self, read_bytes_max, value_len};
use tape_rt::guest::{write_bytes, write_strings};
use tape_rt::{Capability, Error, Function, Result, Spec, State, status};

use self::redis_store::{Applied, Failure, RedisStore};
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
/// | `kv.set_ttl` | `(param $key i32) (param $value i32) (param $ttl_ms i64) (result i32)` | — | `INVALID_ARGUMENT` for a time to live below 1 ms |
/// | `kv.ttl` | `(param $key i32) (result i64 i32)` | milliseconds before the key expires, -1 if it does not | `NOT_FOUND` if absent |
/// | `kv.incr` | `(param $key i32) (param $delta i64) (result i64 i32)` | the new number | `INVALID_ARGUMENT` if the value is not a decimal integer, `TOO_LARGE` on overflow |
/// | `kv.cas` | `(param $key i32) (param $expected i32) (param $new i32) (result i32 i32)` | 1 if it swapped, 0 if the value was not `expected` | — |
/// | `kv.delete_prefix` | `(param $prefix i32) (result i32 i32)` | keys deleted | — |
///
/// `$key`, `$value` and `$prefix` point at `[len][bytes]`, as a string
/// literal does. Every function returns [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT)
/// for a key that is empty or not UTF-8, [`TOO_LARGE`](status::TOO_LARGE)
/// for a key, value or run's writes over their cap, and
/// [`IO_FAILURE`](status::IO_FAILURE) if the database fails. Each element
/// of a `list` reply is a string the guest can hand straight back to
/// `kv.get`. In `cas`, a pointer 0 stands for "no key": as `$expected`,
/// the swap happens only if the key is absent; as `$new`, it deletes the
/// key.
///
/// # Expiry
///
/// A key set with `set_ttl` expires that many milliseconds after the call,
/// by the grant's [`clock`](Kv::clock): from then on `get`, `list`, `ttl`,
/// `incr` and `cas` see no key. `set` makes a key last again; `incr`
/// keeps its expiry. Expired keys are removed from the file at later
/// commits, and never count towards [`max_keys`](Kv::max_keys).
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
/// A run sees its namespace plus its own writes: on a file, a snapshot
/// taken at its first `kv` call; on Redis ([`Kv::redis`]), the latest
/// committed values at each call. Its writes are buffered and committed in
/// one transaction when `run` returns (whatever status it returns); a run
/// that traps, times out or fails in any other way commits nothing. Runs
/// may overlap, and none loses an update: the commit fails whole, with an
/// error naming the key, when another run changed a key this run read
/// with `get` or `ttl` since it read it (writes of keys it did not read
/// are not checked: the last writer wins). Runs of different processes on
/// one file ([`Kv::shared`]) do not overlap at all: each holds the file
/// from its first `kv` call to its commit. The key-count cap is checked again at commit, and a run whose
/// writes would pass it — because concurrent runs added keys meanwhile —
/// fails with an error and commits nothing.
///
/// `set`, `set_ttl`, `delete` and `delete_prefix` are buffered so. A
/// `delete_prefix` deletes, at the commit, every key with its prefix then
/// in the store (keys other runs added meanwhile too), before the run's
/// later writes. `incr` and `cas` are not: each is atomic and committed
/// at once, in a transaction of its own, and stays whatever the run does
/// next, so concurrent runs counting with `incr` or claiming a key with
/// `cas` lose no update. What they leave in the store is what the run's
/// later reads of the key see. They refuse, with `INVALID_ARGUMENT`, a
/// key the run has a buffered write for (set, deleted, or under a deleted
/// prefix): which would come first is not clear.
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
    clock: Clock,
}

/// What time it is, for expiry.
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

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
type ExpiryTable = ReadOnlyTable<&'static str, u64>;
type DueTable = ReadOnlyTable<(u64, &'static str), ()>;

/// A namespace's keys and values: `tape.kv/<namespace>`.
const VALUES: &str = "tape.kv/";
/// When its keys that expire do, in Unix milliseconds:
/// `tape.kv.expires/<namespace>`.
const EXPIRES: &str = "tape.kv.expires/";
/// The same, ordered by time, so expired keys are found without a scan:
/// `tape.kv.due/<namespace>`.
const DUE: &str = "tape.kv.due/";

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
    /// A Redis server, shared by every process and machine that names it.
    Redis(Arc<RedisStore>),
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

    /// A store on the Redis server at `url` (`redis://host:port/db`,
    /// `redis://:password@host/db`; not TLS), shared by every
    /// process and machine that names it, through a pool of connections
    /// opened as runs need them. Same behaviour as a file, but for
    /// isolation: a run reads the latest committed values call by call
    /// (not a snapshot), and its commit fails if a key it read with `get`
    /// or `ttl` has changed since (see the type's docs). A server that
    /// does not answer makes a call fail with
    /// [`TIMED_OUT`](status::TIMED_OUT) at the run's deadline (10 seconds
    /// for a run without one), or [`IO_FAILURE`](status::IO_FAILURE) when
    /// it refuses.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Capability`](tape_rt::ErrorKind::Capability) if `url`
    /// is not a Redis URL; nothing is checked on the network yet.
    pub fn redis(url: &str) -> Result<Kv> {
        let store = RedisStore::new(url)
            .map_err(|e| Error::capability(NAME, format!("cannot use the Redis server at {e}")))?;
        Ok(Kv::with_store(Store::Redis(Arc::new(store))))
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
            clock: Arc::new(SystemTime::now),
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
    /// counts its key. Keys the run keeps count too, each key's bytes plus
    /// 64: those it read with `get` or `ttl` (for its commit's check) and
    /// those it changed with `incr` or `cas` (with the value left, for its
    /// later reads), so a run reading ever new keys is stopped with
    /// `TOO_LARGE` rather than grow the host's memory.
    pub fn max_run_bytes(mut self, max: usize) -> Self {
        self.max_run_bytes = max;
        self
    }

    /// What time it is, for expiry (by default the system clock): for
    /// tests, and for embedders whose runs keep a time of their own. Only
    /// keys set with a time to live depend on it.
    pub fn clock(mut self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(now);
        self
    }

    /// Now, in Unix milliseconds.
    fn now(&self) -> u64 {
        (self.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            })
    }

    fn definition(table: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
        TableDefinition::new(table)
    }

    fn expiry_definition(table: &str) -> TableDefinition<'_, &'static str, u64> {
        TableDefinition::new(table)
    }

    fn due_definition(table: &str) -> TableDefinition<'_, (u64, &'static str), ()> {
        TableDefinition::new(table)
    }

    /// The database for a run that must be done by `deadline`, or the
    /// status that says why there is none.
    fn database(&self, deadline: Option<Instant>) -> Result<Arc<Database>, Refusal> {
        let shared = match &self.store {
            Store::Held(db) => return Ok(db.clone()),
            Store::Shared(shared) => shared,
            Store::Redis(_) => {
                return Err(Refusal::new(
                    status::IO_FAILURE,
                    "the key-value store is on Redis, not in a database file",
                ));
            }
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
    fn snapshot(db: &Database, table: &str) -> Result<Option<Snapshot>, redb::Error> {
        let txn = db.begin_read()?;
        let values = match txn.open_table(Kv::definition(table)) {
            Ok(values) => values,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let expires = match txn.open_table(Kv::expiry_definition(&side(table, EXPIRES))) {
            Ok(expires) => Some(expires),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let due = match txn.open_table(Kv::due_definition(&side(table, DUE))) {
            Ok(due) => Some(due),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Some(Snapshot {
            values,
            expires,
            due,
        }))
    }

    /// Applies a run's writes in one transaction, if no key the run read
    /// (`seen`) changed since: expired keys go first, then the prefixes it
    /// deleted, then its keys. Nothing is written unless it is
    /// [`Committed::Done`].
    fn commit(
        &self,
        db: &Database,
        table: &str,
        seen: &BTreeMap<String, String>,
        cleared: &[String],
        pending: &Pending,
    ) -> Result<Committed, redb::Error> {
        let txn = db.begin_write()?;
        let over = {
            let mut store = Tables::open(&txn, table)?;
            let now = self.now();
            for (key, fingerprint) in seen {
                if stamp(store.entry(key, now)?.as_ref()) != *fingerprint {
                    return Ok(Committed::Conflict(key.clone()));
                }
            }
            store.sweep(now)?;
            let before = store.values.len()?;
            for prefix in cleared {
                store.clear(prefix)?;
            }
            for (key, entry) in pending {
                store.put(key, entry.as_ref())?;
            }
            let after = store.values.len()?;
            (after > self.max_keys && after > before).then_some(after)
        };
        match over {
            Some(count) => {
                txn.abort()?;
                Ok(Committed::Full(count))
            }
            None => {
                txn.commit()?;
                Ok(Committed::Done)
            }
        }
    }

    /// The key at `bytes`, borrowed, or why it is refused.
    fn key_str(bytes: &[u8]) -> Result<&str, Refusal> {
        match std::str::from_utf8(bytes) {
            Ok(key) if !key.is_empty() => Ok(key),
            Ok(_) => Err(Refusal::new(status::INVALID_ARGUMENT, "the key is empty")),
            Err(_) => Err(Refusal::new(
                status::INVALID_ARGUMENT,
                "the key is not UTF-8",
            )),
        }
    }

    /// The key at `bytes`, or why it is refused.
    fn key(&self, bytes: Vec<u8>) -> Result<String, Refusal> {
        Kv::key_str(&bytes).map(str::to_owned)
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
    format!("{VALUES}{namespace}")
}

/// The name of a table beside `table` (a [`VALUES`] table) that holds
/// something else about the same namespace.
fn side(table: &str, kind: &str) -> String {
    format!("{kind}{}", table.strip_prefix(VALUES).unwrap_or(table))
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

/// A value, and when it expires (Unix milliseconds) if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    value: Vec<u8>,
    expires: Option<u64>,
}

impl Entry {
    fn live(&self, now: u64) -> bool {
        self.expires.is_none_or(|at| at > now)
    }

    /// [`live`](Self::live) now, reading the clock only for an entry
    /// that expires: most never do, and a clock read is a fifth of a
    /// `get`.
    fn live_now(&self, kv: &Kv) -> bool {
        self.expires.is_none() || self.live(kv.now())
    }
}

/// A run's writes: `None` deletes.
type Pending = BTreeMap<String, Option<Entry>>;

/// Stored keys in order, each with when it expires; and whether more may
/// follow.
type Page = (Vec<(String, Option<u64>)>, bool);

/// What a commit found.
enum Committed {
    Done,
    /// A key the run read was changed by another run meanwhile.
    Conflict(String),
    /// The namespace would hold this many keys, past its cap.
    Full(u64),
}

/// What a file's run records of a key it read, to find at its commit
/// whether another run changed it: a hash of the entry as read.
fn stamp(entry: Option<&Entry>) -> String {
    stamp_of(entry.map(|e| (e.value.as_slice(), e.expires)))
}

/// [`stamp`] of a value and its expiry as borrowed from the store.
fn stamp_of(entry: Option<(&[u8], Option<u64>)>) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    entry.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// A read snapshot of a namespace.
struct Snapshot {
    values: Table,
    /// `None` when no key of the namespace ever had a time to live.
    expires: Option<ExpiryTable>,
    due: Option<DueTable>,
}

impl Snapshot {
    /// The entry under `key`, expired or not.
    fn raw(&self, key: &str) -> Result<Option<Entry>, redb::Error> {
        let Some(value) = self.values.get(key)? else {
            return Ok(None);
        };
        Ok(Some(Entry {
            value: value.value().to_vec(),
            expires: self.expiry(key)?,
        }))
    }

    /// Keys that are stored and live.
    fn live_keys(&self, now: u64) -> Result<u64, redb::Error> {
        let stored = self.values.len()?;
        let expired = match &self.due {
            Some(due) => due.range(..(now.saturating_add(1), ""))?.count() as u64,
            None => 0,
        };
        Ok(stored.saturating_sub(expired))
    }

    fn expiry(&self, key: &str) -> Result<Option<u64>, redb::Error> {
        Ok(match &self.expires {
            Some(expires) => expires.get(key)?.map(|at| at.value()),
            None => None,
        })
    }
}

/// A namespace's tables inside a write transaction.
struct Tables<'txn> {
    values: redb::Table<'txn, &'static str, &'static [u8]>,
    expires: redb::Table<'txn, &'static str, u64>,
    due: redb::Table<'txn, (u64, &'static str), ()>,
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn redb::WriteTransaction, table: &str) -> Result<Tables<'txn>, redb::Error> {
        Ok(Tables {
            values: txn.open_table(Kv::definition(table))?,
            expires: txn.open_table(Kv::expiry_definition(&side(table, EXPIRES)))?,
            due: txn.open_table(Kv::due_definition(&side(table, DUE)))?,
        })
    }

    /// The entry under `key`, expired or not.
    fn raw(&self, key: &str) -> Result<Option<Entry>, redb::Error> {
        let Some(value) = self.values.get(key)? else {
            return Ok(None);
        };
        Ok(Some(Entry {
            value: value.value().to_vec(),
            expires: self.expires.get(key)?.map(|at| at.value()),
        }))
    }

    /// The live entry under `key`.
    fn entry(&self, key: &str, now: u64) -> Result<Option<Entry>, redb::Error> {
        Ok(self.raw(key)?.filter(|entry| entry.live(now)))
    }

    /// Stores `entry` under `key`, or deletes `key`, with its expiry.
    fn put(&mut self, key: &str, entry: Option<&Entry>) -> Result<(), redb::Error> {
        if let Some(at) = self.expires.remove(key)? {
            self.due.remove((at.value(), key))?;
        }
        match entry {
            Some(entry) => {
                self.values.insert(key, entry.value.as_slice())?;
                if let Some(at) = entry.expires {
                    self.expires.insert(key, at)?;
                    self.due.insert((at, key), ())?;
                }
            }
            None => drop(self.values.remove(key)?),
        }
        Ok(())
    }

    /// Deletes every key that starts with `prefix`.
    fn clear(&mut self, prefix: &str) -> Result<(), redb::Error> {
        let mut keys = Vec::new();
        for item in self.values.range(prefix..)? {
            let (key, _) = item?;
            if !key.value().starts_with(prefix) {
                break;
            }
            keys.push(key.value().to_string());
        }
        for key in keys {
            self.put(&key, None)?;
        }
        Ok(())
    }

    /// Deletes keys that expired by `now`.
    fn sweep(&mut self, now: u64) -> Result<(), redb::Error> {
        let mut expired = Vec::new();
        for item in self.due.range(..(now.saturating_add(1), ""))? {
            let (due, _) = item?;
            expired.push(due.value().1.to_string());
        }
        for key in expired {
            self.put(&key, None)?;
        }
        Ok(())
    }
}

/// One run's view of the store: what it stores (a snapshot of a file, or
/// Redis as it is at each call), then what atomic operations found since,
/// then prefixes the run deleted, then its own writes.
#[derive(Default)]
struct KvRun {
    /// When the run must end: how long it may wait for a shared file or
    /// for Redis.
    deadline: Option<Instant>,
    /// The redb table of the run's namespace: the grant's, or a
    /// [`Namespace`] inside it; on Redis, the same name picks its keys.
    table: Arc<str>,
    /// `None` until the first call; then `Some(None)` if the namespace is
    /// empty. Declared before `db`, so that it is dropped first.
    snapshot: Option<Option<Snapshot>>,
    /// The database, from the first call on.
    db: Option<Arc<Database>>,
    /// Keys the run read with `get` or `ttl`, and what it found (a
    /// [`stamp`] of a file's entry, a Redis version): its commit fails if
    /// one changed meanwhile.
    seen: BTreeMap<String, String>,
    /// Entries as atomic operations (`incr`, `cas`) left them in the store,
    /// newer than the snapshot.
    fresh: Pending,
    /// Prefixes the run deleted, in order; writes made after are in
    /// `pending`.
    cleared: Vec<String>,
    pending: Pending,
    /// Bytes of keys, values and prefixes in `pending` and `cleared`.
    pending_bytes: usize,
    /// Keys in this run's view minus keys stored when it began.
    added: i64,
    /// The buffer `get` copies a value into before writing it to the
    /// guest, kept from call to call.
    reply: Vec<u8>,
}

/// What `kv.get` found: the value (in the run's reply buffer), or the
/// message saying it is not there.
enum Got {
    Value(Vec<u8>),
    Missing(String),
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

/// Why a call to Redis failed, for the guest.
fn redis_failure(redis: &RedisStore, failure: Failure) -> Refusal {
    match failure {
        Failure::TimedOut => Refusal::new(
            status::TIMED_OUT,
            format!(
                "the key-value store at {} did not answer before the run's deadline",
                redis.shown
            ),
        ),
        Failure::Failed(error) => {
            tracing::warn!(target: "tape::kv", store = %redis.shown, "key-value store failed: {error}");
            Refusal::new(
                status::IO_FAILURE,
                format!("the key-value store at {} failed: {error}", redis.shown),
            )
        }
    }
}

/// What an atomic operation does to the entry it finds.
struct Change<T> {
    /// The entry to leave, or `None` to leave it as it is.
    write: Option<Option<Entry>>,
    /// What the guest gets.
    reply: T,
}

/// What keeping a key the run read costs beside its bytes: the map's
/// entry and what was read of it.
const KEPT_BYTES: usize = 64;

/// Keys a `list` reads from the store at a time.
const PAGE: usize = 1000;

impl KvRun {
    fn database(&mut self, kv: &Kv) -> Result<Arc<Database>, Refusal> {
        match &self.db {
            Some(db) => Ok(db.clone()),
            None => Ok(self.db.insert(kv.database(self.deadline)?).clone()),
        }
    }

    fn snapshot(&mut self, kv: &Kv) -> Result<Option<&Snapshot>, Refusal> {
        if self.snapshot.is_none() {
            let db = self.database(kv)?;
            self.snapshot = Some(Kv::snapshot(&db, &self.table).map_err(|e| io_failure(kv, e))?);
        }
        Ok(self.snapshot.as_ref().and_then(Option::as_ref))
    }

    /// When a call to Redis gives up.
    fn wait_until(&self) -> Instant {
        self.deadline.unwrap_or_else(|| Instant::now() + LOCK_WAIT)
    }

    /// The live entry stored under `key`, recorded as read when `record`:
    /// what the commit checks is what the run saw, so a key that was
    /// expired when read and is removed since has not changed.
    fn stored(&mut self, kv: &Kv, key: &str, record: bool) -> Result<Option<Entry>, Refusal> {
        if let Store::Redis(redis) = &kv.store {
            let (entry, version) = redis
                .read(&self.table, key, self.wait_until())
                .map_err(|f| redis_failure(redis, f))?;
            let entry = entry.filter(|e| e.live_now(kv));
            if record {
                self.remember_read(kv, key, || match entry {
                    Some(_) => version,
                    None => redis_store::ABSENT.to_string(),
                })?;
            }
            return Ok(entry);
        }
        let entry = match self.snapshot(kv)? {
            Some(snapshot) => snapshot
                .raw(key)
                .map_err(|e| io_failure(kv, e))?
                .filter(|e| e.live_now(kv)),
            None => None,
        };
        if record {
            self.remember_read(kv, key, || stamp(entry.as_ref()))?;
        }
        Ok(entry)
    }

    /// Keeps what the run saw of `key` for its commit's check, the first
    /// time it reads the key: `stamp`, the entry's version or hash.
    fn remember_read(
        &mut self,
        kv: &Kv,
        key: &str,
        stamp: impl FnOnce() -> String,
    ) -> Result<(), Refusal> {
        if !self.seen.contains_key(key) {
            self.keep_read(kv, key)?;
            self.seen.insert(key.to_string(), stamp());
        }
        Ok(())
    }

    /// Keys stored and live when the run began (a file) or now (Redis).
    fn stored_count(&mut self, kv: &Kv) -> Result<u64, Refusal> {
        let now = kv.now();
        if let Store::Redis(redis) = &kv.store {
            return redis
                .count(&self.table, now, self.wait_until())
                .map_err(|f| redis_failure(redis, f));
        }
        match self.snapshot(kv)? {
            Some(snapshot) => snapshot.live_keys(now).map_err(|e| io_failure(kv, e)),
            None => Ok(0),
        }
    }

    /// Up to `max` stored keys with `prefix` after `after`, in order, each
    /// with its expiry; and whether there may be more.
    fn stored_page(
        &mut self,
        kv: &Kv,
        prefix: &str,
        after: Option<&str>,
        max: usize,
    ) -> Result<Page, Refusal> {
        if let Store::Redis(redis) = &kv.store {
            return redis
                .page(&self.table, prefix, after, max, self.wait_until())
                .map_err(|f| redis_failure(redis, f));
        }
        let Some(snapshot) = self.snapshot(kv)? else {
            return Ok((Vec::new(), false));
        };
        let start = after.map_or(Bound::Included(prefix), Bound::Excluded);
        let range = snapshot
            .values
            .range::<&str>((start, Bound::Unbounded))
            .map_err(|e| io_failure(kv, e))?;
        let mut keys = Vec::new();
        for item in range {
            let (key, _) = item.map_err(|e| io_failure(kv, e))?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            if keys.len() == max {
                return Ok((keys, true));
            }
            let expires = snapshot.expiry(key).map_err(|e| io_failure(kv, e))?;
            keys.push((key.to_string(), expires));
        }
        Ok((keys, false))
    }

    /// What the run's own changes say about `key`: `Some(entry or None)`,
    /// or `None` when only the store knows.
    fn overlay(&self, key: &str) -> Option<Option<&Entry>> {
        if let Some(entry) = self.pending.get(key) {
            return Some(entry.as_ref());
        }
        if self
            .cleared
            .iter()
            .any(|prefix| key.starts_with(prefix.as_str()))
        {
            return Some(None);
        }
        self.fresh.get(key).map(Option::as_ref)
    }

    /// The live entry under `key`, as this run sees it; a read of the
    /// store is recorded when `record`.
    fn view(&mut self, kv: &Kv, key: &str, record: bool) -> Result<Option<Entry>, Refusal> {
        if let Some(entry) = self.overlay(key) {
            return Ok(entry.filter(|e| e.live_now(kv)).cloned());
        }
        self.stored(kv, key, record)
    }

    /// The live entry under `key`, read: the commit checks it is unchanged.
    fn entry(&mut self, kv: &Kv, key: &str) -> Result<Option<Entry>, Refusal> {
        self.view(kv, key, true)
    }

    fn get(&mut self, kv: &Kv, key: &str) -> Result<Option<Vec<u8>>, Refusal> {
        Ok(self.entry(kv, key)?.map(|entry| entry.value))
    }

    /// [`get`](Self::get) into `out` (cleared first): whether the key was
    /// found. A key the run has not changed is copied straight from the
    /// file's snapshot, with no entry built on the way.
    fn get_into(&mut self, kv: &Kv, key: &str, out: &mut Vec<u8>) -> Result<bool, Refusal> {
        out.clear();
        if matches!(kv.store, Store::Redis(_)) || self.overlay(key).is_some() {
            return Ok(match self.get(kv, key)? {
                Some(value) => {
                    out.extend_from_slice(&value);
                    true
                }
                None => false,
            });
        }
        // What the commit checks is what the run saw: stamped while the
        // value is borrowed from the snapshot, kept once it is let go.
        let first_read = !self.seen.contains_key(key);
        let absent = || (false, first_read.then(|| stamp_of(None)));
        let (live, seen) = match self.snapshot(kv)? {
            Some(snapshot) => match snapshot.values.get(key).map_err(|e| io_failure(kv, e))? {
                Some(value) => {
                    let expires = snapshot.expiry(key).map_err(|e| io_failure(kv, e))?;
                    let value = value.value();
                    let live = expires.is_none_or(|at| at > kv.now());
                    if live {
                        out.extend_from_slice(value);
                    }
                    (
                        live,
                        first_read.then(|| stamp_of(live.then_some((value, expires)))),
                    )
                }
                None => absent(),
            },
            None => absent(),
        };
        if let Some(seen) = seen {
            self.remember_read(kv, key, || seen)?;
        }
        Ok(live)
    }

    /// Counts a key the run read, kept for its commit's check, against the
    /// run's byte cap: reads of ever new keys must not grow the host's
    /// memory without end.
    fn keep_read(&mut self, kv: &Kv, key: &str) -> Result<(), Refusal> {
        let total = self.pending_bytes + key.len() + KEPT_BYTES;
        if total > kv.max_run_bytes {
            return Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the run has read {} different keys, and keeps each for its commit's check: with its writes they pass its {}-byte limit",
                    self.seen.len() + 1,
                    kv.max_run_bytes
                ),
            ));
        }
        self.pending_bytes = total;
        Ok(())
    }

    /// Buffers a write of `bytes` bytes, within the run's byte cap.
    fn reserve(&mut self, kv: &Kv, bytes: usize) -> Result<(), Refusal> {
        let total = self.pending_bytes + bytes;
        if total > kv.max_run_bytes {
            return Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the run's writes would come to {total} bytes of keys and values, past its {}-byte limit",
                    kv.max_run_bytes
                ),
            ));
        }
        self.pending_bytes = total;
        Ok(())
    }

    /// Buffers `key = entry` (`None` deletes), within the run's byte cap.
    fn write(&mut self, kv: &Kv, key: String, entry: Option<Entry>) -> Result<(), Refusal> {
        let size = key.len() + entry.as_ref().map_or(0, |e| e.value.len());
        let replaced = self.pending.get(&key).map_or(0, |old| {
            key.len() + old.as_ref().map_or(0, |e| e.value.len())
        });
        self.pending_bytes -= replaced;
        if let Err(refusal) = self.reserve(kv, size) {
            self.pending_bytes += replaced;
            return Err(refusal);
        }
        self.pending.insert(key, entry);
        Ok(())
    }

    /// Refuses a new key when the namespace is full, as this run sees it.
    fn room_for(&mut self, kv: &Kv, key: &str) -> Result<(), Refusal> {
        let stored = self.stored_count(kv)?;
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
        Ok(())
    }

    /// A write that does not depend on what it replaces: whether the key
    /// exists is not a read the commit checks.
    fn set(&mut self, kv: &Kv, key: String, entry: Entry) -> Result<(), Refusal> {
        let exists = self.view(kv, &key, false)?.is_some();
        if !exists {
            self.room_for(kv, &key)?;
        }
        self.write(kv, key, Some(entry))?;
        if !exists {
            self.added += 1;
        }
        Ok(())
    }

    fn delete(&mut self, kv: &Kv, key: String) -> Result<(), Refusal> {
        if self.view(kv, &key, false)?.is_none() {
            return Ok(());
        }
        self.write(kv, key, None)?;
        self.added -= 1;
        Ok(())
    }

    /// Deletes every key with `prefix` in the run's view, and at commit
    /// every key with it in the store. The number of keys deleted in the
    /// run's view.
    fn delete_prefix(&mut self, kv: &Kv, prefix: String) -> Result<u32, Refusal> {
        let mut count = 0u32;
        let mut after = None;
        loop {
            // Counted in pages: a prefix may cover more keys than a list
            // reply holds.
            let (keys, more) = self.list_from(kv, &prefix, after.as_deref(), 10_000)?;
            count = count.saturating_add(u32::try_from(keys.len()).unwrap_or(u32::MAX));
            if !more {
                break;
            }
            after = keys.last().cloned();
        }
        self.reserve(kv, prefix.len())?;
        let buffered: Vec<String> = self
            .pending
            .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix.as_str()))
            .cloned()
            .collect();
        for key in buffered {
            if let Some(entry) = self.pending.remove(&key) {
                self.pending_bytes -= key.len() + entry.map_or(0, |e| e.value.len());
            }
        }
        self.cleared.push(prefix);
        self.added -= i64::from(count);
        Ok(count)
    }

    /// Keys with `prefix`, sorted: the store's merged with the run's
    /// writes. `bool`: more matched than `max_list`.
    fn list(&mut self, kv: &Kv, prefix: &str) -> Result<(Vec<String>, bool), Refusal> {
        self.list_from(kv, prefix, None, kv.max_list)
    }

    /// Up to `max` keys with `prefix` after `after`, sorted, in the run's
    /// view; `bool`: more matched.
    fn list_from(
        &mut self,
        kv: &Kv,
        prefix: &str,
        after: Option<&str>,
        max: usize,
    ) -> Result<(Vec<String>, bool), Refusal> {
        let now = kv.now();
        let start = after.map_or(Bound::Included(prefix), Bound::Excluded);
        // Keys the run's own changes know of: they decide whether those
        // keys are listed, whatever the store says.
        // Each map is in key order, so its keys with the prefix are one
        // run from `start`.
        let with_prefix = |map: &Pending| -> Vec<String> {
            map.range::<str, _>((start, Bound::Unbounded))
                .map(|(key, _)| key)
                .take_while(|key| key.starts_with(prefix))
                .cloned()
                .collect()
        };
        let mut known = with_prefix(&self.pending);
        known.extend(with_prefix(&self.fresh));
        known.sort_unstable();
        known.dedup();
        let mut known = known.into_iter().peekable();
        let mut page = std::collections::VecDeque::new();
        let mut cursor = after.map(str::to_string);
        let mut exhausted = false;
        let mut keys = Vec::new();
        loop {
            if page.is_empty() && !exhausted {
                let (got, more) = self.stored_page(kv, prefix, cursor.as_deref(), PAGE)?;
                exhausted = !more;
                if let Some((last, _)) = got.last() {
                    cursor = Some(last.clone());
                }
                page.extend(got);
            }
            // The smaller of the next stored and next known key.
            let order = match (page.front(), known.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((stored, _)), Some(key)) => stored.cmp(key),
            };
            let (key, stored) = match order {
                std::cmp::Ordering::Less => match page.pop_front() {
                    Some((key, expires)) => (key, Some(expires)),
                    None => break,
                },
                std::cmp::Ordering::Equal => {
                    page.pop_front();
                    match known.next() {
                        Some(key) => (key, None),
                        None => break,
                    }
                }
                std::cmp::Ordering::Greater => match known.next() {
                    Some(key) => (key, None),
                    None => break,
                },
            };
            let listed = match self.overlay(&key) {
                Some(entry) => entry.is_some_and(|e| e.live(now)),
                None => stored.is_some_and(|expires| expires.is_none_or(|at| at > now)),
            };
            if listed {
                if keys.len() == max {
                    return Ok((keys, true));
                }
                keys.push(key);
            }
        }
        Ok((keys, false))
    }

    /// Runs an atomic operation on `key` at once, in a transaction of its
    /// own (a file) or a script (Redis), and keeps what it leaves for the
    /// run's later reads.
    fn atomic<T>(
        &mut self,
        kv: &Kv,
        call: &str,
        key: &str,
        change: impl Fn(Option<&Entry>) -> Result<Change<T>, Refusal>,
    ) -> Result<T, Refusal> {
        if self.pending.contains_key(key)
            || self
                .cleared
                .iter()
                .any(|prefix| key.starts_with(prefix.as_str()))
        {
            return Err(Refusal::new(
                status::INVALID_ARGUMENT,
                format!(
                    "`{key}` has a write of this run that lands when the run ends, after {call}, which acts on the store now: within one run, change a key with `kv.incr` and `kv.cas` only, or with `kv.set`, `kv.delete` and `kv.delete_prefix` only"
                ),
            ));
        }
        if !self.fresh.contains_key(key)
            && self.pending_bytes + key.len() + KEPT_BYTES > kv.max_run_bytes
        {
            return Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the run has changed {} keys with kv.incr and kv.cas, and keeps each for its later reads: with its writes they pass its {}-byte limit",
                    self.fresh.len(),
                    kv.max_run_bytes
                ),
            ));
        }
        let namespace = shown(&self.table);
        let full = |count: String| {
            Refusal::new(
                status::TOO_LARGE,
                format!(
                    "namespace `{namespace}` holds {count} keys, its limit of {}; `{key}` would be one more",
                    kv.max_keys
                ),
            )
        };
        let (left, reply) = match &kv.store {
            Store::Redis(redis) => loop {
                // Read, change, and apply if the key is as read; else
                // again, until the deadline.
                let now = kv.now();
                let deadline = self.wait_until();
                let (found, version) = redis
                    .read(&self.table, key, deadline)
                    .map_err(|f| redis_failure(redis, f))?;
                let found = found.filter(|entry| entry.live(now));
                let Change { write, reply } = change(found.as_ref())?;
                let Some(entry) = write else {
                    break (found, reply);
                };
                let applied = redis
                    .apply(
                        &self.table,
                        key,
                        &version,
                        entry.as_ref(),
                        now,
                        kv.max_keys,
                        deadline,
                    )
                    .map_err(|f| redis_failure(redis, f))?;
                match applied {
                    Applied::Done => break (entry, reply),
                    Applied::Full => return Err(full(kv.max_keys.to_string())),
                    Applied::Conflict => continue,
                }
            },
            _ => {
                self.snapshot(kv)?;
                let db = self.database(kv)?;
                let now = kv.now();
                let txn = db.begin_write().map_err(|e| io_failure(kv, e))?;
                let done = {
                    let mut store =
                        Tables::open(&txn, &self.table).map_err(|e| io_failure(kv, e))?;
                    store.sweep(now).map_err(|e| io_failure(kv, e))?;
                    let found = store.entry(key, now).map_err(|e| io_failure(kv, e))?;
                    let Change { write, reply } = change(found.as_ref())?;
                    match write {
                        Some(entry) => {
                            if found.is_none() && entry.is_some() {
                                let count = store.values.len().map_err(|e| io_failure(kv, e))?;
                                if count >= kv.max_keys {
                                    return Err(full(count.to_string()));
                                }
                            }
                            store
                                .put(key, entry.as_ref())
                                .map_err(|e| io_failure(kv, e))?;
                            (entry, reply)
                        }
                        None => (found, reply),
                    }
                };
                txn.commit().map_err(|e| io_failure(kv, e))?;
                done
            }
        };
        // What the run read of the key before is superseded by what it
        // did to it now.
        self.seen.remove(key);
        if !self.fresh.contains_key(key) {
            // Kept for the run's later reads: counted as a write is. The
            // store has it already, so a run past its cap only stops
            // keeping more.
            let bytes = key.len() + KEPT_BYTES + left.as_ref().map_or(0, |e| e.value.len());
            self.pending_bytes = self.pending_bytes.saturating_add(bytes);
        }
        self.fresh.insert(key.to_string(), left);
        Ok(reply)
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
    Function::new("set_ttl", "(param $key i32) (param $value i32) (param $ttl_ms i64) (result i32)")
        .roles("str ptr num -> status")
        .doc("Stores the value at `$value` under key `$key` for `$ttl_ms` milliseconds (at least 1) from now: after that, `get`, `list` and `ttl` see no key, and the store removes it.\n\nBuffered and committed with the run, as `set`; a later `set` of the key makes it last. Status `INVALID_ARGUMENT` (1) for a time to live below 1.\n\n```wat\n(func $run (result i32)\n  (check (call $kv.set_ttl \"session\" \"ada\" (i64.const 60000)))   ;; a minute\n  (bind $left (call $kv.ttl \"session\"))\n  (resv (call $std.i64.to_str (local.get $left)))   ;; 60000\n  (i32.const 0))\n```"),
    Function::new("ttl", "(param $key i32) (result i64 i32)")
        .roles("str -> num status")
        .doc("Milliseconds before key `$key` expires, or -1 when it does not: (ms, status).\n\nStatus `NOT_FOUND` (3) when there is no key."),
    Function::new("incr", "(param $key i32) (param $delta i64) (result i64 i32)")
        .roles("str num -> num status")
        .doc("Adds `$delta` to the number under key `$key` (0 when there is none) and gives the sum: (sum, status).\n\nAtomic, and at once: committed in a transaction of its own, not at the end of the run, so it stays if the run fails and no other run's increment is lost. The value is decimal text (`42`), as `get` reads it and `$std.i64.parse` parses it; the key keeps its expiry. Status `INVALID_ARGUMENT` (1) when the value is not a decimal integer, or when the run has set, deleted or cleared the key and not yet committed; `TOO_LARGE` (4) when the sum would pass the range of i64.\n\n```wat\n(func $run (result i32)\n  (bind $visits (call $kv.incr \"visits\" (i64.const 1)))\n  (resv (call $std.i64.to_str (local.get $visits)))\n  (i32.const 0))\n```"),
    Function::new("cas", "(param $key i32) (param $expected i32) (param $new i32) (result i32 i32)")
        .roles("str ptr ptr -> bool status")
        .doc("Compare and set: if the value under key `$key` is the bytes at `$expected` (or there is no key and `$expected` is 0), stores the bytes at `$new` (deletes the key if `$new` is 0) and gives 1; otherwise changes nothing and gives 0: (swapped, status).\n\nAtomic and at once, as `incr`. Either way the run's later `get`s of the key see it as the store has it now, so a loop of `get`, compute, `cas` ends. The new value does not expire. Status `INVALID_ARGUMENT` (1) when the run has set, deleted or cleared the key and not yet committed."),
    Function::new("delete_prefix", "(param $prefix i32) (result i32 i32)")
        .roles("str -> count status")
        .doc("Deletes every key that starts with `$prefix` (every key of the namespace for `\"\"`): (keys deleted as the run sees them, status).\n\nBuffered and committed with the run; at the commit it deletes every key with the prefix then in the store, including keys other runs wrote meanwhile. Writes the run makes after it stand."),
];

pub(crate) const NAME: &str = "kv";
pub(crate) const DESCRIPTION: &str = "a persistent key-value store: get, set, delete and list keys by prefix, keys that expire, atomic increment and compare-and-set, in one namespace";

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

    /// The value at `ptr`, or why it is refused: too large (checked
    /// before it is copied).
    fn read_value(
        &self,
        caller: &mut Caller<'_, State>,
        ptr: i32,
    ) -> wasmtime::Result<Result<Vec<u8>, Refusal>> {
        let Some(value) = read_bytes_max(&*caller, ptr as u32, self.max_value_bytes)? else {
            let len = value_len(&*caller, ptr as u32)?;
            return Ok(Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the value is {len} bytes, past the {}-byte limit",
                    self.max_value_bytes
                ),
            )));
        };
        caller.data_mut().usage_mut(NAME).bytes_in += value.len() as u64;
        Ok(Ok(value))
    }

    /// The prefix at `ptr`, or why it is refused: longer than a key, or
    /// not UTF-8. It may be empty.
    fn read_prefix(
        &self,
        caller: &mut Caller<'_, State>,
        ptr: i32,
    ) -> wasmtime::Result<Result<String, Refusal>> {
        let Some(prefix) = read_bytes_max(&*caller, ptr as u32, self.max_key_bytes)? else {
            let len = value_len(&*caller, ptr as u32)?;
            return Ok(Err(Refusal::new(
                status::TOO_LARGE,
                format!(
                    "the prefix is {len} bytes, past the {}-byte key limit",
                    self.max_key_bytes
                ),
            )));
        };
        caller.data_mut().usage_mut(NAME).bytes_in += prefix.len() as u64;
        Ok(String::from_utf8(prefix)
            .map_err(|_| Refusal::new(status::INVALID_ARGUMENT, "the prefix is not UTF-8")))
    }
}

/// The number a counter's value holds, as `incr` writes it.
fn counter(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.parse().ok()
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
                // The key is looked up where it lies in guest memory, and
                // the value is copied into a buffer the run keeps: a read
                // allocates nothing.
                let got = guest::with_bytes(
                    &mut caller,
                    key as u32,
                    this.max_key_bytes,
                    |bytes, state| -> wasmtime::Result<Result<Got, Refusal>> {
                        state.usage_mut(NAME).bytes_in += bytes.len() as u64;
                        let key = match Kv::key_str(bytes) {
                            Ok(key) => key,
                            Err(refusal) => return Ok(Err(refusal)),
                        };
                        let run = state
                            .get::<KvRun>()
                            .ok_or_else(|| Error::capability(NAME, "no state for this run"))?;
                        let mut value = std::mem::take(&mut run.reply);
                        let found = run.get_into(&this, key, &mut value);
                        if !matches!(found, Ok(true)) {
                            run.reply = value;
                            return Ok(found.map(|_| {
                                let namespace = shown(&run.table);
                                Got::Missing(format!("no key `{key}` in namespace `{namespace}`"))
                            }));
                        }
                        Ok(Ok(Got::Value(value)))
                    },
                )?;
                let got = match got {
                    Ok(got) => got?,
                    Err(len) => Err(Refusal::new(
                        status::TOO_LARGE,
                        format!(
                            "the key is {len} bytes, past the {}-byte limit",
                            this.max_key_bytes
                        ),
                    )),
                };
                match got {
                    Ok(Got::Value(value)) => {
                        let written = write_bytes(&mut caller, &value);
                        let len = value.len() as u64;
                        run_state(&mut caller)?.reply = value;
                        let ptr = written?;
                        caller.data_mut().usage_mut(NAME).bytes_out += len;
                        Ok((ptr as i32, status::OK))
                    }
                    Ok(Got::Missing(message)) => Ok((
                        0,
                        guest::fail(&mut caller, "kv.get", status::NOT_FOUND, message),
                    )),
                    Err(refusal) => Ok((0, refusal.fail(&mut caller, "kv.get"))),
                }
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "set",
            move |mut caller: Caller<'_, State>, key: i32, value: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count_call(NAME);
                let key = this.read_key(&mut caller, key)?;
                let value = match (key, this.read_value(&mut caller, value)?) {
                    (Ok(key), Ok(value)) => (key, value),
                    (Err(refusal), _) | (_, Err(refusal)) => {
                        return Ok(refusal.fail(&mut caller, "kv.set"));
                    }
                };
                let (key, value) = value;
                let entry = Entry {
                    value,
                    expires: None,
                };
                Ok(match run_state(&mut caller)?.set(&this, key, entry) {
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
                let prefix = match this.read_prefix(&mut caller, prefix)? {
                    Ok(prefix) => prefix,
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "kv.list"))),
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
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "set_ttl",
            move |mut caller: Caller<'_, State>,
                  key: i32,
                  value: i32,
                  ttl: i64|
                  -> wasmtime::Result<i32> {
                caller.data_mut().count_call(NAME);
                let key = this.read_key(&mut caller, key)?;
                let (key, value) = match (key, this.read_value(&mut caller, value)?) {
                    (Ok(key), Ok(value)) => (key, value),
                    (Err(refusal), _) | (_, Err(refusal)) => {
                        return Ok(refusal.fail(&mut caller, "kv.set_ttl"));
                    }
                };
                if ttl < 1 {
                    let message = format!(
                        "the time to live is {ttl} ms; it must be at least 1 (kv.set stores a key that does not expire)"
                    );
                    return Ok(guest::fail(
                        &mut caller,
                        "kv.set_ttl",
                        status::INVALID_ARGUMENT,
                        message,
                    ));
                }
                let entry = Entry {
                    value,
                    expires: Some(this.now().saturating_add(ttl as u64)),
                };
                Ok(match run_state(&mut caller)?.set(&this, key, entry) {
                    Ok(()) => status::OK,
                    Err(refusal) => refusal.fail(&mut caller, "kv.set_ttl"),
                })
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "ttl",
            move |mut caller: Caller<'_, State>, key: i32| -> wasmtime::Result<(i64, i32)> {
                caller.data_mut().count_call(NAME);
                let key = match this.read_key(&mut caller, key)? {
                    Ok(key) => key,
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "kv.ttl"))),
                };
                let run = run_state(&mut caller)?;
                match run.entry(&this, &key) {
                    Ok(Some(Entry { expires: None, .. })) => Ok((-1, status::OK)),
                    Ok(Some(Entry {
                        expires: Some(at), ..
                    })) => {
                        let left = at.saturating_sub(this.now());
                        Ok((i64::try_from(left).unwrap_or(i64::MAX), status::OK))
                    }
                    Ok(None) => {
                        let message =
                            format!("no key `{key}` in namespace `{}`", shown(&run.table));
                        Ok((
                            0,
                            guest::fail(&mut caller, "kv.ttl", status::NOT_FOUND, message),
                        ))
                    }
                    Err(refusal) => Ok((0, refusal.fail(&mut caller, "kv.ttl"))),
                }
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "incr",
            move |mut caller: Caller<'_, State>,
                  key: i32,
                  delta: i64|
                  -> wasmtime::Result<(i64, i32)> {
                caller.data_mut().count_call(NAME);
                let key = match this.read_key(&mut caller, key)? {
                    Ok(key) => key,
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "kv.incr"))),
                };
                let summed = run_state(&mut caller)?.atomic(&this, "kv.incr", &key, |found| {
                    let old = match found {
                        None => 0,
                        Some(entry) => counter(&entry.value).ok_or_else(|| {
                            Refusal::new(
                                status::INVALID_ARGUMENT,
                                format!(
                                    "the value of `{key}` is not a decimal integer, so kv.incr cannot add to it"
                                ),
                            )
                        })?,
                    };
                    let sum = old.checked_add(delta).ok_or_else(|| {
                        Refusal::new(
                            status::TOO_LARGE,
                            format!("{old} + {delta} is past the range of i64"),
                        )
                    })?;
                    let entry = Entry {
                        value: sum.to_string().into_bytes(),
                        expires: found.and_then(|entry| entry.expires),
                    };
                    Ok(Change {
                        write: Some(Some(entry)),
                        reply: sum,
                    })
                });
                Ok(match summed {
                    Ok(sum) => (sum, status::OK),
                    Err(refusal) => (0, refusal.fail(&mut caller, "kv.incr")),
                })
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "cas",
            move |mut caller: Caller<'_, State>,
                  key: i32,
                  expected: i32,
                  new: i32|
                  -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call(NAME);
                let key = this.read_key(&mut caller, key)?;
                let expected = match expected {
                    0 => Ok(None),
                    ptr => this.read_value(&mut caller, ptr)?.map(Some),
                };
                let new = match new {
                    0 => Ok(None),
                    ptr => this.read_value(&mut caller, ptr)?.map(Some),
                };
                let (key, expected, new) = match (key, expected, new) {
                    (Ok(key), Ok(expected), Ok(new)) => (key, expected, new),
                    (Err(refusal), _, _) | (_, Err(refusal), _) | (_, _, Err(refusal)) => {
                        return Ok((0, refusal.fail(&mut caller, "kv.cas")));
                    }
                };
                let swapped = run_state(&mut caller)?.atomic(&this, "kv.cas", &key, |found| {
                    let matches = found.map(|entry| entry.value.as_slice()) == expected.as_deref();
                    Ok(match matches {
                        true => Change {
                            write: Some(new.clone().map(|value| Entry {
                                value,
                                expires: None,
                            })),
                            reply: 1,
                        },
                        false => Change {
                            write: None,
                            reply: 0,
                        },
                    })
                });
                Ok(match swapped {
                    Ok(swapped) => (swapped, status::OK),
                    Err(refusal) => (0, refusal.fail(&mut caller, "kv.cas")),
                })
            },
        )?;
        let this = self.clone();
        linker.func_wrap(
            NAME,
            "delete_prefix",
            move |mut caller: Caller<'_, State>, prefix: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_call(NAME);
                let prefix = match this.read_prefix(&mut caller, prefix)? {
                    Ok(prefix) => prefix,
                    Err(refusal) => return Ok((0, refusal.fail(&mut caller, "kv.delete_prefix"))),
                };
                Ok(match run_state(&mut caller)?.delete_prefix(&this, prefix) {
                    Ok(count) => (i32::try_from(count).unwrap_or(i32::MAX), status::OK),
                    Err(refusal) => (0, refusal.fail(&mut caller, "kv.delete_prefix")),
                })
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
            cleared,
            seen,
            snapshot,
            db,
            table,
            deadline,
            ..
        } = std::mem::take(run);
        drop(snapshot);
        if !completed || (pending.is_empty() && cleared.is_empty()) {
            return Ok(());
        }
        let namespace = shown(&table);
        let committed = match &self.store {
            Store::Redis(redis) => {
                let reads: Vec<(&str, &str)> =
                    seen.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let deadline = deadline.unwrap_or_else(|| Instant::now() + LOCK_WAIT);
                redis
                    .commit(
                        &table,
                        &reads,
                        &cleared,
                        &pending,
                        self.now(),
                        self.max_keys,
                        deadline,
                    )
                    .map_err(|failure| redis_failure(redis, failure).message)
            }
            _ => {
                // A run with writes has called kv, so it has the database.
                let Some(db) = db else { return Ok(()) };
                self.commit(&db, &table, &seen, &cleared, &pending)
                    .map_err(|e| e.to_string())
            }
        };
        let problem = match committed {
            Ok(Committed::Done) => return Ok(()),
            Ok(Committed::Conflict(key)) => format!(
                "`{key}` in namespace `{namespace}` changed after this run read it (another run wrote it, or it expired): a read-modify-write conflict; run it again, or use kv.incr or kv.cas"
            ),
            Ok(Committed::Full(count)) => format!(
                "namespace `{namespace}` would hold {count} keys, past its cap of {} (other runs added keys meanwhile)",
                self.max_keys
            ),
            Err(error) => format!("namespace `{namespace}`: {error}"),
        };
        Err(Error::capability(
            NAME,
            format!("the run's key-value writes were not committed: {problem}"),
        )
        .into())
    }
}

/// `[kv]`: see [`Kv`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct KvGrant {
    /// The database file, relative to the manifest; without one (or a
    /// `url`) the store lives in memory for one program.
    pub path: Option<PathBuf>,
    /// A Redis server instead of a file: `redis://host:port/db`.
    pub url: Option<String>,
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
    /// The capability: the Redis server at `url` ([`Kv::redis`]), the
    /// database at `path`, shared with other processes ([`Kv::shared`]),
    /// or one in memory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](tape_rt::ErrorKind::Io) or
    /// [`ErrorKind::Capability`](tape_rt::ErrorKind::Capability) if the
    /// database cannot be opened.
    pub fn kv(&self) -> Result<Kv> {
        let mut kv = match (&self.path, &self.url) {
            (Some(_), Some(url)) => {
                return Err(Error::capability(
                    NAME,
                    format!(
                        "[kv] names both a file (`path`) and a Redis server (`url = \"{url}\"`); a store is one or the other: keep one"
                    ),
                ));
            }
            (None, Some(url)) => Kv::redis(url)?,
            // Other `tape` processes may use the file too.
            (Some(path), None) => Kv::shared(path)?,
            (None, None) => Kv::in_memory()?,
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
