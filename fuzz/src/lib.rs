//! Tape's fuzz targets. Each module holds one target's input format and
//! oracle; `fuzz_targets/*.rs` are thin `cargo fuzz` entry points over
//! them, and each module's tests replay the target's corpus
//! (`fuzz/corpus/<target>/`) and a few hundred seeded random inputs, so
//! `cargo test` runs every oracle on stable.
//!
//! See `fuzz/README.md` for what each target checks and how to run it.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};

/// The tests every target has: `corpus_replays`, its whole corpus, and
/// `seeded_inputs`, `iterations` seeded inputs of up to `max_len` bytes,
/// followed by `$after` (which may check the target's counts).
#[cfg(test)]
macro_rules! replay_tests {
    ($target:ident, $iterations:expr, $max_len:expr $(, $after:block)?) => {
        #[test]
        fn corpus_replays() {
            $crate::check_corpus(stringify!($target), check);
        }

        #[test]
        fn seeded_inputs() {
            $crate::seeded(stringify!($target), $iterations, $max_len, check);
            $($after)?
        }
    };
}

pub mod capabilities;
pub mod compile;
pub mod differential;
pub mod protocol;
pub mod wire;

/// The files of `fuzz/corpus/<target>/`, sorted by name.
pub fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every file of `target`'s corpus, and returns how many
/// there were. A failure names the file, so it can be replayed alone.
pub fn replay(target: &str, check: impl Fn(&[u8])) -> usize {
    let files = corpus(target);
    for path in &files {
        let data = std::fs::read(path).expect("a readable corpus file");
        run_named(&path.display().to_string(), || check(&data));
    }
    files.len()
}

/// Replays `target`'s corpus through `check`, which must hold at least 20
/// files: a corpus gone missing fails the test rather than passing it.
pub fn check_corpus(target: &str, check: impl Fn(&[u8])) {
    let replayed = replay(target, check);
    assert!(
        replayed >= 20,
        "only {replayed} files in the {target} corpus"
    );
}

/// Runs `check` on `iterations` inputs of up to `max_len` bytes drawn from
/// a fixed seed: the same inputs on every machine and every run.
pub fn seeded(target: &str, iterations: usize, max_len: usize, check: impl Fn(&[u8])) {
    // Each target its own sequence: FNV-1a of its name.
    let seed = target
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
        });
    let mut rng = SplitMix64(seed);
    for iteration in 0..iterations {
        let len = (rng.next_u64() % (max_len as u64 + 1)) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        run_named(&format!("{target} seeded iteration {iteration}"), || {
            check(&data)
        });
    }
}

/// Runs `f`, adding `name` to the message of a panic it raises.
fn run_named(name: &str, f: impl FnOnce()) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
        eprintln!("failed on {name}");
        resume_unwind(panic);
    }
}

/// The `main` of a fuzz target built without `cargo fuzz`: runs `check` on
/// each file named on the command line (or every file in a named
/// directory), so a crash found by libFuzzer can be replayed, and debugged,
/// on stable: `cargo run -p tape-fuzz --bin compile -- crash-…`.
pub fn replay_main(target: &str, check: impl Fn(&[u8])) {
    let mut paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: {target} FILE|DIR…  (replays inputs through the `{target}` oracle)");
        std::process::exit(2);
    }
    let mut files = Vec::new();
    while let Some(path) = paths.pop() {
        if path.is_dir() {
            let entries = std::fs::read_dir(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            paths.extend(entries.map(|entry| entry.expect("a directory entry").path()));
        } else {
            files.push(path);
        }
    }
    files.sort();
    for path in &files {
        let data =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        run_named(&path.display().to_string(), || check(&data));
    }
    eprintln!("{target}: {} inputs passed", files.len());
}

/// The entry point of the fuzz target `fuzz_targets/<target>.rs`, whose
/// oracle is `tape_fuzz::<target>::check`: libFuzzer's under `cargo fuzz`
/// (`--cfg fuzzing`), [`replay_main`] otherwise. The target's crate root
/// also needs `#![cfg_attr(fuzzing, no_main)]`.
#[macro_export]
macro_rules! target {
    ($target:ident) => {
        #[cfg(fuzzing)]
        libfuzzer_sys::fuzz_target!(|data: &[u8]| $crate::$target::check(data));

        #[cfg(not(fuzzing))]
        fn main() {
            $crate::replay_main(stringify!($target), $crate::$target::check);
        }
    };
}

/// A small, fast, fixed-sequence generator for seeded inputs (Vigna's
/// SplitMix64); no crate needed, and its output never changes.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Counts of how inputs ended, over a process's life: printed as a fuzzer
/// runs, and read by the tests to show an oracle was reached.
#[derive(Debug, Default)]
pub struct Counts {
    counts: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl Counts {
    /// Counts one `what`; prints every count when the count of `total`
    /// reaches a power of two from 1024 on, and every 65,536 after that, so
    /// a long run reports as it goes.
    pub fn add(&self, what: &'static str, target: &str, total: &'static str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(what).or_default() += 1;
        let n = counts.get(total).copied().unwrap_or(0);
        if what == total && n >= 1024 && (n.is_power_of_two() || n % 65_536 == 0) {
            eprintln!("{target}: {}", summary(&counts));
        }
    }

    /// How many `what` there were.
    pub fn get(&self, what: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(what).copied().unwrap_or(0)
    }

    /// Every count, as `name: n, …`.
    pub fn summary(&self) -> String {
        summary(&self.counts.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn summary(counts: &std::collections::BTreeMap<&'static str, u64>) -> String {
    let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    parts.join(", ")
}
