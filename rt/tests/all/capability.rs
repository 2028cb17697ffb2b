//! A capability defined by the embedder, and panic containment.

use tape_rt::wasmtime::{self, Caller, Linker};
use tape_rt::{
    Args, Capability, Error, Function, Grants, State, caller_read_bytes, caller_write_raw,
};

/// `shout.upper(msg) -> (ptr, status)`: the message in upper case;
/// `shout.panic()`: a host bug.
struct Shout;

impl Capability for Shout {
    fn name(&self) -> &str {
        "shout"
    }

    fn description(&self) -> &str {
        "upper-cases strings"
    }

    fn functions(&self) -> &[Function] {
        const {
            &[
                Function::new("upper", "(param $msg i32) (result i32 i32)"),
                Function::new("panic", "(result i32)"),
            ]
        }
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
                let text = String::from_utf8_lossy(&caller_read_bytes(&caller, msg as u32)?)
                    .to_uppercase()
                    + &"!".repeat(calls as usize);
                let reply = tape_protocol::to_vec(&text)?;
                Ok((caller_write_raw(&mut caller, &reply)? as i32, 0))
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
        matches!(&error, Error::HostPanic { message } if message == "the host has a bug"),
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

/// `tape doc` and the lints read every built-in function's roles and
/// documentation: each has roles that fit its signature, and a summary.
#[test]
fn every_built_in_function_has_roles_and_a_summary() {
    let catalogue = Grants::new().catalogue();
    let mut count = 0;
    for module in catalogue.modules() {
        assert!(catalogue.description(module).is_some(), "{module}");
        for function in catalogue.functions(module) {
            let entry = catalogue.entry(module, function).unwrap();
            let roles = entry.roles.as_ref();
            assert!(
                roles.is_some_and(|r| r.matches(&entry.signature)),
                "{module}.{function}: roles missing or not fitting {}",
                entry.signature
            );
            assert!(!entry.doc.is_empty(), "{module}.{function} has no doc");
            count += 1;
        }
    }
    assert!(count >= 45, "{count}");
}
