//! Runaway guests are stopped, each with its own error, and the host goes
//! on.

use std::time::{Duration, Instant};

use tape_compiler::Budget;
use tape_rt::{Args, Config, Engine, Error, ErrorKind, Grants, Limits};

use crate::{program, run};

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
    assert!(matches!(error.kind(), ErrorKind::Timeout { .. }), "{error}");
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
        matches!(error.kind(), ErrorKind::OutOfFuel { fuel: 100_000, .. }),
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
        matches!(error.kind(), ErrorKind::MemoryExhausted { requested, limit: 0x40_0000, .. } if *requested == 0x41_0000),
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
    assert!(
        matches!(error.kind(), ErrorKind::MemoryExhausted { .. }),
        "{error}"
    );
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let error = program(
        "(func $f (call $f)) (func $run (result i32) (call $f) (i32.const 0))",
        &Grants::new(),
    )
    .run(&Args::new())
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::StackOverflow { .. }),
        "{error}"
    );
    // The process is alive and the engine still runs programs.
    assert_eq!(run("(func $run (result i32) (i32.const 0))").status, 0);
}

#[test]
fn a_timeout_between_ticks_is_kept_to_within_one_tick() {
    // 100 ms ticks and a 150 ms timeout: counting whole ticks alone would
    // stop the run after 100 or 200 ms.
    let engine = Engine::new(Config {
        cache_dir: None,
        epoch_tick: Duration::from_millis(100),
        ..Config::default()
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
            matches!(error.kind(), ErrorKind::Timeout { timeout, .. } if *timeout == Duration::from_millis(150)),
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
    let engine = Engine::new(Config {
        cache_dir: None,
        ..Config::default()
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
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { .. }),
        "{error}"
    );
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
        assert!(matches!(error.kind(), ErrorKind::Timeout { .. }), "{error}");
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
    assert!(matches!(error.kind(), ErrorKind::Timeout { .. }), "{error}");
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
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { .. }),
        "{error}"
    );
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
            error.kind(),
            ErrorKind::MemoryExhausted {
                requested: 0x20_0000,
                limit: 0x10_0000,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn with_pooling_a_run_gets_no_more_memory_than_a_slot() {
    let engine = Engine::new(Config {
        cache_dir: None,
        limits: Limits {
            max_memory: 2 << 20,
            ..Limits::default()
        },
        pooling: Some(tape_rt::Pooling { instances: 4 }),
        ..Config::default()
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
            error.kind(),
            ErrorKind::MemoryExhausted {
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

fn capped(max_memory: u64) -> Limits {
    Limits {
        max_memory,
        ..Limits::default()
    }
}

fn run_capped(source: &str, max_memory: u64) -> Result<tape_rt::Outcome, Error> {
    program(source, &Grants::new()).run_with(&Args::new(), &capped(max_memory))
}

/// Forty memories of 64 KiB-pages each, every one within the cap: the cap
/// held per memory, so together they passed it forty times over.
#[test]
fn the_cap_holds_for_all_memories_together() {
    let memories: String = (0..40).map(|i| format!("(memory $m{i} 16)")).collect();
    let fills: String = (0..40)
        .map(|i| format!("(memory.fill $m{i} (i32.const 0) (i32.const 1) (i32.const 0x10_0000))"))
        .collect();
    let source = format!("(module {memories} (func $run (result i32) {fills} (i32.const 0)))");
    let error = run_capped(&source, 4 << 20).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MemoryExhausted { requested, limit: 0x40_0000, .. } if *requested == 0x50_0000),
        "{error}"
    );
    // Growing them one by one is stopped the same way.
    let memories: String = (0..40).map(|i| format!("(memory $m{i} 0)")).collect();
    let grows: String = (0..40)
        .map(|i| format!("(drop (memory.grow $m{i} (i32.const 16)))"))
        .collect();
    let source = format!("(module {memories} (func $run (result i32) {grows} (i32.const 0)))");
    let error = run_capped(&source, 4 << 20).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::MemoryExhausted {
                limit: 0x40_0000,
                ..
            }
        ),
        "{error}"
    );
    // Within the cap, the report counts every memory.
    let outcome = run_capped(
        "(module (memory 2) (memory $b 3) (func $run (result i32) (i32.const 0)))",
        4 << 20,
    )
    .unwrap();
    assert_eq!(outcome.usage.peak_memory, 5 * 65536);
}

/// `table.grow` by 100 million entries took 789 MB for ten units of fuel.
#[test]
fn table_entries_count_against_the_cap() {
    let entry = tape_rt::TABLE_ENTRY_BYTES;
    let grow = |entries: u32| {
        format!(
            "(module (memory 1) (table $t 0 funcref)
               (func $run (result i32)
                 (drop (table.grow $t (ref.null func) (i32.const {entries})))
                 (i32.const 0)))"
        )
    };
    let error = run_capped(&grow(100_000_000), 4 << 20).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MemoryExhausted { requested, limit: 0x40_0000, .. }
            if *requested == 65536 + 100_000_000 * entry),
        "{error}"
    );
    let outcome = run_capped(&grow(1000), 4 << 20).unwrap();
    assert_eq!(outcome.usage.peak_memory, 65536 + 1000 * entry);
    // A table declared large fails at the start.
    let error = run_capped(
        "(module (memory 1) (table 10000000 funcref) (func $run (result i32) (i32.const 0)))",
        4 << 20,
    )
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MemoryExhausted { .. }),
        "{error}"
    );
}

/// Growing past a declared maximum is the guest's own limit: `-1`, as the
/// specification says, not an error of the run.
#[test]
fn growth_past_a_declared_maximum_returns_minus_one() {
    let outcome = run("(module (memory 1 2) (table $t 1 2 funcref)
           (func $run (result i32)
             (call $core.result (i32.const 0))
             (drop)
             (if (i32.ne (memory.grow (i32.const 2)) (i32.const -1)) (then (return (i32.const 1))))
             (if (i32.ne (table.grow $t (ref.null func) (i32.const 2)) (i32.const -1))
               (then (return (i32.const 2))))
             (i32.const 0)))");
    assert_eq!(outcome.status, 0);
}

/// The GC heap is a memory of wasmtime's own; its growth counts too.
#[test]
fn gc_arrays_count_against_the_cap() {
    let error = run_capped(
        r#"(module
             (type $bytes (array (mut i8)))
             (type $outer (array (mut (ref null $bytes))))
             (memory 1)
             (func $run (result i32)
               (local $o (ref null $outer)) (local $i i32)
               (local.set $o (array.new $outer (ref.null $bytes) (i32.const 1000)))
               (loop $l
                 (array.set $outer (local.get $o) (local.get $i)
                   (array.new $bytes (i32.const 7) (i32.const 100000)))
                 (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                     (i32.const 1000))))
               (i32.const 0)))"#,
        16 << 20,
    )
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MemoryExhausted { requested, limit: 0x100_0000, .. } if *requested > 0x100_0000),
        "{error}"
    );
}

/// A refused result is not copied first: a guest cannot make the host
/// copy its memory only to throw the copy away.
#[test]
fn results_are_checked_before_they_are_copied_and_counted() {
    let big = r#"(func $run (result i32) (local $p i32)
                   (local.set $p (call $core.alloc (i32.const 0x20_0004)))
                   (i32.store (local.get $p) (i32.const 0x20_0000))
                   (call $core.result (local.get $p)))"#;
    let program = program(big, &Grants::new());
    let limits = Limits {
        max_result_bytes: 1 << 20,
        ..Limits::default()
    };
    let (outcome, largest) =
        crate::largest_allocation_during(|| program.run_with(&Args::new(), &limits).unwrap());
    assert_eq!(outcome.status, tape_rt::status::TOO_LARGE);
    assert!(largest < 0x20_0000, "the host allocated {largest} bytes");

    // Tiny results cost the host more than their bytes: their number is
    // capped too.
    let many = format!(
        r#"(func $run (result i32) (local $i i32) (local $s i32)
             (loop $l
               (local.set $s (call $core.result ""))
               (if (local.get $s) (then (return (local.get $s))))
               (br_if $l (i32.le_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                   (i32.const {}))))
             (i32.const 0))"#,
        tape_rt::MAX_RESULTS + 10
    );
    let outcome = crate::program(&many, &Grants::new())
        .run(&Args::new())
        .unwrap();
    assert_eq!(outcome.status, tape_rt::status::TOO_LARGE);
    assert_eq!(outcome.results.len(), tape_rt::MAX_RESULTS);
}

/// Compiling was outside every limit: a function of 100,000 blocks took
/// Cranelift 36 seconds, whatever `--timeout` said. The compile budget
/// holds Tape's compiler and wasmtime's together.
#[test]
fn compiling_is_held_to_the_compile_budget() {
    let engine = |budget: Budget| {
        Engine::new(Config {
            cache_dir: None,
            compile_budget: budget,
            ..Config::default()
        })
        .unwrap()
    };
    let blocks: String = (0..20_000)
        .map(|i| format!("(block $b{i} (br $b{i}))"))
        .collect();
    let source = format!("(module (memory 1) (func $run (result i32) {blocks} (i32.const 0)))");
    let slow = engine(Budget {
        timeout: Some(Duration::from_millis(100)),
        ..Budget::default()
    });
    let started = Instant::now();
    let error = slow
        .compile_str("blocks.wat", &source, &Grants::new())
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Compile(tape_compiler::Error::Timeout { name, .. }) if name == "blocks.wat"),
        "{error}"
    );
    // It returned at its time, not when wasmtime was done.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let small = engine(Budget {
        max_source_bytes: 100,
        ..Budget::default()
    });
    let error = small
        .compile_str("big.wat", &source, &Grants::new())
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Compile(tape_compiler::Error::TooLarge { limit: 100, .. })
        ),
        "{error}"
    );
    let wasm = tape_compiler::compile_str(
        "big.wat",
        &source,
        &tape_compiler::Options {
            catalogue: Grants::new().catalogue(),
            ..Default::default()
        },
    )
    .unwrap()
    .wasm;
    let error = small.load(&wasm, &Grants::new()).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Compile(tape_compiler::Error::TooLarge { limit: 100, .. })
        ),
        "{error}"
    );
}

/// A program that hands over one result, then calls `$spin`, which never
/// returns: line 5 is the loop, line 8 the call.
const STARTED_THEN_SPIN: &str = r#"(func $spin
  (local $i i32)
  (loop $forever
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $forever)))
(func $run (result i32)
  (drop (call $core.result "started"))
  (call $spin)
  (i32.const 0))"#;

/// Where `error` says the program was: `(function, line)` per frame.
fn frames(error: &Error) -> Vec<(String, u32)> {
    error
        .stack()
        .frames
        .iter()
        .map(|f| {
            let name = f.func_name.clone().unwrap_or_default();
            (name, f.source.as_ref().map_or(0, |s| s.line))
        })
        .collect()
}

/// Out of fuel, a run says where the program was, as a trap does, and
/// keeps the result it handed over before.
#[test]
fn a_fuel_stop_is_located_and_keeps_the_results() {
    let limits = Limits {
        fuel: Some(100_000),
        timeout: None,
        ..Limits::default()
    };
    let error = program(STARTED_THEN_SPIN, &Grants::new())
        .run_with(&Args::new(), &limits)
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { .. }),
        "{error}"
    );
    let frames = frames(&error);
    assert_eq!(frames[0].0, "spin", "{error}");
    assert!((3..=5).contains(&frames[0].1), "{frames:?}");
    assert_eq!(frames[1], ("run".to_string(), 8), "{error}");
    assert_eq!(error.results().len(), 1);
    assert_eq!(&error.results()[0][4..], b"started");
    let usage = error.usage().expect("the run's usage");
    assert_eq!(usage.fuel, 100_000);
    assert_eq!(usage.host_calls, 1);
    // The message is the first line; the stack follows in `Display`.
    assert!(!error.message().contains('\n'), "{}", error.message());
    assert!(
        error.to_string().contains("\n  in $spin at test.wat:"),
        "{error}"
    );
}

/// The timeout, too, is located, and keeps the results.
#[test]
fn a_timeout_is_located_and_keeps_the_results() {
    let limits = Limits {
        fuel: None,
        timeout: Some(Duration::from_millis(100)),
        ..Limits::default()
    };
    let error = program(STARTED_THEN_SPIN, &Grants::new())
        .run_with(&Args::new(), &limits)
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Timeout { .. }), "{error}");
    assert_eq!(frames(&error)[0].0, "spin", "{error}");
    assert_eq!(error.results().len(), 1);
}

/// A stack overflow names the function that recursed.
#[test]
fn a_stack_overflow_is_located() {
    let error = program(
        "(func $deep (param $n i32) (result i32)
           (call $deep (i32.add (local.get $n) (i32.const 1))))
         (func $run (result i32) (call $deep (i32.const 0)))",
        &Grants::new(),
    )
    .run(&Args::new())
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::StackOverflow { .. }),
        "{error}"
    );
    // The innermost frame stopped in its prologue, before any line; the
    // next ones are at the recursive call.
    let frames = frames(&error);
    assert_eq!(frames[0].0, "deep");
    assert_eq!(frames[1], ("deep".to_string(), 2), "{error}");
    // Many frames, folded into a few lines.
    assert!(frames.len() > 3, "{}", frames.len());
    let lines = error.stack().lines();
    assert!(lines.len() <= tape_rt::CallStack::MAX_LINES, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("$deep at test.wat:2:") && l.contains(" (× ")),
        "{lines:?}"
    );
}

/// A call stack shows a run of one frame once, with how many times.
#[test]
fn repeated_frames_are_folded() {
    use tape_rt::{CallStack, Frame};
    let frame = |name: &str| Frame {
        func_index: 0,
        func_name: Some(name.to_string()),
        module_offset: None,
        source: None,
    };
    let stack = CallStack {
        frames: vec![frame("a"), frame("b"), frame("b"), frame("b"), frame("run")],
    };
    assert_eq!(stack.lines(), ["$a", "$b (× 3)", "$run"]);
    let many = CallStack {
        frames: (0..100).map(|i| frame(&format!("f{i}"))).collect(),
    };
    let lines = many.lines();
    assert_eq!(lines.len(), CallStack::MAX_LINES);
    assert_eq!(lines[19], "… 77 more frames …");
    assert_eq!(lines.last().unwrap(), "$f99");
}

/// Memory past the cap is located where the program asked for it: a
/// `memory.grow` in the guest, or a `core.alloc` the host refused.
#[test]
fn a_memory_stop_is_located_in_the_guest_and_through_the_host() {
    let limits = Limits {
        max_memory: 1 << 20,
        ..Limits::default()
    };
    let grow = program(
        "(func $grow (drop (memory.grow (i32.const 100))))
         (func $run (result i32) (call $grow) (i32.const 0))",
        &Grants::new(),
    )
    .run_with(&Args::new(), &limits)
    .unwrap_err();
    assert!(
        matches!(grow.kind(), ErrorKind::MemoryExhausted { .. }),
        "{grow}"
    );
    assert_eq!(frames(&grow)[0], ("grow".to_string(), 1), "{grow}");

    let alloc = program(
        "(func $take (drop (call $core.alloc (i32.const 0x200000))))
         (func $run (result i32) (call $take) (i32.const 0))",
        &Grants::new(),
    )
    .run_with(&Args::new(), &limits)
    .unwrap_err();
    assert!(
        matches!(alloc.kind(), ErrorKind::MemoryExhausted { .. }),
        "{alloc}"
    );
    assert_eq!(frames(&alloc)[0], ("take".to_string(), 1), "{alloc}");
}

/// An error before the run has no results and no usage.
#[test]
fn an_error_before_the_run_has_no_results() {
    let error = crate::engine()
        .compile_str(
            "test.wat",
            "(func $run (result i32) (call $nope.x))",
            &Grants::new(),
        )
        .unwrap_err();
    assert!(error.results().is_empty());
    assert!(error.usage().is_none());
    assert!(error.stack().frames.is_empty());
}
