//! The `tape` custom section: what the runtime needs to know about a module
//! beyond its code.

use serde::{Deserialize, Serialize};

use crate::{Diagnostic, Diagnostics, Error, Level, Lint, Lints, Result, Severity};

/// Name of the custom section holding [`Metadata`].
pub const SECTION_NAME: &str = "tape";

/// Version of the [`Metadata`] layout this crate writes. It reads this one
/// and version 1, the layout before [`Metadata::arguments`] and
/// [`Metadata::warnings`] (read as a program that declares no arguments
/// and was compiled without warnings).
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
    /// The arguments the program declares with `(arg …)`, in order:
    /// argument N is the Nth. Empty when it declares none (then its
    /// arguments are whatever the caller passes).
    pub arguments: Vec<Argument>,
    /// What the lints found when it was compiled, so that a run from the
    /// module cache shows the same warnings as the compile did.
    pub warnings: Vec<Warning>,
}

/// The layout of version 1, which had no `arguments`.
#[derive(Deserialize)]
struct MetadataV1 {
    version: u32,
    initial_top: u32,
    imports: Vec<Import>,
    literals: Vec<Literal>,
    file: String,
    lines: Vec<LineEntry>,
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

    /// Decodes a `tape` section's contents, of this format version or
    /// version 1.
    ///
    /// # Errors
    ///
    /// [`Error::Metadata`] if the bytes are not metadata of a version this
    /// crate reads.
    pub fn decode(bytes: &[u8]) -> Result<Metadata> {
        // The version is the struct's first field, right after its length
        // prefix: read it alone first so a newer layout gets a clear message.
        let version = bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes);
        let bad = |e: tape_protocol::Error| Error::Metadata(e.to_string());
        match version {
            Some(1) => {
                let old: MetadataV1 = tape_protocol::from_bytes(bytes).map_err(bad)?;
                Ok(Metadata {
                    version: old.version,
                    initial_top: old.initial_top,
                    imports: old.imports,
                    literals: old.literals,
                    file: old.file,
                    lines: old.lines,
                    arguments: Vec::new(),
                    warnings: Vec::new(),
                })
            }
            Some(version) if version != FORMAT_VERSION => Err(Error::Metadata(format!(
                "format version {version}, but this Tape reads versions 1 to {FORMAT_VERSION}; rebuild the module"
            ))),
            _ => tape_protocol::from_bytes(bytes).map_err(bad),
        }
    }
}

/// An argument the program declares: `(arg $name TYPE "description")`,
/// optionally with `(default VALUE)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argument {
    /// The name, without its `$`.
    pub name: String,
    /// What the caller must pass.
    pub ty: ArgType,
    /// One line saying what it is for.
    pub description: String,
    /// The value used when the caller passes none, in its text form (what
    /// [`ArgType::parse_text`] reads); `None` for a required argument.
    pub default: Option<String>,
}

impl Argument {
    /// Whether the caller must pass it.
    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }
}

/// The type of a declared argument, and how the guest receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArgType {
    /// Text: `[u32 len][utf-8]`.
    Str,
    /// A 32-bit signed integer: 4 bytes little-endian.
    I32,
    /// A 64-bit signed integer: 8 bytes little-endian.
    I64,
    /// A 32-bit unsigned integer: 4 bytes little-endian.
    U32,
    /// A 64-bit unsigned integer: 8 bytes little-endian.
    U64,
    /// A 32-bit float: 4 bytes little-endian.
    F32,
    /// A 64-bit float: 8 bytes little-endian.
    F64,
    /// `true` or `false`: 1 byte, 1 or 0.
    Bool,
    /// JSON text, checked to be valid JSON, handed over as a string
    /// `[u32 len][utf-8]` (as `json.parse` takes it).
    Json,
    /// Bytes: `[u32 len][bytes]`. On the command line, the path of a file
    /// whose bytes they are.
    Bytes,
}

impl ArgType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [ArgType; 10] = [
        ArgType::Str,
        ArgType::I32,
        ArgType::I64,
        ArgType::U32,
        ArgType::U64,
        ArgType::F32,
        ArgType::F64,
        ArgType::Bool,
        ArgType::Json,
        ArgType::Bytes,
    ];

    /// The name a declaration writes: `str`, `i32`, …
    pub fn name(self) -> &'static str {
        match self {
            ArgType::Str => "str",
            ArgType::I32 => "i32",
            ArgType::I64 => "i64",
            ArgType::U32 => "u32",
            ArgType::U64 => "u64",
            ArgType::F32 => "f32",
            ArgType::F64 => "f64",
            ArgType::Bool => "bool",
            ArgType::Json => "json",
            ArgType::Bytes => "bytes",
        }
    }

    /// The type a declaration names, if any.
    pub fn from_name(name: &str) -> Option<ArgType> {
        ArgType::ALL.into_iter().find(|ty| ty.name() == name)
    }

    /// Whether the guest gets a pointer to a length-prefixed value (`str`,
    /// `json`, `bytes`) rather than a number.
    pub fn is_pointer(self) -> bool {
        matches!(self, ArgType::Str | ArgType::Json | ArgType::Bytes)
    }

    /// The wire value of `text` read as this type: a string's or bytes'
    /// text as it is, a number in decimal (`-17`, `2.5e-3`, `inf`), a bool
    /// `true` or `false`, JSON text checked to be valid.
    ///
    /// # Errors
    ///
    /// Why `text` is not a value of this type, in words that can follow
    /// "`TEXT` is not …".
    pub fn parse_text(self, text: &str) -> std::result::Result<Vec<u8>, String> {
        fn number<T>(text: &str, what: &str) -> std::result::Result<Vec<u8>, String>
        where
            T: std::str::FromStr + Serialize,
            T::Err: std::fmt::Display,
        {
            let value: T = text
                .trim()
                .parse()
                .map_err(|e| format!("`{text}` is not a valid {what}: {e}"))?;
            tape_protocol::to_vec(&value).map_err(|e| e.to_string())
        }
        match self {
            ArgType::Str | ArgType::Bytes => length_prefixed(text.as_bytes()),
            ArgType::I32 => number::<i32>(text, "i32"),
            ArgType::I64 => number::<i64>(text, "i64"),
            ArgType::U32 => number::<u32>(text, "u32"),
            ArgType::U64 => number::<u64>(text, "u64"),
            ArgType::F32 => number::<f32>(text, "f32"),
            ArgType::F64 => number::<f64>(text, "f64"),
            ArgType::Bool => match text {
                "true" => Ok(vec![1]),
                "false" => Ok(vec![0]),
                _ => Err(format!("`{text}` is not a bool: write `true` or `false`")),
            },
            ArgType::Json => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => length_prefixed(text.as_bytes()),
                Err(e) => Err(format!("`{text}` is not valid JSON: {e}")),
            },
        }
    }
}

impl std::fmt::Display for ArgType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[u32 len][bytes]`, as the wire format writes bytes.
fn length_prefixed(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    tape_protocol::to_vec(serde_bytes::Bytes::new(bytes)).map_err(|e| e.to_string())
}

/// A lint's finding, kept in the module: a [`Diagnostic`] without its
/// source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The lint's name, e.g. `unused-status`.
    pub lint: String,
    /// What is wrong.
    pub message: String,
    /// What the span shows, beside it.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// Where, as a byte range of the source.
    pub span: Option<(u32, u32)>,
}

impl Warning {
    pub(crate) fn new(diagnostic: &Diagnostic) -> Warning {
        Warning {
            lint: diagnostic.code.unwrap_or_default().to_string(),
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
        let lint = match self.lint.as_str() {
            "" => None,
            name => Some(Lint::from_name(name)?),
        };
        let level = lint.map_or(Level::Warn, |lint| lints.level(lint));
        let mut diagnostic = Diagnostic::new(self.message.clone());
        diagnostic.severity = match level {
            Level::Allow => return None,
            Level::Warn => Severity::Warning,
            Level::Deny => Severity::Error,
        };
        diagnostic.code = lint.map(Lint::name);
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
