//! The library as a whole: it parses, every function validates, the fixed
//! API is all there with its signatures and tested, and a program gets
//! only what it calls.

use std::collections::BTreeSet;
use std::path::Path;

use tape_compiler::{Library, Options};
use wasmparser::{Parser, Payload};

/// The API other code is written against: names and signatures, exactly.
pub const API: &[(&str, &str)] = &[
    ("$std.str.len", "(param $s i32) (result i32)"),
    ("$std.str.eq", "(param $a i32) (param $b i32) (result i32)"),
    (
        "$std.str.compare",
        "(param $a i32) (param $b i32) (result i32)",
    ),
    (
        "$std.str.concat",
        "(param $a i32) (param $b i32) (result i32)",
    ),
    (
        "$std.str.slice",
        "(param $s i32) (param $start i32) (param $end i32) (result i32)",
    ),
    (
        "$std.str.find",
        "(param $s i32) (param $needle i32) (param $from i32) (result i32)",
    ),
    (
        "$std.str.starts_with",
        "(param $s i32) (param $prefix i32) (result i32)",
    ),
    (
        "$std.str.ends_with",
        "(param $s i32) (param $suffix i32) (result i32)",
    ),
    ("$std.str.to_upper", "(param $s i32) (result i32)"),
    ("$std.str.to_lower", "(param $s i32) (result i32)"),
    ("$std.str.trim", "(param $s i32) (result i32)"),
    (
        "$std.str.split_next",
        "(param $s i32) (param $sep i32) (param $pos i32) (result i32 i32)",
    ),
    (
        "$std.str.words_next",
        "(param $s i32) (param $pos i32) (result i32 i32)",
    ),
    (
        "$std.str.contains",
        "(param $s i32) (param $needle i32) (result i32)",
    ),
    (
        "$std.str.replace",
        "(param $s i32) (param $from i32) (param $to i32) (result i32)",
    ),
    (
        "$std.str.split_all",
        "(param $s i32) (param $sep i32) (result i32)",
    ),
    (
        "$std.str.join",
        "(param $seq i32) (param $sep i32) (result i32)",
    ),
    ("$std.i32.to_str", "(param $n i32) (result i32)"),
    ("$std.i64.to_str", "(param $n i64) (result i32)"),
    ("$std.i32.to_hex", "(param $n i32) (result i32)"),
    ("$std.i64.to_hex", "(param $n i64) (result i32)"),
    ("$std.i32.parse", "(param $s i32) (result i32 i32)"),
    ("$std.i64.parse", "(param $s i32) (result i64 i32)"),
    (
        "$std.i64.mul",
        "(param $a i64) (param $b i64) (result i64 i32)",
    ),
    (
        "$std.i64.pow",
        "(param $base i64) (param $exp i32) (result i64 i32)",
    ),
    (
        "$std.i32.pow",
        "(param $base i32) (param $exp i32) (result i32 i32)",
    ),
    ("$std.f64.to_str", "(param $x f64) (result i32)"),
    (
        "$std.f64.to_fixed",
        "(param $x f64) (param $decimals i32) (result i32)",
    ),
    ("$std.f64.parse", "(param $s i32) (result f64 i32)"),
    (
        "$std.mem.copy",
        "(param $dst i32) (param $src i32) (param $len i32)",
    ),
    (
        "$std.mem.fill",
        "(param $dst i32) (param $byte i32) (param $len i32)",
    ),
    (
        "$std.mem.compare",
        "(param $a i32) (param $b i32) (param $len i32) (result i32)",
    ),
    (
        "$std.wire.bytes",
        "(param $src i32) (param $len i32) (result i32)",
    ),
    (
        "$std.wire.i32s",
        "(param $src i32) (param $count i32) (result i32)",
    ),
    (
        "$std.wire.strings",
        "(param $ptrs i32) (param $count i32) (result i32)",
    ),
    ("$std.wire.begin", "(param $capacity i32) (result i32)"),
    (
        "$std.wire.push_i32",
        "(param $b i32) (param $v i32) (result i32)",
    ),
    (
        "$std.wire.push_i64",
        "(param $b i32) (param $v i64) (result i32)",
    ),
    (
        "$std.wire.push_u8",
        "(param $b i32) (param $v i32) (result i32)",
    ),
    (
        "$std.wire.push_value",
        "(param $b i32) (param $v i32) (result i32)",
    ),
    (
        "$std.wire.push_text",
        "(param $b i32) (param $s i32) (result i32)",
    ),
    (
        "$std.wire.push_raw",
        "(param $b i32) (param $src i32) (param $len i32) (result i32)",
    ),
    (
        "$std.wire.push_f64",
        "(param $b i32) (param $v f64) (result i32)",
    ),
    ("$std.wire.finish", "(param $b i32) (result i32)"),
    ("$std.wire.i32", "(param $v i32) (result i32)"),
    ("$std.wire.i64", "(param $v i64) (result i32)"),
    ("$std.wire.f64", "(param $v f64) (result i32)"),
    ("$std.wire.reader", "(param $v i32) (result i32)"),
    ("$std.wire.remaining", "(param $r i32) (result i32)"),
    ("$std.wire.read_i32", "(param $r i32) (result i32 i32)"),
    ("$std.wire.read_i64", "(param $r i32) (result i64 i32)"),
    ("$std.wire.read_f64", "(param $r i32) (result f64 i32)"),
    ("$std.wire.read_u8", "(param $r i32) (result i32 i32)"),
    ("$std.wire.read_value", "(param $r i32) (result i32 i32)"),
    ("$std.seq.next", "(param $r i32) (result i32)"),
    ("$std.seq.count", "(param $seq i32) (result i32)"),
    (
        "$std.seq.get",
        "(param $seq i32) (param $i i32) (result i32)",
    ),
    ("$std.seq.sort_i32", "(param $seq i32) (result i32)"),
    ("$std.seq.sort_i64", "(param $seq i32) (result i32)"),
    ("$std.seq.sort_str", "(param $seq i32) (result i32)"),
];

/// Helpers beyond the API, documented with it.
pub const EXTRAS: &[(&str, &str)] = &[
    ("$std.ascii.is_space", "(param $c i32) (result i32)"),
    ("$std.wire.alloc", "(param $len i32) (result i32)"),
    (
        "$std.wire.reserve",
        "(param $b i32) (param $n i32) (result i32)",
    ),
    (
        "$std.wire.take",
        "(param $r i32) (param $n i32) (result i32)",
    ),
    ("$std.wire.short", "(param $r i32) (result i32)"),
    (
        "$std.seq.heapsort",
        "(param $base i32) (param $count i32) (param $kind i32)",
    ),
    (
        "$std.seq.sift",
        "(param $base i32) (param $root i32) (param $n i32) (param $kind i32)",
    ),
    (
        "$std.seq.less",
        "(param $base i32) (param $i i32) (param $j i32) (param $kind i32) (result i32)",
    ),
    (
        "$std.seq.swap",
        "(param $base i32) (param $i i32) (param $j i32) (param $kind i32)",
    ),
];

/// Every `$std.…` name the source defines, in order.
pub fn defined() -> Vec<String> {
    tape_stdlib::SOURCE
        .lines()
        .filter_map(|line| line.strip_prefix("(func "))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// The library compiled as a program of its own, every function defined
/// in it, so an error points at its line in `std.wat` (linked on demand,
/// an error would point at the program's first call into the library).
#[test]
fn every_function_compiles_and_validates() {
    let options = Options {
        catalogue: tape_rt::Grants::new().catalogue(),
        library: Library::new(),
        ..Options::default()
    };
    tape_compiler::compile_str("stdlib/src/std.wat", tape_stdlib::SOURCE, &options)
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_library_parses_and_every_function_is_std() {
    let library = Library::parse(tape_stdlib::SOURCE).unwrap();
    let names = defined();
    assert_eq!(library.len(), names.len());
    assert_eq!(library.len(), API.len() + EXTRAS.len());
    for name in &names {
        assert!(name.starts_with("$std."), "{name}");
        assert!(library.contains(&name[1..]), "{name}");
    }
    // The compiler's own copy is this one.
    assert_eq!(Library::standard().len(), library.len());
}

/// Each function of the API and each extra is defined with its exact
/// signature, parameter names included.
#[test]
fn the_api_is_there_with_its_signatures() {
    let names = defined();
    for (name, signature) in API.iter().chain(EXTRAS) {
        let header = format!("(func {name} {signature}\n");
        assert!(
            tape_stdlib::SOURCE.contains(&header),
            "std.wat has no `{}`",
            header.trim_end()
        );
    }
    for name in names {
        assert!(
            API.iter().chain(EXTRAS).any(|(n, _)| *n == name),
            "{name} is neither in the API nor an extra"
        );
    }
}

/// Every function is called by some WAT test.
#[test]
fn every_function_is_tested() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wat");
    let mut tests = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        tests += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    for name in defined() {
        assert!(
            tests.contains(&format!("(call {name} ")),
            "no test in tests/wat/ calls {name}"
        );
    }
}

/// The library functions a program that calls `name` gets, `name`
/// included, and whether it imports `core.alloc`.
pub fn linked_by(name: &str) -> (BTreeSet<String>, bool) {
    let program = format!("(func $run (result i32) (call {name}))");
    let options = Options {
        catalogue: tape_rt::Grants::new().catalogue(),
        ..Options::default()
    };
    let expanded = tape_compiler::expand_str("linked.wat", &program, &options).unwrap();
    let functions = expanded
        .split("(func ")
        .skip(1)
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .filter(|f| f.starts_with("$std."))
        .collect();
    // `core.f64_format` allocates the string it returns in the host.
    let alloc = expanded.contains(r#"(import "core" "alloc""#)
        || expanded.contains(r#"(import "core" "f64_format""#);
    (functions, alloc)
}

/// A program calling only `$std.str.len` gets that one function: the
/// module has two, `$run` and it, and no imports.
#[test]
fn a_program_gets_only_what_it_calls() {
    let compiled = tape_compiler::compile_str(
        "len.wat",
        r#"(func $run (result i32) (drop (call $std.str.len "abc")) (i32.const 0))"#,
        &Options::default(),
    )
    .unwrap();
    let (mut functions, mut imports) = (0, 0);
    for payload in Parser::new(0).parse_all(&compiled.wasm) {
        match payload.unwrap() {
            Payload::FunctionSection(section) => functions = section.count(),
            Payload::ImportSection(section) => imports = section.count(),
            _ => {}
        }
    }
    assert_eq!((functions, imports), (2, 0));
    assert_eq!(
        compiled.expanded.matches("(func $std.").count(),
        1,
        "{}",
        compiled.expanded
    );
    assert_eq!(
        linked_by("$std.str.len"),
        (BTreeSet::from(["$std.str.len".to_string()]), false)
    );
}

/// Comparing strings does not pull in allocation, and splitting pulls in
/// only what it uses.
#[test]
fn dependencies_stay_small() {
    let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        linked_by("$std.str.eq"),
        (names(&["$std.str.eq", "$std.mem.compare"]), false)
    );
    assert_eq!(
        linked_by("$std.str.split_next"),
        (
            names(&[
                "$std.str.split_next",
                "$std.str.find",
                "$std.str.slice",
                "$std.mem.compare",
                "$std.wire.alloc",
            ]),
            true
        )
    );
    assert_eq!(
        linked_by("$std.wire.push_i32"),
        (
            names(&["$std.wire.push_i32", "$std.wire.reserve", "$std.wire.alloc"]),
            true
        )
    );
    // Reading allocates the reader only.
    assert_eq!(
        linked_by("$std.wire.read_i32"),
        (
            names(&[
                "$std.wire.read_i32",
                "$std.wire.take",
                "$std.wire.short",
                "$std.wire.remaining",
            ]),
            false
        )
    );
}
