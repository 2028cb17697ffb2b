//! Why a capability call failed: the [`Reason`] a capability records with
//! every failing status it returns, in words, with the call site.

use std::fmt;

use crate::error::CallStack;

/// Why one capability call returned a failing status: what was asked
/// (the path, the URL, the JSON Pointer), what refused it and why, and
/// where in the program the call was.
///
/// A capability records one with [`guest::fail`](crate::guest::fail) as it
/// returns the status; the run keeps the last
/// [`MAX_REASONS`](Reason::MAX_REASONS) in
/// [`Outcome::reasons`](crate::Outcome::reasons), and the guest reads the
/// last one's text with `core.reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reason {
    /// The call, as the program writes it: `kv.get`.
    pub call: &'static str,
    /// The status it returned.
    pub status: i32,
    /// Why, in words: "no file `notes.txt` in the granted directory".
    pub message: String,
    /// Where the program made the call, innermost frame first.
    pub stack: CallStack,
}

impl Reason {
    /// Reasons a run keeps: the last ones, the earlier dropped.
    pub const MAX_REASONS: usize = 16;

    /// Bytes of a reason's message kept; a longer one is cut at a
    /// character boundary and ends with `…`.
    pub const MAX_MESSAGE_BYTES: usize = 1024;

    /// A reason, its message cut to [`MAX_MESSAGE_BYTES`](Reason::MAX_MESSAGE_BYTES).
    pub fn new(
        call: &'static str,
        status: i32,
        message: impl Into<String>,
        stack: CallStack,
    ) -> Reason {
        let mut message = message.into();
        if message.len() > Reason::MAX_MESSAGE_BYTES {
            let mut end = Reason::MAX_MESSAGE_BYTES - '…'.len_utf8();
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        Reason {
            call,
            status,
            message,
            stack,
        }
    }

    /// Where the call was, as `file:line:col`: the innermost frame with a
    /// place in the source.
    pub fn location(&self) -> Option<String> {
        self.stack
            .frames
            .iter()
            .find_map(|f| f.source.as_ref())
            .map(ToString::to_string)
    }
}

impl fmt::Display for Reason {
    /// `kv.get: no key `x``, what `core.reason` gives the guest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.message)
    }
}
