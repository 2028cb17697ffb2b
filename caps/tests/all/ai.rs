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
        // Text, or (from the assistant) tool calls.
        let ok = message["role"].is_string()
            && (message["content"].is_string() || message["tool_calls"].is_array());
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
    assert_eq!(examples.len(), 2);
    let program = program(&examples[0], &tape_caps::grants().grant(ai(&server)));
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(
        outcome.result::<&str>(0).unwrap(),
        ".ylno stigid ,eno rehtonA"
    );
    assert_eq!(sent(&server, 0)["messages"].as_array().unwrap().len(), 3);
}

/// Calls `ai.complete(arg 0)`; hands over the reply when there is one,
/// then `core.reason` when the call failed, and returns the call's status.
const COMPLETE: &str = r#"
(func $run (result i32)
  (local $reply i32) (local $status i32) (local $why i32)
  (argv 0 $request)
  (call $ai.complete (local.get $request))
  (local.set $status) (local.set $reply)
  (if (local.get $reply) (then (resv $reply)))
  (if (local.get $status)
    (then
      (call $core.reason) (drop) (local.set $why)
      (resv $why)))
  (local.get $status))"#;

fn complete(ai: Ai, request: &str) -> Outcome {
    program(COMPLETE, &tape_caps::grants().grant(ai))
        .run(&Args::strings([request]))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Result `index` of `outcome`, parsed as JSON.
fn reply(outcome: &Outcome, index: usize) -> Value {
    let text = outcome.result::<&str>(index).unwrap();
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A server answering every request with the completion `answer`, after
/// checking it as `check_request` does.
fn answering(answer: Value) -> Server {
    let answer = serde_json::to_vec(&answer).unwrap();
    Server::start(move |request| match check_request(request, KEY) {
        Ok(_) => Reply::ok(answer.clone()),
        Err(why) => Reply::status(400, why),
    })
}

/// A completion calling `weather` with `{"city": "Paris"}`.
fn tool_call_completion() -> Value {
    json!({
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "model": "test-model-2025-01-01",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_abc",
                    "type": "function",
                    "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" },
                }],
            },
            "finish_reason": "tool_calls",
        }],
        "usage": { "prompt_tokens": 40, "completion_tokens": 7, "total_tokens": 47 },
    })
}

const WEATHER_TOOL: &str = r#"{"name": "weather", "description": "The weather in a city.",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}"#;

#[test]
fn complete_sends_every_option_in_the_apis_terms() {
    let server = stub(10);
    let request = format!(
        r#"{{"messages": [{{"role": "user", "content": "hi"}}],
            "temperature": 0.2, "top_p": 0.9, "max_tokens": 200, "stop": ["\n\n", "END"],
            "json": true, "seed": 7, "tools": [{WEATHER_TOOL}], "tool_choice": {{"name": "weather"}}}}"#
    );
    let outcome = complete(ai(&server).system("Be brief."), &request);
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    let body = sent(&server, 0);
    assert_eq!(body["model"], MODEL);
    assert_eq!(
        body["messages"],
        json!([
            { "role": "system", "content": "Be brief." },
            { "role": "user", "content": "hi" },
        ])
    );
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["max_completion_tokens"], 200);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["stop"], json!(["\n\n", "END"]));
    assert_eq!(body["response_format"], json!({ "type": "json_object" }));
    assert!(body.get("json").is_none());
    assert_eq!(body["seed"], 7);
    assert_eq!(
        body["tools"],
        json!([{
            "type": "function",
            "function": {
                "name": "weather",
                "description": "The weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": { "city": { "type": "string" } },
                    "required": ["city"],
                },
            },
        }])
    );
    assert_eq!(
        body["tool_choice"],
        json!({ "type": "function", "function": { "name": "weather" } })
    );

    // A single stop string goes as an array; "json": false and absent
    // options send nothing.
    let outcome = complete(
        ai(&server),
        r#"{"messages": [{"role": "user", "content": "hi"}], "stop": "\n", "json": false, "tools": [], "temperature": 0}"#,
    );
    assert_eq!(outcome.status, status::OK);
    let body = sent(&server, 1);
    assert_eq!(body["stop"], json!(["\n"]));
    assert_eq!(body["temperature"], 0);
    for absent in ["response_format", "seed", "tools", "tool_choice", "top_p"] {
        assert!(body.get(absent).is_none(), "{absent}: {body}");
    }
    assert_eq!(body["max_completion_tokens"], 4096);
}

#[test]
fn the_reply_gives_content_finish_reason_tool_calls_usage_and_model() {
    let server = stub(30);
    let outcome = complete(
        ai(&server),
        r#"{"messages": [{"role": "user", "content": "hello"}]}"#,
    );
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    assert_eq!(
        reply(&outcome, 0),
        json!({
            "content": "olleh",
            "finish_reason": "stop",
            "tool_calls": [],
            "usage": { "prompt_tokens": 15, "completion_tokens": 15, "total_tokens": 30 },
            "model": MODEL,
        })
    );

    let server = answering(tool_call_completion());
    let request = format!(
        r#"{{"messages": [{{"role": "user", "content": "Paris?"}}], "tools": [{WEATHER_TOOL}]}}"#
    );
    let outcome = complete(ai(&server), &request);
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    assert_eq!(
        reply(&outcome, 0),
        json!({
            "content": null,
            "finish_reason": "tool_calls",
            "tool_calls": [{ "id": "call_abc", "name": "weather", "arguments": "{\"city\":\"Paris\"}" }],
            "usage": { "prompt_tokens": 40, "completion_tokens": 7, "total_tokens": 47 },
            "model": "test-model-2025-01-01",
        })
    );
    let usage = outcome.usage.capabilities[0].1;
    assert_eq!((usage.calls, usage.tokens), (1, 47));
}

/// A program that reads the reply as a tool loop does: the first tool
/// call's name and its arguments' city, with `json`.
#[test]
fn a_program_reads_the_tool_call_with_json() {
    let server = answering(tool_call_completion());
    let source = r#"
(func $run (result i32)
  (argv 0 $request)
  (bind $text (call $ai.complete (local.get $request)))
  (bind $reply (call $json.parse (local.get $text)))
  (bind $finish (call $json.str (local.get $reply) "/finish_reason"))
  (resv $finish)
  (bind $name (call $json.str (local.get $reply) "/tool_calls/0/name"))
  (resv $name)
  (bind $arguments (call $json.str (local.get $reply) "/tool_calls/0/arguments"))
  (bind $parsed (call $json.parse (local.get $arguments)))
  (bind $city (call $json.str (local.get $parsed) "/city"))
  (resv $city)
  (bind $kind (call $json.type (local.get $reply) "/content"))
  (resv (call $std.i32.to_str (local.get $kind)))
  (i32.const 0))"#;
    let grants = tape_caps::grants()
        .grant(ai(&server))
        .grant(tape_caps::Json::new());
    let request = format!(
        r#"{{"messages": [{{"role": "user", "content": "Paris?"}}], "tools": [{WEATHER_TOOL}]}}"#
    );
    let outcome = program(source, &grants)
        .run(&Args::strings([request.as_str()]))
        .unwrap();
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    let results: Vec<&str> = (0..4).map(|i| outcome.result::<&str>(i).unwrap()).collect();
    assert_eq!(
        results,
        ["tool_calls", "weather", "Paris", "0"],
        "content is null"
    );
}

#[test]
fn tool_calls_and_tool_results_go_back_in_the_apis_terms() {
    let server = stub(5);
    let request = format!(
        r#"{{"tools": [{WEATHER_TOOL}], "tool_choice": "auto", "messages": [
            {{"role": "user", "content": "Weather in Paris?"}},
            {{"role": "assistant", "content": null,
              "tool_calls": [{{"id": "call_1", "name": "weather", "arguments": "{{\"city\":\"Paris\"}}"}}]}},
            {{"role": "tool", "tool_call_id": "call_1", "content": "{{\"conditions\":\"rain\"}}"}}]}}"#
    );
    let outcome = complete(ai(&server), &request);
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    let body: Value = sent(&server, 0);
    assert_eq!(
        body["messages"][1],
        json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "id": "call_1",
                "type": "function",
                "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" },
            }],
        })
    );
    assert_eq!(
        body["messages"][2],
        json!({ "role": "tool", "tool_call_id": "call_1", "content": "{\"conditions\":\"rain\"}" })
    );
    assert_eq!(body["tool_choice"], "auto");
    // The stub reverses the last message's content.
    assert_eq!(reply(&outcome, 0)["content"], "}\"niar\":\"snoitidnoc\"{");
}

#[test]
fn max_tokens_is_cut_to_the_grant_and_to_the_budget_left() {
    let server = stub(30);
    let ask = |ai: Ai, max: u64| {
        let request =
            format!(r#"{{"messages": [{{"role": "user", "content": "x"}}], "max_tokens": {max}}}"#);
        complete(ai, &request)
    };
    assert_eq!(
        ask(ai(&server).max_reply_tokens(100), 500).status,
        status::OK
    );
    assert_eq!(
        sent(&server, 0)["max_completion_tokens"],
        100,
        "the grant's cap"
    );
    assert_eq!(
        ask(ai(&server).max_reply_tokens(100), 50).status,
        status::OK
    );
    assert_eq!(
        sent(&server, 1)["max_completion_tokens"],
        50,
        "the request's"
    );
    assert_eq!(ask(ai(&server).max_tokens(40), 500).status, status::OK);
    assert_eq!(
        sent(&server, 2)["max_completion_tokens"],
        40,
        "the budget left"
    );
}

#[test]
fn a_cut_reply_says_length_and_the_budget_counts_its_usage() {
    let server = Server::start(|_| {
        Reply::ok(
            json!({
                "choices": [{ "message": { "role": "assistant", "content": "one two thr" },
                              "finish_reason": "length" }],
                "usage": { "prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23 },
            })
            .to_string(),
        )
    });
    let request = r#"{"messages": [{"role": "user", "content": "count"}], "max_tokens": 3}"#;
    let program = program(
        COMPLETE,
        &tape_caps::grants().grant(ai(&server).max_tokens(50)),
    );
    let run = || program.run(&Args::strings([request])).unwrap();
    let outcome = run();
    let answer = reply(&outcome, 0);
    assert_eq!(answer["finish_reason"], "length");
    assert_eq!(answer["content"], "one two thr");
    assert_eq!(answer["usage"]["total_tokens"], 23);
    assert_eq!(
        answer["model"], MODEL,
        "the grant's model when the answer names none"
    );
    assert_eq!(outcome.usage.capabilities[0].1.tokens, 23);

    // Calls in one run spend 23, 46, 69 of 50: the third crosses the
    // budget and gets its reply, the fourth is refused unsent.
    let requests = server.requests().len();
    let outcome = chat_program(ai(&server).max_tokens(50), "complete", 4)
        .run(&Args::strings([request]))
        .unwrap();
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert_eq!(outcome.results.len(), 3);
    assert_eq!(server.requests().len(), requests + 3);
    assert_eq!(outcome.usage.capabilities[0].1.tokens, 69);
    let reason = outcome.reasons.last().unwrap();
    assert_eq!(reason.call, "ai.complete");
    assert!(reason.message.contains("budget of 50 tokens"), "{reason}");
}

/// A server that answers as OpenAI does when it refuses: a 429 with a
/// `Retry-After`, a 400 naming the parameter, or a 500 with a plain
/// body.
fn refusing() -> Server {
    Server::start(|request| {
        let body = String::from_utf8_lossy(&request.body);
        if body.contains("rate") {
            Reply::status(
                429,
                r#"{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
            )
            .with_header("Retry-After", "20")
        } else if body.contains("bad") {
            Reply::status(
                400,
                r#"{"error":{"message":"Invalid 'messages[0].content': string too long.","type":"invalid_request_error","code":"string_above_max_length"}}"#,
            )
        } else if body.contains("long") {
            Reply::status(503, "x".repeat(10_000))
        } else {
            Reply::status(500, "upstream connect error\n")
        }
    })
}

#[test]
fn a_model_error_reaches_the_program_with_its_status_and_message() {
    let server = refusing();
    let ask = |content: &str| {
        complete(
            ai(&server),
            &format!(r#"{{"messages": [{{"role": "user", "content": "{content}"}}]}}"#),
        )
    };

    let outcome = ask("rate");
    assert_eq!(outcome.status, status::IO_FAILURE);
    assert_eq!(
        reply(&outcome, 0),
        json!({ "error": {
            "status": 429,
            "message": "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.",
            "type": "requests",
            "code": "rate_limit_exceeded",
            "retry_after": 20,
        }})
    );
    assert_eq!(
        outcome.result::<&str>(1).unwrap(),
        "ai.complete: the model answered 429 Too Many Requests: Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3."
    );
    assert_eq!(outcome.reasons.last().unwrap().call, "ai.complete");

    let outcome = ask("bad");
    assert_eq!(outcome.status, status::IO_FAILURE);
    let error = &reply(&outcome, 0)["error"];
    assert_eq!(error["status"], 400);
    assert_eq!(error["type"], "invalid_request_error");
    assert!(error.get("retry_after").is_none());
    assert!(
        outcome
            .result::<&str>(1)
            .unwrap()
            .ends_with("400 Bad Request: Invalid 'messages[0].content': string too long."),
        "{:?}",
        outcome.result::<&str>(1)
    );

    // No JSON error: the body's text, trimmed, is the message.
    let outcome = ask("other");
    assert_eq!(
        reply(&outcome, 0),
        json!({ "error": { "status": 500, "message": "upstream connect error" } })
    );
    assert!(
        outcome
            .result::<&str>(1)
            .unwrap()
            .ends_with("the model answered 500 Internal Server Error: upstream connect error")
    );

    // A long body is cut.
    let outcome = ask("long");
    let message = reply(&outcome, 0)["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.len() < 600 && message.ends_with('…'), "{message}");
}

#[test]
fn chat_gives_the_models_error_as_its_reason() {
    let server = refusing();
    for (prompt, expected) in [
        (
            "rate",
            "ai.chat: the model answered 429 Too Many Requests: Rate limit reached",
        ),
        (
            "other",
            "ai.chat: the model answered 500 Internal Server Error: upstream connect error",
        ),
    ] {
        let outcome = chat(ai(&server), prompt, 1);
        assert_eq!(outcome.status, status::IO_FAILURE);
        assert!(outcome.results.is_empty(), "no reply for ai.chat");
        let reason = outcome.reasons.last().unwrap();
        assert!(reason.to_string().starts_with(expected), "{reason}");
    }
    let outcome = chat_program(ai(&server), "chat_messages", 1)
        .run(&Args::strings([r#"[{"role":"user","content":"rate"}]"#]))
        .unwrap();
    assert_eq!(outcome.status, status::IO_FAILURE);
    assert!(
        outcome
            .reasons
            .last()
            .unwrap()
            .message
            .contains("429 Too Many Requests")
    );
}

#[test]
fn invalid_requests_are_refused_with_their_reason_and_send_nothing() {
    let server = stub(1);
    let program = program(COMPLETE, &tape_caps::grants().grant(ai(&server)));
    let user = r#"{"role": "user", "content": "hi"}"#;
    let call = r#"{"id": "call_1", "name": "weather", "arguments": "{}"}"#;
    let cases = [
        ("not json".to_string(), "the request is not JSON"),
        ("[]".into(), "the request is an array, not a JSON object"),
        ("{}".into(), "the request has no `messages`"),
        (
            format!(r#"{{"messages": [{user}], "temprature": 1}}"#),
            "unknown key `temprature`; the keys are messages, temperature",
        ),
        (
            format!(r#"{{"messages": [{user}], "model": "gpt-5"}}"#),
            "the host's grant chooses the model",
        ),
        (r#"{"messages": []}"#.into(), "`messages` is empty"),
        (
            r#"{"messages": {}}"#.into(),
            "`messages` is an object, not an array",
        ),
        (
            r#"{"messages": [1]}"#.into(),
            "message 0 is a number, not an object",
        ),
        (
            r#"{"messages": [{"role": "robot", "content": "x"}]}"#.into(),
            "message 0 needs a `role`",
        ),
        (
            r#"{"messages": [{"role": "user", "content": 1}]}"#.into(),
            "message 0 (user) needs `content`, a string",
        ),
        (
            r#"{"messages": [{"role": "user", "content": "x", "name": "a"}]}"#.into(),
            "message 0 (user) has an unknown key `name`",
        ),
        (
            r#"{"messages": [{"role": "assistant", "content": null}]}"#.into(),
            "message 0 (assistant) needs `content`, a string (or null with `tool_calls`)",
        ),
        (
            r#"{"messages": [{"role": "assistant", "tool_calls": [{"id": "c"}]}]}"#.into(),
            "message 0 (assistant), tool call 0: not {\"id\"",
        ),
        (
            format!(
                r#"{{"messages": [{user}, {{"role": "tool", "tool_call_id": "call_9", "content": "x"}}]}}"#
            ),
            "message 1 (tool) answers `call_9`, which no earlier assistant message called",
        ),
        (
            format!(
                r#"{{"messages": [{{"role": "assistant", "content": null, "tool_calls": [{call}]}}, {{"role": "tool", "content": "x"}}]}}"#
            ),
            "message 1 (tool) needs `tool_call_id`, a string",
        ),
        (
            format!(r#"{{"messages": [{user}], "temperature": 2.5}}"#),
            "`temperature` must be a number from 0 to 2, not 2.5",
        ),
        (
            format!(r#"{{"messages": [{user}], "temperature": "hot"}}"#),
            "`temperature` must be a number from 0 to 2, not \"hot\"",
        ),
        (
            format!(r#"{{"messages": [{user}], "top_p": -0.1}}"#),
            "`top_p` must be a number from 0 to 1",
        ),
        (
            format!(r#"{{"messages": [{user}], "max_tokens": 0}}"#),
            "`max_tokens` must be a whole number from 1 up, not 0",
        ),
        (
            format!(r#"{{"messages": [{user}], "max_tokens": 1.5}}"#),
            "`max_tokens` must be a whole number from 1 up",
        ),
        (
            format!(r#"{{"messages": [{user}], "stop": ["a", "b", "c", "d", "e"]}}"#),
            "`stop` must be a string or an array of 1 to 4 strings, not an array",
        ),
        (
            format!(r#"{{"messages": [{user}], "stop": [""]}}"#),
            "`stop` holds something other than a non-empty string",
        ),
        (
            format!(r#"{{"messages": [{user}], "json": "yes"}}"#),
            "`json` must be true or false, not a string",
        ),
        (
            format!(r#"{{"messages": [{user}], "seed": 1.5}}"#),
            "`seed` must be a whole number",
        ),
        (
            format!(r#"{{"messages": [{user}], "tools": {{}}}}"#),
            "`tools` must be an array of tools, not an object",
        ),
        (
            format!(r#"{{"messages": [{user}], "tools": [{{"name": "a b"}}]}}"#),
            "tool 0 needs a `name` of 1 to 64 letters, digits, `_` or `-`",
        ),
        (
            format!(r#"{{"messages": [{user}], "tools": [{{"name": "a", "params": {{}}}}]}}"#),
            "tool 0 has an unknown key `params`",
        ),
        (
            format!(r#"{{"messages": [{user}], "tools": [{{"name": "a", "parameters": "x"}}]}}"#),
            "tool 0 (`a`): `parameters` must be a JSON Schema object",
        ),
        (
            format!(r#"{{"messages": [{user}], "tools": [{{"name": "a"}}, {{"name": "a"}}]}}"#),
            "`tools` names `a` twice",
        ),
        (
            format!(r#"{{"messages": [{user}], "tool_choice": "auto"}}"#),
            "`tool_choice` is set, and `tools` names no tool",
        ),
        (
            format!(
                r#"{{"messages": [{user}], "tools": [{WEATHER_TOOL}], "tool_choice": "always"}}"#
            ),
            "`tool_choice` must be \"auto\", \"none\", \"required\" or {\"name\": \"…\"}",
        ),
        (
            format!(
                r#"{{"messages": [{user}], "tools": [{WEATHER_TOOL}], "tool_choice": {{"name": "news"}}}}"#
            ),
            "`tool_choice` names `news`, which is not in `tools`",
        ),
    ];
    for (request, expected) in &cases {
        let outcome = program.run(&Args::strings([request.as_str()])).unwrap();
        assert_eq!(outcome.status, status::INVALID_ARGUMENT, "{request}");
        assert_eq!(outcome.results.len(), 1, "only the reason: {request}");
        let reason = outcome.result::<&str>(0).unwrap();
        assert!(
            reason.starts_with("ai.complete: ") && reason.contains(expected),
            "{request}\n  gave {reason}\n  not {expected}"
        );
    }
    assert!(server.requests().is_empty());
}

#[test]
fn the_catalogue_example_runs() {
    let doc = tape_caps::ai::SPEC.function("complete").unwrap().doc;
    let example = doc
        .split("```wat\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let source = format!(
        "{example}
(func $run (result i32)
  (argv 0 $question)
  (bind $answer (call $ask (local.get $question)))
  (resv $answer)
  (i32.const 0))"
    );
    let server = answering(tool_call_completion());
    let grants = tape_caps::grants()
        .grant(ai(&server))
        .grant(tape_caps::Json::new());
    let outcome = program(&source, &grants)
        .run(&Args::strings(["What is the weather in Paris?"]))
        .unwrap();
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    assert_eq!(outcome.result::<&str>(0).unwrap(), "weather");
    let body = sent(&server, 0);
    assert_eq!(
        body["messages"][0]["content"],
        "What is the weather in Paris?"
    );
    assert_eq!(body["tools"][0]["function"]["name"], "weather");
}

/// The tool-loop sketch in `docs/capabilities.md`: a tool call, the
/// result sent back, the answer.
#[test]
fn the_documented_tool_loop_runs() {
    let text = json!({
        "choices": [{ "message": { "role": "assistant", "content": "It is raining in Paris." },
                      "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 60, "completion_tokens": 6, "total_tokens": 66 },
    });
    let calls = tool_call_completion();
    let server = Server::start(move |request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let answer = match body["messages"].as_array().unwrap().last().unwrap()["role"].as_str() {
            Some("user") => &calls,
            _ => &text,
        };
        Reply::ok(answer.to_string())
    });
    let examples = crate::http::documented_examples("ai");
    let grants = tape_caps::grants()
        .grant(ai(&server))
        .grant(tape_caps::Json::new());
    let outcome = program(&examples[1], &grants).run(&Args::new()).unwrap();
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    assert_eq!(
        outcome.result::<&str>(0).unwrap(),
        "It is raining in Paris."
    );
    assert_eq!(server.requests().len(), 2);
    let second = sent(&server, 1);
    assert_eq!(
        second["messages"],
        json!([
            { "role": "user", "content": "Weather in Paris?" },
            { "role": "assistant", "content": null, "tool_calls": [{
                "id": "call_abc",
                "type": "function",
                "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" },
            }] },
            { "role": "tool", "content": "{\"conditions\": \"rain\"}", "tool_call_id": "call_abc" },
        ])
    );
    let (_, usage) = outcome
        .usage
        .capabilities
        .iter()
        .find(|(name, _)| name == "ai")
        .unwrap();
    assert_eq!(usage.tokens, 47 + 66);
}
