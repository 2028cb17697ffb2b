//! The `kv` capability's Redis backend: a namespace is five Redis keys,
//! every operation one Lua script, so each is atomic on the server.
//!
//! For namespace `ns` (the grant's, or `grant\0run` for a run's
//! [`Namespace`](super::Namespace)), with `{ns}` as the hash tag so that a
//! cluster keeps them on one node:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `tape:kv:{ns}:v` | hash | key → value |
//! | `tape:kv:{ns}:k` | sorted set, all scores 0 | the keys, for `list` by prefix in key order (`ZRANGEBYLEX`) |
//! | `tape:kv:{ns}:e` | hash | key → when it expires, Unix milliseconds |
//! | `tape:kv:{ns}:d` | sorted set | keys by when they expire, to remove the expired |
//! | `tape:kv:{ns}:n` | hash | key → version, raised by every change (never reset) |
//!
//! A run reads the latest committed values, call by call, and records the
//! version of each key it read; its commit is one script that checks those
//! versions and applies every write, or applies nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::{Client, Connection, ConnectionLike, RedisError, Script, ScriptInvocation};

use super::{Committed, Entry, Page, Pending};

/// How long opening a connection may take at most, within the run's
/// deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections kept open per store.
const POOL_SIZE: u32 = 16;

/// Shared by the scripts: removing and storing a key, and removing the
/// expired ones. KEYS: values, keys, expiry, due, versions.
const LIB: &str = r#"
local function remove(key)
  redis.call('HDEL', KEYS[1], key)
  redis.call('ZREM', KEYS[2], key)
  redis.call('HDEL', KEYS[3], key)
  redis.call('ZREM', KEYS[4], key)
  redis.call('HINCRBY', KEYS[5], key, 1)
end
local function put(key, value, expires)
  redis.call('HSET', KEYS[1], key, value)
  redis.call('ZADD', KEYS[2], 0, key)
  if expires == '' then
    redis.call('HDEL', KEYS[3], key)
    redis.call('ZREM', KEYS[4], key)
  else
    redis.call('HSET', KEYS[3], key, expires)
    redis.call('ZADD', KEYS[4], expires, key)
  end
  redis.call('HINCRBY', KEYS[5], key, 1)
end
local function sweep(now)
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)) do
    remove(key)
  end
end
"#;

/// The value, expiry and version of key ARGV[1].
const READ: &str = r#"
return {
  redis.call('HGET', KEYS[1], ARGV[1]) or false,
  redis.call('HGET', KEYS[3], ARGV[1]) or '',
  redis.call('HGET', KEYS[5], ARGV[1]) or '0',
}
"#;

/// Up to ARGV[3] keys from ARGV[1] to ARGV[2] (`ZRANGEBYLEX` bounds), each
/// followed by its expiry or ''.
const PAGE: &str = r#"
local keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, key in ipairs(keys) do
  out[2 * i - 1] = key
  out[2 * i] = redis.call('HGET', KEYS[3], key) or ''
end
return out
"#;

/// Keys not expired by ARGV[1].
const COUNT: &str = r#"
return redis.call('ZCARD', KEYS[2]) - redis.call('ZCOUNT', KEYS[4], '-inf', ARGV[1])
"#;

/// An atomic operation's change of key ARGV[1], if its version is still
/// ARGV[2]: ARGV[3] 'put' (value ARGV[4], expiry ARGV[5] or '') or 'del';
/// ARGV[6] now, ARGV[7] the key cap. 'ok', 'conflict' or 'full'.
const APPLY: &str = r#"
sweep(ARGV[6])
local key = ARGV[1]
if (redis.call('HGET', KEYS[5], key) or '0') ~= ARGV[2] then return 'conflict' end
if ARGV[3] == 'put' then
  if redis.call('HEXISTS', KEYS[1], key) == 0
     and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[7]) then
    return 'full'
  end
  put(key, ARGV[4], ARGV[5])
else
  remove(key)
end
return 'ok'
"#;

/// A run's commit. ARGV: now, key cap, then the read keys' count and
/// (key, version or [`ABSENT`]) pairs, the cleared prefixes' count and prefixes, the
/// writes' count and (key, 'put' or 'del', value, expiry) each.
/// {'ok'}, {'conflict', key} or {'full', count}; nothing is written
/// unless 'ok'.
const COMMIT: &str = r#"
local now, max = ARGV[1], tonumber(ARGV[2])
local at = 3
local reads = tonumber(ARGV[at]); at = at + 1
for _ = 1, reads do
  local key, version = ARGV[at], ARGV[at + 1]; at = at + 2
  if version == '-' then
    -- Read as absent: still absent, or there but expired.
    local expires = redis.call('HGET', KEYS[3], key)
    if redis.call('HEXISTS', KEYS[1], key) == 1
       and not (expires and tonumber(expires) <= tonumber(now)) then
      return {'conflict', key}
    end
  else
    -- Read as there: the same version, and not expired since.
    local expires = redis.call('HGET', KEYS[3], key)
    if (redis.call('HGET', KEYS[5], key) or '0') ~= version
       or (expires and tonumber(expires) <= tonumber(now)) then
      return {'conflict', key}
    end
  end
end
sweep(now)
local before = redis.call('ZCARD', KEYS[2])
local count = before
local cleared = {}
local prefixes = tonumber(ARGV[at]); at = at + 1
for _ = 1, prefixes do
  local prefix = ARGV[at]; at = at + 1
  for _, key in ipairs(redis.call('ZRANGEBYLEX', KEYS[2], '[' .. prefix, '[' .. prefix .. '\255')) do
    if not cleared[key] then cleared[key] = true; count = count - 1 end
  end
end
local state = {}
local writes = tonumber(ARGV[at]); at = at + 1
local first = at
for _ = 1, writes do
  local key, op = ARGV[at], ARGV[at + 1]; at = at + 4
  local exists = state[key]
  if exists == nil then
    exists = (not cleared[key]) and redis.call('HEXISTS', KEYS[1], key) == 1
  end
  if op == 'put' and not exists then count = count + 1 end
  if op == 'del' and exists then count = count - 1 end
  state[key] = (op == 'put')
end
if count > max and count > before then return {'full', tostring(count)} end
for key in pairs(cleared) do remove(key) end
at = first
for _ = 1, writes do
  local key, op, value, expires = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  at = at + 4
  if op == 'put' then put(key, value, expires) else remove(key) end
end
return {'ok'}
"#;

/// What a run records of a key it read and found absent (or expired): at
/// its commit the key must still be so, whatever its version.
pub(super) const ABSENT: &str = "-";

/// Why a Redis call failed: the deadline passed, or anything else.
#[derive(Debug)]
pub(super) enum Failure {
    TimedOut,
    Failed(String),
}

impl From<RedisError> for Failure {
    fn from(error: RedisError) -> Failure {
        if error.is_timeout() {
            Failure::TimedOut
        } else {
            Failure::Failed(error.to_string())
        }
    }
}

/// Opens connections within [`CONNECT_TIMEOUT`] (redis' own manager waits
/// for the operating system's, minutes for an address that does not
/// answer).
#[derive(Debug)]
struct Manager(Client);

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = RedisError;

    fn connect(&self) -> Result<Connection, RedisError> {
        self.0.get_connection_with_timeout(CONNECT_TIMEOUT)
    }

    fn is_valid(&self, connection: &mut Connection) -> Result<(), RedisError> {
        redis::cmd("PING").query::<()>(connection)
    }

    fn has_broken(&self, connection: &mut Connection) -> bool {
        !connection.is_open()
    }
}

/// The last failure to open a connection, and when: the pool opens them
/// on threads of its own and keeps trying, so a caller learns from here
/// that the server refuses rather than waiting for its deadline.
#[derive(Debug, Default)]
struct LastError(Mutex<Option<(Instant, String)>>);

#[derive(Debug)]
struct Recorder(Arc<LastError>);

impl r2d2::HandleError<RedisError> for Recorder {
    fn handle_error(&self, error: RedisError) {
        *self.0.0.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), error.to_string()));
    }
}

/// How long a caller waits for a connection before it looks whether
/// opening one failed.
const CHECK_EVERY: Duration = Duration::from_millis(25);

/// A Redis server, through a pool of connections.
pub(super) struct RedisStore {
    /// The URL without a password, for messages.
    pub(super) shown: String,
    pool: r2d2::Pool<Manager>,
    last_error: Arc<LastError>,
    read: Script,
    page: Script,
    count: Script,
    apply: Script,
    commit: Script,
}

/// What an atomic operation's apply found.
pub(super) enum Applied {
    Done,
    /// The key changed since it was read: read again and retry.
    Conflict,
    /// A new key, and the namespace is full.
    Full,
}

impl RedisStore {
    /// A store for the server at `url` (`redis://host:port/db`); no
    /// connection is opened until a run needs one.
    pub(super) fn new(url: &str) -> Result<RedisStore, String> {
        let client = Client::open(url).map_err(|e| format!("`{url}`: {e}"))?;
        let shown = match client.get_connection_info().redis_settings().password() {
            Some(_) => "the Redis server (URL with a password)".to_string(),
            None => format!("`{url}`"),
        };
        let last_error = Arc::new(LastError::default());
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .error_handler(Box::new(Recorder(last_error.clone())))
            .build_unchecked(Manager(client));
        let script = |body: &str| Script::new(&format!("{LIB}\n{body}"));
        Ok(RedisStore {
            shown,
            pool,
            last_error,
            read: script(READ),
            page: script(PAGE),
            count: script(COUNT),
            apply: script(APPLY),
            commit: script(COMMIT),
        })
    }

    /// A connection whose calls give up at `deadline`.
    fn connection(&self, deadline: Instant) -> Result<r2d2::PooledConnection<Manager>, Failure> {
        let asked = Instant::now();
        let (connection, left) = loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())
                .ok_or(Failure::TimedOut)?;
            if let Ok(connection) = self.pool.get_timeout(left.min(CHECK_EVERY)) {
                break (connection, left);
            }
            let last = self
                .last_error
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((at, error)) = &*last
                && *at >= asked
            {
                return Err(Failure::Failed(format!("cannot connect: {error}")));
            }
        };
        connection.set_read_timeout(Some(left))?;
        connection.set_write_timeout(Some(left))?;
        Ok(connection)
    }

    /// The key names of namespace table `table`.
    fn keys(table: &str) -> [String; 5] {
        let ns = table.strip_prefix(super::VALUES).unwrap_or(table);
        ["v", "k", "e", "d", "n"].map(|kind| format!("tape:kv:{{{ns}}}:{kind}"))
    }

    /// The entry under `key` (expired or not), and its version.
    pub(super) fn read(
        &self,
        table: &str,
        key: &str,
        deadline: Instant,
    ) -> Result<(Option<Entry>, String), Failure> {
        let mut connection = self.connection(deadline)?;
        let mut call = invocation(&self.read, table);
        let (value, expires, version): (Option<Vec<u8>>, String, String) =
            call.arg(key).invoke(&mut *connection)?;
        let entry = value.map(|value| Entry {
            value,
            expires: expires.parse().ok(),
        });
        Ok((entry, version))
    }

    /// Up to `max` keys from `start` with `prefix`, in key order, each with
    /// its expiry; and whether there may be more.
    pub(super) fn page(
        &self,
        table: &str,
        prefix: &str,
        after: Option<&str>,
        max: usize,
        deadline: Instant,
    ) -> Result<Page, Failure> {
        let mut connection = self.connection(deadline)?;
        let mut min = Vec::new();
        match after {
            Some(after) => {
                min.push(b'(');
                min.extend_from_slice(after.as_bytes());
            }
            None => {
                min.push(b'[');
                min.extend_from_slice(prefix.as_bytes());
            }
        }
        let mut max_bound = vec![b'['];
        max_bound.extend_from_slice(prefix.as_bytes());
        max_bound.push(0xff);
        let mut call = invocation(&self.page, table);
        let flat: Vec<String> = call
            .arg(min)
            .arg(max_bound)
            .arg(max)
            .invoke(&mut *connection)?;
        let more = flat.len() / 2 == max;
        let keys = flat
            .chunks(2)
            .map(|pair| (pair[0].clone(), pair.get(1).and_then(|e| e.parse().ok())))
            .collect();
        Ok((keys, more))
    }

    /// Keys of the namespace not expired by `now`.
    pub(super) fn count(&self, table: &str, now: u64, deadline: Instant) -> Result<u64, Failure> {
        let mut connection = self.connection(deadline)?;
        let mut call = invocation(&self.count, table);
        let count: i64 = call.arg(now).invoke(&mut *connection)?;
        Ok(count.max(0) as u64)
    }

    /// Leaves `entry` (or no key) under `key` if its version is still
    /// `version`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply(
        &self,
        table: &str,
        key: &str,
        version: &str,
        entry: Option<&Entry>,
        now: u64,
        max_keys: u64,
        deadline: Instant,
    ) -> Result<Applied, Failure> {
        let mut connection = self.connection(deadline)?;
        let mut call = invocation(&self.apply, table);
        call.arg(key).arg(version);
        push_entry(&mut call, entry);
        let answer: String = call.arg(now).arg(max_keys).invoke(&mut *connection)?;
        Ok(match answer.as_str() {
            "ok" => Applied::Done,
            "full" => Applied::Full,
            _ => Applied::Conflict,
        })
    }

    /// Applies a run's writes, if no key it read changed: in one script,
    /// all or nothing.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn commit(
        &self,
        table: &str,
        reads: &[(&str, &str)],
        cleared: &[String],
        pending: &Pending,
        now: u64,
        max_keys: u64,
        deadline: Instant,
    ) -> Result<Committed, Failure> {
        let mut connection = self.connection(deadline)?;
        let mut call = invocation(&self.commit, table);
        call.arg(now).arg(max_keys).arg(reads.len());
        for (key, version) in reads {
            call.arg(*key).arg(*version);
        }
        call.arg(cleared.len());
        for prefix in cleared {
            call.arg(prefix.as_str());
        }
        call.arg(pending.len());
        for (key, entry) in pending {
            call.arg(key.as_str());
            push_entry(&mut call, entry.as_ref());
        }
        let answer: Vec<String> = call.invoke(&mut *connection)?;
        Ok(match answer.first().map(String::as_str) {
            Some("ok") => Committed::Done,
            Some("conflict") => Committed::Conflict(answer.get(1).cloned().unwrap_or_default()),
            _ => Committed::Full(answer.get(1).and_then(|n| n.parse().ok()).unwrap_or(0)),
        })
    }
}

/// A call of `script` on the keys of namespace table `table`.
fn invocation<'s>(script: &'s Script, table: &str) -> ScriptInvocation<'s> {
    let mut call = script.prepare_invoke();
    for name in RedisStore::keys(table) {
        call.key(name);
    }
    call
}

/// A write as the scripts take it: `put`, the value and the expiry (or
/// ''), or `del` and two empty arguments.
fn push_entry(call: &mut ScriptInvocation<'_>, entry: Option<&Entry>) {
    match entry {
        Some(entry) => {
            let expires = entry.expires.map(|at| at.to_string()).unwrap_or_default();
            call.arg("put").arg(entry.value.as_slice()).arg(expires)
        }
        None => call.arg("del").arg("").arg(""),
    };
}
