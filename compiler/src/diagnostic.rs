//! Compile errors located in the user's source and rendered rustc-style.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config, termcolor};

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The program does not compile.
    Error,
    /// It compiles, but probably not as meant (a [lint](crate::Lint)).
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// An error, or a warning.
    pub severity: Severity,
    /// The lint that found it, for a lint's finding (`unused-status`).
    pub code: Option<&'static str>,
    /// What is wrong, in one line.
    pub message: String,
    /// Where, as a byte range in the original source; `None` when the
    /// problem has no place in the text (an empty file, say).
    pub span: Option<Range<usize>>,
    /// A short label shown under the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: None,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
    }

    pub(crate) fn at(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one source file, with the text needed to show
/// them.
#[derive(Clone)]
pub struct Diagnostics {
    file: String,
    source: Arc<str>,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn new(file: &str, source: Arc<str>, items: Vec<Diagnostic>) -> Self {
        Diagnostics {
            file: file.to_string(),
            source,
            items,
        }
    }

    /// The file name the diagnostics refer to.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The problems, in source order.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.source, offset)
    }

    /// Renders every diagnostic as rustc does: `error: …`, then
    /// `--> file:line:col`, the source line and a caret. With `color`, ANSI
    /// escapes are included for a terminal.
    pub fn render(&self, color: bool) -> String {
        let files = SimpleFile::new(self.file.as_str(), &*self.source);
        let config = Config::default();
        let mut out = termcolor::Buffer::no_color();
        if color {
            out = termcolor::Buffer::ansi();
        }
        for item in &self.items {
            let mut rendered = match item.severity {
                Severity::Error => Rendered::error(),
                Severity::Warning => Rendered::warning(),
            }
            .with_message(&item.message);
            if let Some(code) = item.code {
                rendered = rendered.with_code(code);
            }
            if let Some(span) = &item.span {
                let span = clamp(span, &self.source);
                let mut label = Label::primary((), span);
                if let Some(text) = &item.label {
                    label = label.with_message(text);
                }
                rendered = rendered.with_labels(vec![label]);
            }
            if let Some(help) = &item.help {
                rendered = rendered.with_notes(vec![format!("help: {help}")]);
            }
            // Rendering into memory only fails on a span outside the file,
            // which `clamp` rules out; fall back to the bare message anyway.
            if term::emit_to_write_style(&mut out, &config, &files, &rendered).is_err() {
                out.clear();
                return self.plain_fallback();
            }
        }
        String::from_utf8_lossy(out.as_slice()).into_owned()
    }

    fn plain_fallback(&self) -> String {
        let mut text = String::new();
        for item in &self.items {
            text.push_str(&format!("{}: {}\n", item.severity.name(), item.message));
        }
        text
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(false).trim_end())
    }
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostics")
            .field("file", &self.file)
            .field("items", &self.items)
            .finish()
    }
}

/// Keeps a span inside the text and on character boundaries.
fn clamp(span: &Range<usize>, text: &str) -> Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    let end = floor(span.end).max(start);
    start..end
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = clamp(&(offset..offset), text).start;
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_snippet_and_help() {
        let source: Arc<str> = Arc::from("(func $run\n  (call $kv.gett))\n");
        let diagnostics = Diagnostics::new(
            "demo.wat",
            source,
            vec![
                Diagnostic::new("unknown capability function `$kv.gett`")
                    .at(19..27)
                    .label("not in the import catalogue")
                    .help("`kv` provides: get, set"),
            ],
        );
        let text = diagnostics.render(false);
        assert!(
            text.starts_with("error: unknown capability function `$kv.gett`"),
            "{text}"
        );
        assert!(text.contains("┌─ demo.wat:2:9"), "{text}");
        assert!(text.contains("(call $kv.gett))"), "{text}");
        assert!(
            text.contains("^^^^^^^^ not in the import catalogue"),
            "{text}"
        );
        assert!(text.contains("= help: `kv` provides: get, set"), "{text}");
        assert_eq!(diagnostics.line_col(19), (2, 9));
    }

    #[test]
    fn spans_past_the_end_or_inside_a_character_are_clamped() {
        assert_eq!(clamp(&(2..99), "aé"), 1..3);
        assert_eq!(line_col("a\né", 99), (2, 2));
    }
}
