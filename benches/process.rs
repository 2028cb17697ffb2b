//! `tape run examples/hello/hello.wat` as a whole process, with a warm module
//! cache, against a minimal wasmtime runner doing the same compile-and-run
//! with wasmtime's own cache, in the same run. Target: Tape no slower.
//!
//! What each process does, from `execve` to exit:
//!
//! - `tape run examples/hello/hello.wat`: reads its command line (a plain
//!   `run FILE` without clap), reads `examples/hello/tape.toml`, creates its
//!   engine (fuel, epoch interruption, a stack cap) and the default grants,
//!   reads the file, finds the program in its disk cache
//!   (`$XDG_CACHE_HOME/tape`) by the SHA-256 of its text, name and
//!   catalogue — so nothing is preprocessed, parsed, validated or compiled
//!   — checks the entry's CRC-32, loads its machine code and metadata,
//!   links and instantiates it, arms a timer for the run's deadline (a
//!   POSIX timer whose `SIGALRM` stops the run: no thread), calls `run`
//!   (which hands over one string with `core.result`) and prints it.
//! - `wasmtime-runner benches/wat/hello-plain.wat` (the `tape-bench-runner`
//!   package, never installed with `tape`): reads the same program written
//!   as plain WebAssembly text (what `tape expand` gives, with the memory
//!   and static data Tape adds), parses it with the `wat` crate, creates a
//!   default wasmtime engine with wasmtime's own cache
//!   (`$XDG_CACHE_HOME/wasmtime`), compiles through that cache, links a
//!   `core.result` that copies the string out, calls `run` and prints it.
//!
//! Both start from text and both parse it: that is the fair "same
//! compile-and-run". Giving the runner the `.wasm` of `tape build` would
//! spare it the parse Tape does; giving it `examples/hello/hello.wat` itself is
//! not possible, since string literals are Tape's. Tape does more besides
//! (the preprocessor, a sandboxing engine, a command line and grants), and
//! the target is that all of it costs no more than the reference's start.
//!
//! Each process gets a cache directory of its own in a temporary directory
//! (through `XDG_CACHE_HOME`), which is warmed, and checked to be used,
//! before anything is measured; the user's caches are never touched. Both
//! binaries run from copies in that directory, as `cargo install` would
//! place them (see `process` for why that matters).
//!
//! Where the time goes (2 vCPUs; `perf record` and `perf stat` of a few
//! hundred starts of each, timestamps inside each process, `callgrind`
//! instruction counts): about 1 ms of either process is `execve`, the
//! dynamic loader and glibc's start-up. CPUID exits to the hypervisor on a
//! VM, and is dear: the CPU feature detection that wasmtime's engine needs
//! costs either process about 60 µs, libgcc's about 40 µs. In `main`, Tape
//! now runs fewer instructions than the reference (a cache hit skips its
//! compiler, where the reference parses its text every time) and uses
//! about a tenth less CPU in all; what it loses back is in the loader and
//! the kernel, for a larger binary (25,000 relocations to the reference's
//! 17,000, and 20 more page faults), and it lost as much again to a
//! thread of its own, the one that advanced the epoch for timeouts: a
//! thread costs a process about 100 µs to start on this VM, even one that
//! does nothing (the reference starts one too, wasmtime's cache worker).
//! `tape run` now stops a timed run with a timer signal instead
//! (`Timer::Signal`, `rt/src/alarm.rs`).
//!
//! Linking is dear too. Rust's standard library unwinds panics with
//! libgcc's unwinder, loaded at every start as `libgcc_s.so.1`, whose
//! constructor asks the CPU for its features: `build.rs` links the
//! unwinder into `tape` instead (gcc's `-static-libgcc`), about 7% of a
//! start. The reference is left as a program is built by default, with
//! `libgcc_s.so.1`; linked as `tape` is, it starts about 7% sooner, and
//! then Tape takes about 1.04× its time (below).
//!
//! A shared library is dear at start: libm, linked again for tokio's one
//! `f64::powf` (`tape serve`), cost about 5% of a start until `main.rs`
//! defined `pow` itself; `tests/cli.rs` checks the binary names no library
//! beyond glibc's own.
//!
//! Tried for the loader's share, and not kept: packed relative relocations
//! (`-z pack-relative-relocs`, DT_RELR, which glibc 2.36 reads) shrink
//! `.rela.dyn` from 750 KB to 11 KB but made a start 6–10% slower in four
//! alternating `perf stat -r 500` rounds; the pages of `.data.rel.ro` the
//! loader writes are copied on write either way (`copy_mc` under
//! `_dl_relocate_object` is 3% of a start). A position-dependent binary
//! would have none to write, and no address randomisation for the
//! binary's own code: not a trade for a sandbox.
//!
//! Measured so (`cargo bench --workspace --bench process -- --warm-up-time
//! 2 --measurement-time 10`, 2 vCPUs, nothing else running), six runs:
//! every start of each, taken in turns, tape 1.73–1.92 ms against the
//! runner's 1.74–1.94 ms, 0.99–1.00×; criterion's own medians, each binary
//! in its own ten seconds, 0.94–1.01×. Before the source-keyed
//! cache and the plain `run` path it was 1.09–1.12× (tape 1.96–2.04 ms).
//! Since, the binary has grown with the capabilities (30 MB, 31,000
//! relocations to the runner's 19,000): 1.05× in turns (tape 1.86 ms,
//! runner 1.77 ms) and 1.06× by criterion's medians, December 2026.
//! With the timer signal, the unwinder linked in and the engine left to
//! the process's end (`run.rs`), three runs: 0.94–0.95× in turns (tape
//! 1.65–1.66 ms, runner 1.73–1.75 ms), 0.94–0.98× by criterion's medians.
//! Against the runner linked as `tape` is (`cargo rustc --release -p
//! tape-bench-runner -- -C link-arg=-Wl,--whole-archive -C
//! link-arg=$(cc -print-file-name=libgcc_eh.a) -C
//! link-arg=-Wl,--no-whole-archive`), both copied fresh and timed in
//! turns outside this bench (400 starts each, three rounds): 1.04×, what
//! is left being the loader's work for the relocations above.
//!
//! How a binary's file sits in the page cache moves these figures by up
//! to 5%: a copy written in one pass, or read back from disk, is held in
//! larger pieces, which map with fewer page faults. Both binaries are
//! copied the same way, just before they are measured.
//!
//! The two ratios are both printed: criterion measures the two binaries in
//! turn, ten seconds each, and load that changes between the two windows
//! moved that ratio by ±5% between runs on this machine; the medians of
//! every start, each next to a start of the other, move by about 1%.
//!
//! The two binaries are built by this bench, with `cargo build --workspace
//! --bins --benches` in the same target directory and profile as the bench
//! itself — release under `cargo bench`, debug under `cargo test --benches`
//! (which runs each benchmark once) — since a bench can only find binaries
//! of its own package, and the runner must not be one of `tape`'s. They are
//! built together, so both link the same wasmtime (with its `cache`
//! feature, which only the runner uses). Under CI's `cargo test --workspace
//! --benches` that build finds everything built but the runner's binary.
//! `cargo bench --workspace --bench process` resolves features as that
//! build does; without `--workspace` the first run builds wasmtime twice.
//!
//! It prints both ratios at the end. Quick run: `cargo bench
//! --workspace --bench process -- --warm-up-time 1 --measurement-time 5`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};

#[path = "../rt/benches/support/criterion_results.rs"]
mod criterion_results;
use criterion_results::median_ns;

/// What both programs print.
const EXPECTED: &str = "hello, world\n";

/// One of the two programs, with its own cache.
struct Process {
    name: &'static str,
    exe: PathBuf,
    args: Vec<PathBuf>,
    /// Its `XDG_CACHE_HOME`.
    cache_home: PathBuf,
    /// Its `XDG_CONFIG_HOME`, empty: wasmtime would look for a cache
    /// configuration there.
    config_home: PathBuf,
}

impl Process {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.exe);
        command
            .args(&self.args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("XDG_CACHE_HOME", &self.cache_home)
            .env("XDG_CONFIG_HOME", &self.config_home)
            .env_remove("WASMTIME_BACKTRACE_DETAILS")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs it to its end, checking it printed the greeting.
    fn run(&self) {
        let output = self.command().output().expect("the process starts");
        assert!(
            output.status.success() && output.stdout == EXPECTED.as_bytes(),
            "{} exited {:?}, printing {:?}; standard error:\n{}",
            self.name,
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Fills its cache, and checks that the next start finds the module
    /// there rather than compiling and writing it again.
    fn warm(&self) {
        self.run();
        let entries = cache_entries(&self.cache_home);
        assert!(
            !entries.is_empty(),
            "{} wrote nothing to its cache",
            self.name
        );
        let written = modified(&entries);
        self.run();
        assert_eq!(
            (cache_entries(&self.cache_home), modified(&entries)),
            (entries, written),
            "{} compiled again instead of using its cache",
            self.name
        );
    }
}

/// When each file was last written.
/// Each file's inode: an entry written again is a new file renamed into
/// place, while a hit leaves the file (Tape's cache touches its
/// modification time, to keep the least recently used order).
fn modified(files: &[PathBuf]) -> Vec<u64> {
    use std::os::unix::fs::MetadataExt;
    files
        .iter()
        .map(|f| std::fs::metadata(f).expect("a cache entry").ino())
        .collect()
}

/// The files under `dir` whose names are cache entries (not wasmtime's
/// usage statistics, which every hit updates), sorted.
fn cache_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            // wasmtime's cache worker keeps usage statistics beside each
            // module, written in the background (`….stats`, through a
            // `….wip-atomic-write-stats` file): bookkeeping, not a module.
            let bookkeeping =
                name.starts_with('.') || name.ends_with(".stats") || name.contains(".wip-");
            if path.is_dir() {
                pending.push(path);
            } else if !bookkeeping {
                entries.push(path);
            }
        }
    }
    entries.sort();
    entries
}

/// Builds `tape` and `wasmtime-runner` in this bench's target directory
/// and profile; returns their paths.
fn build() -> (PathBuf, PathBuf) {
    let exe = std::env::current_exe().expect("the bench's own path");
    // `<target>/<profile>/deps/process-<hash>`
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the bench runs from a target directory");
    let mut command = Command::new(env!("CARGO"));
    command
        // The selection of `cargo test --workspace --benches`, whose
        // feature resolution this repeats, so that it rebuilds nothing
        // but the runner.
        .args(["build", "--workspace", "--bins", "--benches"])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--target-dir")
        .arg(target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit());
    // What cargo set for running this bench is not the user's environment:
    // a build script that reads it (ring reads `CARGO_MANIFEST_DIR`) would
    // find it changed, and be rebuilt with all that depends on it.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || matches!(
                &*key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
                    | "OUT_DIR"
            )
        {
            command.env_remove(&*key);
        }
    }
    // Debug assertions are on in the test profile, off in the bench one.
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo could not build the binaries"
    );
    let mut binaries = std::collections::HashMap::new();
    for line in output.stdout.split(|&b| b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if let (Some(name), Some(path)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            binaries.insert(name.to_string(), PathBuf::from(path));
        }
    }
    let mut take = |name: &str| {
        binaries
            .remove(name)
            .unwrap_or_else(|| panic!("cargo built no `{name}`"))
    };
    (take("tape"), take("wasmtime-runner"))
}

fn process(c: &mut Criterion) {
    let (tape, runner) = build();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let caches = tempfile::tempdir().expect("a temporary directory");
    // Each binary runs from a copy, as `cargo install` installs it: how
    // the linker wrote a file leaves it in the page cache in pieces that
    // cost a process more page faults to map than a file written in one
    // sequential pass (a measured 313 against 255 for `tape`).
    let installed = |exe: &Path| {
        let dir = caches.path().join("bin");
        std::fs::create_dir_all(&dir).expect("a directory for the binaries");
        let copy = dir.join(exe.file_name().expect("a binary has a name"));
        std::fs::copy(exe, &copy).expect("a copy of the binary");
        copy
    };
    let (tape, runner) = (installed(&tape), installed(&runner));
    let process = |name, exe, args| {
        let cache_home = caches.path().join(name);
        std::fs::create_dir_all(&cache_home).expect("a cache directory");
        Process {
            name,
            exe,
            args,
            cache_home,
            config_home: caches.path().join("config"),
        }
    };
    let tape = process(
        "tape",
        tape,
        vec!["run".into(), root.join("examples/hello/hello.wat")],
    );
    let runner = process(
        "wasmtime-runner",
        runner,
        vec![root.join("benches/wat/hello-plain.wat")],
    );
    tape.warm();
    runner.warm();

    let mut group = c.benchmark_group("process");
    // Each sample is a few milliseconds of starting processes.
    group.sample_size(50);
    let starts = std::cell::RefCell::new(Starts::default());
    group.bench_function("wasmtime-runner", |b| {
        b.iter_custom(|iters| alternate(&runner, &tape, iters, &mut starts.borrow_mut()))
    });
    group.bench_function("tape", |b| {
        b.iter_custom(|iters| alternate(&tape, &runner, iters, &mut starts.borrow_mut()))
    });
    group.finish();
    let starts = starts.into_inner();
    if let (Some(tape), Some(runner)) = (median(starts.tape), median(starts.runner)) {
        let _ = PAIRED.set((tape, runner));
    }
}

/// Every start timed, of each binary.
#[derive(Default)]
struct Starts {
    tape: Vec<Duration>,
    runner: Vec<Duration>,
}

/// The medians of every start of `tape` and of the runner, for `report`.
static PAIRED: std::sync::OnceLock<(Duration, Duration)> = std::sync::OnceLock::new();

/// The time of `iters` starts of `measured`, each followed by a start of
/// `other`: the two take turns, so load on the machine that comes and goes
/// while the bench runs (other builds, on a shared machine) falls on both
/// alike. Both are timed into `starts`, so that every start of either
/// binary has a start of the other next to it.
fn alternate(measured: &Process, other: &Process, iters: u64, starts: &mut Starts) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        measured.run();
        let took = start.elapsed();
        total += took;
        let start = Instant::now();
        other.run();
        let other_took = start.elapsed();
        let (tape, runner) = if measured.name == "tape" {
            (took, other_took)
        } else {
            (other_took, took)
        };
        starts.tape.push(tape);
        starts.runner.push(runner);
    }
    total
}

fn median(mut times: Vec<Duration>) -> Option<Duration> {
    times.sort();
    times.get(times.len() / 2).copied()
}

criterion_group!(benches, process);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Only a real measurement (`cargo bench`) has medians worth comparing;
    // `cargo test --benches` runs each benchmark once.
    if std::env::args().any(|a| a == "--bench") {
        report();
    }
}

/// Prints the ratio of the medians criterion saved, and of every start
/// each binary made, the two in turns.
fn report() {
    if let Some((tape, runner)) = PAIRED.get() {
        println!(
            "\nratio of the medians of every start, taken in turns:\n  process: tape {:.2} ms / wasmtime-runner {:.2} ms = {:.2}× (target ≤ 1.0×)",
            tape.as_secs_f64() * 1e3,
            runner.as_secs_f64() * 1e3,
            tape.as_secs_f64() / runner.as_secs_f64()
        );
    }
    let (Some(tape), Some(runner)) = (
        median_ns("process", "tape"),
        median_ns("process", "wasmtime-runner"),
    ) else {
        println!("\nprocess: tape / wasmtime-runner: not measured in this run");
        return;
    };
    println!(
        "ratio of criterion's medians (each binary measured in its own ten seconds):\n  process: tape {:.2} ms / wasmtime-runner {:.2} ms = {:.2}×",
        tape / 1e6,
        runner / 1e6,
        tape / runner
    );
}
