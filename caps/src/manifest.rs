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

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use tape_rt::{Grants, Limits, Spec};

use crate::table::{ManifestError, Shared, Table, fuel, saturate, size, timeout};

/// The file name `tape run` looks for beside a program.
pub const MANIFEST_NAME: &str = "tape.toml";

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
    stdin: StdinGrant,
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
        let shared = Shared {
            deterministic: self.deterministic,
        };
        let mut grants = crate::grants();
        for (name, table) in self.tables() {
            grants.add(table.grant(&shared).map_err(in_table(name))?);
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
