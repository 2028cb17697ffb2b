//! The `ai` capability: chat completions from an OpenAI-compatible
//! endpoint.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use ureq::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use ureq::http::{HeaderMap, Method, StatusCode, Uri};
use wasmtime::{Caller, Linker};

use crate::http::{Client, Exchange, Failure, Origin, Policy, Target, time_budget};
use tape_rt::guest::{self, read_bytes_max, write_str};
use tape_rt::{Capability, Function, Spec, State, json_kind, status};

/// Tokens a run may spend by default.
const DEFAULT_MAX_TOKENS: u64 = 100_000;
/// Tokens one reply may use by default.
const DEFAULT_MAX_REPLY_TOKENS: u32 = 4096;
/// Bytes of prompts a run may send by default.
const DEFAULT_MAX_PROMPT_BYTES: usize = 1 << 20;
/// Bytes of responses a run may receive by default.
const DEFAULT_MAX_REPLY_BYTES: usize = 1 << 20;
/// Time one completion may take by default; always cut to what is left of
/// the run's timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
enum Key {
    None,
    Env(String),
    Value(String),
}

/// Chat completions for the guest, from one OpenAI-compatible endpoint
/// and model the host chooses.
///
/// | import | signature | meaning |
/// |---|---|---|
/// | `ai.chat` | `(param $prompt i32) (result i32 i32)` | send the string at `prompt` as the user's message; (reply text, status) |
/// | `ai.chat_messages` | `(param $messages i32) (result i32 i32)` | send a conversation; (reply text, status) |
/// | `ai.complete` | `(param $request i32) (result i32 i32)` | send a request with options and tools; (reply as JSON, status) |
///
/// `$messages` points at a string holding a JSON array of
/// `{"role": "system" | "user" | "assistant", "content": "…"}` objects,
/// with no other keys. The reply is the assistant's text as a string
/// (`[u32 len][utf-8]`; empty if the model sent no text). A host-set
/// [`system`](Ai::system) prompt goes first in every conversation.
///
/// `$request` points at a string holding a JSON object; every key but
/// `messages` is optional, and any other key is refused:
///
/// | key | value | sent as |
/// |---|---|---|
/// | `messages` | an array of messages, below | `messages` |
/// | `temperature` | a number from 0 to 2 | `temperature` |
/// | `top_p` | a number from 0 to 1 | `top_p` |
/// | `max_tokens` | a whole number from 1 | `max_completion_tokens`, cut to the grant's cap and the budget left |
/// | `stop` | a string, or an array of 1 to 4 non-empty strings | `stop` (an array) |
/// | `json` | `true` for a reply whose content is a JSON object | `response_format: {"type": "json_object"}` |
/// | `seed` | a whole number | `seed` |
/// | `tools` | an array of `{"name", "description", "parameters"}`, `parameters` a JSON Schema object | `tools: [{"type": "function", "function": {…}}]` |
/// | `tool_choice` | `"auto"`, `"none"`, `"required"` or `{"name": "…"}` (one of `tools`) | `tool_choice` |
///
/// A message is `{"role": "system" | "user", "content"}`,
/// `{"role": "assistant", "content", "tool_calls"}` (`content` may be
/// null when there are tool calls; `tool_calls` as a reply gives them,
/// `[{"id", "name", "arguments"}]`) or `{"role": "tool", "tool_call_id",
/// "content"}` answering a tool call of an earlier assistant message. The
/// request cannot name a model or an endpoint: those are the host's.
///
/// The reply is a string holding a JSON object:
///
/// ```json
/// {"content": "…" or null, "finish_reason": "stop" | "length" | "tool_calls" | …,
///  "tool_calls": [{"id": "call_1", "name": "weather", "arguments": "{\"city\": \"Paris\"}"}],
///  "usage": {"prompt_tokens": 52, "completion_tokens": 9, "total_tokens": 61},
///  "model": "gpt-4o-mini-2024-07-18"}
/// ```
///
/// `tool_calls` is `[]` when there are none; `arguments` is JSON text as
/// the model wrote it (parse it with `json.parse`); `usage` is what the
/// run's token budget counted; `model` is the model that answered, as the
/// endpoint names it.
///
/// Each call is `POST {base_url}/chat/completions` with `model`,
/// `messages` and `max_completion_tokens` (the smallest of
/// [`max_reply_tokens`](Ai::max_reply_tokens), what is left of the run's
/// token budget and the request's `max_tokens`), and `Authorization:
/// Bearer <key>` when a key is set. The endpoint is the only origin this
/// capability reaches, through the same client and address rules as
/// [`Http`](crate::Http): a base URL naming an IP
/// (`http://127.0.0.1:8080/v1`) may be private; a host name that resolves
/// to a private address needs [`allow_private`](Ai::allow_private).
/// Redirects are not followed.
///
/// Status: [`OK`](status::OK); [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT)
/// for a prompt that is not UTF-8, or messages or a request that are not as
/// above (the reason names the key); [`TOO_LARGE`](status::TOO_LARGE) once
/// the run's token budget is spent (counted from each response's
/// `usage.total_tokens`; the call that crosses the budget still gets its
/// reply, later calls are refused without a request), or when a prompt
/// would pass the run's prompt byte budget or a response its reply byte
/// budget; [`TIMED_OUT`](status::TIMED_OUT);
/// [`IO_FAILURE`](status::IO_FAILURE) for a network error, a non-2xx
/// answer, or a response that is not a chat completion;
/// [`ACCESS_DENIED`](status::ACCESS_DENIED) if the endpoint's address is
/// refused. On any non-OK status the pointer is 0, with one exception: when
/// the endpoint answers non-2xx, `ai.complete` gives `IO_FAILURE` and a
/// reply `{"error": {"status": 429, "message": "…", "type": "…", "code":
/// "…", "retry_after": 20}}` (`type`, `code` and `retry_after` when the
/// endpoint sent them), so a program can tell a rate limit from a bad
/// request. Every failure records its reason for `core.reason`; a model's
/// error reads `the model answered 429 Too Many Requests: Rate limit
/// reached…`, with the message from OpenAI's `{"error": {"message"}}` or
/// else the start of the body. A pointer outside memory traps. Tokens spent
/// are reported in the run's usage for `ai`.
///
/// The API key is read from the environment variable named with
/// [`api_key_env`](Ai::api_key_env) when a program is linked with this
/// grant: a missing or empty variable fails the link with an error naming
/// it, before anything runs.
///
/// # Example
///
/// ```no_run
/// use tape_caps::Ai;
/// use tape_rt::{Args, Config, Engine, Grants};
///
/// let ai = Ai::new("https://api.openai.com/v1", "gpt-4o-mini")
///     .api_key_env("OPENAI_API_KEY")
///     .max_tokens(2_000);
/// let program = Engine::new(Config::default())?.compile_str(
///     "ask.wat",
///     r#"(func $run (result i32)
///          (local $reply i32) (local $status i32)
///          (call $ai.chat "Name one prime number. Answer with digits only.")
///          (local.set $status) (local.set $reply)
///          (if (local.get $status) (then (return (local.get $status))))
///          (call $core.result (local.get $reply)))"#,
///     &Grants::new().grant(ai),
/// )?;
/// let outcome = program.run(&Args::new())?;
/// println!("{}", outcome.result::<&str>(0)?);
/// # Ok::<(), tape_rt::Error>(())
/// ```
#[derive(Clone)]
pub struct Ai {
    base_url: String,
    model: String,
    key: Key,
    system: Option<String>,
    max_tokens: u64,
    max_reply_tokens: u32,
    max_prompt_bytes: usize,
    max_reply_bytes: usize,
    timeout: Duration,
    allow_private: bool,
}

impl fmt::Debug for Ai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match &self.key {
            Key::None => "none".to_string(),
            Key::Env(name) => format!("from ${name}"),
            Key::Value(_) => "set".to_string(),
        };
        f.debug_struct("Ai")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("key", &key)
            .field("max_tokens", &self.max_tokens)
            .field("max_reply_tokens", &self.max_reply_tokens)
            .field("max_prompt_bytes", &self.max_prompt_bytes)
            .field("max_reply_bytes", &self.max_reply_bytes)
            .field("timeout", &self.timeout)
            .field("allow_private", &self.allow_private)
            .finish_non_exhaustive()
    }
}

impl Ai {
    /// Completions from `model` at `base_url` (the part before
    /// `/chat/completions`, e.g. `https://api.openai.com/v1`), with no API
    /// key and the default budgets.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Ai {
            base_url: base_url.into(),
            model: model.into(),
            key: Key::None,
            system: None,
            max_tokens: DEFAULT_MAX_TOKENS,
            max_reply_tokens: DEFAULT_MAX_REPLY_TOKENS,
            max_prompt_bytes: DEFAULT_MAX_PROMPT_BYTES,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            timeout: DEFAULT_TIMEOUT,
            allow_private: false,
        }
    }

    /// Reads the API key from environment variable `name` when a program
    /// is linked, and sends it as a Bearer token.
    pub fn api_key_env(mut self, name: impl Into<String>) -> Self {
        self.key = Key::Env(name.into());
        self
    }

    /// Sends `key` as a Bearer token, for a host that keeps its secrets
    /// elsewhere than the environment.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.key = Key::Value(key.into());
        self
    }

    /// Puts a system message first in every conversation.
    pub fn system(mut self, prompt: impl Into<String>) -> Self {
        self.system = Some(prompt.into());
        self
    }

    /// Sets the tokens a run may spend, prompts and replies together
    /// (default 100,000).
    pub fn max_tokens(mut self, tokens: u64) -> Self {
        self.max_tokens = tokens;
        self
    }

    /// Sets the tokens one reply may use (default 4096).
    pub fn max_reply_tokens(mut self, tokens: u32) -> Self {
        self.max_reply_tokens = tokens;
        self
    }

    /// Sets the bytes of prompt text (`chat`'s prompt, `chat_messages`'
    /// and `complete`'s JSON) a run may send (default 1 MiB).
    pub fn max_prompt_bytes(mut self, bytes: usize) -> Self {
        self.max_prompt_bytes = bytes;
        self
    }

    /// Sets the bytes of response bodies a run may receive (default
    /// 1 MiB).
    pub fn max_reply_bytes(mut self, bytes: usize) -> Self {
        self.max_reply_bytes = bytes;
        self
    }

    /// Sets the time one completion may take (default 60 s). The run's own
    /// timeout cuts it further.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether the endpoint's host name may resolve to a loopback or
    /// private address, for a local model server (default no).
    pub fn allow_private(mut self, allow: bool) -> Self {
        self.allow_private = allow;
        self
    }

    /// Checks the configuration and reads the key: what a linked program
    /// uses.
    fn connect(&self) -> Result<Endpoint, String> {
        let url = format!("{}/chat/completions", self.base_url.trim_end_matches('/'));
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("the base URL `{}` is not a valid URL: {e}", self.base_url))?;
        let target = Target::of(&uri).map_err(|e| format!("the base URL: {}", e.message))?;
        let policy = Policy {
            allow: vec![Origin::exact(&target)],
            allow_private: self.allow_private,
        };
        policy
            .check_uri(&uri)
            .map_err(|e| format!("the base URL is refused: {}", e.message))?;
        let key = match &self.key {
            Key::None => None,
            Key::Value(key) => Some(key.clone()),
            Key::Env(name) => match std::env::var(name) {
                Ok(key) if !key.trim().is_empty() => Some(key),
                Ok(_) => return Err(format!("the API key variable `{name}` is empty")),
                Err(std::env::VarError::NotPresent) => {
                    return Err(format!(
                        "the API key variable `{name}` is not set; set it, or grant `ai` without a key"
                    ));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(format!("the API key variable `{name}` is not UTF-8"));
                }
            },
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = key {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.trim()))
                .map_err(|_| "the API key has characters a header cannot hold".to_string())?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(Endpoint {
            uri,
            headers,
            client: Client::new(policy, None),
        })
    }
}

/// A linked grant: the endpoint, its headers and the client.
struct Endpoint {
    uri: Uri,
    headers: HeaderMap,
    client: Client,
}

/// What this run has spent.
#[derive(Debug, Default)]
struct AiState {
    tokens: u64,
    prompt_bytes: usize,
    reply_bytes: usize,
}

/// A chat completion, as much of it as the guest is given.
#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    usage: Option<TokenUsage>,
    model: Option<String>,
}

#[derive(Deserialize)]
struct Choice {
    message: ReplyMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ReplyMessage {
    content: Option<String>,
    tool_calls: Option<Vec<WireToolCall>>,
}

/// A tool call as the API sends it:
/// `{"id", "type": "function", "function": {"name", "arguments"}}`.
#[derive(Deserialize)]
struct WireToolCall {
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize)]
struct TokenUsage {
    total_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

/// What the model answered.
struct Answer {
    content: Option<String>,
    finish_reason: Option<String>,
    tool_calls: Vec<WireToolCall>,
    /// Tokens as counted against the budget: the response's `usage`, or
    /// an estimate where it has none.
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    model: String,
}

impl Answer {
    /// `ai.complete`'s reply.
    fn to_json(&self) -> Value {
        let calls: Vec<Value> = self
            .tool_calls
            .iter()
            .map(|call| {
                json!({
                    "id": call.id,
                    "name": call.function.name,
                    "arguments": call.function.arguments,
                })
            })
            .collect();
        json!({
            "content": self.content,
            "finish_reason": self.finish_reason,
            "tool_calls": calls,
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens,
            },
            "model": self.model,
        })
    }
}

/// Bytes of the model's error message kept for the guest.
const MAX_ERROR_MESSAGE: usize = 500;

/// A non-2xx answer from the endpoint: its status and what it said.
#[derive(Debug)]
struct ModelError {
    status: u16,
    message: String,
    /// OpenAI's `error.type`, e.g. `rate_limit_exceeded`.
    kind: Option<String>,
    /// OpenAI's `error.code`: a string or a number.
    code: Option<Value>,
    /// Seconds, from a `Retry-After` header in seconds.
    retry_after: Option<u64>,
}

impl ModelError {
    /// Reads OpenAI's `{"error": {"message", "type", "code"}}` (or
    /// `{"error": "…"}`), else the start of the body as text, else the
    /// status's name.
    fn read(status: u16, headers: &[(String, String)], body: &[u8]) -> ModelError {
        let retry_after = headers
            .iter()
            .find(|(name, _)| name == "retry-after")
            .and_then(|(_, value)| value.trim().parse().ok());
        let error = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|mut body| body.get_mut("error").map(Value::take));
        let (message, kind, code) = match error {
            Some(Value::String(message)) => (Some(message), None, None),
            Some(Value::Object(mut error)) => (
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                error.get("type").and_then(Value::as_str).map(str::to_owned),
                error
                    .remove("code")
                    .filter(|code| code.is_string() || code.is_number()),
            ),
            _ => (None, None, None),
        };
        let message = message
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
            .trim()
            .to_string();
        let message = if message.is_empty() {
            "no message".to_string()
        } else {
            bounded(message, MAX_ERROR_MESSAGE)
        };
        ModelError {
            status,
            message,
            kind,
            code,
            retry_after,
        }
    }

    /// The reason recorded for the call.
    fn reason(&self) -> String {
        let name = StatusCode::from_u16(self.status)
            .ok()
            .and_then(|code| code.canonical_reason());
        match name {
            Some(name) => format!(
                "the model answered {} {name}: {}",
                self.status, self.message
            ),
            None => format!("the model answered {}: {}", self.status, self.message),
        }
    }

    /// `ai.complete`'s reply.
    fn to_json(&self) -> Value {
        let mut error = Map::new();
        error.insert("status".into(), self.status.into());
        error.insert("message".into(), self.message.clone().into());
        if let Some(kind) = &self.kind {
            error.insert("type".into(), kind.clone().into());
        }
        if let Some(code) = &self.code {
            error.insert("code".into(), code.clone());
        }
        if let Some(seconds) = self.retry_after {
            error.insert("retry_after".into(), seconds.into());
        }
        json!({ "error": error })
    }
}

/// `text` cut to at most `max` bytes, at a character boundary, with `…`
/// where it was cut.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Why a call has no answer.
enum CallError {
    /// Refused, or failed on the way: the status and reason.
    Failure(Failure),
    /// The endpoint answered with an error.
    Model(Box<ModelError>),
}

impl From<Failure> for CallError {
    fn from(failure: Failure) -> Self {
        CallError::Failure(failure)
    }
}

/// Which import a call came through: what it sends and what it answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `ai.chat`: a prompt in, the reply's text out.
    Prompt,
    /// `ai.chat_messages`: a JSON array of `{role, content}` in, the
    /// reply's text out.
    Messages,
    /// `ai.complete`: a JSON request in, a JSON reply out.
    Request,
}

impl Form {
    fn import(self) -> &'static str {
        match self {
            Form::Prompt => "ai.chat",
            Form::Messages => "ai.chat_messages",
            Form::Request => "ai.complete",
        }
    }
}

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(
    "ai",
    "chat completions from the host's model, within token and byte budgets",
    FUNCTIONS,
);

const FUNCTIONS: &[Function] = &[
    Function::new("chat", "(param $prompt i32) (result i32 i32)")
        .roles("str -> str status")
        .doc("Sends the string at `$prompt` as the user's message to the granted model: (pointer to the reply text, status).\n\nStatus `TOO_LARGE` (4) past the token or byte budget, `TIMED_OUT` (5), `IO_FAILURE` (6) with the model's status code and message in `core.reason` when it answers with an error."),
    Function::new("chat_messages", "(param $messages i32) (result i32 i32)")
        .roles("str -> str status")
        .doc("Sends a conversation: `$messages` is a string holding a JSON array of `{\"role\": \"system\" | \"user\" | \"assistant\", \"content\": \"…\"}`: (pointer to the reply text, status), as `ai.chat`."),
    Function::new("complete", "(param $request i32) (result i32 i32)")
        .roles("str -> str status")
        .doc("Sends a request with options and tools: (pointer to the reply, status). Both are strings holding JSON.\n\nThe request is `{\"messages\": [...]}` with, optionally, `temperature` (0 to 2), `top_p` (0 to 1), `max_tokens`, `stop` (a string or up to 4), `json` (true: the reply's content is a JSON object), `seed`, `tools` (`[{\"name\", \"description\", \"parameters\": JSON Schema}]`) and `tool_choice` (`\"auto\"`, `\"none\"`, `\"required\"` or `{\"name\": …}`). Messages are `system`, `user`, `assistant` (with `tool_calls` as a reply gives them) and `{\"role\": \"tool\", \"tool_call_id\", \"content\"}`. The reply is `{\"content\", \"finish_reason\", \"tool_calls\": [{\"id\", \"name\", \"arguments\"}], \"usage\": {\"prompt_tokens\", \"completion_tokens\", \"total_tokens\"}, \"model\"}`.\n\nStatus `INVALID_ARGUMENT` (1) for a request that is not as above, with the reason naming the key; `TOO_LARGE` (4) past a budget; `TIMED_OUT` (5); `IO_FAILURE` (6). When the model answers with an error the status is `IO_FAILURE` and the pointer is not 0: the reply is `{\"error\": {\"status\": 429, \"message\": \"…\", \"type\": \"…\"}}`.\n\n```wat\n;; The tool the model calls for `$question`, or its text if it calls none.\n(func $ask (param $question i32) (result i32 i32)\n  (local $request i32) (local $user i32) (local $reply i32) (local $status i32)\n  (call $json.parse r#\"{\"tools\": [{\"name\": \"weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}], \"messages\": [{\"role\": \"user\"}]}\"#)\n  (local.set $status) (local.set $request)\n  (call $json.get (local.get $request) \"/messages/0\") (local.set $status) (local.set $user)\n  ;; set_str escapes the question, quotes and all.\n  (drop (call $json.set_str (local.get $user) \"content\" (local.get $question)))\n  (call $json.stringify (local.get $request)) (local.set $status) (local.set $request)\n  (call $ai.complete (local.get $request)) (local.set $status) (local.set $reply)\n  (if (local.get $status) (then (return (i32.const 0) (local.get $status))))\n  (call $json.parse (local.get $reply)) (local.set $status) (local.set $reply)\n  ;; json.has leaves (1 or 0, status): drop the status, test the answer.\n  (call $json.has (local.get $reply) \"/tool_calls/0\") (drop)\n  (if (result i32 i32)\n    (then (call $json.str (local.get $reply) \"/tool_calls/0/name\"))\n    (else (call $json.str (local.get $reply) \"/content\"))))\n```"),
];

impl Capability for Ai {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let endpoint = self.connect().map_err(wasmtime::Error::msg)?;
        let shared = Arc::new((self.clone(), endpoint));
        for form in [Form::Prompt, Form::Messages, Form::Request] {
            let this = shared.clone();
            let name = &form.import()["ai.".len()..];
            linker.func_wrap(
                "ai",
                name,
                move |mut caller: Caller<'_, State>, input: i32| {
                    // Longer than the run's whole budget: refused uncopied.
                    let input = read_bytes_max(&caller, input as u32, this.0.max_prompt_bytes)?;
                    this.0.call(&this.1, &mut caller, input, form)
                },
            )?;
        }
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        state.insert(AiState::default());
    }
}

impl Ai {
    fn call(
        &self,
        endpoint: &Endpoint,
        caller: &mut Caller<'_, State>,
        input: Option<Vec<u8>>,
        form: Form,
    ) -> wasmtime::Result<(i32, i32)> {
        let usage = caller.data_mut().count_call("ai");
        let name = form.import();
        let Some(input) = input else {
            let message = format!(
                "the prompt is over the run's {}-byte prompt budget",
                self.max_prompt_bytes
            );
            return Ok((
                0,
                guest::fail(&mut *caller, name, status::TOO_LARGE, message),
            ));
        };
        usage.bytes_in += input.len() as u64;
        let answer = match self.complete(endpoint, caller.data_mut(), &input, form) {
            Ok(answer) => answer,
            Err(CallError::Failure(failure)) => {
                tracing::debug!(
                    target: "tape::ai",
                    status = status::name(failure.status).unwrap_or("?"),
                    "completion refused or failed: {}",
                    failure.message
                );
                return Ok((
                    0,
                    guest::fail(&mut *caller, name, failure.status, failure.message),
                ));
            }
            Err(CallError::Model(error)) => {
                let status = guest::fail(&mut *caller, name, status::IO_FAILURE, error.reason());
                if form != Form::Request {
                    return Ok((0, status));
                }
                // The program can tell a 429 (wait and retry) from a 400
                // (change the request).
                let ptr = self.hand_over(caller, &error.to_json().to_string())?;
                return Ok((ptr, status));
            }
        };
        caller.data_mut().usage_mut("ai").tokens += answer.total_tokens;
        let reply = match form {
            Form::Request => answer.to_json().to_string(),
            Form::Prompt | Form::Messages => answer.content.unwrap_or_default(),
        };
        let ptr = self.hand_over(caller, &reply)?;
        Ok((ptr, status::OK))
    }

    /// Writes `text` into the guest as a string and counts it.
    fn hand_over(&self, caller: &mut Caller<'_, State>, text: &str) -> wasmtime::Result<i32> {
        let ptr = write_str(&mut *caller, text)?;
        caller.data_mut().usage_mut("ai").bytes_out += 4 + text.len() as u64;
        Ok(ptr as i32)
    }

    /// Sends one completion and returns the answer, its tokens counted
    /// against the run's budget.
    fn complete(
        &self,
        endpoint: &Endpoint,
        state: &mut State,
        input: &[u8],
        form: Form,
    ) -> Result<Answer, CallError> {
        // A bad request is refused for what it is, budget or not.
        let request = match form {
            Form::Prompt => {
                let prompt = std::str::from_utf8(input).map_err(|_| {
                    Failure::new(status::INVALID_ARGUMENT, "the prompt is not UTF-8")
                })?;
                Request::of(vec![json!({ "role": "user", "content": prompt })])
            }
            Form::Messages => Request::of(parse_messages(input)?),
            Form::Request => parse_request(input)?,
        };
        let too_large = |message: String| Failure::new(status::TOO_LARGE, message);
        let deadline = state.deadline();
        let Some(spent) = state.get::<AiState>() else {
            return Err(Failure::new(status::IO_FAILURE, "no state for this run").into());
        };
        if spent.tokens >= self.max_tokens {
            return Err(too_large(format!(
                "the run has spent its budget of {} tokens",
                self.max_tokens
            ))
            .into());
        }
        if spent.prompt_bytes + input.len() > self.max_prompt_bytes {
            return Err(too_large(format!(
                "a {}-byte prompt would pass the run's budget of {} prompt bytes ({} spent)",
                input.len(),
                self.max_prompt_bytes,
                spent.prompt_bytes
            ))
            .into());
        }
        let reply_left = self.max_reply_bytes.saturating_sub(spent.reply_bytes);
        if reply_left == 0 {
            return Err(too_large(format!(
                "the run has received its budget of {} reply bytes",
                self.max_reply_bytes
            ))
            .into());
        }
        let mut messages = Vec::new();
        if let Some(system) = &self.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        messages.extend(request.messages);
        // The grant's cap and what is left of the budget bound what the
        // request asks for.
        let reply_tokens = u64::from(self.max_reply_tokens)
            .min(self.max_tokens - spent.tokens)
            .min(request.max_tokens.unwrap_or(u64::MAX));
        let mut body = Map::new();
        body.insert("model".into(), self.model.clone().into());
        body.insert("messages".into(), messages.into());
        body.insert("max_completion_tokens".into(), reply_tokens.into());
        body.extend(request.options);
        let body = serde_json::to_vec(&body)
            .map_err(|e| Failure::new(status::INVALID_ARGUMENT, e.to_string()))?;
        let timeout = time_budget(self.timeout, deadline)?;

        spent.prompt_bytes += input.len();
        let reply = endpoint.client.send(Exchange {
            method: Method::POST,
            uri: endpoint.uri.clone(),
            headers: endpoint.headers.clone(),
            body: &body,
            max_response_bytes: reply_left as u64,
            max_redirects: 0,
            timeout,
        });
        let reply = reply.map_err(|mut failure| {
            if failure.status == status::TOO_LARGE {
                failure.message = format!(
                    "the response would pass the run's budget of {} reply bytes",
                    self.max_reply_bytes
                );
            }
            failure
        })?;
        spent.reply_bytes += reply.body.len();
        if !(200..300).contains(&reply.status) {
            let error = ModelError::read(reply.status, &reply.headers, &reply.body);
            tracing::warn!(target: "tape::ai", "`{}`: {}", endpoint.uri, error.reason());
            return Err(CallError::Model(Box::new(error)));
        }
        let completion: Completion = serde_json::from_slice(&reply.body).map_err(|e| {
            Failure::new(
                status::IO_FAILURE,
                format!("the endpoint's answer is not a chat completion: {e}"),
            )
        })?;
        let choice = completion
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| Failure::new(status::IO_FAILURE, "the completion has no choices"))?;
        let tool_calls = choice.message.tool_calls.unwrap_or_default();
        // Where `usage` says nothing, a rough count (4 bytes a token)
        // still keeps the budget.
        let estimate = |bytes: usize| (bytes as u64).div_ceil(4);
        let answered = choice.message.content.as_ref().map_or(0, String::len)
            + tool_calls
                .iter()
                .map(|call| call.function.name.len() + call.function.arguments.len())
                .sum::<usize>();
        let usage = completion.usage.unwrap_or(TokenUsage {
            total_tokens: None,
            prompt_tokens: None,
            completion_tokens: None,
        });
        let prompt_tokens = usage.prompt_tokens.unwrap_or_else(|| estimate(body.len()));
        let completion_tokens = usage
            .completion_tokens
            .unwrap_or_else(|| estimate(answered));
        let total_tokens = usage
            .total_tokens
            .unwrap_or_else(|| prompt_tokens.saturating_add(completion_tokens));
        spent.tokens = spent.tokens.saturating_add(total_tokens);
        Ok(Answer {
            content: choice.message.content,
            finish_reason: choice.finish_reason,
            tool_calls,
            prompt_tokens,
            completion_tokens,
            total_tokens,
            model: completion.model.unwrap_or_else(|| self.model.clone()),
        })
    }
}

/// A checked request: the messages and members of the API's request,
/// less `model` and `max_completion_tokens`, which the host sets.
struct Request {
    messages: Vec<Value>,
    /// The most tokens the guest wants in the reply.
    max_tokens: Option<u64>,
    /// `temperature`, `stop`, `tools`… as the API spells them.
    options: Map<String, Value>,
}

impl Request {
    fn of(messages: Vec<Value>) -> Request {
        Request {
            messages,
            max_tokens: None,
            options: Map::new(),
        }
    }
}

/// The keys of `ai.complete`'s request.
const REQUEST_KEYS: &[&str] = &[
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "json",
    "seed",
    "tools",
    "tool_choice",
];

/// Stop sequences the API accepts.
const MAX_STOP: usize = 4;
/// Tools the API accepts in one request.
const MAX_TOOLS: usize = 128;

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(status::INVALID_ARGUMENT, message)
}

/// Reads `ai.complete`'s request and turns it into the API's terms.
fn parse_request(input: &[u8]) -> Result<Request, Failure> {
    let value: Value = serde_json::from_slice(input)
        .map_err(|e| invalid(format!("the request is not JSON: {e}")))?;
    let Value::Object(mut request) = value else {
        return Err(invalid(format!(
            "the request is {}, not a JSON object",
            json_kind(&value)
        )));
    };
    for key in request.keys() {
        if key == "model" {
            return Err(invalid(
                "the request names a `model`; the host's grant chooses the model",
            ));
        }
        if !REQUEST_KEYS.contains(&key.as_str()) {
            return Err(invalid(format!(
                "the request has an unknown key `{key}`; the keys are {}",
                REQUEST_KEYS.join(", ")
            )));
        }
    }
    let messages = request
        .remove("messages")
        .ok_or_else(|| invalid("the request has no `messages`"))?;
    let messages = request_messages(messages)?;
    let mut options = Map::new();
    for (key, low, high) in [("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)] {
        if let Some(value) = request.remove(key) {
            match value.as_f64() {
                Some(x) if (low..=high).contains(&x) => {
                    options.insert(key.into(), value);
                }
                _ => {
                    return Err(invalid(format!(
                        "`{key}` must be a number from {low} to {high}, not {value}"
                    )));
                }
            }
        }
    }
    let max_tokens = match request.remove("max_tokens") {
        None => None,
        Some(value) => Some(value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            invalid(format!(
                "`max_tokens` must be a whole number from 1 up, not {value}"
            ))
        })?),
    };
    if let Some(value) = request.remove("stop") {
        let stops = match value {
            Value::String(_) => vec![value],
            Value::Array(stops) if (1..=MAX_STOP).contains(&stops.len()) => stops,
            other => {
                return Err(invalid(format!(
                    "`stop` must be a string or an array of 1 to {MAX_STOP} strings, not {}",
                    json_kind(&other)
                )));
            }
        };
        if !stops
            .iter()
            .all(|s| s.as_str().is_some_and(|s| !s.is_empty()))
        {
            return Err(invalid(
                "`stop` holds something other than a non-empty string",
            ));
        }
        options.insert("stop".into(), stops.into());
    }
    match request.remove("json") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            options.insert("response_format".into(), json!({ "type": "json_object" }));
        }
        Some(other) => {
            return Err(invalid(format!(
                "`json` must be true or false, not {}",
                json_kind(&other)
            )));
        }
    }
    if let Some(value) = request.remove("seed") {
        if !value.is_i64() {
            return Err(invalid(format!(
                "`seed` must be a whole number that fits in 64 bits, not {value}"
            )));
        }
        options.insert("seed".into(), value);
    }
    let names = match request.remove("tools") {
        None => Vec::new(),
        Some(Value::Array(tools)) => {
            if tools.len() > MAX_TOOLS {
                return Err(invalid(format!(
                    "`tools` has {} tools; the most is {MAX_TOOLS}",
                    tools.len()
                )));
            }
            let mut names = Vec::new();
            let mut functions = Vec::new();
            for (i, tool) in tools.into_iter().enumerate() {
                let function = tool_definition(i, tool)?;
                let name = function["name"].as_str().unwrap_or_default().to_string();
                if names.contains(&name) {
                    return Err(invalid(format!("`tools` names `{name}` twice")));
                }
                names.push(name);
                functions.push(json!({ "type": "function", "function": function }));
            }
            if !functions.is_empty() {
                options.insert("tools".into(), functions.into());
            }
            names
        }
        Some(other) => {
            return Err(invalid(format!(
                "`tools` must be an array of tools, not {}",
                json_kind(&other)
            )));
        }
    };
    if let Some(choice) = request.remove("tool_choice") {
        if names.is_empty() {
            return Err(invalid("`tool_choice` is set, and `tools` names no tool"));
        }
        let choice = match choice {
            Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => {
                Value::String(s)
            }
            Value::Object(ref o) if o.len() == 1 && o.get("name").is_some_and(Value::is_string) => {
                let name = o["name"].as_str().unwrap_or_default();
                if !names.iter().any(|n| n == name) {
                    return Err(invalid(format!(
                        "`tool_choice` names `{name}`, which is not in `tools`"
                    )));
                }
                json!({ "type": "function", "function": { "name": name } })
            }
            other => {
                return Err(invalid(format!(
                    "`tool_choice` must be \"auto\", \"none\", \"required\" or {{\"name\": \"…\"}}, not {other}"
                )));
            }
        };
        options.insert("tool_choice".into(), choice);
    }
    Ok(Request {
        messages,
        max_tokens,
        options,
    })
}

/// Tool `i` of `tools`, `{"name", "description"?, "parameters"?}`: the
/// API's `function`.
fn tool_definition(i: usize, tool: Value) -> Result<Value, Failure> {
    let Value::Object(tool) = tool else {
        return Err(invalid(format!(
            "tool {i} is {}, not an object {{\"name\", \"description\", \"parameters\"}}",
            json_kind(&tool)
        )));
    };
    if let Some(key) = tool
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "description" | "parameters"))
    {
        return Err(invalid(format!(
            "tool {i} has an unknown key `{key}`; a tool has name, description and parameters"
        )));
    }
    let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(invalid(format!(
            "tool {i} needs a `name` of 1 to 64 letters, digits, `_` or `-`"
        )));
    }
    if tool.get("description").is_some_and(|d| !d.is_string()) {
        return Err(invalid(format!(
            "tool {i} (`{name}`): `description` must be a string"
        )));
    }
    if tool.get("parameters").is_some_and(|p| !p.is_object()) {
        return Err(invalid(format!(
            "tool {i} (`{name}`): `parameters` must be a JSON Schema object"
        )));
    }
    Ok(Value::Object(tool))
}

/// `ai.complete`'s messages, in the API's terms: tool calls as
/// `{"id", "type": "function", "function": {"name", "arguments"}}`.
fn request_messages(value: Value) -> Result<Vec<Value>, Failure> {
    let Value::Array(messages) = value else {
        return Err(invalid(format!(
            "`messages` is {}, not an array",
            json_kind(&value)
        )));
    };
    if messages.is_empty() {
        return Err(invalid("`messages` is empty"));
    }
    // The ids of the tool calls so far: a tool message answers one.
    let mut calls: Vec<String> = Vec::new();
    let mut sent = Vec::with_capacity(messages.len());
    for (i, message) in messages.into_iter().enumerate() {
        let Value::Object(mut message) = message else {
            return Err(invalid(format!(
                "message {i} is {}, not an object",
                json_kind(&message)
            )));
        };
        let role = match message.get("role").and_then(Value::as_str) {
            Some(role @ ("system" | "user" | "assistant" | "tool")) => role.to_string(),
            _ => {
                return Err(invalid(format!(
                    "message {i} needs a `role`: \"system\", \"user\", \"assistant\" or \"tool\""
                )));
            }
        };
        let keys: &[&str] = match role.as_str() {
            "assistant" => &["role", "content", "tool_calls"],
            "tool" => &["role", "tool_call_id", "content"],
            _ => &["role", "content"],
        };
        if let Some(key) = message.keys().find(|k| !keys.contains(&k.as_str())) {
            return Err(invalid(format!(
                "message {i} ({role}) has an unknown key `{key}`; it may have {}",
                keys.join(", ")
            )));
        }
        if role == "assistant" {
            let tool_calls = match message.remove("tool_calls") {
                None => Vec::new(),
                Some(Value::Array(list)) => list
                    .into_iter()
                    .enumerate()
                    .map(|(j, call)| tool_call(i, j, call))
                    .collect::<Result<_, _>>()?,
                Some(other) => {
                    return Err(invalid(format!(
                        "message {i} (assistant): `tool_calls` is {}, not an array",
                        json_kind(&other)
                    )));
                }
            };
            let content_ok = match message.get("content") {
                Some(Value::String(_)) => true,
                None | Some(Value::Null) => !tool_calls.is_empty(),
                Some(_) => false,
            };
            if !content_ok {
                return Err(invalid(format!(
                    "message {i} (assistant) needs `content`, a string (or null with `tool_calls`)"
                )));
            }
            for call in &tool_calls {
                calls.push(call["id"].as_str().unwrap_or_default().to_string());
            }
            if !tool_calls.is_empty() {
                message.insert("tool_calls".into(), tool_calls.into());
            }
        } else if !message.get("content").is_some_and(Value::is_string) {
            return Err(invalid(format!(
                "message {i} ({role}) needs `content`, a string"
            )));
        }
        if role == "tool" {
            let Some(id) = message.get("tool_call_id").and_then(Value::as_str) else {
                return Err(invalid(format!(
                    "message {i} (tool) needs `tool_call_id`, a string"
                )));
            };
            if !calls.iter().any(|call| call == id) {
                return Err(invalid(format!(
                    "message {i} (tool) answers `{id}`, which no earlier assistant message called"
                )));
            }
        }
        sent.push(Value::Object(message));
    }
    Ok(sent)
}

/// Tool call `j` of message `i`, `{"id", "name", "arguments"}` as a
/// reply gives it, in the API's terms.
fn tool_call(i: usize, j: usize, call: Value) -> Result<Value, Failure> {
    let fields = call.as_object().filter(|call| {
        call.len() == 3
            && call
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| !id.is_empty())
            && call.get("name").is_some_and(Value::is_string)
            && call.get("arguments").is_some_and(Value::is_string)
    });
    let Some(fields) = fields else {
        return Err(invalid(format!(
            "message {i} (assistant), tool call {j}: not {{\"id\": \"…\", \"name\": \"…\", \"arguments\": \"…\"}} as a reply gives it"
        )));
    };
    Ok(json!({
        "id": fields["id"],
        "type": "function",
        "function": { "name": fields["name"], "arguments": fields["arguments"] },
    }))
}

/// Reads the guest's conversation for `ai.chat_messages`: a JSON array
/// of `{role, content}`.
fn parse_messages(input: &[u8]) -> Result<Vec<Value>, Failure> {
    let value: Value = serde_json::from_slice(input)
        .map_err(|e| invalid(format!("the messages are not JSON: {e}")))?;
    let Value::Array(messages) = value else {
        return Err(invalid("the messages are not a JSON array"));
    };
    if messages.is_empty() {
        return Err(invalid("the conversation has no messages"));
    }
    for (i, message) in messages.iter().enumerate() {
        let valid = message.as_object().is_some_and(|m| {
            m.len() == 2
                && matches!(
                    m.get("role").and_then(Value::as_str),
                    Some("system" | "user" | "assistant")
                )
                && m.get("content").is_some_and(Value::is_string)
        });
        if !valid {
            return Err(invalid(format!(
                "message {i} is not {{\"role\": \"system\"|\"user\"|\"assistant\", \"content\": \"…\"}}"
            )));
        }
    }
    Ok(messages)
}

/// `[ai]`: see [`Ai`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct AiGrant {
    /// The endpoint before `/chat/completions`, e.g.
    /// `https://api.openai.com/v1`.
    pub base_url: String,
    /// The model to ask.
    pub model: String,
    /// The environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// A system message put first in every conversation.
    pub system: Option<String>,
    /// Tokens a run may spend.
    pub max_tokens: Option<u64>,
    /// Tokens one reply may use.
    pub max_reply_tokens: Option<u32>,
    /// Bytes of prompts a run may send.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_prompt_bytes: Option<u64>,
    /// Bytes of replies a run may receive.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_reply_bytes: Option<u64>,
    /// Time one completion may take.
    #[serde(default, deserialize_with = "crate::table::duration")]
    pub timeout: Option<Duration>,
    /// Whether the endpoint may be on a private address (a local model).
    #[serde(default)]
    pub allow_private: bool,
}

impl AiGrant {
    /// The capability.
    pub fn ai(&self) -> Ai {
        let mut ai = Ai::new(&self.base_url, &self.model).allow_private(self.allow_private);
        if let Some(name) = &self.api_key_env {
            ai = ai.api_key_env(name);
        }
        if let Some(system) = &self.system {
            ai = ai.system(system);
        }
        if let Some(max) = self.max_tokens {
            ai = ai.max_tokens(max);
        }
        if let Some(max) = self.max_reply_tokens {
            ai = ai.max_reply_tokens(max);
        }
        if let Some(max) = self.max_prompt_bytes {
            ai = ai.max_prompt_bytes(crate::table::saturate(max));
        }
        if let Some(max) = self.max_reply_bytes {
            ai = ai.max_reply_bytes(crate::table::saturate(max));
        }
        if let Some(timeout) = self.timeout {
            ai = ai.timeout(timeout);
        }
        ai
    }
}

impl crate::table::Table for AiGrant {
    fn grant(&self, _: &crate::table::Shared) -> tape_rt::Result<Arc<dyn Capability>> {
        Ok(Arc::new(self.ai()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_are_checked() {
        let ok = br#"[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]"#;
        assert_eq!(parse_messages(ok).unwrap().len(), 2);
        for bad in [
            &b"not json"[..],
            b"{}",
            b"[]",
            br#"[{"role":"user"}]"#,
            br#"[{"role":"tool","content":"x"}]"#,
            br#"[{"role":"user","content":1}]"#,
            br#"[{"role":"user","content":"x","name":"y"}]"#,
        ] {
            assert_eq!(
                parse_messages(bad).unwrap_err().status,
                status::INVALID_ARGUMENT,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn model_errors_are_read_in_every_shape() {
        let error = ModelError::read(
            429,
            &[("retry-after".into(), " 7 ".into())],
            br#"{"error": {"message": "slow down", "type": "rate_limit", "code": 429}}"#,
        );
        assert_eq!(
            error.to_json(),
            json!({ "error": { "status": 429, "message": "slow down", "type": "rate_limit", "code": 429, "retry_after": 7 } })
        );
        assert_eq!(
            error.reason(),
            "the model answered 429 Too Many Requests: slow down"
        );
        // Ollama's shape; a body that is not JSON; an empty one; a status
        // with no name; a message cut inside a character.
        let string = ModelError::read(404, &[], br#"{"error": "model 'x' not found"}"#);
        assert_eq!(string.message, "model 'x' not found");
        let text = ModelError::read(502, &[], b"<html>Bad gateway</html>\n");
        assert_eq!(text.message, "<html>Bad gateway</html>");
        assert_eq!(ModelError::read(500, &[], b"").message, "no message");
        assert_eq!(
            ModelError::read(599, &[], b"x").reason(),
            "the model answered 599: x"
        );
        let long = ModelError::read(500, &[], "é".repeat(400).as_bytes());
        assert!(long.message.ends_with('…') && long.message.len() <= MAX_ERROR_MESSAGE + 3);
    }

    #[test]
    fn a_missing_key_variable_is_named() {
        let ai = Ai::new("http://127.0.0.1:9/v1", "m").api_key_env("TAPE_TEST_NO_SUCH_VARIABLE");
        let error = ai.connect().err().unwrap();
        assert!(
            error.contains("`TAPE_TEST_NO_SUCH_VARIABLE` is not set"),
            "{error}"
        );
        let error = Ai::new("ftp://x/v1", "m").connect().err().unwrap();
        assert!(error.contains("`ftp` scheme"), "{error}");
        let error = Ai::new("http://0.0.0.0/v1", "m").connect().err().unwrap();
        assert!(error.contains("refused"), "{error}");
    }
}
