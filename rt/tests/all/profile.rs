//! Profiling a run: `Run::profile` samples the guest's stack at each
//! epoch tick and counts fuel and time to functions and lines.

use std::time::Duration;

use tape_rt::{Config, Engine, Grants, Run};
use tape_testkit::rt::PRIMES;

#[test]
fn a_profile_counts_fuel_and_time_to_the_functions_and_lines_where_it_went() {
    let engine = Engine::new(Config {
        cache_dir: None,
        epoch_tick: Duration::from_micros(100),
        ..Config::default()
    })
    .unwrap();
    let program = engine
        .compile_str("primes.wat", PRIMES, &Grants::new())
        .unwrap();
    let (run, profile) = Run::new(&program).profile();
    let outcome = run.unwrap();
    assert_eq!(profile.interval, Duration::from_micros(100));
    // Sampling is by the clock: a loaded machine gives fewer samples, but
    // a run of many ticks gets some.
    assert!(profile.samples >= 5, "{} samples", profile.samples);
    assert!(profile.fuel() <= outcome.usage.fuel);
    assert!(profile.fuel() > outcome.usage.fuel / 2, "{profile:?}");
    assert!(profile.time() <= outcome.usage.time);

    let functions = profile.functions();
    let hot = &functions[0];
    assert_eq!(hot.function, "$is_prime");
    assert!(hot.self_fuel * 10 > profile.fuel() * 8, "{functions:?}");
    assert_eq!(
        hot.location.as_ref().unwrap().line,
        18,
        "its first instruction"
    );
    let run_fn = functions.iter().find(|f| f.function == "$run").unwrap();
    assert_eq!(
        run_fn.total_fuel,
        profile.fuel(),
        "every stack is under $run"
    );

    let lines = profile.lines();
    assert_eq!(lines[0].function, "$is_prime");
    assert!((18..=26).contains(&lines[0].location.line), "{lines:?}");
    assert_eq!(lines.iter().map(|l| l.fuel).sum::<u64>(), profile.fuel());

    let folded = profile.folded(false);
    assert!(folded.contains("$run;$is_prime "), "{folded}");
    let total: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, profile.fuel());
}

#[test]
fn a_run_shorter_than_a_tick_has_an_empty_profile_and_the_same_outcome() {
    let engine = Engine::new(Config {
        cache_dir: None,
        ..Config::default()
    })
    .unwrap();
    let program = engine
        .compile_str(
            "quick.wat",
            "(func $run (result i32) (i32.const 3))",
            &Grants::new(),
        )
        .unwrap();
    let (run, profile) = Run::new(&program).profile();
    assert_eq!(run.unwrap().status, 3);
    assert!(profile.stacks.is_empty());
    assert_eq!(profile.folded(true), "");
    assert!(profile.functions().is_empty());
}
