//! What the `kv` and `json` capabilities cost a guest, against the same
//! work done directly in Rust with redb and serde_json.
//!
//! Each group holds a guest run, the same work done natively, and an empty
//! guest run (the fixed cost of a run: instantiation, arguments, results),
//! so criterion's report puts them side by side and the capability's own
//! overhead is `guest - empty - native`.
//!
//! Quick run: `cargo bench -p tape-caps --bench caps -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use redb::{Database, ReadableDatabase, TableDefinition};
use tape_caps::{Json, Kv};
use tape_rt::{Args, Config, Engine, Grants, Program};

const GETS: usize = 100;

fn compile(engine: &Engine, source: &str, grants: &Grants) -> Program {
    engine
        .compile_str("bench.wat", source, grants)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Stores a 64-byte value under `key` in `kv`.
fn store_value(engine: &Engine, kv: &Kv) {
    let setup = compile(
        engine,
        r#"(func $run (result i32) (call $kv.set "key" (call $arg0)))
           (func $arg0 (result i32) (call $core.arg (i32.const 0)) (drop))"#,
        &tape_caps::grants().grant(kv.clone()),
    );
    run(&setup, &Args::strings(["v".repeat(64)]));
}

/// `GETS` reads of `key`, each checked, as WAT statements.
fn gets_loop() -> String {
    format!(
        r#"(loop $next
             (call $kv.get "key")
             (if (then unreachable))
             (drop)
             (local.set $i (i32.add (local.get $i) (i32.const 1)))
             (br_if $next (i32.lt_u (local.get $i) (i32.const {GETS}))))"#
    )
}

fn run(program: &Program, args: &Args) {
    let outcome = program.run(args).unwrap();
    assert_eq!(outcome.status, 0);
    black_box(outcome);
}

/// 100 reads of a 64-byte value from an in-memory store.
fn kv_get(c: &mut Criterion) {
    let engine = Engine::new(Config::default()).unwrap();
    let kv = Kv::in_memory().unwrap();
    store_value(&engine, &kv);
    let gets = compile(
        &engine,
        &format!(
            "(func $run (result i32) (local $i i32) {} (i32.const 0))",
            gets_loop()
        ),
        &tape_caps::grants().grant(kv.clone()),
    );
    let empty = compile(
        &engine,
        "(func $run (result i32) (i32.const 0))",
        &tape_caps::grants(),
    );

    // The same reads straight from redb: one read transaction, as a run
    // takes one snapshot.
    let db = Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .unwrap();
    let table: TableDefinition<&str, &[u8]> = TableDefinition::new("bench");
    let txn = db.begin_write().unwrap();
    txn.open_table(table)
        .unwrap()
        .insert("key", "v".repeat(64).as_bytes())
        .unwrap();
    txn.commit().unwrap();

    let mut group = c.benchmark_group("kv get x100");
    group.bench_function("guest", |b| b.iter(|| run(&gets, &Args::new())));
    group.bench_function("empty guest run", |b| b.iter(|| run(&empty, &Args::new())));
    group.bench_function("redb directly", |b| {
        b.iter(|| {
            let txn = db.begin_read().unwrap();
            let table = txn.open_table(table).unwrap();
            for _ in 0..GETS {
                black_box(table.get("key").unwrap().unwrap().value().to_vec());
            }
        })
    });
    group.finish();
}

/// Parse a 10 KiB document and read a string and a number from the middle
/// of it.
fn json_read(c: &mut Criterion) {
    let engine = Engine::new(Config::default()).unwrap();
    let items: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"id": {i}, "name": "item number {i}", "tags": ["a", "b"]}}"#))
        .collect();
    let doc = format!(r#"{{"items": [{}], "total": 100}}"#, items.join(", "));
    let program = compile(
        &engine,
        r#"(func $run (result i32)
             (local $doc i32)
             (call $core.arg (i32.const 0)) (drop)
             (call $json.parse)
             (if (then unreachable))
             (local.set $doc)
             (call $json.str (local.get $doc) "/items/50/name")
             (if (then unreachable))
             (drop)
             (call $json.i64 (local.get $doc) "/items/50/id")
             (if (then unreachable))
             (drop)
             (i32.const 0))"#,
        &tape_caps::grants().grant(Json::new()),
    );
    let empty = compile(
        &engine,
        "(func $run (result i32) (i32.const 0))",
        &tape_caps::grants(),
    );
    let args = Args::strings([&doc]);

    let mut group = c.benchmark_group("json parse + 2 reads, 10 KiB");
    group.bench_function("guest", |b| b.iter(|| run(&program, &args)));
    group.bench_function("empty guest run with the document", |b| {
        b.iter(|| run(&empty, &args))
    });
    group.bench_function("serde_json directly", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_slice(doc.as_bytes()).unwrap();
            let name = value.pointer("/items/50/name").unwrap().as_str().unwrap();
            black_box(name.to_owned());
            black_box(value.pointer("/items/50/id").unwrap().as_i64().unwrap());
        })
    });
    group.finish();
}

/// What recording costs a run, and what a replay costs: the same program
/// (100 `kv.get`s of a 64-byte value, then a JSON document parsed and read)
/// run plainly, recorded (`Run::record`), and replayed from that recording
/// through stand-ins. The ratio record / plain is the recording overhead.
fn record(c: &mut Criterion) {
    let engine = Engine::new(Config::default()).unwrap();
    let kv = Kv::in_memory().unwrap();
    let grants = tape_caps::grants().grant(kv.clone()).grant(Json::new());
    store_value(&engine, &kv);
    let source = format!(
        r#"(func $run (result i32)
             (local $i i32) (local $doc i32)
             {}
             (call $json.parse "{{\"a\": [1, 2, 3], \"b\": \"text\"}}")
             (if (then unreachable))
             (local.set $doc)
             (call $json.str (local.get $doc) "/b")
             (if (then unreachable))
             (drop)
             (i32.const 0))"#,
        gets_loop()
    );
    let program = compile(&engine, &source, &grants);
    let (_, trace) = tape_rt::Run::new(&program).record();
    assert_eq!(trace.calls.len(), GETS + 2);
    let offline = compile(&engine, &source, &tape_rt::trace::stand_ins(&grants));
    let mut group = c.benchmark_group("record");
    group.bench_function("plain run", |b| b.iter(|| run(&program, &Args::new())));
    group.bench_function("recorded run", |b| {
        b.iter(|| {
            let (outcome, trace) = tape_rt::Run::new(&program).record();
            black_box((outcome.unwrap(), trace.to_bytes()));
        })
    });
    group.bench_function("replayed run", |b| {
        b.iter(|| black_box(tape_rt::Run::new(&offline).replay(&trace).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, kv_get, json_read, record);
criterion_main!(benches);
