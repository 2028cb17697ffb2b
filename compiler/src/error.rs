use std::path::PathBuf;
use std::time::Duration;

use crate::Diagnostics;

/// Everything that can go wrong while compiling or reading a module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The source has errors; each is located in the user's text.
    #[error("{0}")]
    Source(Box<Diagnostics>),
    /// The source file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly module Tape can read.
    #[error("not a valid WebAssembly module: {0}")]
    InvalidModule(String),
    /// The module's `tape` custom section is malformed or from an
    /// incompatible version.
    #[error("bad `tape` metadata section: {0}")]
    Metadata(String),
    /// The source (or module) is larger than the compile budget allows
    /// ([`Budget::max_source_bytes`](crate::Budget::max_source_bytes));
    /// nothing was compiled.
    #[error("`{name}` is {size} bytes, over the compile budget of {limit} bytes")]
    TooLarge {
        /// The program's name.
        name: String,
        /// Its size in bytes.
        size: usize,
        /// The budget's limit in bytes.
        limit: usize,
    },
    /// Compiling took longer than the compile budget allows
    /// ([`Budget::timeout`](crate::Budget::timeout)).
    #[error("compiling `{name}` took longer than its {timeout:?} budget")]
    Timeout {
        /// The program's name.
        name: String,
        /// The budget's time.
        timeout: Duration,
    },
}

impl Error {
    /// The problems in `source`, a file shown as `name`.
    pub(crate) fn source(name: &str, source: &str, items: Vec<crate::Diagnostic>) -> Error {
        Error::Source(Box::new(Diagnostics::new(name, source.into(), items)))
    }

    /// The diagnostics, if this is an error in the source text.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Source(d) => Some(d),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
