//! Linking against grants: what is missing is reported before any run.

use tape_rt::{Error, Grants, Log};

use crate::engine;

fn link(source: &str, grants: &Grants) -> Result<tape_rt::Program, Error> {
    engine().compile_str("test.wat", source, grants)
}

#[test]
fn an_ungranted_capability_is_refused_naming_the_grant() {
    let source = r#"(func $run (result i32) (call $log.write (i32.const 2) "x"))"#;
    let error = link(source, &Grants::new()).unwrap_err();
    assert!(
        matches!(&error, Error::NotGranted { module, function } if module == "log" && function == "write"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("`log` capability, which is not granted")
    );
    assert!(link(source, &Grants::new().grant(Log::new())).is_ok());
}

#[test]
fn an_import_no_capability_provides_is_missing() {
    let error = link(
        r#"(module (import "env" "f" (func)) (func $run (result i32) (i32.const 0)))"#,
        &Grants::new(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::MissingImport { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("`env.f`, which no capability provides")
    );

    let error = link(
        r#"(module (import "core" "exit" (func)) (func $run (result i32) (i32.const 0)))"#,
        &Grants::new(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("does not have (it has: argc, arg, result, alloc)"),
        "{error}"
    );
}

#[test]
fn a_program_without_run_is_refused() {
    let error = link("(func $main (result i32) (i32.const 0))", &Grants::new()).unwrap_err();
    assert!(
        matches!(&error, Error::MissingExport { name, .. } if name == "run"),
        "{error}"
    );
    let error = link("(func $run (result i64) (i64.const 0))", &Grants::new()).unwrap_err();
    assert!(
        matches!(&error, Error::MissingExport { name, .. } if name == "run"),
        "{error}"
    );
}

#[test]
fn a_compile_error_keeps_its_diagnostics() {
    let error = link("(func $run (result i32)\n  (i32.bogus))", &Grants::new()).unwrap_err();
    let Error::Compile(compile) = &error else {
        panic!("{error}")
    };
    assert!(compile.diagnostics().is_some());
    assert!(error.to_string().contains("test.wat:2:4"), "{error}");
}

#[test]
fn a_module_built_earlier_loads_and_a_foreign_one_is_refused() {
    let options = tape_compiler::Options {
        catalogue: Grants::new().catalogue(),
        ..Default::default()
    };
    let compiled = tape_compiler::compile_str(
        "x.wat",
        r#"(func $run (result i32) (call $core.result "built"))"#,
        &options,
    )
    .unwrap();
    let program = engine().load(&compiled.wasm, &Grants::new()).unwrap();
    let outcome = program.run(&tape_rt::Args::new()).unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), "built");

    let foreign =
        wat::parse_str(r#"(module (func (export "run") (result i32) (i32.const 0)))"#).unwrap();
    let error = engine().load(&foreign, &Grants::new()).unwrap_err();
    assert!(error.to_string().contains("no `tape` section"), "{error}");
}
