//! A capability defined by the embedder, and panic containment.

use tape_rt::wasmtime::{self, Caller, Linker};
use tape_rt::{Args, Capability, ErrorKind, Function, Grants, Spec, State, guest};

/// `shout.upper(msg) -> (ptr, status)`: the message in upper case;
/// `shout.panic()`: a host bug.
struct Shout;

impl Capability for Shout {
    fn spec(&self) -> &Spec {
        const SPEC: Spec = Spec::new(
            "shout",
            "upper-cases strings",
            &[
                Function::new("upper", "(param $msg i32) (result i32 i32)"),
                Function::new("panic", "(result i32)"),
            ],
        );
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        linker.func_wrap(
            "shout",
            "upper",
            |mut caller: Caller<'_, State>, msg: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().count_host_call();
                let calls = caller.data_mut().get::<u32>().map_or(0, |n| {
                    *n += 1;
                    *n
                });
                let text = String::from_utf8_lossy(&guest::read_bytes(&caller, msg as u32)?)
                    .to_uppercase()
                    + &"!".repeat(calls as usize);
                let reply = tape_protocol::to_vec(&text)?;
                Ok((guest::write_value(&mut caller, &reply)? as i32, 0))
            },
        )?;
        linker.func_wrap("shout", "panic", |_: Caller<'_, State>| -> i32 {
            panic!("the host has a bug")
        })?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        state.insert(0u32);
    }
}

#[test]
fn a_custom_capability_is_imported_automatically_and_keeps_per_run_state() {
    let grants = Grants::new().grant(Shout);
    let program = crate::program(
        r#"(func $run (result i32)
             (local $ptr i32)
             (call $shout.upper "hey")
             (drop)
             (drop)
             (call $shout.upper "you")
             (drop)
             (call $core.result))"#,
        &grants,
    );
    for _ in 0..2 {
        let outcome = program.run(&Args::new()).unwrap();
        assert_eq!(outcome.result::<&str>(0).unwrap(), "YOU!!");
        assert_eq!(outcome.usage.host_calls, 3);
    }
}

#[test]
fn a_panicking_host_function_ends_only_its_run() {
    let grants = Grants::new().grant(Shout);
    let error = crate::run_err("(func $run (result i32) (call $shout.panic))", &grants);
    assert!(
        matches!(error.kind(), ErrorKind::HostPanic { message } if message == "the host has a bug"),
        "{error}"
    );
    let outcome = crate::program(
        r#"(func $run (result i32) (call $shout.upper "ok") (drop) (call $core.result))"#,
        &grants,
    )
    .run(&Args::new())
    .unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), "OK!");
}

/// `Spec::check` finds what a capability's spec and its registered
/// functions disagree on: a type, a function missing, one extra.
#[test]
fn spec_check_names_every_disagreement() {
    struct Liar;
    impl Capability for Liar {
        fn spec(&self) -> &Spec {
            const SPEC: Spec = Spec::new(
                "liar",
                "says one thing, registers another",
                &[
                    Function::new("typed", "(param $n i32) (result i32)"),
                    Function::new("missing", "(result i32)"),
                ],
            );
            &SPEC
        }

        fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
            linker.func_wrap("liar", "typed", |n: i64| n)?;
            linker.func_wrap("liar", "extra", || 0i32)?;
            Ok(())
        }
    }
    let problems = Spec::check(&Liar).unwrap_err();
    assert!(
        problems.contains("`liar.typed` is declared as `(param i32) (result i32)` but registered as `(param i64) (result i64)`"),
        "{problems}"
    );
    assert!(
        problems.contains("`liar.missing` is declared but not registered"),
        "{problems}"
    );
    assert!(
        problems.contains("`liar.extra` is registered but not in the spec"),
        "{problems}"
    );
    Spec::check(&Shout).unwrap();
}
