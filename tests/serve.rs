//! `tape serve`, run as a process and spoken to over real HTTP on
//! loopback: each test starts the binary on a free port with a temporary
//! directory of programs and tokens.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tape_testkit::serve::ServeProcess;

const ALICE: &str = "alice-token-0123456789abcdef";
const BOB: &str = "bob-token-0123456789abcdef";
/// In the environment of every server, for `--token-env TAPE_TEST_TOKEN`.
const FROM_ENV: &str = "env-token-0123456789abcdef";

/// The programs every server serves.
fn programs(dir: &Path) {
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for file in ["greet/greet.wat", "greet/tape.toml", "echo/echo.wat"] {
        write(file, &std::fs::read_to_string(examples.join(file)).unwrap());
    }
    // A counter in `kv`, in memory: it lives as long as the server.
    write(
        "count/count.wat",
        r#"(func $run (result i32)
             (bind $n (call $kv.incr "runs" (i64.const 1)))
             (resv (call $std.i64.to_str (local.get $n)))
             (i32.const 0))"#,
    );
    write("count/tape.toml", "[kv]\nnamespace = \"count\"\n");
    // Logs, waits `ms` on the run's clock, logs again.
    write(
        "wait/wait.wat",
        r#"(arg $ms i64 "how long to wait, in milliseconds")
           (func $run (result i32)
             (argv $ms)
             (check (call $log.write (i32.const 2) "waiting"))
             (block $done
               (loop $again
                 (br_if $done (i64.ge_s (call $time.monotonic)
                                        (i64.mul (local.get $ms) (i64.const 1000000))))
                 (br $again)))
             (check (call $log.write (i32.const 2) "done"))
             (call $core.result "waited"))"#,
    );
    write("trap.wat", "(func $run (result i32) (unreachable))");
    // Keeps a note in `kv`, or reads it back with no text.
    write(
        "note/note.wat",
        r#"(arg $text str "what to keep; empty to read what was kept")
           (func $run (result i32)
             (argv $text)
             (if (call $std.str.len (local.get $text))
               (then
                 (check (call $kv.set "note" (local.get $text)))
                 (return (call $core.result "kept"))))
             (bind $kept (call $kv.get "note"))
             (call $core.result (local.get $kept)))"#,
    );
    write("note/tape.toml", "[kv]\nnamespace = \"notes\"\n");
}

/// A running `tape serve`, killed when dropped.
struct Server {
    process: ServeProcess,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `tape serve DIR --tokens FILE --listen 127.0.0.1:0 ARGS…`.
    fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        programs(&dir.path().join("programs"));
        let tokens = dir.path().join("tokens.txt");
        std::fs::write(
            &tokens,
            format!("# who may run programs\nalice {ALICE}\nbob {BOB}\n"),
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tape"));
        command
            .arg("serve")
            .arg(dir.path().join("programs"))
            .arg("--tokens")
            .arg(&tokens)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("NO_COLOR", "1")
            .env("TAPE_TEST_TOKEN", FROM_ENV);
        Server {
            process: ServeProcess::start(command),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.process.base)
    }

    /// `POST path` with `body` as `token`'s client.
    fn post(&self, path: &str, token: Option<&str>, body: &str) -> Answer {
        let mut request = agent().post(&self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        Answer::from(request.content_type("application/json").send(body))
    }

    fn run(&self, program: &str, token: &str, body: Value) -> Answer {
        self.post(&format!("/run/{program}"), Some(token), &body.to_string())
    }

    fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut request = agent().get(&self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        Answer::from(request.call())
    }

    /// Waits until `/metrics` has `line`.
    fn wait_for_metric(&self, line: &str) {
        let start = Instant::now();
        loop {
            let metrics = self.get("/metrics", Some(ALICE)).text;
            if metrics.lines().any(|l| l == line) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no `{line}` in:\n{metrics}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// A response: its status, headers we look at, and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    authenticate: Option<String>,
    content_type: Option<String>,
    text: String,
}

impl Answer {
    fn from(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut response = response.expect("the server answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let retry_after = header("retry-after");
        let authenticate = header("www-authenticate");
        let content_type = header("content-type");
        Answer {
            status: response.status().as_u16(),
            retry_after,
            authenticate,
            content_type,
            text: response.body_mut().read_to_string().unwrap(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The text of each result.
    fn results(&self) -> Vec<String> {
        let json = self.json();
        json["results"]
            .as_array()
            .unwrap_or_else(|| panic!("no results: {json}"))
            .iter()
            .map(|r| r["value"].as_str().unwrap().to_string())
            .collect()
    }
}

#[test]
fn a_program_runs_with_json_arguments_and_answers_as_tape_run_json_does() {
    let server = Server::start(&[]);
    let answer = server.run("greet", ALICE, json!({"args": {"name": "Ada", "times": 2}}));
    assert_eq!(answer.status, 200, "{}", answer.text);
    let json = answer.json();
    assert_eq!(answer.results(), ["Hello, Ada!", "Hello, Ada!"]);
    assert_eq!(
        (
            &json["schema"],
            &json["command"],
            &json["ok"],
            &json["exit_code"]
        ),
        (&json!(1), &json!("run"), &json!(true), &json!(0))
    );
    assert_eq!(json["program"], "greet");
    assert_eq!(json["file"], "greet/greet.wat");
    assert_eq!(json["manifest"], "greet/tape.toml");
    assert_eq!(
        (&json["status"], &json["status_name"]),
        (&json!(0), &json!("ok"))
    );
    // The usage, with the manifest's limits.
    assert!(json["report"]["fuel"].as_u64().unwrap() > 0);
    assert_eq!(json["report"]["limits"]["timeout_ms"], 2000);
    assert_eq!(json["logs"], json!([]));

    // In order, as words are read by `tape run`, or as JSON values.
    let answer = server.run("greet", ALICE, json!({"args": ["Bo", "1", true]}));
    assert_eq!(answer.results(), ["HELLO, BO!"]);
    let answer = server.run("greet", ALICE, json!({"args": ["Bo", "i32:2"]}));
    assert_eq!(answer.results(), ["Hello, Bo!", "Hello, Bo!"]);
    // A program that declares nothing takes strings, typed by a prefix.
    let answer = server.run("echo", ALICE, json!({"args": ["a", "b"]}));
    assert_eq!(answer.results(), ["a b"]);
    // No body at all: no arguments.
    let answer = server.post("/run/echo", Some(ALICE), "");
    assert_eq!(answer.results(), [""]);

    // A run that traps still ran: 200, and the answer says how it ended.
    let answer = server.run("trap", ALICE, json!({}));
    assert_eq!(answer.status, 200);
    let json = answer.json();
    assert_eq!(
        (&json["ok"], &json["exit_code"]),
        (&json!(false), &json!(4))
    );
    assert_eq!(json["error"]["kind"], "trap");
    assert_eq!(json["complete"], false);

    // A request may lower a limit, never raise one.
    let answer = server.run(
        "greet",
        ALICE,
        json!({"args": {"name": "A"}, "limits": {"fuel": 10}}),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["error"]["kind"], "out-of-fuel");
    assert!(
        answer.json()["error"]["help"]
            .as_str()
            .unwrap()
            .starts_with("GET /programs gives the most a run of `greet` may have"),
        "{}",
        answer.text
    );
    assert_eq!(answer.json()["report"]["limits"]["fuel"], 10);
    let answer = server.run(
        "greet",
        ALICE,
        json!({"args": {"name": "A"}, "limits": {"timeout_ms": 60000}}),
    );
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json()["error"]["message"],
        "limits.timeout_ms 60000 is over 2000, the most this program may have"
    );

    // What `GET /programs` says of them.
    let listed = server.get("/programs", Some(BOB)).json();
    let names: Vec<&str> = listed["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["count", "echo", "greet", "note", "trap", "wait"]);
    let greet = &listed["programs"][2];
    assert_eq!(greet["arguments_schema"]["required"], json!(["name"]));
    assert_eq!(
        greet["arguments_schema"]["properties"]["times"]["type"],
        "integer"
    );
    assert_eq!(greet["limits"]["fuel"], 100_000_000);
    assert_eq!(
        greet["arguments_schema"]["description"],
        "the arguments of `POST /run/greet`"
    );
    assert_eq!(listed["source"], false);
}

#[test]
fn bad_requests_are_4xx_with_an_error_naming_the_problem() {
    let server = Server::start(&[]);
    let error = |answer: Answer, status: u16| {
        assert_eq!(answer.status, status, "{}", answer.text);
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        let json = answer.json();
        assert_eq!(json["ok"], false);
        json["error"].clone()
    };
    let e = error(
        server.run(
            "greet",
            ALICE,
            json!({"args": {"name": "Ada", "times": "two"}}),
        ),
        400,
    );
    assert_eq!(e["kind"], "usage");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("argument `times` (i32): expected an integer"),
        "{e}"
    );
    let e = error(
        server.run("greet", ALICE, json!({"args": {"times": 2}})),
        400,
    );
    assert!(e["message"].as_str().unwrap().contains("`name`"), "{e}");
    let e = error(
        server.run("greet", ALICE, json!({"args": {"name": "A", "nmae": "B"}})),
        400,
    );
    assert!(e["message"].as_str().unwrap().contains("`nmae`"), "{e}");
    let e = error(
        server.run("greet", ALICE, json!({"args": ["A", "1", "true", "x"]})),
        400,
    );
    assert!(e["message"].as_str().unwrap().contains("4"), "{e}");
    // Nothing in a request names a file on the server.
    let e = error(
        server.run("echo", ALICE, json!({"args": ["@/etc/passwd"]})),
        400,
    );
    assert_eq!(
        e["message"],
        "argument 0 (`@/etc/passwd`) names a file, which a request cannot"
    );
    let e = error(server.run("echo", ALICE, json!({"args": {"a": 1}})), 400);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("declares no arguments"),
        "{e}"
    );
    let e = error(server.run("echo", ALICE, json!({"args": "a"})), 400);
    assert_eq!(
        e["message"],
        "`args` is a string; give an object (by name) or an array (in order)"
    );
    let e = error(server.post("/run/echo", Some(ALICE), "{\"args\": ["), 400);
    assert_eq!(e["kind"], "bad-request");
    assert!(
        e["message"].as_str().unwrap().contains("line 1 column"),
        "{e}"
    );
    let e = error(server.run("echo", ALICE, json!({"arg": []})), 400);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `arg`"),
        "{e}"
    );
    let e = error(server.run("nope", ALICE, json!({})), 404);
    assert_eq!(e["message"], "no program `nope` is served here");
    assert!(
        e["help"]
            .as_str()
            .unwrap()
            .contains("count, echo, greet, note, trap, wait")
    );
    let e = error(server.get("/nowhere", Some(ALICE)), 404);
    assert_eq!(e["message"], "no route `GET /nowhere`");
    // Source is the operator's to allow.
    let e = error(server.post("/run", Some(ALICE), "{\"source\": \"\"}"), 403);
    assert_eq!(e["kind"], "forbidden");
}

#[test]
fn every_request_but_healthz_needs_a_known_token() {
    let server = Server::start(&[]);
    let health = server.get("/healthz", None);
    assert_eq!(
        (health.status, health.json()),
        (200, json!({"status": "ok"}))
    );

    let none = server.run_without_token("greet");
    assert_eq!(none.status, 401);
    assert_eq!(none.authenticate.as_deref(), Some("Bearer realm=\"tape\""));
    assert_eq!(none.json()["error"]["kind"], "unauthorized");
    let wrong = server.run("greet", "not-a-token-anyone-has", json!({}));
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.authenticate.as_deref(),
        Some("Bearer realm=\"tape\", error=\"invalid_token\"")
    );
    assert_eq!(server.get("/metrics", None).status, 401);
    assert_eq!(server.get("/programs", Some("x")).status, 401);
    let basic = Answer::from(
        agent()
            .get(&server.url("/programs"))
            .header("Authorization", "Basic YTpi")
            .call(),
    );
    assert_eq!(basic.status, 401);
    assert_eq!(
        basic.json()["error"]["message"],
        "the Authorization header is not `Bearer TOKEN`"
    );
}

impl Server {
    fn run_without_token(&self, program: &str) -> Answer {
        self.post(&format!("/run/{program}"), None, "{}")
    }
}

#[test]
fn each_client_counts_in_its_own_kv_namespace() {
    let server = Server::start(&["--token-env", "TAPE_TEST_TOKEN"]);
    let count = |token| server.run("count", token, json!({})).results();
    assert_eq!(count(ALICE), ["1"]);
    assert_eq!(count(ALICE), ["2"]);
    assert_eq!(count(BOB), ["1"], "bob's counter is not alice's");
    assert_eq!(count(ALICE), ["3"]);
    assert_eq!(count(BOB), ["2"]);
    // The token of --token-env is the client `default`'s.
    assert_eq!(count(FROM_ENV), ["1"]);
}

#[test]
fn a_stream_sends_logs_as_they_are_written_then_results_then_the_outcome() {
    let server = Server::start(&[]);
    let response = agent()
        .post(&server.url("/run/wait"))
        .header("Authorization", &format!("Bearer {ALICE}"))
        .header("Accept", "text/event-stream")
        .send(json!({"args": {"ms": 700}}).to_string())
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut reader = BufReader::new(response.into_body().into_reader());
    // Each event: its name, its data, and when it arrived.
    let mut events: Vec<(String, Value, Instant)> = Vec::new();
    let (mut name, mut data) = (String::new(), String::new());
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        let text = line.trim_end_matches('\n');
        if let Some(value) = text.strip_prefix("event: ") {
            name = value.to_string();
        } else if let Some(value) = text.strip_prefix("data: ") {
            data = value.to_string();
        } else if text.is_empty() && !name.is_empty() {
            let value = serde_json::from_str(&data).unwrap();
            events.push((std::mem::take(&mut name), value, Instant::now()));
        }
        line.clear();
    }
    let names: Vec<&str> = events.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["log", "log", "result", "outcome"]);
    assert_eq!(events[0].1, json!({"level": "info", "text": "waiting"}));
    assert_eq!(events[1].1, json!({"level": "info", "text": "done"}));
    assert_eq!(events[2].1, json!({"encoding": "utf-8", "value": "waited"}));
    let outcome = &events[3].1;
    assert_eq!(
        (&outcome["ok"], &outcome["program"]),
        (&json!(true), &json!("wait"))
    );
    // The first message came while the program still ran.
    let early = events[3].2.duration_since(events[0].2);
    assert!(early >= Duration::from_millis(400), "{early:?}");

    // Without the header, the same logs are in the answer.
    let answer = server.run("wait", ALICE, json!({"args": {"ms": 1}}));
    assert_eq!(
        answer.json()["logs"],
        json!([{"level": "info", "text": "waiting"}, {"level": "info", "text": "done"}])
    );
}

#[test]
fn a_body_over_max_request_is_413() {
    let server = Server::start(&["--max-request", "1KiB"]);
    let big = json!({"args": ["x".repeat(4096)]}).to_string();
    let answer = server.post("/run/echo", Some(ALICE), &big);
    assert_eq!(answer.status, 413, "{}", answer.text);
    let json = answer.json();
    assert_eq!(json["error"]["kind"], "too-large");
    assert_eq!(
        json["error"]["message"],
        "the request body is over 1.0 KiB, the most this server takes"
    );
    // One under it runs.
    let small = json!({"args": ["x".repeat(900)]}).to_string();
    assert_eq!(server.post("/run/echo", Some(ALICE), &small).status, 200);
}

#[test]
fn past_the_queue_503_and_past_a_clients_share_429_with_retry_after() {
    let server = Server::start(&["--concurrency", "1", "--queue", "0", "--client-limit", "1"]);
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| server.run("wait", ALICE, json!({"args": {"ms": 1500}})));
        server.wait_for_metric("tape_running 1");
        let again = server.run("echo", ALICE, json!({}));
        assert_eq!(again.status, 429, "{}", again.text);
        assert_eq!(again.json()["error"]["kind"], "client-limit");
        assert!(again.retry_after.unwrap().parse::<u64>().unwrap() >= 1);
        let other = server.run("echo", BOB, json!({}));
        assert_eq!(other.status, 503, "{}", other.text);
        assert_eq!(other.json()["error"]["kind"], "overloaded");
        assert!(other.retry_after.unwrap().parse::<u64>().unwrap() >= 1);
        assert_eq!(slow.join().unwrap().results(), ["waited"]);
    });
    // Once the slot is free, both are served.
    assert_eq!(server.run("echo", BOB, json!({})).status, 200);
    assert_eq!(server.run("echo", ALICE, json!({})).status, 200);
}

#[test]
fn a_queued_request_waits_for_the_slot() {
    let server = Server::start(&["--concurrency", "1", "--queue", "1"]);
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| server.run("wait", ALICE, json!({"args": {"ms": 800}})));
        server.wait_for_metric("tape_running 1");
        let queued = scope.spawn(|| server.run("echo", BOB, json!({"args": ["queued"]})));
        server.wait_for_metric("tape_queued 1");
        assert_eq!(server.run("echo", BOB, json!({})).status, 503);
        assert_eq!(queued.join().unwrap().results(), ["queued"]);
        assert_eq!(slow.join().unwrap().results(), ["waited"]);
    });
}

#[test]
#[cfg(unix)]
fn sigterm_lets_the_run_in_progress_finish_then_exits() {
    let mut server = Server::start(&[]);
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| server.run("wait", ALICE, json!({"args": {"ms": 1000}})));
        server.wait_for_metric("tape_running 1");
        let pid = libc::pid_t::try_from(server.process.child.id()).unwrap();
        // SAFETY: sending a signal to our own child process.
        #[allow(unsafe_code)]
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0);
        let answer = slow.join().unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.results(), ["waited"]);
    });
    let status = server.process.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // Everything it said: the thread draining its standard error hands over
    // the last lines after the process has exited, and ends at the pipe's
    // end (taking what had arrived by `wait` missed "stopped" now and then).
    let stderr = server.process.stderr.lock().unwrap();
    let said: Vec<String> =
        std::iter::from_fn(|| stderr.recv_timeout(Duration::from_secs(10)).ok()).collect();
    drop(stderr);
    assert!(
        said.iter().any(|l| l.starts_with("tape serve: stopping")),
        "{said:?}"
    );
    assert_eq!(said.last().map(String::as_str), Some("tape serve: stopped"));
    // Nothing listens any more.
    assert!(agent().get(&server.url("/healthz")).call().is_err());
}

#[test]
fn metrics_count_runs_by_outcome_the_queue_and_latency() {
    let server = Server::start(&[]);
    for _ in 0..3 {
        server.run("greet", ALICE, json!({"args": {"name": "A"}}));
    }
    server.run("trap", BOB, json!({}));
    server.run("greet", "wrong-token-0000000000", json!({}));
    let metrics = server.get("/metrics", Some(ALICE));
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = metrics.text;
    for line in [
        "# TYPE tape_runs counter",
        "tape_runs_total{program=\"greet\",outcome=\"ok\"} 3",
        "tape_runs_total{program=\"trap\",outcome=\"trap\"} 1",
        "tape_rejected_requests_total{reason=\"unauthorized\"} 1",
        "# TYPE tape_run_duration_seconds histogram",
        "tape_run_duration_seconds_count{program=\"greet\"} 3",
        "tape_run_duration_seconds_bucket{le=\"+Inf\",program=\"greet\"} 3",
        "tape_queue_wait_seconds_count 4",
        "tape_running 0",
        "tape_queued 0",
        "# EOF",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }
}

#[test]
fn source_runs_only_with_allow_source_and_is_compiled_once() {
    let server = Server::start(&["--allow-source"]);
    let source = r#"(func $run (result i32) (call $core.result "from source"))"#;
    let first = server.run("", ALICE, json!({}));
    // `POST /run/` names no program.
    assert_eq!(first.status, 404);
    let run = |body: Value| server.post("/run", Some(ALICE), &body.to_string());
    let first = run(json!({"source": source}));
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.results(), ["from source"]);
    let json = first.json();
    assert_eq!(
        (&json["program"], &json["file"]),
        (&json!("source"), &json!("source.wat"))
    );
    assert_eq!(json["source"]["cached"], false);
    let again = run(json!({"source": source})).json();
    assert_eq!(again["source"]["cached"], true);
    assert_eq!(again["source"]["sha256"], json["source"]["sha256"]);
    // Declared arguments work as for a served program.
    let greet = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/greet/greet.wat"),
    )
    .unwrap();
    let answer = run(json!({"source": greet, "args": {"name": "Src"}}));
    assert_eq!(answer.results(), ["Hello, Src!"]);
    // A source that does not compile is the request's fault.
    let broken = run(json!({"source": "(func $run (result i32) (call $log.wirte))"}));
    assert_eq!(broken.status, 422, "{}", broken.text);
    let error = &broken.json()["error"];
    assert_eq!(error["kind"], "compile");
    assert_eq!(error["diagnostics"][0]["file"], "source.wat");
    assert_eq!(error["diagnostics"][0]["line"], 1);
    let missing = run(json!({"args": []}));
    assert_eq!(missing.status, 400);
    assert!(
        missing.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`source` is missing")
    );
    assert_eq!(server.get("/programs", Some(ALICE)).json()["source"], true);
}

#[test]
fn a_directory_with_a_program_that_does_not_compile_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bad")).unwrap();
    std::fs::write(
        dir.path().join("bad/bad.wat"),
        "(func $run (result i32) (i32.const)",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tape"))
        .args(["serve", "--no-auth"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad/bad.wat:1:"), "{stderr}");
    assert!(
        stderr.contains("could not compile `bad/bad.wat`"),
        "{stderr}"
    );

    // No tokens and no --no-auth: refused.
    std::fs::write(
        dir.path().join("bad/bad.wat"),
        "(func $run (result i32) (i32.const 0))",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tape"))
        .arg("serve")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tape serve needs clients' tokens"),
        "{stderr}"
    );

    // A tokens file with a bad line names it.
    let tokens = dir.path().join("tokens.txt");
    std::fs::write(&tokens, "alice\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tape"))
        .arg("serve")
        .arg(dir.path())
        .arg("--tokens")
        .arg(&tokens)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tokens.txt:1: expected `CLIENT TOKEN`"),
        "{stderr}"
    );
}

/// Two servers sharing one Redis, as two machines behind a load balancer
/// are: what a run keeps on one, a run on the other reads; a counter
/// incremented 1,000 times across both, by eight clients at once and
/// among other runs, ends at 1,000, each number handed out once.
#[test]
fn two_servers_sharing_one_redis_count_to_1000_together() {
    let redis = tape_testkit::redis::RedisServer::start();
    let url = redis.url();
    let args = ["--kv", url.as_str(), "--concurrency", "4", "--queue", "64"];
    let (one, two) = (Server::start(&args), Server::start(&args));
    let note = |server: &Server, token, text: &str| {
        server
            .run("note", token, json!({"args": {"text": text}}))
            .json()
    };
    assert_eq!(note(&one, ALICE, "from one")["results"][0]["value"], "kept");
    assert_eq!(note(&two, ALICE, "")["results"][0]["value"], "from one");
    // Bob's keys are his own, on either server.
    assert_eq!(note(&two, BOB, "")["status"], 3);

    let servers = [&one, &two];
    let numbers: Vec<i64> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..8)
            .map(|client| {
                scope.spawn(move || {
                    let mut got = Vec::new();
                    for i in 0..125 {
                        let server = servers[(client + i) % 2];
                        if i % 25 == 0 {
                            let greeting =
                                server.run("greet", BOB, json!({"args": {"name": "Ada"}}));
                            assert_eq!(greeting.status, 200, "{}", greeting.text);
                        }
                        let answer = server.run("count", ALICE, json!({}));
                        assert_eq!(answer.status, 200, "{}", answer.text);
                        got.push(answer.results()[0].parse::<i64>().unwrap());
                    }
                    got
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|client| client.join().unwrap())
            .collect()
    });
    let distinct: std::collections::BTreeSet<i64> = numbers.iter().copied().collect();
    assert_eq!(numbers.len(), 1000);
    assert_eq!(distinct, (1..=1000).collect(), "each number once");
    assert_eq!(two.run("count", ALICE, json!({})).results(), ["1001"]);
}
