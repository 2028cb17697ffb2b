//! Declared arguments through the runtime's API: each type reaches the
//! guest as `(argv $name)` reads it, defaults fill in, and every wrong
//! value is refused before the run, naming the argument.

use serde_json::json;
use tape_rt::{ArgType, ArgumentError, Grants, Program};

use crate::program;

/// Hands back each declared argument as text the test can read: a string
/// as it is, a number formatted by the library.
const TYPED: &str = r#"
(arg $name str "who")
(arg $count i32 "how many")
(arg $big u64 "a large one")
(arg $ratio f64 "a fraction" (default 0.5))
(arg $loud bool "shout" (default false))
(arg $doc json "settings" (default "{}"))
(func $run (result i32)
  (argv $name) (argv $count) (argv $big) (argv $ratio) (argv $loud) (argv $doc)
  (resv $name)
  (resv (call $std.i32.to_str (local.get $count)))
  (resv (call $std.i64.to_str (local.get $big)))
  (resv (call $std.i32.to_str (i32.trunc_f64_s (f64.mul (local.get $ratio) (f64.const 100)))))
  (resv (call $std.i32.to_str (local.get $loud)))
  (resv $doc)
  (i32.const 0))"#;

fn typed() -> Program {
    program(TYPED, &Grants::new())
}

fn results(program: &Program, args: &tape_rt::Args) -> Vec<String> {
    let outcome = program.run(args).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.status, 0);
    (0..outcome.results.len())
        .map(|i| outcome.result::<String>(i).unwrap())
        .collect()
}

#[test]
fn the_program_lists_its_declarations() {
    let program = typed();
    let arguments = program.arguments();
    let names: Vec<&str> = arguments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["name", "count", "big", "ratio", "loud", "doc"]);
    assert_eq!(arguments[2].ty, ArgType::U64);
    assert_eq!(arguments[3].default.as_deref(), Some("0.5"));
    assert_eq!(arguments[0].description, "who");
}

#[test]
fn words_are_converted_to_their_declared_types_and_defaults_fill_in() {
    let program = typed();
    let args = program
        .args_from_text(&["Ada", "-7", "18446744073709551615"])
        .unwrap();
    assert_eq!(
        results(&program, &args),
        ["Ada", "-7", "-1", "50", "0", "{}"]
    );
    let args = program
        .args_from_text(&["Ada", "5", "1", "0.25", "true", r#"{"a": 1}"#])
        .unwrap();
    assert_eq!(
        results(&program, &args),
        ["Ada", "5", "1", "25", "1", r#"{"a": 1}"#]
    );
}

#[test]
fn a_json_object_gives_arguments_by_name_in_any_order() {
    let program = typed();
    let args = program
        .args_from_json(&json!({
            "doc": {"b": [true, null]},
            "big": 3,
            "count": -2,
            "name": "Grace",
            "loud": true,
        }))
        .unwrap();
    // A `json` argument is any JSON value, handed over as compact text.
    assert_eq!(
        results(&program, &args),
        ["Grace", "-2", "3", "50", "1", r#"{"b":[true,null]}"#]
    );
}

#[test]
fn wrong_words_are_refused_naming_the_argument() {
    let program = typed();
    let error = |words: &[&str]| program.args_from_text(words).unwrap_err();
    assert_eq!(
        error(&["Ada", "5.5", "1"]).to_string(),
        "argument `count` (i32): `5.5` is not a valid i32: invalid digit found in string"
    );
    assert!(matches!(
        error(&["Ada"]),
        ArgumentError::Missing { ref name, .. } if name == "count"
    ));
    assert_eq!(
        error(&["Ada", "1"]).to_string(),
        "missing argument `big` (u64): a large one"
    );
    assert_eq!(
        error(&["a", "1", "2", "0.1", "true", "{}", "extra"]).to_string(),
        "7 arguments given, but the program takes at most 6"
    );
    assert!(
        error(&["a", "1", "2", "0.1", "yes"])
            .to_string()
            .contains("`yes` is not a bool: write `true` or `false`")
    );
    assert!(
        error(&["a", "1", "2", "0.1", "true", "{oops}"])
            .to_string()
            .contains("argument `doc` (json): `{oops}` is not valid JSON")
    );
}

#[test]
fn wrong_json_is_refused_naming_the_argument() {
    let program = typed();
    let error = |value| program.args_from_json(&value).unwrap_err().to_string();
    assert_eq!(
        error(json!(["Ada"])),
        "the arguments must be a JSON object with one property per argument, not an array"
    );
    assert_eq!(
        error(json!({"name": "Ada", "count": 1, "big": 1, "who": 2})),
        "the program has no argument `who`"
    );
    assert_eq!(
        error(json!({"name": "Ada", "count": "5", "big": 1})),
        "argument `count` (i32): expected an integer from -2147483648 to 2147483647, not a string: `\"5\"`"
    );
    assert!(
        error(json!({"name": "Ada", "count": 2147483648u64, "big": 1}))
            .contains("expected an integer")
    );
    assert!(
        error(json!({"name": "Ada", "count": 1, "big": -1}))
            .contains("from 0 to 18446744073709551615")
    );
    assert!(
        error(json!({"name": 1, "count": 1, "big": 1})).contains("expected a string, not a number")
    );
    assert_eq!(
        error(json!({"name": "Ada", "big": 1})),
        "missing argument `count` (i32): how many"
    );
}

#[test]
fn a_builder_checks_typed_values_and_bytes_against_the_declaration() {
    let program = typed();
    let mut builder = program.args_builder();
    builder
        .typed(0, ArgType::Str, "str:Ada", b"\x03\0\0\0Ada".to_vec())
        .unwrap();
    let error = builder
        .typed(1, ArgType::Str, "str:x", b"\x01\0\0\0x".to_vec())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "argument `count` is an i32, but `str:x` is a str"
    );
    assert!(
        builder
            .bytes(1, b"12")
            .unwrap_err()
            .to_string()
            .contains("not as bytes")
    );
    assert!(matches!(
        builder.text(0, "again"),
        Err(ArgumentError::Twice { .. })
    ));
    builder.text(1, "1").unwrap();
    builder.text(2, "1").unwrap();
    // A `json` argument from bytes (a file) is checked as JSON text.
    assert!(
        builder
            .bytes(5, b"{")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON")
    );
    builder.bytes(5, b"[1]").unwrap();
    let args = builder.finish().unwrap();
    assert_eq!(
        results(&program, &args),
        ["Ada", "1", "1", "50", "0", "[1]"]
    );
}

#[test]
fn a_program_without_declarations_takes_words_as_strings() {
    let program = program(
        r#"(func $run (result i32) (argv 0 $a) (resv $a) (i32.const 0))"#,
        &Grants::new(),
    );
    assert!(program.arguments().is_empty());
    let args = program.args_from_text(&["5"]).unwrap();
    assert_eq!(results(&program, &args), ["5"]);
    assert!(program.args_from_json(&json!({})).is_ok());
    assert!(matches!(
        program.args_from_json(&json!({"a": 1})),
        Err(ArgumentError::Unknown { .. })
    ));
}
