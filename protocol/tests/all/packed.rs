//! `#[serde(with = "tape_protocol::packed")]`: the same bytes as a plain
//! sequence, read and written in one copy, with the payload checked.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tape_protocol::packed::Packed;
use tape_protocol::{Error, from_bytes, to_extend, to_vec};

use crate::{assert_bytes, hex};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Marked<T: Packed> {
    before: u8,
    #[serde(with = "tape_protocol::packed")]
    #[serde(bound = "")]
    values: Vec<T>,
    after: u16,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Plain<T> {
    before: u8,
    values: Vec<T>,
    after: u16,
}

/// A packed field encodes exactly as the plain one, and each decodes what
/// the other wrote.
fn same_as_plain<T: Packed + PartialEq>(values: Vec<T>) {
    let marked = Marked {
        before: 7,
        values,
        after: 0xbeef,
    };
    let plain = Plain {
        before: 7,
        values: marked.values.clone(),
        after: 0xbeef,
    };
    let bytes = to_vec(&plain).unwrap();
    assert_bytes(&marked, &bytes);
    let from_plain: Marked<T> = from_bytes(&bytes).unwrap();
    assert_eq!(from_plain, marked);
    let from_marked: Plain<T> = from_bytes(&to_vec(&marked).unwrap()).unwrap();
    assert_eq!(from_marked, plain);
}

#[test]
fn the_bytes_of_a_plain_sequence_for_every_number_type() {
    same_as_plain::<u8>(vec![0, 1, 255]);
    same_as_plain::<i8>(vec![-128, 0, 127]);
    same_as_plain::<u16>(vec![1, 0xabcd]);
    same_as_plain::<i16>(vec![-2, i16::MAX]);
    same_as_plain::<u32>(vec![u32::MAX, 5]);
    same_as_plain::<i32>(vec![1, -2, 300]);
    same_as_plain::<u64>(vec![u64::MAX, 1 << 40]);
    same_as_plain::<i64>(vec![i64::MIN, -1]);
    same_as_plain::<u128>(vec![u128::MAX, 3]);
    same_as_plain::<i128>(vec![i128::MIN, 9]);
    same_as_plain::<f32>(vec![1.5, -0.0, f32::INFINITY]);
    same_as_plain::<f64>(vec![std::f64::consts::PI, f64::MIN_POSITIVE]);
    same_as_plain::<i32>(vec![]);
}

#[test]
fn golden_bytes() {
    // The docs' `vec![1i32, 2, 3]` vector, through a newtype so the value is
    // top-level.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Ints(#[serde(with = "tape_protocol::packed")] Vec<i32>);
    assert_bytes(
        &Ints(vec![1, 2, 3]),
        &[12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0],
    );
}

#[test]
fn float_bit_patterns_are_kept() {
    #[derive(Serialize, Deserialize)]
    struct Floats(#[serde(with = "tape_protocol::packed")] Vec<f32>);
    let quiet_nan_with_payload = f32::from_bits(0x7fc0_1234);
    let signalling = f32::from_bits(0x7f80_0001);
    let bytes = to_vec(&Floats(vec![quiet_nan_with_payload, signalling, -0.0])).unwrap();
    let Floats(back) = from_bytes(&bytes).unwrap();
    let bits: Vec<u32> = back.iter().map(|f| f.to_bits()).collect();
    assert_eq!(bits, [0x7fc0_1234, 0x7f80_0001, 0x8000_0000]);
}

#[test]
fn a_payload_that_is_not_whole_elements_is_an_error_at_its_offset() {
    // `before`, then a 6-byte payload for `Vec<i32>`: one i32 and a half.
    let mut bytes = vec![0; 4];
    bytes.push(7);
    bytes.extend_from_slice(&6u32.to_le_bytes());
    bytes.extend_from_slice(&[1, 0, 0, 0, 2, 0]);
    bytes.extend_from_slice(&[0xef, 0xbe]);
    let len = u32::try_from(bytes.len() - 4).unwrap();
    bytes[..4].copy_from_slice(&len.to_le_bytes());
    let error = from_bytes::<Marked<i32>>(&bytes).unwrap_err();
    assert_eq!(
        error,
        Error::Custom {
            offset: Some(5),
            message: "invalid length 6, expected a whole number of 4-byte i32 values".to_owned(),
        },
        "{}",
        hex(&bytes)
    );
    assert!(error.to_string().ends_with("(at byte 5)"), "{error}");
    // The plain sequence rejects the same bytes too, at the half element.
    assert!(from_bytes::<Plain<i32>>(&bytes).is_err());
}

#[test]
fn a_length_past_the_input_is_rejected_before_anything_is_allocated() {
    // A top-level packed vector claiming 4 GiB with 4 bytes behind it.
    #[derive(Deserialize, Debug)]
    struct Ints(
        #[serde(with = "tape_protocol::packed")]
        #[allow(dead_code)]
        Vec<i64>,
    );
    let mut bytes = u32::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[1, 2, 3, 4]);
    let error = from_bytes::<Ints>(&bytes).unwrap_err();
    assert!(
        matches!(
            error,
            Error::LengthOutOfRange {
                offset: 0,
                available: 4,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn to_extend_and_large_vectors() {
    let values: Vec<u64> = (0..100_000).map(|i| i * 0x0101_0101).collect();
    let marked = Marked {
        before: 1,
        values: values.clone(),
        after: 2,
    };
    let mut out = vec![0xaa];
    to_extend(&marked, &mut out).unwrap();
    assert_eq!(out[0], 0xaa);
    let back: Plain<u64> = from_bytes(&out[1..]).unwrap();
    assert_eq!(back.values, values);
}

/// Human-readable formats see an ordinary sequence, so JSON stays an array
/// of numbers; other binary formats round-trip through a byte string.
#[test]
fn other_formats() {
    let marked = Marked {
        before: 1,
        values: vec![-1i32, 2, 3],
        after: 4,
    };
    let json = serde_json::to_string(&marked).unwrap();
    assert_eq!(json, r#"{"before":1,"values":[-1,2,3],"after":4}"#);
    assert_eq!(serde_json::from_str::<Marked<i32>>(&json).unwrap(), marked);

    let bincode = bincode::serialize(&marked).unwrap();
    assert_eq!(
        bincode::deserialize::<Marked<i32>>(&bincode).unwrap(),
        marked
    );
    let postcard = postcard::to_allocvec(&marked).unwrap();
    assert_eq!(
        postcard::from_bytes::<Marked<i32>>(&postcard).unwrap(),
        marked
    );
}

proptest! {
    #[test]
    fn packed_i32_and_f64_match_plain_sequences(
        ints in proptest::collection::vec(any::<i32>(), 0..300),
        floats in proptest::collection::vec(any::<u64>().prop_map(f64::from_bits), 0..100),
    ) {
        same_as_plain(ints);
        let marked = Marked { before: 0, values: floats.clone(), after: 0 };
        let plain = Plain { before: 0, values: floats, after: 0 };
        prop_assert_eq!(to_vec(&marked).unwrap(), to_vec(&plain).unwrap());
    }

    #[test]
    fn any_bytes_decode_or_fail_like_the_plain_sequence(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let packed = from_bytes::<Marked<i16>>(&bytes).map(|m| m.values);
        let plain = from_bytes::<Plain<i16>>(&bytes).map(|p| p.values);
        prop_assert_eq!(packed.is_ok(), plain.is_ok());
        if let (Ok(a), Ok(b)) = (packed, plain) {
            prop_assert_eq!(a, b);
        }
    }
}
