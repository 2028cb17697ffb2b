use std::fmt::{self, Display, Write as _};

use serde::{Serialize, ser};

use crate::error::{Error, Result};

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
    fn open(&mut self) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        at
    }

    /// Back-patches the prefix at `prefix` with the number of bytes written
    /// after it.
    #[inline]
    fn close(&mut self, prefix: usize) -> Result<()> {
        let payload_start = prefix.saturating_add(4);
        let len = self.out.len().saturating_sub(payload_start);
        let len32 = u32::try_from(len).map_err(|_| Error::TooLarge { len })?;
        if let Some(slot) = self.out.get_mut(prefix..payload_start) {
            slot.copy_from_slice(&len32.to_le_bytes());
        }
        Ok(())
    }

    #[inline]
    fn write_len_prefixed(&mut self, bytes: &[u8]) -> Result<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| Error::TooLarge { len: bytes.len() })?;
        self.out.reserve(bytes.len().saturating_add(4));
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
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
        self.out.extend_from_slice(&[1, 0, 0, 0, 0]);
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

/// Works out how many bytes a value encodes to, so that [`to_vec`] can
/// allocate once, exactly. Only ever a capacity: if it were wrong the output
/// would still be right, just reallocated on the way.
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
        self.total = self.total.saturating_add(n);
        Ok(())
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
        self.add(4usize.saturating_add(v.len()))
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.add(4usize.saturating_add(v.len()))
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
