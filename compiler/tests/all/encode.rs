//! What the encoder writes: static data, memory, exports, metadata.

use tape_compiler::{Import, Metadata};
use wasmparser::{DataKind, ExternalKind, Operator, Parser, Payload, TypeRef};

use crate::{compile, compile_error};

/// The parts of a module these tests look at.
#[derive(Debug, Default)]
struct Module {
    exports: Vec<(String, ExternalKind, u32)>,
    imports: Vec<(String, String)>,
    memories: Vec<(u64, Option<u64>)>,
    /// Active segments in memory 0: (offset, bytes).
    data: Vec<(u64, Vec<u8>)>,
    data_count: Option<u32>,
    custom: Vec<String>,
}

fn inspect(wasm: &[u8]) -> Module {
    let mut m = Module::default();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    m.exports.push((e.name.into(), e.kind, e.index));
                }
            }
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    let i = i.unwrap();
                    if let TypeRef::Memory(ty) = i.ty {
                        m.memories.push((ty.initial, ty.maximum));
                    }
                    m.imports.push((i.module.into(), i.name.into()));
                }
            }
            Payload::MemorySection(r) => {
                for ty in r {
                    let ty = ty.unwrap();
                    m.memories.push((ty.initial, ty.maximum));
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    let d = d.unwrap();
                    if let DataKind::Active { offset_expr, .. } = d.kind {
                        let offset = match offset_expr.get_operators_reader().read().unwrap() {
                            Operator::I32Const { value } => value as u64,
                            Operator::I64Const { value } => value as u64,
                            other => panic!("{other:?}"),
                        };
                        m.data.push((offset, d.data.to_vec()));
                    }
                }
            }
            Payload::DataCountSection { count, .. } => m.data_count = Some(count),
            Payload::CustomSection(c) => m.custom.push(c.name().into()),
            _ => {}
        }
    }
    m
}

fn has_export(m: &Module, name: &str, kind: ExternalKind, index: u32) -> bool {
    m.exports.contains(&(name.to_string(), kind, index))
}

#[test]
fn hello_gets_static_data_memory_exports_and_metadata() {
    let out = compile(r#"(func $run (result i32) (call $core.result "hello, world"))"#);
    let m = inspect(&out.wasm);
    assert_eq!(m.memories, [(1, None)]);
    assert!(has_export(&m, "mem.tape", ExternalKind::Memory, 0));
    assert!(
        has_export(&m, "run", ExternalKind::Func, 1),
        "{:?}",
        m.exports
    );
    assert_eq!(m.imports, [("core".to_string(), "result".to_string())]);
    let mut segment = 12u32.to_le_bytes().to_vec();
    segment.extend_from_slice(b"hello, world");
    assert_eq!(m.data, [(8, segment)]);
    assert_eq!(m.custom.last().map(String::as_str), Some("tape"));

    let metadata = Metadata::from_module(&out.wasm).unwrap().unwrap();
    assert_eq!(metadata, out.metadata);
    assert_eq!(metadata.version, tape_compiler::FORMAT_VERSION);
    assert_eq!(metadata.initial_top, 24);
    assert_eq!(
        metadata.imports,
        [Import {
            module: "core".into(),
            name: "result".into()
        }]
    );
    assert_eq!(metadata.literals.len(), 1);
    assert_eq!(
        (metadata.literals[0].offset, metadata.literals[0].line),
        (8, 1)
    );
}

#[test]
fn a_program_without_literals_gets_no_segment_and_top_8() {
    let out = compile("(func $run (result i32) (i32.const 0))");
    let m = inspect(&out.wasm);
    assert!(m.data.is_empty());
    assert_eq!(out.metadata.initial_top, 8);
}

#[test]
fn an_existing_memory_is_exported_again_as_mem_tape() {
    let out = compile(
        r#"(module (memory $m (export "memory") 2) (func $run (export "main") (result i32) (drop "x") (i32.const 0)))"#,
    );
    let m = inspect(&out.wasm);
    assert_eq!(m.memories, [(2, None)]);
    assert!(has_export(&m, "memory", ExternalKind::Memory, 0));
    assert!(has_export(&m, "mem.tape", ExternalKind::Memory, 0));
    assert!(has_export(&m, "main", ExternalKind::Func, 0));
    assert!(has_export(&m, "run", ExternalKind::Func, 0));
}

#[test]
fn an_existing_run_export_is_left_alone() {
    let out = compile(
        r#"(module (func $run (result i32) (i32.const 1)) (func $main (export "run") (result i32) (i32.const 0)))"#,
    );
    let m = inspect(&out.wasm);
    let runs: Vec<_> = m.exports.iter().filter(|e| e.0 == "run").collect();
    assert_eq!(runs, [&("run".to_string(), ExternalKind::Func, 1)]);
}

#[test]
fn a_memory_too_small_for_static_data_is_raised() {
    let big = "x".repeat(70_000);
    let out = compile(&format!(r#"(module (memory 0) (func (drop "{big}")))"#));
    assert_eq!(inspect(&out.wasm).memories, [(2, None)]);
    let err = compile_error(&format!(r#"(module (memory 0 1) (func (drop "{big}")))"#));
    assert!(err.contains("raise its maximum"), "{err}");
}

#[test]
fn an_imported_memory_must_be_large_enough() {
    let ok = compile(r#"(module (import "env" "mem" (memory 1)) (func (drop "x")))"#);
    assert!(has_export(
        &inspect(&ok.wasm),
        "mem.tape",
        ExternalKind::Memory,
        0
    ));
    let err = compile_error(r#"(module (import "env" "mem" (memory 0)) (func (drop "x")))"#);
    assert!(err.contains("raise its minimum to 1 pages"), "{err}");
}

#[test]
fn user_data_segments_are_kept_and_counted_and_push_initial_top() {
    let out = compile(
        r#"(module
             (memory 1)
             (data (i32.const 100) "abcd")
             (data $passive "zz")
             (func (memory.init $passive (i32.const 0) (i32.const 0) (i32.const 0)) (drop "lit")))"#,
    );
    let m = inspect(&out.wasm);
    assert_eq!(m.data_count, Some(3));
    assert_eq!(m.data.len(), 2);
    assert_eq!(m.data[0], (100, b"abcd".to_vec()));
    assert_eq!(m.data[1].0, 8);
    assert_eq!(out.metadata.initial_top, 104);
}

/// Found by the `differential` fuzz target: a segment that ends past 4 GiB
/// (or at the top of a 64-bit address space) made the compiler refuse a
/// module `wat` accepts, or overflow working out the allocator's start.
/// Such a module traps when instantiated, or has a 64-bit memory 0 that the
/// runtime does not run, so no allocator ever starts at that top.
#[test]
fn a_data_segment_past_4_gib_compiles_as_wat_does() {
    for source in [
        r#"(module (memory 1) (data (i32.const -1) "xy"))"#,
        r#"(module (memory i64 1) (data (i64.const 0x100000000) "x"))"#,
        r#"(module (memory i64 1) (data (i64.const -1) "x"))"#,
    ] {
        wat::parse_str(source).unwrap();
        let out = compile(source);
        assert_eq!(out.metadata.initial_top, u32::MAX - 7, "{source}");
    }
    // With a literal too, whose static data still starts at 8.
    let out = compile(r#"(module (memory i64 1) (data (i64.const -4) "x") (func (drop "lit")))"#);
    assert_eq!(out.metadata.initial_top, u32::MAX - 7);
    assert_eq!(out.metadata.literals[0].offset, 8);
}

#[test]
fn memory64_gets_an_i64_offset() {
    let out = compile(r#"(module (memory i64 1) (func (drop "x")))"#);
    assert_eq!(inspect(&out.wasm).data[0].0, 8);
}

#[test]
fn reserved_names_are_refused() {
    let err = compile_error(r#"(module (func (export "mem.tape")))"#);
    assert!(err.contains("`mem.tape` is reserved for memory 0"), "{err}");
    let err = compile_error(r#"(module (@custom "tape" "x"))"#);
    assert!(err.contains("reserved for Tape's metadata"), "{err}");
}

#[test]
fn hand_written_imports_are_kept_and_recorded() {
    let out = compile(
        r#"(module (import "log" "write" (func $w (param i32 i32) (result i32))) (func (drop (call $w (i32.const 1) "x"))))"#,
    );
    assert_eq!(
        out.metadata.imports,
        [Import {
            module: "log".into(),
            name: "write".into()
        }]
    );
}

#[test]
fn components_are_refused() {
    let err = compile_error("(component)");
    assert!(err.contains("components are not supported"), "{err}");
}

#[test]
fn metadata_of_a_foreign_module_is_none_and_a_corrupt_section_an_error() {
    let plain = wat::parse_str("(module)").unwrap();
    assert_eq!(Metadata::from_module(&plain).unwrap(), None);

    let mut module = wasm_encoder::Module::new();
    module.section(&wasm_encoder::CustomSection {
        name: "tape".into(),
        data: [1u8, 2, 3].as_slice().into(),
    });
    let err = Metadata::from_module(&module.finish()).unwrap_err();
    assert!(
        err.to_string().starts_with("bad `tape` metadata section"),
        "{err}"
    );

    let mut module = wasm_encoder::Module::new();
    let future = [8u8, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0];
    module.section(&wasm_encoder::CustomSection {
        name: "tape".into(),
        data: future.as_slice().into(),
    });
    let err = Metadata::from_module(&module.finish()).unwrap_err();
    assert!(err.to_string().contains("format version 99"), "{err}");
}
