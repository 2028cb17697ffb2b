//! The routes: what a request may say, and what the server answers.
//!
//! A run's answer is the object `tape run --json --report` prints, with
//! `program` and `logs` added (and `source` for source sent); every other
//! error is `{"schema": 1, "command": "serve", "ok": false, "error":
//! {"kind", "message", "help"}}`. docs/serve.md is the reference.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tape_caps::kv::Namespace;
use tape_rt::{Args, Limits, Run, json_kind};

use crate::arg::{self, Arg};
use crate::failure::{Failure, Kind};
use crate::output::{SCHEMA, json_report};
use crate::run::Finished;

use super::admission::{Admission, Refused, Ticket};
use super::auth::{ANONYMOUS, Tokens};
use super::metrics::{CONTENT_TYPE as METRICS_TYPE, Metrics};
use super::programs::{self, Programs, Served};
use super::tap::{self, LogLine};

/// What every request's handler shares.
#[derive(Debug)]
pub struct AppState {
    pub programs: Programs,
    /// `None` with `--no-auth`.
    pub tokens: Option<Tokens>,
    pub admission: Arc<Admission>,
    pub metrics: Metrics,
    pub max_request: usize,
    /// Set once the server is stopping: `/healthz` answers 503.
    pub draining: AtomicBool,
}

type Shared = Arc<AppState>;

pub fn router(state: Shared) -> Router {
    let limit = state.max_request;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/programs", get(list_programs))
        .route("/run/{name}", post(run_named))
        .route("/run", post(run_source))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// An answer without a run: its status, a kind and message, maybe help.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    help: Option<String>,
    retry_after: Option<u64>,
    authenticate: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            help: None,
            retry_after: None,
            authenticate: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> ApiError {
        self.help = Some(help.into());
        self
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = Map::new();
        error.insert("kind".into(), self.kind.into());
        error.insert("message".into(), self.message.into());
        if let Some(help) = self.help {
            error.insert("help".into(), help.into());
        }
        let body = json!({"schema": SCHEMA, "command": "serve", "ok": false, "error": error});
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.authenticate {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// The client a request's bearer token names.
#[derive(Debug)]
pub struct Client(Arc<str>);

impl FromRequestParts<Shared> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Client, ApiError> {
        let Some(tokens) = &state.tokens else {
            return Ok(Client(ANONYMOUS.into()));
        };
        let header = parts.headers.get(AUTHORIZATION);
        let token = header
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let refused = |message: &str, challenge| {
            state.metrics.reject("unauthorized");
            let mut error = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).help(
                "send `Authorization: Bearer TOKEN` with a token the server was given (--tokens)",
            );
            error.authenticate = Some(challenge);
            error
        };
        match token {
            None if header.is_none() => Err(refused(
                "this request needs a bearer token",
                "Bearer realm=\"tape\"",
            )),
            None => Err(refused(
                "the Authorization header is not `Bearer TOKEN`",
                "Bearer realm=\"tape\", error=\"invalid_request\"",
            )),
            Some(token) => tokens.client(token).map(Client).ok_or_else(|| {
                refused(
                    "the bearer token is not one this server knows",
                    "Bearer realm=\"tape\", error=\"invalid_token\"",
                )
            }),
        }
    }
}

/// A request to run a program.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    /// An object by name, or an array in order.
    #[serde(default)]
    args: Option<Value>,
    #[serde(default)]
    limits: Option<RequestLimits>,
    /// For `POST /run`.
    #[serde(default)]
    source: Option<String>,
}

/// Limits a request asks for, each at most the program's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestLimits {
    fuel: Option<u64>,
    timeout_ms: Option<u64>,
    max_memory: Option<u64>,
}

async fn healthz(State(state): State<Shared>) -> Response {
    if state.draining.load(Ordering::SeqCst) {
        let body = json!({"status": "stopping"});
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn metrics(State(state): State<Shared>, _: Client) -> Response {
    let text = state.metrics.encode();
    ([(CONTENT_TYPE, METRICS_TYPE)], text).into_response()
}

async fn list_programs(State(state): State<Shared>, _: Client) -> Response {
    let programs: Vec<Value> = state
        .programs
        .all()
        .map(|served| {
            let declared = served.program.arguments();
            let schema = (!declared.is_empty()).then(|| {
                let mut schema = crate::usage::schema(&served.file, declared);
                schema["title"] = served.name.clone().into();
                schema["description"] =
                    format!("the arguments of `POST /run/{}`", served.name).into();
                // Over HTTP a `bytes` argument is the string's UTF-8, not
                // the path of a file to read.
                if let Some(Value::Object(properties)) = schema.get_mut("properties") {
                    for property in properties.values_mut() {
                        if let Value::Object(property) = property {
                            property.remove("x-tape-path");
                        }
                    }
                }
                schema
            });
            json!({
                "name": served.name,
                "file": served.file,
                "manifest": served.manifest,
                "arguments_schema": schema,
                "limits": limits_json(&served.limits),
            })
        })
        .collect();
    axum::Json(json!({
        "schema": SCHEMA,
        "command": "serve",
        "ok": true,
        "programs": programs,
        "source": state.programs.allow_source(),
    }))
    .into_response()
}

fn limits_json(limits: &Limits) -> Value {
    json!({
        "fuel": limits.fuel,
        "timeout_ms": limits.timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        "max_memory": limits.max_memory,
    })
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no route `{method} {}`", uri.path()),
    )
    .help("the routes: POST /run/NAME, POST /run, GET /programs, GET /healthz, GET /metrics")
}

async fn run_named(
    State(state): State<Shared>,
    Client(client): Client,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = match read_request(&state, body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let Some(served) = state.programs.get(&name).cloned() else {
        state.metrics.reject("not-found");
        let known = state.programs.names().join(", ");
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no program `{name}` is served here"),
        )
        .help(if known.is_empty() {
            "this server serves no programs by name; POST /run runs source".to_string()
        } else {
            format!("the programs: {known} (GET /programs describes them)")
        })
        .into_response();
    };
    if request.source.is_some() {
        state.metrics.reject("bad-request");
        return ApiError::bad_request(format!(
            "`source` is for POST /run; POST /run/{name} runs the program `{name}`"
        ))
        .into_response();
    }
    let prepared = match prepare(&served, request.args, request.limits) {
        Ok(prepared) => prepared,
        Err(failure) => return refused_run(&state, &served, failure, None),
    };
    let ticket = match admit(&state, &client).await {
        Ok(ticket) => ticket,
        Err(error) => return error.into_response(),
    };
    start(
        state,
        served,
        prepared,
        client,
        ticket,
        None,
        wants_stream(&headers),
    )
    .await
}

async fn run_source(
    State(state): State<Shared>,
    Client(client): Client,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = match read_request(&state, body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    if !state.programs.allow_source() {
        state.metrics.reject("forbidden");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this server does not run source sent in requests",
        )
        .help("POST /run/NAME runs a program it serves; the operator allows source with `tape serve --allow-source`")
        .into_response();
    }
    let Some(source) = request.source else {
        state.metrics.reject("bad-request");
        return ApiError::bad_request("`source` is missing: POST /run runs the source it is sent")
            .help("send {\"source\": \"(func $run (result i32) (i32.const 0))\"}, or POST /run/NAME to run a program the server has")
            .into_response();
    };
    // Compiling takes a slot, as running does.
    let ticket = match admit(&state, &client).await {
        Ok(ticket) => ticket,
        Err(error) => return error.into_response(),
    };
    let hash = programs::hash(&source);
    let (served, cached) = match state.programs.cached(&source) {
        Some(served) => (served, true),
        None => {
            let compiling = state.clone();
            let compiled =
                tokio::task::spawn_blocking(move || compiling.programs.compile_source(&source))
                    .await;
            match compiled {
                Ok(Ok(served)) => (served, false),
                Ok(Err(failure)) => {
                    state.metrics.reject("compile");
                    let body =
                        json!({"program": programs::SOURCE_PROGRAM, "file": programs::SOURCE_FILE});
                    let status = status_of(Some(&failure));
                    return (
                        status,
                        axum::Json(json_report("run", &body, Some(&failure))),
                    )
                        .into_response();
                }
                Err(_) => return internal("compiling the source panicked"),
            }
        }
    };
    let source_json = json!({"sha256": crate::output::hex(&hash), "cached": cached});
    let prepared = match prepare(&served, request.args, request.limits) {
        Ok(prepared) => prepared,
        Err(failure) => return refused_run(&state, &served, failure, Some(source_json)),
    };
    let stream = wants_stream(&headers);
    start(
        state,
        served,
        prepared,
        client,
        ticket,
        Some(source_json),
        stream,
    )
    .await
}

/// The request's body as JSON; an empty body is `{}`.
fn read_request(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<RunRequest, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            state.metrics.reject("too-large");
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!(
                    "the request body is over {}, the most this server takes",
                    crate::limits::show_size(state.max_request as u64)
                ),
            )
            .help("send less, or ask the operator for a larger --max-request")
        } else {
            state.metrics.reject("bad-request");
            ApiError::bad_request(format!("cannot read the request body: {rejection}"))
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(RunRequest::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        state.metrics.reject("bad-request");
        ApiError::bad_request(format!("the request body is not a run request: {e}")).help(
            "send a JSON object: {\"args\": {…} or […], \"limits\": {\"fuel\", \"timeout_ms\", \"max_memory\"}}",
        )
    })
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/event-stream"))
}

async fn admit(state: &Shared, client: &Arc<str>) -> Result<Ticket, ApiError> {
    state.admission.admit(client).await.map_err(|refused| {
        let (status, kind, message, retry_after) = match refused {
            Refused::Overloaded { retry_after } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "every run slot and queue place is taken".to_string(),
                retry_after,
            ),
            Refused::ClientLimit { limit, retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "client-limit",
                format!(
                    "this client already has {limit} requests running or waiting, as many as it may"
                ),
                retry_after,
            ),
        };
        state.metrics.reject(kind);
        let mut error = ApiError::new(status, kind, message)
            .help(format!("try again in {retry_after} s (Retry-After)"));
        error.retry_after = Some(retry_after);
        error
    })
}

/// A run's arguments and limits, checked.
struct Prepared {
    args: Args,
    limits: Limits,
}

fn prepare(
    served: &Served,
    args: Option<Value>,
    limits: Option<RequestLimits>,
) -> Result<Prepared, Failure> {
    let args = arguments(served, args).map_err(|failure| {
        if served.program.arguments().is_empty() {
            failure
        } else {
            failure.help(format!(
                "GET /programs gives the JSON Schema of `{}`'s arguments",
                served.name
            ))
        }
    })?;
    let limits = narrow(&served.limits, limits.unwrap_or_default())?;
    Ok(Prepared { args, limits })
}

/// The run's arguments: by name from an object (as `--args-json`), or in
/// order from an array whose strings are read as `tape run` reads words
/// (`i32:5`, `wire:{…}`), except that nothing names a file: `@PATH` is
/// refused, and a `bytes` argument is the string's UTF-8.
fn arguments(served: &Served, args: Option<Value>) -> Result<Args, Failure> {
    let program = &served.program;
    let declared = program.arguments();
    match args {
        None if declared.is_empty() => Ok(Args::new()),
        None => program.args_builder().finish().map_err(arg::usage),
        Some(Value::Object(fields)) if declared.is_empty() => {
            if fields.is_empty() {
                return Ok(Args::new());
            }
            Err(Failure::usage(format!(
                "`{}` declares no arguments, so it cannot take them by name",
                served.name
            ))
            .help("send them in order as an array of strings: {\"args\": [\"a\", \"i32:5\"]}"))
        }
        Some(object @ Value::Object(_)) => program.args_from_json(&object).map_err(arg::usage),
        Some(Value::Array(items)) if declared.is_empty() => {
            let mut args = Args::new();
            for (index, item) in items.into_iter().enumerate() {
                let Value::String(text) = item else {
                    return Err(Failure::usage(format!(
                        "argument {index} is {}, and `{}` declares no arguments, so each is a string",
                        json_kind(&item),
                        served.name
                    ))
                    .help("type a value with a prefix, as `tape run` takes it: \"i32:5\", \"wire:{\\\"a\\\":1}\""));
                };
                args = args.push_raw(word(index, &text)?.into_wire(index)?);
            }
            Ok(args)
        }
        Some(Value::Array(items)) => {
            let given = items.len();
            if given > declared.len() {
                return Err(arg::usage(tape_rt::ArgumentError::TooMany {
                    given,
                    declared: declared.len(),
                }));
            }
            let mut builder = program.args_builder();
            for (position, item) in items.into_iter().enumerate() {
                let set = match item {
                    Value::String(text) => match word(position, &text)? {
                        Arg::Plain(text) => builder.text(position, &text),
                        Arg::Typed { ty, given, wire } => builder.typed(position, ty, &given, wire),
                        Arg::Wire(_) | Arg::File(_) => {
                            let argument = builder.argument(position).map_err(arg::usage)?;
                            return Err(Failure::usage(format!(
                                "argument `{}` is declared as {}, and `wire:` values have no type",
                                argument.name, argument.ty
                            ))
                            .help("write the value plainly, or with its type's prefix"));
                        }
                    },
                    value => builder.json(position, &value),
                };
                set.map_err(arg::usage)?;
            }
            builder.finish().map_err(arg::usage)
        }
        Some(other) => Err(Failure::usage(format!(
            "`args` is {}; give an object (by name) or an array (in order)",
            json_kind(&other)
        ))),
    }
}

/// A string of an `args` array, read as `tape run` reads a word.
fn word(index: usize, text: &str) -> Result<Arg, Failure> {
    match Arg::parse(text) {
        Ok(Arg::File(_)) => Err(Failure::usage(format!(
            "argument {index} (`{text}`) names a file, which a request cannot"
        ))
        .help("send the contents, or `str:@…` for text starting with `@`")),
        Ok(arg) => Ok(arg),
        Err(e) => {
            let failure = Failure::usage(format!("argument {index} (`{text}`): {}", e.message));
            Err(match e.help {
                Some(help) => failure.help(help),
                None => failure,
            })
        }
    }
}

/// The program's limits with the request's over them, each at most the
/// program's.
fn narrow(ceiling: &Limits, asked: RequestLimits) -> Result<Limits, Failure> {
    let over = |name: &str, asked: String, most: String| {
        Failure::usage(format!(
            "limits.{name} {asked} is over {most}, the most this program may have"
        ))
        .help("a request may only lower a limit; GET /programs gives each program's")
    };
    let mut limits = ceiling.clone();
    if let Some(fuel) = asked.fuel {
        if let Some(most) = ceiling.fuel.filter(|most| fuel > *most) {
            return Err(over("fuel", fuel.to_string(), most.to_string()));
        }
        limits.fuel = Some(fuel);
    }
    if let Some(ms) = asked.timeout_ms {
        let timeout = Duration::from_millis(ms);
        if let Some(most) = ceiling.timeout.filter(|most| timeout > *most) {
            return Err(over(
                "timeout_ms",
                ms.to_string(),
                most.as_millis().to_string(),
            ));
        }
        limits.timeout = Some(timeout);
    }
    if let Some(bytes) = asked.max_memory {
        if bytes > ceiling.max_memory {
            return Err(over(
                "max_memory",
                bytes.to_string(),
                ceiling.max_memory.to_string(),
            ));
        }
        limits.max_memory = bytes;
    }
    Ok(limits)
}

/// The HTTP status of a run's answer: 200 whenever the program ran,
/// whatever became of it; the request's fault 4xx; the server's 500.
fn status_of(failure: Option<&Failure>) -> StatusCode {
    match failure.map(|f| f.kind) {
        None => StatusCode::OK,
        Some(Kind::Usage | Kind::Manifest) => StatusCode::BAD_REQUEST,
        Some(Kind::Compile | Kind::InvalidModule | Kind::MissingExport) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Some(Kind::Io | Kind::Internal | Kind::HostPanic) => StatusCode::INTERNAL_SERVER_ERROR,
        Some(_) => StatusCode::OK,
    }
}

/// A run refused before it started (its arguments or limits).
fn refused_run(
    state: &AppState,
    served: &Served,
    failure: Failure,
    source: Option<Value>,
) -> Response {
    state.metrics.reject("bad-request");
    let mut body = json!({"program": served.name, "file": served.file});
    if let Some(source) = source {
        body["source"] = source;
    }
    let status = status_of(Some(&failure));
    (
        status,
        axum::Json(json_report("run", &body, Some(&failure))),
    )
        .into_response()
}

fn internal(message: &str) -> Response {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message).into_response()
}

/// Runs the program on the blocking pool, holding `ticket`, and answers
/// with its outcome, or streams it.
async fn start(
    state: Shared,
    served: Arc<Served>,
    prepared: Prepared,
    client: Arc<str>,
    ticket: Ticket,
    source: Option<Value>,
    stream: bool,
) -> Response {
    if stream {
        let (events, received) = tokio::sync::mpsc::unbounded_channel::<Event>();
        tokio::task::spawn_blocking(move || {
            let ran = tap::stream(events.clone(), || ran(&served, prepared, &client));
            drop(ticket);
            let (_, answer) = answer(&state, &served, ran, None, source);
            // The results, then the whole answer; a client that went
            // away reads none of them.
            for result in answer["results"].as_array().into_iter().flatten() {
                let _ = events.send(tap::event("result", result));
            }
            let _ = events.send(tap::event("outcome", &answer));
        });
        let stream = futures_util::stream::unfold(received, |mut received| async move {
            let event = received.recv().await?;
            Some((Ok::<Event, Infallible>(event), received))
        });
        return Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response();
    }
    let task = tokio::task::spawn_blocking(move || {
        let (ran, logs) = tap::keep(|| ran(&served, prepared, &client));
        drop(ticket);
        answer(&state, &served, ran, Some(logs), source)
    });
    match task.await {
        Ok((status, answer)) => (status, axum::Json(answer)).into_response(),
        Err(_) => internal("the run panicked"),
    }
}

/// What a run came to, and how long it took.
struct Ran {
    finished: Result<Finished, Failure>,
    took: Duration,
    limits: Limits,
}

/// One run, in `client`'s `kv` namespace. On a blocking thread.
fn ran(served: &Served, prepared: Prepared, client: &str) -> Ran {
    let Prepared { args, limits } = prepared;
    let start = Instant::now();
    let run = Run::new(&served.program)
        .args(args)
        .limits(limits.clone())
        .data(Namespace::new(client))
        .run();
    let took = start.elapsed();
    let finished = crate::run::finish(
        served.file.clone(),
        served.manifest.clone(),
        run,
        &limits,
        true,
        served.source.as_deref(),
    );
    Ran {
        finished,
        took,
        limits,
    }
}

/// The answer to a run, counted in the metrics.
fn answer(
    state: &AppState,
    served: &Served,
    ran: Ran,
    logs: Option<Vec<LogLine>>,
    source: Option<Value>,
) -> (StatusCode, Value) {
    state.admission.ran(ran.took);
    let (run, mut failure) = match ran.finished {
        Ok(finished) => (Some(finished.body), finished.failure),
        Err(failure) => (None, Some(failure)),
    };
    // `tape run`'s help names its flags; here the limits are the
    // program's, which a request may only lower.
    if let Some(failure) = &mut failure
        && matches!(
            failure.kind,
            Kind::OutOfFuel | Kind::Timeout | Kind::OutOfMemory
        )
    {
        failure.details.help = Some(format!(
            "GET /programs gives the most a run of `{}` may have; a request may lower it \
             with `limits`, and the operator raise it (its tape.toml, or tape serve's flags)",
            served.name
        ));
    }
    let outcome = failure.as_ref().map_or("ok", |f| f.kind.name());
    state
        .metrics
        .run(&served.name, outcome, ran.took.as_secs_f64());
    let mut body = Map::new();
    body.insert("program".into(), served.name.clone().into());
    match run.map(serde_json::to_value) {
        Some(Ok(Value::Object(fields))) => body.extend(fields),
        _ => {
            body.insert("file".into(), served.file.clone().into());
            body.insert("limits".into(), limits_json(&ran.limits));
        }
    }
    if let Some(source) = source {
        body.insert("source".into(), source);
    }
    if let Some(logs) = logs {
        body.insert("logs".into(), json!(logs));
    }
    let status = status_of(failure.as_ref());
    (status, json_report("run", &body, failure.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_narrows_limits_and_cannot_raise_them() {
        let ceiling = Limits::default();
        let asked = RequestLimits {
            fuel: Some(5),
            timeout_ms: Some(250),
            max_memory: Some(1 << 20),
        };
        let limits = narrow(&ceiling, asked).unwrap();
        assert_eq!(limits.fuel, Some(5));
        assert_eq!(limits.timeout, Some(Duration::from_millis(250)));
        assert_eq!(limits.max_memory, 1 << 20);
        let over = narrow(
            &ceiling,
            RequestLimits {
                timeout_ms: Some(60_000),
                ..RequestLimits::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            over.message,
            "limits.timeout_ms 60000 is over 10000, the most this program may have"
        );
        // No ceiling: anything goes.
        let open = Limits {
            fuel: None,
            ..Limits::default()
        };
        let asked = RequestLimits {
            fuel: Some(u64::MAX),
            ..RequestLimits::default()
        };
        assert_eq!(narrow(&open, asked).unwrap().fuel, Some(u64::MAX));
    }

    #[test]
    fn a_run_that_ran_is_200_whatever_became_of_it() {
        assert_eq!(status_of(None), StatusCode::OK);
        for (kind, status) in [
            (Kind::Status, 200),
            (Kind::Trap, 200),
            (Kind::Timeout, 200),
            (Kind::NotGranted, 200),
            (Kind::Usage, 400),
            (Kind::Compile, 422),
            (Kind::Internal, 500),
        ] {
            let failure = Failure::new(kind, "x");
            assert_eq!(status_of(Some(&failure)).as_u16(), status, "{kind:?}");
        }
    }
}
