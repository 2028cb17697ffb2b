//! A guest's `http.get` against the same request made with ureq directly,
//! both to a server on loopback: what the sandbox, the policy checks and
//! the reply copy add to a real request.
//!
//! Quick run: `cargo bench -p tape-rt --bench http -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use criterion::{Criterion, criterion_group, criterion_main};
use tape_caps::Http;
use tape_rt::{Args, Config, Engine};

/// Answers every connection with a 5-byte body, then closes it.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = (&stream).write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            );
        }
    });
    origin
}

fn get(c: &mut Criterion) {
    let origin = serve();
    let url = format!("{origin}/x");
    let engine = Engine::new(Config::default()).unwrap();
    let program = engine
        .compile_str(
            "get.wat",
            r#"(func $run (result i32)
                 (local $url i32) (local $body i32) (local $status i32)
                 (call $core.arg (i32.const 0)) (local.set $status) (local.set $url)
                 (call $http.get_body (local.get $url))
                 (local.set $status) (local.set $body)
                 (if (local.get $status) (then (return (local.get $status))))
                 (call $core.result (local.get $body)))"#,
            &tape_caps::grants().grant(Http::new().allow(&origin)),
        )
        .unwrap();
    let args = Args::strings([url.as_str()]);
    let agent = ureq::Agent::new_with_defaults();

    let mut group = c.benchmark_group("http_get_loopback");
    group.bench_function("ureq", |b| {
        b.iter(|| {
            let body = agent.get(&url).call().unwrap().body_mut().read_to_vec();
            black_box(body.unwrap())
        })
    });
    group.bench_function("tape", |b| {
        b.iter(|| {
            let outcome = program.run(&args).unwrap();
            assert_eq!(outcome.status, 0);
            black_box(outcome)
        })
    });
    group.finish();
}

criterion_group!(benches, get);
criterion_main!(benches);
