//! Status codes host functions return to the guest.
//!
//! A host function that can fail in a way the guest should handle returns
//! one of these as an `i32` (with `(result i32 i32)` functions, as the
//! second value). A guest bug the host cannot answer sensibly — a pointer
//! outside memory, say — traps instead, like an out-of-bounds load would.

/// Success.
pub const OK: i32 = 0;
/// An argument is malformed: not UTF-8, an unknown level, a bad path.
pub const INVALID_ARGUMENT: i32 = 1;
/// The grant does not allow this: a host not on the allow-list, a write to a
/// read-only directory.
pub const ACCESS_DENIED: i32 = 2;
/// The thing asked for does not exist: an argument index past the end, a
/// missing key or file.
pub const NOT_FOUND: i32 = 3;
/// A size limit of the grant or the run would be exceeded.
pub const TOO_LARGE: i32 = 4;
/// The operation ran out of time.
pub const TIMED_OUT: i32 = 5;
/// The host's I/O failed: a network error, a full disk.
pub const IO_FAILURE: i32 = 6;

/// The name of a status code, for messages: `name(3) == Some("not found")`.
pub fn name(code: i32) -> Option<&'static str> {
    Some(match code {
        OK => "ok",
        INVALID_ARGUMENT => "invalid argument",
        ACCESS_DENIED => "access denied",
        NOT_FOUND => "not found",
        TOO_LARGE => "too large",
        TIMED_OUT => "timed out",
        IO_FAILURE => "I/O failure",
        _ => return None,
    })
}
