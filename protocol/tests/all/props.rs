//! Property tests: round trips over nested types, and arbitrary or mutated
//! input that must never panic.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tape_protocol::{Error, from_bytes, take_from_bytes, to_extend, to_vec};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Inner {
    text: String,
    values: Vec<i32>,
    big: i128,
    ratio: f64,
    pair: (u8, char),
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Shape {
    Empty,
    Newtype(u64),
    Tuple(i16, String),
    Struct {
        flag: bool,
        nested: Option<Box<Inner>>,
    },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Marker;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Id(u32);

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Tree {
    Leaf(u8),
    Node(Vec<Tree>),
}

/// Everything but maps, whose decoding is not canonical (a map may decode
/// from entries in any order, or with repeated keys).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Record {
    name: String,
    inner: Inner,
    child: Option<Inner>,
    shapes: Vec<Shape>,
    tuple: (u16, Option<i8>, String),
    bytes: ByteBuf,
    tree: Tree,
    unit: (),
    marker: Marker,
    id: Id,
    unsigned: (u8, u16, u32, u64, u128),
    signed: (i8, i32, i64),
    small_float: f32,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Outer {
    record: Record,
    map: BTreeMap<String, Vec<u8>>,
    nested: Vec<Option<Record>>,
}

/// Floats without NaN, so `PartialEq` can compare round trips.
fn float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan())
}

fn inner() -> impl Strategy<Value = Inner> {
    (
        ".{0,12}",
        prop::collection::vec(any::<i32>(), 0..8),
        any::<i128>(),
        float(),
        any::<(u8, char)>(),
    )
        .prop_map(|(text, values, big, ratio, pair)| Inner {
            text,
            values,
            big,
            ratio,
            pair,
        })
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Empty),
        any::<u64>().prop_map(Shape::Newtype),
        (any::<i16>(), ".{0,6}").prop_map(|(a, b)| Shape::Tuple(a, b)),
        (any::<bool>(), prop::option::of(inner().prop_map(Box::new)))
            .prop_map(|(flag, nested)| Shape::Struct { flag, nested }),
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    any::<u8>()
        .prop_map(Tree::Leaf)
        .prop_recursive(4, 24, 4, |inner| {
            prop::collection::vec(inner, 0..4).prop_map(Tree::Node)
        })
}

fn record() -> impl Strategy<Value = Record> {
    (
        (
            ".{0,16}",
            inner(),
            prop::option::of(inner()),
            prop::collection::vec(shape(), 0..4),
            (any::<u16>(), any::<Option<i8>>(), ".{0,4}"),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(ByteBuf::from),
            tree(),
        ),
        (
            any::<u32>().prop_map(Id),
            any::<(u8, u16, u32, u64, u128)>(),
            any::<(i8, i32, i64)>(),
            any::<f32>().prop_filter("NaN never equals itself", |f| !f.is_nan()),
        ),
    )
        .prop_map(
            |(
                (name, inner, child, shapes, tuple, bytes, tree),
                (id, unsigned, signed, small_float),
            )| {
                Record {
                    name,
                    inner,
                    child,
                    shapes,
                    tuple,
                    bytes,
                    tree,
                    unit: (),
                    marker: Marker,
                    id,
                    unsigned,
                    signed,
                    small_float,
                }
            },
        )
}

fn outer() -> impl Strategy<Value = Outer> {
    (
        record(),
        prop::collection::btree_map(".{0,8}", prop::collection::vec(any::<u8>(), 0..8), 0..4),
        prop::collection::vec(prop::option::of(record()), 0..3),
    )
        .prop_map(|(record, map, nested)| Outer {
            record,
            map,
            nested,
        })
}

/// A change to a valid encoding, aimed at the places decoders go wrong:
/// length prefixes, tags, and the ends of buffers.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip { at: usize, mask: u8 },
    SetU32 { at: usize, value: u32 },
    Truncate { at: usize },
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let word = prop_oneof![
        any::<u32>(),
        0u32..64,
        Just(u32::MAX),
        Just(0xffff_fff0),
        Just(0x8000_0000),
    ];
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), word).prop_map(|(at, value)| Mutation::SetU32 { at, value }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Remove { at }),
    ]
}

pub fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let len = bytes.len();
        let pick = |at: usize| at % len.max(1);
        match *m {
            Mutation::Flip { at, mask } if len > 0 => bytes[pick(at)] ^= mask,
            Mutation::SetU32 { at, value } if len >= 4 => {
                let at = at % (len - 3);
                bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            Mutation::Truncate { at } => bytes.truncate(at % (len + 1)),
            Mutation::Insert { at, byte } => bytes.insert(at % (len + 1), byte),
            Mutation::Remove { at } if len > 0 => {
                bytes.remove(pick(at));
            }
            _ => {}
        }
    }
}

pub fn valid_outer() -> impl Strategy<Value = Vec<u8>> {
    outer().prop_map(|value| to_vec(&value).unwrap())
}

pub fn valid_record() -> impl Strategy<Value = Vec<u8>> {
    record().prop_map(|value| to_vec(&value).unwrap())
}

/// Appends `extra` to the payload of the length-prefixed value `encoded`
/// and bumps its prefix to match: every length is consistent, but the
/// payload holds a byte its contents do not account for.
fn pad(encoded: &[u8], extra: u8) -> Vec<u8> {
    let len = u32::from_le_bytes(encoded[..4].try_into().unwrap()) + 1;
    let mut out = len.to_le_bytes().to_vec();
    out.extend_from_slice(&encoded[4..]);
    out.push(extra);
    out
}

/// Decodes `bytes` as a `T` with no map inside, and checks that whatever
/// decodes re-encodes to the very same bytes: the encoding is canonical.
fn check_canonical<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    if let Ok(value) = from_bytes::<T>(bytes) {
        prop_assert_eq!(to_vec(&value).unwrap(), bytes);
    }
    if let Ok((value, rest)) = take_from_bytes::<T>(bytes) {
        let mut again = to_vec(&value).unwrap();
        again.extend_from_slice(rest);
        prop_assert_eq!(again, bytes);
    }
    Ok(())
}

/// Decodes `bytes` as `T`, any outcome but a panic being acceptable, and
/// checks that an error names an offset inside the input.
fn check_decodes_or_errors<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
) -> Result<(), TestCaseError> {
    if let Err(err) = from_bytes::<T>(bytes) {
        let at = err.offset().unwrap_or(0);
        prop_assert!(at <= bytes.len(), "offset {} past the input: {}", at, err);
        prop_assert!(!err.to_string().is_empty());
    }
    let _ = take_from_bytes::<T>(bytes);
    Ok(())
}

proptest! {
    #[test]
    fn outer_round_trips(value in outer()) {
        let bytes = to_vec(&value).unwrap();
        // `to_vec` measures before it allocates, so there is no slack.
        prop_assert_eq!(bytes.capacity(), bytes.len());
        prop_assert_eq!(from_bytes::<Outer>(&bytes).unwrap(), value);
        // The outermost prefix covers everything after it.
        prop_assert_eq!(u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize, bytes.len() - 4);
    }

    #[test]
    fn record_round_trips_canonically(value in record()) {
        let bytes = to_vec(&value).unwrap();
        prop_assert_eq!(from_bytes::<Record>(&bytes).unwrap(), value);
        check_canonical::<Record>(&bytes)?;
    }

    #[test]
    fn to_extend_appends_and_take_returns_the_rest(
        value in shape(),
        before in prop::collection::vec(any::<u8>(), 0..8),
        after in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut buffer = before.clone();
        to_extend(&value, &mut buffer).unwrap();
        prop_assert_eq!(&buffer[..before.len()], &before[..]);
        prop_assert_eq!(&buffer[before.len()..], &to_vec(&value).unwrap()[..]);
        buffer.extend_from_slice(&after);
        let (decoded, rest) = take_from_bytes::<Shape>(&buffer[before.len()..]).unwrap();
        prop_assert_eq!(decoded, value);
        prop_assert_eq!(rest, &after[..]);
    }

    #[test]
    fn any_value_can_be_skipped_by_its_prefix(values in prop::collection::vec(shape(), 0..6)) {
        // What a guest does to step over a value it does not care about:
        // read one u32 and jump that far past it.
        let bytes = to_vec(&values).unwrap();
        let mut at = 4;
        let mut skipped = Vec::new();
        while at < bytes.len() {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            skipped.push(&bytes[at..at + 4 + len]);
            at += 4 + len;
        }
        prop_assert_eq!(at, bytes.len());
        let each: Vec<Vec<u8>> = values.iter().map(|v| to_vec(v).unwrap()).collect();
        prop_assert_eq!(skipped, each);
    }

    #[test]
    fn padded_payloads_are_rejected(value in record(), shape in shape(), extra in any::<u8>()) {
        // Random mutations almost never keep every enclosing prefix
        // consistent, so this builds such inputs on purpose.
        let bytes = to_vec(&value).unwrap();
        let padded = pad(&bytes, extra);
        prop_assert_eq!(
            from_bytes::<Record>(&padded),
            Err(Error::UnconsumedPayload { offset: bytes.len(), expected: "a struct", count: 1 })
        );

        // The same one level down, inside a tuple whose own prefix is right.
        let inner = pad(&to_vec(&shape).unwrap(), extra);
        let mut tuple = (inner.len() as u32 + 1).to_le_bytes().to_vec();
        tuple.extend_from_slice(&inner);
        tuple.push(7);
        prop_assert_eq!(
            from_bytes::<(Shape, u8)>(&tuple),
            Err(Error::UnconsumedPayload { offset: 3 + inner.len(), expected: "an enum", count: 1 })
        );
    }

    #[test]
    fn borrowed_strings_round_trip(words in prop::collection::vec(".{0,10}", 0..6)) {
        let bytes = to_vec(&words).unwrap();
        let borrowed: Vec<&str> = from_bytes(&bytes).unwrap();
        prop_assert_eq!(borrowed, words);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        check_decodes_or_errors::<Outer>(&bytes)?;
        check_decodes_or_errors::<Vec<String>>(&bytes)?;
        check_decodes_or_errors::<Vec<&str>>(&bytes)?;
        check_decodes_or_errors::<BTreeMap<String, Vec<u8>>>(&bytes)?;
        check_decodes_or_errors::<(bool, char, Option<u32>, f64)>(&bytes)?;
        check_decodes_or_errors::<Vec<()>>(&bytes)?;
        check_canonical::<Record>(&bytes)?;
        check_canonical::<Vec<Shape>>(&bytes)?;
        check_canonical::<Tree>(&bytes)?;
        check_canonical::<Option<(i128, String, ByteBuf)>>(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_after_a_plausible_prefix_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        // Random bytes rarely get past the first prefix; this one is right.
        let mut bytes = (body.len() as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&body);
        check_decodes_or_errors::<Outer>(&bytes)?;
        check_canonical::<Record>(&bytes)?;
        check_canonical::<Vec<Shape>>(&bytes)?;
        check_canonical::<Vec<Tree>>(&bytes)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn mutated_encodings_never_panic(
        mut bytes in valid_outer(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        mutate(&mut bytes, &mutations);
        check_decodes_or_errors::<Outer>(&bytes)?;
    }

    #[test]
    fn mutated_encodings_decode_canonically_or_not_at_all(
        mut bytes in valid_record(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        mutate(&mut bytes, &mutations);
        check_canonical::<Record>(&bytes)?;
    }
}
