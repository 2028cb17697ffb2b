//! One exact encoding per serde data model type, plus nesting.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::{ByteBuf, Bytes};
use tape_protocol::{from_bytes, to_vec};

use crate::golden::Kind;
use crate::{assert_borrowed_bytes, assert_bytes};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct UnitStruct;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Newtype(u32);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct TupleStruct(u8, i16);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Plain {
    a: u8,
    b: String,
    c: Vec<u16>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Borrowing<'a> {
    name: &'a str,
    #[serde(with = "serde_bytes")]
    data: &'a [u8],
    #[serde(borrow)]
    note: Cow<'a, str>,
}

#[test]
fn bool() {
    assert_bytes(&false, &[0]);
    assert_bytes(&true, &[1]);
}

#[test]
fn i8_and_u8() {
    assert_bytes(&-1i8, &[0xff]);
    assert_bytes(&i8::MIN, &[0x80]);
    assert_bytes(&200u8, &[0xc8]);
}

#[test]
fn i16_and_u16() {
    assert_bytes(&-2i16, &[0xfe, 0xff]);
    assert_bytes(&0x1234u16, &[0x34, 0x12]);
}

#[test]
fn i32_and_u32() {
    assert_bytes(&-1i32, &[0xff; 4]);
    assert_bytes(&0x0102_0304u32, &[4, 3, 2, 1]);
}

#[test]
fn i64_and_u64() {
    assert_bytes(&0x0102_0304_0506_0708i64, &[8, 7, 6, 5, 4, 3, 2, 1]);
    assert_bytes(&u64::MAX, &[0xff; 8]);
}

#[test]
fn i128_and_u128() {
    let mut minus_two = [0xff; 16];
    minus_two[0] = 0xfe;
    assert_bytes(&-2i128, &minus_two);
    let mut two_to_64 = [0; 16];
    two_to_64[8] = 1;
    assert_bytes(&(1u128 << 64), &two_to_64);
}

#[test]
fn f32_and_f64() {
    // 1.5f32 is 0x3fc0_0000; -2.0f64 is 0xc000_0000_0000_0000.
    assert_bytes(&1.5f32, &[0, 0, 0xc0, 0x3f]);
    assert_bytes(&-2.0f64, &[0, 0, 0, 0, 0, 0, 0, 0xc0]);
}

#[test]
fn nan_bits_survive() {
    let nan = f64::from_bits(0x7ff8_0000_dead_beef);
    let bytes = to_vec(&nan).unwrap();
    assert_eq!(bytes, 0x7ff8_0000_dead_beef_u64.to_le_bytes());
    assert_eq!(from_bytes::<f64>(&bytes).unwrap().to_bits(), nan.to_bits());
}

#[test]
fn char() {
    assert_bytes(&'a', &[0x61, 0, 0, 0]);
    assert_bytes(&'é', &[0xe9, 0, 0, 0]);
    assert_bytes(&'😀', &[0x00, 0xf6, 0x01, 0x00]);
}

#[test]
fn string() {
    assert_bytes(&String::new(), &[0, 0, 0, 0]);
    assert_bytes(
        &"héllo".to_owned(),
        &[6, 0, 0, 0, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f],
    );
}

#[test]
fn str_borrows_from_the_input() {
    let input = [3, 0, 0, 0, b'a', b'b', b'c'];
    assert_borrowed_bytes(&"abc", &input);
    let s: &str = from_bytes(&input).unwrap();
    assert_eq!(s.as_ptr(), input[4..].as_ptr(), "no copy was made");
}

#[test]
fn bytes() {
    assert_bytes(&ByteBuf::from(vec![1, 2, 3]), &[3, 0, 0, 0, 1, 2, 3]);
    assert_bytes(&ByteBuf::new(), &[0, 0, 0, 0]);
}

#[test]
fn bytes_borrow_from_the_input() {
    let input = [2, 0, 0, 0, 0xaa, 0xbb];
    assert_borrowed_bytes(&Bytes::new(&[0xaa, 0xbb]), &input);
    let b: &Bytes = from_bytes(&input).unwrap();
    assert_eq!(b.as_ptr(), input[4..].as_ptr(), "no copy was made");
}

#[test]
fn byte_string_and_vec_u8_share_an_encoding() {
    // A Vec<u8> is a sequence of one-byte elements, so its payload length
    // equals its element count: it reads the same as a byte string.
    let as_seq = to_vec(&vec![1u8, 2, 3]).unwrap();
    let as_bytes = to_vec(&Bytes::new(&[1, 2, 3])).unwrap();
    assert_eq!(as_seq, as_bytes);
    assert_eq!(from_bytes::<Vec<u8>>(&as_bytes).unwrap(), [1, 2, 3]);
}

#[test]
fn struct_with_borrowed_fields() {
    let input = [
        0x13, 0, 0, 0, // payload: 5 + 6 + 8 bytes
        1, 0, 0, 0, b'n', // name
        2, 0, 0, 0, 0x01, 0x02, // data
        4, 0, 0, 0, b'n', b'o', b't', b'e', // note
    ];
    let value = Borrowing {
        name: "n",
        data: &[1, 2],
        note: Cow::Borrowed("note"),
    };
    assert_borrowed_bytes(&value, &input);
    let decoded: Borrowing<'_> = from_bytes(&input).unwrap();
    assert!(matches!(decoded.note, Cow::Borrowed(_)), "Cow borrowed");
}

#[test]
fn unit() {
    assert_bytes(&(), &[]);
}

#[test]
fn unit_struct() {
    assert_bytes(&UnitStruct, &[]);
}

#[test]
fn newtype_struct() {
    assert_bytes(&Newtype(7), &[7, 0, 0, 0]);
}

#[test]
fn tuple() {
    assert_bytes(&(1u8, 2u16), &[3, 0, 0, 0, 1, 2, 0]);
    assert_bytes(&[1u8, 2, 3], &[3, 0, 0, 0, 1, 2, 3]);
}

#[test]
fn tuple_struct() {
    assert_bytes(&TupleStruct(1, -1), &[3, 0, 0, 0, 1, 0xff, 0xff]);
}

#[test]
fn struct_fields_in_order_without_names() {
    assert_bytes(
        &Plain {
            a: 1,
            b: "x".to_owned(),
            c: vec![2],
        },
        &[
            0x0c, 0, 0, 0,    // payload: 1 + 5 + 6 bytes
            0x01, // a
            1, 0, 0, 0, b'x', // b
            2, 0, 0, 0, 2, 0, // c
        ],
    );
}

#[test]
fn seq() {
    assert_bytes(&Vec::<u16>::new(), &[0, 0, 0, 0]);
    assert_bytes(&vec![1u16, 2], &[4, 0, 0, 0, 1, 0, 2, 0]);
    assert_bytes(
        &vec!["a".to_owned(), String::new()],
        &[9, 0, 0, 0, 1, 0, 0, 0, b'a', 0, 0, 0, 0],
    );
}

#[test]
fn map() {
    let map = BTreeMap::from([(1u8, "a".to_owned()), (2, "bc".to_owned())]);
    assert_bytes(
        &map,
        &[
            0x0d, 0, 0, 0, // payload: 6 + 7 bytes
            1, 1, 0, 0, 0, b'a', // 1 => "a"
            2, 2, 0, 0, 0, b'b', b'c', // 2 => "bc"
        ],
    );
    assert_bytes(&BTreeMap::<u8, u8>::new(), &[0, 0, 0, 0]);
}

#[test]
fn option() {
    assert_bytes(&None::<String>, &[1, 0, 0, 0, 0]);
    assert_bytes(
        &Some("ab".to_owned()),
        &[7, 0, 0, 0, 1, 2, 0, 0, 0, b'a', b'b'],
    );
    assert_bytes(&Some(()), &[1, 0, 0, 0, 1]);
    assert_bytes(&Some(None::<u8>), &[6, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
}

#[test]
fn every_enum_variant_kind() {
    assert_bytes(&Kind::Empty, &[4, 0, 0, 0, 0, 0, 0, 0]);
    assert_bytes(&Kind::One(0xff), &[5, 0, 0, 0, 1, 0, 0, 0, 0xff]);
    assert_bytes(
        &Kind::Pair(0x0102, -1),
        &[
            0x12, 0, 0, 0, 2, 0, 0, 0, 0x0a, 0, 0, 0, 0x02, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff,
        ],
    );
    assert_bytes(
        &Kind::Named {
            a: false,
            b: String::new(),
        },
        &[0x0d, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
    );
}

#[test]
fn result_is_an_enum() {
    assert_bytes(&Ok::<u8, String>(3), &[5, 0, 0, 0, 0, 0, 0, 0, 3]);
    assert_bytes(
        &Err::<u8, String>("e".to_owned()),
        &[9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'e'],
    );
}

#[test]
fn nested_containers() {
    assert_bytes(
        &vec![vec![1u8], vec![]],
        &[
            9, 0, 0, 0, // outer payload
            1, 0, 0, 0, 1, // [1]
            0, 0, 0, 0, // []
        ],
    );
    assert_bytes(
        &Some(vec![Kind::Empty, Kind::One(2)]),
        &[
            0x16, 0, 0, 0, 1, // option payload 22, tag Some
            0x11, 0, 0, 0, // vec payload 17
            4, 0, 0, 0, 0, 0, 0, 0, // Empty
            5, 0, 0, 0, 1, 0, 0, 0, 2, // One(2)
        ],
    );
    let map = BTreeMap::from([("k".to_owned(), vec![Some(1u8), None])]);
    assert_bytes(
        &map,
        &[
            0x14, 0, 0, 0, // map payload 20
            1, 0, 0, 0, b'k', // key
            0x0b, 0, 0, 0, // vec payload 11
            2, 0, 0, 0, 1, 1, // Some(1)
            1, 0, 0, 0, 0, // None
        ],
    );
}

#[test]
fn boxed_and_wrapped_values_are_transparent() {
    assert_bytes(&Box::new(5u16), &[5, 0]);
    assert_bytes(&std::num::Wrapping(5u16), &[5, 0]);
}

#[test]
fn display_values_are_written_as_strings() {
    // `collect_str` formats straight into the output.
    let addr = std::net::Ipv4Addr::new(10, 0, 0, 1);
    struct AsDisplay(std::net::Ipv4Addr);
    impl Serialize for AsDisplay {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&self.0)
        }
    }
    let bytes = to_vec(&AsDisplay(addr)).unwrap();
    assert_eq!(bytes, b"\x08\x00\x00\x0010.0.0.1");
    assert_eq!(from_bytes::<&str>(&bytes).unwrap(), "10.0.0.1");
}

#[test]
fn not_human_readable() {
    // Types with two representations pick the compact one: an IPv4 address
    // is its 4 octets as a tuple, not the dotted string.
    let addr = std::net::Ipv4Addr::new(10, 0, 0, 1);
    assert_bytes(&addr, &[4, 0, 0, 0, 10, 0, 0, 1]);
}

#[test]
fn several_values_back_to_back() {
    let mut ser = tape_protocol::Serializer::from_vec(vec![0xaa]);
    Kind::One(1).serialize(&mut ser).unwrap();
    "z".serialize(&mut ser).unwrap();
    let bytes = ser.into_inner();
    assert_eq!(bytes[0], 0xaa);

    let mut de = tape_protocol::Deserializer::from_bytes(&bytes[1..]);
    assert_eq!(Kind::deserialize(&mut de).unwrap(), Kind::One(1));
    assert_eq!(de.position(), 9);
    assert!(de.end().is_err(), "the string is still unread");
    assert_eq!(<&str>::deserialize(&mut de).unwrap(), "z");
    de.end().unwrap();
}
