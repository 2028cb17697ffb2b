//! What every capability's table in `tape.toml` shares: the [`Table`]
//! trait, the [`ManifestError`] a table can cause, and the readers of the
//! forms its fields take (sizes, durations, times), each of which names the
//! form it expects, so that the error at a value's line says what to write.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde::de::{self, Deserializer, Visitor};
use tape_rt::Capability;

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

/// A capability's table in `tape.toml`, which grants it: the type beside
/// each built-in capability (`[kv]` is [`KvGrant`](crate::KvGrant)).
///
/// A table is read with serde, then [`resolve`](Table::resolve)d against
/// the manifest's directory, and [`grant`](Table::grant) builds the
/// capability it describes. The tables are listed once, in the
/// `builtins!` invocation of [`manifest`](crate::manifest): adding a
/// capability is its module, with its table implementing this trait, and
/// one line there.
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

    /// The capability, configured as the table says; `shared` holds what
    /// the manifest says for every table.
    ///
    /// # Errors
    ///
    /// Why it cannot be set up: a database that does not open, a directory
    /// that does not exist.
    fn grant(&self, shared: &Shared) -> tape_rt::Result<Arc<dyn Capability>>;
}

/// What a manifest says for every table, handed to [`Table::grant`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Shared {
    /// A fixed clock and a seeded generator for `time` and `rand`, unless
    /// their own tables say otherwise.
    pub deterministic: bool,
}

/// A count too large for this machine's `usize` is as good as no limit.
pub(crate) fn saturate(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// What a grant's error says, without "the `kv` capability failed": the
/// table names the capability already.
pub(crate) fn reason(error: &tape_rt::Error) -> String {
    match error.kind() {
        tape_rt::ErrorKind::Capability { source, .. } => source.to_string(),
        _ => error.to_string(),
    }
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
