//! Sources that try to make compiling unbounded: in time (a function
//! Cranelift takes minutes over), in input (an endless file), in size.
//! Compiling is held to the compile budget: `--max-source` (8 MiB by
//! default) and `--timeout`.

use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::kit::{Finished, scratch, tape};

fn expect(run: &Finished, code: i32, message: &str) -> Result<(), Failed> {
    if run.code != Some(code) || !run.stderr.contains(message) {
        return Err(format!("expected exit {code} with `{message}`; {}", run.describe()).into());
    }
    Ok(())
}

/// 100,000 blocks in one function: 36 seconds of Cranelift, whatever
/// `--timeout` said.
fn pathological_function() -> Result<(), Failed> {
    let dir = scratch();
    let blocks: String = (0..100_000)
        .map(|i| format!("(block $b{i} (br $b{i}))\n"))
        .collect();
    std::fs::write(
        dir.path().join("blocks.wat"),
        format!("(module (memory 1) (func $run (result i32) {blocks} (i32.const 0)))"),
    )?;
    let run = tape(dir.path(), &["run", "--timeout", "2s", "blocks.wat"]);
    expect(&run, 5, "took longer than its 2s budget")?;
    // At its time, with slack for a loaded machine; not when Cranelift is done.
    if run.elapsed > Duration::from_secs(15) {
        return Err(format!("took {:?}", run.elapsed).into());
    }
    Ok(())
}

fn over_the_size_budget() -> Result<(), Failed> {
    let dir = scratch();
    let padding = ";; padding\n".repeat(100_000);
    std::fs::write(
        dir.path().join("big.wat"),
        format!("(func $run (result i32) (i32.const 0))\n{padding}"),
    )?;
    let run = tape(dir.path(), &["run", "--max-source", "512KiB", "big.wat"]);
    expect(&run, 3, "over the compile budget of 524288 bytes")?;
    // Within it, the same file runs.
    let run = tape(dir.path(), &["run", "--max-source", "2MiB", "big.wat"]);
    expect(&run, 0, "")
}

/// An input that never ends is read only up to the budget.
fn endless_input() -> Result<(), Failed> {
    let dir = scratch();
    let run = tape(dir.path(), &["run", "/dev/zero"]);
    expect(&run, 3, "holds more than 8388608 bytes")?;
    if run.peak_rss > 64 << 20 {
        return Err(format!("read {} MiB of it", run.peak_rss >> 20).into());
    }
    Ok(())
}

/// 40,000 named locals took 2.2 s (each looked up in a list of all the
/// others); a 3 MB source of them, 29 s. Linear now: see the compiler's
/// `locals` bench for the ratio.
fn many_locals() -> Result<(), Failed> {
    let dir = scratch();
    let locals: String = (0..40_000)
        .map(|i| format!("(local $l{i} i32) (local.set $l{i} (i32.const {i}))\n"))
        .collect();
    std::fs::write(
        dir.path().join("locals.wat"),
        format!("(func $run (result i32) {locals} (i32.const 0))"),
    )?;
    let run = tape(dir.path(), &["run", "--timeout", "20s", "locals.wat"]);
    expect(&run, 0, "")
}

/// Nesting deeper than any parser's stack is refused with a message, not
/// a crash.
fn deep_nesting() -> Result<(), Failed> {
    let dir = scratch();
    let depth = 200_000;
    std::fs::write(
        dir.path().join("deep.wat"),
        format!(
            "(func $run (result i32) {} (i32.const 0))",
            "(block ".repeat(depth) + &")".repeat(depth)
        ),
    )?;
    let run = tape(dir.path(), &["run", "deep.wat"]);
    expect(&run, 3, "nest")
}

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("compile::pathological-function", pathological_function),
        Trial::test("compile::over-the-size-budget", over_the_size_budget),
        Trial::test("compile::endless-input", endless_input),
        Trial::test("compile::many-locals", many_locals),
        Trial::test("compile::deep-nesting", deep_nesting),
    ]
}
