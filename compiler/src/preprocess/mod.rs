//! The preprocessor: one pass over the tokens, copying the source and
//! rewriting the extensions into plain WebAssembly text.
//!
//! It never builds a tree. A stack of open parentheses, each tagged with the
//! keyword that opened it, is enough to know whether a string sits where an
//! instruction may stand, where a function's header ends, which `$name`s are
//! defined and which are called. Text between rewritten tokens is copied in
//! bulk, so plain WAT costs a lex and a `memcpy`.

mod args;
mod library;
mod literals;
pub(crate) mod strings;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use logos::Logos;

pub use self::library::Library;
pub use self::literals::MAX_STATIC_DATA;
pub(crate) use self::literals::{STATIC_BASE, StaticData};
use crate::catalogue::Catalogue;
use crate::diagnostic::{Diagnostic, line_col};
use crate::lexer::Token;
use crate::source_map::SourceMap;

/// Parentheses nest at most this deep; deeper input is an error rather than
/// a risk to the stack of the parser that follows.
pub const MAX_NESTING: usize = 1024;

/// The local that `check`, `resv` and `argv` keep a status in. Names
/// starting with `$__tape_` are reserved.
const STATUS_LOCAL: &str = "$__tape_status";

// The macros' fixed text, spelled out so expanding one costs no formatting.
const CHECK_OPEN: &str = "(if (local.tee $__tape_status";
const CHECK_CLOSE: &str = ") (then (return (local.get $__tape_status))))";
const RESV_OPEN: &str = "(if (local.tee $__tape_status (call $core.result";
const RESV_CLOSE: &str = ")) (then (return (local.get $__tape_status))))";

/// The preprocessed program, ready for `wast`.
#[derive(Debug)]
pub(crate) struct Expanded<'a> {
    pub text: String,
    pub map: SourceMap,
    pub data: StaticData,
    /// Where each named function is defined: the span of its `$name`.
    pub functions: HashMap<&'a str, Range<usize>>,
    /// The arguments the program declares, in order.
    pub arguments: Vec<crate::metadata::Argument>,
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
    /// `(local …)` in a function's header: stays where it is.
    HeaderLocal,
    /// `(local …)` among a function's instructions: moves to the header.
    BodyLocal,
    Macro(Macro),
    /// `(arg …)` at the top level: cut out when it closes.
    ArgDeclaration,
    Other,
}

/// Tape's macros, for functions that return an `i32` status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Macro {
    /// `(argv N $x)`: argument N into local `$x`, or return the status.
    Argv,
    /// `(check E)`: return `E` if it is non-zero.
    Check,
    /// `(resv P)`: hand the value at `P` over as a result, or return the
    /// status.
    Resv,
    /// `(bind $x E)`: `E` leaves a value and a status; return the status if
    /// it is non-zero, else set the value into local `$x`.
    Bind,
}

impl Macro {
    fn name(self) -> &'static str {
        match self {
            Macro::Argv => "argv",
            Macro::Check => "check",
            Macro::Resv => "resv",
            Macro::Bind => "bind",
        }
    }
}

#[derive(Debug, Clone)]
struct Frame {
    head: Head,
    open: usize,
    /// Spans of the direct children, kept only for `local` and macro frames.
    children: Vec<Range<usize>>,
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

/// The function being read.
#[derive(Debug, Default)]
struct Function<'a> {
    /// Source offset of its `(`.
    open: usize,
    /// Offset in the output where its header (name, type, params, results,
    /// leading locals) ends and its instructions begin; hoisted locals go
    /// there. `None` while still in the header.
    header_end: Option<usize>,
    /// Each named local: its type, and where it was declared. A hash map,
    /// so that a function with many locals costs linear time, not square.
    locals: HashMap<&'a str, (String, Range<usize>)>,
    /// Local declarations to insert at `header_end`, in order.
    hoisted: Vec<String>,
}

struct Preprocessor<'a, 'c> {
    src: &'a str,
    catalogue: &'c Catalogue,
    /// The library the program may call, to know what its functions
    /// return; `None` while preprocessing the library itself.
    library: Option<&'c Library>,
    out: String,
    map: SourceMap,
    /// Source before this offset is already in `out`.
    copied_to: usize,
    data: StaticData,
    stack: Vec<Frame>,
    /// Produce the module's fields only: no `(module …)` around them.
    fragment: bool,
    /// The source has its own `(module …)` around the fields.
    wrapped: bool,
    /// Stack index of the enclosing `func`/`global` field, if any.
    code_frame: Option<usize>,
    /// The enclosing `func` field, if any.
    function: Option<Function<'a>>,
    /// Stack index of the outermost enclosing annotation, if any.
    annotation_frame: Option<usize>,
    /// Where in `out` automatic imports go: just inside `(module $name?`.
    import_point: usize,
    /// Where in `out` library functions go: before the module's `)`.
    module_end: usize,
    prev: Prev,
    /// The module's closing `)` has been seen.
    closed: bool,
    /// Scanning stopped early, or a token was unreadable: what is still
    /// open is not worth reporting.
    aborted: bool,
    defined: HashMap<&'a str, Range<usize>>,
    calls: Vec<(&'a str, Range<usize>)>,
    /// The function each `bind` calls, and the call's span: checked at the
    /// end, when the library's signatures are known too.
    binds: Vec<(&'a str, Range<usize>)>,
    diagnostics: Vec<Diagnostic>,
    /// A source offset and its 1-based line, moved forward as literals are
    /// met, so numbering lines costs one pass over the text in all.
    line_cursor: (usize, u32),
    /// The arguments declared with `(arg …)`, in order.
    declared: Vec<args::Declared<'a>>,
}

/// Rewrites `src` into plain WebAssembly text, or says everything that is
/// wrong with it.
pub(crate) fn preprocess<'a>(
    src: &'a str,
    catalogue: &Catalogue,
    library: &Library,
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
    let mut pp = Preprocessor::new(src, catalogue, Some(library), StaticData::new(), wrapped);
    let (declared, problems) = args::collect(src, wrapped);
    pp.declared = declared;
    pp.diagnostics.extend(problems);
    pp.run();
    pp.finish(library)
}

/// The keyword right after the first `(`, if the file starts with one.
fn first_keyword(src: &str) -> Option<(&str, Range<usize>)> {
    let mut lexer = Token::lexer(src);
    let mut after_paren = false;
    while let Some(token) = lexer.next() {
        match token {
            Ok(Token::BlockComment | Token::LineComment) => {}
            Ok(Token::LParen) if !after_paren => after_paren = true,
            Ok(Token::Atom) if after_paren => return Some((lexer.slice(), lexer.span())),
            _ => return None,
        }
    }
    None
}

fn is_header_keyword(keyword: &str) -> bool {
    matches!(
        keyword,
        "export" | "import" | "type" | "param" | "result" | "local"
    ) || keyword.starts_with('@')
}

impl<'a, 'c> Preprocessor<'a, 'c> {
    /// `library` is `None` for the library's own functions, which are a
    /// fragment of a module.
    fn new(
        src: &'a str,
        catalogue: &'c Catalogue,
        library: Option<&'c Library>,
        data: StaticData,
        wrapped: bool,
    ) -> Self {
        let fragment = library.is_none();
        let mut pp = Preprocessor {
            src,
            catalogue,
            library,
            out: String::with_capacity(src.len() + src.len() / 8 + 64),
            map: SourceMap::default(),
            copied_to: 0,
            data,
            stack: Vec::new(),
            fragment,
            wrapped,
            code_frame: None,
            function: None,
            annotation_frame: None,
            import_point: 0,
            module_end: 0,
            prev: Prev::Other,
            closed: false,
            aborted: false,
            defined: HashMap::new(),
            calls: Vec::new(),
            binds: Vec::new(),
            diagnostics: Vec::new(),
            line_cursor: (0, 1),
            declared: Vec::new(),
        };
        if !wrapped && !fragment {
            pp.map.generated(0, 0);
            pp.out.push_str("(module");
            pp.import_point = pp.out.len();
            pp.out.push('\n');
            pp.map.copied(pp.out.len(), 0);
        }
        pp
    }

    fn run(&mut self) {
        let mut any_token = false;
        for (token, span) in Token::lexer(self.src).spanned() {
            let token = match token {
                Ok(Token::BlockComment | Token::LineComment) => continue,
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
                    self.child(&span);
                    self.stack.push(Frame {
                        head: Head::Pending,
                        open: span.start,
                        children: Vec::new(),
                    });
                    self.prev = Prev::Open;
                }
                Token::RParen => {
                    self.close(span);
                    self.prev = Prev::Other;
                }
                Token::Atom => self.atom(span),
                Token::String | Token::TripleString | Token::RawString => self.string(span),
                Token::QuotedId | Token::Reserved | Token::BlockComment | Token::LineComment => {
                    self.settle_head();
                    self.child(&span);
                    self.prev = Prev::Other;
                }
            }
        }
        if !any_token && self.diagnostics.is_empty() && !self.fragment {
            self.diagnostics.push(
                Diagnostic::new("the file has no code")
                    .help("a Tape program needs at least `(func $run (result i32) …)`"),
            );
        }
    }

    /// Notes a direct child of the innermost list: frames that care record
    /// its span, and the first instruction of a function ends its header.
    fn child(&mut self, span: &Range<usize>) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        if top.head == Head::Pending {
            return;
        }
        if matches!(
            top.head,
            Head::BodyLocal | Head::HeaderLocal | Head::Macro(_)
        ) {
            top.children.push(span.clone());
        }
        // A `(` waits for its keyword to tell whether it is header.
        let is_paren = self.src.as_bytes().get(span.start) == Some(&b'(');
        if !is_paren && self.is_function_frame(self.stack.len() - 1) {
            self.end_header(span.start);
        }
    }

    fn is_function_frame(&self, index: usize) -> bool {
        self.function.is_some() && self.code_frame == Some(index)
    }

    fn in_function_body(&self) -> bool {
        self.function
            .as_ref()
            .is_some_and(|f| f.header_end.is_some())
    }

    /// The function's instructions start at source offset `at`.
    fn end_header(&mut self, at: usize) {
        if self
            .function
            .as_ref()
            .is_some_and(|f| f.header_end.is_none())
        {
            self.flush(at);
            let end = self.out.len();
            if let Some(function) = &mut self.function {
                function.header_end = Some(end);
            }
        }
    }

    /// A `(` followed by something other than a keyword opens an ordinary
    /// list.
    fn settle_head(&mut self) {
        let index = self.stack.len().wrapping_sub(1);
        if let Some(top) = self.stack.last_mut()
            && top.head == Head::Pending
        {
            top.head = Head::Other;
            let open = top.open;
            if index > 0 && self.is_function_frame(index - 1) {
                self.end_header(open);
            }
        }
    }

    fn close(&mut self, span: Range<usize>) {
        let Some(frame) = self.stack.pop() else {
            self.diagnostics.push(
                Diagnostic::new("unmatched `)`")
                    .at(span)
                    .label("no `(` is open here")
                    .help("remove it: every `(` before it is closed already"),
            );
            return;
        };
        let depth = self.stack.len();
        match frame.head {
            Head::BodyLocal => self.hoist_local(&frame, &span),
            Head::HeaderLocal => self.record_header_local(&frame, &span),
            Head::Macro(kind) => self.close_macro(kind, &frame, &span),
            Head::ArgDeclaration => self.close_arg(&frame, &span),
            _ => {}
        }
        if self.code_frame == Some(depth) {
            self.code_frame = None;
            if let Some(function) = self.function.take() {
                self.finish_function(function, span.start);
            }
        }
        if self.annotation_frame == Some(depth) {
            self.annotation_frame = None;
        }
        if self.wrapped && depth == 0 {
            self.flush(span.start);
            self.module_end = self.out.len();
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
            self.head(text, span);
            return;
        }
        let is_function_name = prev == Prev::FuncKeyword && text.starts_with('$');
        if !is_function_name {
            self.child(&span);
        }
        if let Some(name) = text.strip_prefix('$') {
            match prev {
                Prev::ModuleKeyword => self.import_point_after(span.end),
                Prev::FuncKeyword => {
                    self.defined.entry(name).or_insert(span);
                }
                Prev::CallKeyword => self.calls.push((name, span)),
                Prev::Open | Prev::Other => self.bare_name_in_macro(span),
            }
            return;
        }
        if matches!(text, "call" | "return_call" | "ref.func") {
            self.prev = Prev::CallKeyword;
        }
    }

    /// The keyword right after a `(` decides what the list is.
    fn head(&mut self, text: &str, span: Range<usize>) {
        let index = self.stack.len() - 1;
        let open = self.stack[index].open;
        let parent_is_function = index > 0 && self.is_function_frame(index - 1);
        if parent_is_function && !is_header_keyword(text) {
            self.end_header(open);
        }
        let head = match text {
            "module" if index == 0 && self.wrapped => {
                self.prev = Prev::ModuleKeyword;
                self.import_point_after(span.end);
                Head::Module
            }
            "func" | "global" if self.at_field_level() => {
                self.code_frame = Some(index);
                if text == "func" {
                    self.function = Some(Function {
                        open,
                        ..Function::default()
                    });
                }
                Head::Code
            }
            "export" | "import" => Head::Names,
            "local" if self.in_function_body() => {
                // Copy what precedes it now: the declaration itself is cut
                // out when it closes.
                self.flush(open);
                Head::BodyLocal
            }
            "local" if parent_is_function => Head::HeaderLocal,
            "argv" | "check" | "resv" | "bind" => self.open_macro(text, open, &span),
            "arg" if self.annotation_frame.is_none() => self.open_arg(open, &span),
            _ if text.starts_with('@') => {
                self.annotation_frame.get_or_insert(index);
                Head::Annotation
            }
            _ => Head::Other,
        };
        if text == "func" {
            self.prev = Prev::FuncKeyword;
        } else if matches!(text, "call" | "return_call" | "ref.func") {
            self.prev = Prev::CallKeyword;
        }
        self.stack[index].head = head;
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
                .is_some_and(|top| matches!(top.head, Head::Code | Head::Other | Head::Macro(_)))
    }

    fn string(&mut self, span: Range<usize>) {
        self.settle_head();
        self.child(&span);
        self.prev = Prev::Other;
        let token = &self.src[span.clone()];
        if !self.is_value_position() {
            if token.starts_with('r') {
                self.diagnostics.push(
                    Diagnostic::new("a raw string can only stand where a value can")
                        .at(span)
                        .help("names in `import`, `export` and `data` take a plain `\"…\"` string"),
                );
            } else if strings::is_triple(token) {
                self.diagnostics.push(
                    Diagnostic::new("a triple-quoted string can only stand where a value can")
                        .at(span)
                        .help("names in `import`, `export` and `data` take a plain `\"…\"` string"),
                );
            }
            return;
        }
        let value = match strings::decode_token(token) {
            Ok(value) => value,
            Err(error) => {
                let at = span.start + error.span.start..span.start + error.span.end;
                self.diagnostics
                    .push(Diagnostic::new(error.message).at(at).help(error.help));
                return;
            }
        };
        let line = self.line_at(span.start);
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
        let mut text = itoa_buffer();
        self.replace(span, const_i32(&mut text, offset));
    }

    /// The 1-based line of source offset `at`, which is never before the
    /// previous one asked for.
    fn line_at(&mut self, at: usize) -> u32 {
        let (from, line) = self.line_cursor;
        let newlines = self.src.as_bytes()[from..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        let line = line + newlines as u32;
        self.line_cursor = (at, line);
        line
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

    // ---- Locals -------------------------------------------------------

    /// Declares a local of the current function; `text` is inserted in its
    /// header unless the same declaration is already there.
    fn declare_local(&mut self, name: Option<&'a str>, ty: &str, text: String, span: Range<usize>) {
        let Some(function) = &mut self.function else {
            return;
        };
        let ty = normalize_type(ty);
        if let Some(name) = name {
            if let Some((earlier, at)) = function.locals.get(name) {
                if *earlier != ty {
                    let (line, _) = line_col(self.src, at.start);
                    self.diagnostics.push(
                        Diagnostic::new(format!(
                            "local `{name}` is declared as `{ty}` here, but as `{earlier}` on line {line}"
                        ))
                        .at(span)
                        .help("a local has one type for the whole function; rename one of them"),
                    );
                }
                return;
            }
            function.locals.insert(name, (ty, span));
        }
        function.hoisted.push(text);
    }

    /// The name (if any) and type text of a `(local …)` frame that closed
    /// at `close`.
    fn local_parts(&self, frame: &Frame, close: &Range<usize>) -> (Option<&'a str>, Range<usize>) {
        let src = self.src;
        let name = frame
            .children
            .first()
            .map(|c| &src[c.clone()])
            .filter(|t| t.starts_with('$'));
        let ty_start = match name {
            Some(_) => frame.children[0].end,
            None => frame.children.first().map_or(close.start, |c| c.start),
        };
        (name, ty_start..close.start)
    }

    fn hoist_local(&mut self, frame: &Frame, close: &Range<usize>) {
        let (name, ty) = self.local_parts(frame, close);
        let whole = frame.open..close.end;
        if name.is_none() {
            // Only a name makes a local declared among instructions usable
            // where it stands; an unnamed one there is malformed text, as
            // the specification says (and its testsuite checks).
            self.diagnostics.push(
                Diagnostic::new("a local without a name among instructions")
                    .at(whole)
                    .help(
                        "name it, `(local $name i32)`, to declare it here; or move it \
                         to the function's head, before the instructions",
                    ),
            );
            return;
        }
        let text = self.src[whole.clone()].to_string();
        let ty = self.src[ty].to_string();
        self.declare_local(name, &ty, text, whole);
        // Cut the declaration out of the instructions.
        self.flush(frame.open);
        self.copied_to = close.end;
        self.map.copied(self.out.len(), close.end);
    }

    fn record_header_local(&mut self, frame: &Frame, close: &Range<usize>) {
        let (name, ty) = self.local_parts(frame, close);
        if let (Some(name), Some(function)) = (name, &mut self.function) {
            let ty = normalize_type(&self.src[ty]);
            function
                .locals
                .entry(name)
                .or_insert((ty, frame.open..close.end));
        }
    }

    fn finish_function(&mut self, function: Function<'a>, close: usize) {
        if function.hoisted.is_empty() {
            return;
        }
        let at = match function.header_end {
            Some(at) => at,
            None => {
                self.flush(close);
                self.out.len()
            }
        };
        let mut text = String::new();
        for local in &function.hoisted {
            text.push(' ');
            text.push_str(local);
        }
        text.push(' ');
        self.out.insert_str(at, &text);
        self.map.insert_generated(at, text.len(), function.open);
    }

    // ---- Macros -------------------------------------------------------

    fn open_macro(&mut self, name: &str, open: usize, span: &Range<usize>) -> Head {
        let kind = match name {
            "argv" => Macro::Argv,
            "check" => Macro::Check,
            "bind" => Macro::Bind,
            _ => Macro::Resv,
        };
        if !self.in_function_body() {
            self.diagnostics.push(
                Diagnostic::new(format!(
                    "`{name}` can only be used among a function's instructions"
                ))
                .at(span.clone())
                .help("macros expand to instructions that return a status from the function"),
            );
            return Head::Other;
        }
        let declared = self
            .function
            .as_ref()
            .is_some_and(|f| f.locals.contains_key(STATUS_LOCAL));
        if !declared {
            self.declare_local(
                Some(STATUS_LOCAL),
                "i32",
                format!("(local {STATUS_LOCAL} i32)"),
                span.clone(),
            );
        }
        match kind {
            // Rewritten whole when it closes.
            Macro::Argv => self.flush(open),
            Macro::Check => self.replace(open..span.end, CHECK_OPEN),
            Macro::Resv => {
                self.calls.push(("core.result", span.clone()));
                self.replace(open..span.end, RESV_OPEN);
            }
            // The operand stays; the name goes, and the rest comes at the
            // close.
            Macro::Bind => self.replace(open..span.end, ""),
        }
        Head::Macro(kind)
    }

    /// `(check $e)` and `(resv $p)` take a local's name for its value;
    /// `(bind $x …)` names the local it sets first.
    fn bare_name_in_macro(&mut self, span: Range<usize>) {
        let Some(top) = self.stack.last() else {
            return;
        };
        if top.children.len() != 1 {
            return;
        }
        match top.head {
            Head::Macro(Macro::Check | Macro::Resv) => {
                let name = &self.src[span.clone()];
                self.replace(span, &format!("(local.get {name})"));
            }
            Head::Macro(Macro::Bind) => self.replace(span, ""),
            _ => {}
        }
    }

    fn close_macro(&mut self, kind: Macro, frame: &Frame, close: &Range<usize>) {
        let whole = frame.open..close.end;
        let usage = |this: &mut Self, message: String| {
            this.diagnostics
                .push(Diagnostic::new(message).at(whole.clone()).help(match kind {
                    Macro::Argv => {
                        "write `(argv 0 $name)`: an argument index, then a local to declare"
                    }
                    Macro::Check => "write `(check (call …))` or `(check $status)`",
                    Macro::Resv => {
                        "write `(resv $ptr)` or `(resv (call …))`: a pointer to a wire value"
                    }
                    Macro::Bind => {
                        "write `(bind $name (call …))`: a local to set, then a call that \
                         returns a value and a status"
                    }
                }));
        };
        if kind == Macro::Argv {
            let src = self.src;
            let args: Vec<&'a str> = frame.children.iter().map(|c| &src[c.clone()]).collect();
            if let [name] = args[..]
                && name.starts_with('$')
            {
                return self.argv_by_name(name, frame.children[0].clone(), whole);
            }
            let [index, name] = args[..] else {
                return usage(self, format!("`argv` takes 2 operands, not {}", args.len()));
            };
            let Ok(number) = index.parse::<u32>() else {
                self.diagnostics.push(
                    Diagnostic::new(format!("`argv` needs an argument index, not `{index}`"))
                        .at(frame.children[0].clone())
                        .help("write `(argv 0 $name)`: the argument's index, from 0, then a local to declare"),
                );
                return;
            };
            if !self.check_argv_index(number, &whole) {
                return;
            }
            if !name.starts_with('$') || name.len() < 2 {
                self.diagnostics.push(
                    Diagnostic::new(format!("`argv` needs a local `$name`, not `{name}`"))
                        .at(frame.children[1].clone())
                        .help("write `(argv 0 $name)`: the argument's index, from 0, then a local to declare"),
                );
                return;
            }
            self.declare_local(
                Some(name),
                "i32",
                format!("(local {name} i32)"),
                frame.children[1].clone(),
            );
            self.calls
                .push(("core.arg", frame.open..frame.children[0].start));
            let s = STATUS_LOCAL;
            self.replace(
                whole.clone(),
                &format!(
                    "(call $core.arg (i32.const {index})) (local.set {s}) (local.set {name}) \
                     (if (local.get {s}) (then (return (local.get {s}))))"
                ),
            );
            return;
        }
        if kind == Macro::Bind {
            let src = self.src;
            let name = frame.children.first().map(|c| &src[c.clone()]);
            let Some(name) = name.filter(|n| n.starts_with('$') && n.len() > 1) else {
                return usage(self, "`bind` needs a local `$name` first".into());
            };
            if frame.children.len() != 2 {
                return usage(
                    self,
                    format!("`bind` takes 2 operands, not {}", frame.children.len()),
                );
            }
            // A list child is noted by its `(`: the call runs to the
            // `bind`'s own `)`.
            let call = frame.children[1].start..close.start;
            let call = call.start..call.start + src[call.clone()].trim_end().len();
            let callee = src[call.clone()]
                .strip_prefix('(')
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix("call"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|name| name.strip_prefix('$'))
                .map(|name| name.trim_end_matches(')'));
            if let Some(callee) = callee {
                self.binds.push((callee, call));
            }
            // Of the type of the call's value (an `i64` for `json.i64`),
            // unless declared already.
            let declared = self
                .function
                .as_ref()
                .is_some_and(|f| f.locals.contains_key(name));
            if !declared {
                let ty = callee.map_or("i32", |callee| self.value_type(callee));
                self.declare_local(
                    Some(name),
                    ty,
                    format!("(local {name} {ty})"),
                    frame.children[0].clone(),
                );
            }
            let s = STATUS_LOCAL;
            self.replace(
                close.clone(),
                &format!(
                    " (local.set {s}) (local.set {name}) \
                     (if (local.get {s}) (then (return (local.get {s}))))"
                ),
            );
            return;
        }
        if frame.children.len() != 1 {
            let name = kind.name();
            return usage(
                self,
                format!("`{name}` takes 1 operand, not {}", frame.children.len()),
            );
        }
        let tail = match kind {
            Macro::Resv => RESV_CLOSE,
            _ => CHECK_CLOSE,
        };
        self.replace(close.clone(), tail);
    }

    // ---- The end --------------------------------------------------------

    fn finish(mut self, library: &Library) -> Result<Expanded<'a>, Vec<Diagnostic>> {
        if let Some(open) = self.stack.last().filter(|_| !self.aborted) {
            let message = if self.stack.len() == 1 && self.wrapped {
                "the module is never closed"
            } else {
                "unclosed `(`"
            };
            self.diagnostics.push(
                Diagnostic::new(message)
                    .at(open.open..open.open + 1)
                    .label("this `(` has no matching `)`")
                    .help("add the `)` that closes it where the form ends"),
            );
        }
        self.check_binds(library);
        let (library_text, library_calls) = self.link_library(library);
        let library_call = library_text.as_ref().map_or(0, |(_, at)| *at);
        let imports = self.automatic_imports(library, &library_calls, library_call);
        if !self.diagnostics.is_empty() {
            self.diagnostics
                .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            return Err(self.diagnostics);
        }
        self.flush(self.src.len());
        if !self.wrapped && !self.fragment {
            self.module_end = self.out.len();
            self.map.generated(self.out.len(), self.src.len());
            self.out.push_str("\n)");
        }
        // Later insertions first, so earlier offsets stay valid.
        if let Some((text, source)) = library_text {
            self.out.insert_str(self.module_end, &text);
            self.map
                .insert_generated(self.module_end, text.len(), source);
        }
        for (text, source) in imports.iter().rev() {
            self.out.insert_str(self.import_point, text);
            self.map
                .insert_generated(self.import_point, text.len(), source.start);
        }
        let arguments = self.arguments();
        Ok(Expanded {
            text: self.out,
            map: self.map,
            data: self.data,
            functions: self.defined,
            arguments,
        })
    }

    /// The type of the first value a call of `callee` returns, where the
    /// catalogue or the library says; `i32` otherwise.
    fn value_type(&self, callee: &str) -> &'static str {
        let signature = callee
            .split_once('.')
            .and_then(|(module, field)| self.catalogue.signature(module, field))
            .map(str::to_string)
            .or_else(|| Some(self.library?.entry(callee)?.signature));
        let first = signature.as_deref().and_then(|signature| {
            signature
                .split('(')
                .filter_map(|clause| {
                    clause
                        .trim_end()
                        .trim_end_matches(')')
                        .strip_prefix("result")
                })
                .flat_map(str::split_whitespace)
                .next()
        });
        match first {
            Some("i64") => "i64",
            Some("f32") => "f32",
            Some("f64") => "f64",
            _ => "i32",
        }
    }

    /// Each `bind`'s call returns a value and a status, where the catalogue
    /// or the library says what it returns.
    fn check_binds(&mut self, library: &Library) {
        for (callee, span) in std::mem::take(&mut self.binds) {
            if self.defined.contains_key(callee) {
                continue;
            }
            let signature = match callee.split_once('.') {
                Some((module, field)) if self.catalogue.signature(module, field).is_some() => {
                    self.catalogue.signature(module, field).map(str::to_string)
                }
                _ => library.entry(callee).map(|entry| entry.signature),
            };
            let Some(signature) = signature else { continue };
            let (_, results) = crate::catalogue::arity(&signature);
            if results == 2 {
                continue;
            }
            let returns = match results {
                0 => "nothing".to_string(),
                1 => "1 value".to_string(),
                n => format!("{n} values"),
            };
            let help = if results == 1 {
                "for a call that returns only a value, write `(local.set $name (call …))`"
            } else {
                "`bind` is for a call that returns (value, status): `tape doc` shows what each returns"
            };
            self.diagnostics.push(
                Diagnostic::new(format!(
                    "`bind` takes a call that returns a value and a status, but `${callee}` returns {returns}"
                ))
                .at(span)
                .label(format!("`(func ${callee} {signature})`"))
                .help(help),
            );
        }
    }

    /// Preprocesses every library function the program needs, sharing the
    /// program's static data. Returns their text with the source offset it
    /// is attributed to (the first call into the library), and the names the
    /// library code calls.
    fn link_library(&mut self, library: &Library) -> (Option<(String, usize)>, Vec<String>) {
        let defined: HashSet<&str> = self.defined.keys().copied().collect();
        let mut roots: Vec<&str> = Vec::new();
        for (name, span) in &self.calls {
            if defined.contains(name) || roots.contains(name) {
                continue;
            }
            if library.contains(name) {
                roots.push(name);
            } else if name.starts_with("std.") {
                let args = folded_arguments(self.src, span.end);
                let help = did_you_mean(self.catalogue, library, name, args);
                self.diagnostics.push(
                    Diagnostic::new(format!("unknown standard library function `${name}`"))
                        .at(span.clone())
                        .help(help),
                );
            }
        }
        let Some(first_call) = self
            .calls
            .iter()
            .find(|(name, _)| roots.contains(name))
            .map(|(_, span)| span.start)
        else {
            return (None, Vec::new());
        };
        let mut text = String::new();
        for (_, function) in library.closure(roots, &defined) {
            text.push('\n');
            text.push_str(function);
        }
        let data = std::mem::replace(&mut self.data, StaticData::new());
        let mut lib = Preprocessor::new(&text, self.catalogue, None, data, false);
        lib.run();
        lib.flush(text.len());
        self.data = std::mem::replace(&mut lib.data, StaticData::new());
        for diagnostic in lib.diagnostics.drain(..) {
            self.diagnostics.push(
                Diagnostic::new(format!("in the standard library: {}", diagnostic.message))
                    .at(first_call..first_call + 1),
            );
        }
        let calls = lib
            .calls
            .iter()
            .filter(|(name, _)| !lib.defined.contains_key(name))
            .map(|(name, _)| name.to_string())
            .collect();
        (Some((lib.out, first_call)), calls)
    }

    /// An import for each `call $cap.fn` that no function defines and the
    /// catalogue knows, in order of first call; `library_calls` are
    /// attributed to `library_call`.
    fn automatic_imports(
        &mut self,
        library: &Library,
        library_calls: &[String],
        library_call: usize,
    ) -> Vec<(String, Range<usize>)> {
        let mut seen = HashSet::new();
        let mut imports = Vec::new();
        let calls = std::mem::take(&mut self.calls);
        let all = calls
            .iter()
            .map(|(name, span)| (*name, span.clone()))
            .chain(
                library_calls
                    .iter()
                    .map(|name| (name.as_str(), library_call..library_call + 1)),
            );
        for (name, span) in all {
            if self.defined.contains_key(name) || !seen.insert(name) {
                continue;
            }
            let Some((module, field)) = name.split_once('.') else {
                continue;
            };
            if let Some(signature) = self.catalogue.signature(module, field) {
                imports.push((
                    format!("\n  (import \"{module}\" \"{field}\" (func ${name} {signature}))"),
                    span,
                ));
            } else if !self.catalogue.has_module(module)
                && module != "std"
                && self.catalogue.modules().next().is_some()
            {
                // A dotted name nothing defines: most often a capability
                // under a name from another platform (`$net.get`).
                let args = folded_arguments(self.src, span.end);
                let reference = crate::Reference::new(self.catalogue, library);
                let suggestions = reference.suggest_module(module, field, args);
                let capabilities: Vec<&str> = self.catalogue.modules().collect();
                let mut help = match suggestions.first() {
                    Some(first) => format!(
                        "did you mean `${}`? It is `(func ${} {})`. ",
                        first.name, first.name, first.entry.signature
                    ),
                    None => String::new(),
                };
                help.push_str(&format!(
                    "The capabilities are {}; `tape doc` lists their functions. \
                     If `${name}` is a function of your own, define it: `(func ${name} …)`",
                    capabilities.join(", ")
                ));
                self.diagnostics.push(
                    Diagnostic::new(format!(
                        "unknown function `${name}`: no capability is named `{module}`, and the program does not define it"
                    ))
                    .at(span)
                    .help(help),
                );
            } else if self.catalogue.has_module(module) {
                let args = folded_arguments(self.src, span.end);
                let help = did_you_mean(self.catalogue, library, name, args);
                self.diagnostics.push(
                    Diagnostic::new(format!("unknown capability function `${name}`"))
                        .at(span)
                        .label(format!("`{module}` has no function `{field}`"))
                        .help(help),
                );
            }
        }
        imports
    }
}

/// The help for a call to `name`, which neither the catalogue nor the
/// library has: what it most likely means, what its group has, and where
/// to read more.
fn did_you_mean(
    catalogue: &Catalogue,
    library: &Library,
    name: &str,
    args: Option<usize>,
) -> String {
    let reference = crate::Reference::new(catalogue, library);
    let suggestions = reference.suggest_for_call(name, args);
    let group = name.rsplit_once('.').map_or(name, |(group, _)| group);
    let mut help = match suggestions.as_slice() {
        [] => String::new(),
        [only] => format!("did you mean `${}`? ", only.name),
        [first, rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|i| format!("`${}`", i.name)).collect();
            format!("did you mean `${}` (or {})? ", first.name, rest.join(", "))
        }
    };
    if let Some(first) = suggestions.first() {
        help.push_str(&format!(
            "It is `(func ${} {})`. ",
            first.name, first.entry.signature
        ));
    }
    let members = reference.group(group);
    if suggestions.is_empty() && !members.is_empty() {
        let names: Vec<&str> = members
            .iter()
            .map(|i| i.name.rsplit('.').next().unwrap_or_default())
            .collect();
        help.push_str(&format!("`{group}` has: {}. ", names.join(", ")));
    } else if members.is_empty() && group.starts_with("std.") {
        let groups: Vec<&str> = reference
            .groups()
            .into_iter()
            .filter(|g| g.starts_with("std."))
            .collect();
        help.push_str(&format!(
            "the standard library has no `{group}` functions; its groups are {}. ",
            groups.join(", ")
        ));
    }
    let topic = match suggestions.first() {
        Some(first) => first.name.as_str(),
        None if !members.is_empty() => group,
        None => "std",
    };
    help.push_str(&format!("`tape doc {topic}` shows the reference"));
    help
}

/// How many operands a folded call has, `(call $f a (b) "c")`, from the end
/// of its name at `after` to its `)`; `None` when it has none written
/// (they may be on the stack) or the text is not a well-formed list.
fn folded_arguments(src: &str, after: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut count = 0;
    for (token, _) in Token::lexer(src.get(after..)?).spanned() {
        match token.ok()? {
            Token::LParen => {
                if depth == 0 {
                    count += 1;
                }
                depth += 1;
            }
            Token::RParen if depth == 0 => return (count > 0).then_some(count),
            Token::RParen => depth -= 1,
            Token::BlockComment | Token::LineComment => {}
            _ if depth == 0 => count += 1,
            _ => {}
        }
    }
    None
}

/// Room for `(i32.const 4294967295)`.
fn itoa_buffer() -> [u8; 24] {
    [0; 24]
}

/// Writes `(i32.const N)` into `buf` without going through `fmt`, which
/// costs more than the rest of rewriting a literal.
fn const_i32(buf: &mut [u8; 24], value: u32) -> &str {
    const PREFIX: &[u8] = b"(i32.const ";
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 10];
    let mut n = value;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut at = PREFIX.len();
    for &d in digits[..len].iter().rev() {
        buf[at] = d;
        at += 1;
    }
    buf[at] = b')';
    // Only ASCII was written.
    std::str::from_utf8(&buf[..=at]).unwrap_or_default()
}

/// A type's text with runs of whitespace made single spaces, so
/// `(ref  null $t)` and `(ref null $t)` compare equal.
fn normalize_type(ty: &str) -> String {
    let ty = ty.trim();
    if !ty.contains(char::is_whitespace) {
        return ty.to_string();
    }
    ty.split_whitespace().collect::<Vec<_>>().join(" ")
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
        preprocess(src, &catalogue(), &Library::new()).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn errors(src: &str) -> Vec<(String, Option<Range<usize>>)> {
        preprocess(src, &catalogue(), &Library::new())
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
    fn const_i32_writes_every_width() {
        for value in [0, 7, 10, 4096, u32::MAX] {
            assert_eq!(
                const_i32(&mut itoa_buffer(), value),
                format!("(i32.const {value})")
            );
        }
        assert_eq!(normalize_type(" (ref  null\t$t) "), "(ref null $t)");
        assert!(CHECK_OPEN.contains(STATUS_LOCAL) && RESV_CLOSE.contains(STATUS_LOCAL));
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
