//! Compile throughput: the whole Tape pipeline (text in, validated module
//! out) against raw `wat::parse_str` on the same input, in the same run.
//!
//! `cargo bench -p tape-compiler --bench compile`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tape_compiler::{Catalogue, Lints, Options};

#[path = "support/inputs.rs"]
mod inputs;

fn options() -> Options {
    let mut catalogue = Catalogue::new();
    for (module, function, signature) in inputs::CATALOGUE {
        catalogue.insert(module, function, signature);
    }
    Options {
        catalogue,
        ..Options::default()
    }
}

fn compile(c: &mut Criterion) {
    let options = options();
    let plain = inputs::plain(4000);
    let extended = inputs::extended(4000);
    // The extended program as plain text, for a like-for-like reference.
    let expanded = tape_compiler::expand_str("extended.wat", &extended, &options).unwrap();

    let mut group = c.benchmark_group("compile/plain");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.sample_size(20);
    group.bench_function("wat::parse_str", |b| {
        b.iter(|| wat::parse_str(&plain).unwrap())
    });
    group.bench_function("tape", |b| {
        b.iter(|| tape_compiler::compile_str("plain.wat", &plain, &options).unwrap())
    });
    let no_lines = Options {
        line_table: false,
        ..options.clone()
    };
    group.bench_function("tape without line table", |b| {
        b.iter(|| tape_compiler::compile_str("plain.wat", &plain, &no_lines).unwrap())
    });
    let no_lints = Options {
        lints: Lints::none(),
        ..options.clone()
    };
    group.bench_function("tape without lints", |b| {
        b.iter(|| tape_compiler::compile_str("plain.wat", &plain, &no_lints).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("compile/extended");
    group.throughput(Throughput::Bytes(extended.len() as u64));
    group.sample_size(20);
    group.bench_function("wat::parse_str (of the expansion)", |b| {
        b.iter(|| wat::parse_str(&expanded).unwrap())
    });
    group.bench_function("tape", |b| {
        b.iter(|| tape_compiler::compile_str("extended.wat", &extended, &options).unwrap())
    });
    // What the lints cost: the same compile without them.
    let no_lints = Options {
        lints: Lints::none(),
        ..options.clone()
    };
    group.bench_function("tape without lints", |b| {
        b.iter(|| tape_compiler::compile_str("extended.wat", &extended, &no_lints).unwrap())
    });
    group.bench_function("tape expand only", |b| {
        b.iter(|| tape_compiler::expand_str("extended.wat", &extended, &options).unwrap())
    });
    group.finish();
}

/// One function with `n` named locals, each declared among the
/// instructions (so Tape hoists it) and set once.
fn locals(n: usize) -> String {
    let body: String = (0..n)
        .map(|i| format!("(local $l{i} i32) (local.set $l{i} (i32.const {i}))\n"))
        .collect();
    format!("(func $run (result i32)\n{body}(i32.const 0))\n")
}

/// Locals were looked up in a list of all the function's others: 40,000
/// of them took 2.2 s. With a hash map, the time per byte is the same for
/// 4,000 locals and for 40,000: compare the two throughputs, each against
/// `wat` on the expansion in the same run.
fn many_locals(c: &mut Criterion) {
    let options = options();
    let mut group = c.benchmark_group("compile/locals");
    group.sample_size(10);
    for n in [4_000, 40_000] {
        let source = locals(n);
        let expanded = tape_compiler::expand_str("locals.wat", &source, &options).unwrap();
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_function(format!("wat::parse_str (of the expansion), {n}"), |b| {
            b.iter(|| wat::parse_str(&expanded).unwrap())
        });
        group.bench_function(format!("tape, {n}"), |b| {
            b.iter(|| tape_compiler::compile_str("locals.wat", &source, &options).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, compile, many_locals);
criterion_main!(benches);
