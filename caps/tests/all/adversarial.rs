//! Hostile guests: every pointer, length and count a guest hands a host
//! function, from a grid of edge values, ends in an error or correct data —
//! never a panic, never a huge host allocation — and many programs on many
//! threads keep their results apart.

use std::sync::Arc;

use tape_caps::Log;
use tape_rt::{Args, Config, Engine, ErrorKind, Limits, Pooling, Program, status};

use crate::{largest_allocation_during, program};

/// One 64 KiB page: the memory every grid program has.
const MEM: u64 = 65536;

/// Edge values for pointers, sizes, counts and length prefixes.
const GRID: [u64; 8] = [0, 1, MEM - 4, MEM - 1, MEM, MEM + 1, 1 << 31, (1 << 32) - 1];

/// Host allocations past this during a run mean a guest's number was
/// trusted: the biggest legitimate one is a copy of a 64 KiB value.
const ALLOCATION_CEILING: usize = 4 << 20;

/// Runs `program` and checks that no allocation of the run came near a
/// guest-chosen size.
fn run_bounded(program: &Program, args: &Args) -> tape_rt::Result<tape_rt::Outcome> {
    run_measured(program, args).0
}

/// As [`run_bounded`], also returning the largest allocation.
fn run_measured(program: &Program, args: &Args) -> (tape_rt::Result<tape_rt::Outcome>, usize) {
    let (result, largest) = largest_allocation_during(|| program.run(args));
    assert!(
        largest < ALLOCATION_CEILING,
        "the host allocated {largest} bytes during a run"
    );
    (result, largest)
}

#[test]
fn core_arg_with_any_index_returns_the_argument_or_not_found() {
    let args = Args::strings(["first", "second"]);
    let indices = GRID.iter().map(|&n| n as u32 as i32).chain([-2, -1, 2]);
    for n in indices {
        let program = program(
            &format!(
                r#"(func $run (result i32)
                     (local $ptr i32) (local $status i32)
                     (call $core.arg (i32.const {n}))
                     (local.set $status)
                     (local.set $ptr)
                     (if (local.get $status) (then (return (local.get $status))))
                     (call $core.result (local.get $ptr)))"#
            ),
            &tape_caps::grants(),
        );
        let outcome = run_bounded(&program, &args).unwrap_or_else(|e| panic!("n {n}: {e}"));
        match n {
            0 => assert_eq!(outcome.result::<&str>(0).unwrap(), "first"),
            1 => assert_eq!(outcome.result::<&str>(0).unwrap(), "second"),
            _ => {
                assert_eq!(outcome.status, status::NOT_FOUND, "n {n}");
                assert!(outcome.results.is_empty());
            }
        }
    }
}

#[test]
fn core_alloc_with_any_size_gives_usable_memory_or_a_memory_error() {
    let limits = Limits::default();
    for size in GRID {
        // Allocate `size`, then 0 bytes: the second block must start at the
        // first plus `size` rounded up to 8, and the first block's last
        // byte must be writable.
        let program = program(
            &format!(
                r#"(func $run (result i32)
                     (local $a i32) (local $b i32)
                     (local.set $a (call $core.alloc (i32.const {size})))
                     (local.set $b (call $core.alloc (i32.const 0)))
                     (if (i32.and (local.get $a) (i32.const 7)) (then (return (i32.const 101))))
                     (if (i32.ne (i32.sub (local.get $b) (local.get $a)) (i32.const {rounded}))
                       (then (return (i32.const 102))))
                     (if (i32.const {size})
                       (then (i32.store8 (i32.add (local.get $a) (i32.const {last})) (i32.const 1))))
                     (i32.const 0))"#,
                rounded = size.next_multiple_of(8) as u32 as i32,
                last = size.saturating_sub(1) as u32 as i32,
            ),
            &tape_caps::grants(),
        );
        match run_bounded(&program, &Args::new()).map_err(tape_rt::Error::into_kind) {
            Ok(outcome) => {
                assert!(size < limits.max_memory, "size {size} passed the cap");
                assert_eq!(outcome.status, 0, "size {size}");
                assert!(outcome.usage.peak_memory >= size, "size {size}");
            }
            Err(ErrorKind::MemoryExhausted {
                requested, limit, ..
            }) => {
                assert!(
                    size > limits.max_memory,
                    "size {size}: {requested} > {limit}"
                );
                assert!(requested > limit);
            }
            Err(other) => panic!("size {size}: unexpected {other}"),
        }
    }
}

#[test]
fn allocations_that_add_up_past_the_cap_stop_at_it() {
    let error = program(
        r#"(func $run (result i32)
             (loop $more (drop (call $core.alloc (i32.const 1000000))) (br $more))
             (i32.const 0))"#,
        &tape_caps::grants(),
    )
    .run_with(
        &Args::new(),
        &Limits {
            max_memory: 8 << 20,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MemoryExhausted { requested, limit: 0x80_0000, .. } if *requested > 0x80_0000),
        "{error}"
    );
}

/// A program that stores `prefix` at `ptr` where it fits, then hands `ptr`
/// to `call` (which must consume its i32 result).
fn pointer_program(ptr: u64, prefix: u64, call: &str) -> String {
    format!(
        r#"(module (memory 1)
             (func $run (result i32)
               (if (i32.le_u (i32.const {ptr}) (i32.const {limit}))
                 (then (i32.store (i32.const {ptr}) (i32.const {prefix}))))
               {call}))"#,
        ptr = ptr as u32 as i32,
        prefix = prefix as u32 as i32,
        limit = MEM - 4,
    )
}

fn fits(ptr: u64, prefix: u64) -> bool {
    ptr + 4 <= MEM && ptr + 4 + prefix <= MEM
}

#[test]
fn core_result_with_any_pointer_and_prefix_copies_or_refuses_without_allocating_it() {
    for ptr in GRID {
        for prefix in GRID {
            let source = pointer_program(
                ptr,
                prefix,
                &format!("(call $core.result (i32.const {}))", ptr as u32 as i32),
            );
            let (result, largest) =
                run_measured(&program(&source, &tape_caps::grants()), &Args::new());
            match result.map_err(tape_rt::Error::into_kind) {
                Ok(outcome) => {
                    assert!(fits(ptr, prefix), "ptr {ptr} prefix {prefix}");
                    assert_eq!(outcome.results[0].len() as u64, 4 + prefix);
                    assert_eq!(outcome.results[0][..4], (prefix as u32).to_le_bytes());
                    // The counter sees the copy it must make, so it would
                    // see a bigger one.
                    assert!(largest as u64 >= 4 + prefix, "{largest}");
                }
                Err(ErrorKind::BadPointer {
                    ptr: at, memory, ..
                }) => {
                    assert!(!fits(ptr, prefix), "ptr {ptr} prefix {prefix}");
                    assert_eq!((at, memory), (ptr, MEM));
                }
                Err(other) => panic!("ptr {ptr} prefix {prefix}: unexpected {other}"),
            }
        }
    }
}

#[test]
fn log_write_with_any_pointer_and_prefix_logs_or_refuses_without_allocating_it() {
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    let grants = tape_caps::grants().grant(
        Log::new()
            .max_bytes(usize::MAX)
            .sink(move |_, message| sink.lock().unwrap().push(message.len())),
    );
    for ptr in GRID {
        for prefix in GRID {
            lines.lock().unwrap().clear();
            let source = pointer_program(
                ptr,
                prefix,
                &format!(
                    "(call $log.write (i32.const 2) (i32.const {}))",
                    ptr as u32 as i32
                ),
            );
            match run_bounded(&program(&source, &grants), &Args::new())
                .map_err(tape_rt::Error::into_kind)
            {
                Ok(outcome) => {
                    assert!(fits(ptr, prefix), "ptr {ptr} prefix {prefix}");
                    assert_eq!(outcome.status, 0);
                    // Zero bytes are escaped as `\u{0}`: five characters each.
                    assert_eq!(*lines.lock().unwrap(), [5 * prefix as usize]);
                    assert_eq!(outcome.usage.capabilities[0].1.bytes_in, prefix);
                }
                Err(ErrorKind::BadPointer { .. }) => {
                    assert!(!fits(ptr, prefix), "ptr {ptr} prefix {prefix}");
                    assert!(lines.lock().unwrap().is_empty());
                }
                Err(other) => panic!("ptr {ptr} prefix {prefix}: unexpected {other}"),
            }
        }
    }
}

#[test]
fn a_result_whose_inner_prefix_lies_is_a_wire_error_without_a_big_allocation() {
    // A whole value `[8][u32::MAX][4 bytes]`: its outer prefix fits, the
    // inner one claims 4 GiB.
    let program = program(
        r#"(module (memory 1)
             (func $run (result i32)
               (i32.store (i32.const 256) (i32.const 8))
               (i32.store (i32.const 260) (i32.const -1))
               (call $core.result (i32.const 256))))"#,
        &tape_caps::grants(),
    );
    let outcome = run_bounded(&program, &Args::new()).unwrap();
    let (decoded, largest) = largest_allocation_during(|| outcome.result::<Vec<String>>(0));
    assert!(
        matches!(
            decoded.as_ref().map_err(|e| e.kind()),
            Err(ErrorKind::Wire(_))
        ),
        "{decoded:?}"
    );
    assert!(largest < ALLOCATION_CEILING, "{largest}");
}

#[test]
fn an_argument_larger_than_the_memory_cap_is_a_memory_error() {
    let program = program(
        "(func $run (result i32) (i32.const 0))",
        &tape_caps::grants(),
    );
    let big = Args::new().push_raw(vec![0; 2 << 20]);
    let limits = Limits {
        max_memory: 1 << 20,
        ..Limits::default()
    };
    let error = program.run_with(&big, &limits).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::MemoryExhausted {
                limit: 0x10_0000,
                ..
            }
        ),
        "{error}"
    );
}

/// Twelve programs, each with its own literal and status, run from four
/// threads at once, each thread cycling through them in its own order.
fn many_programs_on_many_threads(engine: &Engine) {
    let programs: Arc<Vec<Program>> = Arc::new(
        (0..12)
            .map(|i| {
                engine
                    .compile_str(
                        &format!("p{i}.wat"),
                        &format!(
                            r#"(func $run (result i32)
                                 (drop (call $core.result "program {i}"))
                                 (call $core.arg (i32.const 0))
                                 (drop)
                                 (drop (call $core.result))
                                 (i32.const {i}))"#
                        ),
                        &tape_caps::grants(),
                    )
                    .unwrap()
            })
            .collect(),
    );
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let programs = programs.clone();
            std::thread::spawn(move || {
                for k in 0..60 {
                    let i = (t * 7 + k * 5) % programs.len();
                    let arg = format!("thread {t} run {k}");
                    let outcome = programs[i].run(&Args::strings([&arg])).unwrap();
                    assert_eq!(outcome.status, i as i32);
                    assert_eq!(outcome.result::<String>(0).unwrap(), format!("program {i}"));
                    assert_eq!(outcome.result::<String>(1).unwrap(), arg);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn many_programs_on_many_threads_keep_their_results_apart() {
    many_programs_on_many_threads(crate::engine());
}

#[test]
fn many_programs_on_many_threads_keep_their_results_apart_with_pooling() {
    let engine = Engine::new(Config {
        cache_dir: None,
        pooling: Some(Pooling { instances: 8 }),
        ..Config::default()
    })
    .unwrap();
    many_programs_on_many_threads(&engine);
}
