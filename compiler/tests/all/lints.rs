//! The lints through the compiler's API: what they find, their levels,
//! and the warnings kept in the module.

use tape_compiler::{
    Catalogue, Entry, Level, Lint, Lints, Metadata, Options, Roles, Severity, compile_str,
};

/// A catalogue whose functions have roles, as the runtime's do.
fn options(lints: Lints) -> Options {
    let mut catalogue = Catalogue::new();
    for (module, name, signature, roles) in [
        (
            "core",
            "arg",
            "(param $n i32) (result i32 i32)",
            "index -> ptr status",
        ),
        (
            "core",
            "result",
            "(param $ptr i32) (result i32)",
            "ptr -> status",
        ),
        (
            "json",
            "parse",
            "(param $text i32) (result i32 i32)",
            "str -> handle status",
        ),
        (
            "json",
            "free",
            "(param $h i32) (result i32)",
            "handle -> status",
        ),
        (
            "log",
            "write",
            "(param $level i32) (param $msg i32) (result i32)",
            "num str -> status?",
        ),
    ] {
        catalogue.insert_entry(
            module,
            name,
            Entry {
                signature: signature.into(),
                roles: Some(Roles::parse(roles).unwrap()),
                doc: String::new(),
            },
        );
    }
    Options {
        catalogue,
        lints,
        ..Options::default()
    }
}

fn lints_of(source: &str) -> Vec<(String, String)> {
    let compiled = compile_str("test.wat", source, &options(Lints::default()))
        .unwrap_or_else(|e| panic!("{e}"));
    compiled
        .warnings
        .items()
        .iter()
        .map(|d| (d.code.unwrap().to_string(), d.message.clone()))
        .collect()
}

const SWAPPED: &str = r#"(func $run (result i32)
  (local $ptr i32) (local $status i32)
  (call $core.arg (i32.const 0))
  (local.set $ptr) (local.set $status)
  (check (local.get $status))
  (resv (local.get $ptr))
  (i32.const 0))"#;

#[test]
fn the_swapped_local_set_is_found_at_both_uses() {
    let found = lints_of(SWAPPED);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|(lint, _)| lint == "role-mismatch"));
    assert!(
        found[0].1.contains("`$status` is tested as a status"),
        "{found:?}"
    );
    assert!(found[1].1.contains("`$ptr` holds the status"), "{found:?}");
    // Written the right way round, nothing.
    let right = SWAPPED.replace(
        "(local.set $ptr) (local.set $status)",
        "(local.set $status) (local.set $ptr)",
    );
    assert_eq!(lints_of(&right), []);
}

#[test]
fn each_lint_finds_its_mistake_and_nothing_in_correct_code() {
    let cases = [
        (
            "(func $run (result i32) (local $doc i32) (local $s i32)\n\
             (call $json.parse \"1\") (local.set $s) (local.set $doc)\n\
             (check (call $json.free (local.get $doc))) (i32.const 0))",
            "unused-status",
        ),
        (
            "(func $run (result i32) (local $_s i32)\n\
             (local.set $_s (call $json.free (i32.const 3))) (i32.const 0))",
            "literal-handle",
        ),
        (
            "(func $run (result i32) (drop (call $json.parse \"1\")) (drop) (i32.const 0))",
            "unused-status",
        ),
        (
            // Dropped from the stack after the call, too.
            "(func $run (result i32) (local $h i32) (call $json.parse \"1\") (drop) (local.set $h)\n\
             (check (call $json.free (local.get $h))) (i32.const 0))",
            "unused-status",
        ),
        (
            "(func $run (result i32) (local $x i32) (i32.const 0))",
            "unused-variable",
        ),
        (
            "(func $f (param $n i32)) (func $run (result i32) (call $f (i32.const 1)) (i32.const 0))",
            "unused-variable",
        ),
        (
            "(func $run (result i32) (return (i32.const 0)) (drop (i32.const 1)) (i32.const 0))",
            "unreachable-code",
        ),
    ];
    for (source, lint) in cases {
        let found = lints_of(source);
        assert_eq!(found.len(), 1, "{source}: {found:?}");
        assert_eq!(found[0].0, lint, "{source}: {found:?}");
    }
    for clean in [
        "(func $run (result i32) (local $_unused i32) (i32.const 0))",
        // A status that may be ignored may be dropped.
        "(func $run (result i32) (drop (call $log.write (i32.const 2) \"hi\")) (i32.const 0))",
        "(func $run (result i32) (local $_s i32) (local.set $_s (call $json.parse \"1\")) (drop) (i32.const 0))",
        "(func $run (result i32) (bind $doc (call $json.parse \"1\")) (check (call $json.free (local.get $doc))) (i32.const 0))",
        "(func $run (result i32) (block $b (br $b)) (i32.const 0))",
        // Plain text, with nothing named.
        "(module (func (result i32) i32.const 1 return))",
    ] {
        assert_eq!(lints_of(clean), [], "{clean}");
    }
}

#[test]
fn warnings_are_kept_in_the_module_and_read_back_at_any_level() {
    let compiled = compile_str("test.wat", SWAPPED, &options(Lints::default())).unwrap();
    wasmparser::validate(&compiled.wasm).unwrap();
    let metadata = Metadata::from_module(&compiled.wasm).unwrap().unwrap();
    assert_eq!(metadata, compiled.metadata);
    assert_eq!(metadata.warnings.len(), 2);
    assert_eq!(metadata.warnings[0].lint, "role-mismatch");
    let shown = tape_compiler::warnings(&metadata, "test.wat", SWAPPED, &Lints::default());
    assert_eq!(shown.items(), compiled.warnings.items());
    let mut deny = Lints::default();
    deny.set("role-mismatch", Level::Deny).unwrap();
    let denied = tape_compiler::warnings(&metadata, "test.wat", SWAPPED, &deny);
    assert!(denied.items().iter().all(|d| d.severity == Severity::Error));
    // Read against another text, the places are dropped, not wrong.
    let elsewhere = tape_compiler::warnings(&metadata, "other.wat", "(func)", &Lints::default());
    assert!(elsewhere.items().iter().all(|d| d.span.is_none()));
}

#[test]
fn a_denied_lint_fails_the_compile_and_an_allowed_one_is_not_run() {
    let mut deny = Lints::default();
    deny.set("warnings", Level::Deny).unwrap();
    let error = compile_str("test.wat", SWAPPED, &options(deny)).unwrap_err();
    let diagnostics = error.diagnostics().unwrap();
    assert_eq!(diagnostics.items().len(), 2);
    assert!(
        error.to_string().contains("error[role-mismatch]"),
        "{error}"
    );

    let compiled = compile_str("test.wat", SWAPPED, &options(Lints::none())).unwrap();
    assert!(compiled.warnings.items().is_empty());
    assert!(compiled.metadata.warnings.is_empty());

    let mut some = Lints::default();
    some.set("warnings", Level::Allow).unwrap();
    some.set("role-mismatch", Level::Warn).unwrap();
    assert_eq!(some.level(Lint::RoleMismatch), Level::Warn);
    assert_eq!(some.level(Lint::UnusedVariable), Level::Allow);
}
