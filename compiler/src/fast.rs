//! A fast path from plain WebAssembly text to its binary.
//!
//! `wast` parses the whole text format (components, GC, SIMD, exceptions,
//! every abbreviation) into a syntax tree, resolves its names and encodes
//! it; that was two thirds of a compile. Programs use a small part of the
//! format: types, imports, functions, tables, memories, globals, exports,
//! a start function, element and data segments, with the integer, float,
//! memory, table, reference and control instructions of WebAssembly 2.0
//! (no SIMD) in folded or flat form. For those, this module goes from
//! tokens to bytes with no tree: the fields are read once to learn every
//! name and type, then each body is encoded straight from its tokens. It
//! writes **exactly the bytes `wast` writes** (the same sections in the same
//! order, the same implicit types in the same order, the same `name`
//! section) and records the same instruction spans for the line table.
//!
//! Anything else (annotations, SIMD, GC types, memory64, a float that needs
//! rounding, ...), and anything malformed, is declined with `None`, and the
//! caller hands the text to `wast`: so every syntax error is `wast`'s own,
//! and no construct this module does not know can come out differently.
//! It holds no recursion (deep nesting costs a stack of levels on the
//! heap) and does one hash lookup per instruction and name.
//!
//! The tests hold it to `wast`, byte for byte and span for span: on every
//! module of the WebAssembly testsuite (it takes about a third of them, all
//! the ones within its scope, and declines every `assert_malformed` text),
//! on 24,000 token-level mutants of those (malformed ones must be declined,
//! well-formed ones encoded as `wast` encodes them), and on Tape's own
//! programs, which it takes whole.

use std::borrow::Cow;
use std::collections::HashMap as StdHashMap;
use std::sync::OnceLock;

use logos::Logos;
use wasm_encoder::{Encode, IndirectNameMap, NameMap, NameSection};

use crate::Parsed;
use crate::lexer::Token as Lexeme;

/// Maps keyed by names from the program: foldhash, several times faster
/// than SipHash on short keys, with a seed chosen per map so that names
/// cannot be picked to collide.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

/// Encodes `text` if it stays within what this module knows, with each
/// defined function's instruction starts when `lines` is set.
pub(crate) fn parse(text: &str, lines: bool) -> Option<Parsed> {
    let tokens = lex(text)?;
    // `wast` wants at least one field.
    if tokens.is_empty() {
        return None;
    }
    let mut module = Module {
        text,
        tokens: &tokens,
        ..Module::default()
    };
    module.fields()?;
    module.encode(lines)
}

// ---------------------------------------------------------------------------
// Tokens

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Left,
    Right,
    /// A keyword, number or other reserved word.
    Word,
    /// `$name`; the range leaves out the `$`.
    Id,
    /// A string; the range is what lies between the quotes, escapes undone
    /// later.
    Str,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Kind,
    start: u32,
    end: u32,
    /// For `(`, the index of the token that closes it.
    pair: u32,
}

/// The text's tokens, from the compiler's lexer (the one the preprocessor
/// reads the source with), with comments dropped and each `(` paired with
/// its `)`. `None` for anything the fast path leaves to `wast`: a lexing
/// error, an unbalanced text, annotations, quoted or empty `$` names, Tape's
/// triple-quoted and raw strings, reserved characters, and a string
/// touching a word or another string.
fn lex(text: &str) -> Option<Vec<Token>> {
    u32::try_from(text.len()).ok()?;
    let mut out: Vec<Token> = Vec::with_capacity(text.len() / 5);
    // The `(`s not yet closed.
    let mut open = Vec::new();
    // The last token's kind and where its text ended (after a string's
    // closing quote).
    let mut last: Option<(Kind, usize)> = None;
    let mut lexemes = Lexeme::lexer(text);
    while let Some(lexeme) = lexemes.next() {
        let span = lexemes.span();
        let (start, end) = (span.start, span.end);
        let token = |kind, from: usize, to: usize| Token {
            kind,
            start: from as u32,
            end: to as u32,
            pair: 0,
        };
        let next = match lexeme.ok()? {
            Lexeme::BlockComment | Lexeme::LineComment => continue,
            Lexeme::LParen => {
                open.push(out.len());
                token(Kind::Left, start, end)
            }
            Lexeme::RParen => {
                let left = open.pop()?;
                out[left].pair = out.len() as u32;
                token(Kind::Right, start, end)
            }
            Lexeme::String => token(Kind::Str, start + 1, end - 1),
            Lexeme::Atom => match text.as_bytes()[start] {
                // `(@name …)`: an annotation.
                b'@' => return None,
                b'$' if end == start + 1 => return None,
                b'$' => token(Kind::Id, start + 1, end),
                _ => token(Kind::Word, start, end),
            },
            Lexeme::TripleString | Lexeme::RawString | Lexeme::QuotedId | Lexeme::Reserved => {
                return None;
            }
        };
        // A string against a word or another string, with no space between.
        let atom = |kind| matches!(kind, Kind::Word | Kind::Id | Kind::Str);
        if let Some((kind, last_end)) = last
            && last_end == start
            && atom(kind)
            && atom(next.kind)
            && (kind == Kind::Str || next.kind == Kind::Str)
        {
            return None;
        }
        last = Some((next.kind, end));
        out.push(next);
    }
    open.is_empty().then_some(out)
}

// ---------------------------------------------------------------------------
// Numbers

/// The digits of an integer literal, underscores checked and removed, with
/// its sign and radix; `None` if it is not one.
fn integer(word: &str) -> Option<(bool, u128)> {
    let (negative, rest) = match word.as_bytes().first()? {
        b'-' => (true, &word[1..]),
        b'+' => (false, &word[1..]),
        _ => (false, word),
    };
    let (radix, digits) = match rest.strip_prefix("0x") {
        Some(hex) => (16, hex),
        None => (10, rest),
    };
    let b = digits.as_bytes();
    if b.is_empty() || b[0] == b'_' || b[b.len() - 1] == b'_' || digits.contains("__") {
        return None;
    }
    let mut value: u128 = 0;
    for &c in b {
        if c == b'_' {
            continue;
        }
        let d = (c as char).to_digit(radix)?;
        value = value.checked_mul(radix.into())?.checked_add(d.into())?;
    }
    Some((negative, value))
}

fn unsigned(word: &str) -> Option<u64> {
    if word.starts_with(['+', '-']) {
        return None;
    }
    let (_, value) = integer(word)?;
    u64::try_from(value).ok()
}

fn u32_word(word: &str) -> Option<u32> {
    u32::try_from(unsigned(word)?).ok()
}

fn i32_word(word: &str) -> Option<i32> {
    let (negative, value) = integer(word)?;
    if negative {
        (value <= 1 << 31).then(|| (value as i64).wrapping_neg() as i32)
    } else {
        (value <= u32::MAX.into()).then_some(value as u32 as i32)
    }
}

fn i64_word(word: &str) -> Option<i64> {
    let (negative, value) = integer(word)?;
    if negative {
        (value <= 1 << 63).then(|| (value as i128).wrapping_neg() as i64)
    } else {
        (value <= u64::MAX.into()).then_some(value as u64 as i64)
    }
}

/// A float literal in decimal, `inf` or plain `nan`, as `f64` text ready
/// for Rust's correctly rounded parser, or the special value's name.
enum Float<'a> {
    Decimal(Cow<'a, str>),
    Inf(bool),
    Nan(bool),
}

fn float(word: &str) -> Option<Float<'_>> {
    let (negative, rest) = match word.as_bytes().first()? {
        b'-' => (true, &word[1..]),
        b'+' => (false, &word[1..]),
        _ => (false, word),
    };
    match rest {
        "inf" => return Some(Float::Inf(negative)),
        "nan" => return Some(Float::Nan(negative)),
        _ => {}
    }
    // Decimal only: digits, then `.digits?`, then `e±digits`, each digit
    // run free of leading, trailing and doubled underscores.
    let b = rest.as_bytes();
    let mut i = 0;
    let run = |i: &mut usize| -> bool {
        let start = *i;
        while *i < b.len() && (b[*i].is_ascii_digit() || b[*i] == b'_') {
            *i += 1;
        }
        let digits = &rest[start..*i];
        !digits.is_empty()
            && !digits.starts_with('_')
            && !digits.ends_with('_')
            && !digits.contains("__")
    };
    if !run(&mut i) {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if i < b.len() && b[i].is_ascii_digit() && !run(&mut i) {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !run(&mut i) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    Some(Float::Decimal(if word.contains('_') {
        Cow::Owned(word.replace('_', ""))
    } else {
        Cow::Borrowed(word)
    }))
}

/// A hexadecimal float (`0x1.8p3`) or NaN with a payload (`nan:0x200`),
/// as the bits of a float with `fraction` fraction bits and `bias`: only if
/// it is exactly representable as a normal number or zero, so no rounding
/// rule can differ from `wast`'s.
fn hex_float(word: &str, fraction: u32, bias: i32) -> Option<u64> {
    let (negative, rest) = match word.as_bytes().first()? {
        b'-' => (true, &word[1..]),
        b'+' => (false, &word[1..]),
        _ => (false, word),
    };
    let sign = u64::from(negative) << (fraction + if fraction == 23 { 8 } else { 11 });
    let exponent_all_ones = ((bias as u64) * 2 + 1) << fraction;
    if let Some(payload) = rest.strip_prefix("nan:0x") {
        let (_, payload) = integer(&format!("0x{payload}"))?;
        let payload = u64::try_from(payload).ok()?;
        if payload == 0 || payload >= 1 << fraction {
            return None;
        }
        return Some(sign | exponent_all_ones | payload);
    }
    let hex = rest.strip_prefix("0x")?;
    let (digits, exponent) = match hex.find(['p', 'P']) {
        Some(at) => {
            let text = &hex[at + 1..];
            let (negative, value) = integer(text)?;
            if text.trim_start_matches(['+', '-']).starts_with("0x") {
                return None;
            }
            let value = i32::try_from(value).ok()?;
            (&hex[..at], if negative { -value } else { value })
        }
        None => (hex, 0),
    };
    let (whole, part) = digits.split_once('.').unwrap_or((digits, ""));
    let valid = |run: &str| {
        !run.starts_with('_')
            && !run.ends_with('_')
            && !run.contains("__")
            && run.bytes().all(|c| c.is_ascii_hexdigit() || c == b'_')
    };
    if whole.is_empty() || !valid(whole) || !valid(part) {
        return None;
    }
    let mut mantissa: u128 = 0;
    let mut part_digits = 0;
    for (c, in_part) in whole
        .bytes()
        .map(|c| (c, false))
        .chain(part.bytes().map(|c| (c, true)))
    {
        if c == b'_' {
            continue;
        }
        let digit = (c as char).to_digit(16)?;
        mantissa = mantissa.checked_mul(16)?.checked_add(digit.into())?;
        part_digits += i32::from(in_part);
    }
    if mantissa == 0 {
        return Some(sign);
    }
    let zeros = mantissa.trailing_zeros();
    mantissa >>= zeros;
    let high = 127 - mantissa.leading_zeros();
    if high > fraction {
        return None;
    }
    let unbiased = exponent
        .checked_sub(part_digits.checked_mul(4)?)?
        .checked_add((zeros + high) as i32)?;
    if unbiased < 1 - bias || unbiased > bias {
        return None;
    }
    let bits = ((mantissa as u64) << (fraction - high)) & ((1 << fraction) - 1);
    Some(sign | ((unbiased + bias) as u64) << fraction | bits)
}

fn is_hex_float(word: &str) -> bool {
    let rest = word.trim_start_matches(['+', '-']);
    rest.starts_with("0x") || rest.starts_with("nan:")
}

/// `f32_bits` and `f64_bits`: a float literal's bits, or `None` for what is
/// left to `wast`.
macro_rules! float_bits {
    ($name:ident, $float:ty, $bits:ty, $fraction:literal, $bias:literal, $nan:literal) => {
        fn $name(word: &str) -> Option<$bits> {
            let sign = <$bits>::BITS - 1;
            if is_hex_float(word) {
                return <$bits>::try_from(hex_float(word, $fraction, $bias)?).ok();
            }
            Some(match float(word)? {
                Float::Inf(negative) => {
                    <$float>::INFINITY.to_bits() | <$bits>::from(negative) << sign
                }
                Float::Nan(negative) => $nan | <$bits>::from(negative) << sign,
                Float::Decimal(text) => {
                    let value: $float = text.parse().ok()?;
                    if value.is_infinite() {
                        return None;
                    }
                    value.to_bits()
                }
            })
        }
    };
}

float_bits!(f32_bits, f32, u32, 23, 127, 0x7fc0_0000);
float_bits!(f64_bits, f64, u64, 52, 1023, 0x7ff8_0000_0000_0000);

// Numbers and names are written by `wasm-encoder`'s encodings, which
// `wast` writes them with.

fn uleb(out: &mut Vec<u8>, value: u64) {
    value.encode(out);
}

fn sleb(out: &mut Vec<u8>, value: i64) {
    value.encode(out);
}

fn name_bytes(out: &mut Vec<u8>, name: &[u8]) {
    name.encode(out);
}

fn section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    uleb(out, contents.len() as u64);
    out.extend_from_slice(contents);
}

fn valtype(word: &str) -> Option<u8> {
    Some(match word {
        "i32" => 0x7f,
        "i64" => 0x7e,
        "f32" => 0x7d,
        "f64" => 0x7c,
        "funcref" => 0x70,
        "externref" => 0x6f,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Instructions

/// How an instruction's immediates are read and written.
#[derive(Clone, Copy)]
enum Op {
    /// Its opcode bytes and nothing else.
    Plain(&'static [u8]),
    /// A load or store: opcode, natural alignment (log2), then a memarg.
    Memory(u8, u8),
    I32Const,
    I64Const,
    F32Const,
    F64Const,
    /// An opcode and a local index.
    Local(u8),
    /// An opcode and a global index.
    Global(u8),
    /// `call` or `return_call`, and a function index.
    Call(u8),
    /// `call_indirect` or `return_call_indirect`: a table and a type use.
    CallIndirect(u8),
    /// `select`, with or without its result type.
    Select,
    /// `memory.init` or `data.drop`: opcode bytes, a data index, then the
    /// bytes that follow it.
    Data(&'static [u8], &'static [u8]),
    /// A table instruction: opcode bytes and one table index (0 if left
    /// out).
    Table(&'static [u8]),
    TableCopy,
    TableInit,
    ElemDrop,
    RefNull,
    RefFunc,
    /// `br` or `br_if`, and a label.
    Branch(u8),
    BranchTable,
    /// `block` or `loop`.
    Block(u8),
    If,
    Else,
    End,
}

fn ops() -> &'static HashMap<&'static str, Op> {
    static OPS: OnceLock<HashMap<&'static str, Op>> = OnceLock::new();
    OPS.get_or_init(|| {
        let mut map = HashMap::default();
        let plain: &[(&str, &[u8])] = &[
            ("unreachable", &[0x00]),
            ("nop", &[0x01]),
            ("return", &[0x0f]),
            ("drop", &[0x1a]),
            ("memory.size", &[0x3f, 0x00]),
            ("memory.grow", &[0x40, 0x00]),
            ("memory.copy", &[0xfc, 0x0a, 0x00, 0x00]),
            ("memory.fill", &[0xfc, 0x0b, 0x00]),
            ("i32.trunc_sat_f32_s", &[0xfc, 0x00]),
            ("i32.trunc_sat_f32_u", &[0xfc, 0x01]),
            ("i32.trunc_sat_f64_s", &[0xfc, 0x02]),
            ("i32.trunc_sat_f64_u", &[0xfc, 0x03]),
            ("i64.trunc_sat_f32_s", &[0xfc, 0x04]),
            ("i64.trunc_sat_f32_u", &[0xfc, 0x05]),
            ("i64.trunc_sat_f64_s", &[0xfc, 0x06]),
            ("i64.trunc_sat_f64_u", &[0xfc, 0x07]),
        ];
        for &(name, bytes) in plain {
            map.insert(name, Op::Plain(bytes));
        }
        // The numeric instructions without immediates, 0x45 to 0xc4, in
        // opcode order.
        const NUMERIC: [&str; 128] = [
            "i32.eqz",
            "i32.eq",
            "i32.ne",
            "i32.lt_s",
            "i32.lt_u",
            "i32.gt_s",
            "i32.gt_u",
            "i32.le_s",
            "i32.le_u",
            "i32.ge_s",
            "i32.ge_u",
            "i64.eqz",
            "i64.eq",
            "i64.ne",
            "i64.lt_s",
            "i64.lt_u",
            "i64.gt_s",
            "i64.gt_u",
            "i64.le_s",
            "i64.le_u",
            "i64.ge_s",
            "i64.ge_u",
            "f32.eq",
            "f32.ne",
            "f32.lt",
            "f32.gt",
            "f32.le",
            "f32.ge",
            "f64.eq",
            "f64.ne",
            "f64.lt",
            "f64.gt",
            "f64.le",
            "f64.ge",
            "i32.clz",
            "i32.ctz",
            "i32.popcnt",
            "i32.add",
            "i32.sub",
            "i32.mul",
            "i32.div_s",
            "i32.div_u",
            "i32.rem_s",
            "i32.rem_u",
            "i32.and",
            "i32.or",
            "i32.xor",
            "i32.shl",
            "i32.shr_s",
            "i32.shr_u",
            "i32.rotl",
            "i32.rotr",
            "i64.clz",
            "i64.ctz",
            "i64.popcnt",
            "i64.add",
            "i64.sub",
            "i64.mul",
            "i64.div_s",
            "i64.div_u",
            "i64.rem_s",
            "i64.rem_u",
            "i64.and",
            "i64.or",
            "i64.xor",
            "i64.shl",
            "i64.shr_s",
            "i64.shr_u",
            "i64.rotl",
            "i64.rotr",
            "f32.abs",
            "f32.neg",
            "f32.ceil",
            "f32.floor",
            "f32.trunc",
            "f32.nearest",
            "f32.sqrt",
            "f32.add",
            "f32.sub",
            "f32.mul",
            "f32.div",
            "f32.min",
            "f32.max",
            "f32.copysign",
            "f64.abs",
            "f64.neg",
            "f64.ceil",
            "f64.floor",
            "f64.trunc",
            "f64.nearest",
            "f64.sqrt",
            "f64.add",
            "f64.sub",
            "f64.mul",
            "f64.div",
            "f64.min",
            "f64.max",
            "f64.copysign",
            "i32.wrap_i64",
            "i32.trunc_f32_s",
            "i32.trunc_f32_u",
            "i32.trunc_f64_s",
            "i32.trunc_f64_u",
            "i64.extend_i32_s",
            "i64.extend_i32_u",
            "i64.trunc_f32_s",
            "i64.trunc_f32_u",
            "i64.trunc_f64_s",
            "i64.trunc_f64_u",
            "f32.convert_i32_s",
            "f32.convert_i32_u",
            "f32.convert_i64_s",
            "f32.convert_i64_u",
            "f32.demote_f64",
            "f64.convert_i32_s",
            "f64.convert_i32_u",
            "f64.convert_i64_s",
            "f64.convert_i64_u",
            "f64.promote_f32",
            "i32.reinterpret_f32",
            "i64.reinterpret_f64",
            "f32.reinterpret_i32",
            "f64.reinterpret_i64",
            "i32.extend8_s",
            "i32.extend16_s",
            "i64.extend8_s",
            "i64.extend16_s",
            "i64.extend32_s",
        ];
        static OPCODES: [u8; 128] = {
            let mut bytes = [0; 128];
            let mut i = 0;
            while i < 128 {
                bytes[i] = 0x45 + i as u8;
                i += 1;
            }
            bytes
        };
        for (i, name) in NUMERIC.into_iter().enumerate() {
            map.insert(name, Op::Plain(std::slice::from_ref(&OPCODES[i])));
        }
        // Loads and stores, 0x28 to 0x3e, with their natural alignment.
        const MEMORY: [(&str, u8); 23] = [
            ("i32.load", 2),
            ("i64.load", 3),
            ("f32.load", 2),
            ("f64.load", 3),
            ("i32.load8_s", 0),
            ("i32.load8_u", 0),
            ("i32.load16_s", 1),
            ("i32.load16_u", 1),
            ("i64.load8_s", 0),
            ("i64.load8_u", 0),
            ("i64.load16_s", 1),
            ("i64.load16_u", 1),
            ("i64.load32_s", 2),
            ("i64.load32_u", 2),
            ("i32.store", 2),
            ("i64.store", 3),
            ("f32.store", 2),
            ("f64.store", 3),
            ("i32.store8", 0),
            ("i32.store16", 1),
            ("i64.store8", 0),
            ("i64.store16", 1),
            ("i64.store32", 2),
        ];
        for (i, (name, align)) in MEMORY.into_iter().enumerate() {
            map.insert(name, Op::Memory(0x28 + i as u8, align));
        }
        map.insert("i32.const", Op::I32Const);
        map.insert("i64.const", Op::I64Const);
        map.insert("f32.const", Op::F32Const);
        map.insert("f64.const", Op::F64Const);
        map.insert("local.get", Op::Local(0x20));
        map.insert("local.set", Op::Local(0x21));
        map.insert("local.tee", Op::Local(0x22));
        map.insert("global.get", Op::Global(0x23));
        map.insert("global.set", Op::Global(0x24));
        map.insert("call", Op::Call(0x10));
        map.insert("return_call", Op::Call(0x12));
        map.insert("call_indirect", Op::CallIndirect(0x11));
        map.insert("return_call_indirect", Op::CallIndirect(0x13));
        map.insert("select", Op::Select);
        map.insert("memory.init", Op::Data(&[0xfc, 0x08], &[0x00]));
        map.insert("data.drop", Op::Data(&[0xfc, 0x09], &[]));
        map.insert("table.get", Op::Table(&[0x25]));
        map.insert("table.set", Op::Table(&[0x26]));
        map.insert("table.grow", Op::Table(&[0xfc, 0x0f]));
        map.insert("table.size", Op::Table(&[0xfc, 0x10]));
        map.insert("table.fill", Op::Table(&[0xfc, 0x11]));
        map.insert("table.copy", Op::TableCopy);
        map.insert("table.init", Op::TableInit);
        map.insert("elem.drop", Op::ElemDrop);
        map.insert("ref.null", Op::RefNull);
        map.insert("ref.is_null", Op::Plain(&[0xd1]));
        map.insert("ref.func", Op::RefFunc);
        map.insert("br", Op::Branch(0x0c));
        map.insert("br_if", Op::Branch(0x0d));
        map.insert("br_table", Op::BranchTable);
        map.insert("block", Op::Block(0x02));
        map.insert("loop", Op::Block(0x03));
        map.insert("if", Op::If);
        map.insert("else", Op::Else);
        map.insert("end", Op::End);
        map
    })
}

// ---------------------------------------------------------------------------
// Module fields

/// An index as written: a number or a `$name`.
#[derive(Clone, Copy)]
enum Ref<'a> {
    Num(u32),
    Name(&'a str),
}

type Sig = (Vec<u8>, Vec<u8>);

struct Func<'a> {
    type_index: u32,
    /// Named parameters, when the type was written inline.
    params: Vec<Option<&'a str>>,
    /// How many parameters the type has.
    param_count: u32,
    locals: Vec<(Option<&'a str>, u8)>,
    /// The token where the body's instructions start; it ends at the
    /// function's `)`.
    body: usize,
}

struct Global {
    ty: u8,
    mutable: bool,
    /// Where the initializer starts; it ends at the global's `)`.
    init: usize,
}

/// An import: its module name, its field name, and what it is.
type ImportEntry = (Vec<u8>, Vec<u8>, Import);

enum Import {
    Func(u32),
    Table(u8, Limits),
    Memory(Limits),
    Global(u8, bool),
}

#[derive(Clone, Copy)]
struct Limits {
    min: u64,
    max: Option<u64>,
}

struct Data<'a> {
    /// `(memory, offset start)` for an active segment: the token of the
    /// offset's `(`.
    active: Option<(Ref<'a>, usize)>,
    bytes: Vec<u8>,
}

enum ElemMode<'a> {
    /// The table if written, and the token of the offset's `(`.
    Active(Option<Ref<'a>>, usize),
    Passive,
    Declared,
}

struct Elem<'a> {
    mode: ElemMode<'a>,
    functions: Vec<Ref<'a>>,
}

/// A type use's result: the type index, the parameters' names as written
/// inline, and how many parameters the type has.
type TypeUse<'a> = (u32, Vec<Option<&'a str>>, u32);

#[derive(Default)]
struct Module<'a> {
    text: &'a str,
    tokens: &'a [Token],
    pos: usize,
    module_name: Option<&'a str>,

    types: Vec<Sig>,
    /// Explicit types first, in order; the first of equal signatures wins.
    type_of_sig: HashMap<Sig, u32>,
    type_ids: HashMap<&'a str, u32>,
    type_names: Vec<(u32, &'a str)>,

    imports: Vec<ImportEntry>,
    funcs: Vec<Func<'a>>,
    tables: Vec<(u8, Limits)>,
    memories: Vec<Limits>,
    globals: Vec<Global>,
    exports: Vec<(Vec<u8>, u8, Ref<'a>)>,
    start: Option<Ref<'a>>,
    elems: Vec<Elem<'a>>,
    data: Vec<Data<'a>>,

    counts: [u32; SPACES],
    ids: [HashMap<&'a str, u32>; SPACES],
    names: [Vec<(u32, &'a str)>; SPACES],
    /// Whether a definition (not an import) has been seen: an import after
    /// one is an error, left to `wast`.
    defined: bool,
    /// Whether `memory.init` or `data.drop` appear, which need the data
    /// count section.
    data_count: bool,
    /// A first pass over a body for the types it adds, before every name
    /// it uses is known: unknown names are taken as index 0.
    dry: bool,
    /// The token of the `(` that opens the field being read.
    field: usize,
}

impl<'a> Module<'a> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn str_of(&self, t: Token) -> &'a str {
        &self.text[t.start as usize..t.end as usize]
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.peek()?;
        self.pos += 1;
        Some(t)
    }

    fn expect(&mut self, kind: Kind) -> Option<Token> {
        let t = self.next()?;
        (t.kind == kind).then_some(t)
    }

    fn word(&mut self) -> Option<&'a str> {
        let t = self.expect(Kind::Word)?;
        Some(self.str_of(t))
    }

    fn id(&mut self) -> Option<&'a str> {
        match self.peek() {
            Some(t) if t.kind == Kind::Id => {
                self.pos += 1;
                Some(self.str_of(t))
            }
            _ => None,
        }
    }

    /// A string's bytes, its escapes undone by the preprocessor's decoder
    /// (which also refuses control characters).
    fn string(&mut self) -> Option<Vec<u8>> {
        let t = self.expect(Kind::Str)?;
        let quoted = &self.text[t.start as usize - 1..t.end as usize + 1];
        crate::preprocess::strings::decode(quoted, 1).ok()
    }

    /// A string that names something, which must be UTF-8.
    fn name(&mut self) -> Option<Vec<u8>> {
        let bytes = self.string()?;
        std::str::from_utf8(&bytes).ok()?;
        Some(bytes)
    }

    /// Whether the next tokens are `(` and `keyword`.
    fn at(&self, keyword: &str) -> bool {
        matches!(
            (self.tokens.get(self.pos), self.tokens.get(self.pos + 1)),
            (Some(l), Some(w)) if l.kind == Kind::Left && w.kind == Kind::Word && self.str_of(*w) == keyword
        )
    }

    /// Whether the next token is an index: a `$name` or a number.
    fn at_index(&self) -> bool {
        matches!(self.peek(), Some(t) if t.kind == Kind::Id
            || (t.kind == Kind::Word && self.str_of(t).as_bytes()[0].is_ascii_digit()))
    }

    fn reference(&mut self) -> Option<Ref<'a>> {
        let t = self.next()?;
        match t.kind {
            Kind::Id => Some(Ref::Name(self.str_of(t))),
            Kind::Word => Some(Ref::Num(u32_word(self.str_of(t))?)),
            _ => None,
        }
    }

    /// The index of a `(keyword X)` clause at the cursor, moving past it:
    /// `Some(None)` when there is no such clause, `None` when it is
    /// malformed.
    fn clause_ref(&mut self, keyword: &str) -> Option<Option<Ref<'a>>> {
        if !self.at(keyword) {
            return Some(None);
        }
        self.pos += 2;
        let index = self.reference()?;
        self.expect(Kind::Right)?;
        Some(Some(index))
    }

    /// Moves to just past the `)` that closes the `(` at token `open`.
    fn skip_from(&mut self, open: usize) {
        self.pos = self.tokens[open].pair as usize + 1;
    }

    /// `(module $name? field*)` or the fields alone.
    fn fields(&mut self) -> Option<()> {
        let wrapped = self.at("module");
        if wrapped {
            self.pos += 2;
            self.module_name = self.id();
        }
        let first = self.pos;
        // Types first, so that every type use finds them, as in `wast`.
        while let Some(t) = self.peek() {
            match t.kind {
                Kind::Right => break,
                Kind::Left if self.at("type") => self.type_field()?,
                Kind::Left => self.skip_from(self.pos),
                _ => return None,
            }
        }
        self.pos = first;
        loop {
            match self.peek() {
                None if !wrapped => break,
                Some(t) if t.kind == Kind::Right && wrapped => {
                    self.pos += 1;
                    if self.peek().is_some() {
                        return None;
                    }
                    break;
                }
                _ => {}
            }
            self.field = self.pos;
            self.expect(Kind::Left)?;
            match self.word()? {
                "type" => self.skip_from(self.field),
                "import" => self.import()?,
                "func" => self.func()?,
                "table" => self.table()?,
                "memory" => self.memory()?,
                "global" => self.global()?,
                "export" => self.export()?,
                "start" => {
                    if self.start.is_some() {
                        return None;
                    }
                    self.start = Some(self.reference()?);
                    self.expect(Kind::Right)?;
                }
                "elem" => self.elem()?,
                "data" => self.data_field()?,
                _ => return None,
            }
        }
        Some(())
    }

    fn type_field(&mut self) -> Option<()> {
        self.pos += 2;
        let id = self.id();
        if !self.at("func") {
            return None;
        }
        self.pos += 2;
        let (params, results) = self.signature()?;
        self.expect(Kind::Right)?;
        self.expect(Kind::Right)?;
        let index = self.types.len() as u32;
        let sig = (params.into_iter().map(|(_, t)| t).collect(), results);
        self.type_of_sig.entry(sig.clone()).or_insert(index);
        self.types.push(sig);
        if let Some(id) = id {
            if self.type_ids.insert(id, index).is_some() {
                return None;
            }
            self.type_names.push((index, id));
        }
        Some(())
    }

    /// `(keyword $name type)` or `(keyword type*)`, repeated: parameters or
    /// locals, with their names.
    fn declarations(&mut self, keyword: &str, out: &mut Vec<(Option<&'a str>, u8)>) -> Option<()> {
        while self.at(keyword) {
            self.pos += 2;
            if let Some(id) = self.id() {
                out.push((Some(id), valtype(self.word()?)?));
            } else {
                while self.peek()?.kind == Kind::Word {
                    out.push((None, valtype(self.word()?)?));
                }
            }
            self.expect(Kind::Right)?;
        }
        Some(())
    }

    /// `(param ...)* (result ...)*`, with the parameters' names.
    #[allow(clippy::type_complexity)]
    fn signature(&mut self) -> Option<(Vec<(Option<&'a str>, u8)>, Vec<u8>)> {
        let mut params = Vec::new();
        let mut results = Vec::new();
        self.declarations("param", &mut params)?;
        while self.at("result") {
            self.pos += 2;
            while self.peek()?.kind == Kind::Word {
                results.push(valtype(self.word()?)?);
            }
            self.expect(Kind::Right)?;
        }
        Some((params, results))
    }

    /// The type index for a signature, added at the end if new.
    fn intern(&mut self, sig: Sig) -> u32 {
        if let Some(&index) = self.type_of_sig.get(&sig) {
            return index;
        }
        let index = self.types.len() as u32;
        self.types.push(sig.clone());
        self.type_of_sig.insert(sig, index);
        index
    }

    /// `(type x)` if written, resolved.
    fn type_index(&mut self) -> Option<Option<u32>> {
        if !self.at("type") {
            return Some(None);
        }
        self.pos += 2;
        let index = match self.reference()? {
            Ref::Num(n) => n,
            Ref::Name(name) => *self.type_ids.get(name)?,
        };
        self.expect(Kind::Right)?;
        Some(Some(index))
    }

    /// A type use: `(type x)`, an inline signature, or both when they
    /// agree; `named` allows names on the parameters.
    fn type_use(&mut self, named: bool) -> Option<TypeUse<'a>> {
        let index = self.type_index()?;
        let inline = self.at("param") || self.at("result");
        let (params, results) = self.signature()?;
        if !named && params.iter().any(|(name, _)| name.is_some()) {
            return None;
        }
        let names: Vec<_> = params.iter().map(|(n, _)| *n).collect();
        let sig: Sig = (params.into_iter().map(|(_, t)| t).collect(), results);
        match index {
            Some(index) => {
                let declared = self.types.get(index as usize)?;
                let count = declared.0.len() as u32;
                if !inline {
                    return Some((index, names, count));
                }
                (*declared == sig).then_some((index, names, count))
            }
            None => {
                let count = names.len() as u32;
                Some((self.intern(sig), names, count))
            }
        }
    }

    /// What opens a function, table, memory or global: `$name?`, then
    /// `(export "name")*`, then `(import "module" "name")?`. Returns the
    /// import, if written inline.
    fn definition(&mut self, space: Space, export_kind: u8) -> Option<Option<(Vec<u8>, Vec<u8>)>> {
        let id = self.id();
        let index = self.define(id, space)?;
        while self.at("export") {
            self.pos += 2;
            let name = self.name()?;
            self.expect(Kind::Right)?;
            self.exports.push((name, export_kind, Ref::Num(index)));
        }
        if !self.at("import") {
            return Some(None);
        }
        if self.defined {
            return None;
        }
        self.pos += 2;
        let module = self.name()?;
        let field = self.name()?;
        self.expect(Kind::Right)?;
        Some(Some((module, field)))
    }

    /// A new index in `space`, named by `id` if there is one.
    fn define(&mut self, id: Option<&'a str>, space: Space) -> Option<u32> {
        let index = self.counts[space as usize];
        self.counts[space as usize] += 1;
        if let Some(id) = id {
            if self.ids[space as usize].insert(id, index).is_some() {
                return None;
            }
            self.names[space as usize].push((index, id));
        }
        Some(index)
    }

    fn import(&mut self) -> Option<()> {
        if self.defined {
            return None;
        }
        let module = self.name()?;
        let field = self.name()?;
        self.expect(Kind::Left)?;
        let kind = self.word()?;
        let id = self.id();
        let import = match kind {
            "func" => {
                self.define(id, Space::Func)?;
                Import::Func(self.type_use(true)?.0)
            }
            "table" => {
                self.define(id, Space::Table)?;
                let limits = self.limits()?;
                Import::Table(
                    valtype(self.word()?).filter(|t| (0x6f..=0x70).contains(t))?,
                    limits,
                )
            }
            "memory" => {
                self.define(id, Space::Memory)?;
                Import::Memory(self.limits()?)
            }
            "global" => {
                self.define(id, Space::Global)?;
                let (ty, mutable) = self.global_type()?;
                Import::Global(ty, mutable)
            }
            _ => return None,
        };
        self.expect(Kind::Right)?;
        self.expect(Kind::Right)?;
        self.imports.push((module, field, import));
        Some(())
    }

    fn limits(&mut self) -> Option<Limits> {
        let min = unsigned(self.word()?)?;
        let max = match self.peek()? {
            t if t.kind == Kind::Word
                && t.end > t.start
                && self.str_of(t).as_bytes()[0].is_ascii_digit() =>
            {
                Some(unsigned(self.word()?)?)
            }
            _ => None,
        };
        Some(Limits { min, max })
    }

    fn global_type(&mut self) -> Option<(u8, bool)> {
        if self.at("mut") {
            self.pos += 2;
            let ty = valtype(self.word()?)?;
            self.expect(Kind::Right)?;
            Some((ty, true))
        } else {
            Some((valtype(self.word()?)?, false))
        }
    }

    fn func(&mut self) -> Option<()> {
        if let Some((module, field)) = self.definition(Space::Func, 0)? {
            let ty = self.type_use(true)?.0;
            self.expect(Kind::Right)?;
            self.imports.push((module, field, Import::Func(ty)));
            return Some(());
        }
        self.defined = true;
        let (type_index, params, param_count) = self.type_use(true)?;
        let mut locals = Vec::new();
        self.declarations("local", &mut locals)?;
        let body = self.pos;
        // The body is encoded later, when every function's index is known;
        // but a body can add types (`call_indirect`, blocks with
        // parameters or several results), which `wast` adds after this
        // function's own and before the next function's. Such a body is
        // walked now for its types alone.
        let adds_types = self.skip_body()?;
        self.funcs.push(Func {
            type_index,
            params,
            param_count,
            locals,
            body,
        });
        if adds_types {
            let end = self.pos;
            let (locals, _) = self.locals_of(self.funcs.len() - 1)?;
            self.dry = true;
            let mut walk = Body::default();
            let result = self.expression(body, &mut walk, &locals, &mut Vec::new());
            self.dry = false;
            result?;
            self.pos = end;
        }
        Some(())
    }

    /// Skips a function's body to its `)`; says whether the body may add
    /// types: a `call_indirect`, or a `(param` or `(type` form, or a block
    /// type of several results.
    fn skip_body(&mut self) -> Option<bool> {
        let mut depth = 1;
        let mut adds = false;
        // Where the last single-result `(result t)` ended.
        let mut after_result = usize::MAX;
        while depth > 0 {
            let t = self.next()?;
            match t.kind {
                Kind::Left => {
                    depth += 1;
                    let Some(next) = self.peek().filter(|n| n.kind == Kind::Word) else {
                        continue;
                    };
                    match self.str_of(next) {
                        "param" | "type" => adds = true,
                        "result" => {
                            let words = self.tokens[self.pos + 1..]
                                .iter()
                                .take_while(|t| t.kind == Kind::Word)
                                .count();
                            if words > 1 || self.pos - 1 == after_result {
                                adds = true;
                            }
                            after_result = self.pos + 1 + words + 1;
                        }
                        _ => {}
                    }
                }
                Kind::Right => depth -= 1,
                Kind::Word => {
                    if matches!(self.str_of(t), "call_indirect" | "return_call_indirect") {
                        adds = true;
                    }
                }
                _ => {}
            }
        }
        Some(adds)
    }

    /// A function's locals, parameters first, by name, and their names by
    /// index for the name section.
    #[allow(clippy::type_complexity)]
    fn locals_of(&self, i: usize) -> Option<(HashMap<&'a str, u32>, Vec<(u32, &'a str)>)> {
        let func = &self.funcs[i];
        let mut locals = HashMap::default();
        let mut names = Vec::new();
        for (index, name) in func.params.iter().enumerate() {
            if let Some(name) = *name {
                if locals.insert(name, index as u32).is_some() {
                    return None;
                }
                names.push((index as u32, name));
            }
        }
        for (i, &(name, _)) in func.locals.iter().enumerate() {
            let index = func.param_count + i as u32;
            if let Some(name) = name {
                if locals.insert(name, index).is_some() {
                    return None;
                }
                names.push((index, name));
            }
        }
        Some((locals, names))
    }

    fn table(&mut self) -> Option<()> {
        let import = self.definition(Space::Table, 1)?;
        let limits = self.limits()?;
        let ty = valtype(self.word()?).filter(|&t| t == 0x6f || t == 0x70)?;
        self.expect(Kind::Right)?;
        match import {
            Some((module, field)) => self
                .imports
                .push((module, field, Import::Table(ty, limits))),
            None => {
                self.defined = true;
                self.tables.push((ty, limits));
            }
        }
        Some(())
    }

    fn memory(&mut self) -> Option<()> {
        let import = self.definition(Space::Memory, 2)?;
        let limits = self.limits()?;
        self.expect(Kind::Right)?;
        match import {
            Some((module, field)) => self.imports.push((module, field, Import::Memory(limits))),
            None => {
                self.defined = true;
                self.memories.push(limits);
            }
        }
        Some(())
    }

    fn global(&mut self) -> Option<()> {
        let import = self.definition(Space::Global, 3)?;
        let (ty, mutable) = self.global_type()?;
        if let Some((module, field)) = import {
            self.expect(Kind::Right)?;
            self.imports
                .push((module, field, Import::Global(ty, mutable)));
            return Some(());
        }
        self.defined = true;
        let init = self.pos;
        self.skip_from(self.field);
        self.globals.push(Global { ty, mutable, init });
        Some(())
    }

    fn export(&mut self) -> Option<()> {
        let name = self.name()?;
        self.expect(Kind::Left)?;
        let kind = match self.word()? {
            "func" => 0,
            "table" => 1,
            "memory" => 2,
            "global" => 3,
            _ => return None,
        };
        let item = self.reference()?;
        self.expect(Kind::Right)?;
        self.expect(Kind::Right)?;
        self.exports.push((name, kind, item));
        Some(())
    }

    fn elem(&mut self) -> Option<()> {
        let id = self.id();
        self.define(id, Space::Elem)?;
        let mode = match self.peek()? {
            t if t.kind == Kind::Word && self.str_of(t) == "declare" => {
                self.pos += 1;
                ElemMode::Declared
            }
            t if t.kind == Kind::Left => {
                if self.at("ref") {
                    return None;
                }
                let table = self.clause_ref("table")?;
                if self.peek()?.kind != Kind::Left {
                    return None;
                }
                let start = self.pos;
                self.skip_from(start);
                ElemMode::Active(table, start)
            }
            _ => ElemMode::Passive,
        };
        match self.peek()? {
            t if t.kind == Kind::Word && self.str_of(t) == "func" => self.pos += 1,
            // The old way: indices right after an offset with no table.
            _ if matches!(mode, ElemMode::Active(None, _)) => {}
            _ => return None,
        }
        let mut functions = Vec::new();
        while self.at_index() {
            functions.push(self.reference()?);
        }
        self.expect(Kind::Right)?;
        self.elems.push(Elem { mode, functions });
        Some(())
    }

    fn data_field(&mut self) -> Option<()> {
        let id = self.id();
        self.define(id, Space::Data)?;
        let mut active = None;
        let memory = self.clause_ref("memory")?;
        if self.peek()?.kind == Kind::Left {
            let start = self.pos;
            self.skip_from(start);
            active = Some((memory.unwrap_or(Ref::Num(0)), start));
        } else if memory.is_some() {
            return None;
        }
        let mut bytes = Vec::new();
        while self.peek()?.kind == Kind::Str {
            bytes.extend_from_slice(&self.string()?);
        }
        self.expect(Kind::Right)?;
        self.data.push(Data { active, bytes });
        Some(())
    }

    fn resolve(&self, r: Ref<'a>, space: Space) -> Option<u32> {
        match r {
            Ref::Num(n) => Some(n),
            Ref::Name(name) => match self.ids[space as usize].get(name) {
                Some(&index) => Some(index),
                None if self.dry => Some(0),
                None => None,
            },
        }
    }

    // -----------------------------------------------------------------------
    // Encoding

    fn encode(&mut self, lines: bool) -> Option<Parsed> {
        // Every type is known by now: the fields' own, and those a body
        // adds, found by its walk in `func`. One added later (by a constant
        // expression, which no validator takes) would come after the type
        // section is written, and in another place than `wast` puts it: such
        // a module is left to `wast`.
        let types = self.types.len();
        let mut wasm = Vec::with_capacity(self.text.len() / 3);
        wasm.extend_from_slice(b"\0asm\x01\0\0\0");
        let mut s = Vec::new();
        let mut body = Body::default();
        let no_locals = HashMap::default();

        // The code is encoded first, into its own buffer: it is where
        // `memory.init` and `data.drop` are found, which decide whether the
        // data count section comes before it.
        let imported_funcs = self.counts[Space::Func as usize] - self.funcs.len() as u32;
        let mut spans = Vec::new();
        let mut local_names: Vec<(u32, Vec<(u32, &'a str)>)> = Vec::new();
        let mut label_names: Vec<(u32, Vec<(u32, &'a str)>)> = Vec::new();
        let mut code_section = Vec::new();
        if !self.funcs.is_empty() {
            let s = &mut code_section;
            uleb(s, self.funcs.len() as u64);
            let mut code = Vec::new();
            for i in 0..self.funcs.len() {
                let (locals, names) = self.locals_of(i)?;
                code.clear();
                // Runs of equal types, as `wast` groups them.
                let mut groups: Vec<(u32, u8)> = Vec::new();
                for &(_, ty) in &self.funcs[i].locals {
                    match groups.last_mut() {
                        Some((count, last)) if *last == ty => *count += 1,
                        _ => groups.push((1, ty)),
                    }
                }
                uleb(&mut code, groups.len() as u64);
                for (count, ty) in groups {
                    uleb(&mut code, count.into());
                    code.push(ty);
                }
                body.spans.clear();
                body.labels.clear();
                body.label_count = 0;
                let start = self.funcs[i].body;
                self.expression(start, &mut body, &locals, &mut code)?;
                code.push(0x0b);
                uleb(s, code.len() as u64);
                s.extend_from_slice(&code);
                let index = imported_funcs + i as u32;
                if !names.is_empty() {
                    local_names.push((index, names));
                }
                if !body.labels.is_empty() {
                    label_names.push((index, std::mem::take(&mut body.labels)));
                }
                if lines {
                    spans.push(body.spans.clone());
                }
            }
        }

        // Only function bodies count, as for `wast`: a `memory.init` in a
        // constant expression (which no validator takes) adds no section.
        let data_count = self.data_count;

        if !self.types.is_empty() {
            uleb(&mut s, self.types.len() as u64);
            for (params, results) in &self.types {
                s.push(0x60);
                uleb(&mut s, params.len() as u64);
                s.extend_from_slice(params);
                uleb(&mut s, results.len() as u64);
                s.extend_from_slice(results);
            }
            section(&mut wasm, 1, &s);
        }
        if !self.imports.is_empty() {
            s.clear();
            uleb(&mut s, self.imports.len() as u64);
            for (module, field, import) in &self.imports {
                name_bytes(&mut s, module);
                name_bytes(&mut s, field);
                match *import {
                    Import::Func(ty) => {
                        s.push(0x00);
                        uleb(&mut s, ty.into());
                    }
                    Import::Table(ty, limits) => {
                        s.extend_from_slice(&[0x01, ty]);
                        encode_limits(&mut s, limits);
                    }
                    Import::Memory(limits) => {
                        s.push(0x02);
                        encode_limits(&mut s, limits);
                    }
                    Import::Global(ty, mutable) => {
                        s.extend_from_slice(&[0x03, ty, u8::from(mutable)]);
                    }
                }
            }
            section(&mut wasm, 2, &s);
        }
        if !self.funcs.is_empty() {
            s.clear();
            uleb(&mut s, self.funcs.len() as u64);
            for func in &self.funcs {
                uleb(&mut s, func.type_index.into());
            }
            section(&mut wasm, 3, &s);
        }
        if !self.tables.is_empty() {
            s.clear();
            uleb(&mut s, self.tables.len() as u64);
            for &(ty, limits) in &self.tables {
                s.push(ty);
                encode_limits(&mut s, limits);
            }
            section(&mut wasm, 4, &s);
        }
        if !self.memories.is_empty() {
            s.clear();
            uleb(&mut s, self.memories.len() as u64);
            for &limits in &self.memories {
                encode_limits(&mut s, limits);
            }
            section(&mut wasm, 5, &s);
        }
        if !self.globals.is_empty() {
            s.clear();
            uleb(&mut s, self.globals.len() as u64);
            for i in 0..self.globals.len() {
                let Global { ty, mutable, init } = self.globals[i];
                s.extend_from_slice(&[ty, u8::from(mutable)]);
                self.expression(init, &mut body, &no_locals, &mut s)?;
                s.push(0x0b);
            }
            section(&mut wasm, 6, &s);
        }
        if !self.exports.is_empty() {
            s.clear();
            uleb(&mut s, self.exports.len() as u64);
            for (name, kind, item) in &self.exports {
                let space = match kind {
                    0 => Space::Func,
                    1 => Space::Table,
                    2 => Space::Memory,
                    _ => Space::Global,
                };
                name_bytes(&mut s, name);
                s.push(*kind);
                uleb(&mut s, self.resolve(*item, space)?.into());
            }
            section(&mut wasm, 7, &s);
        }
        if let Some(start) = self.start {
            s.clear();
            uleb(&mut s, self.resolve(start, Space::Func)?.into());
            section(&mut wasm, 8, &s);
        }
        if !self.elems.is_empty() {
            s.clear();
            uleb(&mut s, self.elems.len() as u64);
            for i in 0..self.elems.len() {
                match self.elems[i].mode {
                    ElemMode::Active(None, offset) => {
                        s.push(0x00);
                        self.offset(offset, &mut body, &mut s)?;
                        s.push(0x0b);
                    }
                    ElemMode::Active(Some(table), offset) => {
                        s.push(0x02);
                        uleb(&mut s, self.resolve(table, Space::Table)?.into());
                        self.offset(offset, &mut body, &mut s)?;
                        s.extend_from_slice(&[0x0b, 0x00]);
                    }
                    ElemMode::Passive => s.extend_from_slice(&[0x01, 0x00]),
                    ElemMode::Declared => s.extend_from_slice(&[0x03, 0x00]),
                }
                uleb(&mut s, self.elems[i].functions.len() as u64);
                for j in 0..self.elems[i].functions.len() {
                    let function = self.elems[i].functions[j];
                    uleb(&mut s, self.resolve(function, Space::Func)?.into());
                }
            }
            section(&mut wasm, 9, &s);
        }
        if data_count {
            s.clear();
            uleb(&mut s, self.data.len() as u64);
            section(&mut wasm, 12, &s);
        }
        if !self.funcs.is_empty() {
            section(&mut wasm, 10, &code_section);
        }
        if !self.data.is_empty() {
            s.clear();
            uleb(&mut s, self.data.len() as u64);
            for i in 0..self.data.len() {
                match self.data[i].active {
                    Some((memory, offset)) => {
                        let memory = self.resolve(memory, Space::Memory)?;
                        if memory == 0 {
                            s.push(0x00);
                        } else {
                            s.push(0x02);
                            uleb(&mut s, memory.into());
                        }
                        self.offset(offset, &mut body, &mut s)?;
                        s.push(0x0b);
                    }
                    None => s.push(0x01),
                }
                name_bytes(&mut s, &self.data[i].bytes);
            }
            section(&mut wasm, 11, &s);
        }

        // The `name` section, built as `wast` builds it: each subsection
        // only if it names something, in `wast`'s order.
        let mut names = NameSection::new();
        let mut named = false;
        if let Some(name) = self.module_name {
            names.module(name);
            named = true;
        }
        let map = |names: &[(u32, &str)]| {
            let mut map = NameMap::new();
            for &(index, name) in names {
                map.append(index, name);
            }
            map
        };
        let indirect = |names: &[(u32, Vec<(u32, &str)>)]| {
            let mut indirect = IndirectNameMap::new();
            for (index, inner) in names {
                indirect.append(*index, &map(inner));
            }
            indirect
        };
        let space = |space: Space| &self.names[space as usize][..];
        let add =
            |names: &mut NameSection, list: &[(u32, &str)], add: fn(&mut NameSection, &NameMap)| {
                if !list.is_empty() {
                    add(names, &map(list));
                }
                !list.is_empty()
            };
        named |= add(&mut names, space(Space::Func), NameSection::functions);
        if !local_names.is_empty() {
            names.locals(&indirect(&local_names));
            named = true;
        }
        if !label_names.is_empty() {
            names.labels(&indirect(&label_names));
            named = true;
        }
        named |= add(&mut names, &self.type_names, NameSection::types);
        named |= add(&mut names, space(Space::Table), NameSection::tables);
        named |= add(&mut names, space(Space::Memory), NameSection::memories);
        named |= add(&mut names, space(Space::Global), NameSection::globals);
        named |= add(&mut names, space(Space::Elem), NameSection::elements);
        named |= add(&mut names, space(Space::Data), NameSection::data);
        if named {
            wasm.push(0);
            names.encode(&mut wasm);
        }
        (self.types.len() == types).then_some(Parsed { wasm, spans })
    }

    /// A segment's offset: `(offset instr*)` or one folded instruction.
    fn offset(&mut self, start: usize, body: &mut Body<'a>, out: &mut Vec<u8>) -> Option<()> {
        self.pos = start;
        let no_locals = HashMap::default();
        if self.at("offset") {
            return self.expression(start + 2, body, &no_locals, out);
        }
        body.stop_after_one = true;
        let result = self.expression(start, body, &no_locals, out);
        body.stop_after_one = false;
        result
    }

    /// Encodes instructions from token `start` up to the `)` that closes
    /// the enclosing form (not consumed), recording where each starts.
    fn expression(
        &mut self,
        start: usize,
        body: &mut Body<'a>,
        locals: &HashMap<&'a str, u32>,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        self.pos = start;
        let ops = ops();
        body.levels.clear();
        body.frames.clear();
        body.pending.clear();
        loop {
            let t = self.peek()?;
            if let Some(Level::If(_)) = body.levels.last()
                && t.kind != Kind::Left
                && t.kind != Kind::Right
            {
                return None;
            }
            match t.kind {
                Kind::Left => {
                    if let Some(Level::If(state)) = body.levels.last_mut() {
                        let next = self.tokens.get(self.pos + 1)?;
                        let word = (next.kind == Kind::Word).then(|| self.str_of(*next));
                        match state {
                            IfState::Clause {
                                label,
                                block_type,
                                span,
                            } => {
                                if word == Some("then") {
                                    let (label, block_type, span) = (*label, *block_type, *span);
                                    *state = IfState::Then;
                                    self.pos += 2;
                                    out.push(0x04);
                                    sleb(out, block_type);
                                    body.open(label, true, FrameKind::If, span);
                                    body.levels.push(Level::Arm);
                                    continue;
                                }
                            }
                            IfState::Then => {
                                if word != Some("else") {
                                    return None;
                                }
                                *state = IfState::Else;
                                body.spans.push(next.start as usize);
                                self.pos += 2;
                                out.push(0x05);
                                body.levels.push(Level::Arm);
                                continue;
                            }
                            IfState::Else => return None,
                        }
                    }
                    self.pos += 1;
                    let word = self.expect(Kind::Word)?;
                    let span = word.start as usize;
                    let op = *ops.get(self.str_of(word))?;
                    // One folded instruction (a segment's offset): `wast`
                    // reads every form in it as a plain folded instruction,
                    // blocks too; left to it.
                    if body.stop_after_one && matches!(op, Op::Block(_) | Op::If) {
                        return None;
                    }
                    match op {
                        Op::Block(opcode) => {
                            let (label, block_type) = self.block_header()?;
                            out.push(opcode);
                            sleb(out, block_type);
                            body.open(label, true, FrameKind::Block, span);
                            body.levels.push(Level::End);
                        }
                        Op::If => {
                            let (label, block_type) = self.block_header()?;
                            body.levels.push(Level::If(IfState::Clause {
                                label,
                                block_type,
                                span,
                            }));
                        }
                        Op::Else | Op::End => return None,
                        _ => {
                            let at = body.pending.len();
                            self.immediates(op, body, locals, at)?;
                            body.levels.push(Level::Op { at, span });
                        }
                    }
                }
                Kind::Right => {
                    let Some(level) = body.levels.pop() else {
                        if !body.frames.is_empty() {
                            return None;
                        }
                        return Some(());
                    };
                    self.pos += 1;
                    match level {
                        Level::Op { at, span } => {
                            out.extend_from_slice(&body.pending[at..]);
                            body.pending.truncate(at);
                            body.spans.push(span);
                        }
                        Level::End | Level::If(IfState::Then | IfState::Else) => {
                            if !body.frames.pop()?.folded {
                                return None;
                            }
                            out.push(0x0b);
                            body.spans.push(t.start as usize);
                        }
                        Level::If(IfState::Clause { .. }) => return None,
                        Level::Arm => {}
                    }
                    if body.stop_after_one && body.levels.is_empty() {
                        return Some(());
                    }
                }
                Kind::Word => {
                    if body.stop_after_one {
                        return None;
                    }
                    self.pos += 1;
                    let span = t.start as usize;
                    let op = *ops.get(self.str_of(t))?;
                    match op {
                        Op::Block(opcode) => {
                            let (label, block_type) = self.block_header()?;
                            out.push(opcode);
                            sleb(out, block_type);
                            body.open(label, false, FrameKind::Block, span);
                        }
                        Op::If => {
                            let (label, block_type) = self.block_header()?;
                            out.push(0x04);
                            sleb(out, block_type);
                            body.open(label, false, FrameKind::If, span);
                        }
                        Op::Else | Op::End => {
                            let frame = body.frames.last_mut()?;
                            if frame.folded {
                                return None;
                            }
                            if let Some(t) = self.peek()
                                && t.kind == Kind::Id
                            {
                                self.pos += 1;
                                if frame.label != Some(self.str_of(t)) {
                                    return None;
                                }
                            }
                            if matches!(op, Op::Else) {
                                if frame.kind != FrameKind::If {
                                    return None;
                                }
                                frame.kind = FrameKind::Else;
                                out.push(0x05);
                            } else {
                                body.frames.pop();
                                out.push(0x0b);
                            }
                            body.spans.push(span);
                        }
                        _ => {
                            let at = body.pending.len();
                            self.immediates(op, body, locals, at)?;
                            out.extend_from_slice(&body.pending[at..]);
                            body.pending.truncate(at);
                            body.spans.push(span);
                        }
                    }
                }
                Kind::Id | Kind::Str => return None,
            }
        }
    }

    /// `$label? typeuse` after `block`, `loop` or `if`: the label, and the
    /// block type as the signed number it is encoded as (`-64` for none, a
    /// value type's byte less 128, or a type index).
    fn block_header(&mut self) -> Option<(Option<&'a str>, i64)> {
        let label = self.id();
        let index = self.type_index()?;
        if let Some(index) = index {
            // `wast` checks an inline type against the index; left to it.
            let inline = self.at("param") || self.at("result");
            return (!inline).then_some((label, index.into()));
        }
        let (params, results) = self.signature()?;
        if params.iter().any(|(name, _)| name.is_some()) {
            return None;
        }
        if params.is_empty() && results.len() <= 1 {
            let block_type = results.first().map_or(-64, |&t| i64::from(t) - 128);
            return Some((label, block_type));
        }
        let sig = (params.into_iter().map(|(_, t)| t).collect(), results);
        Some((label, self.intern(sig).into()))
    }

    /// Reads `op`'s immediates and writes it into `body.pending` from `at`.
    fn immediates(
        &mut self,
        op: Op,
        body: &mut Body<'a>,
        locals: &HashMap<&'a str, u32>,
        at: usize,
    ) -> Option<()> {
        debug_assert_eq!(body.pending.len(), at);
        let out = &mut body.pending;
        match op {
            Op::Plain(bytes) => out.extend_from_slice(bytes),
            Op::Memory(opcode, natural) => {
                out.push(opcode);
                let mut offset = 0;
                let mut align = natural;
                if let Some(t) = self.peek()
                    && t.kind == Kind::Word
                    && let Some(value) = self.str_of(t).strip_prefix("offset=")
                {
                    offset = unsigned(value)?;
                    self.pos += 1;
                }
                if let Some(t) = self.peek()
                    && t.kind == Kind::Word
                    && let Some(value) = self.str_of(t).strip_prefix("align=")
                {
                    let value = unsigned(value)?;
                    if !value.is_power_of_two() {
                        return None;
                    }
                    align = value.trailing_zeros() as u8;
                    self.pos += 1;
                }
                if matches!(self.peek(), Some(t) if t.kind == Kind::Word && !self.str_of(t).as_bytes()[0].is_ascii_lowercase())
                {
                    return None;
                }
                out.push(align);
                uleb(out, offset);
            }
            Op::I32Const => {
                let value = i32_word(self.word()?)?;
                out.push(0x41);
                sleb(out, value.into());
            }
            Op::I64Const => {
                let value = i64_word(self.word()?)?;
                out.push(0x42);
                sleb(out, value);
            }
            Op::F32Const => {
                let bits = f32_bits(self.word()?)?;
                out.push(0x43);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Op::F64Const => {
                let bits = f64_bits(self.word()?)?;
                out.push(0x44);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Op::Local(opcode) => {
                let index = match self.reference()? {
                    Ref::Num(n) => n,
                    Ref::Name(name) => *locals.get(name)?,
                };
                out.push(opcode);
                uleb(out, index.into());
            }
            Op::Global(opcode) => {
                let r = self.reference()?;
                let index = self.resolve(r, Space::Global)?;
                let out = &mut body.pending;
                out.push(opcode);
                uleb(out, index.into());
            }
            Op::Call(_) | Op::RefFunc => {
                let opcode = if let Op::Call(opcode) = op {
                    opcode
                } else {
                    0xd2
                };
                let r = self.reference()?;
                let index = self.resolve(r, Space::Func)?;
                let out = &mut body.pending;
                out.push(opcode);
                uleb(out, index.into());
            }
            Op::CallIndirect(opcode) => {
                let table = if self.at_index() {
                    let r = self.reference()?;
                    self.resolve(r, Space::Table)?
                } else {
                    0
                };
                let ty = self.type_use(false)?.0;
                let out = &mut body.pending;
                out.push(opcode);
                uleb(out, ty.into());
                uleb(out, table.into());
            }
            Op::Select => {
                if self.at("result") {
                    let (params, results) = self.signature()?;
                    if !params.is_empty() || self.at("result") {
                        return None;
                    }
                    out.push(0x1c);
                    uleb(out, results.len() as u64);
                    out.extend_from_slice(&results);
                } else {
                    out.push(0x1b);
                }
            }
            Op::Data(opcode, after) => {
                let r = self.reference()?;
                if self.at_index() {
                    return None;
                }
                let index = self.resolve(r, Space::Data)?;
                self.data_count = true;
                let out = &mut body.pending;
                out.extend_from_slice(opcode);
                uleb(out, index.into());
                out.extend_from_slice(after);
            }
            Op::Table(opcode) => {
                let table = if self.at_index() {
                    let r = self.reference()?;
                    self.resolve(r, Space::Table)?
                } else {
                    0
                };
                let out = &mut body.pending;
                out.extend_from_slice(opcode);
                uleb(out, table.into());
            }
            Op::TableCopy => {
                let (to, from) = if self.at_index() {
                    let (to, from) = (self.reference()?, self.reference()?);
                    (
                        self.resolve(to, Space::Table)?,
                        self.resolve(from, Space::Table)?,
                    )
                } else {
                    (0, 0)
                };
                let out = &mut body.pending;
                out.extend_from_slice(&[0xfc, 0x0e]);
                uleb(out, to.into());
                uleb(out, from.into());
            }
            Op::TableInit => {
                let first = self.reference()?;
                let (table, elem) = if self.at_index() {
                    let elem = self.reference()?;
                    (
                        self.resolve(first, Space::Table)?,
                        self.resolve(elem, Space::Elem)?,
                    )
                } else {
                    (0, self.resolve(first, Space::Elem)?)
                };
                let out = &mut body.pending;
                out.extend_from_slice(&[0xfc, 0x0c]);
                uleb(out, elem.into());
                uleb(out, table.into());
            }
            Op::ElemDrop => {
                let r = self.reference()?;
                let elem = self.resolve(r, Space::Elem)?;
                let out = &mut body.pending;
                out.extend_from_slice(&[0xfc, 0x0d]);
                uleb(out, elem.into());
            }
            Op::RefNull => {
                let ty = match self.word()? {
                    "func" => 0x70,
                    "extern" => 0x6f,
                    _ => return None,
                };
                out.extend_from_slice(&[0xd0, ty]);
            }
            Op::Branch(opcode) => {
                let depth = self.label(body)?;
                body.pending.push(opcode);
                uleb(&mut body.pending, depth.into());
            }
            Op::BranchTable => {
                let mut depths = Vec::new();
                while self.at_index() {
                    depths.push(self.label(body)?);
                }
                let default = depths.pop()?;
                let out = &mut body.pending;
                out.push(0x0e);
                uleb(out, depths.len() as u64);
                for depth in depths {
                    uleb(out, depth.into());
                }
                uleb(out, default.into());
            }
            Op::Block(_) | Op::If | Op::Else | Op::End => return None,
        }
        Some(())
    }

    /// A branch target as a depth.
    fn label(&mut self, body: &Body<'a>) -> Option<u32> {
        match self.reference()? {
            Ref::Num(n) => Some(n),
            Ref::Name(name) => {
                let from_top = body
                    .frames
                    .iter()
                    .rev()
                    .position(|f| f.label == Some(name))?;
                Some(from_top as u32)
            }
        }
    }
}

fn encode_limits(out: &mut Vec<u8>, limits: Limits) {
    match limits.max {
        None => {
            out.push(0x00);
            uleb(out, limits.min);
        }
        Some(max) => {
            out.push(0x01);
            uleb(out, limits.min);
            uleb(out, max);
        }
    }
}

/// The index spaces that names are looked up in.
#[derive(Clone, Copy)]
enum Space {
    Func,
    Table,
    Memory,
    Global,
    Elem,
    Data,
}

const SPACES: usize = 6;

#[derive(Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Block,
    If,
    Else,
}

/// An open block, loop or `if`.
struct Frame<'a> {
    label: Option<&'a str>,
    folded: bool,
    kind: FrameKind,
}

#[derive(Clone, Copy)]
enum IfState<'a> {
    /// Reading the condition, before `(then`.
    Clause {
        label: Option<&'a str>,
        block_type: i64,
        span: usize,
    },
    Then,
    Else,
}

/// What the `)` closing a form does, as in `wast`'s expression parser.
enum Level<'a> {
    /// Writes the folded instruction held in `Body::pending` from `at`.
    Op {
        at: usize,
        span: usize,
    },
    /// Ends a folded `block` or `loop`.
    End,
    If(IfState<'a>),
    /// Closes `(then ...)` or `(else ...)`.
    Arm,
}

/// Per-expression state, kept across functions for its allocations.
#[derive(Default)]
struct Body<'a> {
    levels: Vec<Level<'a>>,
    frames: Vec<Frame<'a>>,
    /// Folded instructions waiting for their operands, innermost last.
    pending: Vec<u8>,
    spans: Vec<usize>,
    labels: Vec<(u32, &'a str)>,
    label_count: u32,
    /// Stop after one folded instruction (a data segment's offset).
    stop_after_one: bool,
}

impl<'a> Body<'a> {
    fn open(&mut self, label: Option<&'a str>, folded: bool, kind: FrameKind, span: usize) {
        if let Some(label) = label {
            self.labels.push((self.label_count, label));
        }
        self.label_count += 1;
        self.frames.push(Frame {
            label,
            folded,
            kind,
        });
        self.spans.push(span);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::parse;

    /// What `wast` makes of `text`: its bytes and instruction spans, or
    /// `None` if it rejects the text.
    fn wast_parse(text: &str) -> Option<(Vec<u8>, Vec<Vec<usize>>)> {
        let mut buffer = wast::parser::ParseBuffer::new(text).ok()?;
        buffer.track_instr_spans(true);
        let mut wat = wast::parser::parse::<wast::Wat>(&buffer).ok()?;
        let wasm = wat.encode().ok()?;
        Some((wasm, crate::spans_of(&wat)))
    }

    /// Where the form opening at `open` closes, skipping strings and
    /// comments.
    fn form_end(text: &str, open: usize) -> Option<usize> {
        let b = text.as_bytes();
        let (mut i, mut depth) = (open, 0);
        while i < b.len() {
            match b[i] {
                b'"' => {
                    i += 1;
                    while b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b';' if b.get(i + 1) == Some(&b';') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'(' if b.get(i + 1) == Some(&b';') => {
                    let mut nest = 1;
                    i += 2;
                    while nest > 0 {
                        if b[i..].starts_with(b"(;") {
                            nest += 1;
                            i += 1;
                        } else if b[i..].starts_with(b";)") {
                            nest -= 1;
                            i += 1;
                        }
                        i += 1;
                    }
                    continue;
                }
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    #[track_caller]
    fn assert_same(text: &str, what: &str) -> bool {
        let Some(fast) = parse(text, true) else {
            return false;
        };
        let Some((wasm, spans)) = wast_parse(text) else {
            panic!("{what}: the fast path accepted text wast rejects:\n{text}");
        };
        if fast.wasm != wasm {
            let at = fast.wasm.iter().zip(&wasm).position(|(a, b)| a != b);
            panic!(
                "{what}: bytes differ from wast's (first at {at:?}; {} against {} bytes)\nfast {:02x?}\nwast {:02x?}\n{text}",
                fast.wasm.len(),
                wasm.len(),
                fast.wasm,
                wasm
            );
        }
        assert_eq!(
            fast.spans, spans,
            "{what}: instruction spans differ\n{text}"
        );
        true
    }

    /// Every module of the WebAssembly testsuite the fast path accepts, it
    /// encodes to `wast`'s bytes with `wast`'s spans; every malformed one
    /// (`assert_malformed` on text) it declines; and it accepts most of the
    /// modules written with the instructions it knows.
    #[test]
    fn fast_path_writes_what_wast_writes_on_the_testsuite() {
        let (mut modules, mut accepted, mut malformed) = (0, 0, 0);
        each_directive(|path, text, directive| match directive {
            wast::WastDirective::Module(wast::QuoteWat::Wat(wast::Wat::Module(m)))
            | wast::WastDirective::ModuleDefinition(wast::QuoteWat::Wat(wast::Wat::Module(m))) => {
                let keyword = m.span.offset();
                let Some(open) = text[..keyword].rfind('(') else {
                    return;
                };
                let Some(close) = form_end(text, open) else {
                    return;
                };
                let module = &text[open..=close];
                modules += 1;
                let what = format!("{} at byte {open}", path.display());
                if assert_same(module, &what) {
                    accepted += 1;
                }
            }
            wast::WastDirective::Module(mut quoted @ wast::QuoteWat::QuoteModule(..)) => {
                let Ok(wast::QuoteWatTest::Text(bytes)) = quoted.to_test() else {
                    return;
                };
                let Ok(module) = String::from_utf8(bytes) else {
                    return;
                };
                modules += 1;
                if assert_same(&module, &format!("{} (quoted)", path.display())) {
                    accepted += 1;
                }
            }
            wast::WastDirective::AssertMalformed {
                module: mut quoted @ wast::QuoteWat::QuoteModule(..),
                ..
            } => {
                let Ok(wast::QuoteWatTest::Text(bytes)) = quoted.to_test() else {
                    return;
                };
                let Ok(module) = String::from_utf8(bytes) else {
                    return;
                };
                if wast_parse(&module).is_none() {
                    malformed += 1;
                    assert!(
                        parse(&module, true).is_none(),
                        "{}: the fast path accepted a malformed module:\n{module}",
                        path.display()
                    );
                }
            }
            _ => {}
        });
        eprintln!("{accepted} of {modules} modules accepted, {malformed} malformed declined");
        assert!(modules > 1500, "{modules}");
        assert!(malformed > 300, "{malformed}");
        assert!(accepted * 5 > modules, "{accepted} of {modules}");
    }

    use crate::bench_inputs as inputs;

    /// Tape's own programs: the compile benchmark's inputs (plain, and
    /// extended after the preprocessor), and the expansions the compiler's
    /// fixtures hold, are taken by the fast path (all but those with
    /// annotations) and come out as `wast`'s bytes.
    #[test]
    fn fast_path_takes_tapes_programs() {
        let mut catalogue = crate::Catalogue::new();
        for (module, function, signature) in inputs::CATALOGUE {
            catalogue.insert(module, function, signature);
        }
        let options = crate::Options {
            catalogue,
            ..crate::Options::default()
        };
        assert!(assert_same(&inputs::plain(60), "the plain bench input"));
        let extended = crate::expand_str("extended.wat", &inputs::extended(60), &options).unwrap();
        assert!(assert_same(&extended, "the extended bench input"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pass");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "expanded") {
                let text = std::fs::read_to_string(&path).unwrap();
                // Annotations, such as custom sections, are left to `wast`.
                let taken = assert_same(&text, &path.display().to_string());
                assert_eq!(taken, !text.contains("(@"), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 8, "{seen}");
    }

    /// The forms around instructions: every way to write a block, an `if`
    /// and a branch, with labels, flat and folded, mixed.
    #[test]
    fn control_forms() {
        let module = r#"(module
  (func $f (param $n i32) (result i32) (local $i i32)
    block $out
      loop $again
        local.get $i
        i32.const 1
        i32.add
        local.tee $i
        local.get $n
        i32.lt_u
        br_if $again
        br $out
      end $again
    end
    (if (result i32) (local.get $n)
      (then (i32.const 1))
      (else (block $b (result i32) (br $b (i32.const 2)))))
    (if (i32.eqz (local.get $i)) (then unreachable))
    local.get $n
    if $x (result i32)
      i32.const 3
    else $x
      (br_table 0 $x 0 (i32.const 4) (local.get 0))
    end $x
    i32.add)
  (func (export "g") (result f64) (f64.const -0x0p+0) drop (f64.const 1.5e3))
  (global $g (mut i64) (i64.const -9223372036854775808))
  (data (i32.const 8) "a\62\u{63}" "\n")
  (data $d "passive"))"#;
        assert!(assert_same(module, "control forms"));
        // What the mutants and the testsuite found while this was written:
        // an empty `(result)` after `(type …)` is an inline type `wast`
        // checks (and rejects here); `wast` reads a block in a data offset
        // as a plain folded instruction; a line comment ends at `\r`.
        let checked = "(module (type (func (result i32))) (func (type 0) (result) i32.const 42))";
        assert!(parse(checked, true).is_none() && wast_parse(checked).is_none());
        let late =
            "(module (table 1 funcref) (global i32 (call_indirect (param f64) (i32.const 0))))";
        assert!(parse(late, true).is_none() && wast_parse(late).is_some());
        let constant = "(module (memory 1) (data $d) (global i32 (memory.init $d)))";
        assert!(assert_same(
            constant,
            "memory.init in a constant expression"
        ));
        let offset = "(module (memory 1) (data (block (i32.const 42) (i32.const 0))))";
        assert!(parse(offset, true).is_none() && wast_parse(offset).is_some());
        let comment = "(module (func (result i32) (i32.const 1) ;; c\r (return (i32.const 2))))";
        assert!(assert_same(comment, "a comment ended by a carriage return"));
        // A hexadecimal float that needs rounding is left to `wast`.
        let rounded = module.replace("-0x0p+0", "0x1.00000000000008p0");
        assert!(parse(&rounded, true).is_none());
        assert!(wast_parse(&rounded).is_some());
    }

    /// Calls `f` with each directive of each testsuite file `wast` reads,
    /// with the file's path and text.
    fn each_directive(mut f: impl FnMut(&Path, &str, wast::WastDirective<'_>)) {
        for path in crate::testsuite_files() {
            let text = std::fs::read_to_string(&path).unwrap();
            let Ok(buffer) = wast::parser::ParseBuffer::new(&text) else {
                continue;
            };
            let Ok(file) = wast::parser::parse::<wast::Wast>(&buffer) else {
                continue;
            };
            for directive in file.directives {
                f(&path, &text, directive);
            }
        }
    }

    /// The testsuite's modules that the fast path takes, as text.
    fn taken_modules() -> Vec<String> {
        let mut modules = Vec::new();
        each_directive(|_, text, directive| {
            if let wast::WastDirective::Module(wast::QuoteWat::Wat(wast::Wat::Module(m))) =
                directive
                && let Some(open) = text[..m.span.offset()].rfind('(')
                && let Some(close) = form_end(text, open)
                && parse(&text[open..=close], true).is_some()
            {
                modules.push(text[open..=close].to_owned());
            }
        });
        assert!(modules.len() > 500, "{}", modules.len());
        modules
    }

    /// A fixed-sequence generator for the mutants (Knuth's MMIX LCG).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) as usize) % n.max(1)
        }
    }

    /// Token-level mutants of every module the fast path takes (a token
    /// dropped, doubled, swapped with the next, or replaced by a word that
    /// often matters), checked the same way: taken only if `wast` takes
    /// them too, and then encoded as `wast` encodes them. Malformed text
    /// must never come out as a module.
    #[test]
    fn mutants_are_declined_or_encoded_as_wast_encodes_them() {
        const WORDS: [&str; 27] = [
            "(",
            ")",
            "i32",
            "i64",
            "f64",
            "0",
            "-1",
            "4294967296",
            "$x",
            "$0",
            "func",
            "end",
            "else",
            "then",
            "block",
            "if",
            "br",
            "local.get",
            "param",
            "result",
            "(then",
            "(result",
            "\"s\"",
            "offset=1",
            ";; c\r",
            "(; c ;)",
            "0x1p-1",
        ];
        let modules = taken_modules();
        assert!(modules.len() > 500, "{}", modules.len());
        let mut rng = Lcg(0x243f_6a88_85a3_08d3);
        let mut random = |below: usize| rng.below(below);
        let (mut tried, mut taken) = (0, 0);
        for module in &modules {
            for _ in 0..32 {
                // One to three edits, each on the text the last one left.
                let mut mutant = module.clone();
                for _ in 0..1 + random(3) {
                    let Some(tokens) = super::lex(&mutant).filter(|t| !t.is_empty()) else {
                        break;
                    };
                    // A token's whole text: strings with their quotes, names
                    // with their `$`.
                    let whole = |t: super::Token| {
                        let (start, end) = (t.start as usize, t.end as usize);
                        match t.kind {
                            super::Kind::Str => (start - 1, end + 1),
                            super::Kind::Id => (start - 1, end),
                            _ => (start, end),
                        }
                    };
                    let i = random(tokens.len());
                    let (start, end) = whole(tokens[i]);
                    let token = mutant[start..end].to_owned();
                    let word = WORDS[random(WORDS.len())];
                    mutant = match random(5) {
                        0 => format!("{} {}", &mutant[..start], &mutant[end..]),
                        1 => format!("{}{token} {token}{}", &mutant[..start], &mutant[end..]),
                        2 if i + 1 < tokens.len() => {
                            let (next_start, next_end) = whole(tokens[i + 1]);
                            format!(
                                "{}{} {}{}",
                                &mutant[..start],
                                &mutant[next_start..next_end],
                                token,
                                &mutant[next_end..]
                            )
                        }
                        3 => format!("{} {word} {}", &mutant[..start], &mutant[start..]),
                        _ => format!("{} {word} {}", &mutant[..start], &mutant[end..]),
                    };
                }
                tried += 1;
                if assert_same(&mutant, "a mutant") {
                    taken += 1;
                }
            }
        }
        eprintln!("{taken} of {tried} mutants taken");
        assert!(taken * 50 > tried, "{taken} of {tried}");
    }

    /// Character-level mutants (a byte inserted, deleted or replaced by
    /// one of the text format's punctuation, digits or letters), checked
    /// as the token mutants are: 20,000 here, more with `FAST_MUTANTS=N`
    /// (and `FAST_SEED`) and `cargo test --release -p tape-compiler --lib
    /// character_mutants`. Over thirteen million of them were run when the
    /// fast path was written.
    #[test]
    fn character_mutants_are_declined_or_encoded_as_wast_encodes_them() {
        let rounds: usize = std::env::var("FAST_MUTANTS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        let modules: Vec<Vec<u8>> = taken_modules()
            .into_iter()
            .map(String::into_bytes)
            .collect();
        const BYTES: &[u8] = b"()$\";0123456789abcdefxp._-+= \n\r\t;@";
        let seed = std::env::var("FAST_SEED").ok().and_then(|n| n.parse().ok());
        let mut rng = Lcg(seed.unwrap_or(7));
        let mut random = |below: usize| rng.below(below);
        let mut taken = 0;
        for _ in 0..rounds {
            let mut mutant = modules[random(modules.len())].clone();
            for _ in 0..1 + random(3) {
                let at = random(mutant.len() + 1);
                let byte = BYTES[random(BYTES.len())];
                match random(3) {
                    0 => mutant.insert(at, byte),
                    1 if at < mutant.len() => {
                        mutant.remove(at);
                    }
                    _ if at < mutant.len() => mutant[at] = byte,
                    _ => {}
                }
            }
            let Ok(text) = String::from_utf8(mutant) else {
                continue;
            };
            if assert_same(&text, "a character mutant") {
                taken += 1;
            }
        }
        eprintln!("{taken} of {rounds} character mutants taken");
        assert!(taken * 50 > rounds, "{taken} of {rounds}");
    }
}
