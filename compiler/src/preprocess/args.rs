//! Declared arguments: `(arg $name TYPE "description" (default VALUE))` at
//! the top level of the module, and `(argv $name)`, which loads one by name.
//!
//! The declarations are read in a first, separate pass over the tokens
//! (only when the text mentions `arg` at all), so `(argv $name)` may come
//! before the declaration it uses. The main pass cuts each declaration out
//! of the expanded text, reports one anywhere else, and expands `argv`.

use std::ops::Range;

use logos::Logos;

use super::{Frame, Head, Preprocessor, STATUS_LOCAL, strings};
use crate::diagnostic::{Diagnostic, line_col};
use crate::lexer::Token;
use crate::metadata::{ArgType, Argument};

/// The hidden local `(argv $name)` keeps an argument's pointer in while it
/// loads a number from it.
const ARG_LOCAL: &str = "$__tape_arg";

/// How a declaration is written, for help lines.
const FORM: &str = "write `(arg $name TYPE \"what it is for\")`, or add `(default VALUE)` \
                    after the description for an optional one";

/// A token and where it is.
type Spanned = (Token, Range<usize>);

/// One declaration, as read.
#[derive(Debug, Clone)]
pub(super) struct Declared<'a> {
    /// With its `$`.
    pub name: &'a str,
    pub name_span: Range<usize>,
    /// The whole `(arg …)`.
    pub span: Range<usize>,
    pub ty: ArgType,
    pub description: String,
    pub default: Option<String>,
}

impl Declared<'_> {
    pub fn argument(&self) -> Argument {
        Argument {
            name: self.name[1..].to_string(),
            ty: self.ty,
            description: self.description.clone(),
            default: self.default.clone(),
        }
    }
}

/// Every declaration at the top level of `src`, in order, and what is wrong
/// with them. `wrapped`: the source has its own `(module …)`, so the top
/// level is one list deep.
pub(super) fn collect(src: &str, wrapped: bool) -> (Vec<Declared<'_>>, Vec<Diagnostic>) {
    let mut declared: Vec<Declared<'_>> = Vec::new();
    let mut diagnostics = Vec::new();
    if !src.contains("arg") {
        return (declared, diagnostics);
    }
    let field_depth = usize::from(wrapped);
    let mut depth = 0usize;
    // The depth at which an annotation opened: nothing in it is code.
    let mut annotation: Option<usize> = None;
    let mut after_open: Option<usize> = None;
    // The open declaration: where its `(` is and its tokens so far.
    let mut form: Option<(usize, Vec<Spanned>)> = None;
    for (token, span) in Token::lexer(src).spanned() {
        // What a bad token means is the main pass's to report.
        let Ok(token) = token else {
            return (declared, diagnostics);
        };
        if matches!(token, Token::BlockComment | Token::LineComment) {
            continue;
        }
        if let Some((_, tokens)) = &mut form {
            tokens.push((token, span.clone()));
        }
        let opened = after_open.take();
        match token {
            Token::LParen => {
                after_open = Some(span.start);
                depth += 1;
            }
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if annotation.is_some_and(|at| depth < at) {
                    annotation = None;
                }
                if depth == field_depth
                    && let Some((open, mut tokens)) = form.take()
                {
                    tokens.pop();
                    let whole = open..span.end;
                    match read(src, whole, &tokens) {
                        Ok(one) => declared.push(one),
                        Err(diagnostic) => diagnostics.push(diagnostic),
                    }
                }
            }
            Token::Atom if opened.is_some() && annotation.is_none() => {
                let text = &src[span.clone()];
                if text.starts_with('@') {
                    annotation = Some(depth);
                } else if text == "arg" && depth == field_depth + 1 && form.is_none() {
                    form = Some((opened.unwrap_or(span.start), Vec::new()));
                }
            }
            _ => {}
        }
    }
    check_together(src, &declared, &mut diagnostics);
    (declared, diagnostics)
}

/// One `(arg …)`: `tokens` are those after `arg`, up to its `)`.
fn read<'a>(
    src: &'a str,
    whole: Range<usize>,
    tokens: &[Spanned],
) -> Result<Declared<'a>, Diagnostic> {
    let mut rest = tokens.iter();
    let at_form = |message: String| Diagnostic::new(message).at(whole.clone()).help(FORM);
    let Some((token, name_span)) = rest.next() else {
        return Err(at_form(
            "`arg` needs a `$name`, a type and a description".into(),
        ));
    };
    let name = &src[name_span.clone()];
    if *token != Token::Atom || !name.starts_with('$') || name.len() < 2 {
        return Err(
            Diagnostic::new(format!("`arg` needs a `$name` first, not `{name}`"))
                .at(name_span.clone())
                .help(FORM),
        );
    }
    let Some((token, ty_span)) = rest.next() else {
        return Err(at_form(format!(
            "`arg {name}` needs a type and a description"
        )));
    };
    let ty_text = &src[ty_span.clone()];
    let ty = match ArgType::from_name(ty_text).filter(|_| *token == Token::Atom) {
        Some(ty) => ty,
        None => return Err(unknown_type(ty_text, ty_span.clone())),
    };
    let Some((token, text_span)) = rest.next() else {
        return Err(at_form(format!("`arg {name}` needs a description")));
    };
    let description = match token {
        Token::String | Token::TripleString | Token::RawString => text(src, text_span)?,
        _ => {
            return Err(Diagnostic::new(format!(
                "`arg {name}` needs a description in quotes, not `{}`",
                &src[text_span.clone()]
            ))
            .at(text_span.clone())
            .help(FORM));
        }
    };
    let mut default = None;
    if let Some((token, span)) = rest.next() {
        let unexpected = |span: &Range<usize>| {
            Diagnostic::new(format!(
                "unexpected `{}` in `arg {name}`",
                &src[span.clone()]
            ))
            .at(span.clone())
            .help(FORM)
        };
        let keyword = rest.next();
        let value = rest.next();
        let close = rest.next();
        let (Token::LParen, Some((Token::Atom, keyword_span))) = (token, keyword) else {
            return Err(unexpected(span));
        };
        if &src[keyword_span.clone()] != "default" {
            return Err(unexpected(keyword_span));
        }
        let list = span.start..close.map_or(whole.end, |(_, c)| c.end);
        let (Some((value_token, value_span)), Some((Token::RParen, _))) = (value, close) else {
            return Err(Diagnostic::new("`default` takes one value".to_string())
                .at(list)
                .help(default_help(ty)));
        };
        let value_text = match value_token {
            Token::String | Token::TripleString | Token::RawString if ty.is_pointer() => {
                text(src, value_span)?
            }
            Token::Atom if !ty.is_pointer() => src[value_span.clone()].to_string(),
            _ => {
                return Err(Diagnostic::new(format!(
                    "`{}` is not a default for the {ty} argument `{name}`",
                    &src[value_span.clone()]
                ))
                .at(value_span.clone())
                .help(default_help(ty)));
            }
        };
        if let Err(reason) = ty.parse_text(&value_text) {
            return Err(Diagnostic::new(format!(
                "bad default for the {ty} argument `{name}`: {reason}"
            ))
            .at(value_span.clone())
            .help(default_help(ty)));
        }
        default = Some(value_text);
        if let Some((_, span)) = rest.next() {
            return Err(unexpected(span));
        }
    }
    Ok(Declared {
        name,
        name_span: name_span.clone(),
        span: whole,
        ty,
        description,
        default,
    })
}

/// A string token's text, which must be UTF-8.
fn text(src: &str, span: &Range<usize>) -> Result<String, Diagnostic> {
    let bytes = strings::decode_token(&src[span.clone()]).map_err(|error| {
        let at = span.start + error.span.start..span.start + error.span.end;
        Diagnostic::new(error.message).at(at).help(error.help)
    })?;
    String::from_utf8(bytes).map_err(|_| {
        Diagnostic::new("an argument's description and default must be UTF-8 text")
            .at(span.clone())
            .help("remove the `\\hh` escapes that make bytes which are not text")
    })
}

fn unknown_type(text: &str, span: Range<usize>) -> Diagnostic {
    let names: Vec<&str> = ArgType::ALL.iter().map(|ty| ty.name()).collect();
    let closest = names
        .iter()
        .map(|name| (strsim::jaro_winkler(text, name), *name))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut help = format!("an argument's type is one of: {}", names.join(", "));
    if let Some((_, name)) = closest {
        help = format!("did you mean `{name}`? {help}");
    }
    Diagnostic::new(format!("unknown argument type `{text}`"))
        .at(span)
        .help(help)
}

fn default_help(ty: ArgType) -> String {
    let example = match ty {
        ArgType::Str => "`(default \"world\")`",
        ArgType::Json => "`(default \"{\\\"a\\\": 1}\")`: JSON text in a string",
        ArgType::Bytes => "`(default \"\")`: the bytes, in a string",
        ArgType::Bool => "`(default false)`",
        ArgType::F32 | ArgType::F64 => "`(default 1.5)`",
        ArgType::U32 | ArgType::U64 => "`(default 1)`",
        ArgType::I32 | ArgType::I64 => "`(default -1)`",
    };
    format!("a default is a value of the argument's type, e.g. {example}")
}

/// What no single declaration shows: a name declared twice, a required
/// argument after an optional one.
fn check_together(src: &str, declared: &[Declared<'_>], diagnostics: &mut Vec<Diagnostic>) {
    for (i, one) in declared.iter().enumerate() {
        if let Some(first) = declared[..i].iter().find(|d| d.name == one.name) {
            let (line, _) = line_col(src, first.name_span.start);
            diagnostics.push(
                Diagnostic::new(format!(
                    "the argument `{}` is declared twice: also on line {line}",
                    one.name
                ))
                .at(one.name_span.clone())
                .help("each argument needs its own name; rename or remove one"),
            );
        }
    }
    let optional = declared.iter().position(|d| d.default.is_some());
    if let Some(optional) = optional {
        for one in declared[optional..].iter().filter(|d| d.default.is_none()) {
            let (line, _) = line_col(src, declared[optional].span.start);
            diagnostics.push(
                Diagnostic::new(format!(
                    "the required argument `{}` follows the optional `{}` (line {line})",
                    one.name, declared[optional].name
                ))
                .at(one.span.clone())
                .help(
                    "arguments are passed in order, so the optional ones come last: \
                     move this one up, or give it a `(default …)`",
                ),
            );
        }
    }
}

impl<'a> Preprocessor<'a, '_> {
    /// `(arg …)` opened at `open`; `span` is its keyword. At the top level
    /// it is cut from the expanded text when it closes; anywhere else it is
    /// an error.
    pub(super) fn open_arg(&mut self, open: usize, span: &Range<usize>) -> Head {
        if self.at_field_level() && !self.fragment {
            self.flush(open);
            return Head::ArgDeclaration;
        }
        self.diagnostics.push(
            Diagnostic::new("an argument declaration can only stand at the top level")
                .at(open..span.end)
                .help(
                    "declare the program's arguments beside its functions, outside them: \
                     `(arg $name str \"what it is for\")`",
                ),
        );
        Head::Other
    }

    /// The declaration that opened `frame` closed at `close`: cut it out.
    pub(super) fn close_arg(&mut self, frame: &Frame, close: &Range<usize>) {
        self.flush(frame.open);
        self.copied_to = close.end;
        self.map.copied(self.out.len(), close.end);
    }

    /// `(argv N $x)` when the program declares arguments: `N` must be one
    /// of them. Returns whether it may be expanded.
    pub(super) fn check_argv_index(&mut self, index: u32, whole: &Range<usize>) -> bool {
        let count = self.declared.len();
        if count == 0 || (index as usize) < count {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::new(format!(
                "argument {index} is not declared: the program declares {}",
                arguments(count)
            ))
            .at(whole.clone())
            .help(format!(
                "use an index below {count}, or declare one more with `(arg $name TYPE \"…\")`"
            )),
        );
        false
    }

    /// `(argv $name)`: the declared argument `$name` into the local of that
    /// name, a number loaded from where the host wrote it.
    pub(super) fn argv_by_name(
        &mut self,
        name: &'a str,
        name_span: Range<usize>,
        whole: Range<usize>,
    ) {
        let Some(index) = self.declared.iter().position(|d| d.name == name) else {
            let help = if self.declared.is_empty() {
                format!(
                    "declare it at the top level, `(arg {name} str \"what it is for\")`, \
                     or load an argument by position, `(argv 0 {name})`"
                )
            } else {
                let names: Vec<&str> = self.declared.iter().map(|d| d.name).collect();
                format!("the program declares {}", names.join(", "))
            };
            self.diagnostics.push(
                Diagnostic::new(format!("`{name}` is not a declared argument"))
                    .at(name_span)
                    .help(help),
            );
            return;
        };
        let ty = self.declared[index].ty;
        let (local, load) = match ty {
            ArgType::Str | ArgType::Json | ArgType::Bytes => ("i32", None),
            ArgType::I32 | ArgType::U32 => ("i32", Some("i32.load")),
            ArgType::Bool => ("i32", Some("i32.load8_u")),
            ArgType::I64 | ArgType::U64 => ("i64", Some("i64.load")),
            ArgType::F32 => ("f32", Some("f32.load")),
            ArgType::F64 => ("f64", Some("f64.load")),
        };
        self.declare_local(
            Some(name),
            local,
            format!("(local {name} {local})"),
            name_span.clone(),
        );
        self.calls.push(("core.arg", whole.start..name_span.start));
        let s = STATUS_LOCAL;
        let text = match load {
            None => format!(
                "(call $core.arg (i32.const {index})) (local.set {s}) (local.set {name}) \
                 (if (local.get {s}) (then (return (local.get {s}))))"
            ),
            Some(load) => {
                let declared = self
                    .function
                    .as_ref()
                    .is_some_and(|f| f.locals.contains_key(ARG_LOCAL));
                if !declared {
                    self.declare_local(
                        Some(ARG_LOCAL),
                        "i32",
                        format!("(local {ARG_LOCAL} i32)"),
                        name_span,
                    );
                }
                let p = ARG_LOCAL;
                format!(
                    "(call $core.arg (i32.const {index})) (local.set {s}) (local.set {p}) \
                     (if (local.get {s}) (then (return (local.get {s})))) \
                     (local.set {name} ({load} (local.get {p})))"
                )
            }
        };
        self.replace(whole, &text);
    }

    /// The declarations as metadata records.
    pub(super) fn arguments(&self) -> Vec<Argument> {
        self.declared.iter().map(Declared::argument).collect()
    }
}

fn arguments(count: usize) -> String {
    match count {
        1 => "1 argument".into(),
        n => format!("{n} arguments"),
    }
}
