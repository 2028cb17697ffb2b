//! Sequences of fixed-width numbers in one copy: `#[serde(with = "tape_protocol::packed")]`.
//!
//! Serde hands a `Vec<i32>` to a format one element at a time, so encoding
//! or decoding 16 Ki numbers costs 16 Ki calls however simple each is. On
//! a `Vec` of numbers, this module writes and reads the elements as one
//! byte string instead, which for Tape's format is the **same bytes** a
//! plain sequence gives: a `u32` payload length in bytes, then each number
//! at its full width, little-endian. So a field marked `packed` reads what
//! an unmarked `Vec` wrote and the other way round, and guests see no
//! difference; only the copy gets faster (a memcpy on little-endian hosts).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Samples {
//!     #[serde(with = "tape_protocol::packed")]
//!     values: Vec<i32>,
//! }
//!
//! #[derive(Serialize)]
//! struct Plain {
//!     values: Vec<i32>,
//! }
//!
//! let samples = Samples { values: vec![1, -2, 300] };
//! let bytes = tape_protocol::to_vec(&samples)?;
//! // The same bytes as the plain `Vec`'s encoding.
//! assert_eq!(bytes, tape_protocol::to_vec(&Plain { values: vec![1, -2, 300] })?);
//! assert_eq!(tape_protocol::from_bytes::<Samples>(&bytes)?, samples);
//! # Ok::<(), tape_protocol::Error>(())
//! ```
//!
//! The element types are those of [`Packed`]: the integers and floats
//! (floats keep their bit patterns, NaN payloads included). `bool` and
//! `char` are not among them, since not every byte pattern is one.
//!
//! Decoding checks that the payload is a whole number of elements and
//! allocates exactly the elements the input holds: a payload of 4,001
//! bytes for `Vec<i32>` is [`Error::Custom`](crate::Error::Custom) at the
//! payload's offset, "invalid length 4001, expected a whole number of 4-byte
//! i32 values".
//!
//! In other formats: human-readable ones (JSON, TOML, ...) get an ordinary
//! sequence, so a packed field reads and writes there as an unmarked one
//! does. Other binary formats get a byte string, which in their encodings
//! differs from a sequence: both sides of such a format must mark the field.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

mod sealed {
    pub trait Sealed {}
}

/// A number that [`packed`](self) can copy as bytes: fixed width, every bit
/// pattern a valid value.
///
/// Implemented for `u8`–`u128`, `i8`–`i128`, `f32` and `f64`; sealed.
pub trait Packed:
    sealed::Sealed + bytemuck::Pod + Serialize + for<'de> Deserialize<'de> + fmt::Debug
{
    /// The type's name, for error messages.
    const NAME: &'static str;

    /// Reads one value from its little-endian bytes; `bytes` is exactly
    /// `size_of::<Self>()` long.
    fn from_le_slice(bytes: &[u8]) -> Self;

    /// Appends the value's little-endian bytes.
    fn extend_le(self, out: &mut Vec<u8>);

    /// The values whose little-endian bytes are `bytes`, a whole number of
    /// them (a partial one at the end is left out); see [`from_le_all`].
    #[doc(hidden)]
    fn from_le_all(bytes: &[u8]) -> Vec<Self>;
}

macro_rules! packed {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}

        impl Packed for $ty {
            const NAME: &'static str = stringify!($ty);

            #[inline]
            fn from_le_slice(bytes: &[u8]) -> Self {
                let mut array = [0; size_of::<$ty>()];
                array.copy_from_slice(bytes);
                <$ty>::from_le_bytes(array)
            }

            #[inline]
            fn extend_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }

            #[inline]
            fn from_le_all(bytes: &[u8]) -> Vec<Self> {
                let (chunks, _) = bytes.as_chunks::<{ size_of::<$ty>() }>();
                chunks.iter().map(|c| <$ty>::from_le_bytes(*c)).collect()
            }
        }
    )*};
}

packed!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

/// Writes `values` as one little-endian byte string (a plain sequence in
/// human-readable formats). For `#[serde(with = "tape_protocol::packed")]`
/// or `serialize_with`.
///
/// # Errors
///
/// Whatever the serializer returns; in Tape's format,
/// [`Error::TooLarge`](crate::Error::TooLarge) past `u32::MAX` bytes.
pub fn serialize<T: Packed, S: Serializer>(values: &[T], serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        return values.serialize(serializer);
    }
    if cfg!(target_endian = "little") {
        // In memory, the numbers already are their little-endian encoding.
        serializer.serialize_bytes(bytemuck::cast_slice(values))
    } else {
        let mut bytes = Vec::with_capacity(size_of_val(values));
        extend_le_all(values, &mut bytes);
        serializer.serialize_bytes(&bytes)
    }
}

/// Appends the little-endian bytes of `values`: one copy where memory is
/// little-endian. (Also how `#[derive(Encode)]` writes a slice of numbers.)
#[inline]
pub(crate) fn extend_le_all<T: Packed>(values: &[T], out: &mut Vec<u8>) {
    if cfg!(target_endian = "little") {
        out.extend_from_slice(bytemuck::cast_slice(values));
    } else {
        for &value in values {
            value.extend_le(out);
        }
    }
}

/// The numbers whose little-endian bytes are `bytes`, a whole number of
/// them (a partial one at the end is left out): one allocation of exactly
/// the count and, where memory is little-endian, one `memcpy` into it.
/// (Also how `#[derive(Decode)]` reads them.)
#[inline]
pub(crate) fn from_le_all<T: Packed>(bytes: &[u8]) -> Vec<T> {
    if cfg!(target_endian = "little") {
        let count = bytes.len() / size_of::<T>();
        let mut values = Vec::<T>::with_capacity(count);
        // SAFETY: the capacity holds `count` values, `count *
        // size_of::<T>()` bytes, which `bytes` has; a fresh allocation
        // does not overlap the input. Every bit pattern is a valid `T`
        // (`Packed: Pod`), and in little-endian memory a value's bytes
        // are its encoding, so the first `count` slots are initialised.
        #[allow(unsafe_code)]
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                values.as_mut_ptr().cast::<u8>(),
                count * size_of::<T>(),
            );
            values.set_len(count);
        }
        values
    } else {
        T::from_le_all(bytes)
    }
}

/// Reads a `Vec<T>` written by [`serialize`] or, in Tape's format, as an
/// ordinary sequence. For `#[serde(with = "tape_protocol::packed")]` or
/// `deserialize_with`.
///
/// # Errors
///
/// A byte length that is not a multiple of `size_of::<T>()`, or whatever
/// the deserializer reports.
pub fn deserialize<'de, T: Packed, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    if deserializer.is_human_readable() {
        return Vec::<T>::deserialize(deserializer);
    }
    deserializer.deserialize_bytes(PackedVisitor(PhantomData))
}

struct PackedVisitor<T>(PhantomData<T>);

impl<'de, T: Packed> Visitor<'de> for PackedVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a byte string of {}-byte {} values",
            size_of::<T>(),
            T::NAME
        )
    }

    #[inline]
    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<T>, E> {
        let width = size_of::<T>();
        if !bytes.len().is_multiple_of(width) {
            return Err(E::invalid_length(
                bytes.len(),
                &WholeElements::<T>(PhantomData),
            ));
        }
        // The input's length bounds the count.
        Ok(from_le_all(bytes))
    }

    /// Formats that hand byte strings over as sequences of `u8`.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        self.visit_bytes(&bytes)
    }
}

/// The `expected` of a byte string that is not a whole number of elements.
struct WholeElements<T>(PhantomData<T>);

impl<T: Packed> de::Expected for WholeElements<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a whole number of {}-byte {} values",
            size_of::<T>(),
            T::NAME
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `from_le_all`'s copy against reading each value from its bytes,
    /// for every width, with a partial value at the end left out. (Also
    /// run under Miri: `cargo +nightly miri test -p tape-protocol --lib`.)
    #[test]
    fn from_le_all_reads_what_reading_each_value_reads() {
        fn check<T: Packed>(bytes: &[u8]) {
            let width = size_of::<T>();
            let expected: Vec<T> = bytes.chunks_exact(width).map(T::from_le_slice).collect();
            let read = from_le_all::<T>(bytes);
            assert_eq!(read.len(), bytes.len() / width);
            assert_eq!(read.capacity(), read.len());
            // Bit for bit (a NaN's payload included).
            assert_eq!(
                bytemuck::cast_slice::<T, u8>(&read),
                bytemuck::cast_slice::<T, u8>(&expected)
            );
        }
        let bytes: Vec<u8> = (0..=250u8).map(|b| b.wrapping_mul(151)).collect();
        for len in [0, 1, 3, 4, 7, 8, 16, 17, 100, 251] {
            let bytes = &bytes[..len];
            check::<u8>(bytes);
            check::<i16>(bytes);
            check::<u32>(bytes);
            check::<f32>(bytes);
            check::<i64>(bytes);
            check::<f64>(bytes);
            check::<u128>(bytes);
        }
        // An input that starts at an odd address: the copy needs no
        // alignment of it.
        check::<u64>(&bytes[1..65]);
    }
}
