//! The run API: results as bytes, usage reports, `invoke`, and the errors a
//! capability raises from guest data.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tape_rt::wasmtime::{self, Caller, Linker, Val};
use tape_rt::{
    Args, Capability, Config, Engine, ErrorKind, ExportType, Function, Grants, Limits, Pooling,
    Run, Signature, Spec, State, ValueType, guest,
};

use tape_testkit::rt::Stub;

use crate::program;

#[test]
fn results_come_out_typed_and_as_raw_payloads() {
    let outcome = crate::run(
        r#"(func $run (result i32)
             (drop (call $core.result "text"))
             (call $core.result "\00\ff"))"#,
    );
    assert_eq!(outcome.result::<&str>(0).unwrap(), "text");
    assert_eq!(outcome.payload(0), Some(&b"text"[..]));
    assert_eq!(outcome.payload(1), Some(&[0, 0xff][..]));
    assert_eq!(outcome.payload(2), None);
    // Four bytes of text cannot hold an eight-byte element.
    assert!(matches!(
        outcome.result::<Vec<u64>>(0).map_err(|e| e.into_kind()),
        Err(ErrorKind::Wire(_))
    ));
    assert!(matches!(
        outcome.result::<&str>(5).map_err(|e| e.into_kind()),
        Err(ErrorKind::Wire(_))
    ));
}

/// `slow.wait(ms)` sleeps, then reports whether the run's deadline is
/// still ahead; `slow.decode(ptr)` decodes a `(u32, String)` the guest
/// wrote.
fn slow() -> Stub {
    Stub::new("slow")
        .function(
            "wait",
            "(param $ms i32) (result i32)",
            |caller, params, results| {
                std::thread::sleep(Duration::from_millis(params[0].unwrap_i32() as u64));
                let ahead = caller.data().deadline().is_some_and(|d| d > Instant::now());
                results[0] = Val::I32(i32::from(ahead));
                Ok(())
            },
        )
        .function(
            "decode",
            "(param $ptr i32) (result i32)",
            |caller, params, results| {
                #[derive(Deserialize)]
                struct Pair(u32, String);
                let Pair(n, text) = guest::read(&*caller, params[0].unwrap_i32() as u32)?;
                results[0] = Val::I32(n as i32 + text.len() as i32);
                Ok(())
            },
        )
}

#[test]
fn timed_runs_count_capability_time_and_the_deadline_is_visible_to_calls() {
    let grants = Grants::new().grant(slow());
    let waits = program(
        r#"(func $run (result i32)
             (drop (call $core.alloc (i32.const 8)))
             (drop (call $slow.wait (i32.const 30)))
             (call $slow.wait (i32.const 20)))"#,
        &grants,
    );
    // Calls are timed when asked for, and not otherwise.
    let untimed = waits.run(&Args::new()).unwrap();
    assert_eq!(untimed.usage.host_time, Duration::ZERO);
    assert_eq!(untimed.usage.capabilities[0].1.time, Duration::ZERO);
    assert_eq!(untimed.usage.capabilities[0].1.calls, 2);
    let outcome = Run::new(&waits).time_calls().run().unwrap();
    assert_eq!(outcome.status, 1, "the 10 s deadline is ahead");
    let usage = &outcome.usage;
    assert_eq!(usage.host_calls, 3);
    let (name, slow) = &usage.capabilities[0];
    assert_eq!((name.as_str(), slow.calls), ("slow", 2));
    assert!(slow.time >= Duration::from_millis(50), "{:?}", slow.time);
    assert_eq!(usage.host_time, slow.time);
    assert!(usage.time >= usage.host_time);

    // Without a timeout there is no deadline.
    let outcome = program(
        "(func $run (result i32) (call $slow.wait (i32.const 0)))",
        &grants,
    )
    .run_with(
        &Args::new(),
        &Limits {
            timeout: None,
            ..Limits::default()
        },
    )
    .unwrap();
    assert_eq!(outcome.status, 0);

    // `core` calls are never timed.
    let program = program(
        r#"(func $run (result i32) (call $core.result "x"))"#,
        &Grants::new(),
    );
    let outcome = Run::new(&program).time_calls().run().unwrap();
    assert_eq!(outcome.usage.host_calls, 1);
    assert_eq!(outcome.usage.host_time, Duration::ZERO);
}

#[test]
fn bad_wire_data_from_the_guest_is_a_wire_error() {
    let grants = Grants::new().grant(slow());
    // A `(u32, String)` whose string is cut short.
    let source = r#"(module (memory 1)
        (data (i32.const 64) "\0a\00\00\00" "\07\00\00\00" "\09\00\00\00" "ab")
        (func $run (result i32) (call $slow.decode (i32.const 64))))"#;
    let error = crate::run_err(source, &grants);
    assert!(matches!(error.kind(), ErrorKind::Wire(_)), "{error}");
    assert!(error.to_string().starts_with("bad wire data: "), "{error}");
}

const LIBRARY: &str = r#"(module
    (func $add (export "add") (param $a i32) (param $b i64) (result i64)
      (i64.add (i64.extend_i32_s (local.get $a)) (local.get $b)))
    (func $half (export "half") (param f64) (result f64 f32)
      (f64.div (local.get 0) (f64.const 2)) (f32.const 1.5))
    (func $spin (export "spin") (loop $l (br $l)))
    (func $trap (export "trap") (result i32) unreachable)
    (func $alloc (export "alloc_twice") (result i32)
      (drop (call $core.alloc (i32.const 1)))
      (call $core.alloc (i32.const 1))))"#;

#[test]
fn invoke_calls_any_export_with_numbers() {
    let program = program(LIBRARY, &Grants::new());
    let limits = Limits::default();
    let (results, usage) = program
        .invoke("add", &[Val::I32(-5), Val::I64(1 << 40)], &limits)
        .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].unwrap_i64(), (1 << 40) - 5);
    assert!(usage.fuel > 0);

    let (results, _) = program
        .invoke("half", &[Val::F64(3.0f64.to_bits())], &limits)
        .unwrap();
    assert_eq!(results[0].unwrap_f64(), 1.5);
    assert_eq!(results[1].unwrap_f32(), 1.5);

    // Host calls work and each invocation is a fresh instance.
    for _ in 0..2 {
        let (results, usage) = program.invoke("alloc_twice", &[], &limits).unwrap();
        assert_eq!(usage.host_calls, 2);
        assert_eq!(results[0].unwrap_i32() % 8, 0);
    }
}

/// What `export_type` and `exports` say is what `invoke` checks against.
#[test]
fn export_types_give_every_export_and_each_function_signature() {
    let program = program(LIBRARY, &Grants::new());
    let exports: Vec<(String, String)> = program
        .exports()
        .map(|(name, ty)| {
            let ty = match ty {
                ExportType::Func(signature) => signature.to_string(),
                other => other.kind().to_string(),
            };
            (name.to_string(), ty)
        })
        .collect();
    let expected = [
        ("add", "(func (param i32 i64) (result i64))"),
        ("half", "(func (param f64) (result f64 f32))"),
        ("spin", "(func)"),
        ("trap", "(func (result i32))"),
        ("alloc_twice", "(func (result i32))"),
        ("mem.tape", "memory"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    assert_eq!(exports, expected);

    let Some(ExportType::Func(add)) = program.export_type("add") else {
        panic!("`add` is a function");
    };
    assert_eq!(
        add,
        Signature {
            params: vec![ValueType::I32, ValueType::I64],
            results: vec![ValueType::I64],
        }
    );
    // The signature is what `invoke` accepts: one value of each type.
    let params: Vec<Val> = add
        .params
        .iter()
        .map(|ty| match ty {
            ValueType::I32 => Val::I32(2),
            ValueType::I64 => Val::I64(3),
            other => panic!("{other}"),
        })
        .collect();
    let (results, _) = program.invoke("add", &params, &Limits::default()).unwrap();
    assert_eq!(results.len(), add.results.len());
    assert_eq!(results[0].unwrap_i64(), 5);

    assert_eq!(program.export_type("mem.tape"), Some(ExportType::Memory));
    assert_eq!(program.export_type("nope"), None);
}

#[test]
fn export_types_name_vectors_references_and_other_kinds() {
    let program = program(
        r#"(module (memory 1)
             (table (export "table") 1 funcref)
             (global (export "answer") i32 (i32.const 42))
             (tag (export "oops") (param i32))
             (func (export "vector") (param v128) (result v128) (local.get 0))
             (func (export "refs") (param funcref externref) (result (ref null func))
               (local.get 0)))"#,
        &Grants::new(),
    );
    let kinds: Vec<(&str, &str)> = program.exports().map(|(n, t)| (n, t.kind())).collect();
    assert_eq!(
        kinds,
        [
            ("table", "table"),
            ("answer", "global"),
            ("oops", "tag"),
            ("vector", "func"),
            ("refs", "func"),
            ("mem.tape", "memory"),
        ]
    );
    let Some(ExportType::Func(vector)) = program.export_type("vector") else {
        panic!("`vector` is a function");
    };
    assert_eq!(vector.params, [ValueType::V128]);
    assert!(!vector.params[0].is_number());
    let Some(ExportType::Func(refs)) = program.export_type("refs") else {
        panic!("`refs` is a function");
    };
    assert_eq!(
        refs.to_string(),
        "(func (param (ref null func) (ref null extern)) (result (ref null func)))"
    );
    assert!(refs.params.iter().all(|t| matches!(t, ValueType::Ref(_))));
    assert!(ValueType::F32.is_number() && ValueType::I64.is_number());

    // A vector goes in and comes back out whole.
    let (results, _) = program
        .invoke(
            "vector",
            &[Val::V128(0x0102u128.into())],
            &Limits::default(),
        )
        .unwrap();
    assert_eq!(results[0].unwrap_v128().as_u128(), 0x0102);
}

#[test]
fn invoke_refuses_wrong_parameters_and_keeps_every_limit() {
    let program = program(LIBRARY, &Grants::new());
    let limits = Limits::default();
    let error = program.invoke("add", &[Val::I32(1)], &limits).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Invoke { function, .. } if function == "add"),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "cannot call `add`: it takes 2 parameters (param i32 i64) (result i64), and 1 were given"
    );
    let error = program
        .invoke("add", &[Val::I64(1), Val::I64(2)], &limits)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot call `add`: parameter 0 is i32, and i64 was given"
    );
    let error = program.invoke("nope", &[], &limits).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MissingExport { name, .. } if name == "nope"),
        "{error}"
    );
    let error = program.invoke("mem.tape", &[], &limits).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MissingExport { .. }),
        "{error}"
    );

    let error = program
        .invoke(
            "spin",
            &[],
            &Limits {
                fuel: Some(10_000),
                ..limits.clone()
            },
        )
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { fuel: 10_000, .. }),
        "{error}"
    );
    let error = program
        .invoke(
            "spin",
            &[],
            &Limits {
                fuel: None,
                timeout: Some(Duration::from_millis(50)),
                ..limits.clone()
            },
        )
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Timeout { .. }), "{error}");
    let error = program.invoke("trap", &[], &limits).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Trap { stack, .. } if stack.frames[0].func_name.as_deref() == Some("trap")),
        "{error}"
    );
}

/// `gate.wait()` tells the test it is inside a run, then blocks until the
/// test opens the gate.
struct Gate {
    entered: mpsc::Sender<()>,
    open: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl Capability for Gate {
    fn spec(&self) -> &Spec {
        const SPEC: Spec = Spec::new(
            "gate",
            "blocks until the test opens it",
            &[Function::new("wait", "(result i32)")],
        );
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let (entered, open) = (self.entered.clone(), self.open.clone());
        linker.func_wrap("gate", "wait", move |mut caller: Caller<'_, State>| {
            caller.data_mut().count_call("gate");
            entered.send(()).unwrap();
            let opened = open.lock().unwrap().recv_timeout(Duration::from_secs(10));
            i32::from(opened.is_err())
        })?;
        Ok(())
    }
}

#[test]
fn a_full_pool_refuses_a_run_until_a_slot_frees_up() {
    let engine = Engine::new(Config {
        cache_dir: None,
        pooling: Some(Pooling { instances: 1 }),
        ..Config::default()
    })
    .unwrap();
    let (entered, entered_rx) = mpsc::channel();
    let (open_tx, open) = mpsc::channel();
    let grants = Grants::new().grant(Gate {
        entered,
        open: Arc::new(Mutex::new(open)),
    });
    let blocking = Arc::new(
        engine
            .compile_str(
                "gate.wat",
                "(func $run (result i32) (call $gate.wait))",
                &grants,
            )
            .unwrap(),
    );
    let quick = engine
        .compile_str(
            "quick.wat",
            "(func $run (result i32) (i32.const 5))",
            &grants,
        )
        .unwrap();
    let holder = {
        let blocking = blocking.clone();
        std::thread::spawn(move || blocking.run(&Args::new()).unwrap().status)
    };
    entered_rx.recv().unwrap();
    let error = quick.run(&Args::new()).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::PoolExhausted { instances: 1 }),
        "{error}"
    );
    assert!(
        error.to_string().contains("raise `Pooling::instances`"),
        "{error}"
    );
    open_tx.send(()).unwrap();
    assert_eq!(holder.join().unwrap(), 0, "the gate opened");
    assert_eq!(quick.run(&Args::new()).unwrap().status, 5);
}

/// `who.id()`: the run's `Caller` host data, or `NOT_FOUND`.
struct Who;

#[derive(Debug, Clone, Copy)]
struct CallerId(i32);

impl Capability for Who {
    fn spec(&self) -> &Spec {
        const SPEC: Spec = Spec::new(
            "who",
            "says whom a run is for",
            &[Function::new("id", "(result i32 i32)")],
        );
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        linker.func_wrap("who", "id", |mut caller: Caller<'_, State>| {
            caller.data_mut().count_call("who");
            match caller.data_mut().get::<CallerId>() {
                Some(CallerId(id)) => (*id, 0),
                None => (0, tape_rt::status::NOT_FOUND),
            }
        })?;
        Ok(())
    }
}

/// Host data set on a `Run` reaches the capabilities of that run only;
/// one compiled program serves runs with different data.
#[test]
fn host_data_reaches_one_run_only() {
    let program = program(
        r#"(func $run (result i32)
             (local $id i32) (local $status i32)
             (call $who.id) (local.set $status) (local.set $id)
             (if (local.get $status) (then (return (local.get $status))))
             (local.get $id))"#,
        &Grants::new().grant(Who),
    );
    let run = |id: Option<i32>| {
        let run = Run::new(&program);
        let run = match id {
            Some(id) => run.data(CallerId(id)),
            None => run,
        };
        run.run().unwrap().status
    };
    assert_eq!(run(Some(41)), 41);
    assert_eq!(run(None), tape_rt::status::NOT_FOUND);
    // The last value of a type wins.
    let status = Run::new(&program)
        .data(CallerId(1))
        .data(CallerId(2))
        .run()
        .unwrap()
        .status;
    assert_eq!(status, 2);
    // `invoke` gets the data and the arguments too.
    let (values, _) = Run::new(&program)
        .data(CallerId(7))
        .invoke("run", &[])
        .unwrap();
    assert_eq!(values[0].i32(), Some(7));
}

/// A `Run` without limits gets the engine's, and with limits, its own.
#[test]
fn a_run_takes_its_own_limits() {
    let program = program(
        "(func $run (result i32) (loop (br 0)) (i32.const 0))",
        &Grants::new(),
    );
    let error = Run::new(&program)
        .limits(Limits {
            fuel: Some(5_000),
            ..Limits::default()
        })
        .run()
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { fuel: 5_000, .. }),
        "{error}"
    );
    assert_eq!(program.default_limits(), &crate::engine().config().limits);
}
