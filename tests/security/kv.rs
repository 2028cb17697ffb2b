//! Processes sharing one key-value file: `tape run --kv FILE` from four
//! processes at once failed 170 runs of 200 with "Database already open".
//! Runs now wait for each other, and no update is lost.

use libtest_mimic::{Failed, Trial};

use crate::kit::{scratch, tape};

/// The `counter` example: it reads the count, adds one and writes it.
const COUNTER: &str = include_str!("../../examples/counter/counter.wat");

const PROCESSES: usize = 4;
const RUNS: usize = 25;

fn concurrent_counters() -> Result<(), Failed> {
    let dir = scratch();
    std::fs::write(dir.path().join("counter.wat"), COUNTER)?;
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
    let read = tape(dir.path(), &["run", "--kv", "state.redb", "counter.wat"]);
    let expected = format!("runs so far: {}\n", PROCESSES * RUNS + 2);
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
