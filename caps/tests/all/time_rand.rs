//! The `time` and `rand` capabilities, live and deterministic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tape_caps::{Rand, Time};
use tape_rt::{Args, ErrorKind, Outcome, status};

use crate::wat_prelude::{emitted, guest};

fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Every result, each emitted with `$emit64`.
fn emitted64(outcome: &Outcome) -> Vec<i64> {
    (0..outcome.results.len())
        .map(|i| outcome.result::<(i64,)>(i).unwrap().0)
        .collect()
}

const CLOCKS: &str = r#"(func $run (result i32)
     (call $emit64 (call $time.now))
     (call $emit64 (call $time.monotonic))
     (call $emit64 (call $time.monotonic))
     (call $emit64 (call $time.now))
     (i32.const 0))"#;

#[test]
fn the_system_clocks_read_the_time_of_day_and_the_time_since_the_run_began() {
    let program = guest(CLOCKS, &tape_caps::grants().grant(Time::system()));
    let before = unix_nanos();
    let outcome = program.run(&Args::new()).unwrap();
    let after = unix_nanos();
    let [now, mono1, mono2, now2] = emitted64(&outcome)[..] else {
        panic!("{outcome:?}")
    };
    assert!(
        before <= now && now <= now2 && now2 <= after,
        "{before} {now} {now2} {after}"
    );
    assert!(0 <= mono1 && mono1 <= mono2, "{mono1} {mono2}");
    assert!(mono2 <= after - before, "counted from the run's start");
    let (name, usage) = &outcome.usage.capabilities[0];
    assert_eq!((name.as_str(), usage.calls), ("time", 4));
}

#[test]
fn a_fixed_clock_starts_at_the_same_instant_every_run_and_steps_per_reading() {
    let start = 1_700_000_000_000_000_000;
    let ms = 1_000_000;
    let program = guest(
        CLOCKS,
        &tape_caps::grants().grant(Time::fixed(start, Duration::from_millis(1))),
    );
    for _ in 0..2 {
        let outcome = program.run(&Args::new()).unwrap();
        assert_eq!(emitted64(&outcome), [start, ms, 2 * ms, start + 3 * ms]);
    }
    // Saturates instead of wrapping.
    let program = guest(
        CLOCKS,
        &tape_caps::grants().grant(Time::fixed(i64::MAX - 1, Duration::from_secs(1))),
    );
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(
        emitted64(&outcome),
        [i64::MAX - 1, 1_000_000_000, 2_000_000_000, i64::MAX]
    );
}

/// Draws with each function: `u64`, `bytes(16)` and `fill` of 8 bytes
/// into `[8][…]`.
const DRAWS: &str = r#"(func $run (result i32)
     (local $p i32)
     (call $emit64 (call $rand.u64))
     (call $out (call $ok (call $rand.bytes (i32.const 16))))
     (local.set $p (call $core.alloc (i32.const 12)))
     (i32.store (local.get $p) (i32.const 8))
     (call $must (call $rand.fill (i32.add (local.get $p) (i32.const 4)) (i32.const 8)))
     (call $out (local.get $p))
     (i32.const 0))"#;

fn draws(outcome: &Outcome) -> (u64, Vec<u8>, Vec<u8>) {
    (
        outcome.result::<(u64,)>(0).unwrap().0,
        outcome.result::<Vec<u8>>(1).unwrap(),
        outcome.result::<Vec<u8>>(2).unwrap(),
    )
}

#[test]
fn a_seed_gives_the_same_bytes_every_run_and_another_seed_others() {
    let seeded = guest(DRAWS, &tape_caps::grants().grant(Rand::seeded(42)));
    let first = draws(&seeded.run(&Args::new()).unwrap());
    assert_eq!(first.1.len(), 16);
    assert_eq!(first.2.len(), 8);
    assert_eq!(draws(&seeded.run(&Args::new()).unwrap()), first);
    // A program compiled anew, with a new grant of the same seed.
    let again = guest(DRAWS, &tape_caps::grants().grant(Rand::seeded(42)));
    assert_eq!(draws(&again.run(&Args::new()).unwrap()), first);
    // The three functions draw from one stream: no two draws repeat.
    assert_ne!(first.1[..8], first.2[..]);
    assert_ne!(first.0.to_le_bytes()[..], first.2[..]);

    let other = guest(DRAWS, &tape_caps::grants().grant(Rand::seeded(43)));
    let other = draws(&other.run(&Args::new()).unwrap());
    assert_ne!(other.0, first.0);
    assert_ne!(other.1, first.1);
}

#[test]
fn os_randomness_differs_between_runs() {
    let program = guest(DRAWS, &tape_caps::grants().grant(Rand::os()));
    let a = draws(&program.run(&Args::new()).unwrap());
    let b = draws(&program.run(&Args::new()).unwrap());
    assert_ne!(a, b);
    assert_ne!(a.1, vec![0; 16]);
}

#[test]
fn a_run_draws_at_most_its_budget_and_u64_is_not_counted() {
    let program = guest(
        r#"(func $run (result i32)
             (call $emit (call $st (call $rand.bytes (i32.const 10))))
             (call $emit (call $rand.fill (i32.const 200) (i32.const 6)))
             (call $emit (call $st (call $rand.bytes (i32.const 1))))
             (call $emit (call $rand.fill (i32.const 200) (i32.const 1)))
             (call $emit (call $st (call $rand.bytes (i32.const -1))))
             (call $emit (call $st (call $rand.bytes (i32.const 0))))
             (drop (call $rand.u64))
             (i32.const 0))"#,
        &tape_caps::grants().grant(Rand::seeded(7).max_run_bytes(16)),
    );
    for _ in 0..2 {
        let outcome = program.run(&Args::new()).unwrap();
        let too_large = status::TOO_LARGE;
        assert_eq!(
            emitted(&outcome),
            [0, 0, too_large, too_large, too_large, 0]
        );
        let (name, usage) = &outcome.usage.capabilities[0];
        assert_eq!(
            (name.as_str(), usage.calls, usage.bytes_out),
            ("rand", 7, 16)
        );
    }
}

#[test]
fn fill_writes_exactly_its_range_and_traps_outside_memory() {
    let program = guest(
        r#"(func $run (result i32)
             (call $must (call $rand.fill (i32.const 1028) (i32.const 8)))
             (call $emit (i32.load (i32.const 1024)))
             (call $emit (i32.load (i32.const 1036)))
             (call $emit64 (i64.load (i32.const 1028)))
             (call $must (call $rand.fill (i32.const 65536) (i32.const 0)))
             (i32.const 0))"#,
        &tape_caps::grants().grant(Rand::seeded(1)),
    );
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(outcome.result::<(i32,)>(0).unwrap().0, 0);
    assert_eq!(outcome.result::<(i32,)>(1).unwrap().0, 0);
    assert_ne!(outcome.result::<(i64,)>(2).unwrap().0, 0);

    for (ptr, len) in [(65530, 7), (-1, 1), (0, -1)] {
        let program = guest(
            &format!(
                "(func $run (result i32) (call $rand.fill (i32.const {ptr}) (i32.const {len})))"
            ),
            &tape_caps::grants().grant(Rand::seeded(1)),
        );
        let error = program.run(&Args::new()).unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::BadPointer { .. }),
            "{error}"
        );
    }
}

#[test]
fn a_deterministic_run_is_reproducible_end_to_end() {
    let grants = tape_caps::grants()
        .grant(Time::fixed(0, Duration::from_nanos(5)))
        .grant(Rand::seeded(9));
    let program = guest(
        r#"(func $run (result i32)
             (call $emit64 (call $time.now))
             (call $emit64 (call $rand.u64))
             (call $emit64 (call $time.monotonic))
             (i32.const 0))"#,
        &grants,
    );
    let first = program.run(&Args::new()).unwrap();
    let second = program.run(&Args::new()).unwrap();
    assert_eq!(first.results, second.results);
    assert_eq!(first.usage.fuel, second.usage.fuel);
    let values = emitted64(&first);
    assert_eq!((values[0], values[2]), (0, 5));
}
