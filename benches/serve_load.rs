//! `tape serve` under load, against the same runs made in-process through
//! `tape-rt`, in the same run: requests per second and the 50th and 99th
//! percentile of latency for `hello` and for a `kv` program on Redis, at 1,
//! 8 and 64 concurrent clients. The ratio, in-process runs per second ÷
//! the service's requests per second, is what the service costs.
//!
//! The programs:
//!
//! - `hello` (`examples/hello/hello.wat`): one result, no capability; the
//!   run is almost nothing, so its row is the service's own cost;
//! - `hits` (`benches/wat/hits/hits.wat`): `kv.incr` then `kv.get` of one
//!   key, `kv` on a Redis server of the bench's own
//!   (`tape_testkit::redis::RedisServer`): two round trips to Redis a run.
//!
//! The service: the release `tape serve` that cargo builds for the bench,
//! on `127.0.0.1:0`, serving a temporary directory with both programs,
//! `--kv redis://…`, `--concurrency` and `--queue` at the most clients
//! (so no request waits in its queue or is turned away), its module cache
//! in the temporary directory. Each client is a thread with a keep-alive
//! `ureq` agent of its own, one connection, posting `{"args": []}` to
//! `/run/NAME` with a bearer token, back to back; a request counts when
//! its answer is 200 with `"ok":true`, read whole.
//!
//! In-process: the same source compiled once by a `tape_rt::Engine` set up
//! as the server sets up its own (pooling, a slot per client), with the
//! grants the server gives it — its `tape.toml` read by
//! `tape_caps::Manifest`, the same Redis URL in its `[kv]` table, the local
//! capabilities `tape run` adds — and each run in the namespace of the
//! service's client, as the server does; a thread per client calling
//! `Run::run` back to back. A run counts when it succeeds.
//!
//! Each (program, clients) pair runs the service, then in-process: a
//! warm-up (1 s), then the measurement (3 s), every request or run that
//! starts in it timed. Requests per second are those counted over the
//! measurement's length; any failure stops the bench with its message.
//!
//! Measured so (`cargo bench -p tape --bench serve_load`, 2 vCPUs, nothing
//! else running):
//!
//! ```text
//!                 │    serve                     │  in-proc                     │  ratio
//! program clients │    req/s       p50       p99 │   runs/s       p50       p99 │
//! hello         1 │     6769    133 µs    489 µs │   476332      2 µs      2 µs │  70.4×
//! hello         8 │    14000    532 µs   1.33 ms │   449568      4 µs      6 µs │  32.1×
//! hello        64 │    10722   4.48 ms  26.29 ms │   463900      4 µs      5 µs │  43.3×
//! hits          1 │     2706    367 µs    673 µs │     6351    153 µs    253 µs │   2.3×
//! hits          8 │     4868   1.36 ms   5.28 ms │    11178    400 µs   4.01 ms │   2.3×
//! hits         64 │     4015  11.22 ms  69.99 ms │     6111   6.69 ms  52.72 ms │   1.5×
//! ```
//!
//! A second run a minute before gave ratios within 5% of these (`hello`
//! at 64 clients 41.6×, `hits` at 1 client 2.4×) and rates within 10%.
//! Any row repeats with `--clients N`.
//!
//! What limits it: two cores, shared by the load client, the server and
//! Redis. In-process there is no client and no HTTP: a `hello` run is 2 µs
//! of one thread. Over HTTP every request is also the client's work, the
//! loopback, hyper's parsing, the JSON of the request and the answer, and
//! the hand-offs between the server's async threads and its blocking pool
//! (at one client, each a wait for a sleeping thread to wake). So for
//! `hello` the ratio is the whole of the service's cost per request: at 8
//! clients, two cores ÷ 14,000 requests a second is about 140 µs of CPU
//! a request, the client's included. The client's
//! share of that is not separated out: on a machine whose clients are
//! elsewhere, the service's figures would be better. For `hits`, two
//! Redis round trips a run dominate, and the service costs 1.5–2.3×. At 64
//! clients both sides run no faster than at 8: 64 threads switch on two
//! cores, p99 grows 13–20-fold, and `kv` runs wait for one of the 16
//! connections of the Redis pool. On a busy machine the service suffers
//! most: with two builds running, `hello` at one client fell to 440–900
//! requests a second, its requests taking about 4 ms more at a time (a
//! scheduler tick, waiting for a thread to be woken), while in-process
//! runs barely changed. Measure on a quiet machine.
//!
//! Under `cargo test --benches` (CI's `cargo test --workspace --benches`)
//! it makes a short smoke run instead — 1 and 8 clients, 200 ms each, the
//! debug build — checking that every request and run succeeded, and
//! prints the table. Options, after `--`: `--warm-up-time SECS`,
//! `--measurement-time SECS`, `--clients 1,8,64`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tape_caps::Manifest;
use tape_caps::kv::Namespace;
use tape_rt::{Args, Config, Engine, Limits, Pooling, Program, Run};
use tape_testkit::redis::RedisServer;
use tape_testkit::serve::ServeProcess;

/// The bench's client, as the server's tokens file names it: its `kv`
/// namespace, and that of the in-process runs.
const CLIENT: &str = "bench";
const TOKEN: &str = "bench-token-0123456789abcdef";

/// The programs, as the server names them.
const PROGRAMS: [&str; 2] = ["hello", "hits"];

/// How long each part runs, and for how many clients.
struct Plan {
    warm_up: Duration,
    measurement: Duration,
    clients: Vec<usize>,
}

impl Plan {
    /// `cargo bench` passes `--bench`; `cargo test --benches` does not,
    /// and gets a smoke run.
    fn from_args() -> (Plan, bool) {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let measuring = args.iter().any(|a| a == "--bench");
        let mut plan = match measuring {
            true => Plan {
                warm_up: Duration::from_secs(1),
                measurement: Duration::from_secs(3),
                clients: vec![1, 8, 64],
            },
            false => Plan {
                warm_up: Duration::from_millis(50),
                measurement: Duration::from_millis(200),
                clients: vec![1, 8],
            },
        };
        let seconds = |flag: &str, value: Option<&String>| {
            let value = value.unwrap_or_else(|| panic!("{flag} takes a number of seconds"));
            Duration::from_secs_f64(
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("{flag} {value}: not a number of seconds")),
            )
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--warm-up-time" => plan.warm_up = seconds(arg, args.next()),
                "--measurement-time" => plan.measurement = seconds(arg, args.next()),
                "--clients" => {
                    let list = args.next().expect("--clients takes a list: 1,8,64");
                    plan.clients = list
                        .split(',')
                        .map(|n| match n.trim().parse() {
                            Ok(n) if n > 0 => n,
                            _ => panic!("--clients {list}: not a list of counts"),
                        })
                        .collect();
                }
                // What cargo and libtest pass (`--bench`, a filter).
                _ => {}
            }
        }
        (plan, measuring)
    }

    fn most_clients(&self) -> usize {
        self.clients.iter().copied().max().unwrap_or(1)
    }
}

/// Every request or run timed in a measurement.
struct Load {
    latencies: Vec<Duration>,
    measurement: Duration,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.measurement.as_secs_f64()
    }

    /// The `p`th percentile (`latencies` are sorted).
    fn percentile(&self, p: usize) -> Duration {
        let index = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[index]
    }
}

/// `clients` threads, each with a `C` of its own from `open`, calling
/// `call` back to back through the warm-up and the measurement; the calls
/// that start within the measurement are timed. The first failure of any
/// call stops the bench with its message.
fn load<C>(
    plan: &Plan,
    clients: usize,
    open: impl Fn() -> C + Sync,
    call: impl Fn(&mut C) -> Result<(), String> + Sync,
) -> Load {
    let start = Instant::now() + plan.warm_up;
    let end = start + plan.measurement;
    let failed = AtomicBool::new(false);
    let mut latencies = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut client = open();
                    let mut latencies = Vec::new();
                    loop {
                        let begun = Instant::now();
                        if begun >= end || failed.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(message) = call(&mut client) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(message);
                        }
                        if begun >= start {
                            latencies.push(begun.elapsed());
                        }
                    }
                    Ok(latencies)
                })
            })
            .collect();
        let mut all = Vec::new();
        for thread in threads {
            match thread.join().expect("a client thread panicked") {
                Ok(latencies) => all.extend(latencies),
                Err(message) => panic!("{clients} clients: {message}"),
            }
        }
        all
    });
    assert!(!latencies.is_empty(), "nothing finished in the measurement");
    latencies.sort_unstable();
    Load {
        latencies,
        measurement: plan.measurement,
    }
}

/// A directory with both programs, as `tape serve` reads one.
fn programs(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, from) in [("hello", "examples/hello"), ("hits", "benches/wat/hits")] {
        let to = dir.join(name);
        std::fs::create_dir_all(&to).expect("a program's directory");
        for file in [format!("{name}.wat"), "tape.toml".to_string()] {
            std::fs::copy(root.join(from).join(&file), to.join(&file))
                .unwrap_or_else(|e| panic!("{from}/{file}: {e}"));
        }
    }
}

/// A running `tape serve`, killed when dropped.
struct Server(ServeProcess);

impl Server {
    fn start(dir: &Path, redis: &str, concurrency: usize) -> Server {
        let tokens = dir.join("tokens.txt");
        std::fs::write(&tokens, format!("{CLIENT} {TOKEN}\n")).expect("a tokens file");
        let slots = concurrency.to_string();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tape"));
        command
            .arg("serve")
            .arg(dir.join("programs"))
            .arg("--tokens")
            .arg(&tokens)
            .args(["--listen", "127.0.0.1:0", "--kv", redis])
            .args(["--concurrency", &slots, "--queue", &slots])
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("NO_COLOR", "1");
        Server(ServeProcess::start(command))
    }

    /// One request: 200 with `"ok":true`, read whole, or what it was.
    fn run(&self, agent: &ureq::Agent, program: &str) -> Result<(), String> {
        let mut response = agent
            .post(format!("{}/run/{program}", self.0.base))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .content_type("application/json")
            .send(r#"{"args": []}"#)
            .map_err(|e| format!("POST /run/{program}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("POST /run/{program}: reading the answer: {e}"))?;
        match status == 200 && body.contains(r#""ok":true"#) {
            true => Ok(()),
            false => Err(format!("POST /run/{program}: {status} {body}")),
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

/// The programs compiled in this process, with the grants and limits the
/// server gives them.
struct InProcess {
    programs: Vec<(String, Program)>,
}

impl InProcess {
    fn new(dir: &Path, redis: &str, concurrency: usize) -> InProcess {
        let mut found = Vec::new();
        for name in PROGRAMS {
            let manifest = dir.join("programs").join(name).join("tape.toml");
            let mut manifest = Manifest::load(&manifest).expect("the program's tape.toml");
            // What `--kv redis://…` does to it.
            if let Some(kv) = &mut manifest.kv {
                (kv.url, kv.path) = (Some(redis.to_string()), None);
            }
            manifest.grant_local();
            let limits = manifest.limits(Limits::default());
            found.push((name, manifest, limits));
        }
        let max_memory = found.iter().map(|(_, _, l)| l.max_memory).max();
        let engine = Engine::new(Config {
            limits: Limits {
                max_memory: max_memory.unwrap_or(Limits::default().max_memory),
                ..Limits::default()
            },
            cache_dir: None,
            pooling: Some(Pooling {
                instances: u32::try_from(concurrency).expect("a few clients"),
            }),
            ..Config::default()
        })
        .expect("an engine");
        let programs = found
            .into_iter()
            .map(|(name, manifest, _)| {
                let file = dir.join("programs").join(name).join(format!("{name}.wat"));
                let source = std::fs::read_to_string(&file).expect("the program's source");
                let grants = manifest.grants().expect("the program's grants");
                let program = engine
                    .compile_str(&format!("{name}/{name}.wat"), &source, &grants)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                (name.to_string(), program)
            })
            .collect();
        InProcess { programs }
    }

    fn program(&self, name: &str) -> &Program {
        &self
            .programs
            .iter()
            .find(|(n, _)| n == name)
            .expect("a program")
            .1
    }

    /// One run, as the server makes it: in the client's namespace, with
    /// the program's limits.
    fn run(program: &Program) -> Result<(), String> {
        let outcome = Run::new(program)
            .args(Args::new())
            .limits(program.default_limits().clone())
            .data(Namespace::new(CLIENT))
            .run()
            .map_err(|e| format!("in-process run: {e}"))?;
        match outcome.is_success() {
            true => Ok(()),
            false => Err(format!("in-process run: status {}", outcome.status)),
        }
    }
}

/// One row of the table.
struct Row {
    program: &'static str,
    clients: usize,
    service: Load,
    in_process: Load,
}

fn main() {
    let (plan, measuring) = Plan::from_args();
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("a temporary directory");
    programs(&dir.path().join("programs"));
    let server = Server::start(dir.path(), &redis.url(), plan.most_clients());
    let local = InProcess::new(dir.path(), &redis.url(), plan.most_clients());

    let mut rows = Vec::new();
    for program in PROGRAMS {
        for &clients in &plan.clients {
            let service = load(&plan, clients, agent, |agent| server.run(agent, program));
            let compiled = local.program(program);
            let in_process = load(&plan, clients, || (), |()| InProcess::run(compiled));
            rows.push(Row {
                program,
                clients,
                service,
                in_process,
            });
        }
    }
    if !measuring {
        println!("smoke run (`cargo bench` measures):");
    }
    print!("{}", table(&rows));
}

/// The table of every row.
fn table(rows: &[Row]) -> String {
    let mut text = format!(
        "{:<7} {:>7} │ {:>8} {:>9} {:>9} │ {:>8} {:>9} {:>9} │ {:>6}\n",
        "", "", "serve", "", "", "in-proc", "", "", "ratio"
    );
    text += &format!(
        "{:<7} {:>7} │ {:>8} {:>9} {:>9} │ {:>8} {:>9} {:>9} │ {:>6}\n",
        "program", "clients", "req/s", "p50", "p99", "runs/s", "p50", "p99", ""
    );
    for row in rows {
        let (s, l) = (&row.service, &row.in_process);
        text += &format!(
            "{:<7} {:>7} │ {:>8.0} {:>9} {:>9} │ {:>8.0} {:>9} {:>9} │ {:>5.1}×\n",
            row.program,
            row.clients,
            s.per_second(),
            shown(s.percentile(50)),
            shown(s.percentile(99)),
            l.per_second(),
            shown(l.percentile(50)),
            shown(l.percentile(99)),
            l.per_second() / s.per_second(),
        );
    }
    text
}

/// A latency, in µs below a millisecond.
fn shown(time: Duration) -> String {
    let micros = time.as_secs_f64() * 1e6;
    match micros < 1000.0 {
        true => format!("{micros:.0} µs"),
        false => format!("{:.2} ms", micros / 1000.0),
    }
}
