use std::fmt::{self, Display, Write as _};
use std::mem::MaybeUninit;

use serde::{Serialize, ser};

use crate::error::{Error, Result};

/// How many elements a sequence must have, at least, for
/// [`Serializer::collect_seq`] to try writing them as numbers of one width.
const FIXED_MIN: usize = 16;

/// Writes values in the wire format into a `Vec<u8>` it owns.
///
/// Most callers want [`to_vec`](crate::to_vec) or
/// [`to_extend`](crate::to_extend); use this directly to encode several
/// values back to back into one buffer:
///
/// ```
/// use serde::Serialize;
///
/// let mut ser = tape_protocol::Serializer::new();
/// 7u8.serialize(&mut ser)?;
/// "a".serialize(&mut ser)?;
/// assert_eq!(ser.into_inner(), [7, 1, 0, 0, 0, b'a']);
/// # Ok::<(), tape_protocol::Error>(())
/// ```
///
/// If serialising a value fails, the buffer may hold part of it; `to_extend`
/// is the function that cleans that up.
#[derive(Debug, Default, Clone)]
pub struct Serializer {
    out: Vec<u8>,
}

impl Serializer {
    /// A serializer writing into a new, empty buffer.
    #[must_use]
    pub fn new() -> Self {
        Serializer { out: Vec::new() }
    }

    /// A serializer that appends to `out`, keeping what it already holds.
    #[must_use]
    pub fn from_vec(out: Vec<u8>) -> Self {
        Serializer { out }
    }

    /// The bytes written so far, including any the buffer started with.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.out
    }

    /// Gives back the buffer.
    #[must_use]
    pub fn into_inner(self) -> Vec<u8> {
        self.out
    }

    pub(crate) fn buffer_mut(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Reserves a length prefix, to be filled in by `close` once the payload
    /// is written, and returns where it is.
    #[inline]
    pub(crate) fn open(&mut self) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        at
    }

    /// Back-patches the prefix at `prefix` with the number of bytes written
    /// after it.
    #[inline]
    pub(crate) fn close(&mut self, prefix: usize) -> Result<()> {
        let payload_start = prefix.saturating_add(4);
        let len = self.out.len().saturating_sub(payload_start);
        let len32 = u32::try_from(len).map_err(|_| Error::TooLarge { len })?;
        if let Some(slot) = self.out.get_mut(prefix..payload_start) {
            slot.copy_from_slice(&len32.to_le_bytes());
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn write_len_prefixed(&mut self, bytes: &[u8]) -> Result<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| Error::TooLarge { len: bytes.len() })?;
        self.out.reserve(bytes.len().saturating_add(4));
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// `None`: a one-byte payload holding tag 0.
    #[inline]
    pub(crate) fn write_none(&mut self) {
        self.out.extend_from_slice(&[1, 0, 0, 0, 0]);
    }

    #[inline]
    pub(crate) fn write_u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes elements of `iter` while each is a number of `N` bytes, and
    /// returns the first element that is not (if any) for the caller to
    /// write the usual way.
    ///
    /// Room is made for as many elements as the iterator's lower size bound
    /// promises, up to a block of them at a time, and filled in place in the
    /// vector's spare capacity, without zeroing it first: for a slice the
    /// compiler knows the trip count and vectorises the loop. (Zeroing the
    /// block first cost a fifth of a 16 Ki `Vec<i32>`'s time, and counting
    /// the filled slots in the loop another sixth.)
    #[inline]
    fn write_fixed<const N: usize, I>(&mut self, iter: &mut I) -> Option<I::Item>
    where
        I: Iterator,
        I::Item: Serialize,
    {
        const BLOCK: usize = 1024;
        loop {
            let start = self.out.len();
            // Stay inside the capacity while there is any: `to_vec` sized
            // it exactly, and a block running past the end of a sequence
            // whose elements change width would otherwise grow it.
            let room = (self.out.capacity() - start) / N;
            let take = iter.size_hint().0.min(BLOCK);
            let take = if room > 0 { take.min(room) } else { take };
            if take == 0 {
                return None;
            }
            self.out.reserve(take * N);
            let mut refused = None;
            let spare = &mut self.out.spare_capacity_mut()[..take * N];
            let mut slots = spare.as_chunks_mut::<N>().0.iter_mut();
            // How many were filled is worked out from what is left when the
            // loop ends, not counted as it goes: a counter in the loop is
            // carried along in a vector register and keeps the compiler
            // from unrolling the copy.
            let filled = loop {
                let left = slots.len();
                let Some(slot) = slots.next() else { break take };
                let Some(item) = iter.next() else {
                    break take - left;
                };
                if item.serialize(Fixed(slot)).is_err() {
                    refused = Some(item);
                    break take - left;
                }
            };
            // SAFETY: the first `filled` slots past the length were each
            // written in full by `Fixed::put`, and they are within the
            // capacity just reserved.
            #[allow(unsafe_code)]
            unsafe {
                self.out.set_len(start + filled * N);
            }
            if refused.is_some() || filled < take {
                return refused;
            }
        }
    }
}

impl<'a> ser::Serializer for &'a mut Serializer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = VariantCompound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = VariantCompound<'a>;

    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push(u8::from(v));
        Ok(())
    }

    #[inline]
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.out.push(v);
        Ok(())
    }

    #[inline]
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.write_u32(v);
        Ok(())
    }

    #[inline]
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_f32(self, v: f32) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_char(self, v: char) -> Result<()> {
        self.write_u32(u32::from(v));
        Ok(())
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        self.write_len_prefixed(v.as_bytes())
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.write_len_prefixed(v)
    }

    #[inline]
    fn serialize_none(self) -> Result<()> {
        self.write_none();
        Ok(())
    }

    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<()> {
        let prefix = self.open();
        self.out.push(1);
        value.serialize(&mut *self)?;
        self.close(prefix)
    }

    #[inline]
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
    ) -> Result<()> {
        self.write_u32(4);
        self.write_u32(variant_index);
        Ok(())
    }

    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<()> {
        let prefix = self.open();
        self.write_u32(variant_index);
        value.serialize(&mut *self)?;
        self.close(prefix)
    }

    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(Compound::open(self))
    }

    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>> {
        Ok(Compound::open(self))
    }

    #[inline]
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>> {
        Ok(Compound::open(self))
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<VariantCompound<'a>> {
        Ok(VariantCompound::open(self, variant_index))
    }

    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(Compound::open(self))
    }

    #[inline]
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>> {
        Ok(Compound::open(self))
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<VariantCompound<'a>> {
        Ok(VariantCompound::open(self, variant_index))
    }

    /// Writes the elements like `serialize_seq` would, but once the first
    /// element has shown itself to be a number of 1, 2, 4, 8 or 16 bytes,
    /// tries the rest as numbers of that width first, a block at a time
    /// (see `Fixed`). For `Vec<i32>` and the like that turns a call and a
    /// capacity check per element into a loop the compiler vectorises; the
    /// bytes written are the same either way.
    #[inline]
    fn collect_seq<I>(self, iter: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        let mut iter = iter.into_iter();
        let prefix = self.open();
        // Making room in blocks costs more than it saves on a handful of
        // elements.
        if iter.size_hint().0 > FIXED_MIN
            && let Some(first) = iter.next()
        {
            let start = self.out.len();
            first.serialize(&mut *self)?;
            let rest = match self.out.len().saturating_sub(start) {
                1 => self.write_fixed::<1, _>(&mut iter),
                2 => self.write_fixed::<2, _>(&mut iter),
                4 => self.write_fixed::<4, _>(&mut iter),
                8 => self.write_fixed::<8, _>(&mut iter),
                16 => self.write_fixed::<16, _>(&mut iter),
                _ => None,
            };
            if let Some(item) = rest {
                item.serialize(&mut *self)?;
            }
        }
        for item in iter {
            item.serialize(&mut *self)?;
        }
        self.close(prefix)
    }

    /// Formats straight into the output instead of through a temporary
    /// `String`, so a `Display` value is copied once like any string.
    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<()> {
        struct Sink<'b>(&'b mut Vec<u8>);
        impl fmt::Write for Sink<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0.extend_from_slice(s.as_bytes());
                Ok(())
            }
        }
        let prefix = self.open();
        write!(Sink(&mut self.out), "{value}").map_err(|_| {
            <Error as ser::Error>::custom("a Display implementation returned an error")
        })?;
        self.close(prefix)
    }
}

/// Serialises the elements or fields of a length-prefixed container.
#[derive(Debug)]
pub struct Compound<'a> {
    ser: &'a mut Serializer,
    prefix: usize,
}

impl<'a> Compound<'a> {
    #[inline]
    fn open(ser: &'a mut Serializer) -> Self {
        let prefix = ser.open();
        Compound { ser, prefix }
    }

    #[inline]
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut *self.ser)
    }

    #[inline]
    fn finish(self) -> Result<()> {
        self.ser.close(self.prefix)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.element(key)
    }

    #[inline]
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        _key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.element(value)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// Serialises a tuple or struct variant: the enum's prefix and variant
/// index, then the fields behind a prefix of their own.
#[derive(Debug)]
pub struct VariantCompound<'a> {
    ser: &'a mut Serializer,
    enum_prefix: usize,
    fields_prefix: usize,
}

impl<'a> VariantCompound<'a> {
    #[inline]
    fn open(ser: &'a mut Serializer, variant_index: u32) -> Self {
        let enum_prefix = ser.open();
        ser.write_u32(variant_index);
        let fields_prefix = ser.open();
        VariantCompound {
            ser,
            enum_prefix,
            fields_prefix,
        }
    }

    #[inline]
    fn field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut *self.ser)
    }

    #[inline]
    fn finish(self) -> Result<()> {
        self.ser.close(self.fields_prefix)?;
        self.ser.close(self.enum_prefix)
    }
}

impl ser::SerializeTupleVariant for VariantCompound<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.field(value)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for VariantCompound<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        _key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(value)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A serializer for one number of exactly `N` bytes, written into a slot
/// the caller provides; anything else is refused with [`NotFixed`], and
/// the caller writes that value with the real serializer instead. Numbers
/// are written as [`Serializer`] writes them, so which of the two writes an
/// element never changes the output.
struct Fixed<'a, const N: usize>(&'a mut [MaybeUninit<u8>; N]);

impl<const N: usize> Fixed<'_, N> {
    #[inline]
    fn put<const M: usize>(self, bytes: [u8; M]) -> Result<(), NotFixed> {
        // `N` and `M` are constants, so this folds to a copy or to `Err`.
        if N != M {
            return Err(NotFixed);
        }
        for (slot, byte) in self.0.iter_mut().zip(bytes) {
            slot.write(byte);
        }
        Ok(())
    }
}

/// The value handed to [`Fixed`] is not a number of its width.
#[derive(Debug)]
struct NotFixed;

impl Display for NotFixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a number of the expected width")
    }
}

impl std::error::Error for NotFixed {}

impl ser::Error for NotFixed {
    fn custom<T: Display>(_msg: T) -> Self {
        NotFixed
    }
}

macro_rules! fixed_numbers {
    ($($method:ident($ty:ty) => $bytes:expr;)*) => {$(
        #[inline]
        fn $method(self, v: $ty) -> Result<(), NotFixed> {
            self.put($bytes(v))
        }
    )*};
}

macro_rules! not_fixed {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $ok:ty;)*) => {$(
        #[inline]
        fn $method(self, $($arg: $ty),*) -> Result<$ok, NotFixed> {
            $(let _ = $arg;)*
            Err(NotFixed)
        }
    )*};
}

impl<const N: usize> ser::Serializer for Fixed<'_, N> {
    type Ok = ();
    type Error = NotFixed;
    type SerializeSeq = ser::Impossible<(), NotFixed>;
    type SerializeTuple = ser::Impossible<(), NotFixed>;
    type SerializeTupleStruct = ser::Impossible<(), NotFixed>;
    type SerializeTupleVariant = ser::Impossible<(), NotFixed>;
    type SerializeMap = ser::Impossible<(), NotFixed>;
    type SerializeStruct = ser::Impossible<(), NotFixed>;
    type SerializeStructVariant = ser::Impossible<(), NotFixed>;

    fn is_human_readable(&self) -> bool {
        false
    }

    fixed_numbers! {
        serialize_bool(bool) => |v| [u8::from(v)];
        serialize_i8(i8) => i8::to_le_bytes;
        serialize_i16(i16) => i16::to_le_bytes;
        serialize_i32(i32) => i32::to_le_bytes;
        serialize_i64(i64) => i64::to_le_bytes;
        serialize_i128(i128) => i128::to_le_bytes;
        serialize_u8(u8) => u8::to_le_bytes;
        serialize_u16(u16) => u16::to_le_bytes;
        serialize_u32(u32) => u32::to_le_bytes;
        serialize_u64(u64) => u64::to_le_bytes;
        serialize_u128(u128) => u128::to_le_bytes;
        serialize_f32(f32) => f32::to_le_bytes;
        serialize_f64(f64) => f64::to_le_bytes;
        serialize_char(char) => |v| u32::from(v).to_le_bytes();
    }

    not_fixed! {
        serialize_str(_v: &str) -> ();
        serialize_bytes(_v: &[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(_name: &'static str) -> ();
        serialize_unit_variant(_name: &'static str, _index: u32, _variant: &'static str) -> ();
        serialize_seq(_len: Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(_len: usize) -> Self::SerializeTuple;
        serialize_tuple_struct(_name: &'static str, _len: usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize
        ) -> Self::SerializeTupleVariant;
        serialize_map(_len: Option<usize>) -> Self::SerializeMap;
        serialize_struct(_name: &'static str, _len: usize) -> Self::SerializeStruct;
        serialize_struct_variant(
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize
        ) -> Self::SerializeStructVariant;
    }

    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<(), NotFixed> {
        Err(NotFixed)
    }

    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), NotFixed> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), NotFixed> {
        Err(NotFixed)
    }

    fn collect_str<T: ?Sized + Display>(self, _value: &T) -> Result<(), NotFixed> {
        Err(NotFixed)
    }
}

/// Works out how many bytes a value encodes to, so that [`to_vec`] can
/// allocate once, exactly. Only ever a capacity: if it were wrong the output
/// would still be right, just reallocated on the way. So sums wrap rather
/// than saturate, which spares a compare per value: only a value claiming
/// more than `usize::MAX` bytes could wrap, and no such value can be
/// encoded anyway (its real pass fails with [`Error::TooLarge`]).
///
/// [`to_vec`]: crate::to_vec
#[derive(Debug, Default)]
pub(crate) struct SizeCounter {
    total: usize,
}

impl SizeCounter {
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    #[inline]
    fn add(&mut self, n: usize) -> Result<()> {
        self.total = self.total.wrapping_add(n);
        Ok(())
    }

    /// Counts elements of `iter` while each is a number of `N` bytes, as
    /// [`Serializer::write_fixed`] writes them, and returns the first that
    /// is not. For a slice of numbers the loop folds to its length.
    #[inline]
    fn count_fixed<const N: usize, I>(&mut self, iter: &mut I) -> Option<I::Item>
    where
        I: Iterator,
        I::Item: Serialize,
    {
        let mut slot = [MaybeUninit::new(0u8); N];
        let mut count = 0usize;
        let mut refused = None;
        for item in &mut *iter {
            if item.serialize(Fixed(&mut slot)).is_err() {
                refused = Some(item);
                break;
            }
            count += 1;
        }
        self.total = self.total.wrapping_add(count.wrapping_mul(N));
        refused
    }
}

impl ser::Serializer for &mut SizeCounter {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline]
    fn serialize_bool(self, _: bool) -> Result<()> {
        self.add(1)
    }

    #[inline]
    fn serialize_i8(self, _: i8) -> Result<()> {
        self.add(1)
    }

    #[inline]
    fn serialize_i16(self, _: i16) -> Result<()> {
        self.add(2)
    }

    #[inline]
    fn serialize_i32(self, _: i32) -> Result<()> {
        self.add(4)
    }

    #[inline]
    fn serialize_i64(self, _: i64) -> Result<()> {
        self.add(8)
    }

    #[inline]
    fn serialize_i128(self, _: i128) -> Result<()> {
        self.add(16)
    }

    #[inline]
    fn serialize_u8(self, _: u8) -> Result<()> {
        self.add(1)
    }

    #[inline]
    fn serialize_u16(self, _: u16) -> Result<()> {
        self.add(2)
    }

    #[inline]
    fn serialize_u32(self, _: u32) -> Result<()> {
        self.add(4)
    }

    #[inline]
    fn serialize_u64(self, _: u64) -> Result<()> {
        self.add(8)
    }

    #[inline]
    fn serialize_u128(self, _: u128) -> Result<()> {
        self.add(16)
    }

    #[inline]
    fn serialize_f32(self, _: f32) -> Result<()> {
        self.add(4)
    }

    #[inline]
    fn serialize_f64(self, _: f64) -> Result<()> {
        self.add(8)
    }

    #[inline]
    fn serialize_char(self, _: char) -> Result<()> {
        self.add(4)
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        self.add(4usize.wrapping_add(v.len()))
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.add(4usize.wrapping_add(v.len()))
    }

    #[inline]
    fn serialize_none(self) -> Result<()> {
        self.add(5)
    }

    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<()> {
        self.add(5)?;
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
    ) -> Result<()> {
        self.add(8)
    }

    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.add(8)?;
        value.serialize(self)
    }

    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self> {
        self.add(4)?;
        Ok(self)
    }

    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Self> {
        self.add(4)?;
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        self.add(4)?;
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self> {
        self.add(12)?;
        Ok(self)
    }

    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<Self> {
        self.add(4)?;
        Ok(self)
    }

    #[inline]
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        self.add(4)?;
        Ok(self)
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self> {
        self.add(12)?;
        Ok(self)
    }

    /// Counts like `serialize_seq`, with the fast path of
    /// [`Serializer::collect_seq`] for numbers.
    #[inline]
    fn collect_seq<I>(self, iter: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        let mut iter = iter.into_iter();
        self.add(4)?;
        if iter.size_hint().0 > FIXED_MIN
            && let Some(first) = iter.next()
        {
            let before = self.total;
            first.serialize(&mut *self)?;
            let rest = match self.total.wrapping_sub(before) {
                1 => self.count_fixed::<1, _>(&mut iter),
                2 => self.count_fixed::<2, _>(&mut iter),
                4 => self.count_fixed::<4, _>(&mut iter),
                8 => self.count_fixed::<8, _>(&mut iter),
                16 => self.count_fixed::<16, _>(&mut iter),
                _ => None,
            };
            if let Some(item) = rest {
                item.serialize(&mut *self)?;
            }
        }
        for item in iter {
            item.serialize(&mut *self)?;
        }
        Ok(())
    }

    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<()> {
        struct Count(usize);
        impl fmt::Write for Count {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0 = self.0.saturating_add(s.len());
                Ok(())
            }
        }
        let mut count = Count(0);
        write!(count, "{value}").map_err(|_| {
            <Error as ser::Error>::custom("a Display implementation returned an error")
        })?;
        self.add(4usize.saturating_add(count.0))
    }
}

macro_rules! counting_compound {
    ($($trait:ident { $($method:ident($($key:ident: $key_ty:ty,)?);)* })*) => {$(
        impl ser::$trait for &mut SizeCounter {
            type Ok = ();
            type Error = Error;

            $(
                #[inline]
                fn $method<T: ?Sized + Serialize>(
                    &mut self,
                    $($key: $key_ty,)?
                    value: &T,
                ) -> Result<()> {
                    $(let _ = $key;)?
                    value.serialize(&mut **self)
                }
            )*

            #[inline]
            fn end(self) -> Result<()> {
                Ok(())
            }
        }
    )*};
}

counting_compound! {
    SerializeSeq { serialize_element(); }
    SerializeTuple { serialize_element(); }
    SerializeTupleStruct { serialize_field(); }
    SerializeTupleVariant { serialize_field(); }
    SerializeMap { serialize_key(); serialize_value(); }
    SerializeStruct { serialize_field(key: &'static str,); }
    SerializeStructVariant { serialize_field(key: &'static str,); }
}
