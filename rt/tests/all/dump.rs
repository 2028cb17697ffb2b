//! The memory of a stopped run: `Run::dump_on_stop` and `Error::dump`.

use tape_rt::trace::Dump;
use tape_rt::{Args, ErrorKind, Grants, Limits, Run};

use crate::program;

const STOPS: &str = r#"(func $run (result i32)
  (local $p i32)
  (drop (call $core.result "started"))
  (local.set $p (call $core.alloc (i32.const 5)))
  (i32.store8 (local.get $p) (i32.const 0xab))
  (call $spin))
(func $spin (result i32)
  (loop $forever (br $forever))
  (i32.const 0))"#;

/// `STOPS` run out of fuel, its memory kept.
fn stopped() -> (tape_rt::Program, tape_rt::Error) {
    let program = program(STOPS, &Grants::new());
    let error = Run::new(&program)
        .limits(few_fuel())
        .dump_on_stop()
        .run()
        .unwrap_err();
    (program, error)
}

fn few_fuel() -> Limits {
    Limits {
        fuel: Some(10_000),
        ..Limits::default()
    }
}

#[test]
fn a_run_stopped_by_a_limit_leaves_its_memory_with_a_map() {
    let (program, error) = stopped();
    assert!(matches!(error.kind(), ErrorKind::OutOfFuel { .. }));
    let dump = error.dump().expect("a dump");
    assert_eq!(dump.program, program.id());
    assert!(dump.error.contains("ran out of fuel"), "{}", dump.error);
    assert!(dump.stack[0].starts_with("$spin at "), "{:?}", dump.stack);
    assert_eq!(dump.initial_top, program.metadata().initial_top);
    // "started" was written as a result, then 5 bytes allocated: the top
    // moved past both, 8-aligned.
    assert!(dump.top >= u64::from(dump.initial_top) + 8, "{}", dump.top);
    assert_eq!(dump.memory_size, 65536);
    assert!(dump.memory.len() as u64 <= dump.memory_size);
    let literal = &dump.literals[0];
    assert_eq!(&literal.bytes[..], b"started");
    assert_eq!(dump.byte(u64::from(literal.offset) + 4), Some(b's'));
    assert_eq!(dump.byte(dump.memory_size), None);
    assert_eq!(dump.results.len(), 1);
    assert_eq!(&dump.results[0][4..], b"started");
    // The byte the program stored, at the allocation after the result's.
    assert!((u64::from(dump.initial_top)..dump.top).any(|a| dump.byte(a) == Some(0xab)));
    // Through bytes and back.
    assert_eq!(&Dump::from_bytes(&dump.to_bytes()).unwrap(), dump);
}

#[test]
fn only_a_run_that_asks_and_stops_keeps_its_memory() {
    let stops = program(STOPS, &Grants::new());
    let error = Run::new(&stops).limits(few_fuel()).run().unwrap_err();
    assert!(error.dump().is_none());
    let fine = program_ok();
    assert!(Run::new(&fine).dump_on_stop().run().is_ok());
    // A trap is a stop too.
    let trap = program("(func $run (result i32) (unreachable))", &Grants::new());
    let error = Run::new(&trap)
        .args(Args::new())
        .dump_on_stop()
        .run()
        .unwrap_err();
    assert!(error.dump().unwrap().error.contains("unreachable"));
}

fn program_ok() -> tape_rt::Program {
    program("(func $run (result i32) (i32.const 0))", &Grants::new())
}

#[test]
fn damaged_dumps_are_refused_never_a_panic() {
    let (_, error) = stopped();
    let bytes = error.dump().unwrap().to_bytes();
    for cut in 0..bytes.len() {
        assert!(Dump::from_bytes(&bytes[..cut]).is_err());
    }
    assert!(Dump::from_bytes(b"TAPETRC\n\x01\0\0\0").is_err());
}
