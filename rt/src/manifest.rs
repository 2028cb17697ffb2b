//! `tape.toml`: the grants and limits of the programs in a directory.
//!
//! A manifest is data: [`Manifest::parse`] reads one, its public fields say
//! what it grants, and [`Manifest::grants`] and [`Manifest::limits`] turn it
//! into what [`Engine::compile_str`](crate::Engine::compile_str) and
//! [`Program::run_with`](crate::Program::run_with) take. A host may change
//! the fields in between — `tape run` lays its command-line flags over the
//! manifest that way.
//!
//! ```toml
//! # Every table grants its capability; nothing else is granted but `core`.
//! deterministic = true          # a fixed clock and a seeded generator
//!
//! [limits]
//! fuel = 1_000_000              # or "none"
//! timeout = "2s"                # or "none"
//! max-memory = "16MiB"          # or a number of bytes
//!
//! [log]
//! [kv]
//! path = "state.redb"           # relative to this file; no path: in memory
//! namespace = "counter"
//!
//! [http]
//! allow = ["https://api.example.com", "http://127.0.0.1:8080"]
//!
//! [lints]
//! warnings = "deny"             # every compiler lint an error
//! unused-variable = "allow"     # but this one
//! ```
//!
//! A field the format does not have is an error naming it, with its line:
//! a misspelt limit must not silently leave the default in place.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::{Ai, Error, Fs, Grants, Http, Json, Kv, Limits, Log, Rand, Result, Time};

/// The file name `tape run` looks for beside a program.
pub const MANIFEST_NAME: &str = "tape.toml";

/// Where a deterministic clock starts when the manifest does not say:
/// 2000-01-01T00:00:00Z, in nanoseconds since the Unix epoch.
pub const DETERMINISTIC_START: i64 = 946_684_800_000_000_000;

/// A parsed `tape.toml`. Each `Some` grant table grants its capability;
/// every limit left out keeps the runtime's default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Manifest {
    /// The file it was read from; relative paths in it start from its
    /// directory.
    #[serde(skip)]
    path: PathBuf,
    /// A fixed clock and a seeded generator for `time` and `rand`, unless
    /// their own tables say otherwise.
    #[serde(default)]
    pub deterministic: bool,
    /// Limits of each run.
    #[serde(default)]
    pub limits: LimitsTable,
    /// `[log]`
    pub log: Option<LogGrant>,
    /// `[kv]`
    pub kv: Option<KvGrant>,
    /// `[fs]`
    pub fs: Option<FsGrant>,
    /// `[http]`
    pub http: Option<HttpGrant>,
    /// `[json]`
    pub json: Option<JsonGrant>,
    /// `[ai]`
    pub ai: Option<AiGrant>,
    /// `[time]`
    pub time: Option<TimeGrant>,
    /// `[rand]`
    pub rand: Option<RandGrant>,
    /// `[lints]`: the level of each compiler lint (`unused-status =
    /// "allow"`), or of all of them (`warnings = "deny"`); see
    /// [`tape_compiler::Lints`]. Checked as it is read: an unknown lint or
    /// level is an error at its line.
    #[serde(default, deserialize_with = "lint_levels")]
    pub lints: Vec<(String, tape_compiler::Level)>,
}

/// `[lints]`, each name and level checked where it is written.
fn lint_levels<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<(String, tape_compiler::Level)>, D::Error> {
    let table = std::collections::BTreeMap::<LintName, LintLevel>::deserialize(deserializer)?;
    let mut levels: Vec<(String, tape_compiler::Level)> = table
        .into_iter()
        .map(|(name, level)| (name.0, level.0))
        .collect();
    // `warnings` first, so a lint named on its own keeps its level.
    levels.sort_by_key(|(name, _)| name != "warnings");
    Ok(levels)
}

/// A key of `[lints]`: a lint's name, or `warnings`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct LintName(String);

impl<'de> Deserialize<'de> for LintName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        tape_compiler::Lints::default()
            .set(&name, tape_compiler::Level::Warn)
            .map_err(de::Error::custom)?;
        Ok(LintName(name))
    }
}

/// A value of `[lints]`.
struct LintLevel(tape_compiler::Level);

impl<'de> Deserialize<'de> for LintLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let level = String::deserialize(deserializer)?;
        tape_compiler::Level::from_name(&level)
            .map(LintLevel)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "`{level}` is not a lint level: write \"allow\", \"warn\" or \"deny\""
                ))
            })
    }
}

/// `[limits]`: bounds on each run. See [`Limits`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct LimitsTable {
    /// Fuel units, or `"none"`.
    #[serde(default, deserialize_with = "fuel")]
    pub fuel: Option<Option<u64>>,
    /// A duration such as `"2s"`, or `"none"`.
    #[serde(default, deserialize_with = "timeout")]
    pub timeout: Option<Option<Duration>>,
    /// A size such as `"16MiB"`, or a number of bytes.
    #[serde(default, deserialize_with = "size")]
    pub max_memory: Option<u64>,
    /// Bytes of results a run may hand over.
    #[serde(default, deserialize_with = "size")]
    pub max_result_bytes: Option<u64>,
}

/// `[log]`: see [`Log`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct LogGrant {
    /// Message bytes a run may log.
    #[serde(default, deserialize_with = "size")]
    pub max_bytes: Option<u64>,
}

/// `[kv]`: see [`Kv`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct KvGrant {
    /// The database file, relative to the manifest; without one the store
    /// lives in memory for one program.
    pub path: Option<PathBuf>,
    /// Keys of other namespaces are invisible to this grant.
    pub namespace: Option<String>,
    /// Longest key.
    #[serde(default, deserialize_with = "size")]
    pub max_key_bytes: Option<u64>,
    /// Largest value.
    #[serde(default, deserialize_with = "size")]
    pub max_value_bytes: Option<u64>,
    /// Keys the namespace may hold.
    pub max_keys: Option<u64>,
    /// Keys one `list` returns.
    pub max_list: Option<u64>,
    /// Bytes of keys and values a run may write.
    #[serde(default, deserialize_with = "size")]
    pub max_run_bytes: Option<u64>,
}

/// `[fs]`: see [`Fs`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct FsGrant {
    /// The directory, relative to the manifest.
    pub dir: PathBuf,
    /// Whether the program may write in it (default no).
    #[serde(default)]
    pub write: bool,
    /// Largest file a read returns.
    #[serde(default, deserialize_with = "size")]
    pub max_read_bytes: Option<u64>,
    /// Largest file a write writes.
    #[serde(default, deserialize_with = "size")]
    pub max_write_bytes: Option<u64>,
    /// Bytes a run may write in all.
    #[serde(default, deserialize_with = "size")]
    pub max_run_write_bytes: Option<u64>,
    /// Entries one `list` returns.
    pub max_list: Option<u64>,
    /// Longest path.
    #[serde(default, deserialize_with = "size")]
    pub max_path_bytes: Option<u64>,
}

/// `[http]`: see [`Http`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct HttpGrant {
    /// Origins requests may go to: `scheme://host[:port]`, with `*.domain`,
    /// `*` and port `*` patterns.
    #[serde(skip)]
    pub allow: Vec<String>,
    /// `allow` as written, with where each entry is, to check it there.
    #[serde(default, rename = "allow")]
    written_allow: Vec<toml::Spanned<String>>,
    /// Whether allowed names may resolve to private addresses.
    #[serde(default)]
    pub allow_private: bool,
    /// PEM files of the certificate authorities to verify HTTPS servers
    /// against instead of Mozilla's roots, relative to the manifest: one
    /// path or a list. See [`Http::root_certificates`].
    #[serde(default, deserialize_with = "paths")]
    pub root_certificates: Vec<PathBuf>,
    /// Largest response body.
    #[serde(default, deserialize_with = "size")]
    pub max_response_bytes: Option<u64>,
    /// Largest request body.
    #[serde(default, deserialize_with = "size")]
    pub max_request_bytes: Option<u64>,
    /// Redirects one request follows.
    pub max_redirects: Option<u32>,
    /// Requests a run may make.
    pub max_requests: Option<u32>,
    /// Time one request may take.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
}

/// `[json]`: see [`Json`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct JsonGrant {
    /// Documents a run may hold at once.
    pub max_handles: Option<u64>,
    /// Largest document parsed or written.
    #[serde(default, deserialize_with = "size")]
    pub max_document_bytes: Option<u64>,
    /// Bytes a run may parse and write in all.
    #[serde(default, deserialize_with = "size")]
    pub max_total_bytes: Option<u64>,
}

/// `[ai]`: see [`Ai`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct AiGrant {
    /// The endpoint before `/chat/completions`, e.g.
    /// `https://api.openai.com/v1`.
    pub base_url: String,
    /// The model to ask.
    pub model: String,
    /// The environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// A system message put first in every conversation.
    pub system: Option<String>,
    /// Tokens a run may spend.
    pub max_tokens: Option<u64>,
    /// Tokens one reply may use.
    pub max_reply_tokens: Option<u32>,
    /// Bytes of prompts a run may send.
    #[serde(default, deserialize_with = "size")]
    pub max_prompt_bytes: Option<u64>,
    /// Bytes of replies a run may receive.
    #[serde(default, deserialize_with = "size")]
    pub max_reply_bytes: Option<u64>,
    /// Time one completion may take.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// Whether the endpoint may be on a private address (a local model).
    #[serde(default)]
    pub allow_private: bool,
}

/// `[time]`: see [`Time`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct TimeGrant {
    /// A fixed clock starting here, as RFC 3339 (`"2024-05-01T12:00:00Z"`),
    /// in nanoseconds since the Unix epoch.
    #[serde(default, deserialize_with = "instant")]
    pub start: Option<i64>,
    /// How far a fixed clock moves per reading (default 1 ms).
    #[serde(default, deserialize_with = "duration")]
    pub step: Option<Duration>,
}

/// `[rand]`: see [`Rand`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct RandGrant {
    /// Seed a deterministic generator with this.
    pub seed: Option<u64>,
    /// Random bytes a run may draw.
    #[serde(default, deserialize_with = "size")]
    pub max_run_bytes: Option<u64>,
}

impl Manifest {
    /// Reads the manifest text of the file at `path`. Relative paths in it
    /// are taken from `path`'s directory.
    ///
    /// # Errors
    ///
    /// [`Error::Manifest`] with the line and column of the first problem:
    /// malformed TOML, a field the format does not have, a value of the
    /// wrong type or form.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Manifest> {
        let path = path.as_ref();
        let error_at = |offset: usize, message: &str| {
            let (line, column) = line_column(text, offset);
            Error::Manifest {
                path: path.to_owned(),
                line,
                column,
                message: message.trim_end().to_owned(),
            }
        };
        let mut manifest: Manifest = toml::from_str(text)
            .map_err(|e| error_at(e.span().map_or(0, |span| span.start), e.message()))?;
        if let Some(http) = &mut manifest.http {
            for entry in std::mem::take(&mut http.written_allow) {
                Http::check_origin(entry.get_ref())
                    .map_err(|e| error_at(entry.span().start, &e))?;
                http.allow.push(entry.into_inner());
            }
        }
        manifest.path = path.to_owned();
        let base = path.parent().unwrap_or(Path::new(""));
        if let Some(kv) = &mut manifest.kv {
            kv.path = kv.path.take().map(|p| base.join(p));
        }
        if let Some(fs) = &mut manifest.fs {
            fs.dir = base.join(&fs.dir);
        }
        if let Some(http) = &mut manifest.http {
            for path in &mut http.root_certificates {
                *path = base.join(&*path);
            }
        }
        Ok(manifest)
    }

    /// Reads the manifest at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Host`] if the file cannot be read; otherwise as
    /// [`parse`](Manifest::parse).
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| cannot_read(path, &e))?;
        Manifest::parse(&text, path)
    }

    /// The `tape.toml` in the directory of `program`, if there is one.
    ///
    /// # Errors
    ///
    /// As [`load`](Manifest::load), when the file exists.
    pub fn beside(program: impl AsRef<Path>) -> Result<Option<Manifest>> {
        let dir = program.as_ref().parent().unwrap_or(Path::new(""));
        let path = dir.join(MANIFEST_NAME);
        // Read at once rather than looked for first: one system call fewer
        // on every start.
        match std::fs::read_to_string(&path) {
            Ok(text) => Manifest::parse(&text, path).map(Some),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(cannot_read(&path, &error)),
        }
    }

    /// The file the manifest was read from, as given to
    /// [`parse`](Manifest::parse) or [`load`](Manifest::load).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the capabilities the manifest grants (besides `core`).
    pub fn capabilities(&self) -> Vec<&'static str> {
        [
            ("log", self.log.is_some()),
            ("kv", self.kv.is_some()),
            ("fs", self.fs.is_some()),
            ("http", self.http.is_some()),
            ("json", self.json.is_some()),
            ("ai", self.ai.is_some()),
            ("time", self.time.is_some()),
            ("rand", self.rand.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, granted)| granted.then_some(name))
        .collect()
    }

    /// Every capability the manifest grants, configured as it says. `log`
    /// goes to `tracing`; a host that wants it elsewhere grants its own
    /// [`LogGrant::log`] with a sink over these grants.
    ///
    /// # Errors
    ///
    /// [`Error::Host`] naming the table, if the `kv` database cannot be
    /// opened or the `fs` directory does not exist.
    pub fn grants(&self) -> Result<Grants> {
        let mut grants = Grants::new();
        if let Some(log) = &self.log {
            grants = grants.grant(log.log());
        }
        if let Some(kv) = &self.kv {
            grants = grants.grant(kv.kv().map_err(|e| in_table("kv", e))?);
        }
        if let Some(fs) = &self.fs {
            grants = grants.grant(fs.fs().map_err(|e| in_table("fs", e))?);
        }
        if let Some(http) = &self.http {
            grants = grants.grant(http.http().map_err(|e| in_table("http", e))?);
        }
        if let Some(json) = &self.json {
            grants = grants.grant(json.json());
        }
        if let Some(ai) = &self.ai {
            grants = grants.grant(ai.ai());
        }
        if let Some(time) = &self.time {
            grants = grants.grant(time.time(self.deterministic));
        }
        if let Some(rand) = &self.rand {
            grants = grants.grant(rand.rand(self.deterministic));
        }
        Ok(grants)
    }

    /// `base` with every limit the manifest sets replaced.
    pub fn limits(&self, mut base: Limits) -> Limits {
        let table = &self.limits;
        if let Some(fuel) = table.fuel {
            base.fuel = fuel;
        }
        if let Some(timeout) = table.timeout {
            base.timeout = timeout;
        }
        if let Some(max_memory) = table.max_memory {
            base.max_memory = max_memory;
        }
        if let Some(bytes) = table.max_result_bytes {
            base.max_result_bytes = saturate(bytes);
        }
        base
    }
}

impl LogGrant {
    /// The capability, logging to `tracing`.
    pub fn log(&self) -> Log {
        let mut log = Log::new();
        if let Some(bytes) = self.max_bytes {
            log = log.max_bytes(saturate(bytes));
        }
        log
    }
}

impl KvGrant {
    /// The capability: the database at `path`, shared with other processes
    /// ([`Kv::shared`]), or one in memory.
    ///
    /// # Errors
    ///
    /// [`Error::Host`] if the database cannot be opened.
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
            kv = kv.max_key_bytes(saturate(max));
        }
        if let Some(max) = self.max_value_bytes {
            kv = kv.max_value_bytes(saturate(max));
        }
        if let Some(max) = self.max_keys {
            kv = kv.max_keys(max);
        }
        if let Some(max) = self.max_list {
            kv = kv.max_list(saturate(max));
        }
        if let Some(max) = self.max_run_bytes {
            kv = kv.max_run_bytes(saturate(max));
        }
        Ok(kv)
    }
}

impl FsGrant {
    /// The capability: `dir`, read-only unless `write`.
    ///
    /// # Errors
    ///
    /// [`Error::Host`] if the directory cannot be opened.
    pub fn fs(&self) -> Result<Fs> {
        let fs = if self.write {
            Fs::read_write(&self.dir)
        } else {
            Fs::read_only(&self.dir)
        };
        let mut fs = fs?;
        if let Some(max) = self.max_read_bytes {
            fs = fs.max_read_bytes(max);
        }
        if let Some(max) = self.max_write_bytes {
            fs = fs.max_write_bytes(max);
        }
        if let Some(max) = self.max_run_write_bytes {
            fs = fs.max_run_write_bytes(max);
        }
        if let Some(max) = self.max_list {
            fs = fs.max_list(saturate(max));
        }
        if let Some(max) = self.max_path_bytes {
            fs = fs.max_path_bytes(saturate(max));
        }
        Ok(fs)
    }
}

impl HttpGrant {
    /// The capability, allowing the listed origins.
    ///
    /// # Errors
    ///
    /// [`Error::Host`] naming a `root_certificates` file that cannot be
    /// read or holds no certificate.
    pub fn http(&self) -> Result<Http> {
        let mut http = Http::new().allow_private(self.allow_private);
        for path in &self.root_certificates {
            let pem = std::fs::read(path).map_err(|e| {
                Error::Host(format!(
                    "cannot read the root certificates `{}`: {e}",
                    path.display()
                ))
            })?;
            Http::check_root_certificates(&pem)
                .map_err(|e| Error::Host(format!("`{}`: {e}", path.display())))?;
            http = http.root_certificates(&pem);
        }
        for origin in &self.allow {
            http = http.allow(origin);
        }
        if let Some(max) = self.max_response_bytes {
            http = http.max_response_bytes(max);
        }
        if let Some(max) = self.max_request_bytes {
            http = http.max_request_bytes(saturate(max));
        }
        if let Some(max) = self.max_redirects {
            http = http.max_redirects(max);
        }
        if let Some(max) = self.max_requests {
            http = http.max_requests(max);
        }
        if let Some(timeout) = self.timeout {
            http = http.timeout(timeout);
        }
        Ok(http)
    }
}

impl JsonGrant {
    /// The capability.
    pub fn json(&self) -> Json {
        let mut json = Json::new();
        if let Some(max) = self.max_handles {
            json = json.max_handles(saturate(max));
        }
        if let Some(max) = self.max_document_bytes {
            json = json.max_document_bytes(max);
        }
        if let Some(max) = self.max_total_bytes {
            json = json.max_total_bytes(max);
        }
        json
    }
}

impl AiGrant {
    /// The capability.
    pub fn ai(&self) -> Ai {
        let mut ai = Ai::new(&self.base_url, &self.model).allow_private(self.allow_private);
        if let Some(name) = &self.api_key_env {
            ai = ai.api_key_env(name);
        }
        if let Some(system) = &self.system {
            ai = ai.system(system);
        }
        if let Some(max) = self.max_tokens {
            ai = ai.max_tokens(max);
        }
        if let Some(max) = self.max_reply_tokens {
            ai = ai.max_reply_tokens(max);
        }
        if let Some(max) = self.max_prompt_bytes {
            ai = ai.max_prompt_bytes(saturate(max));
        }
        if let Some(max) = self.max_reply_bytes {
            ai = ai.max_reply_bytes(saturate(max));
        }
        if let Some(timeout) = self.timeout {
            ai = ai.timeout(timeout);
        }
        ai
    }
}

impl TimeGrant {
    /// The capability: a fixed clock if `start` is set or `deterministic`
    /// (starting at [`DETERMINISTIC_START`]), else the system's.
    pub fn time(&self, deterministic: bool) -> Time {
        let step = self.step.unwrap_or(Duration::from_millis(1));
        match (self.start, deterministic) {
            (Some(start), _) => Time::fixed(start, step),
            (None, true) => Time::fixed(DETERMINISTIC_START, step),
            (None, false) => Time::system(),
        }
    }
}

impl RandGrant {
    /// The capability: seeded if `seed` is set or `deterministic` (seed 0),
    /// else from the operating system.
    pub fn rand(&self, deterministic: bool) -> Rand {
        let rand = match (self.seed, deterministic) {
            (Some(seed), _) => Rand::seeded(seed),
            (None, true) => Rand::seeded(0),
            (None, false) => Rand::os(),
        };
        match self.max_run_bytes {
            Some(max) => rand.max_run_bytes(max),
            None => rand,
        }
    }
}

/// `error`, said to come from `[table]`.
fn in_table(table: &str, error: Error) -> Error {
    Error::Host(format!("[{table}]: {error}"))
}

/// A count too large for this machine's `usize` is as good as no limit.
fn saturate(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn cannot_read(path: &Path, error: &std::io::Error) -> Error {
    Error::Host(format!("cannot read `{}`: {error}", path.display()))
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

// Field readers. Each names the form it expects, so the error toml puts at
// the value's line says what to write instead.

/// A visitor over a string form, or a whole number where `N` says what it
/// means (`None`: numbers are not accepted).
struct Text<T> {
    expecting: &'static str,
    from_str: fn(&str) -> Result<T, String>,
    from_u64: Option<fn(u64) -> T>,
}

impl<T> Visitor<'_> for Text<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.from_str)(text).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<T, E> {
        match (self.from_u64, u64::try_from(n)) {
            (Some(from_u64), Ok(n)) => Ok(from_u64(n)),
            _ => Err(E::invalid_value(de::Unexpected::Signed(n), &self)),
        }
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<T, E> {
        match self.from_u64 {
            Some(from_u64) => Ok(from_u64(n)),
            None => Err(E::invalid_value(de::Unexpected::Unsigned(n), &self)),
        }
    }
}

fn read<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    expecting: &'static str,
    from_str: fn(&str) -> Result<T, String>,
    from_u64: Option<fn(u64) -> T>,
) -> Result<Option<T>, D::Error> {
    deserializer
        .deserialize_any(Text {
            expecting,
            from_str,
            from_u64,
        })
        .map(Some)
}

/// One path, or a list of them.
fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    struct Paths;

    impl<'de> Visitor<'de> for Paths {
        type Value = Vec<PathBuf>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a file path, or a list of them")
        }

        fn visit_str<E: de::Error>(self, path: &str) -> Result<Vec<PathBuf>, E> {
            Ok(vec![PathBuf::from(path)])
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<PathBuf>, A::Error> {
            let mut paths = Vec::new();
            while let Some(path) = seq.next_element::<PathBuf>()? {
                paths.push(path);
            }
            Ok(paths)
        }
    }

    d.deserialize_any(Paths)
}

fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    read(
        d,
        "a size such as \"16MiB\" or \"64KiB\", or a number of bytes",
        |text| {
            text.parse::<bytesize::ByteSize>()
                .map(|size| size.as_u64())
                .map_err(|e| format!("`{text}` is not a size such as \"16MiB\": {e}"))
        },
        Some(|n| n),
    )
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration such as \"500ms\" or \"2s\": {e}"))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    read(
        d,
        "a duration such as \"500ms\" or \"2s\"",
        parse_duration,
        None,
    )
}

fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Duration>>, D::Error> {
    read(
        d,
        "a duration such as \"500ms\" or \"2s\", or \"none\"",
        |text| match text {
            "none" => Ok(None),
            _ => parse_duration(text).map(Some),
        },
        None,
    )
}

fn fuel<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    read(
        d,
        "a number of fuel units, or \"none\"",
        |text| match text {
            "none" => Ok(None),
            _ => Err(format!(
                "`{text}` is not a number of fuel units or \"none\""
            )),
        },
        Some(Some),
    )
}

fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    read(
        d,
        "an RFC 3339 time such as \"2024-05-01T12:00:00Z\"",
        |text| {
            let time = humantime::parse_rfc3339(text).map_err(|e| {
                format!("`{text}` is not an RFC 3339 time such as \"2024-05-01T12:00:00Z\": {e}")
            })?;
            let nanos = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            i64::try_from(nanos).map_err(|_| format!("`{text}` is too far in the future"))
        },
        None,
    )
}
