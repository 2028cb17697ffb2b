//! The `tape` custom section: what the runtime needs to know about a module
//! beyond its code.

use serde::{Deserialize, Serialize};

use crate::{Diagnostic, Diagnostics, Error, Level, Lint, Lints, Result, Severity};

/// Name of the custom section holding [`Metadata`].
pub const SECTION_NAME: &str = "tape";

/// Version of the [`Metadata`] layout this crate writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// Metadata written into every compiled module, encoded with the wire
/// format (`tape-protocol`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// Where the bump allocator starts: the end of static data (and of any
    /// active data segment at a constant offset in `mem.tape`), rounded up
    /// to 8.
    pub initial_top: u32,
    /// Every function the module imports, automatic or written by hand.
    pub imports: Vec<Import>,
    /// Every string literal placed in static data.
    pub literals: Vec<Literal>,
    /// The source file's name, as diagnostics show it.
    pub file: String,
    /// Where each instruction came from in the source, by its offset in the
    /// module, sorted; what traps and validation errors are located with.
    pub lines: Vec<LineEntry>,
    /// What the lints found when it was compiled, so that a run from the
    /// module cache shows the same warnings as the compile did.
    pub warnings: Vec<Warning>,
}

/// A lint's finding, kept in the module: a [`Diagnostic`] without its
/// source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The lint's name, e.g. `unused-status`.
    pub lint: String,
    pub message: String,
    pub label: Option<String>,
    pub help: Option<String>,
    /// Where, as a byte range of the source.
    pub span: Option<(u32, u32)>,
}

impl Warning {
    pub(crate) fn new(diagnostic: &Diagnostic) -> Warning {
        Warning {
            lint: diagnostic.code.clone().unwrap_or_default(),
            message: diagnostic.message.clone(),
            label: diagnostic.label.clone(),
            help: diagnostic.help.clone(),
            span: diagnostic
                .span
                .as_ref()
                .map(|span| (span.start as u32, span.end as u32)),
        }
    }

    /// The warning as a diagnostic at `level` (a warning, or an error when
    /// denied), or `None` when `lints` allow it or it names no lint.
    pub fn diagnostic(&self, lints: &Lints) -> Option<Diagnostic> {
        // No lint: the line that counts findings past the cap.
        let level = match self.lint.as_str() {
            "" => Level::Warn,
            lint => lints.level(Lint::from_name(lint)?),
        };
        let mut diagnostic = Diagnostic::new(self.message.clone());
        diagnostic.severity = match level {
            Level::Allow => return None,
            Level::Warn => Severity::Warning,
            Level::Deny => Severity::Error,
        };
        diagnostic.code = (!self.lint.is_empty()).then(|| self.lint.clone());
        diagnostic.label = self.label.clone();
        diagnostic.help = self.help.clone();
        diagnostic.span = self.span.map(|(start, end)| start as usize..end as usize);
        Some(diagnostic)
    }
}

/// The [`Warning`]s of a module compiled from `source` (a file shown as
/// `name`), at the levels `lints` give them; allowed ones are left out.
/// A span outside `source` (the module was compiled from another text) is
/// dropped, keeping the message.
pub fn warnings(metadata: &Metadata, name: &str, source: &str, lints: &Lints) -> Diagnostics {
    let items = metadata
        .warnings
        .iter()
        .filter_map(|warning| warning.diagnostic(lints))
        .map(|mut diagnostic| {
            if diagnostic.span.as_ref().is_some_and(|span| {
                span.end > source.len()
                    || !source.is_char_boundary(span.start)
                    || !source.is_char_boundary(span.end)
            }) {
                diagnostic.span = None;
            }
            diagnostic
        })
        .collect();
    Diagnostics::new(name, source.into(), items)
}

/// One row of the line table: the instructions from `offset` on (up to the
/// next row) were written at `line`:`column` of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineEntry {
    /// Byte offset in the module binary.
    pub offset: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// An imported host function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Import {
    /// The capability, e.g. `log`.
    pub module: String,
    /// The function, e.g. `write`.
    pub name: String,
}

/// A string literal in static data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Literal {
    /// Offset of its `[u32 len][bytes]` in `mem.tape`.
    pub offset: u32,
    /// The bytes, escapes decoded.
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    /// The 1-based source line of its first occurrence.
    pub line: u32,
}

impl Metadata {
    /// Reads the `tape` section of a compiled module; `Ok(None)` if the
    /// module has none (it was not made by Tape).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidModule`] if `wasm` cannot be parsed far enough to
    /// find its custom sections, [`Error::Metadata`] if the section is
    /// malformed, duplicated or of another format version.
    pub fn from_module(wasm: &[u8]) -> Result<Option<Metadata>> {
        let mut found = None;
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            let payload = payload.map_err(|e| Error::InvalidModule(e.to_string()))?;
            if let wasmparser::Payload::CustomSection(section) = payload
                && section.name() == SECTION_NAME
            {
                if found.is_some() {
                    return Err(Error::Metadata("the module has two `tape` sections".into()));
                }
                found = Some(Self::decode(section.data())?);
            }
        }
        Ok(found)
    }

    /// The source line and column of the instruction at byte `offset` of
    /// the module (a trap's or a validation error's), if it is code.
    pub fn location(&self, offset: u32) -> Option<(u32, u32)> {
        let after = self.lines.partition_point(|entry| entry.offset <= offset);
        let entry = self.lines.get(after.checked_sub(1)?)?;
        Some((entry.line, entry.column))
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Only a value over 4 GiB fails to encode, and static data is capped
        // far below that.
        tape_protocol::to_vec(self).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> Result<Metadata> {
        // The version is the struct's first field, right after its length
        // prefix: read it alone first so a newer layout gets a clear message.
        let version = bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes);
        if let Some(version) = version
            && version != FORMAT_VERSION
        {
            return Err(Error::Metadata(format!(
                "format version {version}, but this Tape reads version {FORMAT_VERSION}; rebuild the module"
            )));
        }
        tape_protocol::from_bytes(bytes).map_err(|e| Error::Metadata(e.to_string()))
    }
}
