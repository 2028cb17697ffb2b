//! The `ai` capability: chat completions from an OpenAI-compatible
//! endpoint.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use ureq::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use ureq::http::{HeaderMap, Method, Uri};
use wasmtime::{Caller, Linker};

use crate::http::{Client, Exchange, Failure, Origin, Policy, Target, time_budget};
use tape_rt::guest::{self, read_bytes_max, write_value};
use tape_rt::{Capability, Function, Spec, State, status};

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
///
/// `$messages` points at a string holding a JSON array of
/// `{"role": "system" | "user" | "assistant", "content": "…"}` objects,
/// with no other keys. The reply is the assistant's text as a string
/// (`[u32 len][utf-8]`; empty if the model sent no text). A host-set
/// [`system`](Ai::system) prompt goes first in every conversation.
///
/// Each call is `POST {base_url}/chat/completions` with `model`,
/// `messages` and `max_completion_tokens` (the smaller of
/// [`max_reply_tokens`](Ai::max_reply_tokens) and what is left of the
/// run's token budget), and `Authorization: Bearer <key>` when a key is
/// set. The endpoint is the only origin this capability reaches, through
/// the same client and address rules as [`Http`](crate::Http): a base URL
/// naming an IP (`http://127.0.0.1:8080/v1`) may be private; a host name
/// that resolves to a private address needs
/// [`allow_private`](Ai::allow_private). Redirects are not followed.
///
/// Status: [`OK`](status::OK); [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT)
/// for a prompt that is not UTF-8 or messages that are not as above;
/// [`TOO_LARGE`](status::TOO_LARGE) once the run's token budget is spent
/// (counted from each response's `usage.total_tokens`; the call that
/// crosses the budget still gets its reply, later calls are refused without
/// a request), or when a prompt would pass the run's prompt byte budget or
/// a response its reply byte budget; [`TIMED_OUT`](status::TIMED_OUT);
/// [`IO_FAILURE`](status::IO_FAILURE) for a network error, a non-2xx
/// answer, or a response that is not a chat completion;
/// [`ACCESS_DENIED`](status::ACCESS_DENIED) if the endpoint's address is
/// refused. On any non-OK status the pointer is 0. A pointer outside memory
/// traps. Tokens spent are reported in the run's usage for `ai`.
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
    /// JSON) a run may send (default 1 MiB).
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

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ReplyMessage,
}

#[derive(Deserialize)]
struct ReplyMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct TokenUsage {
    total_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
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
        .doc("Sends the string at `$prompt` as the user's message to the granted model: (pointer to the reply text, status).\n\nStatus `TOO_LARGE` (4) past the token or byte budget, `TIMED_OUT` (5), `IO_FAILURE` (6)."),
    Function::new("chat_messages", "(param $messages i32) (result i32 i32)")
        .roles("str -> str status")
        .doc("Sends a conversation: `$messages` is a string holding a JSON array of `{\"role\": \"system\" | \"user\" | \"assistant\", \"content\": \"…\"}`: (pointer to the reply text, status), as `ai.chat`."),
];

impl Capability for Ai {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let endpoint = self.connect().map_err(wasmtime::Error::msg)?;
        let shared = Arc::new((self.clone(), endpoint));
        let this = shared.clone();
        linker.func_wrap(
            "ai",
            "chat",
            move |mut caller: Caller<'_, State>, prompt: i32| {
                // Longer than the run's whole budget: refused uncopied.
                let prompt = read_bytes_max(&caller, prompt as u32, this.0.max_prompt_bytes)?;
                this.0.call(&this.1, &mut caller, prompt, false)
            },
        )?;
        let this = shared;
        linker.func_wrap(
            "ai",
            "chat_messages",
            move |mut caller: Caller<'_, State>, messages: i32| {
                let messages = read_bytes_max(&caller, messages as u32, this.0.max_prompt_bytes)?;
                this.0.call(&this.1, &mut caller, messages, true)
            },
        )?;
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
        conversation: bool,
    ) -> wasmtime::Result<(i32, i32)> {
        let usage = caller.data_mut().count_call("ai");
        let name = if conversation {
            "ai.chat_messages"
        } else {
            "ai.chat"
        };
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
        let (text, tokens) = match self.complete(endpoint, caller.data_mut(), &input, conversation)
        {
            Ok(done) => done,
            Err(failure) => {
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
        };
        caller.data_mut().usage_mut("ai").tokens += tokens;
        let mut reply = Vec::with_capacity(4 + text.len());
        reply.extend_from_slice(&(text.len() as u32).to_le_bytes());
        reply.extend_from_slice(text.as_bytes());
        let ptr = write_value(&mut *caller, &reply)?;
        caller.data_mut().usage_mut("ai").bytes_out += reply.len() as u64;
        Ok((ptr as i32, status::OK))
    }

    /// Sends one completion and returns its text and the tokens it used.
    fn complete(
        &self,
        endpoint: &Endpoint,
        state: &mut State,
        input: &[u8],
        conversation: bool,
    ) -> Result<(String, u64), Failure> {
        let too_large = |message: String| Failure::new(status::TOO_LARGE, message);
        let deadline = state.deadline();
        let Some(spent) = state.get::<AiState>() else {
            return Err(Failure::new(status::IO_FAILURE, "no state for this run"));
        };
        if spent.tokens >= self.max_tokens {
            return Err(too_large(format!(
                "the run has spent its budget of {} tokens",
                self.max_tokens
            )));
        }
        if spent.prompt_bytes + input.len() > self.max_prompt_bytes {
            return Err(too_large(format!(
                "a {}-byte prompt would pass the run's budget of {} prompt bytes ({} spent)",
                input.len(),
                self.max_prompt_bytes,
                spent.prompt_bytes
            )));
        }
        let reply_left = self.max_reply_bytes.saturating_sub(spent.reply_bytes);
        if reply_left == 0 {
            return Err(too_large(format!(
                "the run has received its budget of {} reply bytes",
                self.max_reply_bytes
            )));
        }
        let mut messages = Vec::new();
        if let Some(system) = &self.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        if conversation {
            messages.extend(parse_messages(input)?);
        } else {
            let prompt = std::str::from_utf8(input)
                .map_err(|_| Failure::new(status::INVALID_ARGUMENT, "the prompt is not UTF-8"))?;
            messages.push(json!({ "role": "user", "content": prompt }));
        }
        let reply_tokens = u64::from(self.max_reply_tokens).min(self.max_tokens - spent.tokens);
        let body = json!({
            "model": self.model,
            "messages": messages,
            "max_completion_tokens": reply_tokens,
        });
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
            let excerpt = String::from_utf8_lossy(&reply.body[..reply.body.len().min(200)]);
            tracing::warn!(
                target: "tape::ai",
                "`{}` answered HTTP {}: {excerpt}",
                endpoint.uri,
                reply.status
            );
            return Err(Failure::new(
                status::IO_FAILURE,
                format!("the endpoint answered HTTP {}", reply.status),
            ));
        }
        let completion: Completion = serde_json::from_slice(&reply.body).map_err(|e| {
            Failure::new(
                status::IO_FAILURE,
                format!("the endpoint's answer is not a chat completion: {e}"),
            )
        })?;
        let text = completion
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| Failure::new(status::IO_FAILURE, "the completion has no choices"))?
            .message
            .content
            .unwrap_or_default();
        // Without `usage`, a rough count (4 bytes a token) still keeps
        // the budget.
        let tokens = match completion.usage {
            Some(TokenUsage {
                total_tokens: Some(total),
                ..
            }) => total,
            Some(TokenUsage {
                prompt_tokens: Some(prompt),
                completion_tokens: Some(completion),
                ..
            }) => prompt.saturating_add(completion),
            _ => ((body.len() + text.len()) as u64).div_ceil(4),
        };
        spent.tokens = spent.tokens.saturating_add(tokens);
        Ok((text, tokens))
    }
}

/// Reads the guest's conversation: a JSON array of `{role, content}`.
fn parse_messages(input: &[u8]) -> Result<Vec<Value>, Failure> {
    let invalid = |message: String| Failure::new(status::INVALID_ARGUMENT, message);
    let value: Value = serde_json::from_slice(input)
        .map_err(|e| invalid(format!("the messages are not JSON: {e}")))?;
    let Value::Array(messages) = value else {
        return Err(invalid("the messages are not a JSON array".into()));
    };
    if messages.is_empty() {
        return Err(invalid("the conversation has no messages".into()));
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
