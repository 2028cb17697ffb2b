//! `protocol`: values of every serde kind, built from the input, encoded
//! and decoded again by [`tape_protocol`] — the decoder seen from valid
//! encodings and their near misses, where `wire` starts from raw bytes.
//!
//! Oracle:
//! - every value encodes; `to_extend` appends the very bytes `to_vec`
//!   gives;
//! - the encoding decodes back to the same bytes when the value nests at
//!   most [`DEFAULT_MAX_DEPTH`] length-prefixed levels, and fails with
//!   [`Error::DepthLimitExceeded`] when it nests deeper; a deserializer
//!   limited to exactly the value's depth accepts it, one level less
//!   refuses it;
//! - trailing bytes are refused by `from_bytes` at the value's end and
//!   handed back by `take_from_bytes`;
//! - every truncation is an error, and a corrupted byte is an error or a
//!   value that re-encodes to the corrupted bytes; every error carries an
//!   offset within the input.

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use serde::{Deserialize, Serialize};
use tape_protocol::{DEFAULT_MAX_DEPTH, Deserializer, Error};

/// One variant per kind of serde value.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub enum Value {
    Unit,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    I128(i128),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    Option(Option<Box<Value>>),
    Seq(Vec<Value>),
    Tuple(Box<Value>, u8),
    Struct { first: Box<Value>, second: Vec<u16> },
    Map(BTreeMap<String, Value>),
    Newtype(Wrapper),
    UnitStruct(Marker),
    TupleStruct(Pair),
    Nothing(()),
    ZeroSized(Vec<()>),
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Wrapper(Box<Value>);

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Marker;

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Pair(i16, Box<Value>);

impl Value {
    /// Builds a value nesting at most `depth` values inside one another.
    pub fn generate(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
        let leaves = 17;
        let kinds = if depth == 0 { leaves } else { 27 };
        let inner = |u: &mut Unstructured<'_>| Value::generate(u, depth - 1).map(Box::new);
        Ok(match u.choose_index(kinds)? {
            0 => Value::Unit,
            1 => Value::Bool(u.arbitrary()?),
            2 => Value::I8(u.arbitrary()?),
            3 => Value::I16(u.arbitrary()?),
            4 => Value::I32(u.arbitrary()?),
            5 => Value::I64(u.arbitrary()?),
            6 => Value::I128(u.arbitrary()?),
            7 => Value::U8(u.arbitrary()?),
            8 => Value::U16(u.arbitrary()?),
            9 => Value::U32(u.arbitrary()?),
            10 => Value::U64(u.arbitrary()?),
            11 => Value::U128(u.arbitrary()?),
            12 => Value::F32(f32::from_bits(u.arbitrary()?)),
            13 => Value::F64(f64::from_bits(u.arbitrary()?)),
            14 => Value::Char(u.arbitrary()?),
            15 => Value::Str(u.arbitrary()?),
            16 => Value::Bytes(u.arbitrary()?),
            17 => Value::Option(if u.arbitrary()? {
                Some(inner(u)?)
            } else {
                None
            }),
            18 => {
                let len = u.int_in_range(0..=4)?;
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(Value::generate(u, depth - 1)?);
                }
                Value::Seq(items)
            }
            19 => Value::Tuple(inner(u)?, u.arbitrary()?),
            20 => Value::Struct {
                first: inner(u)?,
                second: u.arbitrary()?,
            },
            21 => {
                let len = u.int_in_range(0..=3)?;
                let mut map = BTreeMap::new();
                for _ in 0..len {
                    map.insert(u.arbitrary()?, Value::generate(u, depth - 1)?);
                }
                Value::Map(map)
            }
            22 => Value::Newtype(Wrapper(inner(u)?)),
            23 => Value::UnitStruct(Marker),
            24 => Value::TupleStruct(Pair(u.arbitrary()?, inner(u)?)),
            25 => Value::Nothing(()),
            _ => Value::ZeroSized(vec![(); u.int_in_range(0..=3)?]),
        })
    }

    /// How many length-prefixed values the encoding nests, the count the
    /// decoder's depth limit applies to: strings and byte strings have a
    /// prefix but hold no values, newtype structs and units have none.
    pub fn depth(&self) -> usize {
        // The enum itself is one level.
        1 + match self {
            Value::Unit
            | Value::Bool(_)
            | Value::I8(_)
            | Value::I16(_)
            | Value::I32(_)
            | Value::I64(_)
            | Value::I128(_)
            | Value::U8(_)
            | Value::U16(_)
            | Value::U32(_)
            | Value::U64(_)
            | Value::U128(_)
            | Value::F32(_)
            | Value::F64(_)
            | Value::Char(_)
            | Value::Str(_)
            | Value::Bytes(_)
            | Value::UnitStruct(_)
            | Value::Nothing(()) => 0,
            Value::Option(inner) => 1 + inner.as_ref().map_or(0, |v| v.depth()),
            Value::Seq(items) => 1 + items.iter().map(Value::depth).max().unwrap_or(0),
            Value::Tuple(inner, _) | Value::TupleStruct(Pair(_, inner)) => 1 + inner.depth(),
            // The struct, and its `second` sequence inside it.
            Value::Struct { first, .. } => 1 + first.depth().max(1),
            Value::Map(map) => 1 + map.values().map(Value::depth).max().unwrap_or(0),
            Value::Newtype(Wrapper(inner)) => inner.depth(),
            Value::ZeroSized(_) => 1,
        }
    }
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(value) = u
        .int_in_range(0..=140)
        .and_then(|depth| Value::generate(&mut u, depth))
    else {
        return;
    };
    let bytes = tape_protocol::to_vec(&value).expect("every value encodes");
    let mut extended = vec![0xa5];
    tape_protocol::to_extend(&value, &mut extended).expect("every value encodes");
    assert_eq!(extended[1..], bytes[..], "to_extend and to_vec disagree");

    let depth = value.depth();
    match tape_protocol::from_bytes::<Value>(&bytes) {
        Ok(decoded) => {
            assert!(depth <= DEFAULT_MAX_DEPTH, "{depth} levels decoded");
            let again = tape_protocol::to_vec(&decoded).expect("a decoded value encodes");
            assert_eq!(
                again, bytes,
                "the round trip changed the bytes of {value:?}"
            );
        }
        Err(Error::DepthLimitExceeded { limit, offset }) => {
            assert!(
                depth > DEFAULT_MAX_DEPTH,
                "{depth} levels refused at byte {offset}"
            );
            assert_eq!(limit, DEFAULT_MAX_DEPTH);
            assert!(offset < bytes.len());
        }
        Err(error) => panic!("a valid encoding of {value:?} does not decode: {error}"),
    }
    let at_limit = Value::deserialize(&mut Deserializer::from_bytes(&bytes).with_max_depth(depth));
    assert!(
        at_limit.is_ok(),
        "refused at its own depth {depth}: {at_limit:?}"
    );
    let below = Value::deserialize(&mut Deserializer::from_bytes(&bytes).with_max_depth(depth - 1));
    assert!(
        matches!(below, Err(Error::DepthLimitExceeded { .. })),
        "accepted {depth} levels with a limit of {}: {below:?}",
        depth - 1
    );
    if depth > DEFAULT_MAX_DEPTH {
        return;
    }

    let extra: &[u8] = u.arbitrary().unwrap_or_default();
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(extra);
    let (_, rest) = tape_protocol::take_from_bytes::<Value>(&trailing).expect("a value");
    assert_eq!(rest, extra, "take_from_bytes returned the wrong rest");
    if !extra.is_empty() {
        let error = tape_protocol::from_bytes::<Value>(&trailing).unwrap_err();
        assert_eq!(
            error,
            Error::TrailingBytes {
                offset: bytes.len(),
                count: extra.len()
            }
        );
    }

    // A few truncations and one corrupted byte, where the input says.
    for _ in 0..3 {
        let Ok(cut) = u.choose_index(bytes.len()) else {
            break;
        };
        let error = tape_protocol::from_bytes::<Value>(&bytes[..cut])
            .expect_err("a truncated encoding decoded");
        check_offset(&error, cut);
    }
    if let (Ok(at), Ok(flip)) = (u.choose_index(bytes.len()), u.int_in_range(1..=255u8)) {
        let mut corrupted = bytes.clone();
        corrupted[at] ^= flip;
        match tape_protocol::from_bytes::<Value>(&corrupted) {
            Ok(decoded) => {
                let again = tape_protocol::to_vec(&decoded).expect("a decoded value encodes");
                // Map keys may now collide or be out of order: those
                // re-encode shorter or reordered, as a fixed point.
                // Everything else re-encodes exactly.
                if again != corrupted {
                    assert!(
                        again.len() <= corrupted.len() && format!("{decoded:?}").contains("Map("),
                        "a corrupted encoding decoded to {decoded:?}, which re-encodes differently"
                    );
                    let fixed: Value = tape_protocol::from_bytes(&again).expect("decodes");
                    assert_eq!(tape_protocol::to_vec(&fixed).expect("encodes"), again);
                }
            }
            Err(error) => check_offset(&error, corrupted.len()),
        }
    }
}

fn check_offset(error: &Error, len: usize) {
    let offset = error
        .offset()
        .unwrap_or_else(|| panic!("an error without an offset: {error:?}"));
    assert!(offset <= len, "offset {offset} past the {len}-byte input");
    assert!(error.to_string().contains(&format!("byte {offset}")));
}

#[cfg(test)]
mod tests {
    use super::*;

    replay_tests!(protocol, 500, 512);

    /// The depth the oracle computes is the decoder's: a value exactly at
    /// the limit decodes, one level more does not.
    #[test]
    fn depth_matches_the_decoder_at_the_limit() {
        let mut value = Value::Unit;
        while value.depth() < DEFAULT_MAX_DEPTH - 1 {
            value = Value::Option(Some(Box::new(value)));
        }
        // Options add two levels (the enum and the option), a newtype one.
        let value = Value::Newtype(Wrapper(Box::new(value)));
        assert_eq!(value.depth(), DEFAULT_MAX_DEPTH);
        let bytes = tape_protocol::to_vec(&value).unwrap();
        tape_protocol::from_bytes::<Value>(&bytes).unwrap();
        let value = Value::Newtype(Wrapper(Box::new(value)));
        assert_eq!(value.depth(), DEFAULT_MAX_DEPTH + 1);
        let bytes = tape_protocol::to_vec(&value).unwrap();
        assert!(matches!(
            tape_protocol::from_bytes::<Value>(&bytes),
            Err(Error::DepthLimitExceeded { limit: 128, .. })
        ));
    }
}
