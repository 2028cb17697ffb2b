//! The `ai` capability, against a stub of the OpenAI chat-completions API
//! on loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tape_caps::Ai;
use tape_rt::{Args, ErrorKind, Limits, Outcome, Program, status};

use crate::program;
use tape_testkit::server::{Reply, Request, Server};

/// Calls `ai.chat(arg 0)` COUNT times, handing over each reply; stops at
/// the first failure and returns its status.
const CHAT: &str = r#"
(func $run (result i32)
  (local $prompt i32) (local $reply i32) (local $status i32) (local $i i32)
  (call $core.arg (i32.const 0)) (local.set $status) (local.set $prompt)
  (if (local.get $status) (then (return (local.get $status))))
  (loop $again
    (call $ai.FUNCTION (local.get $prompt))
    (local.set $status) (local.set $reply)
    (if (local.get $status) (then (return (local.get $status))))
    (local.set $status (call $core.result (local.get $reply)))
    (if (local.get $status) (then (return (local.get $status))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $again (i32.lt_u (local.get $i) (i32.const COUNT))))
  (i32.const 0))"#;

const KEY: &str = "sk-test-123";
const MODEL: &str = "test-model";

fn chat_program(ai: Ai, function: &str, count: u32) -> Program {
    let source = CHAT
        .replace("FUNCTION", function)
        .replace("COUNT", &count.to_string());
    program(&source, &tape_caps::grants().grant(ai))
}

fn chat(ai: Ai, prompt: &str, count: u32) -> Outcome {
    chat_program(ai, "chat", count)
        .run(&Args::strings([prompt]))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Why a request is not what the API expects, if it is not.
fn check_request(request: &Request, key: &str) -> Result<Value, String> {
    if (request.method.as_str(), request.path.as_str()) != ("POST", "/v1/chat/completions") {
        return Err(format!("{} {}", request.method, request.path));
    }
    if request.header("authorization") != Some(&format!("Bearer {key}")) {
        return Err(format!(
            "authorization {:?}",
            request.header("authorization")
        ));
    }
    if request.header("content-type") != Some("application/json") {
        return Err("content type".into());
    }
    let body: Value = serde_json::from_slice(&request.body).map_err(|e| e.to_string())?;
    if body["model"] != MODEL {
        return Err(format!("model {}", body["model"]));
    }
    let messages = body["messages"].as_array().ok_or("no messages")?;
    for message in messages {
        let ok = message
            .as_object()
            .is_some_and(|m| m.len() == 2 && m["role"].is_string() && m["content"].is_string());
        if !ok {
            return Err(format!("message {message}"));
        }
    }
    if !body["max_completion_tokens"].is_u64() {
        return Err("no max_completion_tokens".into());
    }
    Ok(body)
}

fn completion(text: &str, total_tokens: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": text },
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": total_tokens / 2,
            "completion_tokens": total_tokens - total_tokens / 2,
            "total_tokens": total_tokens,
        },
    }))
    .unwrap()
}

/// A stub that checks each request and answers with the last message's
/// content reversed, costing `tokens`.
fn stub(tokens: u64) -> Server {
    Server::start(move |request| match check_request(request, KEY) {
        Ok(body) => {
            let last = body["messages"].as_array().unwrap().last().unwrap();
            let text: String = last["content"].as_str().unwrap().chars().rev().collect();
            Reply::ok(completion(&text, tokens)).with_header("Content-Type", "application/json")
        }
        Err(why) => Reply::status(400, why),
    })
}

fn ai(server: &Server) -> Ai {
    Ai::new(server.url("/v1"), MODEL).api_key(KEY)
}

fn sent(server: &Server, index: usize) -> Value {
    serde_json::from_slice(&server.requests()[index].body).unwrap()
}

#[test]
fn chat_sends_the_prompt_and_returns_the_reply_text() {
    let server = stub(30);
    let outcome = chat(ai(&server), "hello, model", 1);
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    assert_eq!(outcome.result::<&str>(0).unwrap(), "ledom ,olleh");
    let body = sent(&server, 0);
    assert_eq!(
        body["messages"],
        json!([{ "role": "user", "content": "hello, model" }])
    );
    assert_eq!(body["max_completion_tokens"], 4096);
    let (name, usage) = &outcome.usage.capabilities[0];
    assert_eq!(name, "ai");
    assert_eq!((usage.calls, usage.tokens, usage.bytes_in), (1, 30, 12));
    assert_eq!(usage.bytes_out, 4 + 12);
}

#[test]
fn the_key_is_read_from_the_named_environment_variable() {
    // `PATH` is set wherever tests run; setting a variable of our own
    // would race with other tests' threads.
    let path = std::env::var("PATH").expect("PATH is set");
    let server = Server::start(move |request| match check_request(request, &path) {
        Ok(_) => Reply::ok(completion("ok", 1)),
        Err(why) => Reply::status(401, why),
    });
    let outcome = chat(
        Ai::new(server.url("/v1/"), MODEL).api_key_env("PATH"),
        "hi",
        1,
    );
    assert_eq!(outcome.result::<&str>(0).unwrap(), "ok");
}

#[test]
fn a_missing_key_variable_fails_the_link_and_names_it() {
    let ai = Ai::new("http://127.0.0.1:9/v1", MODEL).api_key_env("TAPE_TEST_UNSET_API_KEY");
    let error = crate::engine()
        .compile_str(
            "t.wat",
            &CHAT.replace("FUNCTION", "chat").replace("COUNT", "1"),
            &tape_caps::grants().grant(ai),
        )
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("`TAPE_TEST_UNSET_API_KEY` is not set"),
        "{message}"
    );
}

#[test]
fn conversations_carry_the_system_prompt_and_every_message() {
    let server = stub(10);
    let ai = ai(&server).system("Answer briefly.");
    let messages = r#"[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"},{"role":"user","content":"and 3+3?"}]"#;
    let outcome = chat_program(ai, "chat_messages", 1)
        .run(&Args::strings([messages]))
        .unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), "?3+3 dna");
    let body = sent(&server, 0);
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(body["messages"][0]["content"], "Answer briefly.");
}

#[test]
fn malformed_conversations_are_refused_without_a_request() {
    let server = stub(10);
    let program = chat_program(ai(&server), "chat_messages", 1);
    for bad in [
        "not json",
        "{}",
        "[]",
        r#"[{"role":"user"}]"#,
        r#"[{"role":"tool","content":"x"}]"#,
    ] {
        let outcome = program.run(&Args::strings([bad])).unwrap();
        assert_eq!(outcome.status, status::INVALID_ARGUMENT, "{bad}");
    }
    let outcome = program_with_bytes(ai(&server), b"\xff\xfe");
    assert_eq!(outcome.status, status::INVALID_ARGUMENT);
    assert!(server.requests().is_empty());
}

/// `ai.chat` on a prompt of raw bytes.
fn program_with_bytes(ai: Ai, prompt: &[u8]) -> Outcome {
    let mut wire = (prompt.len() as u32).to_le_bytes().to_vec();
    wire.extend_from_slice(prompt);
    chat_program(ai, "chat", 1)
        .run(&Args::new().push_raw(wire))
        .unwrap()
}

#[test]
fn the_token_budget_refuses_calls_once_spent() {
    let server = stub(30);
    let outcome = chat(ai(&server).max_tokens(50), "count", 3);
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert_eq!(
        outcome.results.len(),
        2,
        "the call crossing the budget gets its reply"
    );
    assert_eq!(server.requests().len(), 2, "the third call sends nothing");
    assert_eq!(
        sent(&server, 1)["max_completion_tokens"],
        20,
        "capped by what is left"
    );
    let usage = outcome.usage.capabilities[0].1;
    assert_eq!((usage.calls, usage.tokens), (3, 60));

    // The budget is per run.
    let outcome = chat(ai(&server).max_tokens(50), "count", 1);
    assert_eq!(outcome.status, status::OK);
}

#[test]
fn a_response_without_usage_is_still_counted() {
    let server = Server::start(|_| {
        Reply::ok(r#"{"choices":[{"message":{"role":"assistant","content":"twelve bytes"}}]}"#)
    });
    let outcome = chat(ai(&server), "hi", 1);
    assert_eq!(outcome.result::<&str>(0).unwrap(), "twelve bytes");
    assert!(outcome.usage.capabilities[0].1.tokens > 0);
}

#[test]
fn the_prompt_byte_budget_holds_across_calls() {
    let server = stub(1);
    let outcome = chat(ai(&server).max_prompt_bytes(10), "12345", 3);
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert_eq!(outcome.results.len(), 2);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn the_reply_byte_budget_refuses_a_larger_response() {
    let server = stub(1);
    let size = completion("olleh", 1).len();
    let outcome = chat(ai(&server).max_reply_bytes(size * 2 + 10), "hello", 3);
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert_eq!(outcome.results.len(), 2);
    assert_eq!(
        server.requests().len(),
        3,
        "the third response was over what was left"
    );
    let outcome = chat(ai(&server).max_reply_bytes(size * 2), "hello", 3);
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert_eq!(outcome.results.len(), 2);
    assert_eq!(
        server.requests().len(),
        5,
        "nothing left, so no third request"
    );
    let outcome = chat(ai(&server).max_reply_bytes(size - 1), "hello", 1);
    assert_eq!(outcome.status, status::TOO_LARGE);
}

#[test]
fn server_errors_and_malformed_answers_are_io_failures() {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let server = Server::start(move |request| {
        counter.fetch_add(1, Ordering::SeqCst);
        let body = String::from_utf8_lossy(&request.body);
        if body.contains("five hundred") {
            Reply::status(500, r#"{"error":{"message":"overloaded"}}"#)
        } else if body.contains("not json") {
            Reply::ok("<html>surprise</html>")
        } else if body.contains("no choices") {
            Reply::ok(r#"{"choices":[],"usage":{"total_tokens":3}}"#)
        } else {
            Reply::redirect(302, "/elsewhere")
        }
    });
    for prompt in ["five hundred", "not json", "no choices", "redirect"] {
        let outcome = chat(ai(&server), prompt, 1);
        assert_eq!(outcome.status, status::IO_FAILURE, "{prompt}");
        // Each says why, at the call.
        let reason = outcome.reasons.last().expect("a reason");
        assert_eq!(
            (reason.call, reason.status),
            ("ai.chat", status::IO_FAILURE)
        );
        assert!(!reason.message.is_empty());
        assert!(reason.location().is_some(), "{reason:?}");
        if prompt == "five hundred" {
            assert!(reason.message.contains("500"), "{}", reason.message);
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[test]
fn a_completion_never_outlives_the_run() {
    let server = Server::start(|_| Reply::Stall(Duration::from_secs(5)));
    let program = chat_program(ai(&server), "chat", 1);
    let limits = Limits {
        timeout: Some(Duration::from_millis(300)),
        ..Limits::default()
    };
    let start = Instant::now();
    match program
        .run_with(&Args::strings(["hi"]), &limits)
        .map_err(tape_rt::Error::into_kind)
    {
        Ok(outcome) => assert_eq!(outcome.status, status::TIMED_OUT),
        Err(ErrorKind::Timeout { .. }) => {}
        Err(other) => panic!("{other}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    let start = Instant::now();
    let outcome = chat(ai(&server).timeout(Duration::from_millis(200)), "hi", 1);
    assert_eq!(outcome.status, status::TIMED_OUT);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn an_endpoint_named_by_a_private_host_name_needs_allow_private() {
    let server = stub(1);
    let base = format!("http://localhost:{}/v1", server.port());
    let outcome = chat(Ai::new(&base, MODEL).api_key(KEY), "hi", 1);
    assert_eq!(outcome.status, status::ACCESS_DENIED);
    assert!(server.requests().is_empty());
    let outcome = chat(
        Ai::new(&base, MODEL).api_key(KEY).allow_private(true),
        "hi",
        1,
    );
    assert_eq!(outcome.result::<&str>(0).unwrap(), "ih");
}

#[test]
fn the_documented_example_runs() {
    let server = stub(5);
    let examples = crate::http::documented_examples("ai");
    assert_eq!(examples.len(), 1);
    let program = program(&examples[0], &tape_caps::grants().grant(ai(&server)));
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(
        outcome.result::<&str>(0).unwrap(),
        ".ylno stigid ,eno rehtonA"
    );
    assert_eq!(sent(&server, 0)["messages"].as_array().unwrap().len(), 3);
}
