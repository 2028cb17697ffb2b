//! `#[derive(Encode, Decode)]` against the serde path, which is the oracle:
//! for every value the same bytes, and for every input, valid, mutated or
//! arbitrary, the same outcome: the same value, or the same error with the
//! same offset.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tape_protocol::{Decode, Encode, Error, decode, encode, from_bytes, to_vec};

use crate::props::{mutate, mutation};

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub struct Inner {
    text: String,
    values: Vec<i32>,
    big: i128,
    ratio: f64,
    pair: (u8, char),
    floats: Vec<f32>,
}

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub enum Shape {
    Empty,
    Newtype(u64),
    Tuple(i16, String),
    Struct {
        flag: bool,
        nested: Option<Box<Inner>>,
    },
    NoFields {},
    NoTuple(),
}

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub struct Marker;

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub struct Empty {}

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub struct Id(u32);

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub struct Pair(u16, i64);

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub enum Tree {
    Leaf(u8),
    Node(Vec<Tree>),
}

/// A type parameter, which gets the `Encode`/`Decode` bound.
#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub struct Tagged<T> {
    tag: u8,
    value: T,
}

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
pub struct Record {
    name: String,
    inner: Inner,
    child: Option<Inner>,
    shapes: Vec<Shape>,
    tuple: (u16, Option<i8>, String),
    bytes: Vec<u8>,
    tree: Tree,
    unit: (),
    marker: Marker,
    empty: Empty,
    id: Id,
    pair: Pair,
    unsigned: (u8, u16, u32, u64, u128),
    signed: (i8, i32, i64),
    small_float: f32,
    flags: Vec<bool>,
    chars: [char; 3],
    tagged: Tagged<Vec<Id>>,
    map: BTreeMap<String, Vec<u8>>,
    nested: Vec<Option<Vec<u16>>>,
}

/// Everything borrowed that can be.
#[derive(Serialize, Deserialize, Encode, Decode, Debug, PartialEq)]
pub struct Borrowed<'a> {
    #[serde(borrow)]
    name: &'a str,
    #[serde(borrow)]
    words: Vec<&'a str>,
    #[serde(borrow)]
    cow: Cow<'a, str>,
    bytes: &'a [u8],
    #[serde(borrow)]
    kind: BorrowedKind<'a>,
}

#[derive(Serialize, Deserialize, Encode, Decode, Debug, PartialEq)]
pub enum BorrowedKind<'a> {
    Ping,
    Closed {
        code: u16,
        #[serde(borrow)]
        reason: &'a str,
    },
}

fn float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan())
}

fn inner() -> impl Strategy<Value = Inner> {
    (
        ".{0,12}",
        prop::collection::vec(any::<i32>(), 0..24),
        any::<i128>(),
        float(),
        any::<(u8, char)>(),
        prop::collection::vec(-1e6f32..1e6, 0..4),
    )
        .prop_map(|(text, values, big, ratio, pair, floats)| Inner {
            text,
            values,
            big,
            ratio,
            pair,
            floats,
        })
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Empty),
        Just(Shape::NoFields {}),
        Just(Shape::NoTuple()),
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
            prop::collection::vec(any::<u8>(), 0..40),
            tree(),
            (any::<u32>(), any::<u16>(), any::<i64>()),
        ),
        (
            any::<(u8, u16, u32, u64, u128)>(),
            any::<(i8, i32, i64)>(),
            any::<f32>().prop_filter("NaN never equals itself", |f| !f.is_nan()),
            prop::collection::vec(any::<bool>(), 0..20),
            any::<[char; 3]>(),
            (any::<u8>(), prop::collection::vec(any::<u32>(), 0..4)),
            prop::collection::btree_map(".{0,8}", prop::collection::vec(any::<u8>(), 0..8), 0..4),
            prop::collection::vec(
                prop::option::of(prop::collection::vec(any::<u16>(), 0..20)),
                0..3,
            ),
        ),
    )
        .prop_map(
            |(
                (name, inner, child, shapes, tuple, bytes, tree, (id, a, b)),
                (unsigned, signed, small_float, flags, chars, (tag, ids), map, nested),
            )| Record {
                name,
                inner,
                child,
                shapes,
                tuple,
                bytes,
                tree,
                unit: (),
                marker: Marker,
                empty: Empty {},
                id: Id(id),
                pair: Pair(a, b),
                unsigned,
                signed,
                small_float,
                flags,
                chars,
                tagged: Tagged {
                    tag,
                    value: ids.into_iter().map(Id).collect(),
                },
                map,
                nested,
            },
        )
}

/// `bytes` decoded both ways: the same value or the same error.
fn same_outcome<'de, T>(bytes: &'de [u8]) -> Result<(), TestCaseError>
where
    T: Deserialize<'de> + Decode<'de> + PartialEq + Debug,
{
    let serde: Result<T, Error> = from_bytes(bytes);
    let derived: Result<T, Error> = decode(bytes);
    if derived != serde {
        // A mutation can make a NaN, which equals nothing: compare what
        // each shows instead.
        prop_assert_eq!(
            format!("{derived:?}"),
            format!("{serde:?}"),
            "input {}",
            crate::hex(bytes)
        );
    }
    Ok(())
}

/// The same bytes both ways, `encoded_len` exact, and a round trip.
fn same_bytes<T>(value: &T) -> Result<Vec<u8>, TestCaseError>
where
    T: Serialize + Encode + for<'de> Decode<'de> + PartialEq + Debug,
{
    let bytes = encode(value).unwrap();
    prop_assert_eq!(crate::hex(&bytes), crate::hex(&to_vec(value).unwrap()));
    prop_assert_eq!(value.encoded_len(), bytes.len());
    prop_assert_eq!(
        bytes.capacity(),
        bytes.len(),
        "encode sizes its buffer exactly"
    );
    prop_assert_eq!(&decode::<T>(&bytes).unwrap(), value);
    Ok(bytes)
}

proptest! {
    #[test]
    fn records_encode_as_serde_does_and_decode_back(value in record()) {
        same_bytes(&value)?;
    }

    #[test]
    fn mutated_records_decode_as_serde_decodes_them(
        value in record(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut bytes = to_vec(&value).unwrap();
        mutate(&mut bytes, &mutations);
        same_outcome::<Record>(&bytes)?;
    }

    #[test]
    fn mutated_shapes_and_trees_decode_as_serde_decodes_them(
        shape in shape(),
        tree in tree(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let mut bytes = to_vec(&shape).unwrap();
        mutate(&mut bytes, &mutations);
        same_outcome::<Shape>(&bytes)?;
        let mut bytes = to_vec(&tree).unwrap();
        mutate(&mut bytes, &mutations);
        same_outcome::<Tree>(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_decode_as_serde_decodes_them(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        same_outcome::<Shape>(&bytes)?;
        same_outcome::<Tree>(&bytes)?;
        same_outcome::<Vec<i32>>(&bytes)?;
        same_outcome::<Vec<u16>>(&bytes)?;
        same_outcome::<Option<(bool, char)>>(&bytes)?;
        same_outcome::<HashMap<u8, Vec<()>>>(&bytes)?;
        same_outcome::<Vec<()>>(&bytes)?;
        same_outcome::<[u8; 2]>(&bytes)?;
    }

    #[test]
    fn borrowed_values_borrow_and_match_serde(
        name in ".{0,8}",
        words in prop::collection::vec(".{0,5}", 0..5),
        reason in prop::option::of(".{0,6}"),
        mutations in prop::collection::vec(mutation(), 0..3),
    ) {
        let value = Borrowed {
            name: &name,
            words: words.iter().map(String::as_str).collect(),
            cow: Cow::Borrowed(&name),
            bytes: name.as_bytes(),
            kind: match &reason {
                None => BorrowedKind::Ping,
                Some(reason) => BorrowedKind::Closed { code: 1000, reason },
            },
        };
        let bytes = encode(&value).unwrap();
        prop_assert_eq!(&bytes, &to_vec(&value).unwrap());
        let back: Borrowed<'_> = decode(&bytes).unwrap();
        let range = bytes.as_ptr_range();
        prop_assert!(range.contains(&back.name.as_ptr()) || back.name.is_empty());
        prop_assert_eq!(back, value);
        let mut bytes = bytes;
        mutate(&mut bytes, &mutations);
        same_outcome::<Borrowed<'_>>(&bytes)?;
    }
}

/// Variant indices past the last are refused with serde's message, at the
/// index's offset.
#[test]
fn unknown_variants_are_refused_as_serde_refuses_them() {
    let bytes = [4, 0, 0, 0, 9, 0, 0, 0];
    let err = decode::<Shape>(&bytes).unwrap_err();
    assert_eq!(Err::<Shape, _>(err.clone()), from_bytes::<Shape>(&bytes));
    assert_eq!(err.offset(), Some(4));
    assert!(
        err.to_string()
            .contains("expected variant index 0 <= i < 6"),
        "{err}"
    );
}

/// Nesting past the depth limit fails the same way, at the same place.
#[test]
fn the_depth_limit_holds() {
    let mut tree = Tree::Leaf(1);
    for _ in 0..200 {
        tree = Tree::Node(vec![tree]);
    }
    let bytes = encode(&tree).unwrap();
    let err = decode::<Tree>(&bytes).unwrap_err();
    assert!(matches!(err, Error::DepthLimitExceeded { .. }), "{err}");
    assert_eq!(Err::<Tree, _>(err), from_bytes::<Tree>(&bytes));
}

/// Numbers copied in bulk refuse a payload that ends inside a number
/// exactly as element-wise reading does.
#[test]
fn a_partial_number_is_refused_where_it_starts() {
    for len in 0..=9u8 {
        let mut bytes = vec![len, 0, 0, 0];
        bytes.extend((0..len).map(|i| i * 3));
        let derived = decode::<Vec<i32>>(&bytes);
        assert_eq!(derived, from_bytes::<Vec<i32>>(&bytes), "payload of {len}");
        assert_eq!(derived.is_ok(), len % 4 == 0);
    }
}

/// `encoded_len` counts every prefix, of tuples, options and variants.
#[test]
fn encoded_len_counts_every_prefix() {
    let value = (
        vec![1u64, 2],
        Some("x".to_owned()),
        Shape::Tuple(1, "ab".into()),
    );
    assert_eq!(value.encoded_len(), encode(&value).unwrap().len());
    assert_eq!(encode(&value).unwrap(), to_vec(&value).unwrap());
}

/// A lifetime named as the derive's own input lifetime is at first, beside
/// a type parameter.
#[derive(Serialize, Deserialize, Encode, Decode, Debug, PartialEq)]
pub struct Both<'__de, T> {
    #[serde(borrow)]
    name: &'__de str,
    value: T,
    rest: Vec<T>,
}

#[test]
fn lifetimes_and_type_parameters_together() {
    let value = Both {
        name: "both",
        value: 7u32,
        rest: vec![1, 2],
    };
    let bytes = encode(&value).unwrap();
    assert_eq!(bytes, to_vec(&value).unwrap());
    let back: Both<'_, u32> = decode(&bytes).unwrap();
    assert_eq!(back, value);
    let truncated = &bytes[..bytes.len() - 2];
    assert_eq!(
        decode::<Both<'_, u32>>(truncated),
        from_bytes::<Both<'_, u32>>(truncated)
    );
}

/// A generic enum, and a where clause of the type's own.
#[derive(Serialize, Deserialize, Encode, Decode, Debug, PartialEq)]
pub enum Either<L, R>
where
    L: Clone,
{
    Left(L),
    Right { value: R, count: u8 },
    Both(L, R),
}

#[test]
fn generic_enums_with_where_clauses() {
    let values: [Either<String, Vec<u16>>; 3] = [
        Either::Left("l".into()),
        Either::Right {
            value: vec![1, 2, 3],
            count: 3,
        },
        Either::Both("b".into(), vec![]),
    ];
    for value in values {
        let bytes = encode(&value).unwrap();
        assert_eq!(bytes, to_vec(&value).unwrap());
        assert_eq!(value.encoded_len(), bytes.len());
        assert_eq!(decode::<Either<String, Vec<u16>>>(&bytes).unwrap(), value);
        for cut in 0..bytes.len() {
            assert_eq!(
                decode::<Either<String, Vec<u16>>>(&bytes[..cut]),
                from_bytes::<Either<String, Vec<u16>>>(&bytes[..cut]),
                "{value:?} cut at {cut}"
            );
        }
    }
}

/// An enum with no variants decodes from nothing, with serde's error.
#[derive(Serialize, Deserialize, Encode, Decode, Debug, PartialEq)]
pub enum Never {}

#[test]
fn an_enum_without_variants_is_refused_as_serde_refuses_it() {
    for bytes in [&[4, 0, 0, 0, 0, 0, 0, 0][..], &[0, 0, 0, 0], &[]] {
        let derived = decode::<Never>(bytes);
        assert!(derived.is_err());
        assert_eq!(derived, from_bytes::<Never>(bytes), "{bytes:?}");
    }
}
