//! `tape.toml`: the grants and limits of the programs in a directory.
//!
//! A manifest is data: [`Manifest::parse`] reads one, its public fields say
//! what it grants, and [`Manifest::grants`] and [`Manifest::limits`] turn it
//! into what [`Engine::compile_str`](tape_rt::Engine::compile_str) and
//! [`Program::run_with`](tape_rt::Program::run_with) take. A host may change
//! the fields in between — `tape run` lays its command-line flags over the
//! manifest that way, and then builds its grants with [`Manifest::grants`]
//! as every embedder does: there is one path from a manifest to grants.
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

use std::sync::Arc;

use tape_rt::{Capability, Grants, Limits, Spec};

/// What can be wrong with a manifest: its text, its file, or a grant it
/// asks for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The text is not a manifest: malformed TOML, a field the format does
    /// not have, a value of the wrong type or form.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The manifest's file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong, and what to write instead.
        message: String,
    },
    /// The file exists but cannot be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The manifest's file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A table is well formed but its capability cannot be set up: a `kv`
    /// database that does not open, an `fs` directory that does not
    /// exist, certificates that cannot be read.
    #[error("{}, [{table}]: {}", path.display(), reason(source))]
    Grant {
        /// The manifest's file (`tape.toml` for one built in memory).
        path: PathBuf,
        /// The table, which is the capability's name.
        table: &'static str,
        /// Why.
        source: tape_rt::Error,
    },
}

/// The file name `tape run` looks for beside a program.
pub const MANIFEST_NAME: &str = "tape.toml";

/// A capability's table in `tape.toml`, which grants it: the type beside
/// each built-in capability (`[kv]` is [`KvGrant`](crate::KvGrant)).
///
/// A table is read with serde, then [`resolve`](Table::resolve)d against
/// the manifest's directory, and [`grant`](Table::grant) builds the
/// capability it describes. The tables are listed once, in this module's
/// `builtins!` invocation: adding a capability is its module, with its
/// table implementing this trait, and one line there.
pub trait Table {
    /// Makes the table's paths relative to `base`, the manifest's
    /// directory, and checks what serde cannot; `at` turns a byte offset
    /// in the manifest's text and a message into the error to return.
    ///
    /// # Errors
    ///
    /// The error `at` makes, for a value of the wrong form.
    fn resolve(
        &mut self,
        _base: &Path,
        _at: &dyn Fn(usize, &str) -> ManifestError,
    ) -> Result<(), ManifestError> {
        Ok(())
    }

    /// The capability, configured as the table says; `manifest` holds
    /// what tables share (`deterministic`).
    ///
    /// # Errors
    ///
    /// Why it cannot be set up: a database that does not open, a directory
    /// that does not exist.
    fn grant(&self, manifest: &Manifest) -> tape_rt::Result<Arc<dyn Capability>>;
}

/// The built-in capabilities, each as `name: Table`: the module `name`
/// holds the capability and its `SPEC`, and `[name]` in `tape.toml` is its
/// table. Generates the [`Manifest`] with one field per table, [`SPECS`]
/// and the manifest's walks over its tables.
macro_rules! builtins {
    ($($name:ident: $table:ident,)*) => {
        /// A parsed `tape.toml`. Each `Some` grant table grants its
        /// capability; every limit left out keeps the runtime's default.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        #[non_exhaustive]
        pub struct Manifest {
            /// The file it was read from; relative paths in it start from
            /// its directory.
            #[serde(skip)]
            path: PathBuf,
            /// A fixed clock and a seeded generator for `time` and `rand`,
            /// unless their own tables say otherwise.
            #[serde(default)]
            pub deterministic: bool,
            /// Limits of each run.
            #[serde(default)]
            pub limits: LimitsTable,
            /// `[lints]`: the level of each compiler lint (`unused-status =
            /// "allow"`), or of all of them (`warnings = "deny"`); see
            /// [`tape_compiler::Lints`]. Checked as it is read: an unknown
            /// lint or level is an error at its line.
            #[serde(default, deserialize_with = "lint_levels")]
            pub lints: Vec<(String, tape_compiler::Level)>,
            $(
                #[doc = concat!("`[", stringify!($name), "]`: grants `", stringify!($name), "`; see [`", stringify!($table), "`](crate::", stringify!($table), ").")]
                pub $name: Option<crate::$name::$table>,
            )*
        }

        /// The spec of every built-in capability, `core` aside, in the
        /// order [`Manifest::grants`] grants them.
        pub const SPECS: [Spec; [$(stringify!($name)),*].len()] = [$(crate::$name::SPEC),*];

        impl Manifest {
            /// Each table the manifest has, by name.
            fn tables(&self) -> Vec<(&'static str, &dyn Table)> {
                let mut tables: Vec<(&'static str, &dyn Table)> = Vec::new();
                $(
                    if let Some(table) = &self.$name {
                        tables.push((stringify!($name), table));
                    }
                )*
                tables
            }

            /// Each table the manifest has, by name, to resolve.
            fn tables_mut(&mut self) -> Vec<(&'static str, &mut dyn Table)> {
                let mut tables: Vec<(&'static str, &mut dyn Table)> = Vec::new();
                $(
                    if let Some(table) = &mut self.$name {
                        tables.push((stringify!($name), table));
                    }
                )*
                tables
            }
        }
    };
}

builtins! {
    log: LogGrant,
    json: JsonGrant,
    time: TimeGrant,
    rand: RandGrant,
    kv: KvGrant,
    fs: FsGrant,
    http: HttpGrant,
    ai: AiGrant,
}

/// `[lints]`, each name and level checked where it is written.
fn lint_levels<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, tape_compiler::Level)>, D::Error> {
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
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
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
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
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

impl Manifest {
    /// Reads the manifest text of the file at `path`. Relative paths in it
    /// are taken from `path`'s directory.
    ///
    /// # Errors
    ///
    /// [`ManifestError::Invalid`] with the line and column of the first
    /// problem: malformed TOML, a field the format does not have, a value
    /// of the wrong type or form.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let error_at = |offset: usize, message: &str| {
            let (line, column) = line_column(text, offset);
            ManifestError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: message.trim_end().to_owned(),
            }
        };
        let mut manifest: Manifest = toml::from_str(text)
            .map_err(|e| error_at(e.span().map_or(0, |span| span.start), e.message()))?;
        manifest.path = path.to_owned();
        let base = path.parent().unwrap_or(Path::new(""));
        for (_, table) in manifest.tables_mut() {
            table.resolve(base, &error_at)?;
        }
        Ok(manifest)
    }

    /// Reads the manifest at `path`.
    ///
    /// # Errors
    ///
    /// [`ManifestError::Read`] if the file cannot be read; otherwise as
    /// [`parse`](Manifest::parse).
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| cannot_read(path, e))?;
        Manifest::parse(&text, path)
    }

    /// The `tape.toml` in the directory of `program`, if there is one.
    ///
    /// # Errors
    ///
    /// As [`load`](Manifest::load), when the file exists.
    pub fn beside(program: impl AsRef<Path>) -> Result<Option<Manifest>, ManifestError> {
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
            Err(error) => Err(cannot_read(&path, error)),
        }
    }

    /// The file the manifest was read from, as given to
    /// [`parse`](Manifest::parse) or [`load`](Manifest::load).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the capabilities the manifest grants (besides `core`).
    pub fn capabilities(&self) -> Vec<&'static str> {
        self.tables().into_iter().map(|(name, _)| name).collect()
    }

    /// Grants what cannot reach outside the run — `log`, `json`, `time`
    /// and `rand` — where the manifest has no table for them, with their
    /// defaults. `tape run` does this: a program may always log, parse
    /// JSON, read the clock and draw random numbers.
    pub fn grant_local(&mut self) {
        self.log.get_or_insert_default();
        self.json.get_or_insert_default();
        self.time.get_or_insert_default();
        self.rand.get_or_insert_default();
    }

    /// Every capability the manifest grants, configured as it says, over
    /// [`crate::grants`] (every built-in capability known). `log` goes to
    /// its [`LogGrant::sink`](crate::LogGrant::sink), `tracing` by default.
    ///
    /// # Errors
    ///
    /// [`ManifestError::Grant`] naming the table, if the `kv` database
    /// cannot be opened, the `fs` directory does not exist or the `http`
    /// certificates cannot be read.
    pub fn grants(&self) -> Result<Grants, ManifestError> {
        let in_table = |table: &'static str| {
            move |source: tape_rt::Error| ManifestError::Grant {
                path: if self.path.as_os_str().is_empty() {
                    PathBuf::from(MANIFEST_NAME)
                } else {
                    self.path.clone()
                },
                table,
                source,
            }
        };
        let mut grants = crate::grants();
        for (name, table) in self.tables() {
            grants.add(table.grant(self).map_err(in_table(name))?);
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

/// A count too large for this machine's `usize` is as good as no limit.
pub(crate) fn saturate(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// What a grant's error says, without "the `kv` capability failed": the
/// table names the capability already.
fn reason(error: &tape_rt::Error) -> String {
    match error.kind() {
        tape_rt::ErrorKind::Capability { source, .. } => source.to_string(),
        _ => error.to_string(),
    }
}

fn cannot_read(path: &Path, source: std::io::Error) -> ManifestError {
    ManifestError::Read {
        path: path.to_owned(),
        source,
    }
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

pub(crate) fn read<'de, D: Deserializer<'de>, T>(
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
pub(crate) fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
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

pub(crate) fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
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

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration such as \"500ms\" or \"2s\": {e}"))
}

pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    read(
        d,
        "a duration such as \"500ms\" or \"2s\"",
        parse_duration,
        None,
    )
}

pub(crate) fn timeout<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<Duration>>, D::Error> {
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

pub(crate) fn fuel<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
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

pub(crate) fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
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
