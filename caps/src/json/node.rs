//! A JSON value as the `json` capability holds it: few allocations, the
//! text of every number kept.
//!
//! `serde_json::Value` (with `preserve_order` and `arbitrary_precision`)
//! makes about ten allocations for an object such as
//! `{"id": 1, "name": "a", "tags": ["x", "y"]}`: its map's entries and
//! index, every key, every string, every number's text. A [`Node`] keeps
//! strings, keys and numbers of up to 24 bytes inline
//! ([`CompactString`]), and an object's members in one vector, indexed by
//! key only once it has more than [`INDEXED`] of them: two allocations
//! for that object, one per array or object. Parsing is still
//! serde_json's (its grammar, its errors, its depth limit): a
//! [`Visitor`] builds nodes instead of values.

use std::cell::Cell;
use std::fmt;
use std::hash::BuildHasher;

use compact_str::{CompactString, ToCompactString};
use hashbrown::HashTable;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::Number;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Null,
    Bool(bool),
    /// A number, as the text it was written in (`1e3`, `1.50`, every digit
    /// of a long integer): JSON's grammar, checked by the parser or
    /// written by serde_json.
    Number(CompactString),
    String(CompactString),
    Array(Vec<Node>),
    Object(Object),
}

/// Past how many members an object keeps an index of them by key: up to
/// it, finding a key compares it with each (at most 8 short strings,
/// faster than hashing it).
pub(super) const INDEXED: usize = 8;

/// An object: its members in document (or insertion) order, one per key.
#[derive(Clone, Default)]
pub(super) struct Object {
    members: Vec<(CompactString, Node)>,
    /// The position of each member, by the hash of its key; past
    /// [`INDEXED`] members.
    index: Option<Box<Index>>,
}

#[derive(Clone)]
struct Index {
    positions: HashTable<u32>,
    /// Seeded per index: an attacker's keys cannot be chosen to collide.
    hasher: foldhash::fast::RandomState,
}

impl Index {
    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }
}

impl Object {
    pub(super) fn len(&self) -> usize {
        self.members.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.members.iter().map(|(key, node)| (key.as_str(), node))
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Node> {
        self.members.iter_mut().map(|(_, node)| node)
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(key, _)| key.as_str())
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index
                .positions
                .find(index.hash(key), |&at| self.members[at as usize].0 == key)
                .map(|&at| at as usize),
            None => self.members.iter().position(|(k, _)| k == key),
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        self.position(key).map(|at| &self.members[at].1)
    }

    pub(super) fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.position(key).map(|at| &mut self.members[at].1)
    }

    pub(super) fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets member `key` to `value`: in place if there is one (the value it
    /// had is returned), else as the last member.
    pub(super) fn insert(&mut self, key: CompactString, value: Node) -> Option<Node> {
        if let Some(at) = self.position(&key) {
            return Some(std::mem::replace(&mut self.members[at].1, value));
        }
        self.members.push((key, value));
        let members = &self.members;
        let rehash = |hasher: &foldhash::fast::RandomState, at: u32| {
            hasher.hash_one(members[at as usize].0.as_str())
        };
        match &mut self.index {
            Some(index) => {
                let at = members.len() as u32 - 1;
                let hasher = &index.hasher;
                index
                    .positions
                    .insert_unique(rehash(hasher, at), at, |&i| rehash(hasher, i));
            }
            None if members.len() > INDEXED => {
                let hasher = foldhash::fast::RandomState::default();
                let mut positions = HashTable::with_capacity(members.len() * 2);
                for at in 0..members.len() as u32 {
                    positions.insert_unique(rehash(&hasher, at), at, |&i| rehash(&hasher, i));
                }
                self.index = Some(Box::new(Index { positions, hasher }));
            }
            None => {}
        }
        None
    }
}

impl PartialEq for Object {
    /// Same members in the same order; the index follows from them.
    fn eq(&self, other: &Object) -> bool {
        self.members == other.members
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// `size_of::<Node>()`: what a value takes in its array's vector, its
/// object's member or its document.
pub(super) const NODE_BYTES: u64 = size_of::<Node>() as u64;

/// `size_of::<(CompactString, Node)>()`: what a member takes in its
/// object's vector.
pub(super) const MEMBER_BYTES: u64 = size_of::<(CompactString, Node)>() as u64;

/// What a member's key takes in its object's vector.
pub(super) const KEY_BYTES: u64 = MEMBER_BYTES - NODE_BYTES;

/// What the allocator's chunk for `bytes` takes: the size, a header, and
/// rounding (glibc's: 8 bytes of header, 16-byte steps, 32 at least).
pub(super) fn chunk(bytes: u64) -> u64 {
    if bytes == 0 {
        0
    } else {
        (bytes + 8).next_multiple_of(16).max(32)
    }
}

/// The heap a string of `len` bytes takes: none up to 24 bytes (inline),
/// then a chunk of at least 32 bytes (`compact_str`'s smallest).
pub(super) fn heap_bytes(len: usize) -> u64 {
    if len <= size_of::<CompactString>() {
        0
    } else {
        chunk(len.max(32) as u64)
    }
}

/// The heap a vector of `capacity` elements of `size` bytes takes.
pub(super) fn vector_bytes(capacity: usize, size: u64) -> u64 {
    chunk(capacity as u64 * size)
}

/// The heap an index of `capacity` members takes: hashbrown's table (a
/// `u32` and a control byte a bucket, buckets a power of two, one eighth
/// of them free, a group of control bytes more) and the box it is in.
fn index_bytes(capacity: usize) -> u64 {
    let buckets = match capacity {
        0 => return chunk(size_of::<Index>() as u64),
        1..8 => (capacity + 1).next_power_of_two(),
        _ => (capacity * 8 / 7).next_power_of_two(),
    } as u64;
    chunk(size_of::<Index>() as u64) + chunk((buckets * 4).next_multiple_of(16) + buckets + 16)
}

/// The capacity a vector of `capacity` holding `len` has once one more is
/// pushed: the standard library's doubling, from 4.
fn grown(len: usize, capacity: usize) -> usize {
    if len < capacity {
        capacity
    } else {
        (capacity * 2).max(4)
    }
}

impl Node {
    /// Bytes of host memory the value takes: its node and what it owns.
    /// Small values take far more memory than text (`[0,0,…]` is 2 bytes
    /// of text and 32 of memory a value, `[[0],[0],…]` 4 bytes of text and
    /// 176 of memory an inner array, whose vector has room for 4), so
    /// documents are counted by this against the run's memory cap, not by
    /// their text. Exact for glibc's allocator (the tests hold it to what
    /// the allocator is asked for, in its chunks).
    pub(super) fn weight(&self) -> u64 {
        NODE_BYTES + self.heap()
    }

    /// What the value owns on the heap: a string's text; an array's or an
    /// object's vector, every slot of its capacity, its index, and what
    /// its elements and keys own in turn.
    pub(super) fn heap(&self) -> u64 {
        match self {
            Node::String(s) | Node::Number(s) => heap_bytes(s.len()),
            Node::Array(items) => self.shell() + items.iter().map(Node::heap).sum::<u64>(),
            Node::Object(object) => {
                self.shell()
                    + object
                        .iter()
                        .map(|(key, item)| heap_bytes(key.len()) + item.heap())
                        .sum::<u64>()
            }
            Node::Null | Node::Bool(_) => 0,
        }
    }

    /// The heap an array's or an object's own vector and index take, not
    /// counting what their elements own; 0 for a scalar.
    pub(super) fn shell(&self) -> u64 {
        match self {
            Node::Array(items) => vector_bytes(items.capacity(), NODE_BYTES),
            Node::Object(object) => {
                vector_bytes(object.members.capacity(), MEMBER_BYTES)
                    + object
                        .index
                        .as_ref()
                        .map_or(0, |index| index_bytes(index.positions.capacity()))
            }
            _ => 0,
        }
    }

    /// At least what [`shell`](Node::shell) will be once one more element
    /// or member is added: the vector doubled if it is full, and an index
    /// of twice the members if there is or will be one.
    pub(super) fn shell_grown(&self) -> u64 {
        match self {
            Node::Array(items) => vector_bytes(grown(items.len(), items.capacity()), NODE_BYTES),
            Node::Object(object) => {
                let (len, capacity) = (object.members.len(), object.members.capacity());
                let index = match &object.index {
                    Some(index) => {
                        let capacity = index.positions.capacity();
                        index_bytes(grown(len, capacity).max(2 * (len + 1)))
                    }
                    None if len + 1 > INDEXED => index_bytes(2 * (len + 1)),
                    None => 0,
                };
                vector_bytes(grown(len, capacity), MEMBER_BYTES) + index
            }
            _ => 0,
        }
    }

    /// An estimate of the value's JSON text in bytes (exact but for
    /// escapes), and its depth of nesting (0 for a scalar).
    pub(super) fn measure(&self) -> (u64, usize) {
        match self {
            Node::Null => (4, 0),
            Node::Bool(_) => (5, 0),
            Node::Number(n) => (n.len() as u64, 0),
            Node::String(s) => (s.len() as u64 + 2, 0),
            Node::Array(items) => items.iter().fold((2, 1), |(size, depth), item| {
                let (s, d) = item.measure();
                (size + s + 1, depth.max(d + 1))
            }),
            Node::Object(object) => object.iter().fold((2, 1), |(size, depth), (key, item)| {
                let (s, d) = item.measure();
                (size + key.len() as u64 + 3 + s + 1, depth.max(d + 1))
            }),
        }
    }

    /// The value's kind, as messages name it (as `tape_rt::json_kind`
    /// does for a `serde_json::Value`).
    pub(super) fn kind(&self) -> &'static str {
        tape_rt::JSON_KINDS[self.type_code() as usize]
    }

    /// The guest's type code (`json.type`): 0 null, 1 bool, 2 number, 3
    /// string, 4 array, 5 object.
    pub(super) fn type_code(&self) -> i32 {
        match self {
            Node::Null => 0,
            Node::Bool(_) => 1,
            Node::Number(_) => 2,
            Node::String(_) => 3,
            Node::Array(_) => 4,
            Node::Object(_) => 5,
        }
    }

    /// The number as an `f64`, if it is a number with a finite one (as
    /// `serde_json::Number::as_f64`).
    pub(super) fn as_f64(&self) -> Option<f64> {
        match self {
            Node::Number(text) => text.parse::<f64>().ok().filter(|x| x.is_finite()),
            _ => None,
        }
    }

    /// A number from an `i64`, spelt as serde_json spells it.
    pub(super) fn integer(n: i64) -> Node {
        Node::Number(n.to_compact_string())
    }

    /// A number from a finite `f64`, spelt as serde_json spells it
    /// (`1.5`, `1e+300`); `None` for NaN and the infinities.
    pub(super) fn float(x: f64) -> Option<Node> {
        Number::from_f64(x).map(|n| Node::Number(n.as_str().into()))
    }
}

/// Parses JSON text: the value, and whether a number in it has an
/// exponent (which serde_json respells: see `respell_exponents`). Errors
/// are serde_json's, as `serde_json::from_slice` gives them.
pub(super) fn parse(text: &[u8]) -> Result<(Node, bool), serde_json::Error> {
    let exponent = Cell::new(false);
    let range = text.as_ptr_range();
    let seed = NodeSeed {
        source: (range.start as usize, range.end as usize),
        exponent: &exponent,
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    let node = seed.deserialize(&mut de)?;
    de.end()?;
    Ok((node, exponent.get()))
}

/// How serde_json with `arbitrary_precision` hands a number over: as a map
/// of one entry, this key (a `&'static str` of serde_json's, never one
/// borrowed from the text) and the number's text; and how its serializer
/// takes one: a struct of that name with one field.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

#[derive(Clone, Copy)]
struct NodeSeed<'a> {
    /// The addresses the text spans: a key borrowed from inside it is a
    /// key of the document, whatever it says.
    source: (usize, usize),
    exponent: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }

    // serde_json hands numbers over as text (below); these are for
    // completeness.
    fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
        Ok(Node::integer(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
        Ok(Node::Number(n.to_compact_string()))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Node, E> {
        Node::float(x).ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node, E> {
        Ok(Node::String(s.into()))
    }

    fn visit_string<E>(self, s: String) -> Result<Node, E> {
        Ok(Node::String(s.into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut object = Object::default();
        while let Some(key) = map.next_key_seed(KeySeed(self))? {
            let key = match key {
                Key::Name(key) => key,
                Key::Number if object.len() == 0 => {
                    let text: CompactString = map.next_value_seed(TextSeed)?;
                    if text.contains(['e', 'E']) {
                        self.exponent.set(true);
                    }
                    return Ok(Node::Number(text));
                }
                Key::Number => return Err(de::Error::custom("a number inside an object")),
            };
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Node::Object(object))
    }
}

enum Key {
    Name(CompactString),
    /// serde_json's marker of a number.
    Number,
}

struct KeySeed<'a>(NodeSeed<'a>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object's key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key, E> {
        let (start, end) = self.0.source;
        let at = s.as_ptr() as usize;
        if s == NUMBER_TOKEN && !(start..end).contains(&at) {
            return Ok(Key::Number);
        }
        Ok(Key::Name(s.into()))
    }

    fn visit_str<E>(self, s: &str) -> Result<Key, E> {
        Ok(Key::Name(s.into()))
    }

    fn visit_string<E>(self, s: String) -> Result<Key, E> {
        Ok(Key::Name(s.into()))
    }
}

/// A number's text.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = CompactString;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<CompactString, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = CompactString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number's text")
    }

    fn visit_str<E>(self, s: &str) -> Result<CompactString, E> {
        Ok(s.into())
    }

    fn visit_string<E>(self, s: String) -> Result<CompactString, E> {
        Ok(s.into())
    }
}

/// As JSON, through serde_json: numbers written as their text.
impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            // As `serde_json::Number` serializes itself with
            // `arbitrary_precision`: a struct that serde_json's serializer
            // knows by this name, whose one field it writes as it is (the
            // text is a JSON number). Held to serde_json's output by the
            // tests below.
            Node::Number(text) => {
                let mut number = serializer.serialize_struct(NUMBER_TOKEN, 1)?;
                number.serialize_field(NUMBER_TOKEN, text.as_str())?;
                number.end()
            }
            Node::String(s) => serializer.serialize_str(s),
            Node::Array(items) => serializer.collect_seq(items),
            Node::Object(object) => serializer.collect_map(object.iter()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A document as serde_json's `Value` holds it (the representation
    /// the capability used before), and as a node: the same JSON.
    ///
    /// Where a key of the text is serde_json's marker of a number, which
    /// serde_json takes for a number, not a key, the marker is renamed in
    /// what serde_json reads.
    fn same_as_serde_json(text: &str) {
        const RENAMED: &str = "$serde_json::private::Numbe_";
        let renamed = text.replace(NUMBER_TOKEN, RENAMED).replace(
            r"\u0024serde_json::private::Number",
            r"\u0024serde_json::private::Numbe_",
        );
        let value: Result<Value, _> = serde_json::from_str(&renamed);
        let node = parse(text.as_bytes());
        match (value, node) {
            (Ok(value), Ok((node, exponent))) => {
                assert_eq!(
                    serde_json::to_string(&node)
                        .unwrap()
                        .replace(NUMBER_TOKEN, RENAMED),
                    serde_json::to_string(&value).unwrap(),
                    "{text}"
                );
                fn exponents(value: &Value) -> bool {
                    match value {
                        Value::Number(n) => n.as_str().contains('e'),
                        Value::Array(items) => items.iter().any(exponents),
                        Value::Object(map) => map.values().any(exponents),
                        _ => false,
                    }
                }
                // A repeated key's earlier value is dropped, but was seen.
                assert!(exponent >= exponents(&value), "{text}");
                if renamed == text {
                    same_tree(&node, &value, text);
                }
            }
            (Err(expected), Err(error)) => {
                assert_eq!(error.to_string(), expected.to_string(), "{text}");
            }
            (value, node) => panic!("{text}: serde_json {value:?}, node {node:?}"),
        }
    }

    /// Every lookup of `value` finds the same in `node`.
    fn same_tree(node: &Node, value: &Value, text: &str) {
        assert_eq!(node.kind(), tape_rt::json_kind(value), "{text}");
        match (node, value) {
            (Node::Number(n), Value::Number(v)) => {
                assert_eq!(n.as_str(), v.as_str(), "{text}");
                assert_eq!(node.as_f64(), v.as_f64(), "{text}");
            }
            (Node::String(n), Value::String(v)) => assert_eq!(n, v, "{text}"),
            (Node::Bool(n), Value::Bool(v)) => assert_eq!(n, v, "{text}"),
            (Node::Array(n), Value::Array(v)) => {
                assert_eq!(n.len(), v.len(), "{text}");
                for (n, v) in n.iter().zip(v) {
                    same_tree(n, v, text);
                }
            }
            (Node::Object(n), Value::Object(v)) => {
                assert_eq!(n.len(), v.len(), "{text}");
                assert!(n.keys().eq(v.keys().map(String::as_str)), "{text}");
                for (key, v) in v {
                    same_tree(n.get(key).expect(key), v, text);
                }
                assert_eq!(n.get("no such key"), None);
            }
            (Node::Null, Value::Null) => {}
            _ => unreachable!("kinds compared above"),
        }
    }

    #[test]
    fn documents_read_as_serde_json_reads_them() {
        let members: Vec<String> = (0..40).map(|i| format!(r#""k{}": {i}"#, i % 23)).collect();
        let wide = format!("{{{}}}", members.join(", "));
        for text in [
            "null",
            "true",
            "0",
            "-0",
            "1e3",
            "1E+3",
            "-1.50e-07",
            "123456789012345678901234567890",
            "1.0000000000000000000000000000001",
            r#""""#,
            r#""a\"b\\c\/d\u00e9\ud83d\ude00\n""#,
            r#""a string of more than twenty-four bytes, held on the heap""#,
            "[]",
            "{}",
            "[[[[]]]]",
            r#"{"a": 1, "b": [true, false, null], "c": {"d": "text"}}"#,
            r#"{"a": 1, "a": 2, "b": 3, "a": [4]}"#,
            r#"{"$serde_json::private::Number": "1"}"#,
            r#"{"$serde_json::private::Number": 1, "x": 2}"#,
            r#"{"\u0024serde_json::private::Number": "1"}"#,
            r#"{"a key of more than twenty-four bytes, on the heap": "v"}"#,
            &wide,
            // Not JSON: the same errors.
            "",
            "[1,]",
            "{\"a\" 1}",
            "[1] 2",
            "01",
            "1.",
            "\"\\x\"",
            "[\"\u{1}\"]",
            "{\"a\": tru}",
            &"[".repeat(200),
        ] {
            same_as_serde_json(text);
        }
    }

    /// Random documents, many with repeated keys and objects wide enough
    /// to be indexed, read both ways; and each with one byte changed,
    /// mostly no longer JSON.
    #[test]
    fn random_documents_read_as_serde_json_reads_them() {
        let mut seed = 0x243f_6a88_85a3_08d3_u64;
        let mut next = move |n: u64| {
            // SplitMix64.
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) % n
        };
        fn value(next: &mut impl FnMut(u64) -> u64, depth: u32, out: &mut String) {
            const WORDS: [&str; 8] = [
                "a",
                "b",
                "key",
                "é",
                "a\\\"b",
                "\\u0041",
                "long key of thirty bytes or so",
                "$serde_json::private::Number",
            ];
            const NUMBERS: [&str; 8] = [
                "0",
                "-7",
                "1e3",
                "2E-2",
                "1.50",
                "99999999999999999999",
                "-0.0",
                "3.25e+10",
            ];
            match next(if depth > 4 { 5 } else { 7 }) {
                0 => out.push_str("null"),
                1 => out.push_str(["true", "false"][next(2) as usize]),
                2 | 3 => out.push_str(NUMBERS[next(8) as usize]),
                4 => {
                    out.push('"');
                    out.push_str(WORDS[next(8) as usize]);
                    out.push('"');
                }
                5 => {
                    out.push('[');
                    for i in 0..next(6) {
                        if i > 0 {
                            out.push(',');
                        }
                        value(next, depth + 1, out);
                    }
                    out.push(']');
                }
                _ => {
                    out.push('{');
                    let wide = next(3) == 0;
                    for i in 0..next(if wide { 30 } else { 5 }) {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        let key = match wide {
                            true => format!("k{}", next(20)),
                            false => WORDS[next(8) as usize].to_string(),
                        };
                        out.push_str(&format!("\"{key}\": "));
                        value(next, depth + 1, out);
                    }
                    out.push('}');
                }
            }
        }
        for _ in 0..2_000 {
            let mut text = String::new();
            value(&mut next, 0, &mut text);
            same_as_serde_json(&text);
            let mut bytes = text.into_bytes();
            let at = next(bytes.len() as u64) as usize;
            bytes[at] = b"[]{}\",:0e-. x\\"[next(14) as usize];
            if let Ok(text) = String::from_utf8(bytes) {
                same_as_serde_json(&text);
            }
        }
    }

    #[test]
    fn an_object_finds_its_members_with_and_without_its_index() {
        let mut object = Object::default();
        for i in 0..100 {
            assert_eq!(
                object.insert(format!("key {i}").into(), Node::integer(i)),
                None
            );
            assert_eq!(object.index.is_some(), object.len() > INDEXED);
            for j in 0..=i {
                assert_eq!(object.get(&format!("key {j}")), Some(&Node::integer(j)));
            }
            assert_eq!(object.get(&format!("key {}", i + 1)), None);
        }
        // Replacing keeps the member's place.
        assert_eq!(
            object.insert("key 3".into(), Node::Null),
            Some(Node::integer(3))
        );
        assert_eq!(object.keys().nth(3), Some("key 3"));
        assert_eq!(object.get("key 3"), Some(&Node::Null));
        assert_eq!(object.len(), 100);
        // A copy has an index of its own that works.
        let mut copy = object.clone();
        copy.insert("new".into(), Node::Bool(true));
        assert_eq!(copy.get("new"), Some(&Node::Bool(true)));
        assert_eq!(object.get("new"), None);
    }

    #[test]
    fn numbers_keep_their_text_and_convert_as_serde_json_does() {
        for x in [0.0, -0.0, 1.5, 1e300, -2.5e-8, f64::MAX, f64::MIN_POSITIVE] {
            let node = Node::float(x).unwrap();
            assert_eq!(
                serde_json::to_string(&node).unwrap(),
                serde_json::to_string(&Number::from_f64(x).unwrap()).unwrap()
            );
            assert_eq!(node.as_f64(), Some(x));
        }
        assert_eq!(Node::float(f64::NAN), None);
        assert_eq!(Node::float(f64::INFINITY), None);
        assert_eq!(
            serde_json::to_string(&Node::integer(i64::MIN)).unwrap(),
            i64::MIN.to_string()
        );
        // Past f64's range: a number, but no f64.
        let (big, _) = parse(b"1e400").unwrap();
        assert_eq!(big.as_f64(), None);
        assert_eq!(big.kind(), "a number");
    }

    /// Counts, per thread, the heap held: each allocation as the chunk
    /// glibc makes of it (what [`chunk`] says), to hold
    /// [`Node::heap`] to what the allocator really holds.
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        pub struct Counting;

        thread_local! {
            static HELD: Cell<i64> = const { Cell::new(0) };
        }

        fn held(layout: Layout) -> i64 {
            super::chunk(layout.size() as u64) as i64
        }

        // A test-only allocator that hands every call to the system's.
        #[allow(unsafe_code)]
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                HELD.with(|h| h.set(h.get() + held(layout)));
                // SAFETY: the caller's contract, passed on.
                unsafe { System.alloc(layout) }
            }

            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                HELD.with(|h| h.set(h.get() - held(layout)));
                // SAFETY: the caller's contract, passed on.
                unsafe { System.dealloc(ptr, layout) }
            }

            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                let new = Layout::from_size_align(new_size, layout.align()).unwrap();
                HELD.with(|h| h.set(h.get() - held(layout) + held(new)));
                // SAFETY: the caller's contract, passed on.
                unsafe { System.realloc(ptr, layout, new_size) }
            }
        }

        /// The heap this thread holds now.
        pub fn now() -> i64 {
            HELD.with(Cell::get)
        }
    }

    #[global_allocator]
    static COUNTING: counting::Counting = counting::Counting;

    /// What `build` leaves held on this thread's heap, with its result.
    fn held_by<T>(build: impl FnOnce() -> T) -> (T, u64) {
        let before = counting::now();
        let made = build();
        (made, (counting::now() - before) as u64)
    }

    #[test]
    fn a_nodes_heap_is_what_the_allocator_holds() {
        assert_eq!((NODE_BYTES, MEMBER_BYTES), (32, 56), "as the docs say");
        let members: Vec<String> = (0..40)
            .map(|i| format!(r#""key number {i:02}": [{i}]"#))
            .collect();
        let wide = format!("{{{}}}", members.join(", "));
        let nested = format!("[{}]", vec!["[0]"; 100].join(","));
        for text in [
            "0",
            r#""twenty-four bytes, exact""#,
            r#""twenty-five bytes, exact!""#,
            r#""a string of well over thirty-two bytes, on the heap""#,
            "123456789012345678901234567890",
            "[]",
            "{}",
            "[1]",
            "[1,2,3,4,5]",
            r#"{"id": 12345, "name": "twenty-four bytes, exact"}"#,
            r#"{"a": 1, "a": 2, "b": [true, false, null], "c": {"d": "text"}}"#,
            &wide,
            &nested,
        ] {
            let ((node, _), held) = held_by(|| parse(text.as_bytes()).unwrap());
            assert_eq!(node.heap(), held, "{text}");
            let (copy, held) = held_by(|| node.clone());
            assert_eq!(copy.heap(), held, "a copy of {text}");
        }
        // Built one member or element at a time, across every growth of
        // the vectors and the index: what each insert holds is what its
        // shell grew by and its key, never more than `shell_grown` said.
        let mut object = Node::Object(Object::default());
        let mut array = Node::Array(Vec::new());
        for i in 0..200 {
            let key = format!("member number {i:03} of the object");
            let (before, at_most) = (object.shell(), object.shell_grown());
            let Node::Object(members) = &mut object else {
                unreachable!()
            };
            let (_, held) = held_by(|| members.insert(key.as_str().into(), Node::Null));
            let shell = object.shell();
            assert!(shell <= at_most, "member {i}: {shell} > {at_most}");
            assert_eq!(held, shell - before + heap_bytes(key.len()), "member {i}");
            let (before, at_most) = (array.shell(), array.shell_grown());
            let Node::Array(items) = &mut array else {
                unreachable!()
            };
            let (_, held) = held_by(|| items.push(Node::Null));
            let shell = array.shell();
            assert!(shell <= at_most, "element {i}: {shell} > {at_most}");
            assert_eq!(held, shell - before, "element {i}");
        }
        let (copy, held) = held_by(|| object.clone());
        assert_eq!(copy.heap(), held);
        let before = counting::now();
        let heap = object.heap();
        drop(object);
        assert_eq!(
            (before - counting::now()) as u64,
            heap,
            "what dropping it gives back"
        );
    }
}
