//! Malformed input: every error is reported with its offset, never a panic.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use serde::de::IgnoredAny;
use serde::ser::{Error as _, SerializeTuple};
use serde::{Deserialize, Serialize, Serializer as _};
use serde_bytes::{ByteBuf, Bytes};
use tape_protocol::{
    DEFAULT_MAX_DEPTH, Deserializer, Error, from_bytes, take_from_bytes, to_extend, to_vec,
};

use crate::golden::Kind;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Record {
    id: u64,
    name: String,
    tags: Vec<String>,
    kinds: Vec<Kind>,
    lookup: BTreeMap<String, Option<(u8, char)>>,
    extra: Option<Box<Record>>,
}

fn record() -> Record {
    Record {
        id: 42,
        name: "outer".to_owned(),
        tags: vec!["a".to_owned(), String::new()],
        kinds: vec![
            Kind::Empty,
            Kind::One(1),
            Kind::Pair(2, 3),
            Kind::Named {
                a: true,
                b: "b".to_owned(),
            },
        ],
        lookup: BTreeMap::from([("x".to_owned(), Some((1, 'é'))), ("y".to_owned(), None)]),
        extra: Some(Box::new(Record {
            id: 1,
            name: String::new(),
            tags: vec![],
            kinds: vec![],
            lookup: BTreeMap::new(),
            extra: None,
        })),
    }
}

/// A recursive type whose depth is the number of enum values, each one
/// length-prefixed level.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Nest {
    Leaf,
    Node(Box<Nest>),
}

fn nest(levels: usize) -> Nest {
    (1..levels).fold(Nest::Leaf, |inner, _| Nest::Node(Box::new(inner)))
}

/// A recursive sequence: each level is one sequence prefix.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Tree(Vec<Tree>);

#[test]
fn every_truncation_of_a_valid_encoding_is_an_error() {
    let bytes = to_vec(&record()).unwrap();
    assert_eq!(from_bytes::<Record>(&bytes).unwrap(), record());
    for cut in 0..bytes.len() {
        let prefix = &bytes[..cut];
        let err = from_bytes::<Record>(prefix).unwrap_err();
        assert!(err.offset().is_some_and(|at| at <= cut), "{cut}: {err}");
        assert!(take_from_bytes::<Record>(prefix).is_err(), "{cut}");
    }
}

#[test]
fn truncated_fixed_width_value() {
    assert_eq!(
        from_bytes::<u64>(&[1, 2, 3]),
        Err(Error::UnexpectedEnd {
            offset: 0,
            expected: "a u64",
            needed: 8,
            available: 3,
        })
    );
    assert_eq!(
        from_bytes::<String>(&[]),
        Err(Error::UnexpectedEnd {
            offset: 0,
            expected: "the u32 length prefix of a string",
            needed: 4,
            available: 0,
        })
    );
}

#[test]
fn prefix_larger_than_the_rest_of_the_input() {
    assert_eq!(
        from_bytes::<String>(&[10, 0, 0, 0, b'a', b'b', b'c']),
        Err(Error::LengthOutOfRange {
            offset: 0,
            expected: "a string",
            len: 10,
            available: 3,
        })
    );
    assert_eq!(
        from_bytes::<Vec<u8>>(&[5, 0, 0, 0, 1]),
        Err(Error::LengthOutOfRange {
            offset: 0,
            expected: "a sequence",
            len: 5,
            available: 1,
        })
    );
}

#[test]
fn prefix_larger_than_the_enclosing_payload() {
    // The string claims 5 bytes; the input has them, but the sequence's
    // payload ends 2 bytes after the string's prefix.
    let input = [6, 0, 0, 0, 5, 0, 0, 0, b'a', b'b', b'c', b'd', b'e'];
    assert_eq!(
        from_bytes::<Vec<String>>(&input),
        Err(Error::LengthOutOfRange {
            offset: 4,
            expected: "a string",
            len: 5,
            available: 2,
        })
    );
}

#[test]
fn element_crossing_its_container_end() {
    // A 6-byte payload of u32s: the second one would straddle its end.
    let input = [6, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0];
    assert_eq!(
        from_bytes::<Vec<u32>>(&input),
        Err(Error::UnexpectedEnd {
            offset: 8,
            expected: "a u32",
            needed: 4,
            available: 2,
        })
    );
    // Same for a struct's field.
    let input = [3, 0, 0, 0, 1, 2, 3, 4];
    assert_eq!(
        from_bytes::<(u8, u32)>(&input),
        Err(Error::UnexpectedEnd {
            offset: 5,
            expected: "a u32",
            needed: 4,
            available: 2,
        })
    );
}

#[test]
fn unread_payload_bytes() {
    // A tuple of one u8 with a 2-byte payload.
    assert_eq!(
        from_bytes::<(u8,)>(&[2, 0, 0, 0, 7, 8]),
        Err(Error::UnconsumedPayload {
            offset: 5,
            expected: "a tuple",
            count: 1,
        })
    );
    // None with a 2-byte payload.
    assert_eq!(
        from_bytes::<Option<u8>>(&[2, 0, 0, 0, 0, 0]),
        Err(Error::UnconsumedPayload {
            offset: 5,
            expected: "an option",
            count: 1,
        })
    );
    // A unit variant with a 5-byte payload.
    assert_eq!(
        from_bytes::<Kind>(&[5, 0, 0, 0, 0, 0, 0, 0, 9]),
        Err(Error::UnconsumedPayload {
            offset: 8,
            expected: "an enum",
            count: 1,
        })
    );
}

#[test]
fn trailing_bytes() {
    assert_eq!(
        from_bytes::<u8>(&[1, 2, 3]),
        Err(Error::TrailingBytes {
            offset: 1,
            count: 2
        })
    );
    assert_eq!(take_from_bytes::<u8>(&[1, 2, 3]), Ok((1, &[2, 3][..])));
    let de = Deserializer::from_bytes(&[1, 2]);
    assert_eq!(
        de.end(),
        Err(Error::TrailingBytes {
            offset: 0,
            count: 2
        })
    );
}

#[test]
fn bool_other_than_0_or_1() {
    assert_eq!(
        from_bytes::<bool>(&[2]),
        Err(Error::InvalidBool {
            offset: 0,
            value: 2
        })
    );
    assert_eq!(
        from_bytes::<(u8, bool)>(&[2, 0, 0, 0, 0, 0xff]),
        Err(Error::InvalidBool {
            offset: 5,
            value: 0xff
        })
    );
}

#[test]
fn char_that_is_not_a_scalar_value() {
    assert_eq!(
        from_bytes::<char>(&0xd800u32.to_le_bytes()),
        Err(Error::InvalidChar {
            offset: 0,
            value: 0xd800
        })
    );
    assert_eq!(
        from_bytes::<char>(&0x11_0000u32.to_le_bytes()),
        Err(Error::InvalidChar {
            offset: 0,
            value: 0x11_0000
        })
    );
}

#[test]
fn invalid_utf8_names_the_bad_byte() {
    let input = [3, 0, 0, 0, b'a', 0xff, b'b'];
    assert_eq!(
        from_bytes::<String>(&input),
        Err(Error::InvalidUtf8 { offset: 5 })
    );
    assert_eq!(
        from_bytes::<&str>(&input),
        Err(Error::InvalidUtf8 { offset: 5 })
    );
    // Byte strings are not checked.
    assert_eq!(
        from_bytes::<&Bytes>(&input).unwrap().as_ref(),
        [b'a', 0xff, b'b']
    );
}

#[test]
fn option_tag_other_than_0_or_1() {
    assert_eq!(
        from_bytes::<Option<u8>>(&[1, 0, 0, 0, 2]),
        Err(Error::InvalidOptionTag {
            offset: 4,
            value: 2
        })
    );
    assert_eq!(
        from_bytes::<Option<u8>>(&[0, 0, 0, 0]),
        Err(Error::UnexpectedEnd {
            offset: 4,
            expected: "an option tag",
            needed: 1,
            available: 0,
        })
    );
}

#[test]
fn unknown_variant_index() {
    let err = from_bytes::<Kind>(&[4, 0, 0, 0, 7, 0, 0, 0]).unwrap_err();
    match &err {
        Error::Custom {
            offset: Some(4),
            message,
        } => assert!(message.contains('7'), "{message}"),
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().ends_with("(at byte 4)"), "{err}");
}

#[test]
fn custom_errors_get_the_offset_of_the_rejected_value() {
    #[derive(Deserialize, Debug)]
    struct Counted {
        _tag: u8,
        _count: NonZeroU32,
    }
    let err = from_bytes::<Counted>(&[5, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Custom {
                offset: Some(5),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn custom_errors_raised_after_decoding_get_the_current_position() {
    #[derive(Deserialize, Debug)]
    #[serde(try_from = "u16")]
    struct Even(#[allow(dead_code)] u16);
    impl TryFrom<u16> for Even {
        type Error = &'static str;
        fn try_from(v: u16) -> Result<Self, &'static str> {
            if v.is_multiple_of(2) {
                Ok(Even(v))
            } else {
                Err("odd")
            }
        }
    }
    assert_eq!(
        from_bytes::<Even>(&[3, 0]).unwrap_err(),
        Error::Custom {
            offset: Some(2),
            message: "odd".to_owned()
        }
    );
    assert_eq!(
        from_bytes::<Vec<Even>>(&[4, 0, 0, 0, 2, 0, 3, 0]).unwrap_err(),
        Error::Custom {
            offset: Some(8),
            message: "odd".to_owned()
        }
    );
}

#[test]
fn depth_128_is_accepted_and_129_rejected() {
    assert_eq!(DEFAULT_MAX_DEPTH, 128);
    let bytes = to_vec(&nest(128)).unwrap();
    assert_eq!(from_bytes::<Nest>(&bytes).unwrap(), nest(128));

    let bytes = to_vec(&nest(129)).unwrap();
    // Each level is a prefix and a variant index: the 129th starts at 1024.
    assert_eq!(
        from_bytes::<Nest>(&bytes),
        Err(Error::DepthLimitExceeded {
            offset: 1024,
            limit: 128
        })
    );
}

#[test]
fn depth_limit_is_adjustable() {
    let bytes = to_vec(&nest(3)).unwrap();
    let mut de = Deserializer::from_bytes(&bytes).with_max_depth(3);
    assert_eq!(Nest::deserialize(&mut de).unwrap(), nest(3));
    let mut de = Deserializer::from_bytes(&bytes).with_max_depth(2);
    assert_eq!(
        Nest::deserialize(&mut de),
        Err(Error::DepthLimitExceeded {
            offset: 16,
            limit: 2
        })
    );
}

#[test]
fn hostile_nesting_does_not_overflow_the_stack() {
    // A million nested sequence prefixes, each consistent with the next.
    let levels = 1_000_000u32;
    let mut input = Vec::with_capacity(levels as usize * 4);
    for level in 0..levels {
        input.extend_from_slice(&((levels - 1 - level) * 4).to_le_bytes());
    }
    assert_eq!(
        from_bytes::<Tree>(&input),
        Err(Error::DepthLimitExceeded {
            offset: 512,
            limit: 128
        })
    );
}

#[test]
fn zero_sized_element_with_bytes_remaining() {
    assert_eq!(
        from_bytes::<Vec<()>>(&[1, 0, 0, 0, 0]),
        Err(Error::ZeroSizedElement {
            offset: 4,
            remaining: 1
        })
    );
    assert_eq!(
        from_bytes::<BTreeMap<(), ()>>(&[2, 0, 0, 0, 0, 0]),
        Err(Error::ZeroSizedElement {
            offset: 4,
            remaining: 2
        })
    );
    // A zero-sized key is fine as long as its value takes up bytes.
    assert_eq!(
        from_bytes::<BTreeMap<(), u8>>(&[1, 0, 0, 0, 9]),
        Ok(BTreeMap::from([((), 9)]))
    );
}

#[test]
fn zero_sized_elements_encode_to_an_empty_payload() {
    // The documented lossy corner: the count cannot be recovered.
    let bytes = to_vec(&vec![(), (), ()]).unwrap();
    assert_eq!(bytes, [0, 0, 0, 0]);
    assert_eq!(from_bytes::<Vec<()>>(&bytes).unwrap(), Vec::<()>::new());
}

#[test]
fn self_describing_decoding_is_rejected() {
    // The variants only give the types a shape; they are never built.
    #[allow(dead_code)]
    #[derive(Deserialize, Debug)]
    #[serde(untagged)]
    enum Untagged {
        Number(u8),
    }
    #[allow(dead_code)]
    #[derive(Deserialize, Debug)]
    #[serde(tag = "type")]
    enum Internal {
        A { x: u8 },
    }
    assert_eq!(
        from_bytes::<Untagged>(&[1]).unwrap_err(),
        Error::AnyNotSupported { offset: 0 }
    );
    assert_eq!(
        from_bytes::<Internal>(&[1]).unwrap_err(),
        Error::AnyNotSupported { offset: 0 }
    );
    assert_eq!(
        from_bytes::<IgnoredAny>(&[1]).unwrap_err(),
        Error::AnyNotSupported { offset: 0 }
    );
    assert_eq!(
        from_bytes::<(u8, Untagged)>(&[2, 0, 0, 0, 1, 1]).unwrap_err(),
        Error::AnyNotSupported { offset: 5 }
    );
}

#[test]
fn maximal_length_prefix_is_rejected_before_allocating() {
    // `alloc.rs` checks that nothing is allocated; here, the error.
    let input = [0xff, 0xff, 0xff, 0xff, 0, 0];
    let out_of_range = |expected| Error::LengthOutOfRange {
        offset: 0,
        expected,
        len: u32::MAX as usize,
        available: 2,
    };
    assert_eq!(from_bytes::<String>(&input), Err(out_of_range("a string")));
    assert_eq!(
        from_bytes::<ByteBuf>(&input),
        Err(out_of_range("a byte string"))
    );
    assert_eq!(
        from_bytes::<Vec<u64>>(&input),
        Err(out_of_range("a sequence"))
    );
    assert_eq!(
        from_bytes::<BTreeMap<u8, u8>>(&input),
        Err(out_of_range("a map"))
    );
    assert_eq!(from_bytes::<Record>(&input), Err(out_of_range("a struct")));
}

#[test]
fn display_names_offset_and_expectation() {
    // A tuple of a u64 and a string whose payload ends 2 bytes into the
    // string's prefix.
    let mut input = vec![10, 0, 0, 0];
    input.extend_from_slice(&7u64.to_le_bytes());
    input.extend_from_slice(&[1, 0]);
    let err = from_bytes::<(u64, String)>(&input).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected the u32 length prefix of a string at byte 12, but only 2 bytes remain \
         (it needs 4)"
    );
    assert_eq!(err.offset(), Some(12));

    let messages = [
        (
            from_bytes::<String>(&[9, 0, 0, 0]).unwrap_err(),
            "the length prefix at byte 0 declares a string of 9 bytes, but no bytes remain",
        ),
        (
            from_bytes::<bool>(&[2]).unwrap_err(),
            "expected a bool (0 or 1) at byte 0, found 2",
        ),
        (
            from_bytes::<u8>(&[1, 2]).unwrap_err(),
            "expected the end of the input at byte 1, found 1 byte after the value",
        ),
    ];
    for (err, message) in messages {
        assert_eq!(err.to_string(), message);
    }
    for err in [
        from_bytes::<char>(&[0, 0xd8, 0, 0]).unwrap_err(),
        from_bytes::<&str>(&[1, 0, 0, 0, 0xc3]).unwrap_err(),
        from_bytes::<Option<u8>>(&[1, 0, 0, 0, 5]).unwrap_err(),
        from_bytes::<Vec<()>>(&[1, 0, 0, 0, 0]).unwrap_err(),
        from_bytes::<(u8,)>(&[2, 0, 0, 0, 0, 0]).unwrap_err(),
        from_bytes::<IgnoredAny>(&[]).unwrap_err(),
        from_bytes::<Nest>(&to_vec(&nest(200)).unwrap()).unwrap_err(),
    ] {
        let at = err.offset().expect("decoding errors have an offset");
        assert!(err.to_string().contains(&format!("at byte {at}")), "{err}");
    }
}

/// Writes one field of a tuple, then fails.
struct FailsHalfway;

impl Serialize for FailsHalfway {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut tuple = s.serialize_tuple(2)?;
        tuple.serialize_element(&0x1234_5678u32)?;
        Err(S::Error::custom("refused"))
    }
}

/// Writes one field of a tuple, then panics.
struct PanicsHalfway;

impl Serialize for PanicsHalfway {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut tuple = s.serialize_tuple(2)?;
        tuple.serialize_element(&0x1234_5678u32)?;
        panic!("deliberate panic in a Serialize implementation");
    }
}

#[test]
fn failed_to_extend_leaves_nothing_behind() {
    let mut out = vec![9, 9];
    assert_eq!(
        to_extend(&FailsHalfway, &mut out),
        Err(Error::Custom {
            offset: None,
            message: "refused".to_owned()
        })
    );
    assert_eq!(out, [9, 9]);
    assert!(to_vec(&FailsHalfway).is_err());

    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        to_extend(&PanicsHalfway, &mut out)
    }));
    assert!(caught.is_err());
    assert_eq!(out, [9, 9], "the buffer survives a panic, unchanged");
}

#[test]
fn payload_over_u32_max_is_an_encode_error() {
    // Zeroed allocations are mapped lazily, so this costs no real memory;
    // the length is checked before anything is copied.
    let len = u32::MAX as usize + 1;
    let big = vec![0u8; len];
    assert_eq!(to_vec(Bytes::new(&big)), Err(Error::TooLarge { len }));
    let mut out = vec![1];
    assert_eq!(
        to_extend(&(7u8, Bytes::new(&big)), &mut out),
        Err(Error::TooLarge { len })
    );
    assert_eq!(out, [1]);
    assert!(
        Error::TooLarge { len }
            .to_string()
            .contains("4294967296 bytes")
    );
}

#[test]
fn serializer_can_be_driven_directly() {
    let mut ser = tape_protocol::Serializer::new();
    ser.serialize_u16(0xbeef).unwrap();
    assert_eq!(ser.as_bytes(), [0xef, 0xbe]);
}
