//! The module cache, in memory and on disk, in temporary directories: hits,
//! corrupt and foreign entries, concurrent writers, and turning it off.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use tape_rt::wasmtime::Val;
use tape_rt::{Args, CacheStats, Config, Engine, Grants};
use tape_testkit::rt::Stub;

const SOURCE: &str = r#"(func $run (result i32) (call $core.result "cached"))"#;

fn engine_in(dir: Option<&Path>, memory_cache: usize) -> Engine {
    Engine::new(Config {
        cache_dir: dir.map(Path::to_path_buf),
        memory_cache,
        ..Config::default()
    })
    .unwrap()
}

/// Compiles `source` on `engine`, runs it and checks its one result.
fn compile_and_run(engine: &Engine, source: &str, expected: &str) {
    let program = engine
        .compile_str("cached.wat", source, &Grants::new())
        .unwrap();
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), expected);
}

/// Where an entry's payload starts: after its magic number, key, length
/// and CRC-32 (`rt/src/cache.rs` has the layout).
const PAYLOAD: usize = 52;

/// `payload` behind `good`'s header, with a length and checksum that vouch
/// for it.
fn with_header(good: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut entry = good[..40].to_vec();
    entry.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    entry.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    entry.extend_from_slice(payload);
    entry
}

/// A capability that adds one function to the catalogue.
fn idle() -> Stub {
    Stub::new("idle").function("wait", "(result i32)", |_, _, results| {
        results[0] = Val::I32(0);
        Ok(())
    })
}

/// Every file in the cache's `modules` folder.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = match std::fs::read_dir(dir.join("modules")) {
        Ok(read) => read.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn stats(
    memory_hits: u64,
    disk_hits: u64,
    compiled: u64,
    rejected: u64,
    written: u64,
) -> CacheStats {
    CacheStats {
        memory_hits,
        disk_hits,
        compiled,
        rejected,
        written,
        write_failures: 0,
        pruned: 0,
    }
}

#[test]
fn a_second_compile_is_a_memory_hit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(Some(dir.path()), 8);
    compile_and_run(&engine, SOURCE, "cached");
    compile_and_run(&engine, SOURCE, "cached");
    assert_eq!(engine.cache_stats(), stats(1, 0, 1, 0, 1));
    assert_eq!(entries(dir.path()).len(), 1);
}

#[test]
fn a_fresh_engine_loads_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    compile_and_run(&engine_in(Some(dir.path()), 8), SOURCE, "cached");
    let fresh = engine_in(Some(dir.path()), 8);
    compile_and_run(&fresh, SOURCE, "cached");
    // Nothing compiled: neither Tape's compiler nor wasmtime's ran.
    assert_eq!(fresh.cache_stats(), stats(0, 1, 0, 0, 0));
}

#[test]
fn a_source_hit_restores_the_metadata_so_traps_still_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = "(func $run (result i32)\n  (call $core.result \"x\")\n  (unreachable))";
    let compile = |engine: &Engine| {
        engine
            .compile_str("trap.wat", source, &Grants::new())
            .unwrap()
    };
    let compiled = compile(&engine_in(Some(dir.path()), 0));
    let fresh = engine_in(Some(dir.path()), 0);
    let cached = compile(&fresh);
    assert_eq!(fresh.cache_stats(), stats(0, 1, 0, 0, 0));
    assert_eq!(cached.metadata(), compiled.metadata());
    let message = cached.run(&Args::new()).unwrap_err().to_string();
    assert!(message.contains("in $run at trap.wat:3:4"), "{message}");
    let first = compiled.run(&Args::new()).unwrap_err().to_string();
    assert_eq!(message, first);
}

#[test]
fn what_decides_the_compile_decides_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(Some(dir.path()), 8);
    let with_idle = Grants::new().grant(idle());
    let compile = |name: &str, source: &str, grants: &Grants| {
        engine.compile_str(name, source, grants).unwrap();
    };
    compile("cached.wat", SOURCE, &Grants::new());
    compile("cached.wat", SOURCE, &Grants::new()); // a hit
    compile("other.wat", SOURCE, &Grants::new()); // another name in diagnostics
    compile("cached.wat", SOURCE, &with_idle); // another catalogue
    compile(
        "cached.wat",
        &format!("{SOURCE} ;; a comment"),
        &Grants::new(),
    );
    assert_eq!(engine.cache_stats(), stats(1, 0, 4, 0, 4));
    assert_eq!(entries(dir.path()).len(), 4);
}

#[test]
fn a_loaded_module_has_its_own_entry_keyed_by_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = tape_compiler::compile_str(
        "cached.wat",
        SOURCE,
        &tape_compiler::Options {
            catalogue: Grants::new().catalogue(),
            ..Default::default()
        },
    )
    .unwrap()
    .wasm;
    let load = |engine: &Engine| {
        let outcome = engine
            .load(&wasm, &Grants::new())
            .unwrap()
            .run(&Args::new())
            .unwrap();
        assert_eq!(outcome.result::<&str>(0).unwrap(), "cached");
    };
    compile_and_run(&engine_in(Some(dir.path()), 8), SOURCE, "cached");
    let engine = engine_in(Some(dir.path()), 8);
    load(&engine);
    assert_eq!(engine.cache_stats(), stats(0, 0, 1, 0, 1));
    let fresh = engine_in(Some(dir.path()), 8);
    load(&fresh);
    assert_eq!(fresh.cache_stats(), stats(0, 1, 0, 0, 0));
    assert_eq!(entries(dir.path()).len(), 2);
}

#[test]
fn a_corrupt_entry_is_recompiled_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    compile_and_run(&engine_in(Some(dir.path()), 8), SOURCE, "cached");
    let [path] = &entries(dir.path())[..] else {
        panic!("one entry")
    };
    let good = std::fs::read(path).unwrap();
    let corruptions: Vec<(&str, Vec<u8>)> = vec![
        ("a flipped payload byte", {
            let mut bad = good.clone();
            let middle = PAYLOAD + (bad.len() - PAYLOAD) / 2;
            bad[middle] ^= 0x01;
            bad
        }),
        ("a flipped magic byte", {
            let mut bad = good.clone();
            bad[0] ^= 0x80;
            bad
        }),
        ("a flipped checksum byte", {
            let mut bad = good.clone();
            bad[49] ^= 0x01;
            bad
        }),
        ("a wrong length", {
            let mut bad = good.clone();
            bad[40] ^= 0x01;
            bad
        }),
        (
            "a metadata length past the end, under a matching checksum",
            {
                let mut payload = good[PAYLOAD..].to_vec();
                payload[..4].copy_from_slice(&u32::MAX.to_le_bytes());
                with_header(&good, &payload)
            },
        ),
        (
            "metadata that does not decode, under a matching checksum",
            {
                let mut payload = good[PAYLOAD..].to_vec();
                let len = u32::from_le_bytes(payload[..4].try_into().unwrap()) as usize;
                assert!(len > 8, "a source entry holds its metadata");
                payload[4..4 + len].fill(0xff);
                with_header(&good, &payload)
            },
        ),
        ("truncated to half", good[..good.len() / 2].to_vec()),
        ("truncated inside the header", good[..20].to_vec()),
        ("empty", Vec::new()),
        (
            "garbage",
            (0..good.len()).map(|i| (i * 31 % 251) as u8).collect(),
        ),
        ("garbage behind a good header", {
            let mut bad = good[..PAYLOAD].to_vec();
            bad.extend((0..good.len() - PAYLOAD).map(|i| (i * 7 % 256) as u8));
            bad
        }),
    ];
    for (what, bad) in corruptions {
        std::fs::write(path, &bad).unwrap();
        let engine = engine_in(Some(dir.path()), 8);
        compile_and_run(&engine, SOURCE, "cached");
        assert_eq!(engine.cache_stats(), stats(0, 0, 1, 1, 1), "{what}");
        assert_eq!(std::fs::read(path).unwrap(), good, "{what}: rewritten");
        assert_eq!(
            entries(dir.path()).len(),
            1,
            "{what}: no temporary files left"
        );
    }
}

#[test]
fn another_modules_entry_under_this_modules_name_is_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let other = r#"(func $run (result i32) (call $core.result "other"))"#;
    compile_and_run(&engine_in(Some(dir.path()), 0), SOURCE, "cached");
    let [this] = &entries(dir.path())[..] else {
        panic!("one entry")
    };
    let this = this.clone();
    compile_and_run(&engine_in(Some(dir.path()), 0), other, "other");
    let other_entry = entries(dir.path())
        .into_iter()
        .find(|p| *p != this)
        .unwrap();
    // A whole, valid entry — of the other module — where this one's
    // belongs.
    std::fs::copy(&other_entry, &this).unwrap();
    let engine = engine_in(Some(dir.path()), 0);
    compile_and_run(&engine, SOURCE, "cached");
    assert_eq!(engine.cache_stats(), stats(0, 0, 1, 1, 1));
}

#[test]
fn concurrent_writers_of_one_entry_all_succeed_and_leave_one_valid_entry() {
    let dir = tempfile::tempdir().unwrap();
    let threads = 6;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = barrier.clone();
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let engine = engine_in(Some(&dir), 8);
                barrier.wait();
                compile_and_run(&engine, SOURCE, "cached");
                engine.cache_stats()
            })
        })
        .collect();
    let all: Vec<CacheStats> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        all.iter().all(|s| s.rejected == 0 && s.write_failures == 0),
        "{all:?}"
    );
    assert!(all.iter().all(|s| s.compiled + s.disk_hits == 1), "{all:?}");
    assert_eq!(
        entries(dir.path()).len(),
        1,
        "one entry, no temporary files"
    );
    let fresh = engine_in(Some(dir.path()), 8);
    compile_and_run(&fresh, SOURCE, "cached");
    assert_eq!(fresh.cache_stats(), stats(0, 1, 0, 0, 0));
}

#[test]
fn a_disabled_cache_compiles_every_time_and_writes_nothing() {
    let engine = engine_in(None, 0);
    compile_and_run(&engine, SOURCE, "cached");
    compile_and_run(&engine, SOURCE, "cached");
    assert_eq!(engine.cache_stats(), stats(0, 0, 2, 0, 0));

    // Memory only: nothing on disk, whatever the default directory is.
    let engine = engine_in(None, 8);
    compile_and_run(&engine, SOURCE, "cached");
    compile_and_run(&engine, SOURCE, "cached");
    assert_eq!(engine.cache_stats(), stats(1, 0, 1, 0, 0));
}

#[test]
fn an_unwritable_cache_directory_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the `modules` folder should be.
    std::fs::write(dir.path().join("modules"), b"in the way").unwrap();
    let engine = engine_in(Some(dir.path()), 0);
    compile_and_run(&engine, SOURCE, "cached");
    let stats = engine.cache_stats();
    assert_eq!(
        (stats.compiled, stats.written, stats.write_failures),
        (1, 0, 1)
    );
}

#[test]
fn the_default_configuration_caches_under_the_default_directory() {
    assert_eq!(Config::default().cache_dir, tape_rt::default_cache_dir());
    assert!(Config::default().memory_cache > 0);
}

#[test]
fn the_disk_cache_stays_within_its_bound_dropping_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let source = |n: usize| format!(r#"(func $run (result i32) (call $core.result "module {n}"))"#);
    let engine = |max_bytes: u64| {
        Engine::new(Config {
            cache_dir: Some(dir.path().to_path_buf()),
            cache_max_bytes: max_bytes,
            memory_cache: 0,
            ..Config::default()
        })
        .unwrap()
    };
    // Measure one entry, then allow about four.
    compile_and_run(&engine(u64::MAX), &source(0), "module 0");
    let one = std::fs::metadata(&entries(dir.path())[0]).unwrap().len();
    let bounded = engine(one * 4 + one / 2);
    for n in 1..=3 {
        // Distinct modification times, coarse on some file systems.
        std::thread::sleep(std::time::Duration::from_millis(20));
        compile_and_run(&bounded, &source(n), &format!("module {n}"));
    }
    // Module 1 is used again, so module 0 is now the least recently used.
    std::thread::sleep(std::time::Duration::from_millis(20));
    compile_and_run(&bounded, &source(1), "module 1");
    assert_eq!(bounded.cache_stats().disk_hits, 1);
    std::thread::sleep(std::time::Duration::from_millis(20));
    compile_and_run(&bounded, &source(4), "module 4");

    let stats = bounded.cache_stats();
    // Five entries passed the bound: the oldest go until three quarters of
    // it are left: 0, then 2.
    assert_eq!(stats.pruned, 2, "{stats:?}");
    let left = entries(dir.path());
    let total: u64 = left
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(
        total <= one * 4 + one / 2,
        "{total} bytes in {} entries",
        left.len()
    );
    // What is left is what was used last: 3, 1 (just hit) and 4 (just
    // written).
    let fresh = engine(u64::MAX);
    compile_and_run(&fresh, &source(4), "module 4");
    compile_and_run(&fresh, &source(1), "module 1");
    assert_eq!(fresh.cache_stats().disk_hits, 2, "4 and 1 were kept");
    compile_and_run(&fresh, &source(0), "module 0");
    assert_eq!(fresh.cache_stats().compiled, 1, "0 was pruned");
}

#[test]
fn a_temporary_file_left_by_an_interrupted_writer_is_deleted_once_stale() {
    let dir = tempfile::tempdir().unwrap();
    let modules = dir.path().join("modules");
    std::fs::create_dir_all(&modules).unwrap();
    let stale = modules.join(".tmp-interrupted");
    let recent = modules.join(".tmp-in-progress");
    for path in [&stale, &recent] {
        std::fs::write(path, b"half an entry").unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    compile_and_run(&engine_in(Some(dir.path()), 0), SOURCE, "cached");
    assert!(!stale.exists(), "an hour-old temporary file is deleted");
    assert!(
        recent.exists(),
        "a writer may still be writing a recent one"
    );
}
