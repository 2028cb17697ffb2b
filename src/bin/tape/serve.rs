//! `tape serve`: run programs on request, over HTTP.
//!
//! One process holds a directory's programs, compiled once at start, and
//! runs them for authenticated clients: `POST /run/NAME` with arguments as
//! JSON answers with the outcome `tape run --json` prints (or streams it
//! as server-sent events). Runs go to tokio's blocking pool behind a
//! semaphore of `--concurrency` permits, with a queue of `--queue`
//! waiting before the server answers 503. The process keeps no state of
//! its own between requests: what programs keep is in their `kv` grant,
//! so identical processes can stand behind one load balancer.
//!
//! - `programs`: loading the directory, the source cache, the grants;
//! - `api`: the routes, the request and the answer;
//! - `admission`: concurrency, the queue and per-client limits;
//! - `auth`: bearer tokens and the clients they name;
//! - `tap`: each run's log messages, to its own request;
//! - `metrics`: what `/metrics` reports.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::failure::Failure;
use crate::grants::GrantOpts;
use crate::input::SourceOpts;
use crate::limits::LimitOpts;
use crate::output::{Output, OutputOpts, print_stderr};

mod admission;
mod api;
mod auth;
mod metrics;
mod programs;
mod tap;

const AFTER_HELP: &str = "\
Programs:
  DIR holds one program per NAME: `NAME/NAME.wat` with its `tape.toml` beside
  it (the layout of examples/), or `NAME.wat` with `DIR/tape.toml`; a module
  built with `tape build` may be `.wasm` instead. Each is compiled at start,
  and a program that does not compile stops the server, naming its file.
  Its grants and limits come from its `tape.toml`, with the flags below over
  it, as for `tape run`; a request may only narrow its limits.

API (docs/serve.md has the whole of it):
  POST /run/NAME    {\"args\": {\"name\": \"Ada\"}, \"limits\": {\"timeout_ms\": 500}}
                    runs NAME; answers with `tape run --json`'s object, plus
                    `program` and `logs`; `Accept: text/event-stream` streams
                    `log` events as they are written, then `result` and
                    `outcome` events
  POST /run         {\"source\": \"(func $run …)\", \"args\": […]}, with --allow-source
  GET  /programs    each program with its arguments' JSON Schema and limits
  GET  /healthz     200 while serving (no token needed)
  GET  /metrics     runs, outcomes, queue and latency, for Prometheus

  Every request but /healthz needs `Authorization: Bearer TOKEN`. A client's
  runs keep their `kv` keys apart from every other client's.

Status codes:
  200  the program ran: `ok`, `exit_code` and `error` say how it went (a
       non-zero status, a trap, a limit), as for `tape run --json`
  400  the request is wrong: JSON, arguments or limits (named in `error`)
  401  no token, or an unknown one      403  source without --allow-source
  404  no such program or route         413  the body is over --max-request
  422  the source sent does not compile
  429  the client has --client-limit requests in flight (with Retry-After)
  503  every run slot and queue place is taken (with Retry-After); and
       /healthz once the server is stopping
  500  the server itself failed

Examples:
  tape serve programs --tokens tokens.txt
  tape serve programs --listen 0.0.0.0:8080 --token-env TAPE_TOKEN \\
      --concurrency 8 --queue 32 --timeout 5s --max-memory 32MiB
  curl -H \"Authorization: Bearer $TOKEN\" -d '{\"args\":{\"name\":\"Ada\"}}' \\
      http://127.0.0.1:8080/run/greet

SIGTERM or Ctrl-C stops accepting connections and exits once the runs in
progress have answered.";

/// Serve programs over HTTP: POST /run/NAME with JSON arguments
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Opts {
    /// The directory of programs to serve (see below); may be left out
    /// with --allow-source
    #[arg(value_name = "DIR", required_unless_present = "allow_source")]
    programs: Option<PathBuf>,
    /// The address to listen on; `0.0.0.0:8080` for every interface, port
    /// 0 for any free one (the address taken is printed)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Clients and their bearer tokens: one `CLIENT TOKEN` a line, `#`
    /// comments; a client may have several tokens
    #[arg(long, value_name = "FILE", help_heading = "Clients")]
    tokens: Option<PathBuf>,
    /// One more token, read from the environment variable VAR, for the
    /// client `default`
    #[arg(long, value_name = "VAR", help_heading = "Clients")]
    token_env: Option<String>,
    /// Take requests without a token, all as the client `anonymous` (for a
    /// server only a trusted proxy reaches)
    #[arg(long, help_heading = "Clients", conflicts_with_all = ["tokens", "token_env"])]
    no_auth: bool,
    /// Runs in progress at once [default: the number of CPUs]
    #[arg(long, value_name = "N", help_heading = "Capacity", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    concurrency: Option<u32>,
    /// Requests that may wait for a run slot; past them the answer is 503
    #[arg(
        long,
        value_name = "N",
        default_value_t = 64,
        help_heading = "Capacity"
    )]
    queue: usize,
    /// Requests one client may have running or waiting; past them the
    /// answer is 429 [default: no limit]
    #[arg(long, value_name = "N", help_heading = "Capacity", value_parser = clap::value_parser!(u32).range(1..))]
    client_limit: Option<u32>,
    /// Size of a request body; a larger one is answered 413
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = crate::limits::parse_size, help_heading = "Capacity")]
    max_request: u64,
    /// Run source sent in the request (`POST /run` with `source`), with the
    /// grants and limits the flags give a program without a manifest
    #[arg(long, help_heading = "Source")]
    allow_source: bool,
    /// Compiled sources kept, by the hash of their text; the least
    /// recently used leaves first
    #[arg(long, value_name = "N", default_value_t = 64, help_heading = "Source")]
    source_cache: usize,
    #[command(flatten)]
    limits: LimitOpts,
    #[command(flatten)]
    source: SourceOpts,
    #[command(flatten)]
    grants: GrantOpts,
}

pub fn run(opts: Opts) -> u8 {
    // Messages for people on standard error; the answers are the API's.
    let out = Output::new("serve", &OutputOpts::default());
    let dir = opts
        .programs
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    match serve(&opts, out) {
        Ok(()) => crate::exit::SUCCESS,
        Err(failure) => out.fail(&dir, failure),
    }
}

fn serve(opts: &Opts, out: Output) -> Result<(), Failure> {
    let tokens = match opts.no_auth {
        true => None,
        false => Some(auth::Tokens::load(
            opts.tokens.as_deref(),
            opts.token_env.as_deref(),
        )?),
    };
    let concurrency = opts.concurrency.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    let programs = programs::Programs::load(
        opts.programs.as_deref(),
        &programs::Settings {
            limits: &opts.limits,
            source: &opts.source,
            grants: &opts.grants,
            concurrency,
            allow_source: opts.allow_source,
            source_cache: opts.source_cache,
            styles: out.styles,
        },
    )?;
    let metrics = metrics::Metrics::new();
    let admission = admission::Admission::new(
        concurrency,
        opts.queue,
        opts.client_limit.map(|n| n as usize),
        &metrics,
    );
    let state = Arc::new(api::AppState {
        programs,
        tokens,
        admission,
        metrics,
        max_request: usize::try_from(opts.max_request).unwrap_or(usize::MAX),
        draining: Default::default(),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Runs hold a permit each, so no more than `concurrency` blocking
        // threads run programs; a few more compile sources.
        .max_blocking_threads(concurrency + 4)
        .thread_name("tape-serve")
        .build()
        .map_err(|e| Failure::io(format!("cannot start the server's threads: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&opts.listen)
            .await
            .map_err(|e| {
                Failure::io(format!(
                    "--listen {}: cannot listen there: {e}",
                    opts.listen
                ))
                .help("give a free HOST:PORT, e.g. 127.0.0.1:8080, or port 0 for any")
            })?;
        let address = listener
            .local_addr()
            .map_err(|e| Failure::io(format!("--listen {}: {e}", opts.listen)))?;
        let count = state.programs.names().len();
        print_stderr(&format!(
            "tape serve: {count} program{}{}, {concurrency} at once, {} queued at most\n\
             tape serve: listening on http://{address}\n",
            if count == 1 { "" } else { "s" },
            if opts.allow_source {
                " and source from requests"
            } else {
                ""
            },
            opts.queue,
        ));
        let app = api::router(state.clone());
        let draining = state.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                draining.draining.store(true, Ordering::SeqCst);
                let running = draining.admission.in_flight();
                print_stderr(&format!(
                    "tape serve: stopping; answering the {running} request{} in progress first\n",
                    if running == 1 { "" } else { "s" }
                ));
            })
            .await
            .map_err(|e| Failure::io(format!("the server failed: {e}")))
    })?;
    print_stderr("tape serve: stopped\n");
    Ok(())
}

/// Ctrl-C, or SIGTERM (what a container runtime or systemd sends).
async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM stops the server.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
