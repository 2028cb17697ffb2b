//! Values built with the `$std.wire.…` functions are what tape-protocol
//! makes of the Rust types they stand for: each result is compared byte for
//! byte with `tape_protocol::to_vec` of the expected value, and decoded
//! back as that type.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tape_rt::Outcome;

use crate::run;

/// Result `index` of a successful run is `expected`, in its exact encoding.
fn assert_result<T>(outcome: &Outcome, index: usize, expected: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    assert_eq!(outcome.status, 0, "the run failed: {outcome:?}");
    let wire = tape_protocol::to_vec(expected).unwrap();
    assert_eq!(outcome.results[index], wire, "the bytes of result {index}");
    assert_eq!(&outcome.result::<T>(index).unwrap(), expected);
}

#[test]
fn i32s_is_a_vec_of_i32() {
    let outcome = run(
        r#"(func $run (result i32)
  (local $array i32)
  (local.set $array (call $core.alloc (i32.const 16)))
  (i32.store (local.get $array) (i32.const 1))
  (i32.store offset=4 (local.get $array) (i32.const -2))
  (i32.store offset=8 (local.get $array) (i32.const -2147483648))
  (i32.store offset=12 (local.get $array) (i32.const 2147483647))
  (resv (call $std.wire.i32s (local.get $array) (i32.const 4)))
  (resv (call $std.wire.i32s (local.get $array) (i32.const 0)))
  (i32.const 0))"#,
        &[],
    );
    assert_result(&outcome, 0, &vec![1, -2, i32::MIN, i32::MAX]);
    assert_result(&outcome, 1, &Vec::<i32>::new());
}

#[test]
fn strings_is_a_vec_of_strings() {
    let outcome = run(
        r#"(func $run (result i32)
  (local $ptrs i32)
  (local.set $ptrs (call $core.alloc (i32.const 16)))
  (i32.store (local.get $ptrs) "a")
  (i32.store offset=4 (local.get $ptrs) "")
  (i32.store offset=8 (local.get $ptrs) "h\u{e9}llo")
  (i32.store offset=12 (local.get $ptrs) "\u{1f600}")
  (resv (call $std.wire.strings (local.get $ptrs) (i32.const 4)))
  (resv (call $std.wire.strings (local.get $ptrs) (i32.const 0)))
  (i32.const 0))"#,
        &[],
    );
    assert_result(
        &outcome,
        0,
        &["a", "", "héllo", "😀"].map(String::from).to_vec(),
    );
    assert_result(&outcome, 1, &Vec::<String>::new());
}

/// The pieces of argument 0 split at argument 1, gathered into an array of
/// pointers, as a `Vec<String>`.
const SPLIT: &str = r#"(func $run (result i32)
  (local $pos i32)
  (local $piece i32)
  (local $ptrs i32)
  (local $count i32)
  (argv 0 $s)
  (argv 1 $sep)
  ;; At most one piece per byte, and one more.
  (local.set $ptrs
    (call $core.alloc (i32.shl (i32.add (call $std.str.len (local.get $s)) (i32.const 1)) (i32.const 2))))
  (block $done
    (loop $each
      (call $std.str.split_next (local.get $s) (local.get $sep) (local.get $pos))
      (local.set $pos)
      (local.set $piece)
      (i32.store
        (i32.add (local.get $ptrs) (i32.shl (local.get $count) (i32.const 2)))
        (local.get $piece))
      (local.set $count (i32.add (local.get $count) (i32.const 1)))
      (br_if $done (i32.eq (local.get $pos) (i32.const -1)))
      (br $each)))
  (resv (call $std.wire.strings (local.get $ptrs) (local.get $count)))
  (i32.const 0))"#;

#[test]
fn split_next_splits_as_rust_does() {
    for (text, sep) in [
        ("a,b,c", ","),
        ("a,,b", ","),
        (",a,", ","),
        ("", ","),
        (",", ","),
        (",,,", ","),
        ("no separator", ","),
        ("one::two:three::", "::"),
        ("aaaa", "aa"),
        ("x", "longer than x"),
        ("héllo wörld", "ö"),
    ] {
        let outcome = run(SPLIT, &[text, sep]);
        let expected: Vec<String> = text.split(sep).map(String::from).collect();
        assert_result(&outcome, 0, &expected);
    }
}

/// The words of argument 0, as a `Vec<String>`.
const WORDS: &str = r#"(func $run (result i32)
  (local $pos i32)
  (local $word i32)
  (local $b i32)
  (argv 0 $s)
  ;; Each word is at most the whole string, with its prefix.
  (local.set $b
    (call $std.wire.begin (i32.mul (i32.add (call $std.str.len (local.get $s)) (i32.const 4)) (i32.const 2))))
  (block $done
    (loop $each
      (call $std.str.words_next (local.get $s) (local.get $pos))
      (local.set $pos)
      (local.set $word)
      (br_if $done (i32.eqz (local.get $word)))
      (check (call $std.wire.push_value (local.get $b) (local.get $word)))
      (br $each)))
  (resv (call $std.wire.finish (local.get $b)))
  (i32.const 0))"#;

#[test]
fn words_next_splits_as_rust_splits_ascii_whitespace() {
    for text in [
        "the quick brown fox",
        "  leading and trailing  ",
        "",
        " \t\n\r\x0c ",
        "one",
        "tabs\tand\nnew\r\nlines",
        "non\u{a0}breaking space stays in a word",
    ] {
        let outcome = run(WORDS, &[text]);
        // Rust's `split_ascii_whitespace` leaves out \x0b, which is
        // whitespace here (as in C's isspace); the inputs avoid it.
        let expected: Vec<String> = text.split_ascii_whitespace().map(String::from).collect();
        assert_result(&outcome, 0, &expected);
    }
}

#[test]
fn bytes_is_a_byte_vector_and_a_string_when_utf8() {
    let outcome = run(
        r#"(func $run (result i32)
  (resv (call $std.wire.bytes (i32.add "\00\ff\80" (i32.const 4)) (i32.const 3)))
  (resv (call $std.wire.bytes (i32.add "caf\u{e9}" (i32.const 4)) (i32.const 5)))
  (resv (call $std.wire.bytes (i32.const 8) (i32.const 0)))
  (i32.const 0))"#,
        &[],
    );
    assert_result(&outcome, 0, &ByteBuf::from(vec![0, 255, 128]));
    assert_result(&outcome, 1, &"café".to_string());
    assert_result(&outcome, 2, &ByteBuf::new());
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Named {
    name: String,
    count: i32,
}

/// The struct example of the API, with its name from argument 0.
#[test]
fn a_builder_makes_a_struct() {
    let outcome = run(
        r#"(func $run (result i32)
  (local $b i32)
  (argv 0 $name)
  (local.set $b (call $std.wire.begin (i32.const 256)))
  (check (call $std.wire.push_value (local.get $b) (local.get $name)))
  (check (call $std.wire.push_i32 (local.get $b) (i32.const -3)))
  (resv (call $std.wire.finish (local.get $b)))
  (i32.const 0))"#,
        &["tape"],
    );
    assert_result(
        &outcome,
        0,
        &Named {
            name: "tape".into(),
            count: -3,
        },
    );
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Kind {
    Empty,
    Count(i32),
    Pair(u8, i64),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Record {
    id: i64,
    active: bool,
    tags: Vec<String>,
    point: (i32, i32),
    note: Option<String>,
    missing: Option<u8>,
    kinds: Vec<Kind>,
    inner: Named,
}

/// Builders inside builders: every container the wire format has, made of
/// the same pushes.
#[test]
fn builders_nest_into_any_container() {
    let outcome = run(
        r#"(func $run (result i32)
  (local $b i32)
  (local $tags i32)
  (local $point i32)
  (local $note i32)
  (local $missing i32)
  (local $kinds i32)
  (local $kind i32)
  (local $inner i32)
  ;; tags: Vec<String>
  (local.set $tags (call $std.wire.begin (i32.const 64)))
  (check (call $std.wire.push_value (local.get $tags) "red"))
  (check (call $std.wire.push_value (local.get $tags) ""))
  (check (call $std.wire.push_value (local.get $tags) "blue"))
  ;; point: (i32, i32)
  (local.set $point (call $std.wire.begin (i32.const 8)))
  (check (call $std.wire.push_i32 (local.get $point) (i32.const 3)))
  (check (call $std.wire.push_i32 (local.get $point) (i32.const -4)))
  ;; note: Some("hi"), missing: None
  (local.set $note (call $std.wire.begin (i32.const 16)))
  (check (call $std.wire.push_u8 (local.get $note) (i32.const 1)))
  (check (call $std.wire.push_value (local.get $note) "hi"))
  (local.set $missing (call $std.wire.begin (i32.const 1)))
  (check (call $std.wire.push_u8 (local.get $missing) (i32.const 0)))
  ;; kinds: vec![Empty, Count(7), Pair(9, -1)]; a variant is its index,
  ;; then its data, as a tuple struct would be.
  (local.set $kinds (call $std.wire.begin (i32.const 64)))
  (local.set $kind (call $std.wire.begin (i32.const 4)))
  (check (call $std.wire.push_i32 (local.get $kind) (i32.const 0)))
  (check (call $std.wire.push_value (local.get $kinds) (call $std.wire.finish (local.get $kind))))
  (local.set $kind (call $std.wire.begin (i32.const 8)))
  (check (call $std.wire.push_i32 (local.get $kind) (i32.const 1)))
  (check (call $std.wire.push_i32 (local.get $kind) (i32.const 7)))
  (check (call $std.wire.push_value (local.get $kinds) (call $std.wire.finish (local.get $kind))))
  (local.set $kind (call $std.wire.begin (i32.const 32)))
  (check (call $std.wire.push_i32 (local.get $kind) (i32.const 2)))
  (local.set $inner (call $std.wire.begin (i32.const 9)))
  (check (call $std.wire.push_u8 (local.get $inner) (i32.const 9)))
  (check (call $std.wire.push_i64 (local.get $inner) (i64.const -1)))
  (check (call $std.wire.push_value (local.get $kind) (call $std.wire.finish (local.get $inner))))
  (check (call $std.wire.push_value (local.get $kinds) (call $std.wire.finish (local.get $kind))))
  ;; inner: Named
  (local.set $inner (call $std.wire.begin (i32.const 32)))
  (check (call $std.wire.push_value (local.get $inner) "inner"))
  (check (call $std.wire.push_i32 (local.get $inner) (i32.const 42)))
  ;; The record.
  (local.set $b (call $std.wire.begin (i32.const 512)))
  (check (call $std.wire.push_i64 (local.get $b) (i64.const -9223372036854775808)))
  (check (call $std.wire.push_u8 (local.get $b) (i32.const 1)))
  (check (call $std.wire.push_value (local.get $b) (call $std.wire.finish (local.get $tags))))
  (check (call $std.wire.push_value (local.get $b) (call $std.wire.finish (local.get $point))))
  (check (call $std.wire.push_value (local.get $b) (call $std.wire.finish (local.get $note))))
  (check (call $std.wire.push_value (local.get $b) (call $std.wire.finish (local.get $missing))))
  (check (call $std.wire.push_value (local.get $b) (call $std.wire.finish (local.get $kinds))))
  (check (call $std.wire.push_value (local.get $b) (call $std.wire.finish (local.get $inner))))
  (resv (call $std.wire.finish (local.get $b)))
  (i32.const 0))"#,
        &[],
    );
    assert_result(
        &outcome,
        0,
        &Record {
            id: i64::MIN,
            active: true,
            tags: vec!["red".into(), "".into(), "blue".into()],
            point: (3, -4),
            note: Some("hi".into()),
            missing: None,
            kinds: vec![Kind::Empty, Kind::Count(7), Kind::Pair(9, -1)],
            inner: Named {
                name: "inner".into(),
                count: 42,
            },
        },
    );
}

#[test]
fn a_builder_makes_a_map() {
    let outcome = run(
        r#"(func $run (result i32)
  (local $b i32)
  (local.set $b (call $std.wire.begin (i32.const 64)))
  (check (call $std.wire.push_value (local.get $b) "a"))
  (check (call $std.wire.push_i32 (local.get $b) (i32.const 1)))
  (check (call $std.wire.push_value (local.get $b) "b"))
  (check (call $std.wire.push_i32 (local.get $b) (i32.const 2)))
  (resv (call $std.wire.finish (local.get $b)))
  (i32.const 0))"#,
        &[],
    );
    assert_result(
        &outcome,
        0,
        &BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 2)]),
    );
}

/// A builder fed only text is a string: a greeting built from pieces.
#[test]
fn a_builder_makes_a_string() {
    let outcome = run(
        r#"(func $run (result i32)
  (local $b i32)
  (argv 0 $name)
  (local.set $b (call $std.wire.begin (i32.const 64)))
  (check (call $std.wire.push_text (local.get $b) "hello, "))
  (check (call $std.wire.push_text (local.get $b) (call $std.str.to_upper (local.get $name))))
  (check (call $std.wire.push_raw (local.get $b) (i32.add "!?" (i32.const 4)) (i32.const 1)))
  (resv (call $std.wire.finish (local.get $b)))
  ;; Past its first capacity, a builder grows.
  (local.set $b (call $std.wire.begin (i32.const 4)))
  (check (call $std.wire.push_text (local.get $b) "12345"))
  (check (call $std.wire.push_text (local.get $b) "6789"))
  (resv (call $std.wire.finish (local.get $b)))
  ;; Finished, it takes no more: the status comes back from `run`.
  (check (call $std.wire.push_text (local.get $b) "0"))
  (i32.const 0))"#,
        &["wörld"],
    );
    assert_eq!(outcome.status, 4);
    assert_eq!(outcome.result::<String>(0).unwrap(), "hello, WöRLD!");
    assert_eq!(outcome.result::<String>(1).unwrap(), "123456789");
}

/// Formatting, against Rust's: every value to a string, gathered with
/// `wire.strings`.
#[test]
fn numbers_format_as_rust_formats_them() {
    let values = [
        0i64,
        1,
        -1,
        9,
        10,
        -10,
        255,
        256,
        i64::from(i32::MAX),
        i64::from(i32::MIN),
        i64::from(u32::MAX),
        1 << 32,
        1_234_567_890_123,
        -987_654_321_098_765,
        i64::MAX,
        i64::MIN,
        i64::MIN + 1,
    ];
    // Four strings per value: i64.to_str, i64.to_hex, and i32.to_str and
    // i32.to_hex of its low 32 bits.
    let mut source = String::from(
        "(func $run (result i32)\n  (local $ptrs i32)\n  (local $n i64)\n  \
         (local.set $ptrs (call $core.alloc (i32.const 4096)))\n",
    );
    for (i, value) in values.iter().enumerate() {
        let at = i * 16;
        source += &format!(
            "  (local.set $n (i64.const {value}))
  (i32.store offset={} (local.get $ptrs) (call $std.i64.to_str (local.get $n)))
  (i32.store offset={} (local.get $ptrs) (call $std.i64.to_hex (local.get $n)))
  (i32.store offset={} (local.get $ptrs) (call $std.i32.to_str (i32.wrap_i64 (local.get $n))))
  (i32.store offset={} (local.get $ptrs) (call $std.i32.to_hex (i32.wrap_i64 (local.get $n))))\n",
            at,
            at + 4,
            at + 8,
            at + 12
        );
    }
    source += &format!(
        "  (resv (call $std.wire.strings (local.get $ptrs) (i32.const {})))\n  (i32.const 0))",
        values.len() * 4
    );
    let outcome = run(&source, &[]);
    let expected: Vec<String> = values
        .iter()
        .flat_map(|&n| {
            let low = n as i32;
            [
                n.to_string(),
                format!("{:x}", n as u64),
                low.to_string(),
                format!("{:x}", low as u32),
            ]
        })
        .collect();
    assert_result(&outcome, 0, &expected);
}

/// Parses every argument with `i32.parse` and `i64.parse`: a seq of
/// `((i32, status), (i64, status))`, tuples in a tuple.
const PARSE: &str = r#"(func $run (result i32)
  (local $i i32)
  (local $b i32)
  (local $both i32)
  (local $pair i32)
  (local $arg i32)
  (local $value i64)
  (local $value32 i32)
  (local $status i32)
  (local.set $b (call $std.wire.begin (i32.const 65536)))
  (block $done
    (loop $each
      (br_if $done (i32.ge_u (local.get $i) (call $core.argc)))
      (call $core.arg (local.get $i))
      (local.set $status)
      (local.set $arg)
      (check $status)
      (local.set $both (call $std.wire.begin (i32.const 32)))
      ;; (i32, status)
      (local.set $pair (call $std.wire.begin (i32.const 8)))
      (call $std.i32.parse (local.get $arg))
      (local.set $status)
      (local.set $value32)
      (check (call $std.wire.push_i32 (local.get $pair) (local.get $value32)))
      (check (call $std.wire.push_i32 (local.get $pair) (local.get $status)))
      (check (call $std.wire.push_value (local.get $both) (call $std.wire.finish (local.get $pair))))
      ;; (i64, status)
      (local.set $pair (call $std.wire.begin (i32.const 12)))
      (call $std.i64.parse (local.get $arg))
      (local.set $status)
      (local.set $value)
      (check (call $std.wire.push_i64 (local.get $pair) (local.get $value)))
      (check (call $std.wire.push_i32 (local.get $pair) (local.get $status)))
      (check (call $std.wire.push_value (local.get $both) (call $std.wire.finish (local.get $pair))))
      (check (call $std.wire.push_value (local.get $b) (call $std.wire.finish (local.get $both))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
  (resv (call $std.wire.finish (local.get $b)))
  (i32.const 0))"#;

/// What `$std.….parse` should return for `text`, from Rust's `str::parse`.
fn expected_parse<T: std::str::FromStr<Err = std::num::ParseIntError> + Default>(
    text: &str,
) -> (T, i32) {
    use std::num::IntErrorKind;
    match text.parse::<T>() {
        Ok(value) => (value, 0),
        Err(e) => match e.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => (T::default(), 4),
            _ => (T::default(), 1),
        },
    }
}

/// Parsing, against Rust's `str::parse`: every string of up to three
/// characters from a small alphabet, and numbers around each limit.
#[test]
fn numbers_parse_as_rust_parses_them() {
    let alphabet = ["", "0", "7", "9", "-", "+", " ", "x", "/", ":"];
    let mut inputs: Vec<String> = Vec::new();
    for a in alphabet {
        for b in alphabet {
            for c in alphabet {
                inputs.push(format!("{a}{b}{c}"));
            }
        }
    }
    inputs.sort();
    inputs.dedup();
    for limit in [
        i128::from(i32::MIN),
        i128::from(i32::MAX),
        i128::from(u32::MAX),
        i128::from(i64::MIN),
        i128::from(i64::MAX),
        i128::from(u64::MAX),
    ] {
        for delta in -2..=2 {
            let n = limit + delta;
            inputs.push(n.to_string());
            inputs.push(format!("+{n}"));
            inputs.push(format!("0000{n}"));
            inputs.push(format!("{}0", n));
        }
    }
    let args: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let outcome = run(PARSE, &args);
    let got: Vec<((i32, i32), (i64, i32))> = outcome.result(0).unwrap();
    assert_eq!(got.len(), inputs.len());
    let wrong: Vec<String> = inputs
        .iter()
        .zip(got)
        .filter_map(|(text, got)| {
            let want = (expected_parse(text), expected_parse(text));
            (got != want).then(|| format!("{text:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "(i32.parse, i64.parse) of:\n{}",
        wrong.join("\n")
    );
}

/// Compiles `source` once and runs it with each argument list.
fn run_each(source: &str, cases: impl IntoIterator<Item = tape_rt::Args>) -> Vec<Outcome> {
    let program = crate::engine()
        .compile_str("each.wat", source, &tape_rt::Grants::new())
        .unwrap_or_else(|e| panic!("{e}"));
    cases
        .into_iter()
        .map(|args| program.run(&args).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// `replace`, `split_all` and `join` give what Rust's `replace`, `split`
/// and `join` give, on every combination of a few awkward strings.
#[test]
fn replace_split_and_join_agree_with_rust() {
    let texts = [
        "",
        "a",
        "aaa",
        "abcabc",
        "a,b,,c,",
        "héllo wörld",
        "ééé",
        "--x--",
    ];
    let patterns = ["", "a", "aa", ",", "é", "--", "abc", "xyz"];
    let replacements = ["", "-", "ZZZ", "é"];
    let program = r#"(func $run (result i32)
  (argv 0 $s) (argv 1 $from) (argv 2 $to)
  (resv (call $std.str.replace (local.get $s) (local.get $from) (local.get $to)))
  (resv (call $std.str.split_all (local.get $s) (local.get $from)))
  (resv (call $std.str.join (call $std.str.split_all (local.get $s) (local.get $from)) (local.get $to)))
  (i32.const 0))"#;
    let mut cases = Vec::new();
    for s in texts {
        for from in patterns {
            for to in replacements {
                cases.push((s, from, to));
            }
        }
    }
    let outcomes = run_each(
        program,
        cases
            .iter()
            .map(|(s, from, to)| tape_rt::Args::strings([s, from, to])),
    );
    for ((s, from, to), outcome) in cases.iter().zip(&outcomes) {
        let case = format!("{s:?} {from:?} {to:?}");
        assert_eq!(
            outcome.result::<String>(0).unwrap(),
            s.replace(from, to),
            "replace {case}"
        );
        // An empty separator gives the whole string, as split_next does.
        let pieces: Vec<String> = if from.is_empty() {
            vec![s.to_string()]
        } else {
            s.split(from).map(String::from).collect()
        };
        assert_result(outcome, 1, &pieces);
        assert_eq!(
            outcome.result::<String>(2).unwrap(),
            pieces.join(to),
            "join {case}"
        );
    }
}

/// Sorting agrees with Rust's sort: strings bytewise, integers signed.
#[test]
fn sorting_agrees_with_rust() {
    let words: Vec<String> = "the quick brown fox jumps over the lazy dog Zoe zoë é a ab abc b"
        .split(' ')
        .map(String::from)
        .collect();
    let mut x = 7u64;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x
    };
    let i32s: Vec<i32> = (0..500).map(|_| next() as i32).collect();
    let i64s: Vec<i64> = (0..500).map(|_| next() as i64).collect();
    let outcome = crate::run_with(
        r#"(func $run (result i32)
  (argv 0 $words) (argv 1 $i32s) (argv 2 $i64s)
  (check (call $std.seq.sort_str (local.get $words)))
  (check (call $std.seq.sort_i32 (local.get $i32s)))
  (check (call $std.seq.sort_i64 (local.get $i64s)))
  (resv (local.get $words))
  (resv (local.get $i32s))
  (resv (local.get $i64s))
  (i32.const 0))"#,
        tape_rt::Args::new()
            .push(&words)
            .unwrap()
            .push(&i32s)
            .unwrap()
            .push(&i64s)
            .unwrap(),
        tape_rt::Grants::new(),
    );
    let (mut words, mut i32s, mut i64s) = (words, i32s, i64s);
    words.sort();
    i32s.sort();
    i64s.sort();
    assert_result(&outcome, 0, &words);
    assert_result(&outcome, 1, &i32s);
    assert_result(&outcome, 2, &i64s);
}

/// Powers agree with `checked_pow`, and float text with Rust's `{:?}`,
/// `{:.N}` and `parse`.
#[test]
fn powers_and_floats_agree_with_rust() {
    let program = r#"(func $run (result i32)
  (local $value i64) (local $status i32) (local $x f64)
  (argv 0 $base) (argv 1 $exp) (argv 2 $float) (argv 3 $decimals)
  (call $std.i64.pow (i64.load (local.get $base)) (i32.load (local.get $exp)))
  (local.set $status) (local.set $value)
  (resv (call $std.wire.i64 (local.get $value)))
  (resv (call $std.wire.i32 (local.get $status)))
  (local.set $x (f64.load (local.get $float)))
  (resv (call $std.f64.to_str (local.get $x)))
  (resv (call $std.f64.to_fixed (local.get $x) (i32.load (local.get $decimals))))
  (call $std.f64.parse (call $std.f64.to_str (local.get $x)))
  (local.set $status) (local.set $x)
  (resv (call $std.wire.f64 (local.get $x)))
  (i32.const 0))"#;
    let bases = [0i64, 1, -1, 2, -2, 3, 10, -10, 1 << 31, i64::MAX, i64::MIN];
    let exps = [0i32, 1, 2, 3, 31, 32, 62, 63, 64];
    let floats = [
        0.0f64,
        -0.0,
        0.1,
        1.0 / 3.0,
        2.345,
        1e21,
        1e-7,
        123456.789,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        f64::INFINITY,
    ];
    let mut cases = Vec::new();
    for (i, base) in bases.iter().enumerate() {
        for exp in exps {
            cases.push((
                *base,
                exp,
                floats[(i + exp as usize) % floats.len()],
                (exp % 7) as usize,
            ));
        }
    }
    let outcomes = run_each(
        program,
        cases.iter().map(|(base, exp, x, decimals)| {
            tape_rt::Args::new()
                .push(base)
                .unwrap()
                .push(exp)
                .unwrap()
                .push(x)
                .unwrap()
                .push(&(*decimals as i32))
                .unwrap()
        }),
    );
    for ((base, exp, x, decimals), outcome) in cases.iter().zip(&outcomes) {
        let (value, status) = match base.checked_pow(*exp as u32) {
            Some(value) => (value, 0),
            None => (0, 4),
        };
        assert_eq!(outcome.result::<i64>(0).unwrap(), value, "{base}^{exp}");
        assert_eq!(outcome.result::<i32>(1).unwrap(), status, "{base}^{exp}");
        assert_eq!(outcome.result::<String>(2).unwrap(), format!("{x:?}"));
        assert_eq!(
            outcome.result::<String>(3).unwrap(),
            format!("{x:.decimals$}")
        );
        assert_eq!(outcome.result::<f64>(4).unwrap().to_bits(), x.to_bits());
    }
}

/// A reader takes apart what tape-protocol makes of a Rust struct.
#[test]
fn readers_read_what_rust_writes() {
    #[derive(Serialize)]
    struct Record {
        id: u32,
        name: String,
        tags: Vec<String>,
        at: i64,
        ok: bool,
        ratio: f64,
        maybe: Option<u32>,
    }
    let record = Record {
        id: 7,
        name: "ada".into(),
        tags: vec!["x".into(), "".into(), "zz".into()],
        at: -5,
        ok: true,
        ratio: 0.25,
        maybe: Some(9),
    };
    let outcome = crate::run_with(
        r#"(func $run (result i32)
  (local $r i32) (local $ratio f64) (local $status i32) (local $at i64) (local $maybe i32)
  (argv 0 $record)
  (local.set $r (call $std.wire.reader (local.get $record)))
  (bind $id (call $std.wire.read_i32 (local.get $r)))
  (bind $name (call $std.wire.read_value (local.get $r)))
  (bind $tags (call $std.wire.read_value (local.get $r)))
  (call $std.wire.read_i64 (local.get $r)) (local.set $status) (local.set $at) (check $status)
  (bind $ok (call $std.wire.read_u8 (local.get $r)))
  (call $std.wire.read_f64 (local.get $r)) (local.set $status) (local.set $ratio) (check $status)
  (bind $option (call $std.wire.read_value (local.get $r)))
  (resv (call $std.wire.i32 (local.get $id)))
  (resv (local.get $name))
  (resv (call $std.wire.i32 (call $std.seq.count (local.get $tags))))
  (resv (call $std.str.join (local.get $tags) "+"))
  (resv (call $std.wire.i64 (local.get $at)))
  (resv (call $std.wire.i32 (local.get $ok)))
  (resv (call $std.wire.f64 (local.get $ratio)))
  ;; The option: its tag, then the value.
  (local.set $r (call $std.wire.reader (local.get $option)))
  (bind $tag (call $std.wire.read_u8 (local.get $r)))
  (bind $maybe (call $std.wire.read_i32 (local.get $r)))
  (resv (call $std.wire.i32 (local.get $maybe)))
  (resv (call $std.wire.i32 (call $std.wire.remaining (local.get $r))))
  (i32.const 0))"#,
        tape_rt::Args::new().push(&record).unwrap(),
        tape_rt::Grants::new(),
    );
    assert_eq!(outcome.status, 0, "{outcome:?}");
    assert_eq!(outcome.result::<u32>(0).unwrap(), 7);
    assert_eq!(outcome.result::<String>(1).unwrap(), "ada");
    assert_eq!(outcome.result::<i32>(2).unwrap(), 3);
    assert_eq!(outcome.result::<String>(3).unwrap(), "x++zz");
    assert_eq!(outcome.result::<i64>(4).unwrap(), -5);
    assert_eq!(outcome.result::<i32>(5).unwrap(), 1);
    assert_eq!(outcome.result::<f64>(6).unwrap(), 0.25);
    assert_eq!(outcome.result::<u32>(7).unwrap(), 9);
    assert_eq!(outcome.result::<i32>(8).unwrap(), 0);
}
