//! Tape's compiler: extended WebAssembly text in, a validated module out.
//!
//! A preprocessor rewrites Tape's extensions (string literals as values,
//! automatic capability imports, …) into plain WebAssembly text in one pass;
//! `wast` parses and encodes it; the encoder adds static data, the
//! `mem.tape` and `run` exports and a `tape` metadata section, and validates
//! the result. Every error points at the user's own text.
//!
//! ```
//! use tape_compiler::{Catalogue, Options, compile_str};
//!
//! let mut catalogue = Catalogue::new();
//! catalogue.insert("core", "result", "(param $ptr i32) (result i32)");
//! let options = Options { catalogue, ..Options::default() };
//!
//! let compiled = compile_str(
//!     "hello.wat",
//!     r#"(func $run (result i32) (call $core.result "hello, world"))"#,
//!     &options,
//! )?;
//! // The literal is `[u32 len][bytes]` at offset 8; the allocator starts after it.
//! assert_eq!(compiled.metadata.literals[0].offset, 8);
//! assert_eq!(compiled.metadata.initial_top, 24);
//! assert_eq!(compiled.metadata.imports[0].module, "core");
//!
//! // Errors point at the user's line and column.
//! let error = compile_str("bad.wat", "(func $run\n  (call $core.reslt))", &options).unwrap_err();
//! assert!(error.to_string().contains("bad.wat:2:9"));
//! # Ok::<(), tape_compiler::Error>(())
//! ```

mod catalogue;
mod diagnostic;
mod encode;
mod error;
mod lexer;
mod metadata;
mod preprocess;
mod source_map;

use source_map::{LineIndex, Locator};

use std::ops::Range;
use std::path::Path;

pub use catalogue::Catalogue;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use encode::{MEMORY_EXPORT, RUN_EXPORT};
pub use error::{Error, Result};
pub use metadata::{FORMAT_VERSION, Import, LineEntry, Literal, Metadata, SECTION_NAME};
pub use preprocess::{Library, MAX_NESTING, MAX_STATIC_DATA};

/// A fingerprint of this build of the compiler and the standard library:
/// two builds that may compile a source differently have different ones.
/// For caches keyed on source text, which must not return what another
/// build compiled.
pub const BUILD: &str = env!("TAPE_COMPILER_BUILD");

/// How to compile.
#[derive(Debug, Clone)]
pub struct Options {
    /// Host functions a program may call without importing them.
    pub catalogue: Catalogue,
    /// Functions pulled in when called: by default, the standard library.
    pub library: Library,
    /// Record where every instruction came from, so a trap can name its
    /// source line ([`Metadata::lines`]). Costs about a third of the compile
    /// time; validation errors are located precisely either way.
    pub line_table: bool,
}

impl Options {
    /// Whether [`Options::default`] records the line table.
    pub const LINE_TABLE: bool = true;
}

impl Default for Options {
    fn default() -> Self {
        Options {
            catalogue: Catalogue::default(),
            library: Library::standard(),
            line_table: Self::LINE_TABLE,
        }
    }
}

/// A compiled module.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The module's bytes, validated.
    pub wasm: Vec<u8>,
    /// What the `tape` section of `wasm` holds.
    pub metadata: Metadata,
    /// The preprocessed WebAssembly text that `wast` compiled.
    pub expanded: String,
}

/// Compiles extended WebAssembly text. `name` is the file name shown in
/// diagnostics.
///
/// # Errors
///
/// [`Error::Source`] with every problem found, each located in `source`.
pub fn compile_str(name: &str, source: &str, options: &Options) -> Result<Compiled> {
    let fail = |items: Vec<Diagnostic>| Error::source(name, source, items);
    let expanded =
        preprocess::preprocess(source, &options.catalogue, &options.library).map_err(fail)?;
    let module = parse(name, &expanded.text, options.line_table).map_err(|(message, offset)| {
        let at = expanded.map.to_source(offset);
        fail(vec![Diagnostic::new(message).at(token_at(source, at))])
    })?;
    // Built only when there are rows to locate: a line table, or an error.
    let expanded_lines = std::cell::OnceCell::new();
    let expanded_lines = || expanded_lines.get_or_init(|| LineIndex::new(&expanded.text));
    let mut locator = None;
    let report = |error: encode::EncodeError| {
        let mut diagnostic = Diagnostic::new(error.message);
        let function_span = error.function.as_ref().and_then(|function| {
            let name = function.trim_start_matches("`$").trim_end_matches('`');
            expanded.functions.get(name).cloned()
        });
        let instruction = error
            .position
            .and_then(|(line, column)| LineIndex::new(source).char_offset(source, line, column));
        if let Some(function) = &error.function {
            diagnostic = diagnostic.label(format!("in {function}"));
        }
        if let Some(at) = instruction {
            diagnostic = diagnostic.at(token_at(source, at));
        } else if let Some(span) = function_span {
            diagnostic = diagnostic.at(span);
        }
        fail(vec![diagnostic])
    };
    let mut locate = |line, column| {
        locator
            .get_or_insert_with(|| Locator::new(source, expanded_lines(), &expanded.map))
            .locate(line, column)
    };
    let encoded = match encode::encode(&module, &expanded.data, name, &mut locate) {
        Ok(encoded) => encoded,
        Err(error) if error.function.is_some() && !options.line_table => {
            // A validation error without a line table: only this path pays
            // for encoding again with one, to point at the instruction.
            let mut locator = Locator::new(source, expanded_lines(), &expanded.map);
            let located = parse(name, &expanded.text, true).ok().and_then(|module| {
                encode::encode(&module, &expanded.data, name, &mut |l, c| {
                    locator.locate(l, c)
                })
                .err()
            });
            return Err(report(located.unwrap_or(error)));
        }
        Err(error) => return Err(report(error)),
    };
    Ok(Compiled {
        wasm: encoded.wasm,
        metadata: encoded.metadata,
        expanded: expanded.text,
    })
}

/// Preprocesses extended WebAssembly text into plain WebAssembly text, the
/// input `wast` sees, without compiling it further (`tape expand`).
///
/// # Errors
///
/// [`Error::Source`] with every problem the preprocessor finds.
pub fn expand_str(name: &str, source: &str, options: &Options) -> Result<String> {
    preprocess::preprocess(source, &options.catalogue, &options.library)
        .map(|expanded| expanded.text)
        .map_err(|items| Error::source(name, source, items))
}

/// Reads and compiles a file; see [`compile_str`]. Diagnostics name the
/// file by its path.
///
/// # Errors
///
/// As [`read_source`], and [`Error::Source`] if the program has errors.
pub fn compile_file(path: impl AsRef<Path>, options: &Options) -> Result<Compiled> {
    let path = path.as_ref();
    compile_str(&path.display().to_string(), &read_source(path)?, options)
}

/// Reads a program's source: the text of the file at `path`.
///
/// # Errors
///
/// [`Error::Read`] if the file cannot be read, [`Error::Source`] locating
/// the first byte that is not UTF-8.
pub fn read_source(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(error.as_bytes());
        // The lossy text has the same offsets up to the first bad byte.
        Error::source(
            &path.display().to_string(),
            &text,
            vec![
                Diagnostic::new("the file is not valid UTF-8")
                    .at(at..at + 1)
                    .help(
                        "WebAssembly text is UTF-8; write other bytes as `\\hh` escapes in strings",
                    ),
            ],
        )
    })
}

/// Parses and encodes plain WebAssembly text, with a DWARF line table so
/// every instruction can be traced back to the text; an error is its
/// message and offset in `text`.
fn parse(name: &str, text: &str, lines: bool) -> Result<Vec<u8>, (String, usize)> {
    let located = |e: wast::Error| (e.message(), e.span().offset());
    let mut buffer = wast::parser::ParseBuffer::new(text).map_err(located)?;
    buffer.track_instr_spans(lines);
    let mut wat = wast::parser::parse::<wast::Wat>(&buffer).map_err(located)?;
    let mut options = wast::core::EncodeOptions::new();
    if lines {
        options.dwarf(Path::new(name), text, wast::core::GenerateDwarf::Lines);
    }
    options.encode_wat(&mut wat).map_err(located)
}

/// The span of the token starting at `at`, for a caret under all of it:
/// empty at the end of the source (an "unexpected end-of-file"), where
/// there is no character to point at.
fn token_at(source: &str, at: usize) -> Range<usize> {
    let rest = source.get(at..).unwrap_or_default();
    let len = rest
        .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .unwrap_or(rest.len());
    let at = at.min(source.len());
    at..(at + len.max(1)).min(source.len())
}

#[cfg(test)]
mod tests {
    use super::token_at;

    /// A wast error at the end of the source points at an empty span there,
    /// never past the source (which the `compile` fuzz target checks).
    #[test]
    fn a_token_span_stays_within_the_source() {
        assert_eq!(token_at("(i32.add x)", 1), 1..8);
        assert_eq!(token_at("(module", 7), 7..7);
        assert_eq!(token_at("", 0), 0..0);
        assert_eq!(token_at("ab", 5), 2..2);
    }
}
