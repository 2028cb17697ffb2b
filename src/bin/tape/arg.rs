//! Program arguments given on the command line, typed by a prefix.
//!
//! | written | becomes |
//! |---|---|
//! | `text` | a string, `[len][utf-8]` |
//! | `str:text` | the string `text`, even if it starts with a prefix or `@` |
//! | `i32:N` `i64:N` `u32:N` `u64:N` | the integer, little-endian at its width |
//! | `f32:X` `f64:X` | the float, little-endian at its width |
//! | `json:VALUE` | the JSON value in the wire format (see [`json`]) |
//! | `@PATH` | the file's bytes, `[len][bytes]` |
//!
//! Only these prefixes are special: `http://x` or `a:b` is a string.

use std::path::PathBuf;

use serde_json::Value;

use crate::failure::Failure;

/// An argument as parsed, before any file is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A wire value, ready to hand to the program.
    Wire(Vec<u8>),
    /// `@PATH`: the bytes of a file, read when the program runs.
    File(PathBuf),
}

/// Why an argument could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    pub message: String,
    pub help: Option<String>,
}

impl Arg {
    /// Parses one argument; see the module docs for the prefixes.
    pub fn parse(text: &str) -> Result<Arg, ArgError> {
        if let Some(path) = text.strip_prefix('@') {
            if path.is_empty() {
                return Err(ArgError {
                    message: "`@` needs a path after it".into(),
                    help: Some(
                        "write `@FILE` for a file's bytes, or `str:@` for the text `@`".into(),
                    ),
                });
            }
            return Ok(Arg::File(PathBuf::from(path)));
        }
        let Some((prefix, rest)) = text.split_once(':') else {
            return Ok(Arg::Wire(string(text)));
        };
        let wire = match prefix {
            "str" => Ok(string(rest)),
            "i32" => number::<i32>(rest, prefix),
            "i64" => number::<i64>(rest, prefix),
            "u32" => number::<u32>(rest, prefix),
            "u64" => number::<u64>(rest, prefix),
            "f32" => number::<f32>(rest, prefix),
            "f64" => number::<f64>(rest, prefix),
            "json" => json(rest),
            _ => return Ok(Arg::Wire(string(text))),
        };
        wire.map(Arg::Wire).map_err(|message| ArgError {
            message,
            help: Some(format!("to pass the text itself, write `str:{text}`")),
        })
    }

    /// The wire value, reading `@PATH` files now.
    pub fn into_wire(self, index: usize) -> Result<Vec<u8>, Failure> {
        match self {
            Arg::Wire(wire) => Ok(wire),
            Arg::File(path) => {
                let bytes = std::fs::read(&path).map_err(|e| {
                    Failure::io(format!(
                        "cannot read `{}` for argument {index}: {e}",
                        path.display()
                    ))
                })?;
                let len = u32::try_from(bytes.len()).map_err(|_| {
                    Failure::usage(format!(
                        "argument {index}: `{}` is over 4 GiB, more than a wire value holds",
                        path.display()
                    ))
                })?;
                let mut wire = Vec::with_capacity(4 + bytes.len());
                wire.extend_from_slice(&len.to_le_bytes());
                wire.extend_from_slice(&bytes);
                Ok(wire)
            }
        }
    }
}

/// `[len][utf-8]`. Command-line arguments are far below the 4 GiB a
/// length prefix holds.
fn string(text: &str) -> Vec<u8> {
    let mut wire = Vec::with_capacity(4 + text.len());
    wire.extend_from_slice(&(text.len() as u32).to_le_bytes());
    wire.extend_from_slice(text.as_bytes());
    wire
}

fn number<T>(text: &str, prefix: &str) -> Result<Vec<u8>, String>
where
    T: std::str::FromStr + serde::Serialize,
    T::Err: std::fmt::Display,
{
    let value: T = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a valid {prefix}: {e}"))?;
    tape_protocol::to_vec(&value).map_err(|e| e.to_string())
}

/// A JSON value in the wire format, as `tape_protocol` serializes a
/// `serde_json::Value`:
///
/// - `true`/`false`: one byte, 1 or 0;
/// - an integer: a `u64` if it is not negative, else an `i64` (8 bytes);
/// - any other number (with a fraction or exponent): an `f64`;
/// - a string: `[len][utf-8]`;
/// - an array: `[payload len][elements]`;
/// - an object: a map, `[payload len][key, value, …]`, keys as strings, in
///   the order written (so an object can stand for a struct);
/// - `null` has no bytes, so it is refused: a reader could not tell it is
///   there.
fn json(text: &str) -> Result<Vec<u8>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("`{text}` is not valid JSON: {e}"))?;
    if let Some(path) = find_null(&value, String::new()) {
        return Err(format!(
            "JSON `null` (at {}) has no wire encoding",
            if path.is_empty() { "the top" } else { &path }
        ));
    }
    tape_protocol::to_vec(&value).map_err(|e| e.to_string())
}

/// The JSON pointer of the first `null` in `value`, if any.
fn find_null(value: &Value, at: String) -> Option<String> {
    match value {
        Value::Null => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_null(item, format!("{at}/{i}"))),
        Value::Object(fields) => fields
            .iter()
            .find_map(|(key, item)| find_null(item, format!("{at}/{key}"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(text: &str) -> Vec<u8> {
        match Arg::parse(text) {
            Ok(Arg::Wire(wire)) => wire,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn error(text: &str) -> String {
        Arg::parse(text).unwrap_err().message
    }

    #[test]
    fn plain_text_and_unknown_prefixes_are_strings() {
        assert_eq!(wire("hi"), [2, 0, 0, 0, b'h', b'i']);
        assert_eq!(wire(""), [0, 0, 0, 0]);
        assert_eq!(wire("a:b"), [3, 0, 0, 0, b'a', b':', b'b']);
        assert_eq!(
            wire("str:i32:5"),
            [5, 0, 0, 0, b'i', b'3', b'2', b':', b'5']
        );
        assert_eq!(wire("str:@x"), [2, 0, 0, 0, b'@', b'x']);
    }

    #[test]
    fn numbers_are_little_endian_at_their_width() {
        assert_eq!(wire("i32:5"), [5, 0, 0, 0]);
        assert_eq!(wire("i32:-1"), [0xff; 4]);
        assert_eq!(wire("i64:258"), [2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(wire("u32:4294967295"), [0xff; 4]);
        assert_eq!(wire("u64:1"), [1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(wire("f32:1.5"), 1.5f32.to_le_bytes());
        assert_eq!(wire("f64:-0.25"), (-0.25f64).to_le_bytes());
        assert!(error("i32:4294967296").contains("not a valid i32"));
        assert!(error("u32:-1").contains("not a valid u32"));
        assert!(error("i64:x").contains("`x` is not a valid i64"));
        assert_eq!(
            Arg::parse("i32:x").unwrap_err().help.as_deref(),
            Some("to pass the text itself, write `str:i32:x`")
        );
    }

    #[test]
    fn json_values_take_their_wire_encodings() {
        assert_eq!(wire("json:true"), [1]);
        assert_eq!(wire("json:7"), [7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(wire("json:-1"), [0xff; 8]);
        assert_eq!(wire("json:1.5"), 1.5f64.to_le_bytes());
        assert_eq!(wire(r#"json:"hi""#), [2, 0, 0, 0, b'h', b'i']);
        assert_eq!(wire("json:[true,false]"), [2, 0, 0, 0, 1, 0]);
        // Keys in the order written: `b` before `a`.
        assert_eq!(
            wire(r#"json:{"b":true,"a":false}"#),
            [12, 0, 0, 0, 1, 0, 0, 0, b'b', 1, 1, 0, 0, 0, b'a', 0]
        );
        assert!(error("json:{").contains("not valid JSON"));
        assert!(error("json:null").contains("(at the top)"));
        assert!(error(r#"json:{"a":[1,null]}"#).contains("(at /a/1)"));
    }

    #[test]
    fn at_names_a_file_read_later() {
        assert_eq!(Arg::parse("@data.bin"), Ok(Arg::File("data.bin".into())));
        assert!(error("@").contains("needs a path"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        std::fs::write(&path, [0xff, 0]).unwrap();
        let arg = Arg::File(path.clone());
        assert_eq!(arg.into_wire(0).unwrap(), [2, 0, 0, 0, 0xff, 0]);
        let missing = Arg::File(dir.path().join("none")).into_wire(3).unwrap_err();
        assert!(
            missing.message.contains("for argument 3"),
            "{}",
            missing.message
        );
    }
}
