//! Libraries of functions pulled into a program on demand: the standard
//! library's `$std.…` functions.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, OnceLock};

use logos::Logos;

use crate::catalogue::{Entry, Roles};
use crate::lexer::Token;

/// A set of WAT functions, each pulled into a program only when the program
/// calls it (directly, or through another pulled function).
///
/// The source is a list of `(func $name …)` fields. Their text goes through
/// the same preprocessor as the program's, so library code may use string
/// literals, macros and capability calls.
///
/// ```
/// let library = tape_compiler::Library::parse(
///     r#"(func $std.twice (param i32) (result i32)
///          (i32.add (local.get 0) (call $std.once (local.get 0))))
///        (func $std.once (param i32) (result i32) (local.get 0))"#,
/// )?;
/// assert_eq!(library.len(), 2);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Library {
    functions: Functions,
}

#[derive(Debug, Clone)]
enum Functions {
    /// Shared between the clones every compile's `Options` makes.
    Parsed(Arc<HashMap<String, LibraryFunction>>),
    /// The standard library, parsed the first time a program calls into
    /// it: reading it takes longer than compiling a small program that
    /// does not.
    Standard,
}

impl Default for Functions {
    fn default() -> Self {
        Functions::Parsed(Arc::default())
    }
}

/// Every name in the standard library starts with this (a test checks), so
/// a call to any other name is known not to be one without reading it.
const STANDARD_PREFIX: &str = "std.";

#[derive(Debug, Clone)]
struct LibraryFunction {
    text: String,
    /// Names of functions it calls, without the `$`.
    calls: Vec<String>,
    /// The `;;` comment right above it, without the `;;`.
    doc: String,
}

impl Library {
    /// An empty library.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a library: a list of named `(func $name …)` fields.
    ///
    /// # Errors
    ///
    /// A message naming the byte offset, if the text is not a list of named
    /// functions with balanced parentheses, or a name is defined twice.
    pub fn parse(source: &str) -> Result<Library, String> {
        Ok(Library {
            functions: Functions::Parsed(Arc::new(parse_functions(source)?)),
        })
    }

    /// Tape's standard library (the `tape-stdlib` crate). It is read once
    /// per process, when a program first calls into it.
    pub fn standard() -> Library {
        Library {
            functions: Functions::Standard,
        }
    }

    fn functions(&self) -> &HashMap<String, LibraryFunction> {
        static STANDARD: OnceLock<HashMap<String, LibraryFunction>> = OnceLock::new();
        match &self.functions {
            Functions::Parsed(functions) => functions,
            Functions::Standard => STANDARD.get_or_init(|| {
                // The standard library is tested to parse; an error here is
                // a bug in this build, and an empty library the safe answer.
                parse_functions(tape_stdlib::SOURCE).unwrap_or_default()
            }),
        }
    }

    /// How many functions it holds.
    pub fn len(&self) -> usize {
        self.functions().len()
    }

    /// Whether it holds no function.
    pub fn is_empty(&self) -> bool {
        self.functions().is_empty()
    }

    /// Whether it defines `name` (without the `$`).
    pub fn contains(&self, name: &str) -> bool {
        if matches!(self.functions, Functions::Standard) && !name.starts_with(STANDARD_PREFIX) {
            return false;
        }
        self.functions().contains_key(name)
    }

    /// The names it defines, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.functions().keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// What is known of function `name` (without the `$`): its signature,
    /// and from the comment right above it, its documentation and, from a
    /// line `roles: …` in that comment ([`Roles::parse`]), its roles.
    pub fn entry(&self, name: &str) -> Option<Entry> {
        let function = self.functions().get(name)?;
        let mut roles = None;
        let mut doc = String::new();
        for line in function.doc.lines() {
            match line.trim().strip_prefix("roles:") {
                Some(words) => roles = Roles::parse(words).ok(),
                None => {
                    doc.push_str(line);
                    doc.push('\n');
                }
            }
        }
        Some(Entry {
            signature: signature(&function.text),
            roles,
            doc: doc.trim().to_string(),
        })
    }

    /// The text of each function `roots` needs, roots first, then what they
    /// call, breadth first, each once; names it does not define are skipped
    /// (and left for the caller to report).
    pub(crate) fn closure<'a>(
        &self,
        roots: impl IntoIterator<Item = &'a str>,
        defined: &HashSet<&str>,
    ) -> Vec<(&str, &str)> {
        let mut seen = HashSet::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        let mut out = Vec::new();
        for root in roots {
            if let Some((name, _)) = self.functions().get_key_value(root)
                && seen.insert(name.as_str())
            {
                queue.push_back(name);
            }
        }
        while let Some(name) = queue.pop_front() {
            let function = &self.functions()[name];
            out.push((name, function.text.as_str()));
            for callee in &function.calls {
                if defined.contains(callee.as_str()) {
                    continue;
                }
                if let Some((callee, _)) = self.functions().get_key_value(callee.as_str())
                    && seen.insert(callee.as_str())
                {
                    queue.push_back(callee);
                }
            }
        }
        out
    }
}

/// The functions of a library's source; see [`Library::parse`].
fn parse_functions(source: &str) -> Result<HashMap<String, LibraryFunction>, String> {
    let mut functions = HashMap::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut name: Option<String> = None;
    let mut calls = Vec::new();
    let mut prev_call = false;
    let mut expect = Expect::Open;
    // The `;;` lines right above the next function, and where the last ends.
    let mut doc: Vec<&str> = Vec::new();
    let mut doc_end = 0;
    for (token, span) in Token::lexer(source).spanned() {
        let token = token.map_err(|e| format!("{} at byte {}", e.message(), span.start))?;
        let text = &source[span.clone()];
        // A blank line between comments, or between a comment and the
        // function, parts them.
        let adjacent = source[doc_end..span.start].matches('\n').count() <= 1;
        match (token, expect) {
            (Token::LineComment, Expect::Open) => {
                if !adjacent {
                    doc.clear();
                }
                doc.push(text.trim_start_matches(';').trim_end());
                doc_end = span.end;
                continue;
            }
            (Token::BlockComment | Token::LineComment, _) => continue,
            (Token::LParen, Expect::Open) => {
                if !adjacent {
                    doc.clear();
                }
                start = span.start;
                expect = Expect::Func;
                depth = 1;
            }
            (Token::Atom, Expect::Func) if text == "func" => expect = Expect::Name,
            (Token::Atom, Expect::Name) if text.starts_with('$') => {
                name = Some(text[1..].to_string());
                expect = Expect::Body;
            }
            (Token::LParen, Expect::Body) => depth += 1,
            (Token::RParen, Expect::Body) => {
                depth -= 1;
                if depth == 0 {
                    let name = name.take().unwrap_or_default();
                    let function = LibraryFunction {
                        text: source[start..span.end].to_string(),
                        calls: std::mem::take(&mut calls),
                        doc: doc
                            .drain(..)
                            .map(|line| line.strip_prefix(' ').unwrap_or(line))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    };
                    if functions.insert(name.clone(), function).is_some() {
                        return Err(format!("`${name}` is defined twice"));
                    }
                    expect = Expect::Open;
                }
            }
            (Token::Atom, Expect::Body) => {
                if prev_call && let Some(callee) = text.strip_prefix('$') {
                    calls.push(callee.to_string());
                }
                prev_call = matches!(text, "call" | "return_call" | "ref.func");
                continue;
            }
            (_, Expect::Body) => {}
            _ => {
                return Err(format!(
                    "expected a `(func $name …)` field at byte {}",
                    span.start
                ));
            }
        }
        prev_call = false;
    }
    if expect != Expect::Open {
        return Err("the last function is not closed".into());
    }
    Ok(functions)
}

/// The `(param …)` and `(result …)` clauses at the head of a function's
/// text, joined by single spaces.
fn signature(function: &str) -> String {
    let mut clauses = Vec::new();
    // Past `(func $name`.
    let mut rest = function
        .strip_prefix("(func")
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix('$'))
        .map(|rest| rest.trim_start_matches(|c: char| !c.is_whitespace() && c != '(' && c != ')'))
        .unwrap_or_default();
    loop {
        rest = rest.trim_start();
        if !(rest.starts_with("(param") || rest.starts_with("(result")) {
            break;
        }
        let mut depth = 0;
        let Some(end) = rest.char_indices().find_map(|(at, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(at + 1)
        }) else {
            break;
        };
        clauses.push(rest[..end].split_whitespace().collect::<Vec<_>>().join(" "));
        rest = &rest[end..];
    }
    clauses.join(" ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Open,
    Func,
    Name,
    Body,
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = r#"
        ;; a fixture library
        (func $std.a (call $std.b) (call $std.c))
        (func $std.b (call $std.c))
        (func $std.c (call $log.write (i32.const 0) "c"))
        (func $std.unused (call $std.a))
    "#;

    #[test]
    fn closure_takes_what_is_called_and_nothing_else() {
        let lib = Library::parse(LIB).unwrap();
        let names: Vec<_> = lib
            .closure(["std.a"], &HashSet::new())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["std.a", "std.b", "std.c"]);
        let names: Vec<_> = lib
            .closure(["std.c", "std.nope"], &HashSet::new())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["std.c"]);
    }

    #[test]
    fn a_definition_in_the_program_replaces_the_library_one() {
        let lib = Library::parse(LIB).unwrap();
        let defined = HashSet::from(["std.b"]);
        let names: Vec<_> = lib
            .closure(["std.a"], &defined)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["std.a", "std.c"]);
    }

    #[test]
    fn malformed_libraries_are_refused() {
        assert!(
            Library::parse("(func $a) (func $a)")
                .unwrap_err()
                .contains("defined twice")
        );
        assert!(
            Library::parse("(global i32)")
                .unwrap_err()
                .contains("expected a `(func $name")
        );
        assert!(
            Library::parse("(func $a (block)")
                .unwrap_err()
                .contains("not closed")
        );
        assert!(Library::parse("(func (nop))").is_err());
    }

    #[test]
    fn every_standard_function_has_the_prefix_that_lets_other_calls_skip_it() {
        let functions = parse_functions(tape_stdlib::SOURCE).unwrap();
        assert!(functions.len() > 30);
        for name in functions.keys() {
            assert!(name.starts_with(STANDARD_PREFIX), "{name}");
        }
        let standard = Library::standard();
        assert!(standard.contains("std.str.len"));
        assert!(!standard.contains("core.result"));
        assert_eq!(standard.len(), functions.len());
    }
}
