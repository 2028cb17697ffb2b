//! The preprocessor: one pass over the tokens, copying the source and
//! rewriting the extensions into plain WebAssembly text.
//!
//! It never builds a tree. A stack of open parentheses, each tagged with the
//! keyword that opened it, is enough to know whether a string sits where an
//! instruction may stand, which `$name`s are defined and which are called.
//! Text between rewritten tokens is copied in bulk, so plain WAT costs a lex
//! and a `memcpy`.

mod strings;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use logos::Logos;

use crate::catalogue::Catalogue;
use crate::diagnostic::{Diagnostic, line_col};
use crate::lexer::Token;
use crate::metadata::Literal;
use crate::source_map::SourceMap;

/// Parentheses nest at most this deep; deeper input is an error rather than
/// a risk to the stack of the parser that follows.
pub const MAX_NESTING: usize = 1024;

/// Static data (every string literal) is at most this large.
pub const MAX_STATIC_DATA: usize = 64 << 20;

/// Offsets below this are never handed out, so pointer 0 is never data.
pub(crate) const STATIC_BASE: usize = 8;

/// The preprocessed program, ready for `wast`.
#[derive(Debug)]
pub(crate) struct Expanded<'a> {
    pub text: String,
    pub map: SourceMap,
    pub data: StaticData,
    /// Where each named function is defined: the span of its `$name`.
    pub functions: HashMap<&'a str, Range<usize>>,
}

/// The static data image: eight zero bytes, then each distinct literal as
/// `[u32 len][bytes]`, 4-byte aligned.
#[derive(Debug)]
pub(crate) struct StaticData {
    pub image: Vec<u8>,
    pub literals: Vec<Literal>,
    index: HashMap<Vec<u8>, u32>,
}

impl StaticData {
    fn new() -> Self {
        StaticData {
            image: vec![0; STATIC_BASE],
            literals: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The offset of `value`'s `[len][bytes]`, added if it is new; `None` if
    /// it would not fit within [`MAX_STATIC_DATA`].
    fn intern(&mut self, value: Vec<u8>, line: u32) -> Option<u32> {
        if let Some(&offset) = self.index.get(&value) {
            return Some(offset);
        }
        let start = self.image.len().next_multiple_of(4);
        let end = start + 4 + value.len();
        if end > MAX_STATIC_DATA {
            return None;
        }
        let offset = u32::try_from(start).ok()?;
        let len = u32::try_from(value.len()).ok()?;
        self.image.resize(start, 0);
        self.image.extend_from_slice(&len.to_le_bytes());
        self.image.extend_from_slice(&value);
        self.literals.push(Literal {
            offset,
            value: value.clone(),
            line,
        });
        self.index.insert(value, offset);
        Some(offset)
    }
}

/// What the keyword after a `(` tells about the list it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    /// Nothing read after the `(` yet.
    Pending,
    Module,
    /// A module field holding code: `func` or `global`.
    Code,
    /// `export` or `import`: its strings are names.
    Names,
    /// `(@…)`: an annotation, whose contents are never code.
    Annotation,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    head: Head,
    open: usize,
}

/// What the previous token was, as far as the next one cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prev {
    Open,
    /// `module`, after which a `$name` may follow.
    ModuleKeyword,
    /// `func` right after `(`: a `$name` here defines a function.
    FuncKeyword,
    /// `call`, `return_call` or `ref.func`: a `$name` here uses a function.
    CallKeyword,
    Other,
}

struct Preprocessor<'a, 'c> {
    src: &'a str,
    catalogue: &'c Catalogue,
    out: String,
    map: SourceMap,
    /// Source before this offset is already in `out`.
    copied_to: usize,
    data: StaticData,
    stack: Vec<Frame>,
    /// The source has its own `(module …)` around the fields.
    wrapped: bool,
    /// Stack index of the enclosing `func`/`global` field, if any.
    code_frame: Option<usize>,
    /// Stack index of the outermost enclosing annotation, if any.
    annotation_frame: Option<usize>,
    /// Where in `out` automatic imports go: just inside `(module $name?`.
    import_point: usize,
    prev: Prev,
    /// The module's closing `)` has been seen.
    closed: bool,
    /// Scanning stopped early, or a token was unreadable: what is still
    /// open is not worth reporting.
    aborted: bool,
    defined: HashMap<&'a str, Range<usize>>,
    calls: Vec<(&'a str, Range<usize>)>,
    diagnostics: Vec<Diagnostic>,
}

/// Rewrites `src` into plain WebAssembly text, or says everything that is
/// wrong with it.
pub(crate) fn preprocess<'a>(
    src: &'a str,
    catalogue: &Catalogue,
) -> Result<Expanded<'a>, Vec<Diagnostic>> {
    let keyword = first_keyword(src);
    if let Some(("component", span)) = keyword {
        return Err(vec![
            Diagnostic::new("Tape compiles core modules; components are not supported")
                .at(span)
                .help("write a `(module …)`, or just its fields"),
        ]);
    }
    let wrapped = matches!(keyword, Some(("module", _)));
    let mut pp = Preprocessor {
        src,
        catalogue,
        out: String::with_capacity(src.len() + src.len() / 8 + 64),
        map: SourceMap::default(),
        copied_to: 0,
        data: StaticData::new(),
        stack: Vec::new(),
        wrapped,
        code_frame: None,
        annotation_frame: None,
        import_point: 0,
        prev: Prev::Other,
        closed: false,
        aborted: false,
        defined: HashMap::new(),
        calls: Vec::new(),
        diagnostics: Vec::new(),
    };
    if !wrapped {
        pp.map.generated(0, 0);
        pp.out.push_str("(module");
        pp.import_point = pp.out.len();
        pp.out.push('\n');
        pp.map.copied(pp.out.len(), 0);
    }
    pp.run();
    pp.finish()
}

/// The keyword right after the first `(`, if the file starts with one.
fn first_keyword(src: &str) -> Option<(&str, Range<usize>)> {
    let mut lexer = Token::lexer(src);
    let mut after_paren = false;
    while let Some(token) = lexer.next() {
        match token {
            Ok(Token::BlockComment) => {}
            Ok(Token::LParen) if !after_paren => after_paren = true,
            Ok(Token::Atom) if after_paren => return Some((lexer.slice(), lexer.span())),
            _ => return None,
        }
    }
    None
}

impl<'a> Preprocessor<'a, '_> {
    fn run(&mut self) {
        let mut any_token = false;
        for (token, span) in Token::lexer(self.src).spanned() {
            let token = match token {
                Ok(Token::BlockComment) => continue,
                Ok(token) => token,
                Err(error) => {
                    // What a bad token swallowed (a string's closing
                    // parentheses, say) would only cause more errors.
                    self.aborted = true;
                    self.diagnostics
                        .push(Diagnostic::new(error.message()).at(span).help(error.help()));
                    continue;
                }
            };
            any_token = true;
            if self.closed {
                self.diagnostics.push(
                    Diagnostic::new("unexpected text after the end of the module")
                        .at(span)
                        .help(
                            "a file holds one module; remove this or move it inside `(module …)`",
                        ),
                );
                self.aborted = true;
                return;
            }
            match token {
                Token::LParen => {
                    if self.stack.len() >= MAX_NESTING {
                        self.diagnostics.push(
                            Diagnostic::new(format!(
                                "parentheses nest deeper than {MAX_NESTING} levels"
                            ))
                            .at(span)
                            .help("split the expression, for instance with locals"),
                        );
                        self.aborted = true;
                        return;
                    }
                    self.stack.push(Frame {
                        head: Head::Pending,
                        open: span.start,
                    });
                    self.prev = Prev::Open;
                }
                Token::RParen => {
                    self.close(span);
                    self.prev = Prev::Other;
                }
                Token::Atom => self.atom(span),
                Token::String => self.string(span, 1),
                Token::TripleString => self.string(span, 3),
                Token::QuotedId | Token::BlockComment => {
                    self.settle_head();
                    self.prev = Prev::Other;
                }
            }
        }
        if !any_token && self.diagnostics.is_empty() {
            self.diagnostics.push(
                Diagnostic::new("the file has no code")
                    .help("a Tape program needs at least `(func $run (result i32) …)`"),
            );
        }
    }

    /// A `(` followed by something other than a keyword opens an ordinary
    /// list.
    fn settle_head(&mut self) {
        if let Some(top) = self.stack.last_mut()
            && top.head == Head::Pending
        {
            top.head = Head::Other;
        }
    }

    fn close(&mut self, span: Range<usize>) {
        let Some(_) = self.stack.pop() else {
            self.diagnostics.push(
                Diagnostic::new("unmatched `)`")
                    .at(span)
                    .label("no `(` is open here"),
            );
            return;
        };
        let depth = self.stack.len();
        if self.code_frame == Some(depth) {
            self.code_frame = None;
        }
        if self.annotation_frame == Some(depth) {
            self.annotation_frame = None;
        }
        if self.wrapped && depth == 0 {
            self.closed = true;
        }
    }

    /// Module fields sit directly inside `(module …)`, or at the top level
    /// of a file without one.
    fn at_field_level(&self) -> bool {
        let depth = self.stack.len() - 1;
        if self.wrapped { depth == 1 } else { depth == 0 }
    }

    fn atom(&mut self, span: Range<usize>) {
        let text = &self.src[span.clone()];
        let prev = self.prev;
        self.prev = Prev::Other;
        if let Some(top) = self.stack.last()
            && top.head == Head::Pending
        {
            let index = self.stack.len() - 1;
            let head = match text {
                "module" if index == 0 && self.wrapped => {
                    self.prev = Prev::ModuleKeyword;
                    self.import_point_after(span.end);
                    Head::Module
                }
                "func" | "global" if self.at_field_level() => {
                    self.code_frame = Some(index);
                    Head::Code
                }
                "export" | "import" => Head::Names,
                _ if text.starts_with('@') => {
                    self.annotation_frame.get_or_insert(index);
                    Head::Annotation
                }
                _ => Head::Other,
            };
            if let Some(top) = self.stack.last_mut() {
                top.head = head;
            }
            if text == "func" {
                self.prev = Prev::FuncKeyword;
                return;
            }
        }
        if let Some(name) = text.strip_prefix('$') {
            match prev {
                Prev::ModuleKeyword => self.import_point_after(span.end),
                Prev::FuncKeyword => {
                    self.defined.entry(name).or_insert(span);
                }
                Prev::CallKeyword => self.calls.push((name, span)),
                Prev::Open | Prev::Other => {}
            }
            return;
        }
        if matches!(text, "call" | "return_call" | "ref.func") {
            self.prev = Prev::CallKeyword;
        }
    }

    fn import_point_after(&mut self, end: usize) {
        self.flush(end);
        self.import_point = self.out.len();
    }

    /// A string is a value where an instruction may stand: in a `func` or
    /// `global` field, but not in its `export`/`import` names or in an
    /// annotation.
    fn is_value_position(&self) -> bool {
        self.code_frame.is_some()
            && self.annotation_frame.is_none()
            && self
                .stack
                .last()
                .is_some_and(|top| matches!(top.head, Head::Code | Head::Other))
    }

    fn string(&mut self, span: Range<usize>, quote: usize) {
        self.settle_head();
        self.prev = Prev::Other;
        if !self.is_value_position() {
            if quote == 3 {
                self.diagnostics.push(
                    Diagnostic::new("a triple-quoted string can only stand where a value can")
                        .at(span)
                        .help("names in `import`, `export` and `data` take a plain `\"…\"` string"),
                );
            }
            return;
        }
        let token = &self.src[span.clone()];
        let value = match strings::decode(token, quote) {
            Ok(value) => value,
            Err(error) => {
                let at = span.start + error.span.start..span.start + error.span.end;
                self.diagnostics
                    .push(Diagnostic::new(error.message).at(at).help(error.help));
                return;
            }
        };
        let line = line_col(self.src, span.start).0 as u32;
        let Some(offset) = self.data.intern(value, line) else {
            self.diagnostics.push(
                Diagnostic::new(format!(
                    "string literals exceed the {} MiB static data limit",
                    MAX_STATIC_DATA >> 20
                ))
                .at(span),
            );
            return;
        };
        self.replace(span, &format!("(i32.const {offset})"));
    }

    /// Copies the source up to `end` into the output.
    fn flush(&mut self, end: usize) {
        if end > self.copied_to {
            self.out.push_str(&self.src[self.copied_to..end]);
            self.copied_to = end;
        }
    }

    fn replace(&mut self, span: Range<usize>, text: &str) {
        self.flush(span.start);
        self.map.generated(self.out.len(), span.start);
        self.out.push_str(text);
        self.map.copied(self.out.len(), span.end);
        self.copied_to = span.end;
    }

    fn finish(mut self) -> Result<Expanded<'a>, Vec<Diagnostic>> {
        if let Some(open) = self.stack.last().filter(|_| !self.aborted) {
            let message = if self.stack.len() == 1 && self.wrapped {
                "the module is never closed"
            } else {
                "unclosed `(`"
            };
            self.diagnostics.push(
                Diagnostic::new(message)
                    .at(open.open..open.open + 1)
                    .label("this `(` has no matching `)`"),
            );
        }
        let imports = self.automatic_imports();
        if !self.diagnostics.is_empty() {
            self.diagnostics
                .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            return Err(self.diagnostics);
        }
        self.flush(self.src.len());
        if !self.wrapped {
            self.map.generated(self.out.len(), self.src.len());
            self.out.push_str("\n)");
        }
        // Inserted last first, so they appear in call order.
        for (text, source) in imports.iter().rev() {
            self.out.insert_str(self.import_point, text);
            self.map
                .insert_generated(self.import_point, text.len(), *source);
        }
        Ok(Expanded {
            text: self.out,
            map: self.map,
            data: self.data,
            functions: self.defined,
        })
    }

    /// An import for each `call $cap.fn` that the file does not define and
    /// the catalogue knows, in order of first call.
    fn automatic_imports(&mut self) -> Vec<(String, usize)> {
        let mut seen = HashSet::new();
        let mut imports = Vec::new();
        for (name, span) in std::mem::take(&mut self.calls) {
            if self.defined.contains_key(name) || !seen.insert(name) {
                continue;
            }
            let Some((module, field)) = name.split_once('.') else {
                continue;
            };
            if let Some(signature) = self.catalogue.signature(module, field) {
                imports.push((
                    format!("\n  (import \"{module}\" \"{field}\" (func ${name} {signature}))"),
                    span.start,
                ));
            } else if self.catalogue.has_module(module) {
                let known: Vec<_> = self.catalogue.functions(module).collect();
                self.diagnostics.push(
                    Diagnostic::new(format!("unknown capability function `${name}`"))
                        .at(span)
                        .label(format!("`{module}` has no function `{field}`"))
                        .help(format!("`{module}` provides: {}", known.join(", "))),
                );
            }
        }
        imports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        let mut c = Catalogue::new();
        c.insert("core", "result", "(param $ptr i32) (result i32)");
        c.insert(
            "log",
            "write",
            "(param $level i32) (param $msg i32) (result i32)",
        );
        c
    }

    fn expand(src: &str) -> Expanded<'_> {
        preprocess(src, &catalogue()).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn errors(src: &str) -> Vec<(String, Option<Range<usize>>)> {
        preprocess(src, &catalogue())
            .unwrap_err()
            .into_iter()
            .map(|d| (d.message, d.span))
            .collect()
    }

    #[test]
    fn literal_becomes_pointer_to_static_data() {
        let e = expand("(module (func $f (result i32) \"hi\"))");
        assert_eq!(e.text, "(module (func $f (result i32) (i32.const 8)))");
        assert_eq!(
            e.data.image,
            [0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'h', b'i']
        );
    }

    #[test]
    fn equal_literals_share_one_copy_and_each_is_aligned() {
        let e = expand(r#"(func "a" "bcdef" "a" "")"#);
        assert!(
            e.text
                .contains("(i32.const 8) (i32.const 16) (i32.const 8) (i32.const 28)")
        );
        assert_eq!(e.data.image.len(), 32);
        assert_eq!(
            e.data.literals.iter().map(|l| l.offset).collect::<Vec<_>>(),
            [8, 16, 28]
        );
    }

    #[test]
    fn names_are_not_literals() {
        let src = r#"(module
  (import "m" "n" (func $i))
  (func $f (export "f") (import "a" "b"))
  (memory 1 (export "mem"))
  (data (i32.const 100) "raw")
  (func (@name "x") (drop "v")))"#;
        let e = expand(src);
        assert_eq!(e.data.literals.len(), 1);
        assert!(e.text.contains("(drop (i32.const 8))"));
        assert!(e.text.contains("(data (i32.const 100) \"raw\")"));
    }

    #[test]
    fn fields_without_a_module_are_wrapped() {
        let e = expand("(func $run (result i32) (i32.const 0))");
        assert_eq!(e.text, "(module\n(func $run (result i32) (i32.const 0))\n)");
        assert_eq!(e.map.to_source(8), 0);
        assert_eq!(e.map.to_source(9), 1);
    }

    #[test]
    fn calls_to_capabilities_import_them_once_in_call_order() {
        let e = expand(
            "(module $m (func (drop (call $log.write (i32.const 0) \"x\")) (drop (call $core.result (i32.const 8))) call $log.write drop))",
        );
        assert!(
            e.text.starts_with(concat!(
                "(module $m\n",
                "  (import \"log\" \"write\" (func $log.write (param $level i32) (param $msg i32) (result i32)))\n",
                "  (import \"core\" \"result\" (func $core.result (param $ptr i32) (result i32))) (func"
            )),
            "{}",
            e.text
        );
        // Offsets after the imports still map to where the user wrote them.
        let func = e.text.find("(func (drop").unwrap();
        assert_eq!(e.map.to_source(func), "(module $m ".len());
    }

    #[test]
    fn defined_functions_are_not_imported() {
        let e = expand(
            "(func $log.write (param i32 i32) (result i32) i32.const 0) (func call $log.write)",
        );
        assert!(!e.text.contains("import"));
    }

    #[test]
    fn unknown_capability_function_is_an_error_at_the_call() {
        let src = "(func (call $log.wirte))";
        assert_eq!(
            errors(src),
            [(
                "unknown capability function `$log.wirte`".to_string(),
                Some(12..22)
            )]
        );
    }

    #[test]
    fn structural_errors_are_located() {
        assert_eq!(errors(")")[0], ("unmatched `)`".into(), Some(0..1)));
        assert_eq!(
            errors("(module (func)")[0],
            ("the module is never closed".into(), Some(0..1))
        );
        assert_eq!(
            errors("(func (block)")[0],
            ("unclosed `(`".into(), Some(0..1))
        );
        assert_eq!(
            errors("(func \"abc)\n")
                .into_iter()
                .map(|e| e.0)
                .collect::<Vec<_>>(),
            ["unterminated string literal"]
        );
        assert_eq!(
            errors("(module) (func)")[0].0,
            "unexpected text after the end of the module"
        );
        assert_eq!(errors("  ;; nothing\n")[0].0, "the file has no code");
        assert_eq!(
            errors("(func \"\\q\" \"ok\" \"\\u{D800}\")")
                .into_iter()
                .map(|e| e.1)
                .collect::<Vec<_>>(),
            [Some(7..9), Some(17..25)]
        );
    }

    #[test]
    fn nesting_is_limited() {
        let deep = "(".repeat(MAX_NESTING + 1);
        assert!(errors(&deep)[0].0.contains("nest deeper than 1024"));
        let ok = format!(
            "(func {}{})",
            "(block ".repeat(MAX_NESTING - 1),
            ")".repeat(MAX_NESTING - 1)
        );
        expand(&ok);
    }
}
