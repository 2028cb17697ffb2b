//! Decoding string literals: the WebAssembly text escapes, in one-line and
//! triple-quoted strings.

use std::ops::Range;

/// A bad escape or character, at a byte range relative to the token start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StringError {
    pub span: Range<usize>,
    pub message: String,
    pub help: &'static str,
}

/// Decodes the contents of a string token (quotes included in `token`).
/// `quote` is the length of the delimiter: 1 for `"`, 3 for `"""`.
pub(crate) fn decode(token: &str, quote: usize) -> Result<Vec<u8>, StringError> {
    let body = &token[quote..token.len() - quote];
    let triple = quote == 3;
    // Most literals have no escapes and no control characters: one copy.
    if !body.bytes().any(|b| b == b'\\' || b < 0x20 || b == 0x7f) {
        return Ok(body.as_bytes().to_vec());
    }
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    let at = |i: usize, len: usize| quote + i..quote + i + len;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    return Err(StringError {
                        span: at(i, 1),
                        message: "a string cannot end with a lone `\\`".into(),
                        help: ESCAPES,
                    });
                };
                match e {
                    'n' => out.push(b'\n'),
                    't' => out.push(b'\t'),
                    'r' => out.push(b'\r'),
                    '"' => out.push(b'"'),
                    '\'' => out.push(b'\''),
                    '\\' => out.push(b'\\'),
                    'u' => {
                        let (value, len) = unicode_escape(&body[i..]).ok_or_else(|| StringError {
                            span: at(i, escape_len(&body[i..])),
                            message: "invalid unicode escape".into(),
                            help: "write a Unicode scalar value in hex, like `\\u{e9}` or `\\u{1F600}`",
                        })?;
                        let mut buf = [0; 4];
                        out.extend_from_slice(value.encode_utf8(&mut buf).as_bytes());
                        // `len` counts `\u{…}`; two characters are consumed.
                        for _ in 2..len {
                            chars.next();
                        }
                    }
                    h if h.is_ascii_hexdigit() => {
                        let low =
                            chars
                                .next_if(|(_, c)| c.is_ascii_hexdigit())
                                .ok_or_else(|| StringError {
                                    span: at(i, 2),
                                    message: "a byte escape needs two hex digits".into(),
                                    help: "write a byte as `\\` and two hex digits, like `\\0a`",
                                })?;
                        let byte = hex(h) << 4 | hex(low.1);
                        out.push(byte);
                    }
                    other => {
                        return Err(StringError {
                            span: at(i, 1 + other.len_utf8()),
                            message: format!("invalid escape `\\{}`", other.escape_debug()),
                            help: ESCAPES,
                        });
                    }
                }
            }
            '\n' | '\t' | '\r' if triple => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            c if c.is_control() => {
                return Err(StringError {
                    span: at(i, c.len_utf8()),
                    message: format!("control character {:?} in a string", c),
                    help: "write it as an escape, like `\\t` or `\\0a`",
                });
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Ok(out)
}

/// Decodes a string token of any kind: `"…"`, `"""…"""` or raw.
pub(crate) fn decode_token(token: &str) -> Result<Vec<u8>, StringError> {
    if token.starts_with('r') {
        decode_raw(token)
    } else {
        decode(token, if is_triple(token) { 3 } else { 1 })
    }
}

/// Whether a string token may span lines: `"""…"""` or `r"""…"""`.
pub(crate) fn is_triple(token: &str) -> bool {
    token.trim_start_matches('r').starts_with("\"\"\"") && token.len() >= 6
}

/// Decodes a raw string token: its bytes as they are, no escapes. Control
/// characters are refused as in other strings, except a tab, and line
/// breaks in a triple-quoted one.
fn decode_raw(token: &str) -> Result<Vec<u8>, StringError> {
    let hashes = token[1..].bytes().take_while(|&b| b == b'#').count();
    let triple = hashes == 0 && token.starts_with("r\"\"\"") && token.len() >= 7;
    let (open, close) = if triple {
        (4, 3)
    } else {
        (2 + hashes, 1 + hashes)
    };
    let body = &token[open..token.len() - close];
    for (i, c) in body.char_indices() {
        let allowed = c == '\t' || (triple && (c == '\n' || c == '\r'));
        if c.is_control() && !allowed {
            return Err(StringError {
                span: open + i..open + i + c.len_utf8(),
                message: format!("control character {:?} in a raw string", c),
                help: "a raw string holds no escapes: write this one in a `\"…\"` string as an escape, like `\\0a`",
            });
        }
    }
    Ok(body.as_bytes().to_vec())
}

const ESCAPES: &str =
    "the escapes are `\\n \\t \\r \\\" \\' \\\\`, `\\hh` for a byte, `\\u{…}` for a character";

fn hex(c: char) -> u8 {
    c.to_digit(16).map_or(0, |d| d as u8)
}

/// Parses `\u{…}` at the start of `s`; returns the character and the escape
/// length in characters (all ASCII, so also in bytes).
fn unicode_escape(s: &str) -> Option<(char, usize)> {
    let rest = s.strip_prefix("\\u{")?;
    let close = rest.find('}')?;
    let digits = &rest[..close];
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let value = char::from_u32(u32::from_str_radix(digits, 16).ok()?)?;
    Some((value, 3 + close + 1))
}

/// How much of a bad `\u…` escape to underline.
fn escape_len(s: &str) -> usize {
    match s.find('}') {
        Some(close) if close < 12 => close + 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_escape() {
        assert_eq!(
            decode(r#""a\n\t\r\"\'\\\00\ff\u{e9}\u{1F600}""#, 1).unwrap(),
            b"a\n\t\r\"'\\\x00\xff\xc3\xa9\xf0\x9f\x98\x80"
        );
    }

    #[test]
    fn utf8_passes_through() {
        assert_eq!(decode("\"héllo\"", 1).unwrap(), "héllo".as_bytes());
    }

    #[test]
    fn triple_quoted_keeps_newlines_and_quotes() {
        assert_eq!(
            decode("\"\"\"one\n\t\"two\"\\n\"\"\"", 3).unwrap(),
            b"one\n\t\"two\"\n"
        );
    }

    #[test]
    fn raw_strings_keep_every_byte_as_written() {
        assert_eq!(decode_token(r#"r"C:\new\t""#).unwrap(), br"C:\new\t");
        assert_eq!(
            decode_token(r##"r#"{"a": "h\u00e9\n"}"#"##).unwrap(),
            br#"{"a": "h\u00e9\n"}"#
        );
        assert_eq!(
            decode_token("r\"\"\"a\n\t\"b\"\\n\"\"\"").unwrap(),
            b"a\n\t\"b\"\\n"
        );
        assert_eq!(decode_token(r#"r"""#).unwrap(), b"");
        assert_eq!(decode_token("r\"a\tb\"").unwrap(), b"a\tb");
        // The other kinds, through the same entry.
        assert_eq!(decode_token(r#""a\n""#).unwrap(), b"a\n");
        assert_eq!(decode_token("\"\"\"a\"\"\"").unwrap(), b"a");
        assert!(is_triple("r\"\"\"x\"\"\"") && is_triple("\"\"\"x\"\"\"") && !is_triple("r\"\""));
    }

    #[test]
    fn raw_strings_refuse_control_characters_but_tabs() {
        let err = decode_token("r#\"ab\u{1b}\"#").unwrap_err();
        assert_eq!(
            (err.span, err.message.as_str()),
            (5..6, "control character '\\u{1b}' in a raw string")
        );
        assert!(decode_token("r\"\"\"a\u{7}\"\"\"").is_err());
    }

    #[test]
    fn bad_escapes_are_located() {
        let err = decode(r#""ab\q""#, 1).unwrap_err();
        assert_eq!(
            (err.span, err.message.as_str()),
            (3..5, "invalid escape `\\q`")
        );
        let err = decode(r#""\u{D800}""#, 1).unwrap_err();
        assert_eq!(err.span, 1..9);
        let err = decode(r#""\u{110000}""#, 1).unwrap_err();
        assert_eq!(err.message, "invalid unicode escape");
        let err = decode(r#""\4""#, 1).unwrap_err();
        assert_eq!(err.message, "a byte escape needs two hex digits");
        let err = decode("\"a\tb\"", 1).unwrap_err();
        assert_eq!(err.span, 2..3);
    }
}
