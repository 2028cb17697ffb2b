//! The `json` capability: parse, query and build JSON documents held by
//! the host, by handle.

use std::collections::HashMap;

use wasmtime::{Caller, Linker};

use tape_rt::guest::{self, read_bytes_max, value_len};
use tape_rt::guest::{read_str, write_bytes, write_strings};
use tape_rt::{Capability, Error, Function, Spec, State, status};

mod node;

use node::{KEY_BYTES, MEMBER_BYTES, NODE_BYTES, Node, Object, heap_bytes};

/// JSON for the guest: parse a document into a host-side handle, read it by
/// path, build objects and arrays, and serialise them.
///
/// A handle is an `i32` naming a value held by the host for the rest of
/// the run; 0 is never a handle. **Paths** are JSON Pointers (RFC 6901),
/// relative to the handle's value: `""` is the value itself, `/a/b/2/c`
/// is member `c` of element 2 of member `b` of member `a`, and `~1` and
/// `~0` stand for `/` and `~` inside a member name.
///
/// Reading (`$h` a handle, `$path` a pointer string):
///
/// | import | signature | reply |
/// |---|---|---|
/// | `json.parse` | `(param $text i32) (result i32 i32)` | handle of the parsed document |
/// | `json.get` | `(param $h i32) (param $path i32) (result i32 i32)` | handle of the value at `path` |
/// | `json.item` | `(param $h i32) (param $path i32) (param $index i32) (result i32 i32)` | handle of element `index` of the array at `path` |
/// | `json.member` | `(param $h i32) (param $path i32) (param $name i32) (result i32 i32)` | handle of member `name` (a plain string, not a pointer) of the object at `path` |
/// | `json.keys` | `(param $h i32) (param $path i32) (result i32 i32)` | member names of the object at `path`, in document order, as a wire sequence of strings `[total][len][name]…` |
/// | `json.len` | `(param $h i32) (param $path i32) (result i32 i32)` | elements of the array, or members of the object, at `path` |
/// | `json.type` | `(param $h i32) (param $path i32) (result i32 i32)` | 0 null, 1 bool, 2 number, 3 string, 4 array, 5 object |
/// | `json.has` | `(param $h i32) (param $path i32) (result i32 i32)` | 1 if there is a value at `path`, 0 if not (status OK either way) |
/// | `json.str` | `(param $h i32) (param $path i32) (result i32 i32)` | the string, `[len][utf-8]` |
/// | `json.i64` | `(param $h i32) (param $path i32) (result i64 i32)` | the number, if it is a whole number that fits |
/// | `json.f64` | `(param $h i32) (param $path i32) (result f64 i32)` | the number |
/// | `json.bool` | `(param $h i32) (param $path i32) (result i32 i32)` | 1 or 0 |
///
/// Building (`$key` a member name, not a pointer; `set_*` need an object,
/// `push*` an array; `set` and `push` copy the value of handle `$v`):
///
/// | import | signature |
/// |---|---|
/// | `json.object`, `json.array` | `(result i32 i32)`: handle of a new empty one |
/// | `json.set` | `(param $h i32) (param $key i32) (param $v i32) (result i32)` |
/// | `json.set_str` | `(param $h i32) (param $key i32) (param $s i32) (result i32)` |
/// | `json.set_i64` | `(param $h i32) (param $key i32) (param $n i64) (result i32)` |
/// | `json.set_f64` | `(param $h i32) (param $key i32) (param $x f64) (result i32)` |
/// | `json.set_bool` | `(param $h i32) (param $key i32) (param $b i32) (result i32)` (non-zero is true) |
/// | `json.set_null` | `(param $h i32) (param $key i32) (result i32)` |
/// | `json.push` | `(param $h i32) (param $v i32) (result i32)` |
/// | `json.push_str` | `(param $h i32) (param $s i32) (result i32)` |
/// | `json.push_i64` | `(param $h i32) (param $n i64) (result i32)` |
/// | `json.push_f64` | `(param $h i32) (param $x f64) (result i32)` |
/// | `json.push_bool` | `(param $h i32) (param $b i32) (result i32)` |
/// | `json.push_null` | `(param $h i32) (result i32)` |
/// | `json.stringify` | `(param $h i32) (result i32 i32)`: the value as compact JSON text, `[len][utf-8]` |
/// | `json.free` | `(param $h i32) (result i32)`: the handle is no longer valid |
///
/// Handles from `get`, `item` and `member` are views into their document,
/// not copies: setting a member through one changes the document, and a
/// view whose value was since removed answers `NOT_FOUND`. Freeing a
/// document invalidates its views. Objects keep their members in
/// document (or insertion) order; setting an existing member replaces it
/// in place. Numbers keep the text they were parsed from (`1e3`, `1.50`,
/// every digit of a long integer), so `stringify` writes an unchanged
/// number back as it was read.
///
/// Statuses: [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT) for a handle
/// that is not live, a malformed pointer, text that is not JSON (or not
/// UTF-8; the reason names the line and column of the document), a value
/// of the wrong type (`str` of a number, `set_str` on an
/// array, `i64` of `1.5`) or a non-finite `f64`;
/// [`NOT_FOUND`](status::NOT_FOUND) for a path, index or member that does
/// not exist; [`TOO_LARGE`](status::TOO_LARGE) past a limit, for an `i64`
/// outside its range, and for arrays and objects nested more than 127
/// deep (parsed or built). A bad handle is
/// never a trap; a pointer outside memory is.
///
/// ```wat
/// ;; Argument 0 is {"user": {"name": "Ada"}, …}: return the user's name.
/// (func $run (result i32)
///   (local $doc i32) (local $name i32) (local $status i32)
///   (call $core.arg (i32.const 0))
///   (local.set $status) (local.set $doc)
///   (if (local.get $status) (then (return (local.get $status))))
///   (call $json.parse (local.get $doc))
///   (local.set $status) (local.set $doc)
///   (if (local.get $status) (then (return (local.get $status))))
///   (call $json.str (local.get $doc) "/user/name")
///   (local.set $status) (local.set $name)
///   (if (local.get $status) (then (return (local.get $status))))
///   (call $core.result (local.get $name)))
/// ```
///
/// ```wat
/// ;; Return {"model":"m","n":2,"tags":["a"]} as text. (Each status
/// ;; should be checked; these calls cannot fail within the limits.)
/// (func $run (result i32)
///   (local $body i32) (local $tags i32) (local $text i32) (local $status i32)
///   (call $json.object) (drop) (local.set $body)
///   (drop (call $json.set_str (local.get $body) "model" "m"))
///   (drop (call $json.set_i64 (local.get $body) "n" (i64.const 2)))
///   (call $json.array) (drop) (local.set $tags)
///   (drop (call $json.push_str (local.get $tags) "a"))
///   (drop (call $json.set (local.get $body) "tags" (local.get $tags)))
///   (call $json.stringify (local.get $body))
///   (local.set $status) (local.set $text)
///   (if (local.get $status) (then (return (local.get $status))))
///   (call $core.result (local.get $text)))
/// ```
///
/// # Limits
///
/// Each is a builder method: [`max_handles`](Json::max_handles) live at
/// once (1,024), [`max_document_bytes`](Json::max_document_bytes) for text
/// parsed or serialised and for each document as it is built (1 MiB), and
/// [`max_total_bytes`](Json::max_total_bytes) the run's documents may hold
/// together (16 MiB). A document's size is its JSON text: the text it was
/// parsed from, then estimated as it changes (exactly but for escapes:
/// numbers count their text). Freeing a document gives its bytes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Json {
    max_handles: usize,
    max_document_bytes: u64,
    max_total_bytes: u64,
}

impl Default for Json {
    fn default() -> Self {
        Self::new()
    }
}

/// Deepest nesting of arrays and objects: serde_json's own parse limit
/// (its 128th level is an error), so whatever a run builds it could also
/// parse back.
const MAX_DEPTH: usize = 127;

type Status = i32;

impl Json {
    /// JSON with the default limits.
    pub fn new() -> Json {
        Json {
            max_handles: 1024,
            max_document_bytes: 1 << 20,
            max_total_bytes: 16 << 20,
        }
    }

    /// Handles a run may hold at once (default 1,024).
    pub fn max_handles(mut self, max: usize) -> Self {
        self.max_handles = max;
        self
    }

    /// Largest document, in bytes of JSON text: parsed, serialised, or
    /// built (default 1 MiB).
    pub fn max_document_bytes(mut self, max: u64) -> Self {
        self.max_document_bytes = max;
        self
    }

    /// Bytes of JSON the run's live documents may hold together (default
    /// 16 MiB).
    pub fn max_total_bytes(mut self, max: u64) -> Self {
        self.max_total_bytes = max;
        self
    }
}

/// One step of a path. Pointer tokens are kept as keys and read as indices
/// when they meet an array; `item` makes indices.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

enum Slot {
    /// A document: parsed, or built with `object` or `array`. `size`
    /// estimates its JSON text; `weight` the host memory it takes, which
    /// counts against the run's memory cap.
    Root { value: Node, size: u64, weight: u64 },
    /// A value inside document `root`, and the host memory its path
    /// takes (its keys are copies: a view of a member with a long name
    /// holds that name), which counts against the run's memory cap.
    View {
        root: u32,
        path: Vec<Seg>,
        weight: u64,
    },
}

/// The heap a view's path takes: its vector, and each key's text.
fn path_weight<'s>(path: impl Iterator<Item = &'s Seg> + Clone) -> u64 {
    node::vector_bytes(path.clone().count(), size_of::<Seg>() as u64)
        + path
            .map(|seg| match seg {
                Seg::Key(key) => node::chunk(key.len() as u64),
                Seg::Index(_) => 0,
            })
            .sum::<u64>()
}

/// One run's handles.
#[derive(Default)]
struct JsonRun {
    slots: HashMap<u32, Slot>,
    /// The last handle handed out; handles are never reused, so a freed
    /// one stays invalid.
    last: u32,
    /// The sizes of the live documents, added up.
    held: u64,
}

/// Parses a JSON Pointer.
fn pointer(text: &str) -> Result<Vec<Seg>, Status> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(status::INVALID_ARGUMENT);
    };
    rest.split('/')
        .map(|token| {
            let mut key = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                key.push(match (c, c == '~') {
                    (_, false) => c,
                    (_, true) => match chars.next() {
                        Some('0') => '~',
                        Some('1') => '/',
                        _ => return Err(status::INVALID_ARGUMENT),
                    },
                });
            }
            Ok(Seg::Key(key))
        })
        .collect()
}

/// An array index as RFC 6901 writes it: `0`, or digits without a leading
/// zero.
fn array_index(token: &str) -> Option<usize> {
    let digits = token.bytes().all(|b| b.is_ascii_digit());
    if !digits || token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

fn step<'v>(value: &'v Node, seg: &Seg) -> Option<&'v Node> {
    match (value, seg) {
        (Node::Object(object), Seg::Key(key)) => object.get(key),
        (Node::Array(items), Seg::Key(key)) => items.get(array_index(key)?),
        (Node::Array(items), Seg::Index(index)) => items.get(*index),
        _ => None,
    }
}

fn step_mut<'v>(value: &'v mut Node, seg: &Seg) -> Option<&'v mut Node> {
    match (value, seg) {
        (Node::Object(object), Seg::Key(key)) => object.get_mut(key),
        (Node::Array(items), Seg::Key(key)) => items.get_mut(array_index(key)?),
        (Node::Array(items), Seg::Index(index)) => items.get_mut(*index),
        _ => None,
    }
}

/// Gives each number of `value` with an exponent its text as `source`
/// spells it. serde_json keeps a number's digits as written but spells its
/// exponent `e+3` or `e-3`; the source's `1e3` or `1E+3` are written back
/// as they were read. Numbers are in `value` in the order of the text
/// (objects keep their members in order); where they are not — a
/// duplicate key replaced an earlier value — the rest keep serde_json's
/// spelling, which stands for the same number.
fn respell_exponents(value: &mut Node, source: &[u8]) {
    fn walk<'s>(value: &mut Node, tokens: &mut impl Iterator<Item = &'s str>) -> bool {
        match value {
            Node::Number(n) => match tokens.next() {
                Some(token) if canonical(token) == n.as_str() => {
                    if token != n.as_str() {
                        // `token` is checked to be the same number, spelt
                        // otherwise.
                        *n = token.into();
                    }
                    true
                }
                _ => false,
            },
            Node::Array(items) => items.iter_mut().all(|item| walk(item, tokens)),
            Node::Object(object) => object.values_mut().all(|item| walk(item, tokens)),
            _ => true,
        }
    }
    /// `token` as serde_json spells it: `e`, and a sign, before the
    /// exponent.
    fn canonical(token: &str) -> String {
        match token.find(['e', 'E']) {
            Some(at) => {
                let exponent = &token[at + 1..];
                let sign = if exponent.starts_with(['+', '-']) {
                    ""
                } else {
                    "+"
                };
                format!("{}e{sign}{exponent}", &token[..at])
            }
            None => token.to_string(),
        }
    }
    walk(value, &mut number_tokens(source));
}

/// Why `text` is not JSON, where: the line and column of the document,
/// and the text just before it on that line, so a reader finds it in a
/// long document.
fn not_json(error: &serde_json::Error, text: &[u8]) -> String {
    let full = error.to_string();
    let what = full.split(" at line ").next().unwrap_or(&full);
    let (line, column) = (error.line(), error.column());
    let Some(row) = text.split(|&b| b == b'\n').nth(line.saturating_sub(1)) else {
        return format!("not JSON: {full}");
    };
    let row = String::from_utf8_lossy(row);
    // serde_json counts columns in bytes, from 1; at the end of the
    // text it points at the last byte.
    let at = match error.is_eof() {
        true => row.len(),
        false => column.saturating_sub(1).min(row.len()),
    };
    let at = (0..=at)
        .rev()
        .find(|&i| row.is_char_boundary(i))
        .unwrap_or(0);
    let (before, here) = row.split_at(at);
    let before = before.trim_start();
    let start = before
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| before.len() - i <= 40)
        .unwrap_or(before.len());
    let cut = if start > 0 { "…" } else { "" };
    let before = &before[start..];
    match here.chars().next() {
        Some(c) if !before.is_empty() => format!(
            "not JSON: {what} at line {line}, column {column} of the document: `{c}` after `{cut}{before}`"
        ),
        Some(c) => {
            format!("not JSON: {what} at line {line}, column {column} of the document, at `{c}`")
        }
        None if !before.is_empty() => format!(
            "not JSON: {what} at line {line}, column {column} of the document, after `{cut}{before}`"
        ),
        None => format!("not JSON: {what} at line {line}, column {column} of the document"),
    }
}

/// A token of JSON text, as far as weighing a document and respelling its
/// numbers need: the text is not checked (serde_json does that).
enum Token<'s> {
    Number(&'s str),
    /// A string's length in the text, quotes left out, and whether it is
    /// an object's key.
    Str {
        len: usize,
        key: bool,
    },
    /// The start of an array (`[`) or an object (`{`), and whether it is
    /// empty (and so has no vector).
    Open {
        object: bool,
        empty: bool,
    },
    /// A literal: `true`, `false`, `null`.
    Other,
}

/// The tokens of JSON text, in order.
fn tokens(source: &[u8]) -> impl Iterator<Item = Token<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < source.len() {
            match source[at] {
                b'"' => {
                    let start = at + 1;
                    at = start;
                    while at < source.len() && source[at] != b'"' {
                        at += if source[at] == b'\\' { 2 } else { 1 };
                    }
                    let len = at.min(source.len()) - start;
                    at += 1;
                    let next = source.get(at..).unwrap_or_default();
                    let key = next.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':');
                    return Some(Token::Str { len, key });
                }
                b'-' | b'0'..=b'9' => {
                    let start = at;
                    while at < source.len()
                        && matches!(source[at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                    {
                        at += 1;
                    }
                    // ASCII, so UTF-8.
                    return std::str::from_utf8(&source[start..at])
                        .ok()
                        .map(Token::Number);
                }
                open @ (b'[' | b'{') => {
                    at += 1;
                    let next = source.get(at..).unwrap_or_default();
                    let close = next.iter().find(|b| !b.is_ascii_whitespace());
                    return Some(Token::Open {
                        object: open == b'{',
                        empty: matches!(close, Some(b']' | b'}')),
                    });
                }
                b't' | b'f' | b'n' => {
                    while at < source.len() && source[at].is_ascii_alphabetic() {
                        at += 1;
                    }
                    return Some(Token::Other);
                }
                _ => at += 1,
            }
        }
        None
    })
}

/// The number tokens of JSON text, in order.
fn number_tokens(source: &[u8]) -> impl Iterator<Item = &str> {
    tokens(source).filter_map(|token| match token {
        Token::Number(text) => Some(text),
        _ => None,
    })
}

/// At least the [`weight`](Node::weight) of the document `source`
/// parses to, found without building it. Each value takes a slot of its
/// container's vector, which has room for at most twice its elements and
/// two more (vectors double from 4 as they fill), so each value and key
/// counts two slots and each container two of its own and an
/// allocation's overhead; each key counts a share of an index it may
/// have. A string is at least as long in the text as parsed (a number
/// one byte shorter: serde_json spells `1e3` as `1e+3`), and a repeated
/// key only makes the document lighter.
fn weight_bound(source: &[u8]) -> u64 {
    /// An allocation's header and rounding, at most.
    const CHUNK: u64 = 24;
    /// A member's share of its object's index, if it has one: the index
    /// has room for at most twice the members and two more, in at most
    /// twice 8/7 buckets a place, of 5 bytes each (23 a member); its fixed
    /// part (its box, a group of control bytes, allocations' overheads,
    /// about 100 bytes) is shared by the 9 members or more an indexed
    /// object has.
    const INDEX_SHARE: u64 = 24 + 16;
    tokens(source)
        .map(|token| match token {
            Token::Number(text) => 2 * NODE_BYTES + heap_bytes(text.len() + 1),
            Token::Str { len, key: false } => 2 * NODE_BYTES + heap_bytes(len),
            Token::Str { len, key: true } => 2 * KEY_BYTES + heap_bytes(len) + INDEX_SHARE,
            Token::Open { empty: true, .. } | Token::Other => 2 * NODE_BYTES,
            Token::Open { object: false, .. } => 4 * NODE_BYTES + CHUNK,
            Token::Open { object: true, .. } => 2 * NODE_BYTES + 2 * MEMBER_BYTES + CHUNK,
        })
        .sum()
}

/// At most the [`weight_bound`] of a byte of JSON text, but for
/// [`NESTING_BOUND`]: `[0],[0],…` is 216 / 4, `{"":0},…` 352 / 7,
/// `[0,0,…]` 64 / 2.
const MAX_WEIGHT_PER_BYTE: u64 = 72;

/// What nesting adds to [`weight_bound`] past [`MAX_WEIGHT_PER_BYTE`] a
/// byte: an opening bracket of 1 byte counts up to 200, and at most
/// [`MAX_DEPTH`] of them open before a value closes one.
const NESTING_BOUND: u64 = 200 * MAX_DEPTH as u64;

fn to_i64(value: &Node) -> Result<i64, Status> {
    let Node::Number(text) = value else {
        return Err(status::INVALID_ARGUMENT);
    };
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
    }
    if text.parse::<u64>().is_ok() {
        return Err(status::TOO_LARGE);
    }
    let x = value.as_f64().ok_or(status::INVALID_ARGUMENT)?;
    if x.fract() != 0.0 {
        return Err(status::INVALID_ARGUMENT);
    }
    // ±2^63 are exact as f64s; every whole f64 in [-2^63, 2^63) fits.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&x) {
        return Err(status::TOO_LARGE);
    }
    Ok(x as i64)
}

impl JsonRun {
    fn add(&mut self, json: &Json, slot: Slot) -> Result<i32, Status> {
        if self.slots.len() >= json.max_handles || self.last >= i32::MAX as u32 {
            return Err(status::TOO_LARGE);
        }
        self.last += 1;
        self.slots.insert(self.last, slot);
        Ok(self.last as i32)
    }

    /// The document `handle` belongs to and its path within it.
    fn locate(&self, handle: i32) -> Result<(u32, &[Seg]), Status> {
        let id = u32::try_from(handle).map_err(|_| status::INVALID_ARGUMENT)?;
        match self.slots.get(&id) {
            Some(Slot::Root { .. }) => Ok((id, &[])),
            Some(Slot::View { root, path, .. }) => Ok((*root, path)),
            None => Err(status::INVALID_ARGUMENT),
        }
    }

    fn document(&self, root: u32) -> Result<&Node, Status> {
        match self.slots.get(&root) {
            Some(Slot::Root { value, .. }) => Ok(value),
            // A view's document was freed.
            _ => Err(status::INVALID_ARGUMENT),
        }
    }

    /// The value at `path` from `handle`.
    fn find(&self, handle: i32, path: &[Seg]) -> Result<&Node, Status> {
        let (root, base) = self.locate(handle)?;
        let mut value = self.document(root)?;
        for seg in base.iter().chain(path) {
            value = step(value, seg).ok_or(status::NOT_FOUND)?;
        }
        Ok(value)
    }

    /// Whether there is a value at `path` from `handle`: 1 or 0. The
    /// handle, and the place it stands for, must be there.
    fn has(&self, handle: i32, path: &[Seg]) -> Result<i32, Status> {
        let value = self.find(handle, &[])?;
        Ok(path.iter().try_fold(value, step).is_some() as i32)
    }

    /// A new handle for the value at `path` (then `last`) from `handle`,
    /// if the memory its path takes fits in `room`; the handle and that
    /// memory.
    fn view(
        &mut self,
        json: &Json,
        handle: i32,
        path: &[Seg],
        last: Option<Seg>,
        room: u64,
    ) -> Result<(i32, u64), Status> {
        let (root, base) = self.locate(handle)?;
        let mut value = self.document(root)?;
        for seg in base.iter().chain(path).chain(&last) {
            value = step(value, seg).ok_or(status::NOT_FOUND)?;
        }
        let weight = path_weight(base.iter().chain(path).chain(&last));
        if weight > room {
            return Err(status::TOO_LARGE);
        }
        let path = base.iter().chain(path).cloned().chain(last).collect();
        let handle = self.add(json, Slot::View { root, path, weight })?;
        Ok((handle, weight))
    }

    /// Parses `text` into a new document whose weight must fit in `room`;
    /// the handle and that weight.
    fn parse(&mut self, json: &Json, text: &[u8], room: u64) -> Result<(i32, u64), Status> {
        let size = text.len() as u64;
        if size > json.max_document_bytes
            || self.held + size > json.max_total_bytes
            || self.slots.len() >= json.max_handles
        {
            return Err(status::TOO_LARGE);
        }
        // A document that may not fit is weighed before it is built, so
        // that one that does not fit takes no memory at all.
        if size
            .saturating_mul(MAX_WEIGHT_PER_BYTE)
            .saturating_add(NESTING_BOUND)
            > room
            && weight_bound(text) > room
        {
            return Err(status::TOO_LARGE);
        }
        let (mut value, exponents) = node::parse(text).map_err(|e| {
            // serde_json has no error code to match for its depth limit.
            if e.to_string().starts_with("recursion limit exceeded") {
                status::TOO_LARGE
            } else {
                status::INVALID_ARGUMENT
            }
        })?;
        if exponents {
            respell_exponents(&mut value, text);
        }
        let weight = value.weight();
        if weight > room {
            return Err(status::TOO_LARGE);
        }
        let handle = self.add(
            json,
            Slot::Root {
                value,
                size,
                weight,
            },
        )?;
        self.held += size;
        Ok((handle, weight))
    }

    /// Sets member `key` of the object at `handle` to `value`, or with no
    /// key pushes `value` onto the array at `handle`, if what it adds to
    /// the document's weight fits in `room`. The change in weight.
    fn insert(
        &mut self,
        json: &Json,
        handle: i32,
        key: Option<String>,
        value: Node,
        room: u64,
    ) -> Result<i64, Status> {
        let (root, path) = self.locate(handle)?;
        let path = path.to_vec();
        // What a member takes in the text: `"key":value,`.
        let member = |key: &str, value: &Node| key.len() as u64 + 4 + value.measure().0;
        let container = self.find(handle, &[])?;
        let (replacing, replaced, replaced_heap) = match (container, &key) {
            (Node::Object(object), Some(key)) => object
                .get(key)
                .map_or((false, 0, 0), |old| (true, member(key, old), old.heap())),
            (Node::Array(_), None) => (false, 0, 0),
            _ => return Err(status::INVALID_ARGUMENT),
        };
        // The value's node takes a slot of the container's vector, counted
        // with the vector; a new member's key owns its text.
        let value_heap = value.heap()
            + match (&key, replacing) {
                (Some(key), false) => heap_bytes(key.len()),
                _ => 0,
            };
        let shell = container.shell();
        let shell_at_most = if replacing {
            shell
        } else {
            container.shell_grown()
        };
        if (value_heap + shell_at_most - shell).saturating_sub(replaced_heap) > room {
            return Err(status::TOO_LARGE);
        }
        let (value_size, value_depth) = value.measure();
        let added = value_size + 1 + key.as_ref().map_or(0, |k| k.len() as u64 + 3);
        // The target container sits at depth `path.len() + 1`.
        if path.len() + 1 + value_depth > MAX_DEPTH {
            return Err(status::TOO_LARGE);
        }
        let held = (self.held + added).saturating_sub(replaced);
        let Some(Slot::Root {
            value: document,
            size,
            weight: document_weight,
        }) = self.slots.get_mut(&root)
        else {
            return Err(status::INVALID_ARGUMENT);
        };
        let new_size = (*size + added).saturating_sub(replaced);
        if new_size > json.max_document_bytes || held > json.max_total_bytes {
            return Err(status::TOO_LARGE);
        }
        let mut target = document;
        for seg in &path {
            target = step_mut(target, seg).ok_or(status::NOT_FOUND)?;
        }
        match (&mut *target, key) {
            (Node::Object(object), Some(key)) => drop(object.insert(key.into(), value)),
            (Node::Array(items), None) => items.push(value),
            _ => return Err(status::INVALID_ARGUMENT),
        }
        // What the container's vector and index grew by, exactly; at most
        // what was checked against `room`.
        let added_weight = value_heap + target.shell().saturating_sub(shell);
        *size = new_size;
        *document_weight = (*document_weight + added_weight).saturating_sub(replaced_heap);
        self.held = held;
        Ok(added_weight as i64 - replaced_heap as i64)
    }

    /// Frees `handle`; the weight that frees, for a document.
    fn free(&mut self, handle: i32) -> Result<u64, Status> {
        let id = u32::try_from(handle).map_err(|_| status::INVALID_ARGUMENT)?;
        match self.slots.remove(&id) {
            Some(Slot::Root { size, weight, .. }) => {
                self.held = self.held.saturating_sub(size);
                Ok(weight)
            }
            Some(Slot::View { weight, .. }) => Ok(weight),
            None => Err(status::INVALID_ARGUMENT),
        }
    }
}

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(NAME, DESCRIPTION, FUNCTIONS);

const FUNCTIONS: &[Function] = &[
    Function::new("parse", "(param $text i32) (result i32 i32)")
        .roles("str -> handle status")
        .doc("Parses the JSON text at `$text`: (handle of the document, status).\n\nNumbers keep their text: `stringify` writes `1e3` back as `1e3`. Status `INVALID_ARGUMENT` (1) for text that is not JSON, with a reason naming the line and column of the document; `TOO_LARGE` (4) past a size, depth or handle cap.\n\n```wat\n(func $run (result i32)\n  (local $doc i32) (local $name i32) (local $status i32)\n  (call $json.parse \"{\\\"user\\\": {\\\"name\\\": \\\"Ada\\\"}}\")\n  (local.set $status)\n  (local.set $doc)\n  (check (local.get $status))\n  (call $json.str (local.get $doc) \"/user/name\")\n  (local.set $status)\n  (local.set $name)\n  (check (local.get $status))\n  (resv (local.get $name))\n  (i32.const 0))\n```"),
    Function::new("get", "(param $h i32) (param $path i32) (result i32 i32)")
        .roles("handle str -> handle status")
        .doc("The value at JSON Pointer `$path` (`\"\"` is the value itself, `/a/0/b`) under handle `$h`: (handle of a view, status). `NOT_FOUND` (3) when absent."),
    Function::new("item", "(param $h i32) (param $path i32) (param $index i32) (result i32 i32)")
        .roles("handle str index -> handle status")
        .doc("Element `$index` of the array at `$path`: (handle, status). `NOT_FOUND` (3) past its end."),
    Function::new("member", "(param $h i32) (param $path i32) (param $name i32) (result i32 i32)")
        .roles("handle str str -> handle status")
        .doc("Member `$name` (a plain string, not a pointer) of the object at `$path`: (handle, status). `NOT_FOUND` (3) when absent."),
    Function::new("keys", "(param $h i32) (param $path i32) (result i32 i32)")
        .roles("handle str -> ptr status")
        .doc("The member names of the object at `$path`, in document order, as a sequence of strings `[total][len][name]…`."),
    Function::new("len", "(param $h i32) (param $path i32) (result i32 i32)")
        .roles("handle str -> count status")
        .doc("How many elements the array, or members the object, at `$path` has."),
    Function::new("type", "(param $h i32) (param $path i32) (result i32 i32)")
        .roles("handle str -> num status")
        .doc("The type of the value at `$path`: 0 null, 1 bool, 2 number, 3 string, 4 array, 5 object."),
    Function::new("has", "(param $h i32) (param $path i32) (result i32 i32)")
        .roles("handle str -> bool status")
        .doc("Whether there is a value at `$path` under handle `$h`: (1 or 0, status). Absent is an answer, not a failure: status OK, and no reason recorded. `INVALID_ARGUMENT` (1) for a path that is not a JSON Pointer or a handle that is not live.\n\n```wat\n(func $run (result i32)\n  (bind $doc (call $json.parse r#\"{\"user\": {\"name\": \"Ada\"}}\"#))\n  (bind $named (call $json.has (local.get $doc) \"/user/name\"))\n  (bind $aged (call $json.has (local.get $doc) \"/user/age\"))\n  (resv (call $std.i32.to_str (local.get $named)))   ;; 1\n  (resv (call $std.i32.to_str (local.get $aged)))    ;; 0\n  (i32.const 0))\n```"),
    Function::new("str", "(param $h i32) (param $path i32) (result i32 i32)")
        .roles("handle str -> str status")
        .doc("The string at `$path`, `[len][utf-8]`. `INVALID_ARGUMENT` (1) when it is not a string."),
    Function::new("i64", "(param $h i32) (param $path i32) (result i64 i32)")
        .roles("handle str -> num status")
        .doc("The number at `$path`, when it is whole and fits an i64; `INVALID_ARGUMENT` (1) or `TOO_LARGE` (4) otherwise."),
    Function::new("f64", "(param $h i32) (param $path i32) (result f64 i32)")
        .roles("handle str -> num status")
        .doc("The number at `$path` as an f64."),
    Function::new("bool", "(param $h i32) (param $path i32) (result i32 i32)")
        .roles("handle str -> bool status")
        .doc("The boolean at `$path`: 1 or 0."),
    Function::new("object", "(result i32 i32)")
        .roles("-> handle status")
        .doc("A new empty object: (handle, status).\n\n```wat\n(func $run (result i32)\n  (local $o i32) (local $status i32) (local $text i32)\n  (call $json.object)\n  (local.set $status)\n  (local.set $o)\n  (check (local.get $status))\n  (check (call $json.set_i64 (local.get $o) \"answer\" (i64.const 42)))\n  (call $json.stringify (local.get $o))\n  (local.set $status)\n  (local.set $text)\n  (check (local.get $status))\n  (resv (local.get $text))   ;; {\"answer\":42}\n  (i32.const 0))\n```"),
    Function::new("array", "(result i32 i32)")
        .roles("-> handle status")
        .doc("A new empty array: (handle, status)."),
    Function::new("set", "(param $h i32) (param $key i32) (param $v i32) (result i32)")
        .roles("handle str handle -> status")
        .doc("Sets member `$key` of the object `$h` to a copy of the value of handle `$v`."),
    Function::new("set_str", "(param $h i32) (param $key i32) (param $s i32) (result i32)")
        .roles("handle str str -> status")
        .doc("Sets member `$key` of the object `$h` to the string at `$s`."),
    Function::new("set_i64", "(param $h i32) (param $key i32) (param $n i64) (result i32)")
        .roles("handle str num -> status")
        .doc("Sets member `$key` of the object `$h` to the number `$n`."),
    Function::new("set_f64", "(param $h i32) (param $key i32) (param $x f64) (result i32)")
        .roles("handle str num -> status")
        .doc("Sets member `$key` of the object `$h` to the number `$x`; `INVALID_ARGUMENT` (1) if it is not finite."),
    Function::new("set_bool", "(param $h i32) (param $key i32) (param $b i32) (result i32)")
        .roles("handle str bool -> status")
        .doc("Sets member `$key` of the object `$h` to `true` (non-zero `$b`) or `false`."),
    Function::new("set_null", "(param $h i32) (param $key i32) (result i32)")
        .roles("handle str -> status")
        .doc("Sets member `$key` of the object `$h` to `null`."),
    Function::new("push", "(param $h i32) (param $v i32) (result i32)")
        .roles("handle handle -> status")
        .doc("Appends a copy of the value of handle `$v` to the array `$h`."),
    Function::new("push_str", "(param $h i32) (param $s i32) (result i32)")
        .roles("handle str -> status")
        .doc("Appends the string at `$s` to the array `$h`."),
    Function::new("push_i64", "(param $h i32) (param $n i64) (result i32)")
        .roles("handle num -> status")
        .doc("Appends the number `$n` to the array `$h`."),
    Function::new("push_f64", "(param $h i32) (param $x f64) (result i32)")
        .roles("handle num -> status")
        .doc("Appends the number `$x` to the array `$h`; `INVALID_ARGUMENT` (1) if it is not finite."),
    Function::new("push_bool", "(param $h i32) (param $b i32) (result i32)")
        .roles("handle bool -> status")
        .doc("Appends `true` (non-zero `$b`) or `false` to the array `$h`."),
    Function::new("push_null", "(param $h i32) (result i32)")
        .roles("handle -> status")
        .doc("Appends `null` to the array `$h`."),
    Function::new("stringify", "(param $h i32) (result i32 i32)")
        .roles("handle -> str status")
        .doc("The value of handle `$h` as compact JSON text, `[len][utf-8]`."),
    Function::new("free", "(param $h i32) (result i32)")
        .roles("handle -> status")
        .doc("Frees handle `$h` (and a document's views): it is no longer valid."),
];

const NAME: &str = "json";
const DESCRIPTION: &str =
    "parse JSON into handles, read values by JSON Pointer, build objects and arrays, serialise";

/// Splits a host function's outcome into the guest's `(value, status)`.
fn reply<T: Default>(result: Result<T, Status>) -> (T, i32) {
    match result {
        Ok(value) => (value, status::OK),
        Err(status) => (T::default(), status),
    }
}

fn status_of(result: Result<(), Status>) -> i32 {
    result.err().unwrap_or(status::OK)
}

fn run_state<'a>(caller: &'a mut Caller<'_, State>) -> wasmtime::Result<&'a mut JsonRun> {
    caller
        .data_mut()
        .get::<JsonRun>()
        .ok_or_else(|| Error::capability(NAME, "no state for this run").into())
}

/// Reads the string at `ptr`, counting its bytes; `INVALID_ARGUMENT` if it
/// is not UTF-8.
fn text(caller: &mut Caller<'_, State>, ptr: i32) -> wasmtime::Result<Result<String, Status>> {
    let text = read_str(&*caller, ptr as u32)?;
    let usage = caller.data_mut().usage_mut(NAME);
    match text {
        Some(text) => {
            usage.bytes_in += text.len() as u64;
            Ok(Ok(text))
        }
        None => Ok(Err(status::INVALID_ARGUMENT)),
    }
}

/// Counts the call, reads the pointer at `path`, and applies `read` to
/// the value it names from `handle`.
fn read_value<T: Default>(
    caller: &mut Caller<'_, State>,
    call: &'static str,
    wanted: &str,
    handle: i32,
    path: i32,
    read: impl FnOnce(&Node) -> Result<T, Status>,
) -> wasmtime::Result<(T, i32)> {
    look_up(caller, call, wanted, handle, path, |run, p| {
        run.find(handle, p).and_then(read)
    })
}

/// Counts the call, reads the JSON Pointer at `path` and answers with
/// `answer`; a failure is explained as a reason, naming `call`.
fn look_up<T: Default>(
    caller: &mut Caller<'_, State>,
    call: &'static str,
    wanted: &str,
    handle: i32,
    path: i32,
    answer: impl FnOnce(&JsonRun, &[Seg]) -> Result<T, Status>,
) -> wasmtime::Result<(T, i32)> {
    caller.data_mut().count_call(NAME);
    let text = text(caller, path)?;
    let run = run_state(caller)?;
    let found = text
        .as_ref()
        .map_err(|s| *s)
        .and_then(|p| pointer(p))
        .and_then(|p| answer(run, &p));
    let (value, status) = reply(found);
    if status == status::OK {
        return Ok((value, status));
    }
    let status = match &text {
        Ok(text) => explain(caller, call, handle, Some(text), status, wanted)?,
        Err(_) => guest::fail(&mut *caller, call, status, "the pointer is not UTF-8"),
    };
    Ok((value, status))
}

/// `value` as compact JSON text, `TOO_LARGE` as soon as it passes `max`
/// bytes: a document's size is an estimate (escapes are not counted, and
/// `"\u0001"` is 6 times its character), so the text is never built
/// past the limit rather than checked once whole.
fn stringify(value: &Node, max: u64) -> Result<Vec<u8>, Status> {
    struct Bounded {
        text: Vec<u8>,
        max: usize,
    }
    impl std::io::Write for Bounded {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if self.text.len() + bytes.len() > self.max {
                return Err(std::io::ErrorKind::FileTooLarge.into());
            }
            self.text.extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut out = Bounded {
        text: Vec::with_capacity(value.measure().0.min(max as u64) as usize),
        max,
    };
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => Ok(out.text),
        Err(error) if error.is_io() => Err(status::TOO_LARGE),
        Err(_) => Err(status::INVALID_ARGUMENT),
    }
}

/// Counts the memory a new view takes against the run's cap (its path
/// was checked to fit); the view's handle.
fn charge(c: &mut Caller<'_, State>, viewed: Result<(i32, u64), Status>) -> Result<i32, Status> {
    viewed.map(|(handle, weight)| {
        c.data_mut().reserve_memory(weight);
        handle
    })
}

/// Writes `bytes` as the reply `[len][bytes]`, when `status` is OK.
fn write_reply(
    caller: &mut Caller<'_, State>,
    (bytes, status): (Vec<u8>, i32),
) -> wasmtime::Result<(i32, i32)> {
    if status != status::OK {
        return Ok((0, status));
    }
    let ptr = write_bytes(&mut *caller, &bytes)?;
    caller.data_mut().usage_mut(NAME).bytes_out += bytes.len() as u64;
    Ok((ptr as i32, status::OK))
}

/// Counts the call and inserts what `value` makes into `handle`, as
/// member `key` (a guest string) or, with no key, as a new last element.
fn insert(
    caller: &mut Caller<'_, State>,
    call: &'static str,
    json: &Json,
    handle: i32,
    key: Option<i32>,
    value: impl FnOnce(&mut Caller<'_, State>) -> wasmtime::Result<Result<Node, Status>>,
) -> wasmtime::Result<i32> {
    caller.data_mut().count_call(NAME);
    let key = match key {
        Some(ptr) => match text(caller, ptr)? {
            Ok(key) => Some(key),
            Err(status) => {
                return Ok(guest::fail(
                    &mut *caller,
                    call,
                    status,
                    "the key is not UTF-8",
                ));
            }
        },
        None => None,
    };
    let value = match value(caller)? {
        Ok(value) => value,
        Err(status) => {
            let message = "the value is not one JSON can hold: text that is not UTF-8, a float that is NaN or infinite, or a handle that is not live";
            return Ok(guest::fail(&mut *caller, call, status, message));
        }
    };
    let room = caller.data().memory_room();
    Ok(
        match run_state(caller)?.insert(json, handle, key, value, room) {
            Ok(change) => {
                let state = caller.data_mut();
                if change >= 0 {
                    // Within `room`, checked above.
                    state.reserve_memory(change as u64);
                } else {
                    state.release_memory(change.unsigned_abs());
                }
                status::OK
            }
            Err(status) => explain(
                caller,
                call,
                handle,
                Some(""),
                status,
                "an object or an array",
            )?,
        },
    )
}

fn copy_of(caller: &mut Caller<'_, State>, handle: i32) -> wasmtime::Result<Result<Node, Status>> {
    Ok(run_state(caller)?.find(handle, &[]).cloned())
}

fn float(x: f64) -> Result<Node, Status> {
    Node::float(x).ok_or(status::INVALID_ARGUMENT)
}

/// Why a call on handle `h` at pointer `path` failed with `status`, found
/// by walking the pointer again (only on failure), and records it;
/// `wanted` says what the call reads (`"a string"`), empty for any value.
fn explain(
    c: &mut Caller<'_, State>,
    call: &'static str,
    h: i32,
    path: Option<&str>,
    status: i32,
    wanted: &str,
) -> wasmtime::Result<i32> {
    let message = {
        let run = run_state(c)?;
        why(run, h, path, status, wanted)
    };
    Ok(guest::fail(c, call, status, message))
}

/// As [`explain`], for `json.item` and `json.member`: the value at `path`
/// must be `wanted`, and `last` (`/3`, `/name`) is looked up in it.
fn explain_at(
    c: &mut Caller<'_, State>,
    call: &'static str,
    h: i32,
    path: Option<&str>,
    status: i32,
    wanted: &str,
    last: &str,
) -> wasmtime::Result<i32> {
    let message = {
        let run = run_state(c)?;
        let container = path.map(|p| why(run, h, Some(p), status::INVALID_ARGUMENT, wanted));
        match (status, path, container) {
            (status::INVALID_ARGUMENT, Some(p), Some(text)) if pointer(p).is_ok() => text,
            (status::NOT_FOUND, Some(p), _) => why(run, h, Some(&format!("{p}{last}")), status, ""),
            _ => why(run, h, path, status, wanted),
        }
    };
    Ok(guest::fail(c, call, status, message))
}

fn why(run: &JsonRun, h: i32, path: Option<&str>, status: i32, wanted: &str) -> String {
    if run.find(h, &[]).is_err() {
        return format!(
            "{h} is not a live handle: it was freed, or was never returned by `json.parse`, `json.object` or `json.array`"
        );
    }
    let Some(text) = path else {
        return match status {
            status::TOO_LARGE => {
                "the run's JSON limits are spent (documents, bytes or handles)".into()
            }
            _ => format!("handle {h}: {}", status::name(status).unwrap_or("failed")),
        };
    };
    let Ok(segments) = pointer(text) else {
        return format!(
            "`{text}` is not a JSON Pointer: write \"\" for the whole value, or `/a/0` (`~0` for `~`, `~1` for `/`)"
        );
    };
    for depth in 0..segments.len() {
        let Ok(parent) = run.find(h, &segments[..depth]) else {
            break;
        };
        if run.find(h, &segments[..=depth]).is_err() {
            let at = if depth == 0 {
                "the value".to_string()
            } else {
                format!("`{}`", shown_pointer(&segments[..depth]))
            };
            let seg = match &segments[depth] {
                Seg::Key(key) => key.clone(),
                Seg::Index(i) => i.to_string(),
            };
            return match parent {
                Node::Object(_) => format!("nothing at `{text}`: {at} has no member `{seg}`"),
                Node::Array(items) => format!(
                    "nothing at `{text}`: {at} is an array of {} items, with no index `{seg}`",
                    items.len()
                ),
                other => format!(
                    "nothing at `{text}`: {at} is {}, which has no `{seg}`",
                    other.kind()
                ),
            };
        }
    }
    match run.find(h, &segments) {
        Ok(value) if status == status::INVALID_ARGUMENT && !wanted.is_empty() => {
            format!("the value at `{text}` is {}, not {wanted}", value.kind())
        }
        Ok(_) if status == status::TOO_LARGE => {
            format!(
                "the value at `{text}` does not fit (a number past the 64-bit range, or past the run's JSON limits or its memory)"
            )
        }
        Ok(_) if status == status::NOT_FOUND => format!("nothing at `{text}` in handle {h}"),
        _ => format!(
            "handle {h} at `{text}`: {}",
            status::name(status).unwrap_or("failed")
        ),
    }
}

/// A pointer's text from its segments.
fn shown_pointer(segments: &[Seg]) -> String {
    segments
        .iter()
        .map(|seg| match seg {
            Seg::Key(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Seg::Index(i) => format!("/{i}"),
        })
        .collect()
}

impl Capability for Json {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let json = *self;
        type C<'a> = Caller<'a, State>;

        linker.func_wrap(NAME, "parse", move |mut c: C<'_>, text: i32| {
            c.data_mut().count_call(NAME);
            let max = usize::try_from(json.max_document_bytes).unwrap_or(usize::MAX);
            let Some(bytes) = read_bytes_max(&c, text as u32, max)? else {
                let len = value_len(&c, text as u32)?;
                let message = format!(
                    "the text is {len} bytes, past the {}-byte document limit",
                    json.max_document_bytes
                );
                return Ok((0, guest::fail(&mut c, "json.parse", status::TOO_LARGE, message)));
            };
            c.data_mut().usage_mut(NAME).bytes_in += bytes.len() as u64;
            let room = c.data().memory_room();
            let parsed = run_state(&mut c)?.parse(&json, &bytes, room);
            match parsed {
                Ok((handle, weight)) => {
                    // Within `room`, checked by `parse`.
                    c.data_mut().reserve_memory(weight);
                    wasmtime::Result::Ok((handle, status::OK))
                }
                Err(status) => {
                    // Parsed again for the message: only on failure.
                    let message = match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                        Err(error) if status == status::INVALID_ARGUMENT => {
                            not_json(&error, &bytes)
                        }
                        Err(error) if error.to_string().starts_with("recursion limit") => {
                            format!("{error}")
                        }
                        _ => format!(
                            "the document does not fit: the run's JSON limits ({} bytes a document, {} in all, {} handles) or its memory",
                            json.max_document_bytes, json.max_total_bytes, json.max_handles
                        ),
                    };
                    Ok((0, guest::fail(&mut c, "json.parse", status, message)))
                }
            }
        })?;
        linker.func_wrap(NAME, "get", move |mut c: C<'_>, h: i32, path: i32| {
            c.data_mut().count_call(NAME);
            let text = text(&mut c, path)?;
            let room = c.data().memory_room();
            let run = run_state(&mut c)?;
            let viewed = text
                .as_ref()
                .map_err(|s| *s)
                .and_then(|p| pointer(p))
                .and_then(|p| run.view(&json, h, &p, None, room));
            let (handle, status) = reply(charge(&mut c, viewed));
            if status == status::OK {
                return wasmtime::Result::Ok((handle, status));
            }
            let path = text.as_deref().ok();
            wasmtime::Result::Ok((0, explain(&mut c, "json.get", h, path, status, "")?))
        })?;
        linker.func_wrap(
            NAME,
            "item",
            move |mut c: C<'_>, h: i32, path: i32, index: i32| {
                c.data_mut().count_call(NAME);
                let path_text = text(&mut c, path)?;
                let path = path_text.clone().and_then(|p| pointer(&p));
                let room = c.data().memory_room();
                let run = run_state(&mut c)?;
                let viewed = path.and_then(|p| {
                    let Node::Array(items) = run.find(h, &p)? else {
                        return Err(status::INVALID_ARGUMENT);
                    };
                    let index = usize::try_from(index)
                        .ok()
                        .filter(|&i| i < items.len())
                        .ok_or(status::NOT_FOUND)?;
                    run.view(&json, h, &p, Some(Seg::Index(index)), room)
                });
                match reply(charge(&mut c, viewed)) {
                    (handle, status::OK) => wasmtime::Result::Ok((handle, status::OK)),
                    (_, status) => Ok((
                        0,
                        explain_at(
                            &mut c,
                            "json.item",
                            h,
                            path_text.as_deref().ok(),
                            status,
                            "an array",
                            &format!("/{index}"),
                        )?,
                    )),
                }
            },
        )?;
        linker.func_wrap(
            NAME,
            "member",
            move |mut c: C<'_>, h: i32, path: i32, name: i32| {
                c.data_mut().count_call(NAME);
                let path_text = text(&mut c, path)?;
                let path = path_text.clone().and_then(|p| pointer(&p));
                let name = text(&mut c, name)?;
                let member = name.clone().unwrap_or_default();
                let room = c.data().memory_room();
                let run = run_state(&mut c)?;
                let viewed = path.and_then(|p| {
                    let name = name?;
                    let Node::Object(object) = run.find(h, &p)? else {
                        return Err(status::INVALID_ARGUMENT);
                    };
                    if !object.contains_key(&name) {
                        return Err(status::NOT_FOUND);
                    }
                    run.view(&json, h, &p, Some(Seg::Key(name)), room)
                });
                match reply(charge(&mut c, viewed)) {
                    (handle, status::OK) => wasmtime::Result::Ok((handle, status::OK)),
                    (_, status) => {
                        let last = format!("/{}", member.replace('~', "~0").replace('/', "~1"));
                        Ok((
                            0,
                            explain_at(
                                &mut c,
                                "json.member",
                                h,
                                path_text.as_deref().ok(),
                                status,
                                "an object",
                                &last,
                            )?,
                        ))
                    }
                }
            },
        )?;
        linker.func_wrap(NAME, "keys", move |mut c: C<'_>, h: i32, path: i32| {
            let (keys, status) =
                read_value(
                    &mut c,
                    "json.keys",
                    "an object",
                    h,
                    path,
                    |value| match value {
                        Node::Object(object) => {
                            Ok(object.keys().map(str::to_owned).collect::<Vec<_>>())
                        }
                        _ => Err(status::INVALID_ARGUMENT),
                    },
                )?;
            if status != status::OK {
                return Ok((0, status));
            }
            let ptr = write_strings(&mut c, &keys)?;
            let bytes: usize = keys.iter().map(|k| 4 + k.len()).sum();
            c.data_mut().usage_mut(NAME).bytes_out += bytes as u64;
            wasmtime::Result::Ok((ptr as i32, status::OK))
        })?;
        linker.func_wrap(NAME, "len", move |mut c: C<'_>, h: i32, path: i32| {
            read_value(
                &mut c,
                "json.len",
                "an array or an object",
                h,
                path,
                |value| match value {
                    Node::Array(items) => Ok(items.len() as i32),
                    Node::Object(object) => Ok(object.len() as i32),
                    _ => Err(status::INVALID_ARGUMENT),
                },
            )
        })?;
        linker.func_wrap(NAME, "type", move |mut c: C<'_>, h: i32, path: i32| {
            read_value(&mut c, "json.type", "", h, path, |value| {
                Ok(value.type_code())
            })
        })?;
        linker.func_wrap(NAME, "has", move |mut c: C<'_>, h: i32, path: i32| {
            look_up(&mut c, "json.has", "", h, path, |run, p| run.has(h, p))
        })?;
        linker.func_wrap(NAME, "str", move |mut c: C<'_>, h: i32, path: i32| {
            let read = read_value(
                &mut c,
                "json.str",
                "a string",
                h,
                path,
                |value| match value {
                    Node::String(s) => Ok(s.as_bytes().to_vec()),
                    _ => Err(status::INVALID_ARGUMENT),
                },
            )?;
            write_reply(&mut c, read)
        })?;
        linker.func_wrap(NAME, "i64", move |mut c: C<'_>, h: i32, path: i32| {
            read_value(&mut c, "json.i64", "an integer", h, path, to_i64)
        })?;
        linker.func_wrap(NAME, "f64", move |mut c: C<'_>, h: i32, path: i32| {
            read_value(&mut c, "json.f64", "a number", h, path, |value| {
                value.as_f64().ok_or(status::INVALID_ARGUMENT)
            })
        })?;
        linker.func_wrap(NAME, "bool", move |mut c: C<'_>, h: i32, path: i32| {
            read_value(
                &mut c,
                "json.bool",
                "a boolean",
                h,
                path,
                |value| match value {
                    Node::Bool(b) => Ok(i32::from(*b)),
                    _ => Err(status::INVALID_ARGUMENT),
                },
            )
        })?;

        for (name, empty) in [
            ("object", Node::Object(Object::default())),
            ("array", Node::Array(Vec::new())),
        ] {
            linker.func_wrap(NAME, name, move |mut c: C<'_>| {
                c.data_mut().count_call(NAME);
                let room = c.data().memory_room();
                let run = run_state(&mut c)?;
                let made = if run.held + 2 > json.max_total_bytes || NODE_BYTES > room {
                    Err(status::TOO_LARGE)
                } else {
                    run.add(
                        &json,
                        Slot::Root {
                            value: empty.clone(),
                            size: 2,
                            weight: NODE_BYTES,
                        },
                    )
                    .inspect(|_| run.held += 2)
                };
                if made.is_ok() {
                    c.data_mut().reserve_memory(NODE_BYTES);
                }
                match reply(made) {
                    (handle, status::OK) => wasmtime::Result::Ok((handle, status::OK)),
                    (_, status) => {
                        let message = format!(
                            "the run's JSON limits are spent: {} handles, {} bytes in all",
                            json.max_handles, json.max_total_bytes
                        );
                        let call = if name == "object" {
                            "json.object"
                        } else {
                            "json.array"
                        };
                        Ok((0, guest::fail(&mut c, call, status, message)))
                    }
                }
            })?;
        }

        linker.func_wrap(
            NAME,
            "set",
            move |mut c: C<'_>, h: i32, key: i32, v: i32| {
                insert(&mut c, "json.set", &json, h, Some(key), |c| copy_of(c, v))
            },
        )?;
        linker.func_wrap(
            NAME,
            "set_str",
            move |mut c: C<'_>, h: i32, key: i32, s: i32| {
                insert(&mut c, "json.set_str", &json, h, Some(key), |c| {
                    Ok(text(c, s)?.map(|s| Node::String(s.into())))
                })
            },
        )?;
        linker.func_wrap(
            NAME,
            "set_i64",
            move |mut c: C<'_>, h: i32, key: i32, n: i64| {
                insert(&mut c, "json.set_i64", &json, h, Some(key), |_| {
                    Ok(Ok(Node::integer(n)))
                })
            },
        )?;
        linker.func_wrap(
            NAME,
            "set_f64",
            move |mut c: C<'_>, h: i32, key: i32, x: f64| {
                insert(&mut c, "json.set_f64", &json, h, Some(key), |_| {
                    Ok(float(x))
                })
            },
        )?;
        linker.func_wrap(
            NAME,
            "set_bool",
            move |mut c: C<'_>, h: i32, key: i32, b: i32| {
                insert(&mut c, "json.set_bool", &json, h, Some(key), |_| {
                    Ok(Ok(Node::Bool(b != 0)))
                })
            },
        )?;
        linker.func_wrap(NAME, "set_null", move |mut c: C<'_>, h: i32, key: i32| {
            insert(&mut c, "json.set_null", &json, h, Some(key), |_| {
                Ok(Ok(Node::Null))
            })
        })?;
        linker.func_wrap(NAME, "push", move |mut c: C<'_>, h: i32, v: i32| {
            insert(&mut c, "json.push", &json, h, None, |c| copy_of(c, v))
        })?;
        linker.func_wrap(NAME, "push_str", move |mut c: C<'_>, h: i32, s: i32| {
            insert(&mut c, "json.push_str", &json, h, None, |c| {
                Ok(text(c, s)?.map(|s| Node::String(s.into())))
            })
        })?;
        linker.func_wrap(NAME, "push_i64", move |mut c: C<'_>, h: i32, n: i64| {
            insert(&mut c, "json.push_i64", &json, h, None, |_| {
                Ok(Ok(Node::integer(n)))
            })
        })?;
        linker.func_wrap(NAME, "push_f64", move |mut c: C<'_>, h: i32, x: f64| {
            insert(&mut c, "json.push_f64", &json, h, None, |_| Ok(float(x)))
        })?;
        linker.func_wrap(NAME, "push_bool", move |mut c: C<'_>, h: i32, b: i32| {
            insert(&mut c, "json.push_bool", &json, h, None, |_| {
                Ok(Ok(Node::Bool(b != 0)))
            })
        })?;
        linker.func_wrap(NAME, "push_null", move |mut c: C<'_>, h: i32| {
            insert(&mut c, "json.push_null", &json, h, None, |_| {
                Ok(Ok(Node::Null))
            })
        })?;

        linker.func_wrap(NAME, "stringify", move |mut c: C<'_>, h: i32| {
            c.data_mut().count_call(NAME);
            let run = run_state(&mut c)?;
            let text = run
                .find(h, &[])
                .and_then(|value| stringify(value, json.max_document_bytes));
            let (bytes, status) = reply(text);
            if status != status::OK {
                return Ok((0, explain(&mut c, "json.stringify", h, None, status, "")?));
            }
            write_reply(&mut c, (bytes, status))
        })?;
        linker.func_wrap(NAME, "free", move |mut c: C<'_>, h: i32| {
            c.data_mut().count_call(NAME);
            let freed = run_state(&mut c)?.free(h);
            if let Ok(weight) = freed {
                c.data_mut().release_memory(weight);
            }
            match status_of(freed.map(drop)) {
                status::OK => wasmtime::Result::Ok(status::OK),
                status => explain(&mut c, "json.free", h, None, status, ""),
            }
        })?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        state.insert(JsonRun::default());
    }
}

/// `[json]`: see [`Json`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct JsonGrant {
    /// Documents a run may hold at once.
    pub max_handles: Option<u64>,
    /// Largest document parsed or written.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_document_bytes: Option<u64>,
    /// Bytes a run may parse and write in all.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_total_bytes: Option<u64>,
}

impl JsonGrant {
    /// The capability.
    pub fn json(&self) -> Json {
        let mut json = Json::new();
        if let Some(max) = self.max_handles {
            json = json.max_handles(crate::table::saturate(max));
        }
        if let Some(max) = self.max_document_bytes {
            json = json.max_document_bytes(max);
        }
        if let Some(max) = self.max_total_bytes {
            json = json.max_total_bytes(max);
        }
        json
    }
}

impl crate::table::Table for JsonGrant {
    fn grant(&self, _: &crate::table::Shared) -> tape_rt::Result<std::sync::Arc<dyn Capability>> {
        Ok(std::sync::Arc::new(self.json()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound a document is weighed by before it is built is never
    /// below its weight once built, nor far above it, and within
    /// `MAX_WEIGHT_PER_BYTE` a byte and `NESTING_BOUND`.
    #[test]
    fn the_weight_bound_holds_before_building() {
        let long = format!("[{}0]", "0, ".repeat(1000));
        let members: Vec<String> = (0..100).map(|i| format!(r#""k{i}": {{}}"#)).collect();
        let wide = format!("{{{}}}", members.join(","));
        let objects = format!("[{}]", vec!["{}"; 1000].join(","));
        let nested = format!("{}{}", "[".repeat(127), "]".repeat(127));
        for text in [
            "0",
            "-1.5e+3",
            "1e3",
            "123456789012345678901234e5",
            r#""h\u00e9\n""#,
            "[]",
            "[0,0,0]",
            "[0,0,0,0,0]",
            r#"{"a": 1, "b": [true, false, null], "c": {"d": "text"}}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"key:": ":", "k\"": "\"}"}"#,
            &long,
            &wide,
            &objects,
            &nested,
        ] {
            let (value, _) = node::parse(text.as_bytes()).unwrap();
            let (exact, bound) = (value.weight(), weight_bound(text.as_bytes()));
            assert!(bound >= exact, "{text}: {bound} < {exact}");
            assert!(bound <= 3 * exact + 256, "{text}: {bound} ≫ {exact}");
            assert!(
                bound <= MAX_WEIGHT_PER_BYTE * text.len() as u64 + NESTING_BOUND,
                "{text}"
            );
        }
    }

    /// A document's weight, as `insert` keeps it from change to change,
    /// is what weighing it anew gives: across the growth of vectors and
    /// the index, members replaced, copies inserted.
    #[test]
    fn inserts_keep_a_documents_weight_exact() {
        let json = Json::new();
        let mut run = JsonRun::default();
        let room = u64::MAX / 4;
        let (doc, _) = run
            .parse(&json, br#"{"list": [1], "wide": {}}"#, room)
            .unwrap();
        let (list, _) = run
            .view(&json, doc, &pointer("/list").unwrap(), None, room)
            .unwrap();
        let (wide, _) = run
            .view(&json, doc, &pointer("/wide").unwrap(), None, room)
            .unwrap();
        let mut charged = match run.slots.get(&(doc as u32)) {
            Some(Slot::Root { weight, .. }) => *weight as i64,
            _ => unreachable!(),
        };
        for i in 0..60 {
            let text = format!("a string of more than twenty-four bytes, number {i}");
            let changes = [
                run.insert(&json, list, None, Node::String(text.as_str().into()), room),
                run.insert(
                    &json,
                    wide,
                    Some(format!("key {}", i % 25)),
                    Node::integer(i),
                    room,
                ),
                run.insert(
                    &json,
                    doc,
                    Some(format!("k{i}")),
                    Node::Array(vec![Node::Null; i as usize % 5]),
                    room,
                ),
            ];
            for change in changes {
                charged += change.unwrap();
            }
            let Some(Slot::Root { value, weight, .. }) = run.slots.get(&(doc as u32)) else {
                unreachable!()
            };
            assert_eq!(*weight, value.weight(), "after {i}");
            assert_eq!(charged, *weight as i64, "after {i}");
        }
    }

    /// A view holds its path, names and all: that memory is what it
    /// charges, what freeing it gives back, and what must fit the room.
    #[test]
    fn views_charge_the_memory_their_paths_take() {
        let json = Json::new();
        let mut run = JsonRun::default();
        let name = "n".repeat(1000);
        let text = format!(r#"{{"{name}": {{"a": [1, 2]}}}}"#);
        let (doc, _) = run.parse(&json, text.as_bytes(), u64::MAX).unwrap();
        let path = pointer(&format!("/{name}/a")).unwrap();
        let expected = path_weight(path.iter().chain(&[Seg::Index(1)]));
        assert!(expected > 1000, "the name counts: {expected}");
        let (view, weight) = run
            .view(&json, doc, &path, Some(Seg::Index(1)), u64::MAX)
            .unwrap();
        assert_eq!(weight, expected);
        assert_eq!(run.free(view), Ok(weight));
        assert_eq!(
            run.view(&json, doc, &path, None, 1000),
            Err(status::TOO_LARGE),
            "no room for the name"
        );
        // A view of a view holds both paths, one after the other.
        let (outer, _) = run
            .view(
                &json,
                doc,
                &pointer(&format!("/{name}")).unwrap(),
                None,
                u64::MAX,
            )
            .unwrap();
        let (inner, weight) = run
            .view(&json, outer, &pointer("/a").unwrap(), None, u64::MAX)
            .unwrap();
        assert_eq!(
            weight,
            path_weight(pointer(&format!("/{name}/a")).unwrap().iter())
        );
        assert_eq!(run.free(inner), Ok(weight));
    }

    /// Text past the document limit is refused as it is written, not
    /// once whole: escapes make it longer than the size estimate says.
    #[test]
    fn stringify_stops_at_the_limit() {
        let value = Node::Array(vec![Node::String("\u{1}".repeat(100).into()); 10]);
        let text = stringify(&value, 10_000).unwrap();
        assert_eq!(text.len(), 2 + 10 * (2 + 600) + 9);
        assert_eq!(
            serde_json::from_slice::<Vec<String>>(&text).unwrap(),
            vec!["\u{1}".repeat(100); 10]
        );
        assert_eq!(
            stringify(&value, text.len() as u64).map(|t| t.len()),
            Ok(text.len())
        );
        assert_eq!(
            stringify(&value, text.len() as u64 - 1),
            Err(status::TOO_LARGE)
        );
        assert_eq!(stringify(&value, 100), Err(status::TOO_LARGE));
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        let key = |k: &str| Seg::Key(k.into());
        assert_eq!(pointer(""), Ok(vec![]));
        assert_eq!(pointer("/"), Ok(vec![key("")]));
        assert_eq!(
            pointer("/a~1b/~0c/0"),
            Ok(vec![key("a/b"), key("~c"), key("0")])
        );
        assert_eq!(pointer("a"), Err(status::INVALID_ARGUMENT));
        assert_eq!(pointer("/a~2"), Err(status::INVALID_ARGUMENT));
        assert_eq!(pointer("/a~"), Err(status::INVALID_ARGUMENT));
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("12"), Some(12));
        for bad in ["", "01", "-", "-1", "+1", "1.0", "99999999999999999999999"] {
            assert_eq!(array_index(bad), None, "{bad}");
        }
    }

    #[test]
    fn whole_numbers_convert_to_i64_and_others_do_not() {
        let n = |text: &str| to_i64(&node::parse(text.as_bytes()).unwrap().0);
        assert_eq!(n("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(n("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(n("9223372036854775808"), Err(status::TOO_LARGE));
        assert_eq!(n("3.0"), Ok(3));
        assert_eq!(n("1e3"), Ok(1000));
        assert_eq!(n("1e19"), Err(status::TOO_LARGE));
        assert_eq!(n("-1e19"), Err(status::TOO_LARGE));
        assert_eq!(n("1.5"), Err(status::INVALID_ARGUMENT));
        assert_eq!(n("\"1\""), Err(status::INVALID_ARGUMENT));
    }

    #[test]
    fn measure_estimates_text_and_depth() {
        let (v, _) = node::parse(br#"{"a":[1,{"b":null}],"c":"xy"}"#).unwrap();
        let (size, depth) = v.measure();
        assert_eq!(depth, 3);
        assert!(size >= serde_json::to_vec(&v).unwrap().len() as u64);
    }
}
