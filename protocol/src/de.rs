use serde::de::{self, DeserializeSeed, Visitor};

use crate::error::{Error, Result};

/// How deeply length-prefixed values may nest before decoding stops with
/// [`Error::DepthLimitExceeded`]. Decoding recurses once per level, so the
/// limit keeps hostile input from exhausting the stack.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// Reads values in the wire format from a byte slice.
///
/// Most callers want [`from_bytes`](crate::from_bytes) or
/// [`take_from_bytes`](crate::take_from_bytes); use this directly to change
/// the depth limit or to read several values from one buffer:
///
/// ```
/// use serde::Deserialize;
///
/// let bytes = [7, 1, 0, 0, 0, b'a'];
/// let mut de = tape_protocol::Deserializer::from_bytes(&bytes).with_max_depth(4);
/// assert_eq!(u8::deserialize(&mut de)?, 7);
/// assert_eq!(<&str>::deserialize(&mut de)?, "a");
/// assert_eq!(de.position(), 6);
/// de.end()?;
/// # Ok::<(), tape_protocol::Error>(())
/// ```
///
/// Errors carry the offset at which they were found. A custom error raised
/// by a `Deserialize` implementation gets the offset of the leaf value
/// (integer, string, variant index, ...) it rejected, or for a container the
/// offset decoding had reached when the error surfaced. After an error the
/// position is unspecified; decoding can go on without panicking but will
/// not generally make sense.
#[derive(Debug, Clone)]
pub struct Deserializer<'de> {
    input: &'de [u8],
    /// The unread bytes of the innermost enclosing payload, always a
    /// subslice of `input`: every read takes from its front, so no read can
    /// cross the payload's end.
    window: &'de [u8],
    /// How many more length-prefixed levels may be entered.
    depth_left: usize,
    max_depth: usize,
    /// Input bytes not yet spent on capacity hints; see [`Self::capacity_hint`].
    hint_budget: usize,
}

/// The kinds of length-prefixed value, for error messages.
#[derive(Clone, Copy)]
pub(crate) enum Prefixed {
    Str,
    Bytes,
    Seq,
    Tuple,
    Struct,
    Map,
    Option,
    Enum,
}

impl Prefixed {
    fn name(self) -> &'static str {
        match self {
            Prefixed::Str => "a string",
            Prefixed::Bytes => "a byte string",
            Prefixed::Seq => "a sequence",
            Prefixed::Tuple => "a tuple",
            Prefixed::Struct => "a struct",
            Prefixed::Map => "a map",
            Prefixed::Option => "an option",
            Prefixed::Enum => "an enum",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Prefixed::Str => "the u32 length prefix of a string",
            Prefixed::Bytes => "the u32 length prefix of a byte string",
            Prefixed::Seq => "the u32 length prefix of a sequence",
            Prefixed::Tuple => "the u32 length prefix of a tuple",
            Prefixed::Struct => "the u32 length prefix of a struct",
            Prefixed::Map => "the u32 length prefix of a map",
            Prefixed::Option => "the u32 length prefix of an option",
            Prefixed::Enum => "the u32 length prefix of an enum",
        }
    }
}

impl<'de> Deserializer<'de> {
    /// A deserializer reading from the start of `input`, with the depth
    /// limit set to [`DEFAULT_MAX_DEPTH`].
    #[must_use]
    pub fn from_bytes(input: &'de [u8]) -> Self {
        Deserializer {
            input,
            window: input,
            depth_left: DEFAULT_MAX_DEPTH,
            max_depth: DEFAULT_MAX_DEPTH,
            hint_budget: input.len(),
        }
    }

    /// Sets how many length-prefixed values may nest inside one another;
    /// `max_depth` levels are accepted, one more is an error. Each level
    /// costs a few stack frames while decoding, so raise it only as far as
    /// your stack allows.
    #[must_use]
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        // Taking `self` by value means no value is being decoded: every
        // level entered so far has been left, even on error.
        self.max_depth = max_depth;
        self.depth_left = max_depth;
        self
    }

    /// How many bytes of the input have been read.
    #[must_use]
    pub fn position(&self) -> usize {
        // `window` is always a subslice of `input`, so the distance between
        // their starts is the offset; no bookkeeping needed on the hot path.
        self.window
            .as_ptr()
            .addr()
            .saturating_sub(self.input.as_ptr().addr())
    }

    /// Checks that the whole input has been read.
    ///
    /// # Errors
    ///
    /// [`Error::TrailingBytes`] if bytes remain after the current position.
    pub fn end(&self) -> Result<()> {
        let offset = self.position();
        match self.input.len().checked_sub(offset) {
            Some(0) | None => Ok(()),
            Some(count) => Err(Error::TrailingBytes { offset, count }),
        }
    }

    /// The input from the current position on.
    pub(crate) fn rest(&self) -> &'de [u8] {
        self.input.get(self.position()..).unwrap_or_default()
    }

    /// The offset `back` bytes before the current position. Offsets of
    /// values are worked out this way, after the fact, so that the success
    /// path does not pay for them. (Inline, and the cold error constructors
    /// take plain numbers, so that no error path lends out `&self`: see
    /// [`SeqAccess`].)
    #[inline]
    pub(crate) fn offset_back(&self, back: usize) -> usize {
        self.position().saturating_sub(back)
    }

    /// Gives a custom error raised by a visitor the offset of the value it
    /// rejected, which ends at the current position and is `len` bytes long.
    #[inline]
    fn locate<T>(&self, mut result: Result<T>, len: usize) -> Result<T> {
        if let Err(e) = &mut result {
            e.locate(self.offset_back(len));
        }
        result
    }

    #[inline]
    fn unexpected_end(&self, expected: &'static str, needed: usize) -> Error {
        unexpected_end(self.position(), expected, needed, self.window.len())
    }

    #[inline]
    pub(crate) fn array<const N: usize>(&mut self, expected: &'static str) -> Result<[u8; N]> {
        match self.window.split_first_chunk::<N>() {
            Some((chunk, rest)) => {
                self.window = rest;
                Ok(*chunk)
            }
            None => Err(self.unexpected_end(expected, N)),
        }
    }

    #[inline]
    pub(crate) fn read_u8(&mut self, expected: &'static str) -> Result<u8> {
        let [b] = self.array::<1>(expected)?;
        Ok(b)
    }

    #[inline]
    pub(crate) fn read_u32(&mut self, expected: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(expected)?))
    }

    /// Reads a length prefix and splits off the payload it declares, checked
    /// against what remains, so that no declared length is ever trusted
    /// beyond the bytes that back it. Returns the payload and what follows
    /// it, leaving the window itself for the caller to move on.
    #[inline]
    fn read_payload(&mut self, what: Prefixed) -> Result<(&'de [u8], &'de [u8])> {
        let len = self.read_u32(what.prefix())? as usize;
        match self.window.split_at_checked(len) {
            Some(split) => Ok(split),
            None => Err(self.length_out_of_range(what, len)),
        }
    }

    #[cold]
    fn length_out_of_range(&self, what: Prefixed, len: usize) -> Error {
        Error::LengthOutOfRange {
            offset: self.offset_back(4),
            expected: what.name(),
            len,
            available: self.window.len(),
        }
    }

    /// Reads a string or byte string, borrowed from the input.
    #[inline]
    pub(crate) fn read_slice(&mut self, what: Prefixed) -> Result<&'de [u8]> {
        let (bytes, rest) = self.read_payload(what)?;
        self.window = rest;
        Ok(bytes)
    }

    /// Reads a container's length prefix and makes its payload the window
    /// for the reads that follow. Returns the rest of the enclosing payload,
    /// for [`leave`].
    ///
    /// [`leave`]: Self::leave
    #[inline]
    pub(crate) fn enter(&mut self, what: Prefixed) -> Result<&'de [u8]> {
        if self.depth_left == 0 {
            return Err(self.too_deep());
        }
        let (payload, after) = self.read_payload(what)?;
        self.window = payload;
        self.depth_left -= 1;
        Ok(after)
    }

    #[cold]
    fn too_deep(&self) -> Error {
        Error::DepthLimitExceeded {
            offset: self.position(),
            limit: self.max_depth,
        }
    }

    /// Makes `after`, the rest of the enclosing payload, the window again
    /// whatever `result` is, so a `Deserialize` implementation that recovers
    /// from an error does not inherit a stale window; on success, checks that
    /// the payload was read to its end. Takes `result` by reference so that a
    /// large decoded value is not moved once more on its way out.
    #[inline]
    fn leave<T>(&mut self, after: &'de [u8], what: Prefixed, result: &mut Result<T>) {
        if !self.window.is_empty() || result.is_err() {
            self.leave_unhappy(what, result);
        }
        self.window = after;
        self.depth_left = self.depth_left.saturating_add(1);
    }

    /// [`leave`](Self::leave) for code that returns on the first error (as
    /// `?` does) and so never recovers from one: checks that the payload was
    /// read to its end, and makes `after` the window again. After an error
    /// the window is left where decoding stopped, so the error's offset is
    /// found from it as `leave` would have found it.
    #[inline]
    pub(crate) fn finish(&mut self, after: &'de [u8], what: Prefixed) -> Result<()> {
        if !self.window.is_empty() {
            return Err(self.unconsumed(what));
        }
        self.window = after;
        self.depth_left = self.depth_left.saturating_add(1);
        Ok(())
    }

    #[cold]
    fn unconsumed(&self, what: Prefixed) -> Error {
        Error::UnconsumedPayload {
            offset: self.position(),
            expected: what.name(),
            count: self.window.len(),
        }
    }

    #[cold]
    fn leave_unhappy<T>(&self, what: Prefixed, result: &mut Result<T>) {
        let offset = self.position();
        match result {
            // The error surfaced here, where decoding stopped.
            Err(e) => e.locate(offset),
            Ok(_) => *result = Err(self.unconsumed(what)),
        }
    }

    /// Decodes a tuple, tuple struct or struct: a prefix, then exactly `len`
    /// values.
    #[inline]
    fn fixed<V: Visitor<'de>>(
        &mut self,
        len: usize,
        what: Prefixed,
        visitor: V,
    ) -> Result<V::Value> {
        let after = self.enter(what)?;
        let mut result = visitor.visit_seq(FixedAccess {
            de: &mut *self,
            left: len,
        });
        self.leave(after, what, &mut result);
        result
    }

    /// A capacity hint for a sequence or map, in elements, counting one
    /// element per `per_element` payload bytes.
    ///
    /// Prefixes count bytes, not elements, so the true count is unknown; but
    /// without a hint a `Vec` reallocates its way up, which costs more than
    /// the rest of decoding a small vector. Every element type takes at least
    /// 4 bytes except 1- and 2-byte numbers (for which the hint undershoots
    /// and the `Vec` grows as usual), so a quarter of the payload is an upper
    /// bound on the count, exact for 4-byte elements and generous for larger
    /// ones. Nested sequences would each see the same bytes and could
    /// together reserve many times the input, so all hints share one budget,
    /// the input's length: whatever the input, the hints of one decode add up
    /// to at most one element per 4 input bytes.
    #[inline]
    pub(crate) fn capacity_hint(&mut self, per_element: usize) -> usize {
        let hint = self.window.len().min(self.hint_budget) / per_element;
        self.hint_budget = self.hint_budget.saturating_sub(hint * per_element);
        hint
    }

    /// Reads a string, borrowed from the input, checked to be UTF-8.
    #[inline(always)]
    pub(crate) fn read_str(&mut self) -> Result<&'de str> {
        let bytes = self.read_slice(Prefixed::Str)?;
        match utf8(bytes) {
            Ok(s) => Ok(s),
            Err(valid_up_to) => {
                let bad = bytes.len().saturating_sub(valid_up_to);
                Err(Error::InvalidUtf8 {
                    offset: self.offset_back(bad),
                })
            }
        }
    }

    /// Reads a bool: one byte, 0 or 1.
    #[inline]
    pub(crate) fn read_bool(&mut self) -> Result<bool> {
        match self.read_u8("a bool")? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(Error::InvalidBool {
                offset: self.offset_back(1),
                value,
            }),
        }
    }

    /// Reads a char: a `u32` that must be a Unicode scalar value.
    #[inline]
    pub(crate) fn read_char(&mut self) -> Result<char> {
        let value = self.read_u32("a char")?;
        char::from_u32(value).ok_or_else(|| Error::InvalidChar {
            offset: self.offset_back(4),
            value,
        })
    }

    /// Whether the innermost payload has been read to its end.
    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.window.is_empty()
    }

    /// How many bytes of the innermost payload are unread.
    #[inline]
    pub(crate) fn unread(&self) -> usize {
        self.window.len()
    }

    /// Splits off the next `len` bytes of the innermost payload, which the
    /// caller has checked are there.
    #[inline]
    pub(crate) fn take(&mut self, len: usize) -> &'de [u8] {
        let (taken, rest) = self.window.split_at(len.min(self.window.len()));
        self.window = rest;
        taken
    }

    #[cold]
    fn any_error(&self) -> Error {
        Error::AnyNotSupported {
            offset: self.position(),
        }
    }
}

macro_rules! primitive {
    ($($method:ident => $visit:ident, $ty:ty, $what:literal;)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let value = <$ty>::from_le_bytes(self.array($what)?);
            let result = visitor.$visit(value);
            self.locate(result, size_of::<$ty>())
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(self.any_error())
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(self.any_error())
    }

    #[inline]
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let value = self.read_bool()?;
        let result = visitor.visit_bool(value);
        self.locate(result, 1)
    }

    primitive! {
        deserialize_i8 => visit_i8, i8, "an i8";
        deserialize_i16 => visit_i16, i16, "an i16";
        deserialize_i32 => visit_i32, i32, "an i32";
        deserialize_i64 => visit_i64, i64, "an i64";
        deserialize_i128 => visit_i128, i128, "an i128";
        deserialize_u8 => visit_u8, u8, "a u8";
        deserialize_u16 => visit_u16, u16, "a u16";
        deserialize_u32 => visit_u32, u32, "a u32";
        deserialize_u64 => visit_u64, u64, "a u64";
        deserialize_u128 => visit_u128, u128, "a u128";
        deserialize_f32 => visit_f32, f32, "an f32";
        deserialize_f64 => visit_f64, f64, "an f64";
    }

    #[inline]
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let c = self.read_char()?;
        let result = visitor.visit_char(c);
        self.locate(result, 4)
    }

    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let s = self.read_str()?;
        let result = visitor.visit_borrowed_str(s);
        self.locate(result, s.len().saturating_add(4))
    }

    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    #[inline]
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let bytes = self.read_slice(Prefixed::Bytes)?;
        let result = visitor.visit_borrowed_bytes(bytes);
        self.locate(result, bytes.len().saturating_add(4))
    }

    #[inline]
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let after = self.enter(Prefixed::Option)?;
        let mut result = match self.read_u8("an option tag") {
            Ok(0) => visitor.visit_none(),
            Ok(1) => visitor.visit_some(&mut *self),
            Ok(value) => Err(Error::InvalidOptionTag {
                offset: self.offset_back(1),
                value,
            }),
            Err(e) => Err(e),
        };
        self.leave(after, Prefixed::Option, &mut result);
        result
    }

    #[inline]
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let result = visitor.visit_unit();
        self.locate(result, 0)
    }

    #[inline]
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let after = self.enter(Prefixed::Seq)?;
        let mut result = visitor.visit_seq(SeqAccess {
            hint: self.capacity_hint(4),
            de: self.clone(),
            parent: &mut *self,
        });
        self.leave(after, Prefixed::Seq, &mut result);
        result
    }

    #[inline]
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        self.fixed(len, Prefixed::Tuple, visitor)
    }

    #[inline]
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.fixed(len, Prefixed::Tuple, visitor)
    }

    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let after = self.enter(Prefixed::Map)?;
        let mut result = visitor.visit_map(MapAccess {
            // An entry is a key and a value, rarely under 8 bytes together.
            hint: self.capacity_hint(8),
            de: &mut *self,
            entry_unread: 0,
        });
        self.leave(after, Prefixed::Map, &mut result);
        result
    }

    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.fixed(fields.len(), Prefixed::Struct, visitor)
    }

    #[inline]
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let after = self.enter(Prefixed::Enum)?;
        let mut result = visitor.visit_enum(EnumAccess { de: &mut *self });
        self.leave(after, Prefixed::Enum, &mut result);
        result
    }

    /// Identifiers only reach the format as enum variant indices, so an
    /// identifier is read the way a variant index is written.
    #[inline]
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u32(visitor)
    }
}

/// `bytes` as text if they are UTF-8, or else the length of their valid
/// prefix (where the first invalid byte is).
///
/// `std::str::from_utf8` costs about a hundred instructions on a short
/// string, most of a decode's time for a struct of short names and labels;
/// checking for ASCII first costs a third of that, and ASCII text, the
/// common case, needs no other check. Text that is not ASCII goes through
/// `from_utf8`, having paid the ASCII check on top.
#[inline]
#[allow(unsafe_code)]
fn utf8(bytes: &[u8]) -> Result<&str, usize> {
    if is_ascii(bytes) {
        // SAFETY: every ASCII byte sequence is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        not_ascii(bytes)
    }
}

/// The full UTF-8 check, out of line so that the ASCII check, the common
/// case, stays small enough to inline into every string read.
#[inline(never)]
fn not_ascii(bytes: &[u8]) -> Result<&str, usize> {
    std::str::from_utf8(bytes).map_err(|e| e.valid_up_to())
}

/// `<[u8]>::is_ascii`, with short slices checked as two overlapping words
/// (first and last 8 or 4 bytes) instead of byte by byte.
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        if bytes.len() <= 16 {
            let either = u64::from_le_bytes(*first) | u64::from_le_bytes(*last);
            return either & 0x8080_8080_8080_8080 == 0;
        }
        return bytes.is_ascii();
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        let either = u32::from_le_bytes(*first) | u32::from_le_bytes(*last);
        return either & 0x8080_8080 == 0;
    }
    bytes.iter().all(u8::is_ascii)
}

/// Elements of a sequence: as many as fit in the payload.
///
/// The elements are read through a copy of the deserializer, which is
/// handed back to `parent` when the visitor drops this. The copy is the
/// visitor's own, so the compiler can keep the read position in registers
/// across the visitor's element loop; read through `&mut Deserializer`, it
/// was stored and loaded again for every element, as `Vec::push` might
/// have seen it. For `Vec<i32>` that is a third of the time per element.
/// Nothing in the loop may take the copy's address out of line for this
/// to hold, hence the `#[inline]` on `size_hint` and the error
/// constructors that take numbers rather than `&self`.
struct SeqAccess<'a, 'de> {
    de: Deserializer<'de>,
    parent: &'a mut Deserializer<'de>,
    hint: usize,
}

impl Drop for SeqAccess<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        self.parent.window = self.de.window;
        self.parent.depth_left = self.de.depth_left;
        self.parent.hint_budget = self.de.hint_budget;
    }
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let unread = self.de.window.len();
        if unread == 0 {
            return Ok(None);
        }
        let value = seed.deserialize(&mut self.de)?;
        if self.de.window.len() == unread {
            return Err(zero_sized(self.de.position(), unread));
        }
        Ok(Some(value))
    }

    /// An estimate bounded by the input, never by a prefix's claim, and
    /// shrinking as the payload is read: see [`Deserializer::capacity_hint`].
    #[inline]
    fn size_hint(&self) -> Option<usize> {
        Some(self.hint.min(self.de.window.len() / 4))
    }
}

#[cold]
fn unexpected_end(offset: usize, expected: &'static str, needed: usize, available: usize) -> Error {
    Error::UnexpectedEnd {
        offset,
        expected,
        needed,
        available,
    }
}

#[cold]
pub(crate) fn zero_sized(offset: usize, unread: usize) -> Error {
    Error::ZeroSizedElement {
        offset,
        remaining: unread,
    }
}

/// Fields of a tuple or struct: exactly as many as the type has.
struct FixedAccess<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for FixedAccess<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    // The count comes from the type, not the input, so it is safe to share.
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// Entries of a map: key, value, key, value, ... until the payload ends.
struct MapAccess<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    hint: usize,
    /// Unread payload bytes when the current entry started.
    entry_unread: usize,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let unread = self.de.window.len();
        if unread == 0 {
            return Ok(None);
        }
        self.entry_unread = unread;
        seed.deserialize(&mut *self.de).map(Some)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = seed.deserialize(&mut *self.de)?;
        if self.de.window.len() == self.entry_unread {
            return Err(zero_sized(self.de.position(), self.entry_unread));
        }
        Ok(value)
    }

    /// As for sequences, with an entry counted per 8 payload bytes: see
    /// [`Deserializer::capacity_hint`].
    fn size_hint(&self) -> Option<usize> {
        Some(self.hint.min(self.de.window.len() / 8))
    }
}

/// An enum's variant index and data, inside the enum's payload.
struct EnumAccess<'a, 'de> {
    de: &'a mut Deserializer<'de>,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    #[inline]
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let index = self.de.read_u32("a u32 variant index")?;
        let result = seed.deserialize(de::value::U32Deserializer::<Error>::new(index));
        let value = self.de.locate(result, 4)?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for EnumAccess<'_, 'de> {
    type Error = Error;

    #[inline]
    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(&mut *self.de)
    }

    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        self.de.fixed(len, Prefixed::Tuple, visitor)
    }

    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.de.fixed(fields.len(), Prefixed::Struct, visitor)
    }
}
