//! A panic in host code — a host function, a start function's import, a
//! capability's `begin_run`, its state's `Drop` — ends only its own run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tape_rt::wasmtime::{self, Caller, Linker};
use tape_rt::{Args, Capability, ErrorKind, Function, Grants, Spec, State};

use crate::program;

/// `boom.call(n) -> n`, which panics when `n` is 13; `begin_run` panics
/// when told to; its state panics when dropped, when told to.
#[derive(Clone, Default)]
struct Boom {
    panic_in_begin_run: Arc<AtomicBool>,
    panic_in_drop: Arc<AtomicBool>,
}

struct BoomState {
    panic_in_drop: bool,
}

impl Drop for BoomState {
    fn drop(&mut self) {
        if self.panic_in_drop && !std::thread::panicking() {
            panic!("boom in drop");
        }
    }
}

impl Capability for Boom {
    fn spec(&self) -> &Spec {
        const SPEC: Spec = Spec::new(
            "boom",
            "panics on request",
            &[Function::new("call", "(param $n i32) (result i32)")],
        );
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        linker.func_wrap("boom", "call", |mut caller: Caller<'_, State>, n: i32| {
            caller.data_mut().count_call("boom");
            assert_ne!(n, 13, "boom in a host function");
            n
        })?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        if self.panic_in_begin_run.load(Ordering::Relaxed) {
            panic!("boom in begin_run");
        }
        state.insert(BoomState {
            panic_in_drop: self.panic_in_drop.load(Ordering::Relaxed),
        });
    }
}

const CALLS_BOOM: &str = r#"(func $run (result i32) (call $boom.call (i32.const 7)))"#;

fn assert_host_panic(result: tape_rt::Result<tape_rt::Outcome>, expected: &str) {
    match result.map_err(tape_rt::Error::into_kind) {
        Err(ErrorKind::HostPanic { message }) => assert!(message.contains(expected), "{message}"),
        other => panic!("expected a host panic, got {other:?}"),
    }
}

#[test]
fn a_panic_during_instantiation_is_contained() {
    // The start function runs during instantiation and calls the host.
    let boom = Boom::default();
    let grants = Grants::new().grant(boom);
    let source = r#"(module
        (func $start (drop (call $boom.call (i32.const 13))))
        (start $start)
        (func $run (result i32) (i32.const 0)))"#;
    assert_host_panic(
        program(source, &grants).run(&Args::strings(["an argument"])),
        "boom in a host function",
    );
    assert_eq!(
        program(CALLS_BOOM, &grants)
            .run(&Args::new())
            .unwrap()
            .status,
        7
    );
}

#[test]
fn a_panic_in_begin_run_is_contained() {
    let boom = Boom::default();
    let grants = Grants::new().grant(boom.clone());
    let program = program(CALLS_BOOM, &grants);
    boom.panic_in_begin_run.store(true, Ordering::Relaxed);
    assert_host_panic(program.run(&Args::strings(["x"])), "boom in begin_run");
    boom.panic_in_begin_run.store(false, Ordering::Relaxed);
    assert_eq!(program.run(&Args::new()).unwrap().status, 7);
}

#[test]
fn a_panic_while_dropping_a_runs_state_is_contained() {
    let boom = Boom::default();
    let grants = Grants::new().grant(boom.clone());
    let program = program(CALLS_BOOM, &grants);
    boom.panic_in_drop.store(true, Ordering::Relaxed);
    assert_host_panic(program.run(&Args::new()), "boom in drop");
    boom.panic_in_drop.store(false, Ordering::Relaxed);
    assert_eq!(program.run(&Args::new()).unwrap().status, 7);
}

#[test]
fn panics_on_some_threads_leave_runs_on_the_others_alone() {
    let grants = Grants::new().grant(Boom::default());
    let program = Arc::new(program(
        r#"(func $run (result i32)
             (call $core.arg (i32.const 0))
             (drop)
             (call $boom.call (i32.load (i32.add (i32.const 4)))))"#,
        &grants,
    ));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let program = program.clone();
            std::thread::spawn(move || {
                for k in 0..40 {
                    // Threads 0 and 2 panic on every other run.
                    let n: i32 = if t % 2 == 0 && k % 2 == 0 {
                        13
                    } else {
                        t * 100 + k
                    };
                    let result = program.run(&Args::new().push(&(n,)).unwrap());
                    if n == 13 {
                        assert_host_panic(result, "boom in a host function");
                    } else {
                        assert_eq!(result.unwrap().status, n);
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no panic escapes a run");
    }
}
