//! Resource bombs: programs that try to make the host hold more than the
//! run's caps. Each must be refused (the exit code and message below), and
//! the process's peak resident memory must stay under its cap plus
//! [`OVERHEAD`] and, where a capability holds data of its own for the
//! run, that capability's documented bound.
//!
//! To add one: a [`Bomb`] in [`bombs`], with the smallest source that
//! shows the attack.

use libtest_mimic::{Failed, Trial};

use crate::kit::{OVERHEAD, scratch, tape};

const MIB: u64 = 1 << 20;

/// The cap every bomb runs under.
const CAP: u64 = 64 * MIB;

struct Bomb {
    name: &'static str,
    /// What the program tries.
    source: String,
    /// Flags before the program, besides `--max-memory 64MiB`.
    flags: &'static [&'static str],
    /// The exit code and a piece of the message that refuse it.
    exit: i32,
    message: &'static str,
    /// Bytes the host may hold for the run besides the cap (results,
    /// say), by the limits `docs/security.md` lists.
    extra: u64,
}

fn bomb(name: &'static str, source: impl Into<String>) -> Bomb {
    Bomb {
        name,
        source: source.into(),
        flags: &[],
        exit: 5,
        message: "out of memory",
        extra: 0,
    }
}

impl Bomb {
    fn flags(mut self, flags: &'static [&'static str]) -> Bomb {
        self.flags = flags;
        self
    }

    /// Refused with a status (exit 1) rather than a stopped run.
    fn status(mut self, message: &'static str) -> Bomb {
        self.exit = 1;
        self.message = message;
        self
    }

    fn stopped(mut self, message: &'static str) -> Bomb {
        self.message = message;
        self
    }

    fn extra(mut self, bytes: u64) -> Bomb {
        self.extra = bytes;
        self
    }
}

/// `n` copies of `text`, numbered where it says `{i}`.
fn repeat(n: usize, text: &str) -> String {
    (0..n)
        .map(|i| text.replace("{i}", &i.to_string()))
        .collect()
}

/// A loop that runs `body` `n` times, counting in `$i`.
/// Parses the JSON text at `$doc` again, returning the status of a
/// refusal: the body of the JSON bombs' loops.
const PARSE_DOC: &str = "(call $json.parse (local.get $doc))
                         (local.set $status) (drop)
                         (if (local.get $status) (then (return (local.get $status))))";

fn times(n: u32, body: &str) -> String {
    format!(
        "(loop $again {body}
           (br_if $again (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                   (i32.const {n}))))"
    )
}

const GC_TYPES: &str = "(type $bytes (array (mut i8)))
                        (type $outer (array (mut (ref null $bytes))))
                        (type $node (struct (field (ref null $node)) (field i64)))";

fn bombs() -> Vec<Bomb> {
    vec![
        // 40 memories, each within the cap, filled: the 2.6 GB.
        bomb(
            "memories",
            format!(
                "(module {} (func $run (result i32) {} (i32.const 0)))",
                repeat(40, "(memory $m{i} 1024)"),
                repeat(
                    40,
                    "(memory.fill $m{i} (i32.const 0) (i32.const 1) (i32.const 0x4000000))"
                ),
            ),
        ),
        bomb(
            "memories-grown",
            format!(
                "(module {} (func $run (result i32) {} (i32.const 0)))",
                repeat(40, "(memory $m{i} 0)"),
                repeat(
                    40,
                    "(drop (memory.grow $m{i} (i32.const 1024)))
                     (memory.fill $m{i} (i32.const 0) (i32.const 1) (i32.const 0x4000000))"
                ),
            ),
        ),
        bomb(
            "memory-grow-loop",
            format!(
                "(module (memory 1) (func $run (result i32) (local $i i32) (local $page i32)
                   {} (i32.const 0)))",
                times(
                    100_000,
                    "(local.set $page (memory.grow (i32.const 1)))
                     (i32.store (i32.mul (local.get $page) (i32.const 65536)) (i32.const 1))"
                )
            ),
        ),
        // 100 million entries for about ten units of fuel: the 789 MB.
        bomb(
            "table-grow",
            "(module (memory 1) (table $t 0 funcref)
               (func $run (result i32)
                 (drop (table.grow $t (ref.null func) (i32.const 100000000)))
                 (i32.const 0)))",
        ),
        bomb(
            "table-declared",
            "(module (memory 1) (table 100000000 funcref) (func $run (result i32) (i32.const 0)))",
        ),
        bomb(
            "tables",
            format!(
                "(module (memory 1) {} (func $run (result i32) {} (i32.const 0)))",
                repeat(99, "(table $t{i} 0 funcref)"),
                repeat(
                    99,
                    "(drop (table.grow $t{i} (ref.null func) (i32.const 1000000)))"
                ),
            ),
        ),
        // An active segment at the end of a huge table.
        bomb(
            "element-segment-offset",
            "(module (memory 1) (table 20000000 funcref)
               (func $f) (elem (i32.const 19999999) $f)
               (func $run (result i32) (i32.const 0)))",
        ),
        // A passive segment copied again and again into a growing table.
        bomb(
            "element-segment-init",
            format!(
                "(module (memory 1) (table $t 0 funcref) (func $f)
                   (elem $e func {})
                   (func $run (result i32) (local $i i32) (local $at i32)
                     {} (i32.const 0)))",
                repeat(1000, "$f "),
                times(
                    1_000_000,
                    "(local.set $at (table.grow $t (ref.null func) (i32.const 1000)))
                     (table.init $t $e (local.get $at) (i32.const 0) (i32.const 1000))"
                )
            ),
        ),
        bomb(
            "gc-arrays",
            format!(
                "(module {GC_TYPES} (memory 1)
                   (func $run (result i32) (local $o (ref null $outer)) (local $i i32)
                     (local.set $o (array.new $outer (ref.null $bytes) (i32.const 1000)))
                     {}
                     (i32.const 0)))",
                times(
                    1000,
                    "(array.set $outer (local.get $o) (local.get $i)
                       (array.new $bytes (i32.const 7) (i32.const 1000000)))"
                )
            ),
        ),
        bomb(
            "gc-array-huge",
            format!(
                "(module {GC_TYPES} (memory 1)
                   (func $run (result i32)
                     (drop (array.new_default $bytes (i32.const 0x7fffffff)))
                     (i32.const 0)))"
            ),
        ),
        bomb(
            "gc-structs",
            format!(
                "(module {GC_TYPES} (memory 1)
                   (func $run (result i32) (local $list (ref null $node)) (local $i i32)
                     {}
                     (i32.const 0)))",
                times(
                    100_000_000,
                    "(local.set $list (struct.new $node (local.get $list) (i64.const 0)))"
                )
            ),
        ),
        // Globals holding GC arrays, made before `run` starts.
        bomb(
            "globals",
            format!(
                "(module {GC_TYPES} (memory 1) {}
                   (func $run (result i32) (i32.const 0)))",
                repeat(
                    200,
                    "(global (ref $bytes) (array.new_default $bytes (i32.const 1000000)))"
                )
            ),
        ),
        // The host's own allocator, from the guest.
        bomb(
            "alloc",
            format!(
                "(func $run (result i32) (local $i i32)
                   {} (i32.const 0))",
                times(
                    100_000,
                    "(i32.store (call $core.alloc (i32.const 0x100000)) (i32.const 1))"
                )
            ),
        ),
        // Results are the host's to keep: 16 MiB of them at most, and
        // 65,536 however small.
        bomb(
            "results",
            format!(
                "(func $run (result i32) (local $i i32) (local $value i32) (local $status i32)
                   (local.set $value (call $core.alloc (i32.const 0x100004)))
                   (i32.store (local.get $value) (i32.const 0x100000))
                   {} (i32.const 0))",
                times(
                    1000,
                    "(local.set $status (call $core.result (local.get $value)))
                     (if (local.get $status) (then (return (local.get $status))))"
                )
            ),
        )
        .status("status 4 (too large)")
        .extra(16 * MIB),
        bomb(
            "results-many",
            format!(
                "(func $run (result i32) (local $i i32) (local $status i32)
                   {} (i32.const 0))",
                times(
                    10_000_000,
                    "(local.set $status (call $core.result \"\"))
                     (if (local.get $status) (then (return (local.get $status))))"
                )
            ),
        )
        .status("status 4 (too large)")
        .extra(16 * MIB),
        // `[0,0,0,…]`: 2 bytes of text, 32 of memory a value, parsed again
        // and again: 607 MB (as `serde_json::Value`s) before documents
        // counted against the cap.
        bomb(
            "json",
            format!(
                "(func $run (result i32) (local $doc i32) (local $i i32) (local $n i32)
                   (local $status i32)
                   (local.set $n (i32.const 1048575))
                   (local.set $doc (call $core.alloc (i32.add (local.get $n) (i32.const 4))))
                   (i32.store (local.get $doc) (local.get $n))
                   (memory.fill (i32.add (local.get $doc) (i32.const 4)) (i32.const 0x30)
                                (local.get $n))
                   (local.set $i (i32.const 2))
                   (loop $commas
                     (i32.store8 (i32.add (local.get $doc) (i32.add (i32.const 4) (local.get $i)))
                                 (i32.const 0x2c))
                     (br_if $commas (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 2)))
                                              (i32.sub (local.get $n) (i32.const 2)))))
                   (i32.store8 (i32.add (local.get $doc) (i32.const 4)) (i32.const 0x5b))
                   (i32.store8 (i32.add (local.get $doc) (i32.add (i32.const 3) (local.get $n)))
                               (i32.const 0x5d))
                   (local.set $i (i32.const 0))
                   {} (i32.const 0))",
                times(1000, PARSE_DOC)
            ),
        )
        .status("status 4 (too large)"),
        // `[[0],[0],…]`: 4 bytes of text, 176 of memory an inner array
        // (its vector has room for 4): counted by its elements alone it
        // passed the cap about threefold.
        bomb(
            "json-nested-arrays",
            format!(
                "(func $run (result i32) (local $doc i32) (local $i i32) (local $k i32)
                   (local $n i32) (local $status i32)
                   (local.set $k (i32.const 262143))
                   (local.set $n (i32.add (i32.shl (local.get $k) (i32.const 2)) (i32.const 1)))
                   (local.set $doc (call $core.alloc (i32.add (local.get $n) (i32.const 4))))
                   (i32.store (local.get $doc) (local.get $n))
                   (i32.store8 (i32.add (local.get $doc) (i32.const 4)) (i32.const 0x5b))
                   (loop $fill
                     (i32.store (i32.add (local.get $doc)
                                  (i32.add (i32.const 5) (i32.shl (local.get $i) (i32.const 2))))
                                (i32.const 0x2c5d305b))
                     (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                            (local.get $k))))
                   (i32.store8 (i32.add (local.get $doc) (i32.add (i32.const 3) (local.get $n)))
                               (i32.const 0x5d))
                   (local.set $i (i32.const 0))
                   {} (i32.const 0))",
                times(100, PARSE_DOC)
            ),
        )
        .status("status 4 (too large)"),
        // Views of a member whose name is 1 MB long: each view's path
        // holds a copy of the name, 1 GB for the 1,024 handles a run may
        // have, before views counted against the cap.
        bomb(
            "json-views-of-a-long-name",
            format!(
                "(func $run (result i32) (local $doc i32) (local $ptr i32) (local $i i32)
                   (local $n i32) (local $status i32) (local $h i32)
                   (local.set $n (i32.const 1000000))
                   (local.set $doc (call $core.alloc (i32.add (local.get $n) (i32.const 12))))
                   (i32.store (local.get $doc) (i32.add (local.get $n) (i32.const 6)))
                   (i32.store16 (i32.add (local.get $doc) (i32.const 4)) (i32.const 0x227b))
                   (memory.fill (i32.add (local.get $doc) (i32.const 6)) (i32.const 0x6b)
                                (local.get $n))
                   (i32.store (i32.add (local.get $doc) (i32.add (i32.const 6) (local.get $n)))
                              (i32.const 0x7d303a22))
                   (local.set $ptr (call $core.alloc (i32.add (local.get $n) (i32.const 5))))
                   (i32.store (local.get $ptr) (i32.add (local.get $n) (i32.const 1)))
                   (i32.store8 (i32.add (local.get $ptr) (i32.const 4)) (i32.const 0x2f))
                   (memory.fill (i32.add (local.get $ptr) (i32.const 5)) (i32.const 0x6b)
                                (local.get $n))
                   (call $json.parse (local.get $doc))
                   (local.set $status) (local.set $h)
                   (if (local.get $status) (then (return (local.get $status))))
                   {} (i32.const 0))",
                times(
                    1000,
                    "(call $json.get (local.get $h) (local.get $ptr))
                     (local.set $status) (drop)
                     (if (local.get $status) (then (return (local.get $status))))"
                )
            ),
        )
        .status("status 4 (too large)"),
        bomb(
            "infinite-loop",
            "(func $run (result i32) (loop $l (br $l)) (i32.const 0))",
        )
        .flags(&["--fuel", "none", "--timeout", "1s"])
        .stopped("timeout"),
        bomb(
            "recursion",
            "(func $r (param i64) (result i64) (call $r (i64.add (local.get 0) (i64.const 1))))
             (func $run (result i32) (drop (call $r (i64.const 0))) (i32.const 0))",
        )
        .stopped("stack overflow"),
    ]
}

pub fn trials() -> Vec<Trial> {
    bombs()
        .into_iter()
        .map(|bomb| Trial::test(format!("bombs::{}", bomb.name), move || explode(&bomb)))
        .collect()
}

fn explode(bomb: &Bomb) -> Result<(), Failed> {
    let dir = scratch();
    std::fs::write(dir.path().join("bomb.wat"), &bomb.source)?;
    let mut args = vec!["run", "--max-memory", "64MiB"];
    args.extend(bomb.flags);
    args.push("bomb.wat");
    let run = tape(dir.path(), &args);
    if run.code != Some(bomb.exit) || !run.stderr.contains(bomb.message) {
        return Err(format!(
            "expected exit {} with `{}`; {}",
            bomb.exit,
            bomb.message,
            run.describe()
        )
        .into());
    }
    let bound = CAP + OVERHEAD + bomb.extra;
    println!(
        "{}: exit {:?}, peak {} MiB of {} MiB allowed",
        bomb.name,
        run.code,
        run.peak_rss >> 20,
        bound >> 20
    );
    if run.peak_rss > bound {
        return Err(format!(
            "peak memory {} MiB is over the bound of {} MiB; {}",
            run.peak_rss >> 20,
            bound >> 20,
            run.describe()
        )
        .into());
    }
    Ok(())
}

/// Log messages that cost nothing (empty) or six times their size
/// (escaped control bytes): a 1 MiB budget let out 14.7 MB. What reaches
/// standard error now stays within the budget, plus the one warning that
/// says it is spent.
fn log_flood() -> Result<(), Failed> {
    let dir = scratch();
    let source = format!(
        "(func $run (result i32) (local $i i32)
           {}
           (local.set $i (i32.const 0))
           {}
           (call $log.write (i32.const 2) \"\"))",
        times(1_000_000, "(drop (call $log.write (i32.const 2) \"\"))"),
        times(
            100_000,
            &format!(
                "(drop (call $log.write (i32.const 2) \"{}\"))",
                "\\1b".repeat(100)
            )
        ),
    );
    std::fs::write(dir.path().join("flood.wat"), source)?;
    let run = tape(dir.path(), &["run", "flood.wat"]);
    if run.code != Some(1) || !run.stderr.contains("status 4 (too large)") {
        return Err(format!("expected status 4; {}", run.describe()).into());
    }
    let budget = 1 << 20;
    // The warning and the final error line come on top of the budget.
    if run.stderr.len() > budget + 1024 {
        return Err(format!(
            "{} bytes of log, past the {budget}-byte budget",
            run.stderr.len()
        )
        .into());
    }
    Ok(())
}

pub fn log_trials() -> Vec<Trial> {
    vec![Trial::test("bombs::log-flood", log_flood)]
}
