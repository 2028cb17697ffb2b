//! Linking against grants: what is missing is reported before any run.

use tape_caps::Log;
use tape_rt::wasmtime::{self, Linker};
use tape_rt::{Args, Capability, Error, ErrorKind, Function, Grants, LinkProblem, Spec, State};

use crate::engine;

fn link(source: &str, grants: &Grants) -> Result<tape_rt::Program, Error> {
    engine().compile_str("test.wat", source, grants)
}

#[test]
fn an_ungranted_capability_is_refused_naming_the_grant() {
    let source = r#"(func $run (result i32) (call $log.write (i32.const 2) "x"))"#;
    let error = link(source, &tape_caps::grants()).unwrap_err();
    let ErrorKind::NotGranted { problems } = error.kind() else {
        panic!("{error}")
    };
    assert_eq!(
        problems,
        &[LinkProblem::NotGranted {
            module: "log".into(),
            function: "write".into()
        }]
    );
    assert_eq!(
        error.to_string(),
        "cannot link the module: `log.write` belongs to the `log` capability, which is not granted; grant `log` to run this program"
    );
    assert!(link(source, &tape_caps::grants().grant(Log::new())).is_ok());
}

#[test]
fn an_import_no_capability_provides_is_missing() {
    let error = link(
        r#"(module (import "env" "f" (func)) (func $run (result i32) (i32.const 0)))"#,
        &tape_caps::grants(),
    )
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MissingImport { problems } if problems.len() == 1),
        "{error}"
    );
    assert!(
        error.to_string().contains(
            "`env.f`: no capability provides it; there is no capability `env` (known: core, log"
        ),
        "{error}"
    );

    let error = link(
        r#"(module (import "core" "exit" (func)) (func $run (result i32) (i32.const 0)))"#,
        &tape_caps::grants(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains(
            "the `core` capability does not have `exit` (it has: argc, arg, result, reason, alloc, f64_format, f64_parse)"
        ),
        "{error}"
    );
}

#[test]
fn every_link_problem_is_reported_at_once() {
    let error = link(
        r#"(module
             (import "env" "f" (func))
             (import "core" "exit" (func (param i32)))
             (import "core" "alloc" (func (param i64) (result i32)))
             (import "env" "g" (global i32))
             (func $run (result i32)
               (drop (call $log.write (i32.const 2) "x"))
               (i32.const 0)))"#,
        &tape_caps::grants(),
    )
    .unwrap_err();
    let ErrorKind::MissingImport { problems } = error.kind() else {
        panic!("{error}")
    };
    let names: Vec<String> = problems
        .iter()
        .map(|p| format!("{}.{}", p.module(), p.name()))
        .collect();
    // In import order: the compiler puts the imports it adds (`log.write`)
    // first. A wrong type is looked for only once every name resolves, so
    // `core.alloc` is not among these.
    assert_eq!(
        names,
        ["log.write", "env.f", "core.exit", "env.g"],
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.starts_with("cannot link the module: 4 problems (grant: log)\n  - `log.write`"),
        "{text}"
    );
    assert!(
        text.contains("\n  - `env.g` is imported as a global; capabilities provide only functions")
    );
    assert!(text.contains("\n  - `log.write` belongs to the `log` capability"));
}

#[test]
fn every_wrongly_typed_import_is_reported() {
    let error = link(
        r#"(module
             (import "core" "alloc" (func (param i64) (result i32)))
             (import "core" "argc" (func (result i64)))
             (import "core" "result" (func (param i32) (result i32)))
             (func $run (result i32) (i32.const 0)))"#,
        &tape_caps::grants(),
    )
    .unwrap_err();
    let ErrorKind::MissingImport { problems } = error.kind() else {
        panic!("{error}")
    };
    assert_eq!(
        problems,
        &[
            LinkProblem::WrongType {
                module: "core".into(),
                name: "alloc".into(),
                expected: "(param i32) (result i32)".into(),
                found: "(param i64) (result i32)".into(),
            },
            LinkProblem::WrongType {
                module: "core".into(),
                name: "argc".into(),
                expected: "(result i32)".into(),
                found: "(result i64)".into(),
            },
        ]
    );
    assert!(error.to_string().contains(
        "`core.alloc` is imported as `(param i64) (result i32)`, but the `core` capability defines it as `(param i32) (result i32)`"
    ));
}

#[test]
fn several_ungranted_capabilities_are_named_once_each() {
    let error = link(
        r#"(func $run (result i32)
             (drop (call $log.write (i32.const 2) "x"))
             (call $log.write (i32.const 3) "y"))"#,
        &tape_caps::grants(),
    )
    .unwrap_err();
    let ErrorKind::NotGranted { problems } = error.kind() else {
        panic!("{error}")
    };
    // One import, however often it is called.
    assert_eq!(problems.len(), 1);
}

#[test]
fn run_of_the_wrong_type_is_refused_and_a_missing_run_is_reported_by_run() {
    // The compiler refuses a `$run` of another type, where it is defined.
    let error = link(
        "(func $run (result i64) (i64.const 0))",
        &tape_caps::grants(),
    )
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Compile(_)) && error.to_string().contains("test.wat:1:7"),
        "{error}"
    );
    // The runtime refuses a `run` exported by hand with another type.
    let error = link(
        r#"(func $main (export "run") (result i64) (i64.const 0))"#,
        &tape_caps::grants(),
    )
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MissingExport { name, .. } if name == "run"),
        "{error}"
    );
    // Without `run` a module links (its exports can be invoked), and `run`
    // says what is missing.
    let program = link(
        r#"(func $main (export "main") (result i32) (i32.const 0))"#,
        &tape_caps::grants(),
    )
    .unwrap();
    let error = program.run(&Args::new()).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MissingExport { name, .. } if name == "run"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("define `(func $run (result i32)")
    );
}

#[test]
fn a_compile_error_keeps_its_diagnostics() {
    let error = link(
        "(func $run (result i32)\n  (i32.bogus))",
        &tape_caps::grants(),
    )
    .unwrap_err();
    let ErrorKind::Compile(compile) = error.kind() else {
        panic!("{error}")
    };
    assert!(compile.diagnostics().is_some());
    assert!(error.to_string().contains("test.wat:2:4"), "{error}");
}

#[test]
fn a_module_built_earlier_loads_and_a_foreign_one_is_refused() {
    let options = tape_compiler::Options {
        catalogue: tape_caps::grants().catalogue(),
        ..Default::default()
    };
    let compiled = tape_compiler::compile_str(
        "x.wat",
        r#"(func $run (result i32) (call $core.result "built"))"#,
        &options,
    )
    .unwrap();
    let program = engine().load(&compiled.wasm, &tape_caps::grants()).unwrap();
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), "built");

    let foreign =
        wat::parse_str(r#"(module (func (export "run") (result i32) (i32.const 0)))"#).unwrap();
    let error = engine().load(&foreign, &tape_caps::grants()).unwrap_err();
    assert!(error.to_string().contains("no `tape` section"), "{error}");
}

#[test]
fn a_module_wasmtime_rejects_is_a_module_error() {
    let options = tape_compiler::Options {
        catalogue: tape_caps::grants().catalogue(),
        ..Default::default()
    };
    let mut wasm = tape_compiler::compile_str(
        "x.wat",
        "(func $run (result i32) (i32.const 1234567))",
        &options,
    )
    .unwrap()
    .wasm;
    // `i32.const 1234567` (0x41 and its LEB128) becomes `i64.const`: the
    // function now returns the wrong type, which only validation sees.
    let leb = [0x87, 0xad, 0xcb, 0x00];
    let at = wasm
        .windows(5)
        .position(|w| w[0] == 0x41 && w[1..] == leb)
        .unwrap();
    wasm[at] = 0x42;
    let error = engine().load(&wasm, &tape_caps::grants()).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Module { .. }), "{error}");
    assert!(
        error.to_string().starts_with("cannot compile the module: "),
        "{error}"
    );
}

/// `broken.f` exists in the catalogue, but registering it always fails.
struct Broken;

impl Capability for Broken {
    fn spec(&self) -> &Spec {
        const SPEC: Spec = Spec::new(
            "broken",
            "cannot define its functions",
            &[Function::new("f", "(result i32)")],
        );
        &SPEC
    }

    fn register(&self, _linker: &mut Linker<State>) -> wasmtime::Result<()> {
        Err(wasmtime::format_err!("out of order"))
    }
}

/// Only the capabilities a module imports from are defined for it: a
/// granted one it does not call costs it nothing, not even a failure.
#[test]
fn only_imported_capabilities_are_registered() {
    let grants = tape_caps::grants().grant(Log::new()).grant(Broken);
    let program = link("(func $run (result i32) (i32.const 0))", &grants).unwrap();
    assert_eq!(program.run(&Args::new()).unwrap().status, 0);

    let error = link("(func $run (result i32) (call $broken.f))", &grants).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Capability { name, .. } if name == "broken"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the `broken` capability failed: cannot register its functions: out of order"
    );
}

/// A `log` of the host's own, with only `note`.
struct Notes;

impl Capability for Notes {
    fn spec(&self) -> &Spec {
        const SPEC: Spec = Spec::new(
            "log",
            "a log with notes only",
            &[Function::new("note", "(result i32)")],
        );
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        linker.func_wrap("log", "note", || 7)?;
        Ok(())
    }
}

/// A granted capability takes the place of the built-in one of its name
/// in the compiler's catalogue, as it does in linking: its functions are
/// there, the built-in one's are not.
#[test]
fn a_granted_capability_replaces_the_builtin_of_its_name() {
    let grants = tape_caps::grants().grant(Notes);
    let program = link("(func $run (result i32) (call $log.note))", &grants).unwrap();
    assert_eq!(program.run(&Args::new()).unwrap().status, 7);
    let error = link(
        r#"(func $run (result i32) (call $log.write (i32.const 2) "x"))"#,
        &grants,
    )
    .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Compile(_)), "{error}");
    assert!(error.to_string().contains("log.write"), "{error}");
}
