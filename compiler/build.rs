//! Sets `TAPE_COMPILER_BUILD`: a fingerprint of everything that decides what
//! this compiler makes of a source, for caches keyed on source text (the
//! runtime's). The package version alone is not enough: while Tape is being
//! worked on, the compiler or the standard library changes under one
//! version, and a cache must not hand back what an older build compiled.
//!
//! Hashed: this crate's sources and, when built inside Tape's workspace, the
//! standard library, the wire format (the metadata's encoding) and
//! `Cargo.lock` (the versions of `wast`, `wasm-encoder` and the rest).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

const INPUTS: &[&str] = &["src", "../stdlib/src", "../protocol/src", "../Cargo.lock"];

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    // Fixed keys, so the same inputs give the same fingerprint in every
    // build; a collision would take two builds 2^64 apart in luck.
    let mut hasher = DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    for input in INPUTS {
        let path = root.join(input);
        if path.exists() {
            println!("cargo::rerun-if-changed={}", path.display());
            hash_tree(&root, &path, &mut hasher);
        }
    }
    println!(
        "cargo::rustc-env=TAPE_COMPILER_BUILD={:016x}",
        hasher.finish()
    );
}

/// Hashes every file under `path` (or the file itself), with its path
/// relative to `root`, in a fixed order.
fn hash_tree(root: &Path, path: &Path, hasher: &mut DefaultHasher) {
    if path.is_dir() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("a readable source directory")
            .map(|entry| entry.expect("a readable directory entry").path())
            .collect();
        children.sort();
        for child in children {
            hash_tree(root, &child, hasher);
        }
    } else {
        path.strip_prefix(root).unwrap_or(path).hash(hasher);
        std::fs::read(path)
            .expect("a readable source file")
            .hash(hasher);
    }
}
