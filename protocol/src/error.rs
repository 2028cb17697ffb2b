use std::fmt::{self, Display};

/// The result type of every fallible function in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while encoding or decoding.
///
/// Decoding errors carry the byte offset, counted from the start of the
/// input given to [`from_bytes`](crate::from_bytes),
/// [`take_from_bytes`](crate::take_from_bytes) or
/// [`Deserializer::from_bytes`](crate::Deserializer::from_bytes), at which
/// the problem was found. The [`Display`] form names that offset and what
/// was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A fixed-width value (an integer, a float, a bool, a char, a tag or a
    /// length prefix) needs more bytes than remain before the end of the
    /// input or of the innermost enclosing payload.
    UnexpectedEnd {
        /// Where the value starts.
        offset: usize,
        /// What was being read, e.g. `"a u32 length prefix"`.
        expected: &'static str,
        /// How many bytes the value needs.
        needed: usize,
        /// How many bytes were left.
        available: usize,
    },
    /// A length prefix declares a payload longer than what remains of the
    /// input or of the innermost enclosing payload. Reported before anything
    /// is allocated for the value.
    LengthOutOfRange {
        /// Where the length prefix starts.
        offset: usize,
        /// What the prefix introduces, e.g. `"a string"`.
        expected: &'static str,
        /// The length the prefix declares.
        len: usize,
        /// How many bytes remain after the prefix.
        available: usize,
    },
    /// A length-prefixed value ended before its payload did: the payload
    /// declared more bytes than its contents used.
    UnconsumedPayload {
        /// Where the unread bytes start.
        offset: usize,
        /// What the payload held, e.g. `"a struct"`.
        expected: &'static str,
        /// How many bytes were left unread.
        count: usize,
    },
    /// A bool byte was neither 0 nor 1.
    InvalidBool {
        /// Where the byte is.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// A char's u32 is not a Unicode scalar value (it is a surrogate or
    /// above `0x10FFFF`).
    InvalidChar {
        /// Where the u32 starts.
        offset: usize,
        /// The u32 found.
        value: u32,
    },
    /// A string's bytes are not valid UTF-8.
    InvalidUtf8 {
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// An option's tag byte was neither 0 (`None`) nor 1 (`Some`).
    InvalidOptionTag {
        /// Where the tag byte is.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// Bytes remain after a complete top-level value, where the input should
    /// have ended.
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many extra bytes there are.
        count: usize,
    },
    /// Length-prefixed values are nested deeper than the deserializer's limit
    /// ([`DEFAULT_MAX_DEPTH`](crate::DEFAULT_MAX_DEPTH) unless changed with
    /// [`Deserializer::with_max_depth`](crate::Deserializer::with_max_depth)).
    DepthLimitExceeded {
        /// Where the first value past the limit starts.
        offset: usize,
        /// The limit in force.
        limit: usize,
    },
    /// An element of a sequence or map decoded from zero bytes while its
    /// payload still had bytes left, so the element count is ambiguous.
    ZeroSizedElement {
        /// Where the element was decoded.
        offset: usize,
        /// How many payload bytes were left.
        remaining: usize,
    },
    /// The target type asked for `deserialize_any` or
    /// `deserialize_ignored_any`. The format is not self-describing, so the
    /// type being decoded has to say what it expects (untagged, internally
    /// tagged and flattened serde representations need this and are not
    /// supported).
    AnyNotSupported {
        /// Where the value would start.
        offset: usize,
    },
    /// While encoding, a payload, string or byte string was longer than a
    /// u32 length prefix can describe.
    TooLarge {
        /// The length that did not fit.
        len: usize,
    },
    /// An error raised by a `Serialize` or `Deserialize` implementation,
    /// such as an unknown enum variant index or a failed validation.
    Custom {
        /// Where decoding was when the error was raised; `None` for encoding
        /// errors and for errors that never passed through a decoder.
        offset: Option<usize>,
        /// The implementation's message.
        message: String,
    },
}

impl Error {
    /// The input offset the error refers to, if it is a decoding error
    /// that has one.
    #[must_use]
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Error::UnexpectedEnd { offset, .. }
            | Error::LengthOutOfRange { offset, .. }
            | Error::UnconsumedPayload { offset, .. }
            | Error::InvalidBool { offset, .. }
            | Error::InvalidChar { offset, .. }
            | Error::InvalidUtf8 { offset }
            | Error::InvalidOptionTag { offset, .. }
            | Error::TrailingBytes { offset, .. }
            | Error::DepthLimitExceeded { offset, .. }
            | Error::ZeroSizedElement { offset, .. }
            | Error::AnyNotSupported { offset } => Some(offset),
            Error::Custom { offset, .. } => offset,
            Error::TooLarge { .. } => None,
        }
    }

    /// Gives a custom error that has no offset yet the one given. The
    /// innermost decoder that sees the error knows the most precise offset,
    /// so one that already has an offset keeps it.
    pub(crate) fn locate(&mut self, at: usize) {
        if let Error::Custom { offset, .. } = self
            && offset.is_none()
        {
            *offset = Some(at);
        }
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnexpectedEnd {
                offset,
                expected,
                needed,
                available,
            } => write!(
                f,
                "expected {expected} at byte {offset}, but {} (it needs {needed})",
                Remain(*available)
            ),
            Error::LengthOutOfRange {
                offset,
                expected,
                len,
                available,
            } => write!(
                f,
                "the length prefix at byte {offset} declares {expected} of {}, but {}",
                Bytes(*len),
                Remain(*available)
            ),
            Error::UnconsumedPayload {
                offset,
                expected,
                count,
            } => write!(
                f,
                "{expected} ended at byte {offset} with {} of its payload unread; \
                 its length prefix and its contents disagree",
                Bytes(*count)
            ),
            Error::InvalidBool { offset, value } => write!(
                f,
                "expected a bool (0 or 1) at byte {offset}, found {value}"
            ),
            Error::InvalidChar { offset, value } => write!(
                f,
                "expected a char at byte {offset}, found {value:#x}, \
                 which is not a Unicode scalar value"
            ),
            Error::InvalidUtf8 { offset } => write!(
                f,
                "expected UTF-8 text at byte {offset}, found an invalid or truncated sequence"
            ),
            Error::InvalidOptionTag { offset, value } => write!(
                f,
                "expected an option tag (0 for None, 1 for Some) at byte {offset}, found {value}"
            ),
            Error::TrailingBytes { offset, count } => write!(
                f,
                "expected the end of the input at byte {offset}, found {} after the value",
                Bytes(*count)
            ),
            Error::DepthLimitExceeded { offset, limit } => write!(
                f,
                "the value at byte {offset} is nested more than {limit} length-prefixed \
                 levels deep"
            ),
            Error::ZeroSizedElement { offset, remaining } => write!(
                f,
                "the element at byte {offset} decoded from zero bytes with {} of its \
                 sequence left; a sequence of zero-sized values cannot be counted",
                Bytes(*remaining)
            ),
            Error::AnyNotSupported { offset } => write!(
                f,
                "cannot decode the value at byte {offset} without knowing its type: \
                 the format is not self-describing (deserialize_any is not supported)"
            ),
            Error::TooLarge { len } => write!(
                f,
                "cannot encode {} behind a u32 length prefix (the limit is {})",
                Bytes(*len),
                u32::MAX
            ),
            Error::Custom {
                offset: Some(offset),
                message,
            } => write!(f, "{message} (at byte {offset})"),
            Error::Custom {
                offset: None,
                message,
            } => f.write_str(message),
        }
    }
}

/// "1 byte", "2 bytes".
struct Bytes(usize);

impl Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 byte"),
            n => write!(f, "{n} bytes"),
        }
    }
}

/// "no bytes remain", "only 1 byte remains", "only 2 bytes remain".
struct Remain(usize);

impl Display for Remain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("no bytes remain"),
            1 => f.write_str("only 1 byte remains"),
            n => write!(f, "only {n} bytes remain"),
        }
    }
}

impl std::error::Error for Error {}

impl serde::ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Custom {
            offset: None,
            message: msg.to_string(),
        }
    }
}

impl serde::de::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Custom {
            offset: None,
            message: msg.to_string(),
        }
    }
}
