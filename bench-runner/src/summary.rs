//! `bench-summary`: every ratio the performance targets name, from the
//! medians criterion saved, in one table.
//!
//! Run the benchmarks first (each writes its medians under
//! `target/criterion`), then this:
//!
//! ```sh
//! cargo bench --workspace -- --warm-up-time 1 --measurement-time 3
//! cargo run -p tape-bench-runner --bin bench-summary
//! ```
//!
//! Each row is Tape against a reference measured in the same run: a
//! library used directly, raw wasmtime, `memcpy`, or the same run without
//! the feature. A row whose benchmarks were not run this time says so.
//! Criterion keeps the last run of each benchmark, so run them together
//! for ratios that mean something.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How a row's ratio is read.
#[derive(Clone, Copy)]
enum Ratio {
    /// Reference time ÷ Tape's time: higher is better; the target is a
    /// least.
    Speed(f64),
    /// Tape's time ÷ the reference's: lower is better; the target is a
    /// most.
    Cost(f64),
    /// Tape's time ÷ the reference's, no target: for information.
    Info,
    /// The reference's time ÷ this row's, no target: for information, on
    /// the scale of the speed rows beside it.
    SpeedInfo,
}

struct Row {
    what: &'static str,
    /// Benchmarks summed for Tape's side, minus those after a `-`.
    tape: &'static [&'static str],
    /// Benchmarks summed for the reference.
    reference: &'static [&'static str],
    /// Tape's side is divided by this (calls in a loop), and so is the
    /// reference's `per`.
    per: (f64, f64),
    ratio: Ratio,
}

const ROWS: &[Row] = &[
    Row {
        what: "compile plain WAT, default options vs wat::parse_str",
        tape: &["compile/plain/tape"],
        reference: &["compile/plain/wat::parse_str"],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(0.9),
    },
    Row {
        what: "compile extended WAT vs wat on its expansion",
        tape: &["compile/extended/tape"],
        reference: &["compile/extended/wat::parse_str (of the expansion)"],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(0.8),
    },
    Row {
        what: "protocol, 8 values, ser + borrowed de, derive, vs bincode",
        tape: &[
            "message/8_values/serialize/tape_derive",
            "message/8_values/deserialize_borrowed/tape_derive",
        ],
        reference: &[
            "message/8_values/serialize/bincode",
            "message/8_values/deserialize_borrowed/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(1.3),
    },
    Row {
        what: "  the same through serde (Serialize, Deserialize)",
        tape: &[
            "message/8_values/serialize/tape",
            "message/8_values/deserialize_borrowed/tape",
        ],
        reference: &[
            "message/8_values/serialize/bincode",
            "message/8_values/deserialize_borrowed/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "  written by hand for this message, without serde",
        tape: &[
            "message/8_values/serialize/hand-written",
            "message/8_values/deserialize_borrowed/hand-written",
        ],
        reference: &[
            "message/8_values/serialize/bincode",
            "message/8_values/deserialize_borrowed/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "protocol, 8 values, ser + owned de, derive, vs bincode",
        tape: &[
            "message/8_values/serialize/tape_derive",
            "message/8_values/deserialize_owned/tape_derive",
        ],
        reference: &[
            "message/8_values/serialize/bincode",
            "message/8_values/deserialize_owned/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(1.3),
    },
    Row {
        what: "  the same through serde (Serialize, Deserialize)",
        tape: &[
            "message/8_values/serialize/tape",
            "message/8_values/deserialize_owned/tape",
        ],
        reference: &[
            "message/8_values/serialize/bincode",
            "message/8_values/deserialize_owned/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "  written by hand for this message, without serde",
        tape: &[
            "message/8_values/serialize/hand-written",
            "message/8_values/deserialize_owned/hand-written",
        ],
        reference: &[
            "message/8_values/serialize/bincode",
            "message/8_values/deserialize_owned/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "protocol, 256 values, ser + borrowed de, derive, vs bincode",
        tape: &[
            "message/256_values/serialize/tape_derive",
            "message/256_values/deserialize_borrowed/tape_derive",
        ],
        reference: &[
            "message/256_values/serialize/bincode",
            "message/256_values/deserialize_borrowed/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(1.3),
    },
    Row {
        what: "  the same through serde (Serialize, Deserialize)",
        tape: &[
            "message/256_values/serialize/tape",
            "message/256_values/deserialize_borrowed/tape",
        ],
        reference: &[
            "message/256_values/serialize/bincode",
            "message/256_values/deserialize_borrowed/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "  written by hand for this message, without serde",
        tape: &[
            "message/256_values/serialize/hand-written",
            "message/256_values/deserialize_borrowed/hand-written",
        ],
        reference: &[
            "message/256_values/serialize/bincode",
            "message/256_values/deserialize_borrowed/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "protocol, 256 values, ser + owned de, derive, vs bincode",
        tape: &[
            "message/256_values/serialize/tape_derive",
            "message/256_values/deserialize_owned/tape_derive",
        ],
        reference: &[
            "message/256_values/serialize/bincode",
            "message/256_values/deserialize_owned/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(1.3),
    },
    Row {
        what: "  the same through serde (Serialize, Deserialize)",
        tape: &[
            "message/256_values/serialize/tape",
            "message/256_values/deserialize_owned/tape",
        ],
        reference: &[
            "message/256_values/serialize/bincode",
            "message/256_values/deserialize_owned/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "  written by hand for this message, without serde",
        tape: &[
            "message/256_values/serialize/hand-written",
            "message/256_values/deserialize_owned/hand-written",
        ],
        reference: &[
            "message/256_values/serialize/bincode",
            "message/256_values/deserialize_owned/bincode",
        ],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "protocol, 64 KiB bytes, serialize vs memcpy",
        tape: &["bulk/bytes_64KiB/serialize/tape"],
        reference: &["bulk/bytes_64KiB/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(0.5),
    },
    Row {
        what: "protocol, 64 KiB bytes, owned de vs memcpy",
        tape: &["bulk/bytes_64KiB/deserialize_owned/tape"],
        reference: &["bulk/bytes_64KiB/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(0.5),
    },
    Row {
        what: "  derive, plain Vec<u8>, serialize vs memcpy",
        tape: &["bulk/bytes_64KiB/serialize/tape_derive"],
        reference: &["bulk/bytes_64KiB/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "  derive, plain Vec<u8>, owned de vs memcpy",
        tape: &["bulk/bytes_64KiB/deserialize_owned/tape_derive"],
        reference: &["bulk/bytes_64KiB/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "protocol, 16 Ki i32, plain Vec, derive, serialize vs memcpy",
        tape: &["bulk/i32_16Ki/serialize/tape_derive"],
        reference: &["bulk/i32_16Ki/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(0.5),
    },
    Row {
        what: "protocol, 16 Ki i32, plain Vec, derive, deserialize vs memcpy",
        tape: &["bulk/i32_16Ki/deserialize/tape_derive"],
        reference: &["bulk/i32_16Ki/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(0.5),
    },
    Row {
        what: "protocol, 16 Ki i32, `packed` Vec, serde, serialize vs memcpy",
        tape: &["bulk/i32_16Ki/serialize/tape_packed"],
        reference: &["bulk/i32_16Ki/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(0.5),
    },
    Row {
        what: "protocol, 16 Ki i32, `packed` Vec, serde, deserialize vs memcpy",
        tape: &["bulk/i32_16Ki/deserialize/tape_packed"],
        reference: &["bulk/i32_16Ki/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::Speed(0.5),
    },
    Row {
        what: "  plain Vec through serde, serialize vs memcpy",
        tape: &["bulk/i32_16Ki/serialize/tape"],
        reference: &["bulk/i32_16Ki/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "  plain Vec through serde, deserialize vs memcpy",
        tape: &["bulk/i32_16Ki/deserialize/tape"],
        reference: &["bulk/i32_16Ki/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "  bincode, the same plain Vec, deserialize vs memcpy",
        tape: &["bulk/i32_16Ki/deserialize/bincode"],
        reference: &["bulk/i32_16Ki/memcpy"],
        per: (1.0, 1.0),
        ratio: Ratio::SpeedInfo,
    },
    Row {
        what: "kv.get from a guest, per call, pooling, vs redb directly",
        tape: &["kv get x100/guest", "-kv get x100/empty guest run"],
        reference: &["kv get x100/redb directly"],
        per: (100.0, 100.0),
        ratio: Ratio::Cost(3.0),
    },
    Row {
        what: "kv.get, per call, on-demand memory (as `tape run`), vs redb",
        tape: &[
            "kv get x100, on-demand memory/guest",
            "-kv get x100, on-demand memory/empty guest run",
        ],
        reference: &["kv get x100/redb directly"],
        per: (100.0, 100.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "time.now from a guest, per call, vs SystemTime::now",
        tape: &[
            "capability calls x100/time.now/guest",
            "-capability calls x100/empty guest run",
        ],
        reference: &["capability calls x100/time.now/SystemTime::now"],
        per: (100.0, 100.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "rand.fill 32 B from a guest, per call, vs ChaCha20",
        tape: &[
            "capability calls x100/rand.fill 32 B/guest",
            "-capability calls x100/empty guest run",
        ],
        reference: &["capability calls x100/rand.fill 32 B/ChaCha20"],
        per: (100.0, 100.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "log.write from a guest, per call, vs sanitize + sink",
        tape: &[
            "capability calls x100/log.write/guest",
            "-capability calls x100/empty guest run",
        ],
        reference: &["capability calls x100/log.write/sanitize + sink"],
        per: (100.0, 100.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "fs.read 1 KiB from a guest, per call, vs cap-std",
        tape: &[
            "capability calls x100/fs.read 1 KiB/guest",
            "-capability calls x100/empty guest run",
        ],
        reference: &["capability calls x100/fs.read 1 KiB/cap-std"],
        per: (100.0, 100.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "json parse + 2 reads, 10 KiB, vs serde_json",
        tape: &[
            "json parse + 2 reads, 10 KiB/guest",
            "-json parse + 2 reads, 10 KiB/empty guest run with the document",
        ],
        reference: &["json parse + 2 reads, 10 KiB/serde_json directly"],
        per: (1.0, 1.0),
        ratio: Ratio::Cost(1.1),
    },
    Row {
        what: "http GET on loopback vs ureq",
        tape: &["http_get_loopback/tape"],
        reference: &["http_get_loopback/ureq"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "instantiate + run, pooling, vs raw InstancePre",
        tape: &["instantiate/rt/pooling"],
        reference: &["instantiate/raw/pooling"],
        per: (1.0, 1.0),
        ratio: Ratio::Cost(1.1),
    },
    Row {
        what: "host call through the Caller helpers vs raw Func::wrap",
        tape: &["host_calls/rt/core.alloc"],
        reference: &["host_calls/raw/core.alloc"],
        per: (1.0, 1.0),
        ratio: Ratio::Cost(1.2),
    },
    Row {
        what: "whole process `tape run hello` vs a minimal wasmtime runner",
        tape: &["process/tape"],
        reference: &["process/wasmtime-runner"],
        per: (1.0, 1.0),
        ratio: Ratio::Cost(1.0),
    },
    Row {
        what: "counter loop, default limits, vs no fuel or epochs",
        tape: &["limits/counter/tape, default limits"],
        reference: &["limits/counter/wasmtime, no fuel or epochs"],
        per: (1.0, 1.0),
        ratio: Ratio::Cost(1.2),
    },
    Row {
        what: "counter loop, default limits, vs wasmtime fuel + epochs",
        tape: &["limits/counter/tape, default limits"],
        reference: &["limits/counter/wasmtime, fuel and epochs"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "fib(27) recursion, default limits, vs no fuel or epochs",
        tape: &["limits/recursion/tape, default limits"],
        reference: &["limits/recursion/wasmtime, no fuel or epochs"],
        per: (1.0, 1.0),
        ratio: Ratio::Cost(1.2),
    },
    Row {
        what: "fib(27) recursion, default limits, vs wasmtime fuel + epochs",
        tape: &["limits/recursion/tape, default limits"],
        reference: &["limits/recursion/wasmtime, fuel and epochs"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "memory-bound loop, default limits, vs no fuel or epochs",
        tape: &["limits/memory/tape, default limits"],
        reference: &["limits/memory/wasmtime, no fuel or epochs"],
        per: (1.0, 1.0),
        ratio: Ratio::Cost(1.2),
    },
    Row {
        what: "memory-bound loop, default limits, vs wasmtime fuel + epochs",
        tape: &["limits/memory/tape, default limits"],
        reference: &["limits/memory/wasmtime, fuel and epochs"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "cold start, 40 functions, vs wat + Cranelift",
        tape: &["cold_start/tape/40"],
        reference: &["cold_start/wat + cranelift/40"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "cold start, 400 functions, vs wat + Cranelift",
        tape: &["cold_start/tape/400"],
        reference: &["cold_start/wat + cranelift/400"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "cold start, 400 fns, wat + Winch vs Tape (bench-winch)",
        tape: &["cold_start/wat + winch/400"],
        reference: &["cold_start/tape/400"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "a recorded run (102 calls) vs the plain run",
        tape: &["record/recorded run"],
        reference: &["record/plain run"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
    Row {
        what: "a profiled run vs the plain run",
        tape: &["profile/profiled"],
        reference: &["profile/plain"],
        per: (1.0, 1.0),
        ratio: Ratio::Info,
    },
];

fn main() {
    let home = criterion_home();
    let mut medians = HashMap::new();
    collect(&home, &mut medians);
    if medians.is_empty() {
        eprintln!(
            "no criterion results under `{}`; run `cargo bench --workspace -- --warm-up-time 1 --measurement-time 3` first",
            home.display()
        );
        std::process::exit(2);
    }
    println!(
        "{:<62} {:>12} {:>12} {:>8} {:>9}",
        "what (medians from target/criterion)", "tape", "reference", "ratio", "target"
    );
    let mut missed = 0;
    for row in ROWS {
        let sum = |ids: &[&str]| -> Option<f64> {
            ids.iter()
                .try_fold(0.0, |total, id| match id.strip_prefix('-') {
                    Some(id) => medians.get(id).map(|m| total - m),
                    None => medians.get(*id).map(|m| total + m),
                })
        };
        let (Some(tape), Some(reference)) = (sum(row.tape), sum(row.reference)) else {
            println!("{:<62} {:>12}", row.what, "not measured");
            continue;
        };
        let (tape, reference) = (tape / row.per.0, reference / row.per.1);
        let (ratio, target, met) = match row.ratio {
            Ratio::Speed(least) => {
                let r = reference / tape;
                (r, format!("≥ {least}×"), r >= least)
            }
            Ratio::Cost(most) => {
                let r = tape / reference;
                (r, format!("≤ {most}×"), r <= most)
            }
            Ratio::Info => (tape / reference, "—".to_string(), true),
            Ratio::SpeedInfo => (reference / tape, "—".to_string(), true),
        };
        if !met {
            missed += 1;
        }
        println!(
            "{:<62} {:>12} {:>12} {:>7.2}× {:>9}{}",
            row.what,
            human(tape),
            human(reference),
            ratio,
            target,
            if met { "" } else { "  missed" }
        );
    }
    println!(
        "\nspeed rows: reference ÷ Tape (higher is better); cost rows: Tape ÷ reference (lower is better)"
    );
    if missed > 0 {
        println!(
            "{missed} target{} missed",
            if missed == 1 { "" } else { "s" }
        );
    }
}

/// Every `new/estimates.json` under `dir`, by the benchmark's full id.
fn collect(dir: &Path, medians: &mut HashMap<String, f64>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let read = |name: &str| -> Option<serde_json::Value> {
                serde_json::from_slice(&std::fs::read(path.join(name)).ok()?).ok()
            };
            if let (Some(id), Some(estimates)) = (read("benchmark.json"), read("estimates.json"))
                && let (Some(id), Some(median)) = (
                    id["full_id"].as_str(),
                    estimates["median"]["point_estimate"].as_f64(),
                )
            {
                medians.insert(id.to_string(), median);
            }
        } else {
            collect(&path, medians);
        }
    }
}

/// Where criterion writes: `$CRITERION_HOME`, else `criterion/` in the
/// target directory.
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("criterion")
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}
