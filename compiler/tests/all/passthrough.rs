//! Plain WebAssembly text compiles to what `wat` makes of it: Tape adds a
//! `mem.tape` export (and `run`), a memory when there is none, and its
//! metadata section, and changes nothing else.

use std::path::Path;

use wasmparser::{Parser, Payload};

/// `(section id, contents)` of every section but custom ones.
fn sections(wasm: &[u8]) -> Vec<(u8, Vec<u8>)> {
    Parser::new(0)
        .parse_all(wasm)
        .filter_map(|p| p.unwrap().as_section())
        .filter(|(id, _)| *id != 0)
        .map(|(id, range)| (id, wasm[range].to_vec()))
        .collect()
}

fn exports(wasm: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::ExportSection(reader) = payload.unwrap() {
            names.extend(reader.into_iter().map(|e| e.unwrap().name.to_string()));
        }
    }
    names
}

/// What `wat` makes of `source`, with "confusing" Unicode allowed, as the
/// specification allows it (`wat::parse_str` refuses it).
fn wat_of(source: &str) -> Vec<u8> {
    let mut lexer = wast::lexer::Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let buffer = wast::parser::ParseBuffer::new_with_lexer(lexer).unwrap();
    let mut wat = wast::parser::parse::<wast::Wat>(&buffer).unwrap_or_else(|e| panic!("{e}"));
    wat.encode().unwrap()
}

#[test]
fn every_corpus_module_passes_through_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 8);
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let reference = wat_of(&source);
        let tape = crate::compile(&source).wasm;
        let name = path.display();

        // Everything but exports and memories is byte for byte the same.
        let keep = |s: &(u8, Vec<u8>)| s.0 != 5 && s.0 != 7;
        let ours: Vec<_> = sections(&tape).into_iter().filter(keep).collect();
        let theirs: Vec<_> = sections(&reference).into_iter().filter(keep).collect();
        assert_eq!(ours, theirs, "{name}: sections differ");

        // Memories are the same, unless there was none to export.
        let memory = |wasm| sections(wasm).into_iter().find(|s| s.0 == 5);
        if memory(&reference).is_some() {
            assert_eq!(memory(&tape), memory(&reference), "{name}: memory changed");
        }

        // Exports are wat's, then Tape's.
        let ours = exports(&tape);
        let theirs = exports(&reference);
        assert_eq!(ours[..theirs.len()], theirs[..], "{name}: exports changed");
        for extra in &ours[theirs.len()..] {
            assert!(
                extra == "mem.tape" || extra == "run",
                "{name}: unexpected export {extra}"
            );
        }
        assert!(ours.iter().any(|e| e == "mem.tape"), "{name}: no mem.tape");
    }
}
