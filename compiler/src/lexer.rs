//! The lexer: WebAssembly text tokens plus Tape's triple-quoted strings.
//!
//! Whitespace and comments are skipped rather than produced: the
//! preprocessor copies the source between tokens verbatim, so it never needs
//! to see them. Comments still have to be recognised here, so that a `"` or
//! a `(` inside one is not mistaken for code.

use logos::{Lexer, Logos};

/// Why the lexer could not produce a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LexError {
    /// A character that starts no WebAssembly text token.
    #[default]
    UnexpectedChar,
    /// A `"` string with no closing quote before the end of its line.
    UnterminatedString,
    /// A `"""` string with no closing `"""`.
    UnterminatedTripleString,
    /// A `(;` block comment with no matching `;)`.
    UnterminatedBlockComment,
    /// An `r"`, `r#"`… string with no closing `"` (and as many `#`) on its
    /// line.
    UnterminatedRawString,
    /// An `r"""` string with no closing `"""`.
    UnterminatedRawTripleString,
}

impl LexError {
    pub fn message(self) -> &'static str {
        match self {
            LexError::UnexpectedChar => "unexpected character",
            LexError::UnterminatedString => "unterminated string literal",
            LexError::UnterminatedTripleString => "unterminated triple-quoted string literal",
            LexError::UnterminatedBlockComment => "unterminated block comment",
            LexError::UnterminatedRawString => "unterminated raw string literal",
            LexError::UnterminatedRawTripleString => {
                "unterminated raw triple-quoted string literal"
            }
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            LexError::UnexpectedChar => {
                "WebAssembly text is made of parentheses, keywords, `$names`, numbers and strings"
            }
            LexError::UnterminatedString => {
                "close the string with `\"` on the same line, or use `\"\"\"` for a string spanning lines"
            }
            LexError::UnterminatedTripleString => "close the string with `\"\"\"`",
            LexError::UnterminatedBlockComment => {
                "close the comment with `;)`; block comments nest, so each `(;` needs its own `;)`"
            }
            LexError::UnterminatedRawString => {
                "close it on the same line with `\"` followed by as many `#` as opened it (`r#\"…\"#`); to hold `\"#`, open with more `#`; for several lines, use `r\"\"\"…\"\"\"`"
            }
            LexError::UnterminatedRawTripleString => "close the string with `\"\"\"`",
        }
    }
}

/// A token of extended WebAssembly text.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
#[logos(error = LexError)]
// Line comments are tokens found by a callback, not a skipped pattern:
// logos moves between the states of its matcher, and starts again after a
// skipped match, by calls rather than a loop, so a file of a million
// comment lines nested a million calls deep and overflowed the stack.
#[logos(skip r"[ \t\r\n]+")]
pub enum Token {
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    /// A `"…"` string; escapes are not checked here.
    #[token("\"", string)]
    String,
    /// A `"""…"""` string, which may span lines.
    #[token("\"\"\"", triple_string)]
    TripleString,
    /// A raw string: `r"…"`, `r#"…"#` (any number of `#`, the same at
    /// both ends) on one line, or `r"""…"""` over lines. Nothing in it is
    /// an escape.
    #[regex(r##"r#*""##, raw_string)]
    RawString,
    /// A `$"…"` quoted identifier.
    #[token("$\"", string)]
    QuotedId,
    /// A keyword, `$identifier`, number or any other run of identifier
    /// characters.
    #[regex(r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+")]
    Atom,
    /// `(;` … `;)`, nesting. Produced only so the callback can run; the
    /// preprocessor treats it as trivia.
    #[token("(;", block_comment)]
    BlockComment,
    /// `;;` to the end of the line. Trivia too.
    #[token(";;", line_comment)]
    LineComment,
    /// `,`, `;`, `[`, `]`, `{` or `}`: reserved characters of the text
    /// format, meaningless outside annotations but not errors of the lexer
    /// (`(@a , ; ] [)` is a valid annotation).
    #[regex(r"[,;\[\]{}]")]
    Reserved,
}

/// Takes the rest of the line; the `;;` is already consumed. A line ends
/// at either newline of the text format, `\n` or `\r`, where wast ends it.
fn line_comment(lex: &mut Lexer<Token>) {
    let rest = lex.remainder().as_bytes();
    lex.bump(memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len()));
}

/// Finds the closing `"` of a one-line string; the opening quote is already
/// consumed.
fn string(lex: &mut Lexer<Token>) -> Result<(), LexError> {
    let rest = lex.remainder().as_bytes();
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'"' => {
                lex.bump(i + 1);
                return Ok(());
            }
            // An escaped character never closes the string, but a newline
            // still ends the line, escaped or not.
            b'\\' if rest.get(i + 1).is_some_and(|&c| c != b'\n') => i += 2,
            b'\n' => break,
            _ => i += 1,
        }
    }
    lex.bump(i);
    Err(LexError::UnterminatedString)
}

/// Finds the end of a raw string; `r`, the `#`s and the first `"` are
/// consumed. `r"""` opens a triple-quoted one.
fn raw_string(lex: &mut Lexer<Token>) -> Result<(), LexError> {
    let hashes = lex.slice().len() - 2;
    let rest = lex.remainder().as_bytes();
    if hashes == 0 && rest.starts_with(b"\"\"") {
        return match memchr::memmem::find(&rest[2..], b"\"\"\"") {
            Some(at) => {
                lex.bump(2 + at + 3);
                Ok(())
            }
            None => {
                lex.bump(rest.len());
                Err(LexError::UnterminatedRawTripleString)
            }
        };
    }
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'"' if rest[i + 1..].len() >= hashes
                && rest[i + 1..i + 1 + hashes].iter().all(|&c| c == b'#') =>
            {
                lex.bump(i + 1 + hashes);
                return Ok(());
            }
            b'\n' | b'\r' => break,
            _ => i += 1,
        }
    }
    lex.bump(i);
    Err(LexError::UnterminatedRawString)
}

fn triple_string(lex: &mut Lexer<Token>) -> Result<(), LexError> {
    let rest = lex.remainder().as_bytes();
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'\\' => i += 2,
            b'"' if rest[i..].starts_with(b"\"\"\"") => {
                lex.bump(i + 3);
                return Ok(());
            }
            _ => i += 1,
        }
    }
    lex.bump(rest.len());
    Err(LexError::UnterminatedTripleString)
}

fn block_comment(lex: &mut Lexer<Token>) -> Result<(), LexError> {
    let rest = lex.remainder().as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i + 1 < rest.len() {
        match (rest[i], rest[i + 1]) {
            (b'(', b';') => {
                depth += 1;
                i += 2;
            }
            (b';', b')') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    lex.bump(i);
                    return Ok(());
                }
            }
            _ => i += 1,
        }
    }
    lex.bump(rest.len());
    Err(LexError::UnterminatedBlockComment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_lex(src: &str, expected: &[(Result<Token, LexError>, &str, std::ops::Range<usize>)]) {
        let got: Vec<_> = Token::lexer(src)
            .spanned()
            .map(|(tok, span)| (tok, &src[span.clone()], span))
            .collect();
        let want: Vec<_> = expected
            .iter()
            .map(|(tok, slice, span)| (*tok, *slice, span.clone()))
            .collect();
        assert_eq!(got, want, "lexing {src:?}");
    }

    #[test]
    fn parens_atoms_and_numbers() {
        assert_lex(
            "(i32.const -0x1F)",
            &[
                (Ok(Token::LParen), "(", 0..1),
                (Ok(Token::Atom), "i32.const", 1..10),
                (Ok(Token::Atom), "-0x1F", 11..16),
                (Ok(Token::RParen), ")", 16..17),
            ],
        );
    }

    #[test]
    fn identifiers_and_quoted_identifiers() {
        assert_lex(
            "$log.write $\"a b\"",
            &[
                (Ok(Token::Atom), "$log.write", 0..10),
                (Ok(Token::QuotedId), "$\"a b\"", 11..17),
            ],
        );
    }

    #[test]
    fn strings_with_escaped_quotes() {
        assert_lex(
            r#""a\"b" "\\""#,
            &[
                (Ok(Token::String), r#""a\"b""#, 0..6),
                (Ok(Token::String), r#""\\""#, 7..11),
            ],
        );
    }

    #[test]
    fn triple_quoted_strings_span_lines() {
        let src = "\"\"\"one\n\"two\"\n\"\"\" )";
        assert_lex(
            src,
            &[
                (Ok(Token::TripleString), "\"\"\"one\n\"two\"\n\"\"\"", 0..16),
                (Ok(Token::RParen), ")", 17..18),
            ],
        );
    }

    #[test]
    fn raw_strings_with_and_without_hashes() {
        assert_lex(
            r###"r"a" r#"b"c"# r##"d"#e"## r"" br"x""###,
            &[
                (Ok(Token::RawString), r#"r"a""#, 0..4),
                (Ok(Token::RawString), r##"r#"b"c"#"##, 5..13),
                (Ok(Token::RawString), r###"r##"d"#e"##"###, 14..25),
                (Ok(Token::RawString), r#"r"""#, 26..29),
                // `br` is a keyword: only `r` right before the quote opens one.
                (Ok(Token::Atom), "br", 30..32),
                (Ok(Token::String), r#""x""#, 32..35),
            ],
        );
    }

    #[test]
    fn raw_triple_strings_span_lines_and_keep_escapes() {
        let src = "r\"\"\"{\"a\": \"\\n\"\n}\"\"\" )";
        assert_lex(
            src,
            &[
                (
                    Ok(Token::RawString),
                    "r\"\"\"{\"a\": \"\\n\"\n}\"\"\"",
                    0..19,
                ),
                (Ok(Token::RParen), ")", 20..21),
            ],
        );
    }

    #[test]
    fn unterminated_raw_strings() {
        assert_lex(
            "r#\"a\"\nx",
            &[
                (Err(LexError::UnterminatedRawString), "r#\"a\"", 0..5),
                (Ok(Token::Atom), "x", 6..7),
            ],
        );
        assert_lex(
            "r\"\"\"a\"\"",
            &[(
                Err(LexError::UnterminatedRawTripleString),
                "r\"\"\"a\"\"",
                0..7,
            )],
        );
    }

    /// Found by the `compile` fuzz target: wast ends a line comment at
    /// `\r` as well as `\n` (the text format's newlines), so what follows
    /// a `\r` is code to wast and must be to the lexer too.
    #[test]
    fn a_line_comment_ends_at_a_carriage_return() {
        assert_lex(
            ";; note\r\"s\"",
            &[
                (Ok(Token::LineComment), ";; note", 0..7),
                (Ok(Token::String), "\"s\"", 8..11),
            ],
        );
    }

    #[test]
    fn comments_are_trivia_tokens_and_block_comments_nest() {
        assert_lex(
            ";; \"not a string\"\n(; outer (; inner ;) \" ;) x",
            &[
                (Ok(Token::LineComment), ";; \"not a string\"", 0..17),
                (
                    Ok(Token::BlockComment),
                    "(; outer (; inner ;) \" ;)",
                    18..43,
                ),
                (Ok(Token::Atom), "x", 44..45),
            ],
        );
    }

    #[test]
    fn unterminated_string_stops_at_end_of_line() {
        assert_lex(
            "\"abc\nx",
            &[
                (Err(LexError::UnterminatedString), "\"abc", 0..4),
                (Ok(Token::Atom), "x", 5..6),
            ],
        );
    }

    #[test]
    fn unterminated_triple_string_and_comment() {
        assert_lex(
            "\"\"\"abc",
            &[(Err(LexError::UnterminatedTripleString), "\"\"\"abc", 0..6)],
        );
        assert_lex(
            "(; (; ;)",
            &[(Err(LexError::UnterminatedBlockComment), "(; (; ;)", 0..8)],
        );
    }

    #[test]
    fn unexpected_character() {
        assert_lex(
            "a ä b",
            &[
                (Ok(Token::Atom), "a", 0..1),
                (Err(LexError::UnexpectedChar), "ä", 2..4),
                (Ok(Token::Atom), "b", 5..6),
            ],
        );
    }

    /// The text format's reserved characters, which annotations may hold.
    #[test]
    fn reserved_characters_are_tokens() {
        assert_lex(
            "(@a , ;] {;; c\n)",
            &[
                (Ok(Token::LParen), "(", 0..1),
                (Ok(Token::Atom), "@a", 1..3),
                (Ok(Token::Reserved), ",", 4..5),
                (Ok(Token::Reserved), ";", 6..7),
                (Ok(Token::Reserved), "]", 7..8),
                (Ok(Token::Reserved), "{", 9..10),
                (Ok(Token::LineComment), ";; c", 10..14),
                (Ok(Token::RParen), ")", 15..16),
            ],
        );
    }

    /// A million comment lines overflowed the stack, each skipped comment
    /// a call deeper than the last. Lexed here on a 256 KiB stack.
    #[test]
    fn long_runs_of_comments_and_whitespace_take_no_stack() {
        let src = format!(
            "( {}{} \"{}\" {}){}",
            ";; a comment\n  \t\n".repeat(200_000),
            "atom".repeat(250_000),
            "string".repeat(200_000),
            " \n".repeat(500_000),
            ";; end"
        );
        let lexed = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                Token::lexer(&src)
                    .filter(|token| *token != Ok(Token::LineComment))
                    .collect::<Vec<_>>()
            })
            .unwrap()
            .join()
            .expect("lexing overflowed a 256 KiB stack");
        assert_eq!(
            lexed,
            [
                Ok(Token::LParen),
                Ok(Token::Atom),
                Ok(Token::String),
                Ok(Token::RParen)
            ]
        );
    }
}
