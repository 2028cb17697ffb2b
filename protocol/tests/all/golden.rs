//! The golden vectors from the specification, byte for byte.

use serde::{Deserialize, Serialize};

use crate::assert_bytes;

/// The enum of the specification's examples: one variant of each kind.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Kind {
    Empty,
    One(u8),
    Pair(u16, i64),
    Named { a: bool, b: String },
}

#[test]
fn string() {
    // Length 5, then the UTF-8 bytes of "hello".
    assert_bytes(
        &"hello".to_owned(),
        &[0x05, 0, 0, 0, 0x68, 0x65, 0x6c, 0x6c, 0x6f],
    );
}

#[test]
fn vec_of_i32() {
    // The prefix counts payload bytes (12), not elements (3).
    assert_bytes(
        &vec![1i32, 2, 3],
        &[0x0c, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0],
    );
}

#[test]
fn option_none() {
    // A 1-byte payload holding tag 0.
    assert_bytes(&None::<i32>, &[0x01, 0, 0, 0, 0x00]);
}

#[test]
fn option_some() {
    // A 2-byte payload: tag 1, then the u8.
    assert_bytes(&Some(1u8), &[0x02, 0, 0, 0, 0x01, 0x01]);
}

#[test]
fn enum_unit_variant() {
    // Payload 4: just the variant index 0.
    assert_bytes(&Kind::Empty, &[0x04, 0, 0, 0, 0x00, 0, 0, 0]);
}

#[test]
fn enum_newtype_variant() {
    // Payload 5: index 1, then the u8 with no prefix of its own.
    assert_bytes(&Kind::One(9), &[0x05, 0, 0, 0, 0x01, 0, 0, 0, 0x09]);
}

#[test]
fn enum_tuple_variant() {
    // Payload 18: index 2, then the tuple with its own prefix (10) holding
    // a u16 and an i64.
    assert_bytes(
        &Kind::Pair(1, 2),
        &[
            0x12, 0, 0, 0, 0x02, 0, 0, 0, 0x0a, 0, 0, 0, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0,
        ],
    );
}

#[test]
fn enum_struct_variant() {
    // Payload 14: index 3, then the fields with their own prefix (6): the
    // bool, then "x" as length 1 and one byte.
    assert_bytes(
        &Kind::Named {
            a: true,
            b: "x".to_owned(),
        },
        &[
            0x0e, 0, 0, 0, 0x03, 0, 0, 0, 0x06, 0, 0, 0, 0x01, 0x01, 0, 0, 0, 0x78,
        ],
    );
}
