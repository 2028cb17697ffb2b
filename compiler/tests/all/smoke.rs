//! A seeded stand-in for the fuzzer (`fuzz/fuzz_targets/compile.rs`), so
//! `cargo test` exercises the same property: any text compiles or fails
//! with diagnostics, and never panics.

use std::path::Path;

use tape_compiler::Metadata;

/// xorshift64*: deterministic and good enough to shuffle tokens.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "(",
    "(",
    ")",
    ")",
    " ",
    "\n",
    "module",
    "func",
    "$run",
    "$x",
    "(result i32)",
    "(param $p i32)",
    "\"str\"",
    "\"\"\"tri\nple\"\"\"",
    "(argv 0 $a)",
    "(argv",
    "(check",
    "(resv",
    "(local $x i32)",
    "(local $x i64)",
    "local",
    "call",
    "$core.result",
    "$log.write",
    "$std.greet",
    "$kv.get",
    "i32.const",
    "42",
    "-1",
    "0xFFFFFFFF",
    "(;",
    ";)",
    ";; c\n",
    "\\",
    "\"\\u{",
    "\"\\q\"",
    "\"\\ff\"",
    "drop",
    "(export \"run\")",
    "(memory 1)",
    "(memory 0 0)",
    "(data (i32.const 0) \"x\")",
    "é",
    "(global i32",
    "(import \"core\" \"arg\"",
    "(@name \"n\")",
    "block",
    "end",
    "$\"quoted\"",
    ",",
    "(i32.add",
    "(component",
    "(table 1 funcref)",
    "(start $run)",
    "\"\\00\"",
];

fn check(source: &str) {
    let options = crate::options();
    match tape_compiler::compile_str("smoke.wat", source, &options) {
        Ok(compiled) => {
            let metadata = Metadata::from_module(&compiled.wasm).unwrap().unwrap();
            assert_eq!(metadata, compiled.metadata, "{source:?}");
        }
        Err(error) => {
            // Rendering must not panic either.
            let _ = error.to_string();
        }
    }
}

#[test]
fn random_token_soups_never_panic() {
    let mut rng = Rng(0x5eed_7a9e);
    for _ in 0..600 {
        let len = 1 + rng.below(60);
        let source: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        check(&source);
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut seeds = Vec::new();
    for kind in ["pass", "fail", "corpus"] {
        for entry in std::fs::read_dir(dir.join(kind)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "wat") {
                seeds.push(std::fs::read(path).unwrap());
            }
        }
    }
    let mut rng = Rng(0xfeed_face);
    for _ in 0..400 {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(3) {
                0 if at < bytes.len() => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, b"()\"\\$;\n"[rng.below(7)]),
                _ => {
                    let end = (at + rng.below(16)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    bytes.splice(at..at, copy);
                }
            }
        }
        if let Ok(source) = String::from_utf8(bytes) {
            check(&source);
        }
    }
}

#[test]
fn deep_nesting_and_huge_literals_are_errors_not_crashes() {
    check(&"(".repeat(200_000));
    check(&format!(
        "(func {}{})",
        "(block ".repeat(5000),
        ")".repeat(5000)
    ));
    check(&format!("(func (drop \"{}\"))", "x".repeat(1 << 20)));
}
