//! What each capability's hottest call costs a guest, against the same
//! work done directly in Rust with the library under it: `kv.get` against
//! redb, `json.parse` + reads against serde_json, `time.now` against
//! `SystemTime::now`, `rand.fill` against ChaCha20, `log.write` against
//! escaping the message and handing it to the sink, `fs.read` against
//! cap-std. (`http` and `ai` are requests: `benches/http.rs` measures
//! them against ureq on loopback.)
//!
//! Each group holds a guest run, the same work done natively, and an empty
//! guest run (the fixed cost of a run: instantiation, arguments, results),
//! so criterion's report puts them side by side and the capability's own
//! overhead is `guest - empty - native`; calls are made 100 times a run so
//! the fixed cost does not drown them.
//!
//! Quick run: `cargo bench -p tape-caps --bench caps -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand_core::{Rng, SeedableRng};
use redb::{Database, ReadableDatabase, TableDefinition};
use tape_caps::{Fs, Json, Kv, Log, Rand, Time};
use tape_rt::{Args, Config, Engine, Grants, Pooling, Program};

const GETS: usize = 100;

/// How many times a run makes the call it measures.
const CALLS: usize = 100;

/// An engine as a server runs one: instances from the pooling allocator,
/// whose memories stay mapped from run to run.
fn pooling_engine() -> Engine {
    Engine::new(Config {
        cache_dir: None,
        pooling: Some(Pooling { instances: 16 }),
        ..Config::default()
    })
    .unwrap()
}

/// An engine as `tape run` makes one: memories mapped on demand, so each
/// run's first writes to a page fault it in.
fn on_demand_engine() -> Engine {
    Engine::new(Config {
        cache_dir: None,
        ..Config::default()
    })
    .unwrap()
}

/// A run that makes `call` (statements leaving nothing on the stack)
/// `CALLS` times, after `setup`, with a local `$buf`.
fn calls_program(engine: &Engine, setup: &str, call: &str, grants: &Grants) -> Program {
    compile(
        engine,
        &format!(
            r#"(func $run (result i32)
                 (local $i i32) (local $buf i32)
                 {setup}
                 (loop $next
                   {call}
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br_if $next (i32.lt_u (local.get $i) (i32.const {CALLS}))))
                 (i32.const 0))"#
        ),
        grants,
    )
}

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

/// 100 reads of a 64-byte value from an in-memory store, with pooled
/// instances (as a server runs programs) and with memories mapped on
/// demand (as `tape run` does).
fn kv_get(c: &mut Criterion) {
    let kv = Kv::in_memory().unwrap();
    let programs = |engine: &Engine| {
        let gets = compile(
            engine,
            &format!(
                "(func $run (result i32) (local $i i32) {} (i32.const 0))",
                gets_loop()
            ),
            &tape_caps::grants().grant(kv.clone()),
        );
        let empty = compile(
            engine,
            "(func $run (result i32) (i32.const 0))",
            &tape_caps::grants(),
        );
        (gets, empty)
    };
    let engine = pooling_engine();
    store_value(&engine, &kv);
    let (gets, empty) = programs(&engine);

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

    let (gets, empty) = programs(&on_demand_engine());
    let mut group = c.benchmark_group("kv get x100, on-demand memory");
    group.bench_function("guest", |b| b.iter(|| run(&gets, &Args::new())));
    group.bench_function("empty guest run", |b| b.iter(|| run(&empty, &Args::new())));
    group.finish();
}

/// The hottest call of `time`, `rand`, `log` and `fs`, 100 times a run,
/// against the library under each.
fn capability_calls(c: &mut Criterion) {
    let engine = pooling_engine();
    let empty = compile(
        &engine,
        "(func $run (result i32) (i32.const 0))",
        &tape_caps::grants(),
    );
    let mut group = c.benchmark_group("capability calls x100");
    group.bench_function("empty guest run", |b| b.iter(|| run(&empty, &Args::new())));

    let now = calls_program(
        &engine,
        "",
        "(drop (call $time.now))",
        &tape_caps::grants().grant(Time::system()),
    );
    group.bench_function("time.now/guest", |b| b.iter(|| run(&now, &Args::new())));
    group.bench_function("time.now/SystemTime::now", |b| {
        b.iter(|| {
            for _ in 0..CALLS {
                let since = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                black_box(since.as_nanos() as i64);
            }
        })
    });

    let fill = calls_program(
        &engine,
        "(local.set $buf (call $core.alloc (i32.const 32)))",
        "(if (call $rand.fill (local.get $buf) (i32.const 32)) (then unreachable))",
        &tape_caps::grants().grant(Rand::os()),
    );
    group.bench_function("rand.fill 32 B/guest", |b| {
        b.iter(|| run(&fill, &Args::new()))
    });
    // A run seeds its generator from the operating system at its first
    // draw; so does this, once per 100 draws.
    group.bench_function("rand.fill 32 B/ChaCha20", |b| {
        b.iter(|| {
            let mut seed = [0; 32];
            getrandom::fill(&mut seed).unwrap();
            let mut generator = rand_chacha::ChaCha20Rng::from_seed(seed);
            let mut bytes = [0u8; 32];
            for _ in 0..CALLS {
                generator.fill_bytes(&mut bytes);
                black_box(&bytes);
            }
        })
    });

    let message = "a log message of some 40 bytes, say";
    let sink = |level: tape_caps::log::Level, text: &str| {
        black_box((level, text));
    };
    let log = calls_program(
        &engine,
        "",
        &format!(r#"(if (call $log.write (i32.const 2) "{message}") (then unreachable))"#),
        &tape_caps::grants().grant(Log::new().sink(sink)),
    );
    group.bench_function("log.write/guest", |b| b.iter(|| run(&log, &Args::new())));
    group.bench_function("log.write/sanitize + sink", |b| {
        b.iter(|| {
            for _ in 0..CALLS {
                let text = tape_caps::log::sanitize(black_box(message.as_bytes()));
                sink(tape_caps::log::Level::Info, &text);
            }
        })
    });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "x".repeat(1024)).unwrap();
    let read = calls_program(
        &engine,
        "",
        r#"(call $fs.read "data.txt") (if (then unreachable)) (drop)"#,
        &tape_caps::grants().grant(Fs::read_only(dir.path()).unwrap()),
    );
    group.bench_function("fs.read 1 KiB/guest", |b| {
        b.iter(|| run(&read, &Args::new()))
    });
    let jail =
        cap_std::fs::Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
    group.bench_function("fs.read 1 KiB/cap-std", |b| {
        b.iter(|| {
            for _ in 0..CALLS {
                black_box(jail.read("data.txt").unwrap());
            }
        })
    });
    group.finish();
}

/// Parse a 10 KiB document and read a string and a number from the middle
/// of it, on pooled instances, against serde_json parsing it into a
/// `Value` (what the capability held until it had its own nodes: 1.34×
/// serde_json then, 0.80× since).
fn json_read(c: &mut Criterion) {
    let engine = pooling_engine();
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

criterion_group!(benches, kv_get, capability_calls, json_read, record);
criterion_main!(benches);
