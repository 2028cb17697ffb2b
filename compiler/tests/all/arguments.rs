//! Declared arguments: what the metadata records, how a section of the
//! first format version still reads, and how each type parses.

use serde::Serialize;
use tape_compiler::{ArgType, Argument, Metadata};

use crate::{compile, compile_error};

#[test]
fn declarations_are_recorded_in_order_with_their_defaults() {
    let out = compile(
        r#"(arg $name str "who to greet")
(arg $times i32 "how many times" (default 3))
(arg $doc json "settings" (default "{\"a\": [1, 2]}"))
(func $run (result i32) (argv $name) (argv $times) (i32.const 0))"#,
    );
    let arguments = &out.metadata.arguments;
    assert_eq!(
        arguments,
        &[
            Argument {
                name: "name".into(),
                ty: ArgType::Str,
                description: "who to greet".into(),
                default: None,
            },
            Argument {
                name: "times".into(),
                ty: ArgType::I32,
                description: "how many times".into(),
                default: Some("3".into()),
            },
            Argument {
                name: "doc".into(),
                ty: ArgType::Json,
                description: "settings".into(),
                default: Some(r#"{"a": [1, 2]}"#.into()),
            },
        ]
    );
    assert!(arguments[0].is_required() && !arguments[1].is_required());
    // What the module carries is what the compiler returned.
    let read = Metadata::from_module(&out.wasm).unwrap().unwrap();
    assert_eq!(read.arguments, *arguments);
    assert_eq!(read.version, 2);
}

#[test]
fn a_program_without_declarations_records_none() {
    let out = compile(r#"(func $run (result i32) (argv 0 $x) (i32.const 0))"#);
    assert!(out.metadata.arguments.is_empty());
}

/// The layout of format version 1, before `arguments`.
#[derive(Serialize)]
struct V1 {
    version: u32,
    initial_top: u32,
    imports: Vec<tape_compiler::Import>,
    literals: Vec<tape_compiler::Literal>,
    file: String,
    lines: Vec<tape_compiler::LineEntry>,
}

#[test]
fn a_section_of_format_version_1_reads_as_declaring_no_arguments() {
    let v1 = V1 {
        version: 1,
        initial_top: 24,
        imports: vec![tape_compiler::Import {
            module: "core".into(),
            name: "result".into(),
        }],
        literals: Vec::new(),
        file: "old.wat".into(),
        lines: Vec::new(),
    };
    let bytes = tape_protocol::to_vec(&v1).unwrap();
    let metadata = Metadata::decode(&bytes).unwrap();
    assert_eq!(metadata.version, 1);
    assert_eq!(metadata.initial_top, 24);
    assert_eq!(metadata.file, "old.wat");
    assert!(metadata.arguments.is_empty());

    let mut future = bytes.clone();
    future[4..8].copy_from_slice(&9u32.to_le_bytes());
    let error = Metadata::decode(&future).unwrap_err().to_string();
    assert!(error.contains("format version 9"), "{error}");
    assert!(error.contains("rebuild the module"), "{error}");
}

#[test]
fn each_type_parses_its_text_form() {
    let ok = |ty: ArgType, text: &str| ty.parse_text(text).unwrap();
    assert_eq!(ok(ArgType::Str, "hi"), [2, 0, 0, 0, b'h', b'i']);
    assert_eq!(ok(ArgType::I32, "-2"), [0xfe, 0xff, 0xff, 0xff]);
    assert_eq!(ok(ArgType::U32, "4294967295"), [0xff; 4]);
    assert_eq!(ok(ArgType::I64, "258"), [2, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(ok(ArgType::U64, "1"), [1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(ok(ArgType::F32, "1.5"), 1.5f32.to_le_bytes());
    assert_eq!(ok(ArgType::F64, "-0.25"), (-0.25f64).to_le_bytes());
    assert_eq!(ok(ArgType::Bool, "true"), [1]);
    assert_eq!(ok(ArgType::Bool, "false"), [0]);
    // JSON text is checked, then handed over as written.
    assert_eq!(ok(ArgType::Json, "[1, 2]"), b"\x06\0\0\0[1, 2]");
    assert_eq!(ok(ArgType::Bytes, "ab"), [2, 0, 0, 0, b'a', b'b']);

    let err = |ty: ArgType, text: &str| ty.parse_text(text).unwrap_err();
    assert!(err(ArgType::I32, "5.5").contains("`5.5` is not a valid i32"));
    assert!(err(ArgType::I32, "4294967295").contains("not a valid i32"));
    assert!(err(ArgType::U64, "-1").contains("not a valid u64"));
    assert!(err(ArgType::Bool, "yes").contains("write `true` or `false`"));
    assert!(err(ArgType::Json, "{a:1}").contains("not valid JSON"));
    for ty in ArgType::ALL {
        assert_eq!(ArgType::from_name(ty.name()), Some(ty));
    }
    assert_eq!(ArgType::from_name("string"), None);
}

#[test]
fn a_declared_argument_loads_by_name_and_a_number_is_loaded_from_its_pointer() {
    let out = compile(
        r#"(arg $n i64 "a number")
(func $run (result i32) (argv $n) (drop (local.get $n)) (i32.const 0))"#,
    );
    assert!(out.expanded.contains("(local $n i64)"), "{}", out.expanded);
    assert!(
        out.expanded
            .contains("(local.set $n (i64.load (local.get $__tape_arg)))")
    );
}

#[test]
fn errors_in_declarations_are_at_their_place() {
    let error =
        compile_error("(func $run (result i32) (argv $who) (i32.const 0))\n(arg $who text \"x\")");
    assert!(error.contains("test.wat:2:11"), "{error}");
    assert!(error.contains("unknown argument type `text`"), "{error}");
    // The bad declaration is not a declaration, so its use is an error too.
    assert!(
        error.contains("`$who` is not a declared argument"),
        "{error}"
    );
    assert!(error.contains("test.wat:1:31"), "{error}");

    let error =
        compile_error("(arg $a str \"first\")\n(func $run (result i32) (argv $b) (i32.const 0))");
    assert!(error.contains("the program declares $a"), "{error}");

    let error = compile_error("(func $run (result i32) (argv $x) (i32.const 0))");
    assert!(error.contains("declare it at the top level"), "{error}");

    // A local of that name with another type.
    let error = compile_error(
        "(arg $n i64 \"a number\")\n(func $run (result i32) (local $n i32) (argv $n) (i32.const 0))",
    );
    assert!(error.contains("local `$n` is declared as `i64`"), "{error}");
}
