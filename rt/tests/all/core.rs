//! The `core` capability: arguments, results, allocation, and the
//! guarantees around them.

use tape_rt::{Args, ErrorKind, Grants, status};

use crate::{program, run, run_err};

#[test]
fn hello_returns_its_string() {
    let outcome = run(r#"(func $run (result i32) (call $core.result "hello, world"))"#);
    assert_eq!(outcome.status, 0);
    assert_eq!(outcome.results.len(), 1);
    assert_eq!(outcome.result::<String>(0).unwrap(), "hello, world");
    assert_eq!(outcome.usage.host_calls, 1);
    assert_eq!(outcome.usage.peak_memory, 65536);
    assert!(outcome.usage.fuel > 0);
}

#[test]
fn arguments_are_written_as_wire_values_and_echoed() {
    // Echo every argument back, in order.
    let echo = program(
        r#"(func $run (result i32)
             (local $i i32) (local $ptr i32) (local $status i32)
             (block $done
               (loop $next
                 (br_if $done (i32.ge_u (local.get $i) (call $core.argc)))
                 (call $core.arg (local.get $i))
                 (local.set $status)
                 (local.set $ptr)
                 (if (local.get $status) (then (return (local.get $status))))
                 (drop (call $core.result (local.get $ptr)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $next)))
             (i32.const 0))"#,
        &Grants::new(),
    );
    let outcome = echo.run(&Args::strings(["one", "", "thrée"])).unwrap();
    let results: Vec<String> = (0..3).map(|i| outcome.result(i).unwrap()).collect();
    assert_eq!(results, ["one", "", "thrée"]);

    let typed = Args::new()
        .push(&(7u32, "x"))
        .unwrap()
        .push(&vec![1i32, 2])
        .unwrap();
    let outcome = echo.run(&typed).unwrap();
    assert_eq!(outcome.result::<(u32, String)>(0).unwrap(), (7, "x".into()));
    assert_eq!(outcome.result::<Vec<i32>>(1).unwrap(), [1, 2]);
}

#[test]
fn an_argument_past_the_end_is_not_found() {
    let outcome = run(r#"(func $run (result i32)
             (call $core.arg (i32.const 0))
             (return))"#);
    assert_eq!(outcome.status, status::NOT_FOUND);
}

#[test]
fn alloc_bumps_from_initial_top_in_8_byte_steps() {
    // initial_top is 16 here: one 5-byte literal at 8..17 → 24.
    let outcome = run(r#"(func $run (result i32)
             (local $a i32) (local $b i32)
             (drop "12345")
             (local.set $a (call $core.alloc (i32.const 3)))
             (local.set $b (call $core.alloc (i32.const 0)))
             (if (i32.ne (local.get $a) (i32.const 24)) (then (return (i32.const 101))))
             (if (i32.ne (local.get $b) (i32.const 32)) (then (return (i32.const 102))))
             (i32.const 0))"#);
    assert_eq!(outcome.status, 0);
}

#[test]
fn alloc_grows_memory_by_pages() {
    let outcome = run(r#"(func $run (result i32)
             (drop (call $core.alloc (i32.const 200000)))
             (i32.const 0))"#);
    assert_eq!(outcome.usage.peak_memory, 4 * 65536);
}

#[test]
fn a_result_is_copied_during_the_call() {
    // The guest overwrites its string after handing it over; the host must
    // already hold the original.
    let outcome = run(r#"(func $run (result i32)
             (drop (call $core.result "abc"))
             (i32.store8 (i32.const 12) (i32.const 0x7a))
             (drop (call $core.result "abc"))
             (i32.const 0))"#);
    assert_eq!(outcome.result::<&str>(0).unwrap(), "abc");
    assert_eq!(outcome.result::<&str>(1).unwrap(), "zbc");
}

#[test]
fn results_past_the_byte_limit_are_refused_with_a_status() {
    let program = program(
        r#"(func $run (result i32) (call $core.result "0123456789"))"#,
        &Grants::new(),
    );
    let limits = tape_rt::Limits {
        max_result_bytes: 13,
        ..Default::default()
    };
    let outcome = program.run_with(&Args::new(), &limits).unwrap();
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert!(outcome.results.is_empty());
}

/// Pointers at and around the end of memory, and lengths that overflow.
#[test]
fn bad_pointers_and_lengths_trap_without_panicking() {
    let memory: u64 = 65536;
    let pointers = [
        0,
        memory - 1,
        memory - 4,
        memory,
        memory + 1,
        1 << 31,
        (1 << 32) - 1,
    ];
    let lengths = [0u64, memory - 1, memory, memory + 1, 1 << 31, (1 << 32) - 1];
    for ptr in pointers {
        for len in lengths {
            let source = format!(
                r#"(module (memory 1)
                     (func $run (result i32)
                       (if (i32.le_u (i32.const {ptr}) (i32.const {limit}))
                         (then (i32.store (i32.const {ptr}) (i32.const {len}))))
                       (call $core.result (i32.const {ptr}))))"#,
                limit = memory - 4
            );
            let result = program(&source, &Grants::new()).run(&Args::new());
            // The prefix is stored only where it fits; elsewhere even
            // reading it is out of bounds.
            let fits = ptr + 4 <= memory && ptr + 4 + len <= memory;
            match result.map_err(tape_rt::Error::into_kind) {
                Ok(outcome) => {
                    assert!(fits, "ptr {ptr} len {len} should not fit");
                    assert_eq!(outcome.results[0].len() as u64, 4 + len);
                }
                Err(ErrorKind::BadPointer { .. }) => assert!(!fits, "ptr {ptr} len {len}"),
                Err(other) => panic!("ptr {ptr} len {len}: unexpected {other}"),
            }
        }
    }
}

#[test]
fn a_guest_trap_is_an_error_with_a_backtrace() {
    let error = run_err(
        "(func $inner unreachable)\n(func $run (result i32) (call $inner) (i32.const 0))",
        &Grants::new(),
    );
    let ErrorKind::Trap { message, stack } = error.kind() else {
        panic!("{error}")
    };
    assert!(message.contains("unreachable"), "{message}");
    let names: Vec<_> = stack
        .frames
        .iter()
        .map(|f| f.func_name.as_deref())
        .collect();
    assert_eq!(names, [Some("inner"), Some("run")]);
    assert!(stack.frames.iter().all(|f| f.module_offset.is_some()));
    let text = error.to_string();
    assert!(
        text.contains("unreachable") && text.contains("\n  in $inner at test.wat:1:"),
        "{text}"
    );
    assert!(text.contains("\n  in $run at test.wat:2:"), "{text}");
}

#[test]
fn runs_are_isolated() {
    // Each run writes to memory and a global; the next sees neither.
    let program = program(
        r#"(module
             (memory 1)
             (global $count (mut i32) (i32.const 0))
             (func $run (result i32)
               (if (i32.load (i32.const 1000)) (then (return (i32.const 1))))
               (if (global.get $count) (then (return (i32.const 2))))
               (i32.store (i32.const 1000) (i32.const 42))
               (global.set $count (i32.const 1))
               (i32.const 0)))"#,
        &Grants::new(),
    );
    for _ in 0..3 {
        assert_eq!(program.run(&Args::new()).unwrap().status, 0);
    }
}

#[test]
fn many_threads_share_one_engine_and_program() {
    let program = std::sync::Arc::new(program(
        r#"(func $run (result i32)
             (call $core.arg (i32.const 0))
             (drop)
             (call $core.result))"#,
        &Grants::new(),
    ));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let program = program.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let arg = format!("thread {t} run {i}");
                    let outcome = program.run(&Args::strings([&arg])).unwrap();
                    assert_eq!(outcome.result::<String>(0).unwrap(), arg);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

/// The macros, run: `argv` loads arguments or returns `core.arg`'s status,
/// `check` returns a non-zero status, `resv` hands a result over.
#[test]
fn macros_return_statuses_and_results() {
    let program = program(
        r#"(func $run (result i32)
             (argv 0 $name)
             (check (call $not_empty (local.get $name)))
             (resv "hello")
             (resv $name)
             (local $extra i32)
             (local.set $extra (i32.const 0))
             (local.get $extra))

           (func $not_empty (param $s i32) (result i32)
             (if (result i32) (i32.load (local.get $s))
               (then (i32.const 0))
               (else (i32.const 42))))"#,
        &Grants::new(),
    );
    let outcome = program.run(&Args::strings(["world"])).unwrap();
    assert_eq!(outcome.status, 0);
    assert_eq!(outcome.result::<&str>(0).unwrap(), "hello");
    assert_eq!(outcome.result::<&str>(1).unwrap(), "world");

    // `check` returns the helper's status before any result.
    let outcome = program.run(&Args::strings([""])).unwrap();
    assert_eq!(outcome.status, 42);
    assert!(outcome.results.is_empty());

    // `argv` returns core.arg's status when the argument is missing.
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(outcome.status, status::NOT_FOUND);
}

#[test]
fn a_trap_names_the_source_line_of_each_frame() {
    let error = run_err(
        "(func $inner\n  (drop \"a literal first\")\n  unreachable)\n(func $run (result i32)\n  (call $inner)\n  (i32.const 0))",
        &Grants::new(),
    );
    let ErrorKind::Trap { stack, .. } = error.kind() else {
        panic!("{error}")
    };
    let located: Vec<_> = stack
        .frames
        .iter()
        .map(|f| {
            (
                f.func_name.clone().unwrap_or_default(),
                f.source.clone().map(|s| (s.line, s.column)),
            )
        })
        .collect();
    assert_eq!(
        located,
        [
            ("inner".to_string(), Some((3, 3))),
            ("run".to_string(), Some((5, 4)))
        ]
    );
    let text = error.to_string();
    assert!(text.contains("in $inner at test.wat:3:3"), "{text}");
}

/// A module without literals keeps its memory as written, even of no
/// pages, and the allocator grows it when it needs room.
#[test]
fn a_memory_of_no_pages_stays_so_until_the_allocator_needs_room() {
    let outcome = run("(module (memory 0)
           (func $run (result i32)
             (if (i32.ne (memory.size) (i32.const 0)) (then (return (i32.const 99))))
             (drop (call $core.alloc (i32.const 16)))
             (memory.size)))");
    assert_eq!(outcome.status, 1, "one page, grown by the allocator");
    assert_eq!(outcome.usage.peak_memory, 65536);
}

/// With the custom page sizes proposal a page may be one byte: the
/// allocator grows the memory in its own pages.
#[test]
fn the_allocator_grows_memories_of_one_byte_pages() {
    let outcome = run("(module (memory 0 (pagesize 1))
           (func $run (result i32)
             (drop (call $core.alloc (i32.const 16)))
             (memory.size)))");
    assert_eq!(outcome.status, 24, "8 reserved bytes and 16 allocated");
    assert_eq!(outcome.usage.peak_memory, 24);
}

/// The line table was one byte off (by the length of the code section's
/// count of functions), so a one-byte instruction that trapped was located
/// at the instruction after it.
#[test]
fn a_one_byte_instruction_that_traps_is_located_at_itself() {
    let error = run_err(
        "(func $run (result i32)\n  (i32.div_u (i32.const 1) (i32.const 0))\n  (drop)\n  (i32.const 0))",
        &Grants::new(),
    );
    let ErrorKind::Trap { stack, .. } = error.kind() else {
        panic!("{error}")
    };
    let at = stack.frames[0].source.clone().map(|s| (s.line, s.column));
    assert_eq!(at, Some((2, 4)), "{error}");
}

/// `bind` keeps the value of a call that also returns a status, or returns
/// the status.
#[test]
fn bind_keeps_the_value_or_returns_the_status() {
    let program = program(
        "(func $run (result i32)
           (bind $name (call $core.arg (i32.const 0)))
           (resv $name)
           (i32.const 0))",
        &Grants::new(),
    );
    let outcome = program.run(&Args::strings(["ada"])).unwrap();
    assert_eq!(
        (outcome.status, outcome.result::<&str>(0).unwrap()),
        (0, "ada")
    );
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(outcome.status, status::NOT_FOUND);
    assert!(outcome.results.is_empty());
}

/// A failing `core.arg` says why, where; the run keeps the last reasons
/// only; `core.reason` gives the last one's text, or `NOT_FOUND`.
#[test]
fn failing_calls_keep_their_reasons() {
    let outcome = run(r#"(func $run (result i32)
          (local $i i32)
          (call $core.reason) (drop) (drop)
          (loop $again
            (call $core.arg (i32.const 7)) (drop) (drop)
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $again (i32.lt_u (local.get $i) (i32.const 20))))
          (call $core.reason)
          (if (then unreachable))
          (call $core.result))"#);
    assert_eq!(outcome.status, 0);
    assert_eq!(outcome.reasons.len(), tape_rt::Reason::MAX_REASONS);
    let reason = outcome.reasons.last().unwrap();
    assert_eq!(
        (reason.call, reason.status),
        ("core.arg", status::NOT_FOUND)
    );
    assert_eq!(
        reason.message,
        "argument 7 was asked for, and the run was given none"
    );
    assert_eq!(reason.location().as_deref(), Some("test.wat:5:14"));
    assert_eq!(
        outcome.result::<&str>(0).unwrap(),
        "core.arg: argument 7 was asked for, and the run was given none"
    );

    // Before any failure, there is no reason.
    let outcome = run(r#"(func $run (result i32)
          (local $status i32)
          (call $core.reason) (local.set $status) (drop)
          (local.get $status))"#);
    assert_eq!(outcome.status, status::NOT_FOUND);
    assert!(outcome.reasons.is_empty());
}

/// A reason's message is cut at a character boundary past its cap.
#[test]
fn a_long_reason_is_cut() {
    let reason = tape_rt::Reason::new(
        "x.y",
        1,
        "é".repeat(tape_rt::Reason::MAX_MESSAGE_BYTES),
        tape_rt::CallStack::default(),
    );
    assert!(reason.message.len() <= tape_rt::Reason::MAX_MESSAGE_BYTES);
    assert!(reason.message.ends_with('…'));
}

/// A number result is handed over as `[width][bytes]` and read as the
/// number; a value that is neither the type nor its one-field tuple is
/// still an error.
#[test]
fn number_results_read_as_numbers() {
    let outcome = run(r#"(func $run (result i32)
             (local $p i32)
             (local.set $p (call $core.alloc (i32.const 12)))
             (i32.store (local.get $p) (i32.const 8))
             (i64.store offset=4 (local.get $p) (i64.const -3))
             (drop (call $core.result (local.get $p)))
             (drop (call $core.result "abc"))
             (i32.const 0))"#);
    assert_eq!(outcome.result::<i64>(0).unwrap(), -3);
    assert_eq!(outcome.result::<(i64,)>(0).unwrap(), (-3,));
    assert_eq!(outcome.result::<f64>(0).unwrap().to_bits(), (-3i64) as u64);
    assert!(matches!(
        outcome.result::<i32>(0).unwrap_err().kind(),
        ErrorKind::Wire(_)
    ));
    assert!(matches!(
        outcome.result::<u32>(1).unwrap_err().kind(),
        ErrorKind::Wire(_)
    ));
    assert_eq!(outcome.result::<String>(1).unwrap(), "abc");
}

/// Floats as text: the host's exact formatting and parsing, a reason for
/// what does not parse, and zeros for more decimals than any f64 has.
#[test]
fn floats_format_and_parse_exactly() {
    let outcome = run(r#"(func $run (result i32)
             (local $x f64) (local $status i32)
             (drop (call $core.result (call $core.f64_format (f64.const 0.3) (i32.const -1))))
             (drop (call $core.result (call $core.f64_format (f64.const 0.125) (i32.const 2))))
             (call $core.f64_parse "2.5e-3")
             (local.set $status) (local.set $x)
             (drop (call $core.result (call $core.f64_format (local.get $x) (i32.const -1))))
             (call $core.f64_parse "2,5")
             (local.set $status) (drop)
             (local.get $status))"#);
    assert_eq!(outcome.result::<String>(0).unwrap(), "0.3");
    assert_eq!(outcome.result::<String>(1).unwrap(), "0.12");
    assert_eq!(outcome.result::<String>(2).unwrap(), "0.0025");
    assert_eq!(outcome.status, status::INVALID_ARGUMENT);
    assert_eq!(outcome.reasons[0].message, "`2,5` is not a number");
    assert_eq!(outcome.reasons[0].call, "core.f64_parse");

    let outcome = run(r#"(func $run (result i32)
             (drop (call $core.result (call $core.f64_format (f64.const 0x1p-1074) (i32.const 1080))))
             (drop (call $core.result (call $core.f64_format (f64.const inf) (i32.const 2000))))
             (drop (call $core.result (call $core.f64_format (f64.const -0.5) (i32.const 0))))
             (i32.const 0))"#);
    let tiny = outcome.result::<String>(0).unwrap();
    assert_eq!(tiny, format!("{:.1080}", f64::from_bits(1)));
    assert!(tiny.ends_with("265625000000"), "{tiny}");
    assert_eq!(outcome.result::<String>(1).unwrap(), "inf");
    assert_eq!(outcome.result::<String>(2).unwrap(), "-0");

    // Two billion zeros meet the memory cap, in guest memory, not the
    // host's.
    let error = run_err(
        r#"(func $run (result i32)
             (drop (call $core.f64_format (f64.const 1) (i32.const 2000000000)))
             (i32.const 0))"#,
        &Grants::new(),
    );
    assert!(
        matches!(error.kind(), ErrorKind::MemoryExhausted { .. }),
        "{error}"
    );
}
