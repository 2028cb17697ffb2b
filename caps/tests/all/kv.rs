//! The `kv` capability: persistence, namespaces, caps, and the one
//! transaction per run.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tape_caps::Kv;
use tape_rt::wasmtime::{self, Caller, Linker};
use tape_rt::{Args, Capability, ErrorKind, Function, Limits, Program, Spec, State, status};

use crate::wat_prelude::{emitted, guest};

/// One program per operation, each taking its operands as string
/// arguments.
pub(crate) struct Ops {
    pub(crate) get: Program,
    set: Program,
    delete: Program,
    list: Program,
}

impl Ops {
    pub(crate) fn new(kv: Kv) -> Ops {
        let grants = tape_caps::grants().grant(kv);
        Ops {
            get: guest(
                r#"(func $run (result i32)
                     (local $reply i32) (local $status i32)
                     (call $kv.get (call $arg (i32.const 0)))
                     (local.set $status) (local.set $reply)
                     (if (local.get $status) (then (return (local.get $status))))
                     (call $out (local.get $reply))
                     (i32.const 0))"#,
                &grants,
            ),
            set: guest(
                r#"(func $run (result i32)
                     (call $kv.set (call $arg (i32.const 0)) (call $arg (i32.const 1))))"#,
                &grants,
            ),
            delete: guest(
                r#"(func $run (result i32)
                     (call $kv.delete (call $arg (i32.const 0))))"#,
                &grants,
            ),
            // The reply is handed over even with TOO_LARGE: it holds the
            // first keys.
            list: guest(
                r#"(func $run (result i32)
                     (local $reply i32) (local $status i32)
                     (call $kv.list (call $arg (i32.const 0)))
                     (local.set $status) (local.set $reply)
                     (if (local.get $reply) (then (call $out (local.get $reply))))
                     (local.get $status))"#,
                &grants,
            ),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Result<String, i32> {
        let outcome = self.get.run(&Args::strings([key])).unwrap();
        match outcome.status {
            0 => Ok(outcome.result::<String>(0).unwrap()),
            status => Err(status),
        }
    }

    pub(crate) fn set(&self, key: &str, value: &str) -> i32 {
        self.set.run(&Args::strings([key, value])).unwrap().status
    }

    fn delete(&self, key: &str) -> i32 {
        self.delete.run(&Args::strings([key])).unwrap().status
    }

    pub(crate) fn list(&self, prefix: &str) -> (Vec<String>, i32) {
        let outcome = self.list.run(&Args::strings([prefix])).unwrap();
        let keys = match outcome.results.len() {
            0 => Vec::new(),
            _ => outcome.result::<Vec<String>>(0).unwrap(),
        };
        (keys, outcome.status)
    }
}

fn in_memory() -> Kv {
    Kv::in_memory().unwrap()
}

#[test]
fn values_persist_across_runs_and_across_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    {
        let ops = Ops::new(Kv::open(&path).unwrap().namespace("app"));
        assert_eq!(ops.get("greeting"), Err(status::NOT_FOUND));
        assert_eq!(ops.set("greeting", "hello"), status::OK);
        assert_eq!(ops.set("name", "Ada"), status::OK);
        assert_eq!(ops.get("greeting").as_deref(), Ok("hello"));
        assert_eq!(ops.set("greeting", "héllo again"), status::OK);
    }
    // Every program, and so the database, was dropped: open the file anew.
    let ops = Ops::new(Kv::open(&path).unwrap().namespace("app"));
    assert_eq!(ops.get("greeting").as_deref(), Ok("héllo again"));
    assert_eq!(ops.list(""), (vec!["greeting".into(), "name".into()], 0));
    assert_eq!(ops.delete("name"), status::OK);
    assert_eq!(ops.delete("name"), status::OK, "deleting is idempotent");
    assert_eq!(ops.get("name"), Err(status::NOT_FOUND));
}

#[test]
fn a_database_file_is_open_once_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let _open = Kv::open(&path).unwrap();
    let error = Kv::open(&path).unwrap_err();
    assert!(error.to_string().contains("state.redb"), "{error}");
    let error = Kv::open(dir.path().join("missing/state.redb")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot open the key-value store"),
        "{error}"
    );
}

#[test]
fn the_run_counter_from_the_docs_counts_runs() {
    crate::kv_ops::on_every_backend(|_, kv, _| {
        let counter = guest(
            r#"(func $run (result i32)
                 (local $value i32) (local $status i32) (local $n i32)
                 (call $kv.get "runs")
                 (local.set $status)
                 (local.set $value)
                 (if (i32.eqz (local.get $status))
                   (then (local.set $n (i32.load offset=4 (local.get $value)))))
                 (local.set $value (call $core.alloc (i32.const 8)))
                 (i32.store (local.get $value) (i32.const 4))
                 (i32.store offset=4 (local.get $value) (i32.add (local.get $n) (i32.const 1)))
                 (call $kv.set "runs" (local.get $value)))"#,
            &tape_caps::grants().grant(kv.clone()),
        );
        for _ in 0..3 {
            assert_eq!(counter.run(&Args::new()).unwrap().status, 0);
        }
        let ops = Ops::new(kv);
        assert_eq!(ops.get("runs").unwrap().as_bytes(), 3u32.to_le_bytes());
    });
}

#[test]
fn namespaces_are_isolated() {
    crate::kv_ops::on_every_backend(|_, kv, _| {
        let a = Ops::new(kv.clone().namespace("a"));
        let b = Ops::new(kv.clone().namespace("b"));
        let default = Ops::new(kv);
        assert_eq!(a.set("x", "from a"), 0);
        assert_eq!(b.get("x"), Err(status::NOT_FOUND));
        assert_eq!(default.get("x"), Err(status::NOT_FOUND));
        assert_eq!(b.list(""), (vec![], 0));
        assert_eq!(b.set("x", "from b"), 0);
        assert_eq!(b.delete("x"), 0);
        assert_eq!(a.get("x").as_deref(), Ok("from a"));
        assert_eq!(a.list(""), (vec!["x".into()], 0));
    });
}

#[test]
fn a_run_sees_its_own_writes_merged_with_the_store() {
    crate::kv_ops::on_every_backend(|_, kv, _| {
        let ops = Ops::new(kv.clone());
        for key in ["k0", "k3", "k5", "other"] {
            assert_eq!(ops.set(key, "stored"), 0);
        }
        let program = guest(
            r#"(func $run (result i32)
                 (call $must (call $kv.set "k1" "new"))
                 (call $must (call $kv.set "k3" "changed"))
                 (call $must (call $kv.delete "k0"))
                 (call $must (call $kv.set "k9" "gone"))
                 (call $must (call $kv.delete "k9"))
                 (call $out (call $ok (call $kv.list "k")))
                 (call $out (call $ok (call $kv.get "k1")))
                 (call $out (call $ok (call $kv.get "k3")))
                 (call $emit (call $st (call $kv.get "k0")))
                 (call $emit (call $st (call $kv.get "k9")))
                 (i32.const 0))"#,
            &tape_caps::grants().grant(kv),
        );
        let outcome = program.run(&Args::new()).unwrap();
        assert_eq!(outcome.result::<Vec<&str>>(0).unwrap(), ["k1", "k3", "k5"]);
        assert_eq!(outcome.result::<&str>(1).unwrap(), "new");
        assert_eq!(outcome.result::<&str>(2).unwrap(), "changed");
        assert_eq!(
            outcome.result::<(i32,)>(3).unwrap().0,
            status::NOT_FOUND,
            "a deleted key"
        );
        assert_eq!(outcome.result::<(i32,)>(4).unwrap().0, status::NOT_FOUND);
        // Committed as the run saw it.
        assert_eq!(
            ops.list(""),
            (
                vec!["k1".into(), "k3".into(), "k5".into(), "other".into()],
                0
            )
        );
        assert_eq!(ops.get("k3").as_deref(), Ok("changed"));

        let (name, usage) = &outcome.usage.capabilities[0];
        assert_eq!(name, "kv");
        assert_eq!(usage.calls, 10);
        // Keys and values in; the list's strings and two values out.
        assert_eq!(
            usage.bytes_in,
            2 + 3 + 2 + 7 + 2 + 2 + 4 + 2 + 1 + 2 + 2 + 2 + 2
        );
        assert_eq!(usage.bytes_out, 3 * 6 + 3 + 7);
    });
}

#[test]
fn a_run_that_sets_then_deletes_a_key_leaves_nothing_and_uses_no_key_slot() {
    crate::kv_ops::on_every_backend(|_, kv, _| {
        let kv = kv.max_keys(1);
        let program = guest(
            r#"(func $run (result i32)
                 (call $must (call $kv.set "temp" "1"))
                 (call $must (call $kv.delete "temp"))
                 (call $kv.set "kept" "2"))"#,
            &tape_caps::grants().grant(kv.clone()),
        );
        assert_eq!(program.run(&Args::new()).unwrap().status, 0);
        let ops = Ops::new(kv);
        assert_eq!(ops.get("temp"), Err(status::NOT_FOUND));
        assert_eq!(ops.list(""), (vec!["kept".into()], 0));
    });
}

#[test]
fn every_cap_is_enforced_with_too_large() {
    crate::kv_ops::on_every_backend(|_, kv, _| {
        let ops = Ops::new(kv.clone().max_key_bytes(4).max_value_bytes(3).max_keys(2));
        assert_eq!(ops.set("abcd", "123"), 0, "at the caps");
        assert_eq!(ops.set("abcde", "1"), status::TOO_LARGE);
        assert_eq!(ops.get("abcde"), Err(status::TOO_LARGE));
        assert_eq!(ops.delete("abcde"), status::TOO_LARGE);
        assert_eq!(ops.list("abcde").1, status::TOO_LARGE);
        assert_eq!(ops.set("v", "1234"), status::TOO_LARGE);
        assert_eq!(ops.set("b", "1"), 0);
        assert_eq!(ops.set("c", "1"), status::TOO_LARGE, "a third key");
        assert_eq!(ops.set("b", "2"), 0, "replacing is not a new key");
        assert_eq!(ops.delete("b"), 0);
        assert_eq!(ops.set("c", "1"), 0, "a freed slot");
        assert_eq!(ops.get("v"), Err(status::NOT_FOUND));

        // A list reply holds at most `max_list` keys, the first ones.
        let ops = Ops::new(kv.clone().namespace("list").max_list(2));
        for key in ["c", "a", "b"] {
            assert_eq!(ops.set(key, "x"), 0);
        }
        assert_eq!(
            ops.list(""),
            (vec!["a".into(), "b".into()], status::TOO_LARGE)
        );
        assert_eq!(ops.list("c"), (vec!["c".into()], 0));

        // A run buffers at most `max_run_bytes` of keys and values; writing a
        // key again replaces its share.
        let kv = kv.namespace("run").max_run_bytes(10);
        let program = guest(
            r#"(func $run (result i32)
                 (call $emit (call $kv.set "k1" "12345678"))
                 (call $emit (call $kv.set "k1" "12"))
                 (call $emit (call $kv.set "k2" "1234"))
                 (call $emit (call $kv.set "k3" "1"))
                 (i32.const 0))"#,
            &tape_caps::grants().grant(kv.clone()),
        );
        let outcome = program.run(&Args::new()).unwrap();
        assert_eq!(emitted(&outcome), [0, 0, 0, status::TOO_LARGE]);
        assert_eq!(Ops::new(kv).list(""), (vec!["k1".into(), "k2".into()], 0));
    });
}

#[test]
fn malformed_keys_are_invalid_arguments() {
    crate::kv_ops::on_every_backend(|_, kv, _| {
        let program = guest(
            r#"(func $run (result i32)
                 (call $emit (call $kv.set "" "x"))
                 (call $emit (call $kv.set "\ff\fe" "x"))
                 (call $emit (call $st (call $kv.get "")))
                 (call $emit (call $kv.delete "\c3"))
                 (call $emit (call $st (call $kv.list "\ff")))
                 (call $emit (call $st (call $kv.list "")))
                 (i32.const 0))"#,
            &tape_caps::grants().grant(kv),
        );
        let outcome = program.run(&Args::new()).unwrap();
        let invalid = status::INVALID_ARGUMENT;
        assert_eq!(
            emitted(&outcome),
            [invalid, invalid, invalid, invalid, invalid, 0]
        );
    });
}

#[test]
fn a_key_pointer_outside_memory_traps() {
    let program = guest(
        "(func $run (result i32) (call $kv.delete (i32.const 0x7fff_fff0)))",
        &tape_caps::grants().grant(in_memory()),
    );
    let error = program.run(&Args::new()).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::BadPointer { .. }),
        "{error}"
    );
}

#[test]
fn a_failed_run_commits_nothing_and_a_completed_one_commits_whatever_it_returns() {
    crate::kv_ops::on_every_backend(|_, kv, _| {
        let ops = Ops::new(kv.clone());
        let grants = tape_caps::grants().grant(kv);
        let trapped = guest(
            r#"(func $run (result i32)
                 (call $must (call $kv.set "a" "1"))
                 (call $must (call $kv.set "b" "1"))
                 unreachable)"#,
            &grants,
        );
        let error = trapped.run(&Args::new()).unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::Trap { .. }), "{error}");

        let spins = guest(
            r#"(func $run (result i32)
                 (call $must (call $kv.set "a" "1"))
                 (loop $spin (br $spin))
                 (i32.const 0))"#,
            &grants,
        );
        let limits = Limits {
            fuel: Some(1_000_000),
            ..Limits::default()
        };
        let error = spins.run_with(&Args::new(), &limits).unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::OutOfFuel { .. }),
            "{error}"
        );
        let limits = Limits {
            fuel: None,
            timeout: Some(Duration::from_millis(50)),
            ..Limits::default()
        };
        let error = spins.run_with(&Args::new(), &limits).unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::Timeout { .. }), "{error}");
        assert_eq!(ops.list(""), (vec![], 0));

        let fails = guest(
            r#"(func $run (result i32)
                 (call $must (call $kv.set "a" "1"))
                 (i32.const 7))"#,
            &grants,
        );
        assert_eq!(fails.run(&Args::new()).unwrap().status, 7);
        assert_eq!(ops.get("a").as_deref(), Ok("1"));
    });
}

#[test]
fn concurrent_runs_on_one_store_all_commit() {
    let dir = tempfile::tempdir().unwrap();
    let ops = Arc::new(Ops::new(Kv::open(dir.path().join("kv.redb")).unwrap()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let ops = ops.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let key = format!("t{t}-{i:02}");
                    assert_eq!(ops.set(&key, &key), 0);
                    assert_eq!(ops.set("last", &key), 0);
                    assert_eq!(ops.get(&key).as_deref(), Ok(key.as_str()));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let (keys, status) = ops.list("t");
    assert_eq!(status, 0);
    assert_eq!(keys.len(), 40);
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted");
    let last = ops.get("last").unwrap();
    assert!(keys.contains(&last), "one run's write wins whole: {last}");
}

/// `gate.wait()`: tells the test the guest got there, then blocks until
/// the test lets it go on.
#[derive(Clone)]
pub(crate) struct Gate {
    arrived: mpsc::Sender<()>,
    release: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl Gate {
    /// A gate, the guest's arrivals, and the test's go-ahead.
    pub(crate) fn new() -> (Gate, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (arrived, arrivals) = mpsc::channel();
        let (release, released) = mpsc::channel();
        let gate = Gate {
            arrived,
            release: Arc::new(Mutex::new(released)),
        };
        (gate, arrivals, release)
    }
}

impl Capability for Gate {
    fn spec(&self) -> &Spec {
        const SPEC: Spec = Spec::new(
            "gate",
            "lets a test pause a run",
            &[Function::new("wait", "(result i32)")],
        );
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let gate = self.clone();
        linker.func_wrap("gate", "wait", move |_: Caller<'_, State>| -> i32 {
            gate.arrived.send(()).unwrap();
            gate.release.lock().unwrap().recv().unwrap();
            0
        })?;
        Ok(())
    }
}

#[test]
fn the_key_cap_is_checked_again_at_commit_and_a_run_past_it_fails_whole() {
    let kv = in_memory().max_keys(2);
    let ops = Ops::new(kv.clone());
    let (gate, arrivals, release) = Gate::new();
    // It sees one free slot, takes it, and waits while another run takes
    // the same slot.
    let slow = guest(
        r#"(func $run (result i32)
             (call $must (call $kv.set "first" "1"))
             (call $must (call $kv.set "slow" "1"))
             (drop (call $gate.wait))
             (i32.const 0))"#,
        &tape_caps::grants().grant(kv).grant(gate),
    );
    assert_eq!(ops.set("first", "0"), 0);
    let run = std::thread::spawn(move || slow.run(&Args::new()));
    arrivals.recv().unwrap();
    assert_eq!(ops.set("fast", "1"), 0);
    release.send(()).unwrap();
    let error = run.join().unwrap().unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Capability { name, .. } if name == "kv"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("namespace `default` would hold 3 keys, past its cap of 2"),
        "{error}"
    );
    assert_eq!(ops.list(""), (vec!["fast".into(), "first".into()], 0));
    assert_eq!(
        ops.get("first").as_deref(),
        Ok("0"),
        "nothing of it committed"
    );
}

#[test]
fn an_ungranted_kv_is_refused_naming_the_grant() {
    let error = crate::engine()
        .compile_str(
            "test.wat",
            r#"(func $run (result i32) (call $kv.delete "x"))"#,
            &tape_caps::grants(),
        )
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::NotGranted { problems } if problems.len() == 1 && problems[0].module() == "kv"),
        "{error}"
    );
}

/// A database file that processes take turns with: `tape run` uses it, so
/// concurrent runs wait for each other instead of failing with "Database
/// already open". Here the other process is a `Kv::open` holding the
/// file, which excludes `Kv::shared` opens as another process would.
#[test]
fn a_shared_file_waits_for_its_holder_until_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.redb");
    let shared = Kv::shared(&path).unwrap();
    let ops = Ops::new(shared.clone());
    assert_eq!(ops.set("k", "first"), status::OK);
    assert_eq!(ops.get("k").as_deref(), Ok("first"));

    // Held elsewhere: a run gives up at its deadline with TIMED_OUT.
    let holder = Kv::open(&path).unwrap();
    let limits = Limits {
        timeout: Some(Duration::from_millis(300)),
        ..Limits::default()
    };
    let started = std::time::Instant::now();
    let outcome = ops.get.run_with(&Args::strings(["k"]), &limits).unwrap();
    assert_eq!(outcome.status, status::TIMED_OUT);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Let go while a run waits: the run goes on, and sees the holder's
    // writes.
    assert_eq!(Ops::new(holder.clone()).set("k", "second"), status::OK);
    let released = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        drop(holder);
    });
    assert_eq!(ops.get("k").as_deref(), Ok("second"));
    released.join().unwrap();

    // Between runs the file is closed: another holder can open it.
    drop(Kv::open(&path).unwrap());
    assert!(Kv::shared(dir.path().join("no/such/dir/x.redb")).is_err());
}
