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
mod explain;
mod lexer;
mod metadata;
mod preprocess;
mod source_map;

use source_map::{LineIndex, Locator};

use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

pub use catalogue::Catalogue;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use encode::{MEMORY_EXPORT, RUN_EXPORT};
pub use error::{Error, Result};
pub use metadata::{
    ArgType, Argument, FORMAT_VERSION, Import, LineEntry, Literal, Metadata, SECTION_NAME,
};
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
    /// How large a source may be and how long compiling it may take.
    pub budget: Budget,
}

/// Bounds on one compilation, for source that is not trusted: compiling
/// takes time and memory in proportion to the source's size (about 20
/// bytes of memory per byte of source), and the size is checked before
/// anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of source text accepted; a larger source is
    /// [`Error::TooLarge`]. Default [`Budget::DEFAULT_MAX_SOURCE_BYTES`].
    pub max_source_bytes: usize,
    /// Time compiling may take; past it, [`Error::Timeout`]. Checked
    /// between the compiler's passes, each of which takes time linear in
    /// the size of the source. `None`, the default, for no limit.
    pub timeout: Option<Duration>,
}

impl Budget {
    /// The default [`Budget::max_source_bytes`]: 8 MiB, many times the
    /// largest hand-written program, and about 160 MiB of memory to
    /// compile.
    pub const DEFAULT_MAX_SOURCE_BYTES: usize = 8 << 20;

    /// Fails with [`Error::TooLarge`] if `size` bytes are over the budget.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`], naming `name`.
    pub fn check_size(&self, name: &str, size: usize) -> Result<()> {
        if size > self.max_source_bytes {
            return Err(Error::TooLarge {
                name: name.to_string(),
                size,
                limit: self.max_source_bytes,
            });
        }
        Ok(())
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_source_bytes: Self::DEFAULT_MAX_SOURCE_BYTES,
            timeout: None,
        }
    }
}

/// When a compilation that started at `start` must be done by, and the
/// check that it is.
struct Deadline<'n> {
    name: &'n str,
    at: Option<(Instant, Duration)>,
}

impl<'n> Deadline<'n> {
    fn new(name: &'n str, budget: &Budget) -> Self {
        Deadline {
            name,
            at: budget
                .timeout
                .map(|timeout| (Instant::now() + timeout, timeout)),
        }
    }

    fn check(&self) -> Result<()> {
        match self.at {
            Some((at, timeout)) if Instant::now() > at => Err(Error::Timeout {
                name: self.name.to_string(),
                timeout,
            }),
            _ => Ok(()),
        }
    }
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
            budget: Budget::default(),
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
/// [`Error::Source`] with every problem found, each located in `source`;
/// [`Error::TooLarge`] or [`Error::Timeout`] past the [`Budget`].
pub fn compile_str(name: &str, source: &str, options: &Options) -> Result<Compiled> {
    options.budget.check_size(name, source.len())?;
    let deadline = Deadline::new(name, &options.budget);
    let fail = |items: Vec<Diagnostic>| Error::source(name, source, items);
    let expanded =
        preprocess::preprocess(source, &options.catalogue, &options.library).map_err(fail)?;
    deadline.check()?;
    let module = parse(name, &expanded.text, options.line_table).map_err(|(message, offset)| {
        let at = expanded.map.to_source(offset);
        fail(vec![Diagnostic::new(message).at(token_at(source, at))])
    })?;
    deadline.check()?;
    // Built only when there are rows to locate: a line table, or an error.
    let expanded_lines = std::cell::OnceCell::new();
    let expanded_lines = || expanded_lines.get_or_init(|| LineIndex::new(&expanded.text));
    let mut locator = None;
    let report = |error: encode::EncodeError| {
        let offset_of = |(line, column)| LineIndex::new(source).char_offset(source, line, column);
        let (message, position, help) = match &error.cause {
            Some(cause) => explained(source, cause, &error.message, error.position),
            None => (error.message.clone(), error.position, None),
        };
        let mut diagnostic = Diagnostic::new(message);
        if let Some(help) = help.as_deref().or(error.help) {
            diagnostic = diagnostic.help(help);
        }
        let function_span = error.function.as_ref().and_then(|function| {
            let name = function.trim_start_matches("`$").trim_end_matches('`');
            expanded.functions.get(name).cloned()
        });
        let instruction = position.and_then(offset_of);
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
    // Text the preprocessor left as it was is plain WebAssembly text, valid
    // or not exactly as `wat` and a validator would find it.
    let plain = expanded.text == source;
    let arguments = &expanded.arguments;
    let encoded = match encode::encode(&module, &expanded.data, name, plain, arguments, &mut locate)
    {
        Ok(encoded) => encoded,
        Err(error) if error.function.is_some() && !options.line_table => {
            // A validation error without a line table: only this path pays
            // for encoding again with one, to point at the instruction.
            let mut locator = Locator::new(source, expanded_lines(), &expanded.map);
            let located = parse(name, &expanded.text, true).ok().and_then(|module| {
                encode::encode(
                    &module,
                    &expanded.data,
                    name,
                    plain,
                    arguments,
                    &mut |l, c| locator.locate(l, c),
                )
                .err()
            });
            return Err(report(located.unwrap_or(error)));
        }
        Err(error) => return Err(report(error)),
    };
    deadline.check()?;
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
/// [`Error::Source`] with every problem the preprocessor finds;
/// [`Error::TooLarge`] past the [`Budget`]'s size.
pub fn expand_str(name: &str, source: &str, options: &Options) -> Result<String> {
    options.budget.check_size(name, source.len())?;
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
    // Bidirectional and other "confusing" characters are valid text (the
    // specification's `names.wast` has them); a sandbox has no reviewer to
    // mislead.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let mut buffer = wast::parser::ParseBuffer::new_with_lexer(lexer).map_err(located)?;
    buffer.track_instr_spans(lines);
    let mut wat = wast::parser::parse::<wast::Wat>(&buffer).map_err(located)?;
    let mut options = wast::core::EncodeOptions::new();
    if lines {
        options.dwarf(Path::new(name), text, wast::core::GenerateDwarf::Lines);
    }
    options.encode_wat(&mut wat).map_err(located)
}

/// A stack-type error told at its cause: the message, where to point, and
/// a help line.
fn explained(
    source: &str,
    at: &encode::CauseAt,
    message: &str,
    position: Option<(u32, u32)>,
) -> (String, Option<(u32, u32)>, Option<String>) {
    let text = |position: Option<(u32, u32)>| {
        let (line, column) = position?;
        let offset = LineIndex::new(source).char_offset(source, line, column)?;
        Some(instruction_text(source, offset))
    };
    match &at.cause {
        explain::Cause::LeftOver {
            origin,
            index,
            next,
        } => {
            let Some(made) = text(at.origin) else {
                return (message.to_string(), position, None);
            };
            let taker = next.and_then(|next| Some((text(at.next)?, next.takes)));
            let (message, help) = match (origin.gives, taker) {
                (1, Some((taker, takes))) => (
                    format!(
                        "the value of `{made}` is never used: `{taker}` after it takes {}, and not this one",
                        values(takes)
                    ),
                    "remove it if it is a value too many, `drop` it if it is not needed, \
                     or store it with `local.set`"
                        .to_string(),
                ),
                (1, None) => (
                    format!("the value of `{made}` is never used: nothing takes it"),
                    "`drop` it if it is not needed, store it with `local.set`, or return it"
                        .to_string(),
                ),
                (gives, Some((taker, takes))) => (
                    format!(
                        "`{made}` returns {}, but `{taker}` takes {}: the {} is left on the stack",
                        values(gives),
                        takes,
                        ordinal(*index)
                    ),
                    "take every value a call returns, the last first: \
                     `(local.set $status) (local.set $value)`; `drop` those you do not need"
                        .to_string(),
                ),
                (gives, None) => (
                    format!(
                        "`{made}` returns {}, and the {} is left on the stack: nothing takes it",
                        values(gives),
                        ordinal(*index)
                    ),
                    "take every value a call returns, the last first: \
                     `(local.set $status) (local.set $value)`; `drop` those you do not need"
                        .to_string(),
                ),
            };
            (message, at.origin, Some(help))
        }
        explain::Cause::EndsWithout { function } => {
            let what = if *function {
                "the function ends"
            } else {
                "the block ends"
            };
            let expected = message
                .split_once("expected ")
                .and_then(|(_, rest)| rest.split(' ').next())
                .unwrap_or("a value");
            (
                format!("{what} without the {expected} it returns: nothing is left on the stack"),
                position,
                Some(
                    "end it with the value to return; a function that returns a status \
                     ends with `(i32.const 0)` for success"
                        .to_string(),
                ),
            )
        }
        explain::Cause::WrongType { .. } => {
            let help = text(at.origin)
                .zip(at.origin)
                .map(|(made, (line, column))| {
                    format!(
                        "the value it found is made by `{made}` at line {line}, column {column}"
                    )
                });
            (message.to_string(), position, help)
        }
    }
}

/// "first", "second"… for value `index` (from 0) of a call's results.
fn ordinal(index: u32) -> String {
    match index {
        0 => "first".into(),
        1 => "second".into(),
        2 => "third".into(),
        n => format!("value number {}", n + 1),
    }
}

fn values(count: u32) -> String {
    match count {
        1 => "1 value".to_string(),
        n => format!("{n} values"),
    }
}

/// The instruction written at `at`: its keyword, with the function's name
/// for a call; a string literal as written.
fn instruction_text(source: &str, at: usize) -> String {
    let rest = source.get(at..).unwrap_or_default();
    if let Some(inside) = rest.strip_prefix('"') {
        let end = inside.find('"').map_or(rest.len(), |end| end + 2).min(40);
        return rest.get(..end).unwrap_or(rest).to_string();
    }
    let word = |text: &str| {
        let text = text.trim_start();
        let end = text
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .unwrap_or(text.len());
        text[..end].to_string()
    };
    let keyword = word(rest);
    if keyword == "call" || keyword == "return_call" {
        let name = word(&rest[keyword.len()..]);
        return format!("{keyword} {name}");
    }
    keyword
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
    // At least the character there, whole: a caret under part of one
    // (a whitespace character of several bytes, say) is no span at all.
    let first = rest.chars().next().map_or(0, char::len_utf8);
    at..(at + len.max(first)).min(source.len())
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
