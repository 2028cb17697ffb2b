use std::path::PathBuf;

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
        path: PathBuf,
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
