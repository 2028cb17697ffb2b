//! Declared arguments: a program that declares its arguments with
//! `(arg $name TYPE "description")` gets them converted to those types and
//! checked before it runs, whoever calls it.
//!
//! [`Program::args_from_text`] takes words, as a command line gives them;
//! [`Program::args_from_json`] takes a JSON object with a property per
//! argument, as a tool-calling agent produces it. Both fill in defaults
//! and refuse a value of the wrong type, a missing required argument or
//! one too many, naming the argument. [`ArgsBuilder`] is what they are made
//! of, for a caller with its own conventions (the `tape` command line reads
//! `bytes` arguments from files, and accepts typed prefixes).
//!
//! ```
//! use tape_rt::{Config, Engine, Grants};
//!
//! let engine = Engine::new(Config { cache_dir: None, ..Config::default() })?;
//! let source = r#"
//!     (arg $name str "who to greet")
//!     (arg $times i32 "how many times" (default 1))
//!     (func $run (result i32)
//!       (argv $name) (argv $times)
//!       (block $done (loop $again
//!         (br_if $done (i32.eqz (local.get $times)))
//!         (resv $name)
//!         (local.set $times (i32.sub (local.get $times) (i32.const 1)))
//!         (br $again)))
//!       (i32.const 0))"#;
//! let program = engine.compile_str("greet.wat", source, &Grants::new())?;
//! assert_eq!(program.arguments()[1].name, "times");
//!
//! let args = program.args_from_text(&["Ada", "2"])?;
//! assert_eq!(program.run(&args)?.results.len(), 2);
//! let args = program.args_from_json(&serde_json::json!({"name": "Ada"}))?;
//! assert_eq!(program.run(&args)?.results.len(), 1);
//!
//! let error = program.args_from_text(&["Ada", "two"]).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "argument `times` (i32): `two` is not a valid i32: invalid digit found in string"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde_json::Value;
pub use tape_compiler::{ArgType, Argument};

use crate::error::{ArgumentError, article};
use crate::outcome::Args;
use crate::program::Program;

impl Program {
    /// The arguments the program declares, in order; empty if it declares
    /// none (then it takes whatever it is given).
    pub fn arguments(&self) -> &[Argument] {
        &self.metadata().arguments
    }

    /// Arguments from words, one per declared argument in order, each
    /// converted to its declared type ([`ArgType::parse_text`]: a number
    /// in decimal, a bool `true` or `false`, JSON text checked, a string's
    /// or bytes' text as it is); the defaults of those left out. A program
    /// that declares no arguments gets each word as a string.
    ///
    /// # Errors
    ///
    /// [`ArgumentError`]: a word that is not of its argument's type, one
    /// word too many, a required argument left out.
    pub fn args_from_text<S: AsRef<str>>(&self, words: &[S]) -> Result<Args, ArgumentError> {
        if self.arguments().is_empty() {
            return Ok(Args::strings(words));
        }
        let mut builder = self.args_builder();
        for (position, word) in words.iter().enumerate() {
            builder.text(position, word.as_ref())?;
        }
        builder.finish()
    }

    /// Arguments from a JSON object with a property per argument, by name
    /// (what the JSON Schema of `tape inspect --json` describes): a `str`
    /// or `bytes` argument takes a JSON string (bytes: its UTF-8), a
    /// number a JSON number in its type's range (an integer for the
    /// integer types), a `bool` `true` or `false`, a `json` argument any
    /// JSON value, handed over as its compact text. Left-out arguments
    /// take their defaults.
    ///
    /// # Errors
    ///
    /// [`ArgumentError`]: not an object, a property the program does not
    /// declare, a value not of its argument's type, a required argument
    /// left out.
    pub fn args_from_json(&self, object: &Value) -> Result<Args, ArgumentError> {
        let Value::Object(fields) = object else {
            return Err(ArgumentError::NotAnObject {
                found: json_kind(object),
            });
        };
        let mut builder = self.args_builder();
        for (name, value) in fields {
            let position = builder.position(name)?;
            builder.json(position, value)?;
        }
        builder.finish()
    }

    /// An empty [`ArgsBuilder`] for the declared arguments.
    pub fn args_builder(&self) -> ArgsBuilder<'_> {
        ArgsBuilder::new(self.arguments())
    }
}

/// Sets declared arguments one at a time, by position, each checked
/// against its type; [`finish`](ArgsBuilder::finish) fills in defaults.
#[derive(Debug, Clone)]
pub struct ArgsBuilder<'a> {
    declared: &'a [Argument],
    values: Vec<Option<Vec<u8>>>,
}

impl<'a> ArgsBuilder<'a> {
    /// A builder for `declared`, with nothing set.
    pub fn new(declared: &'a [Argument]) -> Self {
        ArgsBuilder {
            declared,
            values: vec![None; declared.len()],
        }
    }

    /// The position of the argument `name`.
    ///
    /// # Errors
    ///
    /// [`ArgumentError::Unknown`] if no argument has that name.
    pub fn position(&self, name: &str) -> Result<usize, ArgumentError> {
        self.declared
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| ArgumentError::Unknown {
                name: name.to_string(),
                declared: self.declared.iter().map(|a| a.name.clone()).collect(),
            })
    }

    /// The argument at `position`.
    ///
    /// # Errors
    ///
    /// [`ArgumentError::TooMany`] past the last declared argument.
    pub fn argument(&self, position: usize) -> Result<&'a Argument, ArgumentError> {
        self.declared.get(position).ok_or(ArgumentError::TooMany {
            given: position + 1,
            declared: self.declared.len(),
        })
    }

    fn set(&mut self, position: usize, wire: Vec<u8>) -> Result<(), ArgumentError> {
        let argument = self.argument(position)?;
        let slot = &mut self.values[position];
        if slot.is_some() {
            return Err(ArgumentError::Twice {
                name: argument.name.clone(),
            });
        }
        *slot = Some(wire);
        Ok(())
    }

    /// Sets the argument at `position` from its text form
    /// ([`ArgType::parse_text`]).
    ///
    /// # Errors
    ///
    /// [`ArgumentError::Invalid`] if `text` is not of its type;
    /// [`ArgumentError::TooMany`] past the last argument,
    /// [`ArgumentError::Twice`] if it is set already.
    pub fn text(&mut self, position: usize, text: &str) -> Result<(), ArgumentError> {
        let argument = self.argument(position)?;
        let wire = argument
            .ty
            .parse_text(text)
            .map_err(|reason| invalid(argument, reason))?;
        self.set(position, wire)
    }

    /// Sets the argument at `position` from bytes: a `bytes` argument's
    /// bytes, a `str` argument's UTF-8 text, a `json` argument's JSON text
    /// (a file's contents, say).
    ///
    /// # Errors
    ///
    /// [`ArgumentError::Invalid`] for a number or `bool` argument, text
    /// that is not UTF-8, JSON that does not parse; as
    /// [`ArgsBuilder::text`] for the position.
    pub fn bytes(&mut self, position: usize, bytes: &[u8]) -> Result<(), ArgumentError> {
        let argument = self.argument(position)?;
        let wire = match argument.ty {
            ArgType::Bytes => length_prefixed(argument, bytes)?,
            ArgType::Str | ArgType::Json => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| invalid(argument, format!("the bytes are not UTF-8 text: {e}")))?;
                // Not `parse_text`, whose message quotes the whole text.
                if argument.ty == ArgType::Json
                    && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text)
                {
                    return Err(invalid(
                        argument,
                        format!("the text is not valid JSON: {e}"),
                    ));
                }
                length_prefixed(argument, bytes)?
            }
            ty => {
                return Err(invalid(
                    argument,
                    format!("{} is given as a number or bool, not as bytes", article(ty)),
                ));
            }
        };
        self.set(position, wire)
    }

    /// Sets the argument at `position` to a wire value already made as a
    /// value of type `ty`, which must be the argument's; `given` is how it
    /// was written, for the error.
    ///
    /// # Errors
    ///
    /// [`ArgumentError::Mismatch`] if `ty` is not the argument's type; as
    /// [`ArgsBuilder::text`] for the position.
    pub fn typed(
        &mut self,
        position: usize,
        ty: ArgType,
        given: &str,
        wire: Vec<u8>,
    ) -> Result<(), ArgumentError> {
        let argument = self.argument(position)?;
        if argument.ty != ty {
            return Err(ArgumentError::Mismatch {
                name: argument.name.clone(),
                ty: argument.ty,
                given: given.to_string(),
                given_ty: ty,
            });
        }
        self.set(position, wire)
    }

    /// Sets the argument at `position` from a JSON value, as
    /// [`Program::args_from_json`] reads each property.
    ///
    /// # Errors
    ///
    /// [`ArgumentError::Invalid`] if the value is not of the argument's
    /// type; as [`ArgsBuilder::text`] for the position.
    pub fn json(&mut self, position: usize, value: &Value) -> Result<(), ArgumentError> {
        let argument = self.argument(position)?;
        let wire = from_json(argument, value)?;
        self.set(position, wire)
    }

    /// The arguments, in order, with the defaults of those not set.
    /// Every declared argument is written, so the guest always finds as
    /// many as the program declares.
    ///
    /// # Errors
    ///
    /// [`ArgumentError::Missing`] for the first required argument not set.
    pub fn finish(self) -> Result<Args, ArgumentError> {
        let mut args = Args::new();
        for (argument, value) in self.declared.iter().zip(self.values) {
            let wire = match (value, &argument.default) {
                (Some(wire), _) => wire,
                // Checked by the compiler; a module made otherwise may
                // hold anything.
                (None, Some(default)) => argument
                    .ty
                    .parse_text(default)
                    .map_err(|reason| invalid(argument, format!("its default: {reason}")))?,
                (None, None) => {
                    return Err(ArgumentError::Missing {
                        name: argument.name.clone(),
                        ty: argument.ty,
                        description: argument.description.clone(),
                    });
                }
            };
            args = args.push_raw(wire);
        }
        Ok(args)
    }
}

fn invalid(argument: &Argument, reason: String) -> ArgumentError {
    ArgumentError::Invalid {
        name: argument.name.clone(),
        ty: argument.ty,
        reason,
    }
}

fn length_prefixed(argument: &Argument, bytes: &[u8]) -> Result<Vec<u8>, ArgumentError> {
    // The wire format's own bytes: `[u32 len][bytes]`, refused past 4 GiB.
    tape_protocol::to_vec(serde_bytes::Bytes::new(bytes))
        .map_err(|e| invalid(argument, e.to_string()))
}

/// The kinds of JSON value as messages name them, in the order of the
/// `json.type` codes (0 null … 5 object): one vocabulary for every
/// message about JSON, whatever holds the value.
pub const JSON_KINDS: [&str; 6] = [
    "null",
    "a boolean",
    "a number",
    "a string",
    "an array",
    "an object",
];

/// A JSON value's kind, as messages name it: one of [`JSON_KINDS`].
pub fn json_kind(value: &Value) -> &'static str {
    JSON_KINDS[match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }]
}

/// One JSON property as the wire value of its argument's type.
fn from_json(argument: &Argument, value: &Value) -> Result<Vec<u8>, ArgumentError> {
    let wrong = |expected: &str| {
        invalid(
            argument,
            format!("expected {expected}, not {}: `{value}`", json_kind(value)),
        )
    };
    let wire = |result: Result<Vec<u8>, tape_protocol::Error>| {
        result.map_err(|e| invalid(argument, e.to_string()))
    };
    fn integer<T: TryFrom<i64> + TryFrom<u64> + serde::Serialize>(
        value: &Value,
    ) -> Option<Result<Vec<u8>, tape_protocol::Error>> {
        let number: T = match (value.as_i64(), value.as_u64()) {
            (Some(n), _) => T::try_from(n).ok()?,
            (None, Some(n)) => T::try_from(n).ok()?,
            _ => return None,
        };
        Some(tape_protocol::to_vec(&number))
    }
    let range = |min: &str, max: &str| format!("an integer from {min} to {max}");
    match argument.ty {
        ArgType::Str => match value {
            Value::String(text) => length_prefixed(argument, text.as_bytes()),
            _ => Err(wrong("a string")),
        },
        ArgType::Bytes => match value {
            Value::String(text) => length_prefixed(argument, text.as_bytes()),
            _ => Err(wrong("a string (its UTF-8 bytes)")),
        },
        ArgType::I32 => integer::<i32>(value)
            .map(wire)
            .unwrap_or_else(|| Err(wrong(&range("-2147483648", "2147483647")))),
        ArgType::I64 => integer::<i64>(value)
            .map(wire)
            .unwrap_or_else(|| Err(wrong(&range("-9223372036854775808", "9223372036854775807")))),
        ArgType::U32 => integer::<u32>(value)
            .map(wire)
            .unwrap_or_else(|| Err(wrong(&range("0", "4294967295")))),
        ArgType::U64 => integer::<u64>(value)
            .map(wire)
            .unwrap_or_else(|| Err(wrong(&range("0", "18446744073709551615")))),
        ArgType::F64 => match value.as_f64() {
            Some(x) => wire(tape_protocol::to_vec(&x)),
            None => Err(wrong("a number")),
        },
        ArgType::F32 => match value.as_f64() {
            // A finite number past f32's range would become infinity.
            Some(x) if (x as f32).is_finite() => wire(tape_protocol::to_vec(&(x as f32))),
            Some(_) => Err(wrong("a number within the range of f32")),
            None => Err(wrong("a number")),
        },
        ArgType::Bool => match value {
            Value::Bool(b) => wire(tape_protocol::to_vec(b)),
            _ => Err(wrong("true or false")),
        },
        ArgType::Json => length_prefixed(argument, value.to_string().as_bytes()),
    }
}
