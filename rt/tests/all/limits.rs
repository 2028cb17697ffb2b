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
