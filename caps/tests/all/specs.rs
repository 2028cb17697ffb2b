//! Each built-in capability describes itself once, in its `Spec`; these
//! tests hold the spec to what the capability registers and to what
//! `tape doc` and the lints need.

use tape_caps::{Ai, Fs, Http, Json, Kv, Log, Rand, SPECS, Stdin, Time};
use tape_rt::{Capability, Spec};

/// One of each built-in, configured as a host would.
fn built_ins(dir: &std::path::Path) -> Vec<Box<dyn Capability>> {
    vec![
        Box::new(Log::new()),
        Box::new(Json::new()),
        Box::new(Time::system()),
        Box::new(Rand::os()),
        Box::new(Kv::in_memory().unwrap()),
        Box::new(Fs::read_write(dir).unwrap()),
        Box::new(Http::new()),
        Box::new(Ai::new("http://127.0.0.1:9/v1", "model")),
        Box::new(Stdin::bytes(Vec::new())),
    ]
}

/// Every function a built-in registers has the wasmtime type its WAT
/// signature declares, and it registers nothing else: the signature is
/// written once for the compiler and once as a Rust closure.
#[test]
fn every_built_in_registers_exactly_its_spec() {
    let dir = tempfile::tempdir().unwrap();
    let capabilities = built_ins(dir.path());
    assert_eq!(capabilities.len(), SPECS.len());
    for (capability, spec) in capabilities.iter().zip(SPECS) {
        assert_eq!(
            capability.spec(),
            &spec,
            "SPECS lists each built-in in order"
        );
        if let Err(problems) = Spec::check(&**capability) {
            panic!("`{}`:\n{problems}", spec.name);
        }
    }
}

/// `tape doc` and the lints read every built-in function's roles and
/// documentation: each has roles that fit its signature, and a summary.
#[test]
fn every_built_in_function_has_roles_and_a_summary() {
    let catalogue = tape_caps::grants().catalogue();
    let mut count = 0;
    for module in catalogue.modules() {
        assert!(catalogue.description(module).is_some(), "{module}");
        for function in catalogue.functions(module) {
            let entry = catalogue.entry(module, function).unwrap();
            let roles = entry.roles.as_ref();
            assert!(
                roles.is_some_and(|r| r.matches(&entry.signature)),
                "{module}.{function}: roles missing or not fitting {}",
                entry.signature
            );
            assert!(!entry.doc.is_empty(), "{module}.{function} has no doc");
            count += 1;
        }
    }
    assert!(count >= 45, "{count}");
}
