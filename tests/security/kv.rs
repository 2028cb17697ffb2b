//! Processes sharing one key-value file: `tape run --kv FILE` from four
//! processes at once failed 170 runs of 200 with "Database already open".
//! Runs now wait for each other, and no update is lost.

use libtest_mimic::{Failed, Trial};

use crate::kit::{scratch, tape};

const COUNTER: &str = r#"(func $run (result i32)
  (local $value i32) (local $status i32) (local $n i32)
  (call $kv.get "runs")
  (local.set $status)
  (local.set $value)
  (if (i32.eqz (local.get $status))
    (then (local.set $n (i32.load offset=4 (local.get $value)))))
  (local.set $value (call $core.alloc (i32.const 8)))
  (i32.store (local.get $value) (i32.const 4))
  (i32.store offset=4 (local.get $value) (i32.add (local.get $n) (i32.const 1)))
  (call $kv.set "runs" (local.get $value)))"#;

const READ: &str = r#"(func $run (result i32)
  (local $value i32) (local $status i32)
  (call $kv.get "runs")
  (local.set $status)
  (local.set $value)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.result (call $std.i32.to_str (i32.load offset=4 (local.get $value)))))"#;

const PROCESSES: usize = 4;
const RUNS: usize = 25;

fn concurrent_counters() -> Result<(), Failed> {
    let dir = scratch();
    std::fs::write(dir.path().join("counter.wat"), COUNTER)?;
    std::fs::write(dir.path().join("read.wat"), READ)?;
    // Compile once, so the runs race on the database, not the cache.
    let first = tape(dir.path(), &["run", "--kv", "state.redb", "counter.wat"]);
    if first.code != Some(0) {
        return Err(first.describe().into());
    }
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PROCESSES)
            .map(|_| {
                scope.spawn(|| {
                    (0..RUNS)
                        .map(|_| tape(dir.path(), &["run", "--kv", "state.redb", "counter.wat"]))
                        .filter(|run| run.code != Some(0))
                        .map(|run| run.describe())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    if !failures.is_empty() {
        return Err(format!(
            "{} of {} runs failed; the first: {}",
            failures.len(),
            PROCESSES * RUNS,
            failures[0]
        )
        .into());
    }
    let read = tape(dir.path(), &["run", "--kv", "state.redb", "read.wat"]);
    let expected = format!("{}\n", PROCESSES * RUNS + 1);
    if read.stdout != expected {
        return Err(format!(
            "the counter is {:?}, not {expected:?}: updates were lost; {}",
            read.stdout,
            read.describe()
        )
        .into());
    }
    Ok(())
}

pub fn trials() -> Vec<Trial> {
    vec![Trial::test("kv::concurrent-processes", concurrent_counters)]
}
