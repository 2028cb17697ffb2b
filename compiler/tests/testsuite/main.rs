//! The WebAssembly core testsuite, through Tape.
//!
//! Every top-level `.wast` file of the public testsuite (vendored in
//! `wast/`, commit in `wast/README.md`) runs twice, directive by
//! directive, with wasmtime's own wast runner: once as written, its modules
//! compiled by `wat`, and once with every text module compiled by Tape
//! instead (`tape build`'s compiler, default options) and handed to the
//! runner as a binary module. Each directive must come out the same both
//! ways: a module Tape compiles differently, refuses, or accepts where
//! `wat` does not, is a failure of its file.
//!
//! One trial per file (`cargo test -p tape-compiler --test testsuite --
//! memory_size`). At the end the run prints a table, a row per file:
//! directives, how many pass as written, how many through Tape, how many
//! modules were compared section by section with `wat`'s, and how many
//! directives or modules differ, which fails the file. Tape's own corpus of plain modules (`tests/corpus`) is compared
//! the same way, one trial each.
//!
//! A module directive inside `assert_invalid` or `assert_malformed` that
//! Tape refuses to compile counts as that directive passing: Tape found it
//! invalid, as the runner would have.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use libtest_mimic::{Arguments, Failed, Trial};
use wasmtime_wast::{Async, SpectestConfig, WastContext};
use wast::lexer::{Lexer, Token, TokenKind};

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testsuite/wast");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the vendored testsuite")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wast"))
        .collect();
    files.sort();
    assert!(files.len() >= 250, "the testsuite is missing files");
    let mut trials: Vec<Trial> = files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            Trial::test(name, move || run_file(&path))
        })
        .collect();
    // Tape's own corpus of plain modules: each compiles to `wat`'s module.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for entry in std::fs::read_dir(corpus).expect("the corpus") {
        let path = entry.unwrap().path();
        let name = format!("corpus::{}", path.file_stem().unwrap().to_string_lossy());
        trials.push(Trial::test(name, move || {
            let source = std::fs::read_to_string(&path)?;
            let wasm = tape_compiler::compile_str("corpus.wat", &source, &options())
                .map_err(|e| e.to_string())?
                .wasm;
            Ok(same_as_wat(&source, &wasm)?)
        }));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    print_table();
    conclusion.exit();
}

/// Each file's row, as its trial finishes.
static ROWS: Mutex<Vec<(String, Row)>> = Mutex::new(Vec::new());

/// The table of every file that ran, and the totals.
fn print_table() {
    let mut rows = ROWS.lock().unwrap_or_else(PoisonError::into_inner);
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut total = Row::default();
    println!(
        "\n| file | directives | pass as written | pass through Tape | modules compared | differ |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, row) in rows.iter() {
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            row.directives,
            row.wat_passed,
            row.tape_passed,
            row.compared,
            row.differing.len()
        );
        total.directives += row.directives;
        total.wat_passed += row.wat_passed;
        total.tape_passed += row.tape_passed;
        total.compared += row.compared;
        total.differing.extend(row.differing.iter().cloned());
    }
    let differing_files = rows
        .iter()
        .filter(|(_, row)| !row.differing.is_empty())
        .count();
    println!(
        "| {} files ({differing_files} differing) | {} | {} | {} | {} | {} |",
        rows.len(),
        total.directives,
        total.wat_passed,
        total.tape_passed,
        total.compared,
        total.differing.len()
    );
}

/// The engine both runs use: every proposal the testsuite's top-level
/// files exercise and wasmtime 48 implements. Cranelift does not optimise:
/// the suite is about behaviour, and compiles thousands of modules.
fn engine() -> wasmtime::Engine {
    let mut config = wasmtime::Config::new();
    config
        .wasm_memory64(true)
        .wasm_multi_memory(true)
        .wasm_gc(true)
        .wasm_function_references(true)
        .wasm_exceptions(true)
        .wasm_tail_call(true)
        .wasm_relaxed_simd(true)
        .wasm_extended_const(true)
        .wasm_custom_page_sizes(true)
        .wasm_wide_arithmetic(true)
        .wasm_threads(true)
        .shared_memory(true)
        .cranelift_opt_level(wasmtime::OptLevel::None);
    wasmtime::Engine::new(&config).expect("an engine for the testsuite")
}

fn context(engine: &wasmtime::Engine) -> Result<WastContext, Failed> {
    let mut context = WastContext::new(engine, Async::No, |_| {});
    // Behaviour is compared, not wording: Tape's messages are its own.
    context.ignore_error_messages(true);
    context
        .register_spectest(&SpectestConfig {
            use_shared_memory: true,
            suppress_prints: true,
        })
        .map_err(|e| format!("spectest: {e:#}"))?;
    Ok(context)
}

/// The counts of one file: its row of the table.
#[derive(Default)]
struct Row {
    directives: usize,
    wat_passed: usize,
    tape_passed: usize,
    /// Modules Tape compiled that `wat` does too, compared section by
    /// section.
    compared: usize,
    differing: Vec<String>,
}

fn run_file(path: &Path) -> Result<(), Failed> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path)?;
    let engine = engine();
    let mut as_written = context(&engine)?;
    let mut through_tape = context(&engine)?;
    let mut row = Row::default();
    for range in directives(&text)? {
        let directive = &text[range.clone()];
        row.directives += 1;
        let wat = as_written.run_wast(&name, directive.as_bytes());
        let line = text[..range.start].matches('\n').count() + 1;
        let tape = match through_tape_text(directive)? {
            Compiled::Text(rewritten, module) => {
                if let Some((source, wasm)) = module
                    && wat_of(&source).is_ok()
                {
                    row.compared += 1;
                    if let Err(why) = same_as_wat(&source, &wasm) {
                        row.differing
                            .push(format!("{name}:{line}: the module differs: {why}"));
                    }
                }
                through_tape.run_wast(&name, rewritten.as_bytes())
            }
            Compiled::Refused(error) => Err(wasmtime::format_err!("{error}")),
            Compiled::RefusedAsExpected => Ok(()),
        };
        row.wat_passed += usize::from(wat.is_ok());
        row.tape_passed += usize::from(tape.is_ok());
        if wat.is_ok() != tape.is_ok() {
            let why = match (&wat, &tape) {
                (Ok(()), Err(e)) => format!("through Tape: {e:#}"),
                (Err(e), _) => format!("passes through Tape only; as written: {e:#}"),
                _ => unreachable!(),
            };
            let why: String = why.chars().take(400).collect();
            row.differing.push(format!("{name}:{line}: {why}"));
        }
    }
    let failed = !row.differing.is_empty();
    let report = failed.then(|| {
        let mut report = format!(
            "{} of {} directives or modules differ through Tape:\n",
            row.differing.len(),
            row.directives
        );
        for line in row.differing.iter().take(20) {
            let _ = writeln!(report, "  {line}");
        }
        report
    });
    ROWS.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((name, row));
    match report {
        Some(report) => Err(report.into()),
        None => Ok(()),
    }
}

/// The byte ranges of the file's top-level directives.
fn directives(text: &str) -> Result<Vec<std::ops::Range<usize>>, Failed> {
    let tokens = tokens(text)?;
    let mut ranges = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for token in tokens {
        match token.kind {
            TokenKind::LParen => {
                if depth == 0 {
                    start = token.offset;
                }
                depth += 1;
            }
            TokenKind::RParen => {
                depth = depth.checked_sub(1).ok_or("unbalanced `)`")?;
                if depth == 0 {
                    ranges.push(start..token.offset + 1);
                }
            }
            _ => {}
        }
    }
    Ok(ranges)
}

/// Every token but whitespace and comments.
fn tokens(text: &str) -> Result<Vec<Token>, Failed> {
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let mut tokens = Vec::new();
    for token in lexer.iter(0) {
        let token = token.map_err(|e| format!("cannot lex the file: {e}"))?;
        if !matches!(
            token.kind,
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment
        ) {
            tokens.push(token);
        }
    }
    Ok(tokens)
}

/// What becomes of a directive when its text module goes through Tape.
enum Compiled {
    /// The directive, its module replaced by Tape's binary (or unchanged:
    /// no text module, or a binary one), and the module's source and
    /// Tape's binary, if it had one.
    Text(String, Option<(String, Vec<u8>)>),
    /// Tape refused the module where the directive needed it.
    Refused(String),
    /// Tape refused a module the directive expects to be refused.
    RefusedAsExpected,
}

/// The directive with its text module compiled by Tape.
fn through_tape_text(directive: &str) -> Result<Compiled, Failed> {
    let tokens = tokens(directive)?;
    let keyword = |i: usize| {
        tokens
            .get(i)
            .filter(|t| t.kind == TokenKind::Keyword)
            .map(|t| t.src(directive))
    };
    // `(module …)` itself, or the first module an assertion holds.
    let head = keyword(1).unwrap_or_default();
    let at = match head {
        "module" => 0,
        "assert_invalid"
        | "assert_malformed"
        | "assert_unlinkable"
        | "assert_trap"
        | "assert_uninstantiable"
        | "assert_exception"
            if keyword(3) == Some("module") =>
        {
            2
        }
        _ => return Ok(Compiled::Text(directive.to_string(), None)),
    };
    let expect_refusal = matches!(head, "assert_invalid" | "assert_malformed");
    let end = matching(&tokens, at).ok_or("a module without its `)`")?;
    let module_end = tokens[end].offset + 1;
    let mut next = at + 2;
    let mut definition = false;
    if keyword(next) == Some("definition") {
        definition = true;
        next += 1;
    }
    if matches!(keyword(next), Some("instance")) {
        return Ok(Compiled::Text(directive.to_string(), None));
    }
    let id = tokens
        .get(next)
        .filter(|t| t.kind == TokenKind::Id)
        .map(|t| t.src(directive));
    if id.is_some() {
        next += 1;
    }
    let source = match keyword(next) {
        Some("binary") => return Ok(Compiled::Text(directive.to_string(), None)),
        Some("quote") => {
            let mut source = String::new();
            for token in &tokens[next + 1..end] {
                if token.kind != TokenKind::String {
                    return Err("a quoted module with something other than strings".into());
                }
                match std::str::from_utf8(&token.string(directive)) {
                    Ok(text) => {
                        source.push_str(text);
                        source.push(' ');
                    }
                    // Not UTF-8: malformed, as Tape reads text.
                    Err(_) if expect_refusal => return Ok(Compiled::RefusedAsExpected),
                    Err(e) => return Ok(Compiled::Refused(e.to_string())),
                }
            }
            format!("(module {source})")
        }
        _ => {
            let fields_start = tokens.get(next).map_or(module_end - 1, |t| t.offset);
            let fields_start = fields_start.min(module_end - 1);
            // The fields, up to the module's own `)`.
            format!("(module {})", &directive[fields_start..module_end - 1])
        }
    };
    let wasm = match tape_compiler::compile_str("testsuite.wat", &source, &options()) {
        Ok(compiled) => compiled.wasm,
        Err(_) if expect_refusal => return Ok(Compiled::RefusedAsExpected),
        Err(error) => return Ok(Compiled::Refused(error.to_string())),
    };
    let mut binary = String::from("(module ");
    if definition {
        binary.push_str("definition ");
    }
    if let Some(id) = id {
        binary.push_str(id);
        binary.push(' ');
    }
    binary.push_str("binary \"");
    for byte in &wasm {
        let _ = write!(binary, "\\{byte:02x}");
    }
    binary.push_str("\")");
    let module_start = tokens[at].offset;
    Ok(Compiled::Text(
        format!(
            "{}{binary}{}",
            &directive[..module_start],
            &directive[module_end..]
        ),
        Some((source, wasm)),
    ))
}

/// The index of the `)` that closes the `(` at `open`.
fn matching(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn options() -> tape_compiler::Options {
    tape_compiler::Options::default()
}

/// What `wat` makes of `source`, "confusing" Unicode allowed as the
/// specification allows it (`wat::parse_str` refuses it).
fn wat_of(source: &str) -> Result<Vec<u8>, String> {
    let mut lexer = Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let buffer = wast::parser::ParseBuffer::new_with_lexer(lexer).map_err(|e| e.to_string())?;
    let mut wat = wast::parser::parse::<wast::Wat>(&buffer).map_err(|e| e.to_string())?;
    wat.encode().map_err(|e| e.to_string())
}

/// `(id, contents)` of every section, custom ones by name, DWARF left out
/// (Tape writes its own line table instead).
fn sections(wasm: &[u8]) -> Vec<(String, Vec<u8>)> {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(|payload| match payload.ok()? {
            wasmparser::Payload::CustomSection(custom) => {
                let name = custom.name();
                (!name.starts_with(".debug_"))
                    .then(|| (format!("custom {name}"), custom.data().to_vec()))
            }
            other => {
                let (id, range) = other.as_section()?;
                Some((format!("section {id}"), wasm[range].to_vec()))
            }
        })
        .collect()
}

fn export_names(wasm: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::ExportSection(reader)) = payload {
            names.extend(
                reader
                    .into_iter()
                    .filter_map(|e| Some(e.ok()?.name.to_string())),
            );
        }
    }
    names
}

/// Tape's module for `source` is `wat`'s but for what Tape adds: the
/// `tape` section, the `mem.tape` and `run` exports, and a memory where
/// there was none.
fn same_as_wat(source: &str, tape: &[u8]) -> Result<(), String> {
    let reference = wat_of(source)?;
    let keep =
        |(id, _): &(String, Vec<u8>)| id != "section 5" && id != "section 7" && id != "custom tape";
    let ours: Vec<_> = sections(tape).into_iter().filter(keep).collect();
    let theirs: Vec<_> = sections(&reference).into_iter().filter(keep).collect();
    if ours != theirs {
        let ours: Vec<_> = ours
            .iter()
            .map(|(id, b)| format!("{id} ({} bytes)", b.len()))
            .collect();
        let theirs: Vec<_> = theirs
            .iter()
            .map(|(id, b)| format!("{id} ({} bytes)", b.len()))
            .collect();
        return Err(format!("sections differ: Tape {ours:?}, wat {theirs:?}"));
    }
    let memory = |wasm: &[u8]| sections(wasm).into_iter().find(|(id, _)| id == "section 5");
    if memory(&reference).is_some() && memory(tape) != memory(&reference) {
        return Err("the memory section changed".into());
    }
    let ours = export_names(tape);
    let theirs = export_names(&reference);
    if ours.get(..theirs.len()) != Some(&theirs[..]) {
        return Err(format!("exports changed: Tape {ours:?}, wat {theirs:?}"));
    }
    if let Some(extra) = ours[theirs.len()..]
        .iter()
        .find(|name| *name != "mem.tape" && *name != "run")
    {
        return Err(format!("an export Tape should not add: `{extra}`"));
    }
    Ok(())
}
