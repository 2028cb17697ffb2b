//! Program arguments given on the command line, typed by a prefix.
//!
//! | written | becomes |
//! |---|---|
//! | `text` | a string, `[len][utf-8]`; for a program that declares its arguments, a value of the declared type |
//! | `str:text` | the string `text`, even if it starts with a prefix or `@` |
//! | `i32:N` `i64:N` `u32:N` `u64:N` | the integer, little-endian at its width |
//! | `f32:X` `f64:X` | the float, little-endian at its width |
//! | `bool:true` `bool:false` | one byte, 1 or 0 |
//! | `json:TEXT` | JSON text, checked to parse, as a string `[len][utf-8]` |
//! | `wire:VALUE` | the JSON value in the wire format (see [`wire`]) |
//! | `@PATH` | the file's bytes, `[len][bytes]` |
//!
//! Only these prefixes are special: `http://x` or `a:b` is a string.

use std::path::PathBuf;

use serde_json::Value;
use tape_rt::{ArgType, Args, ArgsBuilder};

use crate::failure::Failure;

/// An argument as parsed, before any file is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A word without a prefix: a string, unless the program declares
    /// the argument's type.
    Plain(String),
    /// `TYPE:VALUE`, for a type a declaration can name: its wire value.
    Typed {
        ty: ArgType,
        given: String,
        wire: Vec<u8>,
    },
    /// `wire:VALUE`: a JSON value in the wire format, of no declared type.
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
            return Ok(Arg::Plain(text.to_string()));
        };
        let help = || Some(format!("to pass the text itself, write `str:{text}`"));
        if prefix == "wire" {
            return wire(rest).map(Arg::Wire).map_err(|message| ArgError {
                message,
                help: help(),
            });
        }
        let ty = match prefix {
            "str" => ArgType::Str,
            "i32" => ArgType::I32,
            "i64" => ArgType::I64,
            "u32" => ArgType::U32,
            "u64" => ArgType::U64,
            "f32" => ArgType::F32,
            "f64" => ArgType::F64,
            "bool" => ArgType::Bool,
            "json" => ArgType::Json,
            _ => return Ok(Arg::Plain(text.to_string())),
        };
        match ty.parse_text(rest) {
            Ok(wire) => Ok(Arg::Typed {
                ty,
                given: text.to_string(),
                wire,
            }),
            Err(message) => Err(ArgError {
                message,
                help: help(),
            }),
        }
    }

    /// The wire value for a program that declares no arguments, reading
    /// `@PATH` files now.
    pub fn into_wire(self, index: usize) -> Result<Vec<u8>, Failure> {
        match self {
            Arg::Plain(text) => Ok(string(text.as_bytes())),
            Arg::Typed { wire, .. } | Arg::Wire(wire) => Ok(wire),
            Arg::File(path) => {
                let bytes = read(&path, index)?;
                if u32::try_from(bytes.len()).is_err() {
                    return Err(Failure::usage(format!(
                        "argument {index}: `{}` is over 4 GiB, more than a wire value holds",
                        path.display()
                    )));
                }
                Ok(string(&bytes))
            }
        }
    }

    /// Sets this argument, at `position`, in `builder`: a plain word is
    /// read as the declared type (for `bytes`, as the path of a file to
    /// read), a typed one must be of the declared type, `@PATH` gives a
    /// `str`, `json` or `bytes` argument the file's contents.
    pub fn declare(self, position: usize, builder: &mut ArgsBuilder<'_>) -> Result<(), Failure> {
        let argument = builder.argument(position).map_err(usage)?;
        let set = match self {
            Arg::Plain(text) if argument.ty == ArgType::Bytes => {
                builder.bytes(position, &read(&PathBuf::from(text), position)?)
            }
            Arg::Plain(text) => builder.text(position, &text),
            Arg::Typed { ty, given, wire } => builder.typed(position, ty, &given, wire),
            Arg::File(path) => builder.bytes(position, &read(&path, position)?),
            Arg::Wire(_) => {
                return Err(Failure::usage(format!(
                    "argument `{}` is declared as {}, and `wire:` values have no type",
                    argument.name, argument.ty
                ))
                .help("write the value plainly, or with its type's prefix"));
            }
        };
        set.map_err(usage)
    }
}

/// A usage failure for an [`tape_rt::ArgumentError`].
pub fn usage(error: tape_rt::ArgumentError) -> Failure {
    Failure::usage(error.to_string())
}

/// The arguments of a program that declares none: each as [`Arg::into_wire`]
/// makes it.
pub fn undeclared(parsed: Vec<Arg>) -> Result<Args, Failure> {
    let mut args = Args::new();
    for (index, arg) in parsed.into_iter().enumerate() {
        args = args.push_raw(arg.into_wire(index)?);
    }
    Ok(args)
}

fn read(path: &std::path::Path, index: usize) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::io(format!(
            "cannot read `{}` for argument {index}: {e}",
            path.display()
        ))
    })
}

/// `[len][bytes]`. Command-line arguments are far below the 4 GiB a
/// length prefix holds; a file's size is checked before.
fn string(bytes: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(4 + bytes.len());
    wire.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    wire.extend_from_slice(bytes);
    wire
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
fn wire(text: &str) -> Result<Vec<u8>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("`{text}` is not valid JSON: {e}"))?;
    if let Some(path) = find_null(&value, String::new()) {
        return Err(format!(
            "JSON `null` (at {}) has no wire encoding",
            if path.is_empty() { "the top" } else { &path }
        ));
    }
    tape_protocol::to_vec(&AsWire(&value)).map_err(|e| e.to_string())
}

/// A JSON value serialized as above. serde_json keeps each number as it
/// was written (the `arbitrary_precision` feature, for the `json`
/// capability), which it hands to other formats as a private map; here a
/// number is the integer or float it stands for.
struct AsWire<'a>(&'a Value);

impl serde::Serialize for AsWire<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap, SerializeSeq};
        match self.0 {
            Value::Number(number) => match (number.as_u64(), number.as_i64(), number.as_f64()) {
                (Some(n), _, _) => serializer.serialize_u64(n),
                (None, Some(n), _) => serializer.serialize_i64(n),
                (None, None, Some(x)) => serializer.serialize_f64(x),
                (None, None, None) => Err(S::Error::custom(format!(
                    "the number {number} is out of range of an f64"
                ))),
            },
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&AsWire(item))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, item) in fields {
                    map.serialize_entry(key, &AsWire(item))?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
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
            Ok(arg @ (Arg::Plain(_) | Arg::Typed { .. } | Arg::Wire(_))) => {
                arg.into_wire(0).unwrap()
            }
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
    fn wire_values_take_their_wire_encodings() {
        assert_eq!(wire("wire:true"), [1]);
        assert_eq!(wire("wire:7"), [7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(wire("wire:-1"), [0xff; 8]);
        assert_eq!(wire("wire:1.5"), 1.5f64.to_le_bytes());
        assert_eq!(wire(r#"wire:"hi""#), [2, 0, 0, 0, b'h', b'i']);
        assert_eq!(wire("wire:[true,false]"), [2, 0, 0, 0, 1, 0]);
        // Keys in the order written: `b` before `a`.
        assert_eq!(
            wire(r#"wire:{"b":true,"a":false}"#),
            [12, 0, 0, 0, 1, 0, 0, 0, b'b', 1, 1, 0, 0, 0, b'a', 0]
        );
        assert!(error("wire:{").contains("not valid JSON"));
        assert!(error("wire:null").contains("(at the top)"));
        assert!(error(r#"wire:{"a":[1,null]}"#).contains("(at /a/1)"));
    }

    #[test]
    fn json_is_text_checked_and_handed_over_as_written() {
        assert_eq!(wire(r#"json:{"a": 1}"#), b"\x08\0\0\0{\"a\": 1}");
        assert_eq!(wire("json:null"), b"\x04\0\0\0null");
        assert!(error("json:{").contains("`{` is not valid JSON"));
        assert_eq!(wire("bool:true"), [1]);
        assert!(error("bool:yes").contains("write `true` or `false`"));
        assert_eq!(
            Arg::parse("json:[1]"),
            Ok(Arg::Typed {
                ty: ArgType::Json,
                given: "json:[1]".into(),
                wire: b"\x03\0\0\0[1]".to_vec(),
            })
        );
    }

    #[test]
    fn at_names_a_file_read_later() {
        assert_eq!(Arg::parse("@data.bin"), Ok(Arg::File("data.bin".into())));
        assert_eq!(Arg::parse("a:b"), Ok(Arg::Plain("a:b".into())));
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
