//! [`Encode`] and [`Decode`]: the wire format without serde.
//!
//! Serde hands a format one value at a time through visitors, and the code
//! it derives moves each decoded field through a `Result` several times on
//! its way into the struct. For small messages that is most of the time a
//! decode takes. `#[derive(Encode, Decode)]` writes, for one type, the code
//! a person would write by hand: read a prefix, read each field in place,
//! check the payload ended. The bytes are exactly those of the serde path
//! ([`to_vec`](crate::to_vec), [`from_bytes`](crate::from_bytes)), and so
//! are the checks and the errors, offsets included: a value written one way
//! reads back the other, and a hostile input is refused the same way by
//! both.
//!
//! ```
//! use tape_protocol::{Decode, Encode};
//!
//! #[derive(Encode, Decode, serde::Serialize, Debug, PartialEq)]
//! struct Point<'a> {
//!     x: i32,
//!     label: &'a str,
//! }
//!
//! let point = Point { x: 7, label: "hi" };
//! let bytes = tape_protocol::encode(&point)?;
//! assert_eq!(bytes, tape_protocol::to_vec(&point)?);
//! assert_eq!(tape_protocol::decode::<Point>(&bytes)?, point);
//! # Ok::<(), tape_protocol::Error>(())
//! ```
//!
//! The derive maps a type onto the format as serde's derive does with no
//! attributes: a struct or tuple struct is a prefixed payload of its fields
//! in order, a newtype struct is its field, a unit struct is nothing, an
//! enum is a prefixed variant index and the variant's data. It reads no
//! `#[serde(...)]` attributes: a type whose serde encoding is changed by
//! attributes (`skip`, `with`, `flatten`, tagging) encodes differently
//! through the two paths. Type parameters get `Encode` or `Decode` bounds;
//! borrowed fields (`&'a str`, `Vec<&'a str>`) borrow from the input, with
//! no `borrow` attribute needed.
//!
//! Sequences of numbers are copied in bulk, as `packed` does on the serde
//! path; `Vec<u8>` is one copy.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

use crate::de::{Deserializer, Prefixed, zero_sized};
use crate::error::{Error, Result};
use crate::packed;
use crate::ser::Serializer;

pub use tape_protocol_derive::{Decode, Encode};

/// A type that writes itself in the wire format, without serde.
///
/// Derive it with `#[derive(Encode)]`; the bytes are those `to_vec` writes
/// for the same type through serde's derive with no attributes:
///
/// | Rust | on the wire |
/// |---|---|
/// | `struct S { a: A, b: B }`, `struct S(A, B)` | `[payload len][a][b]` |
/// | `struct S(A)` (newtype) | `a` itself |
/// | `struct S;` | nothing |
/// | `enum E { V, W(A), X(A, B), Y { a: A } }` | `[payload len][variant index: u32][data]`, the data of `W` being `a` itself, of `X` and `Y` a prefixed payload of their fields |
///
/// Unions have no encoding:
///
/// ```compile_fail
/// #[derive(tape_protocol::Encode)]
/// union Either {
///     a: u32,
///     b: f32,
/// }
/// ```
pub trait Encode {
    /// Appends this value's encoding to `ser`.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if a string, byte string or payload is longer
    /// than a `u32` length prefix can describe.
    fn encode(&self, ser: &mut Serializer) -> Result<()>;

    /// The number of bytes [`encode`](Self::encode) writes, so that a
    /// buffer can be made the right size first.
    fn encoded_len(&self) -> usize;

    /// Encodes each of `items`, back to back. Numbers override this to copy
    /// a slice at once.
    #[doc(hidden)]
    #[inline]
    fn encode_all(items: &[Self], ser: &mut Serializer) -> Result<()>
    where
        Self: Sized,
    {
        items.iter().try_for_each(|item| item.encode(ser))
    }

    /// The encoded length of `items`, back to back.
    #[doc(hidden)]
    #[inline]
    fn encoded_len_all(items: &[Self]) -> usize
    where
        Self: Sized,
    {
        items.iter().map(Encode::encoded_len).sum()
    }
}

/// A type that reads itself from the wire format, without serde.
///
/// Derive it with `#[derive(Decode)]`. `'de` is the lifetime of the input,
/// which borrowed fields (`&'de str`) point into.
pub trait Decode<'de>: Sized {
    /// Reads one value from `de`.
    ///
    /// # Errors
    ///
    /// Any decoding error, as [`from_bytes`](crate::from_bytes) reports it
    /// for the same type and input.
    fn decode(de: &mut Deserializer<'de>) -> Result<Self>;

    /// Reads elements until the current payload ends: the body of a
    /// sequence. Numbers override this to copy them at once.
    #[doc(hidden)]
    #[inline]
    fn decode_all(de: &mut Deserializer<'de>, capacity: usize) -> Result<Vec<Self>> {
        let mut items = Vec::with_capacity(cautious::<Self>(capacity));
        while !de.at_end() {
            let unread = de.unread();
            let item = Self::decode(de)?;
            if de.unread() == unread {
                return Err(zero_sized(de.position(), unread));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// Encodes `value` into a new vector of exactly its length.
///
/// ```
/// #[derive(tape_protocol::Encode)]
/// struct Id(u16);
///
/// assert_eq!(tape_protocol::encode(&Id(7))?, [7, 0]);
/// # Ok::<(), tape_protocol::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::TooLarge`] if a string, byte string or payload is longer than
/// `u32::MAX` bytes.
pub fn encode<T: ?Sized + Encode>(value: &T) -> Result<Vec<u8>> {
    // A length past what a prefix can hold is refused by `encode` itself,
    // at the payload that does not fit; nothing is reserved for it.
    let len = value.encoded_len();
    let capacity = if len <= crate::MAX_ENCODED_LEN {
        len
    } else {
        0
    };
    let mut ser = Serializer::from_vec(Vec::with_capacity(capacity));
    value.encode(&mut ser)?;
    Ok(ser.into_inner())
}

/// Decodes a `T` that must take up all of `bytes`, as
/// [`from_bytes`](crate::from_bytes) does through serde.
///
/// # Errors
///
/// Any decoding error (each names the byte offset it was found at), and
/// [`Error::TrailingBytes`] if bytes remain after the value.
pub fn decode<'de, T: Decode<'de>>(bytes: &'de [u8]) -> Result<T> {
    crate::whole(bytes, |de| T::decode(de))
}

/// What serde's collections reserve at most, so that a hint never reserves
/// more than a mebibyte at once (serde's `size_hint::cautious`).
#[inline]
fn cautious<T>(hint: usize) -> usize {
    match size_of::<T>() {
        0 => 0,
        size => hint.min((1024 * 1024) / size),
    }
}

/// Reads a container: its prefix, `body` inside its payload, and the check
/// that the payload was read to its end.
///
/// An error returns at once, leaving the deserializer inside the payload,
/// where decoding stopped: its position is what locates the error (see
/// [`Deserializer::finish`]), and after an error a deserializer's position
/// is unspecified.
#[inline(always)]
fn within<'de, T>(
    de: &mut Deserializer<'de>,
    what: Prefixed,
    body: impl FnOnce(&mut Deserializer<'de>) -> Result<T>,
) -> Result<T> {
    let after = de.enter(what)?;
    let value = body(de)?;
    de.finish(after, what)?;
    Ok(value)
}

/// Writes a container: a prefix, `body`, and the prefix filled in.
#[inline]
fn prefixed(ser: &mut Serializer, body: impl FnOnce(&mut Serializer) -> Result<()>) -> Result<()> {
    let prefix = ser.open();
    body(ser)?;
    ser.close(prefix)
}

macro_rules! numbers {
    ($($ty:ty, $what:literal;)*) => {$(
        impl Encode for $ty {
            #[inline]
            fn encode(&self, ser: &mut Serializer) -> Result<()> {
                ser.buffer_mut().extend_from_slice(&self.to_le_bytes());
                Ok(())
            }

            #[inline]
            fn encoded_len(&self) -> usize {
                size_of::<$ty>()
            }

            #[inline]
            fn encode_all(items: &[Self], ser: &mut Serializer) -> Result<()> {
                packed::extend_le_all(items, ser.buffer_mut());
                Ok(())
            }

            #[inline]
            fn encoded_len_all(items: &[Self]) -> usize {
                items.len() * size_of::<$ty>()
            }
        }

        impl<'de> Decode<'de> for $ty {
            #[inline]
            fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
                de.array($what).map(<$ty>::from_le_bytes)
            }

            #[inline]
            fn decode_all(de: &mut Deserializer<'de>, _capacity: usize) -> Result<Vec<Self>> {
                const N: usize = size_of::<$ty>();
                // The count is the payload's, which lies within the input:
                // no more is reserved than the input could fill.
                let items = packed::from_le_all(de.take(de.unread() / N * N));
                if !de.at_end() {
                    // A partial number: the error element-wise reading gives.
                    Self::decode(de)?;
                }
                Ok(items)
            }
        }
    )*};
}

numbers! {
    u8, "a u8";
    u16, "a u16";
    u32, "a u32";
    u64, "a u64";
    u128, "a u128";
    i8, "an i8";
    i16, "an i16";
    i32, "an i32";
    i64, "an i64";
    i128, "an i128";
    f32, "an f32";
    f64, "an f64";
}

/// `Encode` for types written as another: smart pointers and owned forms
/// as what they hold, arrays as slices (serde writes an array as a tuple,
/// the same bytes), and values of no size as nothing.
macro_rules! encode_as {
    ($(impl[$($generics:tt)*] $ty:ty => |$value:ident| $as:expr;)*) => {$(
        impl<$($generics)*> Encode for $ty {
            #[inline]
            fn encode(&self, ser: &mut Serializer) -> Result<()> {
                let $value = self;
                $as.encode(ser)
            }

            #[inline]
            fn encoded_len(&self) -> usize {
                let $value = self;
                $as.encoded_len()
            }
        }
    )*};
}

encode_as! {
    impl[] String => |s| s.as_str();
    impl[] Cow<'_, str> => |s| &**s;
    impl[T: ?Sized + Encode] &T => |v| &**v;
    impl[T: ?Sized + Encode] Box<T> => |v| &**v;
    impl[T: Encode] Vec<T> => |v| v.as_slice();
    impl[T: Encode, const N: usize] [T; N] => |v| v.as_slice();
    impl[] () => |_v| Nothing;
    impl[T: ?Sized] PhantomData<T> => |_v| Nothing;
}

/// What `()` and `PhantomData` are written as: no bytes.
struct Nothing;

impl Encode for Nothing {
    #[inline]
    fn encode(&self, _ser: &mut Serializer) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn encoded_len(&self) -> usize {
        0
    }
}

/// `bool` and `char`: fixed-width values with a check on the way in.
macro_rules! checked_scalars {
    ($($ty:ty, $len:literal, |$ser:ident, $value:ident| $write:expr, $read:ident;)*) => {$(
        impl Encode for $ty {
            #[inline]
            fn encode(&self, $ser: &mut Serializer) -> Result<()> {
                let $value = *self;
                $write;
                Ok(())
            }

            #[inline]
            fn encoded_len(&self) -> usize {
                $len
            }
        }

        impl<'de> Decode<'de> for $ty {
            #[inline]
            fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
                de.$read()
            }
        }
    )*};
}

checked_scalars! {
    bool, 1, |ser, value| ser.buffer_mut().push(u8::from(value)), read_bool;
    char, 4, |ser, value| ser.write_u32(u32::from(value)), read_char;
}

impl Encode for str {
    #[inline]
    fn encode(&self, ser: &mut Serializer) -> Result<()> {
        ser.write_len_prefixed(self.as_bytes())
    }

    #[inline]
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
}

impl<'de> Decode<'de> for String {
    #[inline(always)]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        de.read_str().map(str::to_owned)
    }
}

impl<'de: 'a, 'a> Decode<'de> for &'a str {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        de.read_str()
    }
}

/// A byte string borrowed from the input, as serde reads `&[u8]`. (It is
/// written through the `[T]` impl: a sequence of `u8` and a byte string
/// are the same bytes.)
impl<'de: 'a, 'a> Decode<'de> for &'a [u8] {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        de.read_slice(Prefixed::Bytes)
    }
}

impl<'de: 'a, 'a> Decode<'de> for Cow<'a, str> {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        de.read_str().map(Cow::Borrowed)
    }
}

impl<'de, T: Decode<'de>> Decode<'de> for Box<T> {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        T::decode(de).map(Box::new)
    }
}

impl<T: Encode> Encode for [T] {
    #[inline]
    fn encode(&self, ser: &mut Serializer) -> Result<()> {
        prefixed(ser, |ser| T::encode_all(self, ser))
    }

    #[inline]
    fn encoded_len(&self) -> usize {
        4 + T::encoded_len_all(self)
    }
}

impl<'de, T: Decode<'de>> Decode<'de> for Box<[T]> {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        Vec::decode(de).map(Vec::into_boxed_slice)
    }
}

impl<'de, T: Decode<'de>> Decode<'de> for Vec<T> {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        within(de, Prefixed::Seq, |de| {
            let capacity = de.capacity_hint(4);
            T::decode_all(de, capacity)
        })
    }
}

impl<T: Encode> Encode for Option<T> {
    #[inline]
    fn encode(&self, ser: &mut Serializer) -> Result<()> {
        match self {
            None => {
                ser.write_none();
                Ok(())
            }
            Some(value) => prefixed(ser, |ser| {
                ser.buffer_mut().push(1);
                value.encode(ser)
            }),
        }
    }

    #[inline]
    fn encoded_len(&self) -> usize {
        5 + self.as_ref().map_or(0, Encode::encoded_len)
    }
}

impl<'de, T: Decode<'de>> Decode<'de> for Option<T> {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        within(de, Prefixed::Option, |de| {
            match de.read_u8("an option tag")? {
                0 => Ok(None),
                1 => T::decode(de).map(Some),
                value => Err(Error::InvalidOptionTag {
                    offset: de.offset_back(1),
                    value,
                }),
            }
        })
    }
}

impl Decode<'_> for () {
    #[inline]
    fn decode(_de: &mut Deserializer<'_>) -> Result<Self> {
        Ok(())
    }
}

impl<T: ?Sized> Decode<'_> for PhantomData<T> {
    #[inline]
    fn decode(_de: &mut Deserializer<'_>) -> Result<Self> {
        Ok(PhantomData)
    }
}

macro_rules! tuples {
    ($(($($name:ident $index:tt),+);)*) => {$(
        impl<$($name: Encode),+> Encode for ($($name,)+) {
            #[inline]
            fn encode(&self, ser: &mut Serializer) -> Result<()> {
                prefixed(ser, |ser| {
                    $(self.$index.encode(ser)?;)+
                    Ok(())
                })
            }

            #[inline]
            fn encoded_len(&self) -> usize {
                4 $(+ self.$index.encoded_len())+
            }
        }

        impl<'de, $($name: Decode<'de>),+> Decode<'de> for ($($name,)+) {
            #[inline]
            fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
                within(de, Prefixed::Tuple, |de| Ok(($($name::decode(de)?,)+)))
            }
        }
    )*};
}

tuples! {
    (A 0);
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
    (A 0, B 1, C 2, D 3, E 4);
    (A 0, B 1, C 2, D 3, E 4, F 5);
}

impl<'de, T: Decode<'de>, const N: usize> Decode<'de> for [T; N] {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        within(de, Prefixed::Tuple, |de| {
            let mut items = Vec::with_capacity(N);
            for _ in 0..N {
                items.push(T::decode(de)?);
            }
            Ok(items
                .try_into()
                .unwrap_or_else(|_| unreachable!("exactly N items were read")))
        })
    }
}

/// serde writes a `Result` as an enum of two newtype variants, `Ok` (0)
/// and `Err` (1).
impl<T: Encode, E: Encode> Encode for std::result::Result<T, E> {
    #[inline]
    fn encode(&self, ser: &mut Serializer) -> Result<()> {
        match self {
            Ok(value) => __private::encode_variant(ser, 0, |ser| value.encode(ser)),
            Err(error) => __private::encode_variant(ser, 1, |ser| error.encode(ser)),
        }
    }

    #[inline]
    fn encoded_len(&self) -> usize {
        8 + match self {
            Ok(value) => value.encoded_len(),
            Err(error) => error.encoded_len(),
        }
    }
}

impl<'de, T: Decode<'de>, E: Decode<'de>> Decode<'de> for std::result::Result<T, E> {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        let (after, index) = __private::enter_enum(de)?;
        let value = match index {
            0 => Ok(T::decode(de)?),
            1 => Err(E::decode(de)?),
            // serde's own words for a `Result`.
            _ => return Err(__private::invalid_variant(de, index, "`Ok` or `Err`")),
        };
        __private::leave_enum(de, after)?;
        Ok(value)
    }
}

/// Writes a map's entries behind one prefix.
#[inline]
fn encode_map<'a, K: Encode + 'a, V: Encode + 'a>(
    ser: &mut Serializer,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
) -> Result<()> {
    prefixed(ser, |ser| {
        entries.into_iter().try_for_each(|(k, v)| {
            k.encode(ser)?;
            v.encode(ser)
        })
    })
}

/// The encoded length of a map's entries behind their prefix.
#[inline]
fn map_len<'a, K: Encode + 'a, V: Encode + 'a>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
) -> usize {
    4 + entries
        .map(|(k, v)| k.encoded_len() + v.encoded_len())
        .sum::<usize>()
}

/// Reads a map's entries until its payload ends, as serde's map access
/// does: an entry must take at least one byte.
#[inline]
fn decode_map<'de, K: Decode<'de>, V: Decode<'de>>(
    de: &mut Deserializer<'de>,
    mut insert: impl FnMut(K, V),
) -> Result<()> {
    while !de.at_end() {
        let unread = de.unread();
        let key = K::decode(de)?;
        let value = V::decode(de)?;
        if de.unread() == unread {
            return Err(zero_sized(de.position(), unread));
        }
        insert(key, value);
    }
    Ok(())
}

impl<K: Encode, V: Encode> Encode for BTreeMap<K, V> {
    #[inline]
    fn encode(&self, ser: &mut Serializer) -> Result<()> {
        encode_map(ser, self.iter())
    }

    fn encoded_len(&self) -> usize {
        map_len(self.iter())
    }
}

impl<'de, K: Decode<'de> + Ord, V: Decode<'de>> Decode<'de> for BTreeMap<K, V> {
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        within(de, Prefixed::Map, |de| {
            let mut map = BTreeMap::new();
            decode_map(de, |k, v| {
                map.insert(k, v);
            })?;
            Ok(map)
        })
    }
}

impl<K: Encode, V: Encode, S> Encode for HashMap<K, V, S> {
    #[inline]
    fn encode(&self, ser: &mut Serializer) -> Result<()> {
        encode_map(ser, self.iter())
    }

    fn encoded_len(&self) -> usize {
        map_len(self.iter())
    }
}

impl<'de, K, V, S> Decode<'de> for HashMap<K, V, S>
where
    K: Decode<'de> + Eq + Hash,
    V: Decode<'de>,
    S: BuildHasher + Default,
{
    #[inline]
    fn decode(de: &mut Deserializer<'de>) -> Result<Self> {
        within(de, Prefixed::Map, |de| {
            let capacity = cautious::<(K, V)>(de.capacity_hint(8));
            let mut map = HashMap::with_capacity_and_hasher(capacity, S::default());
            decode_map(de, |k, v| {
                map.insert(k, v);
            })?;
            Ok(map)
        })
    }
}

/// What `#[derive(Encode, Decode)]` expands to calls; not a stable API.
#[doc(hidden)]
pub mod __private {
    use super::{Deserializer, Error, Prefixed, Result, Serializer, prefixed};

    pub use std::result::Result::{Err, Ok};

    /// The fields of a struct, tuple struct, or tuple or struct variant,
    /// behind one prefix.
    #[inline]
    pub fn encode_fields(
        ser: &mut Serializer,
        fields: impl FnOnce(&mut Serializer) -> Result<()>,
    ) -> Result<()> {
        prefixed(ser, fields)
    }

    /// An enum: a prefix, the variant index, and the variant's data.
    #[inline]
    pub fn encode_variant(
        ser: &mut Serializer,
        index: u32,
        data: impl FnOnce(&mut Serializer) -> Result<()>,
    ) -> Result<()> {
        prefixed(ser, |ser| {
            ser.write_u32(index);
            data(ser)
        })
    }

    /// Enters the payload of a struct's fields (`tuple` false) or a tuple
    /// struct's or tuple variant's (`tuple` true); returns what follows it,
    /// for [`leave`].
    #[inline(always)]
    pub fn enter<'de>(de: &mut Deserializer<'de>, tuple: bool) -> Result<&'de [u8]> {
        de.enter(fields(tuple))
    }

    /// Checks that the payload [`enter`] entered was read to its end, and
    /// leaves it. The derive reads fields between the two in its own code,
    /// so that a struct is built where it is returned, not moved out of a
    /// closure's `Result`.
    #[inline(always)]
    pub fn leave<'de>(de: &mut Deserializer<'de>, after: &'de [u8], tuple: bool) -> Result<()> {
        de.finish(after, fields(tuple))
    }

    fn fields(tuple: bool) -> Prefixed {
        if tuple {
            Prefixed::Tuple
        } else {
            Prefixed::Struct
        }
    }

    /// Enters an enum's payload and reads its variant index.
    #[inline(always)]
    pub fn enter_enum<'de>(de: &mut Deserializer<'de>) -> Result<(&'de [u8], u32)> {
        let after = de.enter(Prefixed::Enum)?;
        let index = de.read_u32("a u32 variant index")?;
        Ok((after, index))
    }

    /// Leaves an enum's payload, checked to be read to its end.
    #[inline(always)]
    pub fn leave_enum<'de>(de: &mut Deserializer<'de>, after: &'de [u8]) -> Result<()> {
        de.finish(after, Prefixed::Enum)
    }

    /// The error serde's derive gives for a variant index past the last
    /// variant, at the index's offset.
    #[cold]
    pub fn unknown_variant(de: &Deserializer<'_>, index: u32, variants: usize) -> Error {
        invalid_variant(de, index, &format!("variant index 0 <= i < {variants}"))
    }

    /// A variant index refused, with what was `expected` instead, at the
    /// index's offset.
    #[cold]
    pub(crate) fn invalid_variant(de: &Deserializer<'_>, index: u32, expected: &str) -> Error {
        let mut error = <Error as serde::de::Error>::invalid_value(
            serde::de::Unexpected::Unsigned(u64::from(index)),
            &expected,
        );
        error.locate(de.offset_back(4));
        error
    }
}
