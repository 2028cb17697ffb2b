//! A stand-in for an OpenAI-compatible chat-completions endpoint, so that
//! `examples/review` and `examples/agent` run with no model and no
//! network:
//!
//! ```sh
//! cargo run --example ai_stub     # serves http://127.0.0.1:8001/v1
//! tape run examples/review/review.wat 'Great battery, and the screen is lovely.'
//! ```
//!
//! It answers `POST /v1/chat/completions` deterministically, so the
//! examples' expected output holds, going by the last message:
//!
//! - a user's message with `tools` in the request (and `tool_choice` not
//!   `"none"`): a call to the tool `tool_choice` names, or else the first
//!   tool, its first string parameter set to the last run of capitalised
//!   words of the message after its first word ("New York" in "Is it
//!   raining in New York?"); `finish_reason` `"tool_calls"`;
//! - a `tool` message: "NAME says: …", the tool's result in a sentence
//!   (a JSON object's members as "name value");
//! - any other: as a model told to sort reviews would, "Positive.",
//!   "Negative." or "Neutral.", by counting a few telling words; with
//!   `response_format` `json_object`, `{"sentiment": "positive"}`.
//!
//! A user's message starting `!400`, `!401`, `!429`, `!500` or `!503` is
//! answered with that status and an error in OpenAI's shape,
//! `{"error": {"message", "type", "code"}}`. Content is cut at the first
//! `stop` string, and to `max_completion_tokens` (`finish_reason`
//! `"length"`), counting a token per 4 bytes, as `usage` does. Any other
//! path is a 404, and a body that is not a chat request a 400. The test
//! suite serves requests with this file's [`serve`] (see
//! `tests/examples.rs`).

use std::cmp::Ordering;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use serde_json::{Map, Value, json};

/// Where `examples/review/tape.toml` expects it.
const ADDRESS: &str = "127.0.0.1:8001";

/// Requests larger than this are refused unread.
const MAX_BODY: usize = 1 << 20;

fn main() -> io::Result<()> {
    let listener = TcpListener::bind(ADDRESS)?;
    println!("AI stub listening on http://{ADDRESS}/v1 (Ctrl-C stops it)");
    for stream in listener.incoming() {
        if let Err(error) = serve(stream?) {
            eprintln!("ai_stub: {error}");
        }
    }
    Ok(())
}

/// Reads one HTTP/1.1 request from `stream`, answers it and closes the
/// connection.
///
/// # Errors
///
/// When the connection fails or the request is not HTTP.
pub fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value
                .trim()
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        }
    }
    let (status, body) = if length > MAX_BODY {
        ("413 Content Too Large", error("request too large"))
    } else {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        answer(&request_line, &body)
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

/// The status line and JSON body that answer a request.
fn answer(request_line: &str, body: &[u8]) -> (&'static str, Vec<u8>) {
    if !request_line.starts_with("POST /v1/chat/completions ") {
        return (
            "404 Not Found",
            error("only POST /v1/chat/completions is served"),
        );
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return ("400 Bad Request", error(&format!("not JSON: {e}"))),
    };
    let Some(last) = request["messages"]
        .as_array()
        .and_then(|messages| messages.last())
    else {
        return (
            "400 Bad Request",
            error("`messages` must end with a message"),
        );
    };
    let text = last["content"].as_str().unwrap_or_default();
    if last["role"] == "user"
        && let Some(failure) = failure(text)
    {
        return failure;
    }
    let tools = request["tools"]
        .as_array()
        .filter(|tools| !tools.is_empty());
    let (message, finish_reason, completion) = match (last["role"].as_str(), tools) {
        (Some("user"), Some(tools)) if request["tool_choice"] != "none" => {
            let call = tool_call(&request, tools, text);
            let tokens = call.to_string().len().div_ceil(4);
            let message = json!({ "role": "assistant", "content": null, "tool_calls": [call] });
            (message, "tool_calls", tokens)
        }
        (Some("tool"), _) => {
            let content = format!("{}.", readable(text));
            finish(&request, format!("{} says: {content}", tool_name(&request)))
        }
        _ => {
            let verdict = sentiment(text);
            if request["response_format"]["type"] == "json_object" {
                let word = verdict.trim_end_matches('.').to_lowercase();
                finish(&request, json!({ "sentiment": word }).to_string())
            } else {
                finish(&request, verdict.to_string())
            }
        }
    };
    // What a model would count: about a token per 4 bytes.
    let prompt_tokens = body.len().div_ceil(4);
    let completion = json!({
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [{ "index": 0, "message": message, "finish_reason": finish_reason }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        },
    });
    ("200 OK", completion.to_string().into_bytes())
}

/// The error a user message asks for with `!429`, `!500` and the like.
fn failure(text: &str) -> Option<(&'static str, Vec<u8>)> {
    let code = text.strip_prefix('!')?.get(..3)?;
    let (status, kind, message) = match code {
        "400" => (
            "400 Bad Request",
            "invalid_request_error",
            "The stand-in was asked for a 400.",
        ),
        "401" => (
            "401 Unauthorized",
            "invalid_request_error",
            "Incorrect API key provided.",
        ),
        "429" => (
            "429 Too Many Requests",
            "rate_limit_exceeded",
            "Rate limit reached for requests. Please try again in 20s.",
        ),
        "500" => (
            "500 Internal Server Error",
            "server_error",
            "The server had an error while processing your request.",
        ),
        "503" => (
            "503 Service Unavailable",
            "server_error",
            "The engine is currently overloaded.",
        ),
        _ => return None,
    };
    let body = json!({ "error": { "message": message, "type": kind, "code": null } });
    Some((status, body.to_string().into_bytes()))
}

/// An assistant message with `content`, cut at the first of the request's
/// `stop` strings and to its `max_completion_tokens`, with its finish
/// reason and the tokens it counts.
fn finish(request: &Value, mut content: String) -> (Value, &'static str, usize) {
    let stops = request["stop"].as_array().into_iter().flatten();
    for stop in stops.filter_map(Value::as_str) {
        if let Some(at) = content.find(stop) {
            content.truncate(at);
        }
    }
    let mut finish_reason = "stop";
    let max = request["max_completion_tokens"]
        .as_u64()
        .map_or(usize::MAX, |max| usize::try_from(max).unwrap_or(usize::MAX));
    if content.len().div_ceil(4) > max {
        let mut end = max * 4;
        while !content.is_char_boundary(end) {
            end -= 1;
        }
        content.truncate(end);
        finish_reason = "length";
    }
    let tokens = content.len().div_ceil(4);
    let message = json!({ "role": "assistant", "content": content });
    (message, finish_reason, tokens)
}

/// A call to the tool `tool_choice` names, or else the first: its first
/// string parameter set to the last run of capitalised words of `text`
/// after its first word ("New York" in "Is it raining in New York?"), or
/// to `text` itself.
fn tool_call(request: &Value, tools: &[Value], text: &str) -> Value {
    let chosen = request["tool_choice"]["function"]["name"].as_str();
    let tool = tools
        .iter()
        .find(|tool| Some(tool["function"]["name"].as_str().unwrap_or_default()) == chosen)
        .unwrap_or(&tools[0]);
    let function = &tool["function"];
    let parameter = function["parameters"]["properties"]
        .as_object()
        .and_then(|properties| {
            properties
                .iter()
                .find(|(_, schema)| schema["type"] == "string")
                .map(|(name, _)| name.clone())
        });
    // The last run of capitalised words after the first word.
    let mut runs: Vec<Vec<&str>> = Vec::new();
    let mut capitalised_before = false;
    let words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    for (i, word) in words.enumerate() {
        let capitalised = i > 0 && word.starts_with(char::is_uppercase);
        match runs.last_mut() {
            Some(run) if capitalised && capitalised_before => run.push(word),
            _ if capitalised => runs.push(vec![word]),
            _ => {}
        }
        capitalised_before = capitalised;
    }
    let name = runs.last().map(|run| run.join(" "));
    let word = name.as_deref().unwrap_or(text);
    let mut arguments = Map::new();
    if let Some(name) = parameter {
        arguments.insert(name, word.into());
    }
    // One id per call in the conversation, so a second round's differs.
    let round = request["messages"].as_array().map_or(0, |messages| {
        messages.iter().filter(|m| m["role"] == "assistant").count()
    });
    json!({
        "id": format!("call_{}", round + 1),
        "type": "function",
        "function": {
            "name": function["name"],
            "arguments": Value::Object(arguments).to_string(),
        },
    })
}

/// The name of the tool whose call the last message answers.
fn tool_name(request: &Value) -> String {
    let messages = request["messages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let id = messages.last().map(|m| &m["tool_call_id"]);
    messages
        .iter()
        .filter_map(|m| m["tool_calls"].as_array())
        .flatten()
        .find(|call| Some(&call["id"]) == id)
        .and_then(|call| call["function"]["name"].as_str())
        .unwrap_or("the tool")
        .to_string()
}

/// A tool's result as a sentence: a JSON object's members as "name
/// value", in order, or the text as it is.
fn readable(result: &str) -> String {
    match serde_json::from_str::<Value>(result) {
        Ok(Value::Object(members)) => members
            .iter()
            .map(|(name, value)| match value {
                Value::String(s) => format!("{name} {s}"),
                other => format!("{name} {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => result.trim().to_string(),
    }
}

/// "Positive.", "Negative." or "Neutral.": which kind of telling word
/// `review` has more of.
fn sentiment(review: &str) -> &'static str {
    const GOOD: &str = "great good love lovely excellent fast perfect happy";
    const BAD: &str = "bad broken slow awful hate terrible refund poor";
    let (mut good, mut bad) = (0, 0);
    for word in review.split(|c: char| !c.is_alphanumeric()) {
        let word = word.to_lowercase();
        good += GOOD.split(' ').filter(|w| *w == word).count();
        bad += BAD.split(' ').filter(|w| *w == word).count();
    }
    match good.cmp(&bad) {
        Ordering::Greater => "Positive.",
        Ordering::Less => "Negative.",
        Ordering::Equal => "Neutral.",
    }
}

/// An error body in the API's shape.
fn error(message: &str) -> Vec<u8> {
    json!({ "error": { "message": message, "type": "invalid_request_error" } })
        .to_string()
        .into_bytes()
}
