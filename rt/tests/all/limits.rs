//! Runaway guests are stopped, each with its own error, and the host goes
//! on.

use std::time::{Duration, Instant};

use tape_rt::{Args, Error, Grants, Limits};

use crate::program;

const SPIN: &str = "(func $run (result i32) (loop $l (br $l)) (i32.const 0))";

#[test]
fn an_infinite_loop_is_stopped_by_the_timeout() {
    let limits = Limits {
        fuel: None,
        timeout: Some(Duration::from_millis(200)),
        ..Limits::default()
    };
    let start = Instant::now();
    let error = program(SPIN, &Grants::new())
        .run_with(&Args::new(), &limits)
        .unwrap_err();
    let took = start.elapsed();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    // Within the deadline plus one 10 ms tick, with slack for a busy CI.
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_millis(200 + 10 + 500), "{took:?}");
}

#[test]
fn an_infinite_loop_is_stopped_by_fuel() {
    let limits = Limits {
        fuel: Some(100_000),
        timeout: None,
        ..Limits::default()
    };
    let error = program(SPIN, &Grants::new())
        .run_with(&Args::new(), &limits)
        .unwrap_err();
    assert!(
        matches!(error, Error::OutOfFuel { fuel: 100_000 }),
        "{error}"
    );
}

#[test]
fn a_memory_grow_bomb_is_stopped_at_the_cap() {
    let error = program(
        r#"(module (memory 1)
             (func $run (result i32)
               (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
               (i32.const 0)))"#,
        &Grants::new(),
    )
    .run_with(
        &Args::new(),
        &Limits {
            max_memory: 4 << 20,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(error, Error::MemoryExhausted { requested, limit: 0x40_0000 } if requested == 0x41_0000),
        "{error}"
    );
}

#[test]
fn alloc_past_the_cap_is_a_memory_error() {
    let error = program(
        "(func $run (result i32) (drop (call $core.alloc (i32.const -1))) (i32.const 0))",
        &Grants::new(),
    )
    .run(&Args::new())
    .unwrap_err();
    assert!(matches!(error, Error::MemoryExhausted { .. }), "{error}");
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let error = program(
        "(func $f (call $f)) (func $run (result i32) (call $f) (i32.const 0))",
        &Grants::new(),
    )
    .run(&Args::new())
    .unwrap_err();
    assert!(matches!(error, Error::StackOverflow), "{error}");
    // The process is alive and the engine still runs programs.
    assert_eq!(
        crate::run("(func $run (result i32) (i32.const 0))").status,
        0
    );
}

#[test]
fn a_timeout_between_ticks_is_kept_to_within_one_tick() {
    // 100 ms ticks and a 150 ms timeout: counting whole ticks alone would
    // stop the run after 100 or 200 ms.
    let engine = tape_rt::Engine::new(tape_rt::Config {
        cache_dir: None,
        epoch_tick: Duration::from_millis(100),
        ..tape_rt::Config::default()
    })
    .unwrap();
    let program = engine
        .compile_str("spin.wat", SPIN, &Grants::new())
        .unwrap();
    let limits = Limits {
        fuel: None,
        timeout: Some(Duration::from_millis(150)),
        ..Limits::default()
    };
    for _ in 0..3 {
        let start = Instant::now();
        let error = program.run_with(&Args::new(), &limits).unwrap_err();
        let took = start.elapsed();
        assert!(
            matches!(error, Error::Timeout { timeout } if timeout == Duration::from_millis(150)),
            "{error}"
        );
        assert!(took >= Duration::from_millis(150), "{took:?}");
        assert!(took < Duration::from_millis(150 + 100 + 300), "{took:?}");
    }
}

/// The thread that drives timeouts starts with the first run that has
/// one, on an engine of its own here: runs before it, without a timeout,
/// end by fuel; the first timed run, long after the engine was made, still
/// stops on time.
#[test]
fn the_first_run_with_a_timeout_starts_the_timeouts() {
    let engine = tape_rt::Engine::new(tape_rt::Config {
        cache_dir: None,
        ..tape_rt::Config::default()
    })
    .unwrap();
    let program = engine
        .compile_str("spin.wat", SPIN, &Grants::new())
        .unwrap();
    let untimed = Limits {
        fuel: Some(1_000_000),
        timeout: None,
        ..Limits::default()
    };
    let error = program.run_with(&Args::new(), &untimed).unwrap_err();
    assert!(matches!(error, Error::OutOfFuel { .. }), "{error}");
    std::thread::sleep(Duration::from_millis(50));
    let timed = Limits {
        fuel: None,
        timeout: Some(Duration::from_millis(100)),
        ..Limits::default()
    };
    for _ in 0..2 {
        let start = Instant::now();
        let error = program.run_with(&Args::new(), &timed).unwrap_err();
        let took = start.elapsed();
        assert!(matches!(error, Error::Timeout { .. }), "{error}");
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took < Duration::from_millis(100 + 10 + 500), "{took:?}");
    }
}

#[test]
fn a_guest_calling_the_host_in_a_loop_still_times_out() {
    let limits = Limits {
        fuel: None,
        timeout: Some(Duration::from_millis(100)),
        ..Limits::default()
    };
    let error = program(
        r#"(func $run (result i32)
             (loop $l (drop (call $core.argc)) (br $l))
             (i32.const 0))"#,
        &Grants::new(),
    )
    .run_with(&Args::new(), &limits)
    .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
}

#[test]
fn fuel_used_is_reported_and_bounded_by_the_limit() {
    let program = program(
        r#"(func $run (result i32)
             (local $i i32)
             (loop $l
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
             (i32.const 0))"#,
        &Grants::new(),
    );
    let used = program.run(&Args::new()).unwrap().usage.fuel;
    assert!((1000..100_000).contains(&used), "{used}");
    let exact = Limits {
        fuel: Some(used),
        ..Limits::default()
    };
    assert_eq!(
        program.run_with(&Args::new(), &exact).unwrap().usage.fuel,
        used
    );
    let short = Limits {
        fuel: Some(used / 2),
        ..Limits::default()
    };
    let error = program.run_with(&Args::new(), &short).unwrap_err();
    assert!(matches!(error, Error::OutOfFuel { .. }), "{error}");
}

#[test]
fn a_module_declaring_more_memory_than_the_cap_fails_to_start() {
    let error = program(
        "(module (memory 32) (func $run (result i32) (i32.const 0)))",
        &Grants::new(),
    )
    .run_with(
        &Args::new(),
        &Limits {
            max_memory: 1 << 20,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            Error::MemoryExhausted {
                requested: 0x20_0000,
                limit: 0x10_0000
            }
        ),
        "{error}"
    );
}

#[test]
fn with_pooling_a_run_gets_no_more_memory_than_a_slot() {
    let engine = tape_rt::Engine::new(tape_rt::Config {
        cache_dir: None,
        limits: Limits {
            max_memory: 2 << 20,
            ..Limits::default()
        },
        pooling: Some(tape_rt::Pooling { instances: 4 }),
        ..tape_rt::Config::default()
    })
    .unwrap();
    let program = engine
        .compile_str(
            "grow.wat",
            "(func $run (result i32) (drop (call $core.alloc (i32.const 3000000))) (i32.const 0))",
            &Grants::new(),
        )
        .unwrap();
    let generous = Limits {
        max_memory: 64 << 20,
        ..Limits::default()
    };
    let error = program.run_with(&Args::new(), &generous).unwrap_err();
    assert!(
        matches!(
            error,
            Error::MemoryExhausted {
                limit: 0x20_0000,
                ..
            }
        ),
        "{error}"
    );
    let program = engine
        .compile_str(
            "grow.wat",
            "(func $run (result i32) (drop (call $core.alloc (i32.const 1000000))) (i32.const 0))",
            &Grants::new(),
        )
        .unwrap();
    assert_eq!(program.run_with(&Args::new(), &generous).unwrap().status, 0);
}
