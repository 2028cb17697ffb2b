//! Tape's compiler: extended WebAssembly text in, a validated module out.
//!
//! A preprocessor rewrites Tape's extensions (string literals as values,
//! automatic capability imports, …) into plain WebAssembly text in one pass;
//! a one-pass encoder turns that text into a module (the `fast` module,
//! byte for byte what `wast` would write, for the part of the format
//! programs use; `wast` itself for the rest); the encoder adds static data, the
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

#![warn(missing_docs)]

/// The compile benchmark's generated inputs, for the fast path's tests.
#[cfg(test)]
#[path = "../benches/support/inputs.rs"]
mod bench_inputs;

mod catalogue;
mod diagnostic;
mod encode;
mod error;
mod explain;
mod fast;
mod lexer;
mod lint;
mod metadata;
mod preprocess;
mod reference;
mod source_map;

use source_map::{LineIndex, Locator};

use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

pub use catalogue::{Catalogue, Entry, Role, Roles};
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use encode::{MEMORY_EXPORT, RUN_EXPORT};
pub use error::{Error, Result};
pub use lint::{Level, Lint, Lints};
pub use metadata::{
    ArgType, Argument, FORMAT_VERSION, Import, LineEntry, Literal, Metadata, SECTION_NAME, Warning,
    warnings,
};
pub use preprocess::{Library, MAX_NESTING, MAX_STATIC_DATA};
pub use reference::{Item, Reference};

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
    /// The level of each [`Lint`]: by default each warns. The lints need
    /// the line table to place what they find, and do not run without it.
    pub lints: Lints,
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
            lints: Lints::default(),
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
    /// The preprocessed WebAssembly text that was compiled.
    pub expanded: String,
    /// What the [lints](Lints) found, each a warning located in the
    /// source; empty when they found nothing (a denied lint's finding is
    /// an error instead, and the compile fails).
    pub warnings: Diagnostics,
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
    let parsed = parse(&expanded.text, options.line_table).map_err(|(message, offset)| {
        let at = expanded.map.to_source(offset);
        fail(vec![parse_diagnostic(source, message, at)])
    })?;
    deadline.check()?;
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
        // A function that ends without its value: at its end, where the
        // value is missing.
        let ends = matches!(
            error.cause.as_deref().map(|c| &c.cause),
            Some(explain::Cause::EndsWithout { function: true })
        );
        if ends
            && let Some(close) = function_span
                .as_ref()
                .and_then(|s| function_end(source, s.start))
        {
            diagnostic = diagnostic.at(close..close + 1);
        } else if let Some(at) = instruction {
            diagnostic = diagnostic.at(token_at(source, at));
        } else if let Some(span) = function_span {
            diagnostic = diagnostic.at(span);
        }
        fail(vec![diagnostic])
    };
    // Built only when there are rows to locate: a line table, or an error.
    let mut locate = |at| {
        locator
            .get_or_insert_with(|| Locator::new(source, &expanded.map))
            .locate(at)
    };
    // Text the preprocessor left as it was is plain WebAssembly text, valid
    // or not exactly as `wat` and a validator would find it.
    let plain = expanded.text == source;
    let encode = |parsed: &Parsed, locate: &mut encode::Locate<'_>| {
        let data = &expanded.data;
        encode::encode(
            &parsed.wasm,
            &parsed.spans,
            data,
            name,
            plain,
            &expanded.arguments,
            locate,
        )
    };
    let mut encoded = match encode(&parsed, &mut locate) {
        Ok(encoded) => encoded,
        Err(error) if error.function.is_some() && !options.line_table => {
            // A validation error without a line table: only this path pays
            // for encoding again with one, to point at the instruction.
            let mut locator = Locator::new(source, &expanded.map);
            let located = parse(&expanded.text, true)
                .ok()
                .and_then(|parsed| encode(&parsed, &mut |at| locator.locate(at)).err());
            return Err(report(located.unwrap_or(error)));
        }
        Err(error) => return Err(report(error)),
    };
    deadline.check()?;
    let found = if options.line_table {
        lint::lint(
            &encoded.wasm,
            &lint::Context {
                catalogue: &options.catalogue,
                library: &options.library,
                defined: &expanded.functions,
                lines: &encoded.metadata.lines,
                source,
                lints: &options.lints,
            },
        )
    } else {
        Vec::new()
    };
    if found.iter().any(|d| d.severity == Severity::Error) {
        return Err(fail(found));
    }
    if !found.is_empty() {
        encoded.metadata.warnings = found.iter().map(Warning::new).collect();
        encoded.rewrite_metadata();
    }
    Ok(Compiled {
        wasm: encoded.wasm,
        metadata: encoded.metadata,
        expanded: expanded.text,
        warnings: Diagnostics::new(name, source.into(), found),
    })
}

/// Whether the compiler's own encoder takes `text`, plain WebAssembly text
/// (what [`expand_str`] gives), rather than handing it to `wast`. The
/// module is the same either way; this is for tests that keep Tape's
/// programs on the fast path.
#[doc(hidden)]
#[must_use]
pub fn fast_path_takes(text: &str) -> bool {
    fast::parse(text, false).is_some()
}

/// Preprocesses extended WebAssembly text into plain WebAssembly text, the
/// text the encoder reads, without compiling it further (`tape expand`).
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

/// The `.wast` files of the vendored WebAssembly testsuite, in order.
#[cfg(test)]
fn testsuite_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testsuite/wast");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wast"))
        .collect();
    files.sort();
    assert!(
        files.len() > 250,
        "{} files in {}",
        files.len(),
        dir.display()
    );
    files
}

/// What [`parse`] makes: the encoded module, and with `lines`, for
/// each function it defines (in order), where each of its instructions
/// starts in the text: what the line table is built from.
struct Parsed {
    wasm: Vec<u8>,
    spans: Vec<Vec<usize>>,
}

/// Parses and encodes plain WebAssembly text, with `lines` keeping where
/// each instruction starts so it can be traced back to the text; an error
/// is its message and offset in `text`. The fast path takes what it knows;
/// everything else, errors included, is `wast`'s.
fn parse(text: &str, lines: bool) -> Result<Parsed, (String, usize)> {
    if let Some(parsed) = fast::parse(text, lines) {
        return Ok(parsed);
    }
    let located = |e: wast::Error| (e.message(), e.span().offset());
    // Bidirectional and other "confusing" characters are valid text (the
    // specification's `names.wast` has them); a sandbox has no reviewer to
    // mislead.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let mut buffer = wast::parser::ParseBuffer::new_with_lexer(lexer).map_err(located)?;
    buffer.track_instr_spans(lines);
    let mut wat = wast::parser::parse::<wast::Wat>(&buffer).map_err(located)?;
    // The spans are read from the module as encoded rather than through
    // DWARF written by `wast` and read back: the same rows, without
    // building, writing and parsing a line program.
    let wasm = wast::core::EncodeOptions::new()
        .encode_wat(&mut wat)
        .map_err(located)?;
    let spans = if lines { spans_of(&wat) } else { Vec::new() };
    Ok(Parsed { wasm, spans })
}

/// For each function `wat` defines, in order, where each of its
/// instructions starts (with instruction spans tracked).
pub(crate) fn spans_of(wat: &wast::Wat<'_>) -> Vec<Vec<usize>> {
    let mut spans = Vec::new();
    if let wast::Wat::Module(module) = wat
        && let wast::core::ModuleKind::Text(fields) = &module.kind
    {
        for field in fields {
            if let wast::core::ModuleField::Func(func) = field
                && let wast::core::FuncKind::Inline { expression, .. } = &func.kind
            {
                let starts = expression.instr_spans.iter().flatten();
                spans.push(starts.map(|span| span.offset()).collect());
            }
        }
    }
    spans
}

/// A message of the WebAssembly text parser, at `at` in the source, with
/// what to do about the common ones, and for some a better place.
fn parse_diagnostic(source: &str, message: String, at: usize) -> Diagnostic {
    let word = {
        let rest = source.get(at..).unwrap_or_default();
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .unwrap_or(rest.len());
        &rest[..end]
    };
    if message.starts_with("previous `if` had no `then`")
        && let Some(open) = source.get(..at).and_then(|before| before.rfind("(if"))
    {
        return Diagnostic::new("this `if` has no `(then …)`")
            .at(open..open + 3)
            .help(
                "write what it does inside `(then …)`, and any other branch in `(else …)`: \
                 `(if (condition) (then …) (else …))`",
            );
    }
    let diagnostic = Diagnostic::new(message.clone()).at(token_at(source, at));
    if message.contains("constant out of range") {
        let help = if message.starts_with("invalid i32") {
            "an `i32.const` holds -2147483648 to 4294967295 (written signed or unsigned); use `i64.const` for a larger number"
        } else if message.starts_with("invalid i64") {
            "an `i64.const` holds -9223372036854775808 to 18446744073709551615"
        } else {
            "write a number the type can hold"
        };
        return diagnostic.help(help);
    }
    if message.starts_with("duplicate local identifier") {
        return diagnostic.help("each local needs its own name: rename one of them");
    }
    if message.starts_with("unknown operator") {
        // `i32.plus`: the same type's instruction of that meaning, else
        // one spelled alike.
        let meant = word.split_once('.').and_then(|(ty, op)| {
            let op = OPERATOR_SYNONYMS.iter().find(|(other, _)| *other == op)?.1;
            let name = format!("{ty}.{op}");
            INSTRUCTIONS.iter().copied().find(|known| *known == name)
        });
        let help = match meant.or_else(|| closest(word, INSTRUCTIONS.iter().copied())) {
            Some(known) => format!("`{word}` is not an instruction; did you mean `{known}`?"),
            None => format!(
                "`{word}` is not an instruction, nor a Tape macro (`argv`, `check`, `resv`, `bind`)"
            ),
        };
        return diagnostic.help(help);
    }
    for (kind, what) in [
        ("unknown func", "define it with `(func $NAME …)`"),
        ("unknown local", "declare it with `(local $NAME i32)`"),
        (
            "unknown label",
            "name a `block` or `loop` around it `$NAME`",
        ),
        ("unknown global", "define it with `(global $NAME …)`"),
    ] {
        let Some(name) = message
            .strip_prefix(kind)
            .and_then(|rest| rest.split('`').nth(1))
        else {
            continue;
        };
        let names = identifiers(source).filter(|known| *known != name);
        let help = match closest(name, names) {
            Some(known) => format!(
                "did you mean `{known}`? Else {}",
                what.replace("$NAME", name)
            ),
            None => what.replace("$NAME", name),
        };
        return diagnostic.help(help);
    }
    diagnostic
}

/// The offset of the `)` that closes the function whose `$name` is at
/// `name`.
fn function_end(source: &str, name: usize) -> Option<usize> {
    use logos::Logos;
    let open = source[..name].rfind('(')?;
    let mut depth = 0usize;
    for (token, span) in lexer::Token::lexer(&source[open..]).spanned() {
        match token.ok()? {
            lexer::Token::LParen => depth += 1,
            lexer::Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + span.start);
                }
            }
            _ => {}
        }
    }
    None
}

/// Every `$name` written in the source.
fn identifiers(source: &str) -> impl Iterator<Item = &str> {
    source.match_indices('$').filter_map(|(at, _)| {
        let rest = &source[at..];
        let end = rest[1..]
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '"')
            .map_or(rest.len(), |end| end + 1);
        (end > 1).then(|| &rest[..end])
    })
}

/// The name most like `wanted`, if one is close.
fn closest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    names
        .map(|name| (strsim::jaro_winkler(wanted, name), name))
        .filter(|(score, _)| *score > 0.9)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, name)| name)
}

/// Words for an operation in other languages, and WebAssembly's.
const OPERATOR_SYNONYMS: &[(&str, &str)] = &[
    ("plus", "add"),
    ("minus", "sub"),
    ("times", "mul"),
    ("mult", "mul"),
    ("multiply", "mul"),
    ("div", "div_s"),
    ("divide", "div_s"),
    ("mod", "rem_s"),
    ("rem", "rem_s"),
    ("modulo", "rem_s"),
    ("equal", "eq"),
    ("equals", "eq"),
    ("neq", "ne"),
    ("not", "eqz"),
    ("lt", "lt_s"),
    ("gt", "gt_s"),
    ("le", "le_s"),
    ("ge", "ge_s"),
    ("less", "lt_s"),
    ("greater", "gt_s"),
    ("shr", "shr_s"),
    ("lshift", "shl"),
    ("rshift", "shr_s"),
    ("get", "load"),
    ("set", "store"),
    ("load32", "load"),
    ("store32", "store"),
];

/// Instructions people write most, for "did you mean".
const INSTRUCTIONS: &[&str] = &[
    "block",
    "loop",
    "if",
    "then",
    "else",
    "end",
    "br",
    "br_if",
    "br_table",
    "return",
    "call",
    "call_indirect",
    "return_call",
    "drop",
    "select",
    "unreachable",
    "nop",
    "local.get",
    "local.set",
    "local.tee",
    "global.get",
    "global.set",
    "memory.size",
    "memory.grow",
    "memory.copy",
    "memory.fill",
    "i32.const",
    "i64.const",
    "f32.const",
    "f64.const",
    "i32.load",
    "i64.load",
    "f32.load",
    "f64.load",
    "i32.load8_u",
    "i32.load8_s",
    "i32.load16_u",
    "i32.load16_s",
    "i32.store",
    "i64.store",
    "f32.store",
    "f64.store",
    "i32.store8",
    "i32.store16",
    "i32.add",
    "i32.sub",
    "i32.mul",
    "i32.div_s",
    "i32.div_u",
    "i32.rem_s",
    "i32.rem_u",
    "i32.and",
    "i32.or",
    "i32.xor",
    "i32.shl",
    "i32.shr_s",
    "i32.shr_u",
    "i32.rotl",
    "i32.rotr",
    "i32.clz",
    "i32.ctz",
    "i32.popcnt",
    "i32.eqz",
    "i32.eq",
    "i32.ne",
    "i32.lt_s",
    "i32.lt_u",
    "i32.gt_s",
    "i32.gt_u",
    "i32.le_s",
    "i32.le_u",
    "i32.ge_s",
    "i32.ge_u",
    "i64.add",
    "i64.sub",
    "i64.mul",
    "i64.div_s",
    "i64.div_u",
    "i64.rem_s",
    "i64.rem_u",
    "i64.and",
    "i64.or",
    "i64.xor",
    "i64.shl",
    "i64.shr_s",
    "i64.shr_u",
    "i64.eqz",
    "i64.eq",
    "i64.ne",
    "i64.lt_s",
    "i64.lt_u",
    "i64.gt_s",
    "i64.gt_u",
    "i64.le_s",
    "i64.le_u",
    "i64.ge_s",
    "i64.ge_u",
    "f64.add",
    "f64.sub",
    "f64.mul",
    "f64.div",
    "f64.min",
    "f64.max",
    "f64.abs",
    "f64.neg",
    "f64.sqrt",
    "f64.floor",
    "f64.ceil",
    "f64.trunc",
    "f64.nearest",
    "f64.eq",
    "f64.ne",
    "f64.lt",
    "f64.gt",
    "f64.le",
    "f64.ge",
    "f32.add",
    "f32.sub",
    "f32.mul",
    "f32.div",
    "i32.wrap_i64",
    "i64.extend_i32_s",
    "i64.extend_i32_u",
    "i32.trunc_f64_s",
    "i64.trunc_f64_s",
    "f64.convert_i32_s",
    "f64.convert_i64_s",
    "f64.promote_f32",
    "f32.demote_f64",
    "i32.reinterpret_f32",
    "i64.reinterpret_f64",
];

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
            // A macro's own instructions have no text of their own: the
            // taker is then the macro around the call, `(resv (call …))`.
            let around = || {
                let (line, column) = at.origin?;
                let offset = LineIndex::new(source).char_offset(source, line, column)?;
                enclosing_form(source, offset)
            };
            let taker = next.and_then(|next| {
                let taker = text(at.next).filter(|text| !text.is_empty());
                Some((taker.or_else(around)?, next.takes))
            });
            let (message, help) = match (origin.gives, taker) {
                (gives, Some((taker, 1))) if taker == "resv" || taker == "check" => (
                    format!(
                        "`{made}` returns {}, but `{taker}` takes 1: the {} is left on the stack",
                        values(gives),
                        ordinal(*index)
                    ),
                    format!(
                        "`{taker}` takes one value; for a call that returns (value, status), \
                         `(bind $value ({made} …))` first, then `({taker} $value)`"
                    ),
                ),
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
        explain::Cause::TooFew { takes, available } => {
            let Some(taker) = text(position).filter(|taker| !taker.is_empty()) else {
                return (message.to_string(), position, None);
            };
            let there = match available {
                0 => "none is there".to_string(),
                1 => "only 1 is there".to_string(),
                n => format!("only {n} are there"),
            };
            let help = match taker.strip_prefix("call $") {
                Some(callee) => {
                    format!("give it every argument, in order; `tape doc {callee}` shows them")
                }
                None => format!("give `{taker}` its {} first", values(*takes)),
            };
            (
                format!("`{taker}` takes {}, but {there}", values(*takes)),
                position,
                Some(help),
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
/// The keyword of the form right around the one at `at`: `resv` for the
/// `call` of `(resv (call $f))`.
fn enclosing_form(source: &str, at: usize) -> Option<String> {
    let before = source.get(..at)?.trim_end();
    let before = before.strip_suffix('(')?.trim_end();
    let open = before.rfind('(')?;
    let keyword = before[open + 1..].trim();
    let is_word = !keyword.is_empty()
        && keyword
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    is_word.then(|| keyword.to_string())
}

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
