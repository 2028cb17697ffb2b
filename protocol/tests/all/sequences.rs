//! Long sequences of numbers are written by a fast path that fills blocks
//! of fixed-width slots (`Serializer::collect_seq`). Whatever the element
//! type, and however the sequence changes shape part way, the bytes must be
//! the ones the element-by-element path writes: each element's own
//! encoding, back to back, behind the payload length.

use std::fmt::Debug;

use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use tape_protocol::{to_extend, to_vec};

use crate::{assert_bytes, hex};

/// The encoding of a sequence whose elements encode to `elements`.
fn seq_bytes(elements: &[Vec<u8>]) -> Vec<u8> {
    let payload: Vec<u8> = elements.concat();
    let mut out = u32::try_from(payload.len()).unwrap().to_le_bytes().to_vec();
    out.extend_from_slice(&payload);
    out
}

/// Checks a sequence against its elements encoded one by one, and that
/// `to_vec` sized its buffer exactly.
#[track_caller]
fn assert_seq<T>(values: Vec<T>)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + Debug,
{
    let elements: Vec<Vec<u8>> = values.iter().map(|v| to_vec(v).unwrap()).collect();
    let expected = seq_bytes(&elements);
    assert_bytes(&values, &expected);
    let encoded = to_vec(&values).unwrap();
    assert_eq!(encoded.capacity(), encoded.len(), "to_vec's size count");
}

/// Lengths around the fast path's threshold and its block size.
const LENGTHS: [usize; 9] = [0, 1, 16, 17, 18, 1023, 1024, 1025, 3000];

#[test]
fn numbers_of_every_width() {
    for n in LENGTHS {
        assert_seq((0..n).map(|i| i as u8).collect::<Vec<u8>>());
        assert_seq((0..n).map(|i| i % 2 == 0).collect::<Vec<bool>>());
        assert_seq((0..n).map(|i| i as i16 - 500).collect::<Vec<i16>>());
        assert_seq((0..n).map(|i| i as i32 * -7).collect::<Vec<i32>>());
        assert_seq((0..n).map(|i| i as f32 / 3.0).collect::<Vec<f32>>());
        assert_seq(
            (0..n)
                .map(|i| char::from_u32(0x1f600 + i as u32 % 64).unwrap())
                .collect::<Vec<char>>(),
        );
        assert_seq(
            (0..n)
                .map(|i| i as u64 * 0x1_0000_0001)
                .collect::<Vec<u64>>(),
        );
        assert_seq((0..n).map(|i| i as f64 * 1.5).collect::<Vec<f64>>());
        assert_seq((0..n).map(|i| i as i128 - 3).collect::<Vec<i128>>());
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Meters(u32);

#[test]
fn newtypes_of_numbers() {
    for n in LENGTHS {
        assert_seq((0..n as u32).map(Meters).collect());
    }
}

/// Elements that are numbers of one width until they are not.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Shape {
    Small(u32),
    Large(u64, u64),
    Unit,
}

#[test]
fn elements_that_change_width_part_way() {
    for n in LENGTHS {
        for at in [0, 1, n / 2, n.saturating_sub(1)] {
            // Tuples are fields behind a prefix, never a bare number.
            let values: Vec<(u32,)> = (0..n as u32).map(|i| (i,)).collect();
            assert_seq(values);
            let mut shapes: Vec<Shape> = (0..n as u32).map(Shape::Small).collect();
            if at < n {
                shapes[at] = Shape::Large(1, 2);
            }
            assert_seq(shapes);
            let mut options: Vec<Option<u32>> = (0..n as u32).map(Some).collect();
            if at < n {
                options[at] = None;
            }
            assert_seq(options);
        }
    }
    assert_seq(vec![Shape::Unit; 40]);
}

/// Bare numbers of different widths in one sequence, which no derived type
/// writes: a u32 for small values and a u64 for large ones.
struct Mixed(Vec<u64>);

impl Serialize for Mixed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|&v| MixedNumber(v)))
    }
}

struct MixedNumber(u64);

impl Serialize for MixedNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match u32::try_from(self.0) {
            Ok(small) => s.serialize_u32(small),
            Err(_) => s.serialize_u64(self.0),
        }
    }
}

#[test]
fn bare_numbers_of_different_widths() {
    for n in LENGTHS {
        for at in [0, 1, 17, n / 2, n.saturating_sub(1)] {
            let mut values: Vec<u64> = (0..n as u64).collect();
            if at < n {
                values[at] = u64::MAX - 1;
            }
            let elements: Vec<Vec<u8>> = values
                .iter()
                .map(|&v| to_vec(&MixedNumber(v)).unwrap())
                .collect();
            let expected = seq_bytes(&elements);
            let encoded = to_vec(&Mixed(values)).unwrap();
            assert_eq!(hex(&encoded), hex(&expected), "{n} numbers, wide at {at}");
            assert_eq!(encoded.capacity(), encoded.len(), "to_vec's size count");
        }
    }
}

/// A sequence whose iterator's size hint is wrong, in either direction:
/// the hint may size a block, never decide what is written.
struct Hinted {
    values: Vec<u32>,
    lower: usize,
}

impl Serialize for Hinted {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(HintedIter {
            inner: self.values.iter(),
            lower: self.lower,
        })
    }
}

struct HintedIter<'a> {
    inner: std::slice::Iter<'a, u32>,
    lower: usize,
}

impl<'a> Iterator for HintedIter<'a> {
    type Item = &'a u32;

    fn next(&mut self) -> Option<&'a u32> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.lower, None)
    }
}

#[test]
fn wrong_size_hints_do_not_change_the_output() {
    for n in LENGTHS {
        let values: Vec<u32> = (0..n as u32).collect();
        let expected = to_vec(&values).unwrap();
        for lower in [0, 1, n / 2, n, n + 1, 5000] {
            let hinted = Hinted {
                values: values.clone(),
                lower,
            };
            assert_eq!(
                hex(&to_vec(&hinted).unwrap()),
                hex(&expected),
                "{n} values hinted as at least {lower}"
            );
        }
    }
}

/// Numbers written through `serialize_seq`, which has no fast path, then an
/// element that fails.
struct Failing(usize);

impl Serialize for Failing {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for i in 0..self.0 {
            seq.serialize_element(&(i as u32))?;
        }
        seq.serialize_element(&FailsToSerialize)?;
        seq.end()
    }
}

struct FailsToSerialize;

impl Serialize for FailsToSerialize {
    fn serialize<S: Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("no"))
    }
}

/// An element that fails after a run of numbers fails the whole value, and
/// `to_extend` leaves its buffer as it was.
#[test]
fn failing_elements_after_a_fast_run() {
    let mut values: Vec<Result<u32, ()>> = (0..100).map(Ok).collect();
    values[60] = Err(());
    let mut out = vec![7];
    assert!(to_extend(&AsSeq(&values), &mut out).is_err());
    assert_eq!(out, [7]);
    assert!(to_vec(&Failing(100)).is_err());
}

/// `Ok` elements are bare u32s and an `Err` element fails.
struct AsSeq<'a>(&'a [Result<u32, ()>]);

impl Serialize for AsSeq<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|r| match r {
            Ok(v) => OkOrFail(Some(*v)),
            Err(()) => OkOrFail(None),
        }))
    }
}

struct OkOrFail(Option<u32>);

impl Serialize for OkOrFail {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => s.serialize_u32(v),
            None => Err(serde::ser::Error::custom("no")),
        }
    }
}

/// Writes its number, then reports an error: in the fast path the slot it
/// wrote must not be kept, and the value as a whole fails.
struct WritesThenFails(u32);

impl Serialize for WritesThenFails {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)?;
        Err(serde::ser::Error::custom("written, then refused"))
    }
}

#[test]
fn an_element_that_writes_and_then_fails_leaves_nothing() {
    for at in [0, 17, 60, 1023, 1500] {
        let values = WritesThenFailsAt(at);
        let mut out = vec![7, 8];
        let err = to_extend(&values, &mut out).unwrap_err();
        assert!(err.to_string().contains("written, then refused"), "{err}");
        assert_eq!(out, [7, 8], "failing at {at}");
    }
}

/// 2,000 numbers, the one at `.0` a [`WritesThenFails`].
struct WritesThenFailsAt(usize);

impl Serialize for WritesThenFailsAt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..2000u32).map(|i| Either(i, i as usize == self.0)))
    }
}

struct Either(u32, bool);

impl Serialize for Either {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.1 {
            WritesThenFails(self.0).serialize(s)
        } else {
            s.serialize_u32(self.0)
        }
    }
}
