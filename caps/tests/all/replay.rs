//! Recording runs against the real capabilities, and replaying them with
//! nothing behind the stand-ins: a loopback server stopped, a store
//! dropped, the clock and the generator gone.

use std::sync::{Arc, Mutex};

use tape_caps::{Http, Json, Kv, Log, Rand, Time};
use tape_rt::trace::{Trace, Value, stand_ins};
use tape_rt::{Args, ErrorKind, Grants, Run, status};
use tape_testkit::server::{Reply, Server};

use crate::wat_prelude::{emitted, guest};

/// Asks the server, keeps the answer, reads it back, draws random bytes
/// (both ways), reads the clock, parses JSON, logs, fails a call on
/// purpose and reads its reason; every value it got from outside becomes
/// a result, and so does a pointer the host chose.
const EVERYTHING: &str = r#"(func $run (result i32)
  (local $body i32) (local $p i32) (local $doc i32)
  (local.set $body (call $ok (call $http.get_body (call $arg (i32.const 0)))))
  (call $out (local.get $body))
  (call $emit (local.get $body))
  (call $must (call $kv.set "page" (local.get $body)))
  (call $out (call $ok (call $kv.get "page")))
  (call $emit (call $st (call $kv.get "missing")))
  (call $out (call $ok (call $core.reason)))
  (call $out (call $ok (call $rand.bytes (i32.const 16))))
  (local.set $p (call $core.alloc (i32.const 12)))
  (i32.store (local.get $p) (i32.const 8))
  (call $must (call $rand.fill (i32.add (local.get $p) (i32.const 4)) (i32.const 8)))
  (call $out (local.get $p))
  (call $emit64 (call $time.now))
  (local.set $doc (call $ok (call $json.parse "{\"n\": [1, 2, 3]}")))
  (call $emit (call $ok (call $json.len (local.get $doc) "/n")))
  (call $out (call $ok (call $json.stringify (local.get $doc))))
  (drop (call $log.write (i32.const 2) "done"))
  (i32.const 0))"#;

fn live(server: &Server, logs: Arc<Mutex<Vec<String>>>) -> Grants {
    tape_caps::grants()
        .grant(Http::new().allow(&server.origin()))
        .grant(Kv::in_memory().unwrap())
        .grant(Rand::os())
        .grant(Time::system())
        .grant(Json::new())
        .grant(Log::new().sink(move |_, message| logs.lock().unwrap().push(message.into())))
}

fn page_server() -> Server {
    Server::start(|request| match request.path.as_str() {
        "/page" => Reply::ok("a page from the server"),
        _ => Reply::status(404, "no"),
    })
}

#[test]
fn a_recorded_run_replays_offline_with_the_same_results_and_fuel() {
    let server = page_server();
    let url = server.url("/page");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let program = guest(EVERYTHING, &live(&server, logs.clone()));
    let (recorded, trace) = Run::new(&program).args(Args::strings([&url])).record();
    let recorded = recorded.unwrap();
    assert_eq!(recorded.status, 0, "{recorded:?}");
    assert_eq!(logs.lock().unwrap().as_slice(), ["done"]);
    let functions: Vec<&str> = trace.calls.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(
        functions,
        [
            "http.get_body",
            "kv.set",
            "kv.get",
            "kv.get",
            "rand.bytes",
            "rand.fill",
            "time.now",
            "json.parse",
            "json.len",
            "json.stringify",
            "log.write"
        ],
        "core's calls are the runtime's own and are not recorded"
    );
    assert_eq!(trace.end.status, Some(0));
    assert_eq!(trace.end.fuel, recorded.usage.fuel);
    drop(server);

    // Through bytes, as a file would keep it.
    let trace = Trace::from_bytes(&trace.to_bytes()).unwrap();
    // Nothing real behind the program now: stand-ins for every capability.
    let offline = guest(EVERYTHING, &stand_ins(&tape_caps::grants()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let observed = seen.clone();
    let replayed = Run::new(&offline)
        .observe(move |call| observed.lock().unwrap().push(call.function.clone()))
        .replay(&trace)
        .unwrap();
    assert_eq!(
        replayed.results, recorded.results,
        "random bytes and time included"
    );
    assert_eq!(replayed.status, recorded.status);
    assert_eq!(replayed.usage.fuel, recorded.usage.fuel);
    assert_eq!(trace.end.compare(&Ok(replayed.clone())), None);
    assert_eq!(seen.lock().unwrap().len(), trace.calls.len());
    // The reason of the failing call came back with it, at its call.
    let reason = replayed.reasons.last().unwrap();
    assert_eq!((reason.call, reason.status), ("kv.get", status::NOT_FOUND));
    assert!(reason.message.contains("missing"), "{}", reason.message);
    assert!(reason.location().is_some());

    // The program linked against the real grants replays too, through
    // stand-ins it makes itself; the server is still gone.
    let again = Run::new(&program).replay(&trace).unwrap();
    assert_eq!(again.results, recorded.results);
}

#[test]
fn a_call_that_differs_stops_the_replay_at_its_line_naming_both_calls() {
    let server = page_server();
    let source = |key: &str| {
        format!(
            r#"(func $run (result i32)
  (local $body i32)
  (local.set $body (call $ok (call $http.get_body (call $arg (i32.const 0)))))
  (call $must (call $kv.set "{key}" (local.get $body)))
  (i32.const 0))"#
        )
    };
    let logs = Arc::new(Mutex::new(Vec::new()));
    let program = guest(&source("page"), &live(&server, logs));
    let (run, trace) = Run::new(&program)
        .args(Args::strings([server.url("/page")]))
        .record();
    run.unwrap();

    let changed = guest(&source("other"), &stand_ins(&tape_caps::grants()));
    assert_ne!(changed.id().sha256, trace.program.sha256);
    let error = Run::new(&changed).replay(&trace).unwrap_err();
    let ErrorKind::Diverged {
        index,
        difference,
        recorded,
        made,
        ..
    } = error.kind()
    else {
        panic!("{error}");
    };
    assert_eq!(*index, 1);
    assert_eq!(
        difference,
        "the program sent `kv.set` another `$key` than the recording has"
    );
    assert_eq!(
        recorded.as_deref(),
        Some(r#"kv.set("page", "a page from the server")"#)
    );
    assert_eq!(made, r#"kv.set("other", "a page from the server")"#);
    // Where the call is: on the 4th line of the body (the prelude's lines
    // come first, and are the same in every program below).
    let line_of = |error: &tape_rt::Error| error.stack().frames[0].source.as_ref().unwrap().line;
    let set_line = line_of(&error);
    assert!(
        error.to_string().contains(&format!(":{set_line}:")),
        "{error}"
    );

    // A program that stops calling early leaves recorded calls unmade.
    let short = guest(
        r#"(func $run (result i32)
  (drop (call $ok (call $http.get_body (call $arg (i32.const 0)))))
  (i32.const 0))"#,
        &stand_ins(&tape_caps::grants()),
    );
    let error = Run::new(&short).replay(&trace).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the program returned, and the recording has 1 more call"),
        "{error}"
    );

    // Another function where the recording has one.
    let other = guest(
        r#"(func $run (result i32)
  (drop (call $st (call $kv.get "page")))
  (i32.const 0))"#,
        &stand_ins(&tape_caps::grants()),
    );
    let error = Run::new(&other).replay(&trace).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the program called `kv.get`, and the recording has `http.get_body`"),
        "{error}"
    );
    assert_eq!(set_line - line_of(&error), 4 - 2);
}

#[test]
fn credentials_a_program_sends_never_reach_the_trace_and_the_replay_still_matches() {
    // The server checks the secret arrived, and does not echo it.
    let server = Server::start(|request| {
        let right = request.header("authorization") == Some("Bearer sk-very-secret");
        Reply::status(if right { 200 } else { 401 }, "")
    });
    let source = r#"(func $run (result i32)
  (local $reply i32)
  ;; Refused (a URL with a password), and recorded all the same.
  (call $emit (call $st (call $http.get_body "http://ada:hunter2@127.0.0.1:9/")))
  (local.set $reply (call $ok (call $http.get (call $arg (i32.const 0))
    "Accept: text/plain\nAuthorization: Bearer sk-very-secret\nX-Api-Key: also-secret")))
  (call $emit (i32.load offset=4 (local.get $reply)))
  (i32.const 0))"#;
    let logs = Arc::new(Mutex::new(Vec::new()));
    let program = guest(source, &live(&server, logs));
    let url = server.url("/x");
    let (run, trace) = Run::new(&program).args(Args::strings([&url])).record();
    assert_eq!(run.unwrap().status, 0);
    let bytes = trace.to_bytes();
    for secret in ["sk-very-secret", "also-secret", "hunter2"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "`{secret}` is in the trace"
        );
    }
    assert_eq!(
        trace.calls[0].params[0].bytes().unwrap(),
        b"http://ada:[redacted]@127.0.0.1:9/"
    );
    let headers = trace.calls[1].params[1].bytes().unwrap();
    assert_eq!(
        String::from_utf8_lossy(headers),
        "Accept: text/plain\nAuthorization: [redacted]\nX-Api-Key: [redacted]"
    );
    // A replay compares what the program sends, redacted the same way.
    drop(server);
    let offline = guest(source, &stand_ins(&tape_caps::grants()));
    let replayed = Run::new(&offline).replay(&trace).unwrap();
    assert_eq!(emitted(&replayed), [status::ACCESS_DENIED, 200]);
    assert_eq!(trace.end.compare(&Ok(replayed)), None);
}

#[test]
fn a_recording_past_its_bound_stops_the_run_and_says_so() {
    let source = r#"(func $run (result i32)
  (local $i i32)
  (loop $again
    (drop (call $ok (call $rand.bytes (i32.const 1000))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $again (i32.lt_u (local.get $i) (i32.const 100))))
  (i32.const 0))"#;
    let program = guest(source, &tape_caps::grants().grant(Rand::seeded(1)));
    let (run, trace) = Run::new(&program).record_max(10_000).record();
    let error = run.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the recording passed its bound of 10000 bytes at call 10"),
        "{error}"
    );
    assert_eq!(trace.calls.len(), 9);
    assert!(trace.end.error.is_some());
    assert!(trace.calls_bytes() <= 10_000);
}

#[test]
fn a_run_that_traps_is_recorded_and_replays_to_the_same_trap() {
    let source = r#"(func $run (result i32)
  (drop (call $ok (call $rand.bytes (i32.const 4))))
  (call $emit (i32.const 7))
  unreachable)"#;
    let program = guest(source, &tape_caps::grants().grant(Rand::os()));
    let (run, trace) = Run::new(&program).record();
    let error = run.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Trap { .. }));
    assert_eq!(trace.end.status, None);
    assert_eq!(trace.end.results.len(), 1);
    let offline = guest(source, &stand_ins(&tape_caps::grants()));
    let replayed = Run::new(&offline).replay(&trace);
    assert!(matches!(
        replayed.as_ref().unwrap_err().kind(),
        ErrorKind::Trap { .. }
    ));
    assert_eq!(trace.end.compare(&replayed), None);
}

#[test]
fn a_stand_in_outside_a_replay_stops_the_run_saying_why() {
    let program = guest(
        "(func $run (result i32) (drop (call $time.now)) (i32.const 0))",
        &stand_ins(&tape_caps::grants()),
    );
    let error = program.run(&Args::new()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is a stand-in that answers only from a trace"),
        "{error}"
    );
}

#[test]
fn damaged_traces_are_refused_with_what_is_wrong_never_a_panic() {
    let program = guest(
        "(func $run (result i32) (call $emit64 (call $time.now)) (i32.const 0))",
        &tape_caps::grants().grant(Time::system()),
    );
    let (_, trace) = Run::new(&program).record();
    let bytes = trace.to_bytes();
    assert_eq!(Trace::from_bytes(&bytes).unwrap(), trace);
    for cut in 0..bytes.len() {
        let error = Trace::from_bytes(&bytes[..cut]).unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::Trace { .. }), "{error}");
    }
    let mut newer = bytes.clone();
    newer[8] = 9;
    assert!(
        Trace::from_bytes(&newer)
            .unwrap_err()
            .to_string()
            .contains("it is a version 9 trace, and this Tape reads version 1")
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Trace::from_bytes(&longer).is_err(), "trailing bytes");
    assert!(
        Trace::from_bytes(b"\0asm\x01\0\0\0")
            .unwrap_err()
            .to_string()
            .contains("it is not a Tape trace")
    );
    // A number where the program's call returns one is kept as a number.
    assert!(matches!(trace.calls[0].results[..], [Value::I64(_)]));
}
