//! Compile throughput: the whole Tape pipeline (text in, validated module
//! out) against raw `wat::parse_str` on the same input, in the same run.
//!
//! `cargo bench -p tape-compiler --bench compile`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tape_compiler::{Catalogue, Options};

mod inputs;

fn options() -> Options {
    let mut catalogue = Catalogue::new();
    catalogue.insert("core", "arg", "(param $n i32) (result i32 i32)");
    catalogue.insert("core", "result", "(param $ptr i32) (result i32)");
    catalogue.insert(
        "log",
        "write",
        "(param $level i32) (param $msg i32) (result i32)",
    );
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
    group.bench_function("tape expand only", |b| {
        b.iter(|| tape_compiler::expand_str("extended.wat", &extended, &options).unwrap())
    });
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
