//! Tape's wire format: a compact, length-prefixed binary encoding for serde
//! types, used to pass values between the host and WebAssembly guests.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Point {
//!     x: i32,
//!     label: String,
//! }
//!
//! let point = Point { x: 7, label: "hi".to_owned() };
//! let bytes = tape_protocol::to_vec(&point)?;
//! assert_eq!(
//!     bytes,
//!     [
//!         10, 0, 0, 0, // the struct's payload is 10 bytes long
//!         7, 0, 0, 0, // x: i32, little-endian
//!         2, 0, 0, 0, b'h', b'i', // label: length, then UTF-8 bytes
//!     ]
//! );
//! assert_eq!(tape_protocol::from_bytes::<Point>(&bytes)?, point);
//! # Ok::<(), tape_protocol::Error>(())
//! ```
//!
//! # The format
//!
//! All integers are little-endian and every length prefix is a `u32`.
//! Numbers are written at their full width, with no prefix. Strings, byte
//! strings and every container (sequence, tuple, struct, map, option, enum)
//! start with the byte length of what follows, so a reader can skip any of
//! them by reading one `u32`. Struct field names and enum variant names are
//! not written: fields are identified by their order and variants by their
//! index. The repository's `docs/wire-format.md` is the normative
//! description, with byte-by-byte examples.
//!
//! The format is not self-describing: decoding needs the target type, so
//! serde features that inspect the input to decide what it holds
//! (`#[serde(untagged)]`, internally tagged enums, `#[serde(flatten)]`)
//! fail with [`Error::AnyNotSupported`]. Fields that are skipped
//! conditionally (`skip_serializing_if`) make the encoding unreadable, as
//! in any format without field names.
//!
//! # Decoding is bounded
//!
//! Every read is checked against the end of the innermost enclosing payload,
//! and every length prefix against the bytes that remain, before anything is
//! allocated: a short input can never make the decoder reserve a large
//! buffer, whatever its prefixes claim. Capacity hints given to collections
//! are estimates of one element per 4 payload bytes, from one budget of the
//! input's length shared by the whole decode, so memory use is bounded by
//! the input's length times a factor set by the target types' in-memory
//! sizes. Nesting is limited to [`DEFAULT_MAX_DEPTH`] levels (adjustable
//! with [`Deserializer::with_max_depth`]), and a payload must be read exactly
//! to its end. Strings and byte strings borrow from the input when the
//! target type allows (`&str`, `&[u8]` through `serde_bytes`, `Cow`).
//!
//! Every error names the byte offset it was found at and what was expected
//! there; see [`Error`].
//!
//! # Without serde: `#[derive(Encode, Decode)]`
//!
//! Serde's derived code reaches a format one value at a time through
//! visitors, and moves each decoded field through a `Result` on its way
//! into the struct; for small messages that is most of a decode's time.
//! [`Encode`] and [`Decode`], derived, are the code a person would write by
//! hand for one type, with the same bytes, the same checks and the same
//! errors (offsets included) as [`to_vec`] and [`from_bytes`], so the two
//! paths read each other's output. Use [`encode`] and [`decode`]:
//!
//! ```
//! use tape_protocol::{Decode, Encode};
//!
//! #[derive(Encode, Decode, Debug, PartialEq)]
//! struct Reading<'a> {
//!     sensor: &'a str,
//!     values: Vec<i32>,
//! }
//!
//! let reading = Reading { sensor: "t1", values: vec![20, 21] };
//! let bytes = tape_protocol::encode(&reading)?;
//! assert_eq!(bytes[..4], [18, 0, 0, 0]); // the struct's payload
//! assert_eq!(tape_protocol::decode::<Reading>(&bytes)?, reading);
//! # Ok::<(), tape_protocol::Error>(())
//! ```
//!
//! On the bench's 8-value message (`cargo bench -p tape-protocol --bench
//! wire`), encoding and decoding into borrowed fields is about 1.8× as
//! fast as bincode 1 and about twice the serde path; into owned fields
//! about 1.4× bincode, where the eight allocations both must make are most
//! of the time. The derive reads no `#[serde(...)]` attributes: see
//! [`Encode`] for how types map onto the format.
//!
//! # Sequences of numbers in one copy
//!
//! Serde passes a `Vec<i32>` to the format one element at a time. Marking
//! the field `#[serde(with = "tape_protocol::packed")]` copies all of it at
//! once instead, with the same bytes on the wire: see [`packed`]. (For
//! `Vec<u8>`, `serde_bytes` does the same.) Through `#[derive(Encode,
//! Decode)]` a plain `Vec` of numbers is copied at once, no attribute
//! needed.
//!
//! # Sequences of zero-sized values
//!
//! A sequence whose elements encode to nothing, such as `Vec<()>` or a
//! `Vec` of a unit struct, has an empty payload however many elements it
//! holds, and so decodes as an empty sequence: `vec![(), ()]` comes back as
//! `vec![]`. The reverse, an element that decodes from zero bytes while its
//! sequence's payload has bytes left, is rejected with
//! [`Error::ZeroSizedElement`], because the element count could not be
//! recovered.

#![warn(missing_docs)]

mod codec;
mod de;
mod error;
pub mod packed;
mod ser;

#[doc(hidden)]
pub use crate::codec::__private;
pub use crate::codec::{Decode, Encode, decode, encode};

use std::mem;

use serde::{Deserialize, Serialize};

pub use crate::de::{DEFAULT_MAX_DEPTH, Deserializer};
pub use crate::error::{Error, Result};
pub use crate::ser::Serializer;
use crate::ser::SizeCounter;

/// The longest encoding a value can have: a top-level value is either a
/// number of at most 16 bytes or a single length-prefixed payload.
const MAX_ENCODED_LEN: usize = (u32::MAX as usize).saturating_add(4);

/// Encodes `value` into a new vector.
///
/// ```
/// assert_eq!(tape_protocol::to_vec("hello")?, b"\x05\0\0\0hello");
/// # Ok::<(), tape_protocol::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::TooLarge`] if a string, byte string or container payload is
/// longer than `u32::MAX` bytes, or [`Error::Custom`] if `value`'s
/// `Serialize` implementation fails.
pub fn to_vec<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>> {
    // Measuring first costs less than growing the vector by doubling, and
    // leaves no spare capacity behind. A failed or oversized measurement
    // only means no preallocation: the real pass reports the error.
    let mut counter = SizeCounter::default();
    let capacity = match value.serialize(&mut counter) {
        Ok(()) if counter.total() <= MAX_ENCODED_LEN => counter.total(),
        _ => 0,
    };
    let mut ser = Serializer::from_vec(Vec::with_capacity(capacity));
    value.serialize(&mut ser)?;
    Ok(ser.into_inner())
}

/// Appends the encoding of `value` to `out`, reusing its allocation.
///
/// On error, and if `value`'s `Serialize` implementation panics, `out` is
/// truncated back to the length it had, so no partial encoding is left in
/// it.
///
/// ```
/// let mut out = vec![0xff];
/// tape_protocol::to_extend(&1u16, &mut out)?;
/// assert_eq!(out, [0xff, 1, 0]);
/// # Ok::<(), tape_protocol::Error>(())
/// ```
///
/// # Errors
///
/// As for [`to_vec`].
pub fn to_extend<T: ?Sized + Serialize>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let buffer = mem::take(out);
    let mut guard = Restore {
        out,
        start,
        ser: Serializer::from_vec(buffer),
        complete: false,
    };
    value.serialize(&mut guard.ser)?;
    guard.complete = true;
    Ok(())
}

/// Hands the buffer back to the caller of `to_extend` on every exit path,
/// cut back to its original length unless serialisation completed.
struct Restore<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    ser: Serializer,
    complete: bool,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let mut buffer = mem::take(self.ser.buffer_mut());
        if !self.complete {
            buffer.truncate(self.start);
        }
        *self.out = buffer;
    }
}

/// Decodes a `T` that must take up all of `bytes`.
///
/// Strings and byte strings borrow from `bytes` where `T` allows.
///
/// ```
/// let s: &str = tape_protocol::from_bytes(b"\x05\0\0\0hello")?;
/// assert_eq!(s, "hello");
/// # Ok::<(), tape_protocol::Error>(())
/// ```
///
/// # Errors
///
/// Any decoding error (each names the byte offset it was found at), and
/// [`Error::TrailingBytes`] if bytes remain after the value.
pub fn from_bytes<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T> {
    whole(bytes, |de| T::deserialize(de))
}

/// Reads one value with `read` from the start of `bytes`, which it must
/// take up entirely: [`from_bytes`] through serde, [`decode`] through the
/// derive. An error is given the offset decoding stopped at, if it has
/// none yet.
#[inline]
fn whole<'de, T>(
    bytes: &'de [u8],
    read: impl FnOnce(&mut Deserializer<'de>) -> Result<T>,
) -> Result<T> {
    let mut de = Deserializer::from_bytes(bytes);
    let value = read(&mut de).map_err(|mut e| {
        e.locate(de.position());
        e
    })?;
    de.end()?;
    Ok(value)
}

/// Decodes a `T` from the start of `bytes` and returns it with the bytes
/// that follow it.
///
/// ```
/// let (n, rest): (u16, _) = tape_protocol::take_from_bytes(&[1, 0, 0xaa])?;
/// assert_eq!((n, rest), (1, &[0xaa][..]));
/// # Ok::<(), tape_protocol::Error>(())
/// ```
///
/// # Errors
///
/// Any decoding error; each names the byte offset it was found at.
pub fn take_from_bytes<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<(T, &'de [u8])> {
    let mut de = Deserializer::from_bytes(bytes);
    let value = T::deserialize(&mut de).map_err(|mut e| {
        e.locate(de.position());
        e
    })?;
    Ok((value, de.rest()))
}
