//! `wire`: arbitrary bytes decoded by [`tape_protocol`] as one of many
//! types, chosen by the first byte: nested structs, enums, options, maps,
//! borrowed `&str` and `&[u8]`, recursive types nested past the depth
//! limit, zero-sized elements.
//!
//! Oracle, for each type:
//! - decoding never panics, and never allocates more than the input
//!   justifies (libFuzzer's `-rss_limit_mb` and `-malloc_limit_mb`);
//! - every error carries an offset within the input, and its message names
//!   that offset;
//! - [`from_bytes`] and [`take_from_bytes`] agree: the same error, or the
//!   same value, `from_bytes` refusing exactly the trailing bytes `take`
//!   returns;
//! - what decodes re-encodes to the bytes it was decoded from, for every
//!   type whose encoding is canonical; for maps (where duplicate or
//!   unordered keys decode to fewer or reordered entries) the re-encoding
//!   decodes and re-encodes to itself;
//! - `#[derive(Encode, Decode)]` agrees with serde for every type it has
//!   (all but `ByteBuf`'s): [`decode`](tape_protocol::decode) gives the
//!   same error, or a value [`encode`](tape_protocol::encode) writes as
//!   `to_vec` writes serde's.
//!
//! [`from_bytes`]: tape_protocol::from_bytes
//! [`take_from_bytes`]: tape_protocol::take_from_bytes

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tape_protocol::{Decode, Deserializer, Encode, Error};

#[derive(Serialize, Deserialize, Encode, Decode, Debug)]
pub enum Shape<'a> {
    Unit,
    Text(&'a str),
    Pair(u16, i64),
    Named {
        flag: bool,
        items: Vec<Option<String>>,
    },
}

/// A struct of everything a record can hold, recursive through `next`.
#[derive(Serialize, Deserialize, Encode, Decode, Debug)]
pub struct Record<'a> {
    id: u64,
    name: &'a str,
    #[serde(with = "serde_bytes")]
    blob: &'a [u8],
    #[serde(borrow)]
    label: Cow<'a, str>,
    pairs: Vec<(String, i32)>,
    #[serde(borrow)]
    shape: Shape<'a>,
    unit: (),
    letter: char,
    ratio: f32,
    wide: i128,
    #[serde(borrow)]
    next: Option<Box<Record<'a>>>,
}

/// Nests two length-prefixed levels (enum, sequence) per tree level.
#[derive(Serialize, Deserialize, Encode, Decode, Debug)]
pub enum Tree {
    Leaf(u8),
    Node(Vec<Tree>),
}

#[derive(Serialize, Deserialize, Encode, Decode, Debug)]
pub struct Newtype(u32);

#[derive(Serialize, Deserialize, Encode, Decode, Debug)]
pub struct UnitStruct;

#[derive(Serialize, Deserialize, Encode, Decode, Debug)]
pub struct TupleStruct(i8, Option<u16>, String);

/// Checks one input: byte 0 picks the type, the rest is decoded.
pub fn check(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 17 {
        0 => derived::<Vec<Shape<'_>>>(bytes),
        1 => {
            remapped::<BTreeMap<String, Vec<u8>>>(bytes, true);
            agree::<BTreeMap<String, Vec<u8>>>(bytes);
        }
        2 => derived::<(u32, &str, Option<f64>)>(bytes),
        3 => derived::<Record<'_>>(bytes),
        4 => derived::<Tree>(bytes),
        5 => derived::<Vec<(bool, char)>>(bytes),
        6 => derived::<Option<Option<()>>>(bytes),
        7 => remapped::<HashMap<u16, ByteBuf>>(bytes, false),
        8 => derived::<(Newtype, UnitStruct, TupleStruct)>(bytes),
        9 => derived::<Vec<Vec<Vec<u8>>>>(bytes),
        10 => derived::<String>(bytes),
        11 => canonical::<ByteBuf>(bytes),
        12 => derived::<Box<[Cow<'_, str>]>>(bytes),
        13 => derived::<Vec<()>>(bytes),
        14 => derived::<[u64; 3]>(bytes),
        15 => derived::<Result<Shape<'_>, Vec<i16>>>(bytes),
        _ => stream(bytes),
    }
}

/// [`canonical`], and [`agree`].
fn derived<'de, T: Deserialize<'de> + Decode<'de> + Serialize + Encode>(bytes: &'de [u8]) {
    canonical::<T>(bytes);
    agree::<T>(bytes);
}

/// The derive and serde read `bytes` alike: the same error, or values
/// written alike (compared by their bytes, which also tells NaNs apart).
fn agree<'de, T: Deserialize<'de> + Decode<'de> + Serialize + Encode>(bytes: &'de [u8]) {
    match (
        tape_protocol::from_bytes::<T>(bytes),
        tape_protocol::decode::<T>(bytes),
    ) {
        (Err(serde), Err(derived)) => assert_eq!(derived, serde, "the derive's error differs"),
        (Ok(serde), Ok(derived)) => {
            let serde = tape_protocol::to_vec(&serde).expect("a decoded value encodes");
            let derived_bytes = tape_protocol::encode(&derived).expect("a decoded value encodes");
            assert_eq!(derived_bytes, serde, "the derive decoded another value");
            assert_eq!(derived.encoded_len(), derived_bytes.len(), "encoded_len");
        }
        (Ok(_), Err(error)) => panic!("the derive refused what serde read: {error}"),
        (Err(error), Ok(_)) => panic!("the derive read what serde refused: {error}"),
    }
}

/// A type whose encoding is canonical: what decodes re-encodes exactly.
fn canonical<'de, T: Deserialize<'de> + Serialize>(bytes: &'de [u8]) {
    if let Some(value) = decode::<T>(bytes, true) {
        let again = tape_protocol::to_vec(&value).expect("a decoded value encodes");
        assert_eq!(again, bytes, "decoded and re-encoded, the bytes changed");
    }
}

/// A map: entries may come back deduplicated (or, for a `HashMap`,
/// reordered), so its re-encoding need only be no longer than the input
/// and, for an ordered map, a fixed point.
fn remapped<T: DeserializeOwned + Serialize>(bytes: &[u8], ordered: bool) {
    if let Some(value) = decode::<T>(bytes, ordered) {
        let once = tape_protocol::to_vec(&value).expect("a decoded value encodes");
        assert!(once.len() <= bytes.len(), "re-encoding a map grew it");
        let again: T = tape_protocol::from_bytes(&once).expect("a re-encoded map decodes");
        let twice = tape_protocol::to_vec(&again).expect("a decoded value encodes");
        if ordered {
            assert_eq!(twice, once, "a re-encoded map is not a fixed point");
        } else {
            assert_eq!(twice.len(), once.len(), "a re-encoded map changed size");
        }
    }
}

/// Decodes `bytes` with both entry points and checks they agree (values by
/// their encodings, which are `ordered` unless `T` is a `HashMap`);
/// returns the value if the whole input decoded.
fn decode<'de, T: Deserialize<'de> + Serialize>(bytes: &'de [u8], ordered: bool) -> Option<T> {
    let whole = tape_protocol::from_bytes::<T>(bytes);
    let taken = tape_protocol::take_from_bytes::<T>(bytes);
    match (&whole, taken) {
        (Err(error), Err(taken)) => {
            check_error(error, bytes);
            assert_eq!(*error, taken, "from_bytes and take_from_bytes disagree");
        }
        (Ok(_), Ok((_, rest))) => assert!(rest.is_empty(), "from_bytes left {rest:?}"),
        (Err(error), Ok((value, rest))) => {
            let consumed = bytes.len() - rest.len();
            assert!(
                std::ptr::eq(rest.as_ptr(), bytes[consumed..].as_ptr()),
                "take_from_bytes returned bytes that are not the input's tail"
            );
            assert_eq!(
                *error,
                Error::TrailingBytes {
                    offset: consumed,
                    count: rest.len()
                },
                "from_bytes failed where take_from_bytes stopped early"
            );
            check_error(error, bytes);
            let again = tape_protocol::to_vec(&value).expect("a decoded value encodes");
            // The prefix taken decodes alone, as the same value.
            let alone = tape_protocol::from_bytes::<T>(&bytes[..consumed])
                .unwrap_or_else(|e| panic!("the prefix take_from_bytes read does not decode: {e}"));
            let alone = tape_protocol::to_vec(&alone).expect("encodes");
            if ordered {
                assert_eq!(alone, again, "the prefix decodes to another value");
            } else {
                assert_eq!(
                    alone.len(),
                    again.len(),
                    "the prefix decodes to another value"
                );
            }
        }
        (Ok(_), Err(error)) => panic!("take_from_bytes failed where from_bytes did not: {error}"),
    }
    whole.ok()
}

/// Several values read in turn from one deserializer with a small depth
/// limit, as a host reads a guest's reply: every step either decodes or
/// fails with an offset, and the position only moves forward.
fn stream(bytes: &[u8]) {
    let Some((&depth, bytes)) = bytes.split_first() else {
        return;
    };
    let mut de = Deserializer::from_bytes(bytes).with_max_depth(usize::from(depth % 8));
    let mut position = 0;
    while de.end().is_err() {
        match Tree::deserialize(&mut de) {
            Ok(_) => {
                assert!(de.position() > position, "a value decoded from no bytes");
                position = de.position();
            }
            Err(error) => {
                check_error(&error, bytes);
                break;
            }
        }
    }
}

/// An error names an offset inside the input, in its message too.
fn check_error(error: &Error, input: &[u8]) {
    let offset = error
        .offset()
        .unwrap_or_else(|| panic!("a decoding error without an offset: {error:?}"));
    assert!(
        offset <= input.len(),
        "offset {offset} past the {}-byte input: {error:?}",
        input.len()
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("byte {offset}")),
        "the message does not name byte {offset}: {message}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    replay_tests!(wire, 2000, 64);

    /// Valid encodings of each kind of value pass the round trip; a
    /// trailing byte is refused with the offset of the end of the value.
    #[test]
    fn valid_values_round_trip() {
        let shapes = vec![
            Shape::Unit,
            Shape::Text("héllo"),
            Shape::Pair(1, -2),
            Shape::Named {
                flag: true,
                items: vec![None, Some("x".into())],
            },
        ];
        let mut input = vec![0];
        input.extend(tape_protocol::to_vec(&shapes).unwrap());
        check(&input);
        let decoded: Vec<Shape<'_>> = tape_protocol::from_bytes(&input[1..]).unwrap();
        assert_eq!(decoded.len(), 4);

        input.push(0xff);
        let error = tape_protocol::from_bytes::<Vec<Shape<'_>>>(&input[1..]).unwrap_err();
        assert_eq!(error.offset(), Some(input.len() - 2));
        check(&input);
    }

    /// A tree nested past the depth limit is an error, not a stack overflow.
    #[test]
    fn deep_trees_stop_at_the_limit() {
        let mut tree = Tree::Leaf(1);
        for _ in 0..200 {
            tree = Tree::Node(vec![tree]);
        }
        let mut input = vec![4];
        input.extend(tape_protocol::to_vec(&tree).unwrap());
        let error = tape_protocol::from_bytes::<Tree>(&input[1..]).unwrap_err();
        assert!(
            matches!(error, Error::DepthLimitExceeded { limit: 128, .. }),
            "{error}"
        );
        check(&input);
    }
}
