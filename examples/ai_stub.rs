//! A stand-in for an OpenAI-compatible chat-completions endpoint, so that
//! `examples/review` runs with no model and no network:
//!
//! ```sh
//! cargo run --example ai_stub     # serves http://127.0.0.1:8001/v1
//! tape run examples/review/review.wat 'Great battery, and the screen is lovely.'
//! ```
//!
//! It answers `POST /v1/chat/completions` as a model told to sort reviews
//! would: "Positive.", "Negative." or "Neutral.", judged by counting a few
//! telling words in the last message. The same review always gets the same
//! answer, so the example's expected output holds. Anything else is a 404,
//! and a body that is not a chat request a 400. The test suite serves
//! requests with this file's [`serve`] (see `tests/examples.rs`).

use std::cmp::Ordering;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use serde_json::{Value, json};

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
        .and_then(|message| message["content"].as_str())
    else {
        return (
            "400 Bad Request",
            error("`messages` must end with a message"),
        );
    };
    let text = sentiment(last);
    // What a model would count: about a token per 4 bytes.
    let prompt_tokens = body.len().div_ceil(4);
    let completion = json!({
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": text },
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 2,
            "total_tokens": prompt_tokens + 2,
        },
    });
    ("200 OK", completion.to_string().into_bytes())
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
