//! tape-rt against raw wasmtime on the same modules, in the same run.
//!
//! - `instantiate`: a trivial program run through [`Program::run`] against
//!   raw `InstancePre::instantiate` plus a typed call of `run`, on an engine
//!   with the same settings (fuel, epochs; on-demand or pooling).
//! - `host_calls`: a guest loop calling `core.alloc(1)` ten million times
//!   against the same loop importing a raw `Func::wrap` that does the same
//!   bump (and memory growth) in its own host state.
//! - `start`: loading a program and running it, its machine code compiled
//!   from scratch, from the on-disk cache, or from the memory cache.
//! - `profile`: a compute loop (`tests/cli/programs/primes.wat`: nested
//!   calls, about 30 ms) run plainly and
//!   profiled (`Run::profile`, a sample every 100 µs), on one engine whose
//!   epoch ticks every 100 µs: the profiler's overhead.
//! - `cold_start`: the first run of a program no cache holds, its
//!   compiles included (Tape's compiler, then Cranelift), against
//!   `wat::parse_str` of the same module's text plus a Cranelift compile
//!   and the same run on raw wasmtime, and, with the `bench-winch`
//!   feature, against the same with Winch, wasmtime's baseline compiler.
//!   Winch compiles the 400-function program about 4× faster, but Tape
//!   does not use it for first runs: with wasmtime 48.0.8, a run that
//!   traps on Winch's code reports one unit of fuel more than the same
//!   run on Cranelift's (an out-of-bounds load, a division by zero; runs
//!   that return used the same fuel in every program tried), and a trap
//!   in a function reached through `call_indirect` lost its wasm offset in
//!   Winch's backtrace, so the trap could not name its line. A program's
//!   fuel and its trap's line would depend on whether it was cached.
//! - `limits`: three compute loops (a tight counter loop, a call-heavy
//!   recursion, a memory-bound loop) run by tape-rt with the default
//!   limits, by tape-rt with no fuel limit and no timeout, and by raw
//!   wasmtime on engines with neither fuel metering nor epoch checks
//!   compiled in, with fuel only, with epochs only, and with both: what
//!   the limits cost compute, which of them costs what, and what tape-rt
//!   adds to wasmtime's own checks.
//!
//! After a `cargo bench` run it prints each ratio to raw wasmtime (or to
//! compiling) from criterion's medians, with the target where there is one.
//!
//! Quick run: `cargo bench -p tape-rt -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, criterion_group};
use tape_rt::wasmtime::{
    self, Caller, InstancePre, Linker, Memory, Module, PoolingAllocationConfig, Store,
};
use tape_rt::{Args, Config, Engine, Grants, Limits, Pooling, Program};

#[path = "support/criterion_results.rs"]
mod criterion_results;
use criterion_results::median_ns;

const TRIVIAL: &str = "(func $run (result i32) (i32.const 0))";

const ALLOC_CALLS: u32 = 10_000_000;

fn alloc_loop() -> String {
    format!(
        r#"(func $run (result i32)
             (local $i i32)
             (loop $next
               (drop (call $core.alloc (i32.const 1)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $next (i32.lt_u (local.get $i) (i32.const {ALLOC_CALLS}))))
             (i32.const 0))"#
    )
}

/// Enough memory for ten million 8-byte blocks.
fn alloc_limits() -> Limits {
    Limits {
        max_memory: 128 << 20,
        ..Limits::default()
    }
}

fn tape_config(pooling: bool) -> Config {
    Config {
        cache_dir: None,
        pooling: pooling.then_some(Pooling { instances: 64 }),
        limits: alloc_limits(),
        ..Config::default()
    }
}

/// A raw wasmtime engine with the settings tape-rt uses.
fn raw_engine(pooling: bool) -> wasmtime::Engine {
    let mut config = wasmtime::Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(512 << 10);
    if pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(64)
            .total_memories(64)
            .total_tables(64)
            .total_gc_heaps(64)
            .max_memories_per_module(1)
            .max_memory_size(128 << 20)
            .linear_memory_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    wasmtime::Engine::new(&config).unwrap()
}

fn compile_wasm(source: &str) -> Vec<u8> {
    let options = tape_compiler::Options {
        catalogue: Grants::new().catalogue(),
        ..Default::default()
    };
    tape_compiler::compile_str("bench.wat", source, &options)
        .unwrap()
        .wasm
}

/// What the raw host keeps per store: the bump allocator's top and the
/// memory handle.
struct RawState {
    top: u64,
    memory: Option<Memory>,
}

fn raw_pre(engine: &wasmtime::Engine, wasm: &[u8]) -> InstancePre<RawState> {
    let module = Module::new(engine, wasm).unwrap();
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            "core",
            "alloc",
            |mut caller: Caller<'_, RawState>, size: i32| -> i32 {
                let memory = caller.data().memory.unwrap();
                let start = caller.data().top;
                let end = start + u64::from(size as u32);
                let current = memory.data_size(&caller) as u64;
                if end > current {
                    memory
                        .grow(&mut caller, (end - current).div_ceil(65536))
                        .unwrap();
                }
                caller.data_mut().top = end.next_multiple_of(8);
                start as i32
            },
        )
        .unwrap();
    linker.instantiate_pre(&module).unwrap()
}

/// One raw run: a store with fuel and a deadline, an instance, the memory
/// handle kept, `run` looked up and called.
fn raw_run(engine: &wasmtime::Engine, pre: &InstancePre<RawState>) -> i32 {
    bare_run(engine, true, pre)
}

fn tape_program(pooling: bool, source: &str) -> Program {
    Engine::new(tape_config(pooling))
        .unwrap()
        .compile_str("bench.wat", source, &Grants::new())
        .unwrap()
}

fn instantiate(c: &mut Criterion) {
    let wasm = compile_wasm(TRIVIAL);
    let mut group = c.benchmark_group("instantiate");
    for (pooling, name) in [(false, "on-demand"), (true, "pooling")] {
        let program = tape_program(pooling, TRIVIAL);
        let args = Args::new();
        group.bench_function(BenchmarkId::new("rt", name), |b| {
            b.iter(|| black_box(program.run(&args).unwrap().status))
        });
        let engine = raw_engine(pooling);
        let pre = raw_pre(&engine, &wasm);
        group.bench_function(BenchmarkId::new("raw", name), |b| {
            b.iter(|| black_box(raw_run(&engine, &pre)))
        });
    }
    group.finish();
}

fn host_calls(c: &mut Criterion) {
    let source = alloc_loop();
    let wasm = compile_wasm(&source);
    let mut group = c.benchmark_group("host_calls");
    group.sample_size(10);
    let program = tape_program(false, &source);
    let limits = alloc_limits();
    group.bench_function(BenchmarkId::new("rt", "core.alloc"), |b| {
        b.iter(|| black_box(program.run_with(&Args::new(), &limits).unwrap().status))
    });
    let engine = raw_engine(false);
    let pre = raw_pre(&engine, &wasm);
    group.bench_function(BenchmarkId::new("raw", "core.alloc"), |b| {
        b.iter(|| black_box(raw_run(&engine, &pre)))
    });
    group.finish();
}

/// A program of some size: forty functions with a loop each.
fn sizable_program() -> String {
    program_of(40)
}

/// `functions` functions with a loop each, and a `run` calling the first.
fn program_of(functions: usize) -> String {
    let mut source = String::new();
    for i in 0..functions {
        source.push_str(&format!(
            r#"(func $f{i} (param $n i32) (result i32)
                 (local $acc i32)
                 (loop $l
                   (local.set $acc (i32.add (local.get $acc)
                     (i32.mul (local.get $n) (i32.const {k}))))
                   (local.set $acc (i32.xor (local.get $acc) (i32.shr_u (local.get $acc) (i32.const 3))))
                   (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                   (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
                 (local.get $acc))
"#,
            k = i * 7 + 3
        ));
    }
    source.push_str("(func $run (result i32) (drop (call $f0 (i32.const 10))) (i32.const 0))");
    source
}

fn start(c: &mut Criterion) {
    let source = sizable_program();
    let wasm = compile_wasm(&source);
    let grants = Grants::new();
    let dir = tempfile::tempdir().unwrap();
    let engine_with = |cache_dir: Option<PathBuf>, memory_cache: usize| {
        Engine::new(Config {
            cache_dir,
            memory_cache,
            ..Config::default()
        })
        .unwrap()
    };
    let mut group = c.benchmark_group("start");
    group.sample_size(20);
    for (name, engine) in [
        ("compile", engine_with(None, 0)),
        ("disk", engine_with(Some(dir.path().to_path_buf()), 0)),
        ("memory", engine_with(None, 8)),
    ] {
        // Fill the cache this engine reads.
        engine.load(&wasm, &grants).unwrap();
        group.bench_function(BenchmarkId::new("load_and_run", name), |b| {
            b.iter(|| {
                let program = engine.load(&wasm, &grants).unwrap();
                black_box(program.run(&Args::new()).unwrap().status)
            })
        });
        // From source: a hit skips Tape's compiler as well as wasmtime's.
        engine.compile_str("bench.wat", &source, &grants).unwrap();
        group.bench_function(BenchmarkId::new("compile_str_and_run", name), |b| {
            b.iter(|| {
                let program = engine.compile_str("bench.wat", &source, &grants).unwrap();
                black_box(program.run(&Args::new()).unwrap().status)
            })
        });
    }
    group.finish();
}

fn profile(c: &mut Criterion) {
    let engine = Engine::new(Config {
        cache_dir: None,
        epoch_tick: std::time::Duration::from_micros(100),
        ..Config::default()
    })
    .unwrap();
    let program = engine
        .compile_str("primes.wat", tape_testkit::rt::PRIMES, &Grants::new())
        .unwrap();
    let mut group = c.benchmark_group("profile");
    group.sample_size(20);
    group.bench_function("plain", |b| {
        b.iter(|| black_box(program.run(&Args::new()).unwrap()))
    });
    group.bench_function("profiled", |b| {
        b.iter(|| {
            let (run, profile) = tape_rt::Run::new(&program).profile();
            black_box((run.unwrap(), profile.functions()))
        })
    });
    group.finish();
}

/// The loops of the `limits` group, each some milliseconds of pure wasm;
/// each returns 0 or 1 from what it computed, so nothing can be left out.
const LIMIT_LOOPS: [(&str, &str); 3] = [
    (
        "counter",
        r#"(func $run (result i32)
             (local $i i32) (local $acc i32)
             (loop $next
               (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $next (i32.lt_u (local.get $i) (i32.const 20000000))))
             (i32.eq (local.get $acc) (i32.const 7)))"#,
    ),
    (
        "recursion",
        r#"(func $fib (param $n i32) (result i32)
             (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
               (then (local.get $n))
               (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                              (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
           (func $run (result i32)
             (i32.ne (call $fib (i32.const 27)) (i32.const 196418)))"#,
    ),
    (
        "memory",
        r#"(func $run (result i32)
             (local $buf i32) (local $i i32) (local $round i32) (local $sum i32)
             (local.set $buf (call $core.alloc (i32.const 1048576)))
             (loop $rounds
               (local.set $i (i32.const 0))
               (loop $fill
                 (i32.store (i32.add (local.get $buf) (i32.shl (local.get $i) (i32.const 2)))
                   (i32.add (local.get $i) (local.get $round)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $fill (i32.lt_u (local.get $i) (i32.const 262144))))
               (local.set $i (i32.const 0))
               (loop $sum
                 (local.set $sum (i32.add (local.get $sum)
                   (i32.load (i32.add (local.get $buf) (i32.shl (local.get $i) (i32.const 2))))))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $sum (i32.lt_u (local.get $i) (i32.const 262144))))
               (local.set $round (i32.add (local.get $round) (i32.const 1)))
               (br_if $rounds (i32.lt_u (local.get $round) (i32.const 8))))
             (i32.eq (local.get $sum) (i32.const 7)))"#,
    ),
];

/// A raw wasmtime engine with fuel metering and epoch checks compiled in
/// or not.
fn bare_engine(fuel: bool, epochs: bool) -> wasmtime::Engine {
    let mut config = wasmtime::Config::new();
    config
        .consume_fuel(fuel)
        .epoch_interruption(epochs)
        .max_wasm_stack(512 << 10);
    wasmtime::Engine::new(&config).unwrap()
}

/// One run on a [`bare_engine`]: fuel and a deadline only if the engine
/// checks them.
fn bare_run(engine: &wasmtime::Engine, fuel: bool, pre: &InstancePre<RawState>) -> i32 {
    let mut store = Store::new(
        engine,
        RawState {
            top: 1024,
            memory: None,
        },
    );
    if fuel {
        store.set_fuel(u64::MAX).unwrap();
    }
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = pre.instantiate(&mut store).unwrap();
    store.data_mut().memory = instance.get_memory(&mut store, "mem.tape");
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    run.call(&mut store, ()).unwrap()
}

fn limits(c: &mut Criterion) {
    let engine = Engine::new(tape_config(false)).unwrap();
    let unlimited = Limits {
        fuel: None,
        timeout: None,
        ..alloc_limits()
    };
    let bare = [
        (
            "wasmtime, no fuel or epochs",
            false,
            bare_engine(false, false),
        ),
        ("wasmtime, fuel only", true, bare_engine(true, false)),
        ("wasmtime, epochs only", false, bare_engine(false, true)),
        ("wasmtime, fuel and epochs", true, bare_engine(true, true)),
    ];
    let mut group = c.benchmark_group("limits");
    group.sample_size(20);
    for (name, source) in LIMIT_LOOPS {
        let program = engine
            .compile_str("bench.wat", source, &Grants::new())
            .unwrap();
        assert_eq!(program.run(&Args::new()).unwrap().status, 0);
        group.bench_function(BenchmarkId::new(name, "tape, default limits"), |b| {
            b.iter(|| black_box(program.run(&Args::new()).unwrap().status))
        });
        group.bench_function(BenchmarkId::new(name, "tape, no fuel or timeout"), |b| {
            b.iter(|| black_box(program.run_with(&Args::new(), &unlimited).unwrap().status))
        });
        let wasm = compile_wasm(source);
        for (engine_name, fuel, engine) in &bare {
            let pre = raw_pre(engine, &wasm);
            assert_eq!(bare_run(engine, *fuel, &pre), 0);
            group.bench_function(BenchmarkId::new(name, *engine_name), |b| {
                b.iter(|| black_box(bare_run(engine, *fuel, &pre)))
            });
        }
    }
    group.finish();
}

/// A raw engine like [`raw_engine`] that compiles with Winch, with the
/// `bench-winch` feature.
fn winch_engine() -> Option<wasmtime::Engine> {
    #[cfg(feature = "bench-winch")]
    {
        let mut config = wasmtime::Config::new();
        config
            .strategy(wasmtime::Strategy::Winch)
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(512 << 10);
        Some(wasmtime::Engine::new(&config).unwrap())
    }
    #[cfg(not(feature = "bench-winch"))]
    None
}

fn cold_start(c: &mut Criterion) {
    let mut group = c.benchmark_group("cold_start");
    group.sample_size(20);
    let engine = Engine::new(Config {
        cache_dir: None,
        memory_cache: 0,
        ..Config::default()
    })
    .unwrap();
    let grants = Grants::new();
    let options = tape_compiler::Options {
        catalogue: grants.catalogue(),
        ..Default::default()
    };
    let references: Vec<_> = [
        ("wat + cranelift", Some(raw_engine(false))),
        ("wat + winch", winch_engine()),
    ]
    .into_iter()
    .filter_map(|(name, engine)| Some((name, engine?)))
    .collect();
    for functions in [40, 400] {
        let source = program_of(functions);
        // The module's text, as Tape hands it to its encoder, with the
        // memory and the export the encoder adds.
        let expansion = tape_compiler::expand_str("bench.wat", &source, &options).unwrap();
        let fields = expansion.trim_end().strip_suffix(')').unwrap();
        let text =
            format!(r#"{fields} (memory (export "mem.tape") 1) (export "run" (func $run)))"#);
        group.bench_function(BenchmarkId::new("tape", functions), |b| {
            b.iter(|| {
                let program = engine.compile_str("bench.wat", &source, &grants).unwrap();
                black_box(program.run(&Args::new()).unwrap().status)
            })
        });
        for (name, raw) in &references {
            group.bench_function(BenchmarkId::new(*name, functions), |b| {
                b.iter(|| {
                    let wasm = wat::parse_str(&text).unwrap();
                    black_box(raw_run(raw, &raw_pre(raw, &wasm)))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    instantiate,
    host_calls,
    start,
    profile,
    limits,
    cold_start
);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Only a real measurement (`cargo bench`) has medians worth comparing;
    // `cargo test --benches` runs each benchmark once.
    if std::env::args().any(|a| a == "--bench") {
        report();
    }
}

/// Prints each ratio from the medians criterion saved.
fn report() {
    let ratios = [
        ("instantiate", "rt/on-demand", "raw/on-demand", Some(1.5)),
        ("instantiate", "rt/pooling", "raw/pooling", Some(1.5)),
        ("instantiate", "rt/pooling", "rt/on-demand", None),
        ("host_calls", "rt/core.alloc", "raw/core.alloc", Some(2.0)),
        ("start", "load_and_run/disk", "load_and_run/compile", None),
        ("start", "load_and_run/memory", "load_and_run/compile", None),
        (
            "start",
            "compile_str_and_run/disk",
            "compile_str_and_run/compile",
            None,
        ),
        (
            "start",
            "compile_str_and_run/memory",
            "compile_str_and_run/compile",
            None,
        ),
        ("profile", "profiled", "plain", None),
    ];
    println!("\nratios of medians:");
    for (group, a, b, target) in ratios {
        let (Some(x), Some(y)) = (median_ns(group, a), median_ns(group, b)) else {
            println!("  {group}: {a} / {b}: not measured in this run");
            continue;
        };
        let target = target.map_or(String::new(), |t| format!(" (target ≤ {t}×)"));
        println!(
            "  {group}: {a} {} / {b} {} = {:.2}×{target}",
            human(x),
            human(y),
            x / y
        );
    }
    let per_call = |id| median_ns("host_calls", id).map(|ns| ns / f64::from(ALLOC_CALLS));
    if let (Some(rt), Some(raw)) = (per_call("rt/core.alloc"), per_call("raw/core.alloc")) {
        println!("  host_calls per call: rt {rt:.2} ns, raw {raw:.2} ns");
    }
}

fn human(ns: f64) -> String {
    match ns {
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{ns:.0} ns"),
    }
}
