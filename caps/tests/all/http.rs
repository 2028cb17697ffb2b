//! The `http` capability, against real servers on loopback. No test sends
//! traffic anywhere else: URLs naming other addresses are checked with
//! `Http::refusal` first, so a policy bug fails the test before anything
//! is sent.

use std::time::{Duration, Instant};

use tape_caps::Http;
use tape_rt::{Args, ErrorKind, Limits, Outcome, Program, status};

use crate::program;
use tape_testkit::server::{Reply, Server};

/// `http.get(arg 0, arg 1)`; results: the whole reply, then its body,
/// found as the documentation says.
const GET: &str = r#"
(func $run (result i32)
  (local $url i32) (local $headers i32) (local $reply i32) (local $status i32)
  (call $core.arg (i32.const 0)) (local.set $status) (local.set $url)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.arg (i32.const 1)) (local.set $status) (local.set $headers)
  (if (local.get $status) (then (return (local.get $status))))
  (call $http.get (local.get $url) (local.get $headers))
  (local.set $status) (local.set $reply)
  (if (local.get $status) (then (return (local.get $status))))
  (local.set $status (call $core.result (local.get $reply)))
  (if (local.get $status) (then (return (local.get $status))))
  ;; The body follows the status and the headers: reply + 12 + H.
  (call $core.result
    (i32.add (i32.add (local.get $reply) (i32.const 12))
             (i32.load offset=8 (local.get $reply)))))"#;

/// `http.post(arg 0, arg 1, arg 2)`; result: the whole reply.
const POST: &str = r#"
(func $run (result i32)
  (local $url i32) (local $headers i32) (local $body i32) (local $reply i32) (local $status i32)
  (call $core.arg (i32.const 0)) (local.set $status) (local.set $url)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.arg (i32.const 1)) (local.set $status) (local.set $headers)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.arg (i32.const 2)) (local.set $status) (local.set $body)
  (if (local.get $status) (then (return (local.get $status))))
  (call $http.post (local.get $url) (local.get $headers) (local.get $body))
  (local.set $status) (local.set $reply)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.result (local.get $reply)))"#;

/// `http.get_body(arg 0)`; result: the body.
pub const GET_BODY: &str = r#"
(func $run (result i32)
  (local $url i32) (local $body i32) (local $status i32)
  (call $core.arg (i32.const 0)) (local.set $status) (local.set $url)
  (if (local.get $status) (then (return (local.get $status))))
  (call $http.get_body (local.get $url))
  (local.set $status) (local.set $body)
  (if (local.get $status) (then (return (local.get $status))))
  (call $core.result (local.get $body)))"#;

/// The reply struct, as the guest receives it.
type Reply3 = (u32, Vec<(String, String)>, Vec<u8>);

fn get_program(http: Http) -> Program {
    program(GET, &tape_caps::grants().grant(http))
}

fn get(http: Http, url: &str, headers: &str) -> Outcome {
    get_program(http)
        .run(&Args::strings([url, headers]))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn post(http: Http, url: &str, headers: &str, body: &str) -> Outcome {
    program(POST, &tape_caps::grants().grant(http))
        .run(&Args::strings([url, headers, body]))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn reply(outcome: &Outcome) -> Reply3 {
    assert_eq!(outcome.status, status::OK, "{outcome:?}");
    outcome.result(0).unwrap()
}

fn header<'a>(reply: &'a Reply3, name: &str) -> Option<&'a str> {
    reply
        .1
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn get_returns_status_headers_and_body_in_the_documented_layout() {
    let server = Server::start(|_| Reply::ok("hello").with_header("X-Test", "yes"));
    let http = Http::new().allow(&server.origin());
    let url = server.url("/greet?x=1");
    let outcome = get(http, &url, "Accept: text/plain\nX-Trace:  7 \r\n");
    let reply = reply(&outcome);
    assert_eq!(reply.0, 200);
    assert_eq!(header(&reply, "x-test"), Some("yes"));
    assert_eq!(header(&reply, "content-length"), Some("5"));
    assert_eq!(reply.2, b"hello");
    assert_eq!(outcome.result::<&str>(1).unwrap(), "hello");

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/greet?x=1")
    );
    assert_eq!(seen[0].header("accept"), Some("text/plain"));
    assert_eq!(seen[0].header("x-trace"), Some("7"));
    assert!(
        seen[0]
            .header("user-agent")
            .unwrap()
            .starts_with("tape-rt/")
    );

    let (name, usage) = &outcome.usage.capabilities[0];
    assert_eq!(name, "http");
    assert_eq!(usage.calls, 1);
    assert_eq!(usage.bytes_in, (url.len() + 33) as u64);
    assert_eq!(usage.bytes_out, outcome.results[0].len() as u64);
}

#[test]
fn the_guest_reads_the_http_status_with_one_load() {
    let server = Server::start(|request| match request.path.as_str() {
        "/missing" => Reply::status(404, "no"),
        _ => Reply::status(503, ""),
    });
    let program = program(
        r#"(func $run (result i32)
             (local $url i32) (local $reply i32) (local $status i32)
             (call $core.arg (i32.const 0)) (local.set $status) (local.set $url)
             (call $http.get (local.get $url) "")
             (local.set $status) (local.set $reply)
             (if (local.get $status) (then (return (i32.const -1))))
             (i32.load offset=4 (local.get $reply)))"#,
        &tape_caps::grants().grant(Http::new().allow(&server.origin())),
    );
    for (path, code) in [("/missing", 404), ("/busy", 503)] {
        let outcome = program.run(&Args::strings([server.url(path)])).unwrap();
        assert_eq!(outcome.status, code);
    }
}

#[test]
fn post_sends_the_body_and_headers() {
    let server = Server::start(|request| {
        Reply::status(201, request.body.clone()).with_header("Location", "/items/1")
    });
    let http = Http::new().allow(&server.origin());
    let body = r#"{"name": "thing", "size": 3}"#;
    let outcome = post(
        http,
        &server.url("/items"),
        "Content-Type: application/json\nX-Tag: a\nX-Tag: b",
        body,
    );
    let reply = reply(&outcome);
    assert_eq!((reply.0, &reply.2[..]), (201, body.as_bytes()));
    assert_eq!(header(&reply, "location"), Some("/items/1"));
    let seen = &server.requests()[0];
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/items")
    );
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.header("content-length"), Some("28"));
    let tags: Vec<&str> = seen
        .headers
        .iter()
        .filter(|(name, _)| name == "x-tag")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(tags, ["a", "b"]);
    assert_eq!(seen.body, body.as_bytes());
}

#[test]
fn get_body_returns_the_body_of_a_2xx_response_only() {
    let server = Server::start(|request| match request.path.as_str() {
        "/ok" => Reply::ok("just the body"),
        _ => Reply::status(500, "broken"),
    });
    let program = program(
        GET_BODY,
        &tape_caps::grants().grant(Http::new().allow(&server.origin())),
    );
    let outcome = program.run(&Args::strings([server.url("/ok")])).unwrap();
    assert_eq!(outcome.status, status::OK);
    assert_eq!(outcome.result::<&str>(0).unwrap(), "just the body");
    let outcome = program.run(&Args::strings([server.url("/fail")])).unwrap();
    assert_eq!(outcome.status, status::IO_FAILURE);
    assert!(outcome.results.is_empty());
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn nothing_is_allowed_by_default() {
    let server = Server::start(|_| Reply::ok("reached"));
    let outcome = get(Http::new(), &server.url("/"), "");
    assert_eq!(outcome.status, status::ACCESS_DENIED);
    let outcome = get(Http::new().allow_private(true), &server.url("/"), "");
    assert_eq!(
        outcome.status,
        status::ACCESS_DENIED,
        "allow_private allows no host"
    );
    assert!(server.requests().is_empty());
    // The same server is reachable once allowed, so the refusals above
    // were the policy's.
    assert_eq!(
        reply(&get(
            Http::new().allow(&server.origin()),
            &server.url("/"),
            ""
        ))
        .0,
        200
    );
}

#[test]
fn origins_not_on_the_allow_list_are_refused_before_any_lookup() {
    let server = Server::start(|_| Reply::ok("reached"));
    let other = Server::start(|_| Reply::ok("reached"));
    let http = Http::new().allow(&server.origin());
    let program = get_program(http.clone());
    for url in [
        other.url("/"),
        format!("https://127.0.0.1:{}/", server.port()),
        "http://not-allowed.invalid/".to_string(),
        format!("http://localhost:{}/", server.port()),
    ] {
        assert!(http.refusal(&url).is_some(), "{url}");
        let outcome = program.run(&Args::strings([url.as_str(), ""])).unwrap();
        assert_eq!(outcome.status, status::ACCESS_DENIED, "{url}");
    }
    assert!(server.requests().is_empty());
    assert!(other.requests().is_empty());
}

#[test]
fn a_name_resolving_to_loopback_needs_allow_private() {
    let server = Server::start(|_| Reply::ok("reached"));
    let url = format!("http://localhost:{}/", server.port());
    let origin = format!("http://localhost:{}", server.port());
    let outcome = get(Http::new().allow(&origin), &url, "");
    assert_eq!(outcome.status, status::ACCESS_DENIED);
    assert!(server.requests().is_empty());
    // `localhost` may resolve to ::1 first, where nothing listens; the
    // client then tries the next checked address.
    let outcome = get(Http::new().allow(&origin).allow_private(true), &url, "");
    assert_eq!(reply(&outcome).2, b"reached");
}

#[test]
fn ipv6_loopback_is_reachable_when_its_exact_address_is_allowed() {
    let Some(server) = Server::start_on("[::1]:0", |_| Reply::ok("six")) else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    let outcome = get(Http::new().allow("http://*:*"), &server.url("/"), "");
    assert_eq!(outcome.status, status::ACCESS_DENIED);
    let outcome = get(Http::new().allow(&server.origin()), &server.url("/"), "");
    assert_eq!(reply(&outcome).2, b"six");
}

#[test]
fn redirects_are_followed_and_every_hop_is_checked() {
    let other = Server::start(|_| Reply::ok("must not be reached"));
    let elsewhere = other.url("/");
    let server = Server::start(move |request| match request.path.as_str() {
        "/start" => Reply::redirect(302, "/middle"),
        "/middle" => Reply::redirect(301, "end?x=1"),
        "/end?x=1" => Reply::ok("done"),
        "/away" => Reply::redirect(302, &elsewhere),
        "/invalid" => Reply::redirect(307, "http://evil.invalid/"),
        "/file" => Reply::redirect(302, "file:///etc/passwd"),
        "/loop" => Reply::redirect(302, "/loop"),
        _ => Reply::status(404, ""),
    });
    let http = Http::new().allow(&server.origin());
    let outcome = get(http.clone(), &server.url("/start"), "");
    assert_eq!(reply(&outcome).2, b"done");
    assert_eq!(server.requests().len(), 3);

    for path in ["/away", "/invalid", "/file"] {
        let outcome = get(http.clone(), &server.url(path), "");
        assert_eq!(outcome.status, status::ACCESS_DENIED, "{path}");
    }
    assert!(other.requests().is_empty());

    let before = server.requests().len();
    let outcome = get(http.clone().max_redirects(3), &server.url("/loop"), "");
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert_eq!(
        server.requests().len() - before,
        4,
        "the first request and 3 redirects"
    );

    let outcome = get(http.max_redirects(0), &server.url("/start"), "");
    let reply = reply(&outcome);
    assert_eq!(
        (reply.0, header(&reply, "location")),
        (302, Some("/middle"))
    );
}

#[test]
fn an_entry_naming_an_ip_opens_that_ip_on_its_own_scheme_and_port_only() {
    let other = Server::start(|_| Reply::ok("must not be reached"));
    let other_url = other.url("/");
    let named = Server::start(move |request| {
        let host = request.header("host").unwrap_or_default();
        match request.path.as_str() {
            "/other-port" => Reply::redirect(302, &other_url),
            "/default-port" => Reply::redirect(302, "http://127.0.0.1/"),
            "/https" => Reply::redirect(302, &format!("https://{host}/")),
            "/by-name" => Reply::redirect(302, &host.replace("127.0.0.1", "//localhost")),
            _ => Reply::ok("named"),
        }
    });
    // Wildcards for the public internet beside an exact loopback entry, as
    // a manifest's `https://*` and `--allow-http http://127.0.0.1:PORT`
    // combine: the wildcards put every loopback port on the allow-list, and
    // only the exact entry may lift the private-address rule, for its own
    // scheme and port.
    let http = Http::new()
        .allow("http://*:*")
        .allow("https://*:*")
        .allow(&named.origin());
    let program = get_program(http.clone());
    let run = |url: &str| program.run(&Args::strings([url, ""])).unwrap();
    assert_eq!(reply(&run(&named.url("/"))).2, b"named");

    let port = named.port();
    for url in [
        other.url("/"),
        "http://127.0.0.1/".to_string(),
        format!("http://127.0.0.1:{}/", other.port()),
        format!("https://127.0.0.1:{port}/"),
        format!("http://127.0.0.2:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
    ] {
        let why = http.refusal(&url).unwrap_or_else(|| panic!("{url} passes"));
        assert!(why.contains("loopback"), "{url}: {why}");
        assert_eq!(run(&url).status, status::ACCESS_DENIED, "{url}");
    }
    // A name resolving to the IP is not the IP.
    let by_name = format!("http://localhost:{port}/");
    assert_eq!(run(&by_name).status, status::ACCESS_DENIED);
    for path in ["/other-port", "/default-port", "/https", "/by-name"] {
        assert_eq!(
            run(&named.url(path)).status,
            status::ACCESS_DENIED,
            "redirect {path}"
        );
    }
    assert!(other.requests().is_empty());
    assert_eq!(
        named.requests().len(),
        5,
        "the first request and 4 redirects"
    );
}

#[test]
fn a_port_out_of_range_or_not_decimal_is_invalid_and_never_the_default() {
    let server = Server::start(|_| Reply::ok("reached"));
    let port = server.port();
    let redirect =
        Server::start(move |_| Reply::redirect(302, &format!("http://127.0.0.1:+{port}/")));
    // The IP on its default port too, so a port read as none would pass.
    let http = Http::new()
        .allow("http://127.0.0.1")
        .allow(&server.origin())
        .allow(&redirect.origin());
    let program = get_program(http.clone());
    for (url, why) in [
        ("http://127.0.0.1:65536/".to_string(), "out of range"),
        ("http://127.0.0.1:99999/".to_string(), "out of range"),
        (
            format!("http://127.0.0.1:{}/", 65536 + u32::from(port)),
            "out of range",
        ),
        ("http://127.0.0.1:-1/".to_string(), "not a decimal number"),
        (format!("http://127.0.0.1:+{port}/"), "not a decimal number"),
        ("http://127.0.0.1:/".to_string(), "empty port"),
        ("http://127.0.0.1:0/".to_string(), "port 0"),
        ("http://[::1]x/".to_string(), "after the IPv6 address"),
    ] {
        let refusal = http.refusal(&url).unwrap_or_else(|| panic!("{url} passes"));
        assert!(refusal.contains(why), "{url}: {refusal}");
        let outcome = program.run(&Args::strings([url.as_str(), ""])).unwrap();
        assert_eq!(outcome.status, status::INVALID_ARGUMENT, "{url}");
    }
    // From a server, it is a bad answer rather than a bad argument.
    let outcome = program
        .run(&Args::strings([redirect.url("/"), String::new()]))
        .unwrap();
    assert_eq!(outcome.status, status::IO_FAILURE);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    // The same port written plainly, even with a leading zero, is fine.
    for url in [server.url("/"), format!("http://127.0.0.1:0{port}/")] {
        let outcome = program.run(&Args::strings([url.as_str(), ""])).unwrap();
        assert_eq!(reply(&outcome).2, b"reached", "{url}");
    }
}

#[test]
fn a_redirect_to_another_origin_carries_only_the_documented_safe_headers() {
    let other = Server::start(|_| Reply::ok("other"));
    let other_origin = other.origin();
    let server = Server::start(move |request| {
        let host = request.header("host").unwrap_or_default();
        match request.path.as_str() {
            "/same" => Reply::redirect(307, "/landing"),
            "/same-absolute" => Reply::redirect(307, &format!("http://{host}/landing")),
            "/other-port" => Reply::redirect(307, &format!("{other_origin}/landing")),
            "/other-host" => Reply::redirect(
                307,
                &format!("http://{}/landing", host.replace("127.0.0.1", "localhost")),
            ),
            _ => Reply::ok("landed"),
        }
    });
    let http = Http::new()
        .allow(&server.origin())
        .allow(&other.origin())
        .allow(&format!("http://localhost:{}", server.port()))
        .allow_private(true);
    let headers = "Authorization: Bearer secret\nCookie: session=1\nX-Api-Key: key\n\
                   X-Custom: custom\nIf-None-Match: \"tag\"\nAccept: text/plain\n\
                   Accept-Language: fr\nCache-Control: no-cache\nUser-Agent: guest/1\n\
                   Content-Type: text/plain";
    let private = [
        "authorization",
        "cookie",
        "x-api-key",
        "x-custom",
        "if-none-match",
    ];
    let safe = [
        ("accept", "text/plain"),
        ("accept-language", "fr"),
        ("cache-control", "no-cache"),
        ("user-agent", "guest/1"),
        ("content-type", "text/plain"),
    ];
    let landed = |path: &str, on: &Server| {
        let before = on.requests().len();
        let outcome = post(http.clone(), &server.url(path), headers, "payload");
        assert_eq!(reply(&outcome).0, 200, "{path}");
        let request = on.requests()[before..].last().cloned().unwrap();
        assert_eq!(request.path, "/landing", "{path}");
        assert_eq!(request.body, b"payload", "307 keeps the body");
        request
    };
    for path in ["/same", "/same-absolute"] {
        let request = landed(path, &server);
        for name in private {
            assert!(
                request.header(name).is_some(),
                "{path}: {name} stays on its origin"
            );
        }
    }
    for (path, on) in [("/other-port", &other), ("/other-host", &server)] {
        let request = landed(path, on);
        for name in private {
            assert_eq!(request.header(name), None, "{path}: {name} crossed");
        }
        for (name, value) in safe {
            assert_eq!(request.header(name), Some(value), "{path}: {name}");
        }
    }
}

#[test]
fn redirects_between_http_and_https_are_checked_against_the_allow_list_both_ways() {
    let plain = Server::start(|_| Reply::ok("plain"));
    let plain_url = plain.url("/");
    let (secure, ca) = Server::start_tls(move |request| match request.path.as_str() {
        "/down" => Reply::redirect(302, &plain_url),
        _ => Reply::ok("secure"),
    });
    let secure_url = secure.url("/");
    let up = Server::start(move |_| Reply::redirect(302, &secure_url));
    let run = |http: Http, url: &str| get(http.root_certificates(ca.as_bytes()), url, "");

    // https → http: a downgrade needs the `http://` origin.
    let https_only = Http::new().allow(&secure.origin());
    let outcome = run(https_only.clone(), &secure.url("/down"));
    assert_eq!(outcome.status, status::ACCESS_DENIED);
    assert!(plain.requests().is_empty());
    let outcome = run(https_only.allow(&plain.origin()), &secure.url("/down"));
    assert_eq!(reply(&outcome).2, b"plain");

    // http → https: the `https://` origin is an origin of its own too.
    let http_only = Http::new().allow(&up.origin());
    let outcome = run(http_only.clone(), &up.url("/"));
    assert_eq!(outcome.status, status::ACCESS_DENIED);
    assert_eq!(secure.requests().len(), 2, "the two /down requests only");
    let outcome = run(http_only.allow(&secure.origin()), &up.url("/"));
    assert_eq!(reply(&outcome).2, b"secure");
}

#[test]
fn redirects_change_method_as_browsers_do_and_keep_credentials_on_their_origin() {
    let other = Server::start(|_| Reply::ok("other"));
    let other_url = other.url("/landing");
    let server = Server::start(move |request| match request.path.as_str() {
        "/see-other" => Reply::redirect(303, "/landing"),
        "/temporary" => Reply::redirect(307, "/landing"),
        "/cross" => Reply::redirect(308, &other_url),
        _ => Reply::ok(request.method.clone()),
    });
    let http = Http::new().allow(&server.origin()).allow(&other.origin());
    let headers = "Authorization: Bearer secret\nContent-Type: text/plain";

    let outcome = post(http.clone(), &server.url("/see-other"), headers, "payload");
    assert_eq!(reply(&outcome).2, b"GET");
    let outcome = post(http.clone(), &server.url("/temporary"), headers, "payload");
    assert_eq!(reply(&outcome).2, b"POST");
    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    assert!(seen[1].body.is_empty() && seen[1].header("content-type").is_none());
    assert_eq!(
        seen[1].header("authorization"),
        Some("Bearer secret"),
        "same origin"
    );
    assert_eq!(seen[3].body, b"payload");

    let outcome = post(http, &server.url("/cross"), headers, "payload");
    assert_eq!(reply(&outcome).2, b"other");
    let landed = &other.requests()[0];
    assert_eq!(
        (landed.method.as_str(), &landed.body[..]),
        ("POST", &b"payload"[..])
    );
    assert_eq!(
        landed.header("authorization"),
        None,
        "credentials stay on their origin"
    );
}

#[test]
fn a_response_over_the_cap_is_refused_not_cut() {
    let server = Server::start(|request| match request.path.as_str() {
        "/100" => Reply::ok(vec![b'a'; 100]),
        "/101" => Reply::ok(vec![b'a'; 101]),
        // No Content-Length: the cap must hold while reading.
        _ => {
            let mut raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            raw.extend(vec![b'b'; 5000]);
            Reply::Raw(raw)
        }
    });
    let http = Http::new().allow(&server.origin()).max_response_bytes(100);
    let program = get_program(http);
    let run = |path: &str| program.run(&Args::strings([server.url(path), String::new()]));
    assert_eq!(reply(&run("/100").unwrap()).2.len(), 100);
    assert_eq!(run("/101").unwrap().status, status::TOO_LARGE);
    assert_eq!(run("/stream").unwrap().status, status::TOO_LARGE);
    let unlimited = get(
        Http::new().allow(&server.origin()),
        &server.url("/stream"),
        "",
    );
    assert_eq!(reply(&unlimited).2.len(), 5000);
}

#[test]
fn response_headers_over_the_cap_are_refused() {
    let server = Server::start(|_| {
        let mut reply = Reply::ok("x");
        for i in 0..100 {
            reply = reply.with_header(&format!("X-Filler-{i}"), &"f".repeat(1000));
        }
        reply
    });
    let outcome = get(Http::new().allow(&server.origin()), &server.url("/"), "");
    assert_eq!(outcome.status, status::TOO_LARGE);
}

#[test]
fn request_caps_refuse_before_sending() {
    let server = Server::start(|_| Reply::ok("reached"));
    let http = Http::new().allow(&server.origin()).max_request_bytes(10);
    let url = server.url("/");
    assert_eq!(
        post(http.clone(), &url, "", "0123456789").status,
        status::OK
    );
    assert_eq!(
        post(http.clone(), &url, "", "0123456789A").status,
        status::TOO_LARGE
    );
    let many = "X-N: 1\n".repeat(65);
    assert_eq!(get(http.clone(), &url, &many).status, status::TOO_LARGE);
    assert_eq!(
        get(http.clone(), &url, &"X-N: 1\n".repeat(64)).status,
        status::OK
    );
    let long = format!("X-Long: {}", "v".repeat(16 << 10));
    assert_eq!(get(http.clone(), &url, &long).status, status::TOO_LARGE);
    let long_url = format!("{url}?{}", "q".repeat(8 << 10));
    assert_eq!(get(http.clone(), &long_url, "").status, status::TOO_LARGE);
    for bad in [
        "Host: evil.example",
        "Transfer-Encoding: chunked",
        "No colon",
        "X: a\u{7f}",
    ] {
        assert_eq!(
            get(http.clone(), &url, bad).status,
            status::INVALID_ARGUMENT,
            "{bad}"
        );
    }
    for bad in ["http://", "not a url", "http://exa mple.com/"] {
        assert_eq!(
            get(http.clone(), bad, "").status,
            status::INVALID_ARGUMENT,
            "{bad}"
        );
    }
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_url_that_is_not_utf8_is_an_invalid_argument() {
    let program = program(
        r#"(func $run (result i32)
             (local $status i32)
             (call $http.get "http://\ff/" "")
             (local.set $status) (drop)
             (local.get $status))"#,
        &tape_caps::grants().grant(Http::new().allow("http://*")),
    );
    assert_eq!(
        program.run(&Args::new()).unwrap().status,
        status::INVALID_ARGUMENT
    );
}

#[test]
fn the_run_may_send_a_bounded_number_of_requests() {
    let server = Server::start(|_| Reply::ok("x"));
    let program = program(
        r#"(func $run (result i32)
             (local $url i32) (local $status i32)
             (call $core.arg (i32.const 0)) (local.set $status) (local.set $url)
             (call $http.get_body (local.get $url)) (drop) (drop)
             (call $http.get_body (local.get $url)) (drop) (drop)
             (call $http.get_body (local.get $url))
             (local.set $status) (drop)
             (local.get $status))"#,
        &tape_caps::grants().grant(Http::new().allow(&server.origin()).max_requests(2)),
    );
    for _ in 0..2 {
        let outcome = program.run(&Args::strings([server.url("/")])).unwrap();
        assert_eq!(outcome.status, status::TOO_LARGE);
        assert_eq!(outcome.usage.capabilities[0].1.calls, 3);
    }
    assert_eq!(server.requests().len(), 4, "two per run");
}

#[test]
fn a_request_times_out_after_its_own_timeout() {
    let server = Server::start(|_| Reply::Stall(Duration::from_secs(5)));
    let http = Http::new()
        .allow(&server.origin())
        .timeout(Duration::from_millis(200));
    let start = Instant::now();
    let outcome = get(http, &server.url("/"), "");
    assert_eq!(outcome.status, status::TIMED_OUT);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_request_never_outlives_the_run() {
    let server = Server::start(|_| Reply::Stall(Duration::from_secs(5)));
    let program = get_program(Http::new().allow(&server.origin()));
    let limits = Limits {
        timeout: Some(Duration::from_millis(300)),
        ..Limits::default()
    };
    let start = Instant::now();
    let result = program.run_with(&Args::strings([server.url("/"), String::new()]), &limits);
    let elapsed = start.elapsed();
    match result.map_err(tape_rt::Error::into_kind) {
        Ok(outcome) => assert_eq!(outcome.status, status::TIMED_OUT),
        Err(ErrorKind::Timeout { .. }) => {}
        Err(other) => panic!("{other}"),
    }
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn network_and_protocol_failures_are_io_failures() {
    let server = Server::start(|request| match request.path.as_str() {
        "/garbage" => Reply::Raw(b"this is not HTTP\r\n\r\n".to_vec()),
        _ => Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort".to_vec()),
    });
    let http = Http::new().allow(&server.origin());
    assert_eq!(
        get(http.clone(), &server.url("/garbage"), "").status,
        status::IO_FAILURE
    );
    assert_eq!(
        get(http, &server.url("/short"), "").status,
        status::IO_FAILURE
    );

    // TLS is set up (a misconfigured provider would panic here) and a
    // server that does not speak it is a failure, not a crash.
    let tls = format!("https://127.0.0.1:{}", server.port());
    let outcome = get(Http::new().allow(&tls), &format!("{tls}/garbage"), "");
    assert_eq!(outcome.status, status::IO_FAILURE);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let outcome = get(Http::new().allow(&origin), &format!("{origin}/"), "");
    assert_eq!(outcome.status, status::IO_FAILURE);
}

#[test]
fn a_pointer_outside_memory_traps() {
    let program = program(
        r#"(func $run (result i32)
             (call $http.get (i32.const 0xfffffff0) (i32.const 0))
             (drop))"#,
        &tape_caps::grants().grant(Http::new()),
    );
    let error = program.run(&Args::new()).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::BadPointer { .. }),
        "{error}"
    );
}

#[test]
fn a_malformed_allow_list_entry_fails_the_link_and_names_it() {
    let error = tape_rt::Engine::compile_str(
        crate::engine(),
        "t.wat",
        GET_BODY,
        &tape_caps::grants().grant(
            Http::new()
                .allow("https://ok.example")
                .allow("htp://typo.example"),
        ),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("`htp://typo.example`"),
        "{error}"
    );
}

/// The WAT examples of the `http` and `ai` sections of
/// `docs/capabilities.md`.
pub fn documented_examples(section: &str) -> Vec<String> {
    let docs = include_str!("../../../docs/capabilities.md");
    let start = docs
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("no `## {section}` section"));
    let rest = &docs[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end]
        .split("```wat\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_documented_examples_compile_and_are_refused_without_a_grant_for_their_host() {
    let examples = documented_examples("http");
    assert_eq!(examples.len(), 3);
    for example in examples {
        let program = program(&example, &tape_caps::grants().grant(Http::new()));
        assert_eq!(
            program.run(&Args::new()).unwrap().status,
            status::ACCESS_DENIED
        );
    }
}

#[test]
fn https_reaches_a_server_whose_certificate_chains_to_a_trusted_root() {
    let (server, ca) = Server::start_tls(|request| Reply::ok(format!("secure {}", request.path)));
    assert!(server.origin().starts_with("https://127.0.0.1:"));
    // By address: the certificate names 127.0.0.1.
    let http = Http::new()
        .allow(&server.origin())
        .root_certificates(ca.as_bytes());
    let outcome = get(http, &server.url("/a"), "");
    assert_eq!(reply(&outcome).2, b"secure /a");
    // By name, over a verified connection.
    let origin = format!("https://localhost:{}", server.port());
    let http = Http::new()
        .allow(&origin)
        .allow_private(true)
        .root_certificates(ca.as_bytes());
    let outcome = get(http, &format!("{origin}/b"), "");
    assert_eq!(reply(&outcome).2, b"secure /b");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn https_refuses_a_server_that_does_not_chain_to_a_trusted_root() {
    let (server, _ca) = Server::start_tls(|_| Reply::ok("must not be read"));
    // Mozilla's roots, the default, do not know this authority.
    let outcome = get(Http::new().allow(&server.origin()), &server.url("/"), "");
    assert_eq!(outcome.status, status::IO_FAILURE, "{outcome:?}");
    // Nor does another authority's certificate.
    let (_other, other_ca) = Server::start_tls(|_| Reply::ok("other"));
    let http = Http::new()
        .allow(&server.origin())
        .root_certificates(other_ca.as_bytes());
    let outcome = get(http, &server.url("/"), "");
    assert_eq!(outcome.status, status::IO_FAILURE, "{outcome:?}");
    assert!(server.requests().is_empty(), "no request got through");
}

#[test]
fn root_certificates_that_are_not_certificates_fail_at_link() {
    for pem in [
        &b"not pem at all"[..],
        b"-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n",
    ] {
        let http = Http::new()
            .allow("https://example.com")
            .root_certificates(pem);
        let error = crate::engine()
            .compile_str("t.wat", GET, &tape_caps::grants().grant(http))
            .expect_err("bad roots");
        assert!(error.to_string().contains("root certificates"), "{error}");
    }
}

/// `http.request(arg 0, arg 1, arg 2, arg 3, timeout_ms)`; result: the
/// whole reply.
fn request_program(grants: &tape_rt::Grants, timeout_ms: i32) -> Program {
    program(
        &format!(
            r#"(func $run (result i32)
                 (local $method i32) (local $url i32) (local $headers i32) (local $body i32)
                 (local $reply i32) (local $status i32)
                 (argv 0 $method) (argv 1 $url) (argv 2 $headers) (argv 3 $body)
                 (call $http.request (local.get $method) (local.get $url) (local.get $headers)
                   (local.get $body) (i32.const {timeout_ms}))
                 (local.set $status) (local.set $reply)
                 (check (local.get $status))
                 (resv (local.get $reply))
                 (i32.const 0))"#
        ),
        grants,
    )
}

fn request(http: Http, method: &str, url: &str, headers: &str, body: &str) -> Outcome {
    request_program(&tape_caps::grants().grant(http), 0)
        .run(&Args::strings([method, url, headers, body]))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What the last failing call said, as `core.reason` would.
fn reason(outcome: &Outcome) -> String {
    outcome
        .reasons
        .last()
        .map(|reason| format!("{}: {}", reason.call, reason.message))
        .unwrap_or_default()
}

#[test]
fn request_sends_each_method_with_its_body_and_returns_any_answer() {
    let server = Server::start(|request| {
        let body = format!(
            "{} {}",
            request.method,
            String::from_utf8_lossy(&request.body)
        );
        let code = if request.path == "/fail" { 500 } else { 200 };
        Reply::status(code, body).with_header("X-Method", &request.method)
    });
    let http = Http::new().allow(&server.origin());
    let url = server.url("/items/7");
    for (method, body) in [
        ("GET", ""),
        ("POST", r#"{"a": 1}"#),
        ("PUT", "whole"),
        ("PATCH", "part"),
        ("DELETE", "why"),
        ("DELETE", ""),
        ("OPTIONS", ""),
        ("POST", ""),
    ] {
        let outcome = request(http.clone(), method, &url, "Content-Type: text/plain", body);
        let reply = reply(&outcome);
        assert_eq!(reply.0, 200, "{method}");
        assert_eq!(reply.2, format!("{method} {body}").as_bytes(), "{method}");
        let seen = server.requests().pop().unwrap();
        assert_eq!(
            (seen.method.as_str(), seen.path.as_str(), &seen.body[..]),
            (method, "/items/7", body.as_bytes())
        );
        // An empty body is sent as one only where the method needs it.
        let length = seen.header("content-length");
        match (method, body) {
            ("POST", "") => assert_eq!(length, Some("0")),
            (_, "") => assert_eq!(length, None, "{method}"),
            _ => assert_eq!(length, Some(body.len().to_string().as_str()), "{method}"),
        }
    }

    // A reply to HEAD has headers and no body, whatever Content-Length
    // says, and that length is not held against the response cap.
    let outcome = request(http.clone().max_response_bytes(1), "HEAD", &url, "", "");
    let head = reply(&outcome);
    assert_eq!((head.0, header(&head, "x-method")), (200, Some("HEAD")));
    assert_eq!(header(&head, "content-length"), Some("5"));
    assert!(head.2.is_empty());
    assert_eq!(server.requests().pop().unwrap().method, "HEAD");

    // The server's 500 is an answer: status OK, the HTTP status beside it.
    let outcome = request(http, "DELETE", &server.url("/fail"), "", "");
    let failed = reply(&outcome);
    assert_eq!((failed.0, &failed.2[..]), (500, &b"DELETE "[..]));
    assert!(outcome.reasons.is_empty(), "{:?}", outcome.reasons);
}

#[test]
fn request_refuses_other_methods_and_a_body_on_get_or_head() {
    let server = Server::start(|_| Reply::ok("reached"));
    let http = Http::new().allow(&server.origin());
    let url = server.url("/");
    for (method, body, why) in [
        (
            "get",
            "",
            "the method `get` is not `GET`: methods are case-sensitive",
        ),
        ("Delete", "", "is not `DELETE`"),
        (
            "TRACE",
            "",
            "the method `TRACE` is not supported; use GET, HEAD",
        ),
        ("CONNECT", "", "`CONNECT` is not supported"),
        ("PROPFIND", "", "`PROPFIND` is not supported"),
        ("GE T", "", "`GE T` is not an HTTP method"),
        ("", "", "`` is not an HTTP method"),
        ("GET\n", "", "is not an HTTP method"),
        (
            "POSTPOSTPOSTPOSTX",
            "",
            "the method of 17 bytes is not an HTTP method",
        ),
        ("GET", "x", "a GET request has no body"),
        ("HEAD", "xyz", "a HEAD request has no body"),
    ] {
        let outcome = request(http.clone(), method, &url, "", body);
        assert_eq!(outcome.status, status::INVALID_ARGUMENT, "{method:?}");
        let reason = reason(&outcome);
        assert!(
            reason.starts_with("http.request: ") && reason.contains(why),
            "{method:?}: {reason}"
        );
    }
    assert!(server.requests().is_empty());
}

#[test]
fn request_honours_its_own_timeout_within_the_grants() {
    let server = Server::start(|request| match request.path.as_str() {
        "/fast" => Reply::ok("fast"),
        _ => Reply::Stall(Duration::from_secs(5)),
    });
    let stall = server.url("/stall");
    let run = |http: Http, timeout_ms: i32, url: &str| {
        let start = Instant::now();
        let outcome = request_program(&tape_caps::grants().grant(http), timeout_ms)
            .run(&Args::strings(["GET", url, "", ""]))
            .unwrap();
        (outcome, start.elapsed())
    };
    // The grant allows 30 s; the program asks for 200 ms.
    let http = Http::new().allow(&server.origin());
    let (outcome, elapsed) = run(http.clone(), 200, &stall);
    assert_eq!(outcome.status, status::TIMED_OUT, "{outcome:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(reason(&outcome).contains("200ms"), "{}", reason(&outcome));

    // A program cannot ask for more than the grant.
    let short = http.clone().timeout(Duration::from_millis(200));
    let (outcome, elapsed) = run(short, 60_000, &stall);
    assert_eq!(outcome.status, status::TIMED_OUT);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");

    // Nor more than the run has left.
    let limits = Limits {
        timeout: Some(Duration::from_millis(300)),
        ..Limits::default()
    };
    let start = Instant::now();
    let result = request_program(&tape_caps::grants().grant(http.clone()), 60_000)
        .run_with(&Args::strings(["GET", stall.as_str(), "", ""]), &limits);
    match result.map_err(tape_rt::Error::into_kind) {
        Ok(outcome) => assert_eq!(outcome.status, status::TIMED_OUT),
        Err(ErrorKind::Timeout { .. }) => {}
        Err(other) => panic!("{other}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2));

    // Within its timeout, an answer is an answer.
    let (outcome, _) = run(http.clone(), 5_000, &server.url("/fast"));
    assert_eq!(reply(&outcome).2, b"fast");

    let before = server.requests().len();
    let (outcome, _) = run(http, -1, &server.url("/fast"));
    assert_eq!(outcome.status, status::INVALID_ARGUMENT);
    assert!(
        reason(&outcome).contains("the timeout of -1 ms is negative"),
        "{}",
        reason(&outcome)
    );
    assert_eq!(server.requests().len(), before, "refused before sending");
}

#[test]
fn get_body_tells_not_found_from_a_server_error_from_no_server() {
    // On failure, the program hands over what `core.reason` says.
    let program_for = |http: Http| {
        program(
            r#"(func $run (result i32)
                 (local $url i32) (local $body i32) (local $status i32)
                 (local $why i32) (local $found i32)
                 (argv 0 $url)
                 (call $http.get_body (local.get $url))
                 (local.set $status) (local.set $body)
                 (if (local.get $status)
                   (then
                     (call $core.reason) (local.set $found) (local.set $why)
                     (check (local.get $found))
                     (resv (local.get $why))
                     (return (local.get $status))))
                 (resv (local.get $body))
                 (i32.const 0))"#,
            &tape_caps::grants().grant(http),
        )
    };
    let server = Server::start(|request| match request.path.as_str() {
        "/ok" => Reply::ok("here"),
        "/missing" => Reply::status(404, "no such page"),
        "/gone" => Reply::status(410, ""),
        "/teapot" => Reply::status(418, ""),
        "/odd" => Reply::status(599, ""),
        _ => Reply::status(500, "broken"),
    });
    let program = program_for(Http::new().allow(&server.origin()));
    let run = |path: &str| program.run(&Args::strings([server.url(path)])).unwrap();
    let said = |outcome: &Outcome| outcome.result::<&str>(0).unwrap().to_string();

    let outcome = run("/ok");
    assert_eq!(
        (outcome.status, said(&outcome)),
        (status::OK, "here".into())
    );
    for (path, code, answer) in [
        ("/missing", status::NOT_FOUND, "404 Not Found"),
        ("/gone", status::NOT_FOUND, "410 Gone"),
        ("/broken", status::IO_FAILURE, "500 Internal Server Error"),
        ("/teapot", status::IO_FAILURE, "418 I'm a teapot"),
        ("/odd", status::IO_FAILURE, "599"),
    ] {
        let outcome = run(path);
        assert_eq!(outcome.status, code, "{path}");
        let why = said(&outcome);
        assert!(
            why.starts_with(&format!("http.get_body: the server answered {answer} (")),
            "{path}: {why}"
        );
    }

    // No server at all: the connection is refused, and the reason says so.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let outcome = program_for(Http::new().allow(&origin))
        .run(&Args::strings([format!("{origin}/missing")]))
        .unwrap();
    assert_eq!(outcome.status, status::IO_FAILURE);
    let why = said(&outcome);
    assert!(
        why.starts_with("http.get_body: ") && why.contains("the connection was refused"),
        "{why}"
    );
    assert!(!why.contains("answered"), "{why}");
}

#[test]
fn a_url_that_is_not_absolute_is_an_invalid_argument_for_every_function() {
    let server = Server::start(|_| Reply::ok("reached"));
    let port = server.port();
    // Everything on loopback is allowed, so no refusal below is the
    // allow-list's.
    let http = Http::new()
        .allow("http://*:*")
        .allow("https://*:*")
        .allow("http://127.0.0.1:*")
        .allow_private(true);
    let grants = tape_caps::grants().grant(http.clone());
    let get_body = program(GET_BODY, &grants);
    let get = program(GET, &grants);
    let post = program(POST, &grants);
    let request = request_program(&grants, 0);
    for (url, why) in [
        ("pages".to_string(), "`pages` is relative"),
        ("/x".to_string(), "`/x` is relative"),
        ("?page=2".to_string(), "is relative"),
        (format!("//127.0.0.1:{port}/x"), "has no scheme"),
        (format!("localhost:{port}/x"), "has no scheme"),
        (format!("127.0.0.1:{port}/x"), "is relative"),
        ("http:pages".to_string(), "has no host after `http:`"),
        ("http:///x".to_string(), "has no host"),
        (String::new(), "the URL is empty"),
    ] {
        let refusal = http.refusal(&url).unwrap_or_else(|| panic!("{url} passes"));
        assert!(refusal.contains(why), "{url}: {refusal}");
        for (name, outcome) in [
            ("http.get_body", get_body.run(&Args::strings([&url]))),
            ("http.get", get.run(&Args::strings([url.as_str(), ""]))),
            (
                "http.post",
                post.run(&Args::strings([url.as_str(), "", "x"])),
            ),
            (
                "http.request",
                request.run(&Args::strings(["PUT", url.as_str(), "", "x"])),
            ),
        ] {
            let outcome = outcome.unwrap();
            assert_eq!(outcome.status, status::INVALID_ARGUMENT, "{name} {url:?}");
            let reason = reason(&outcome);
            assert!(
                reason.starts_with(&format!("{name}: "))
                    && reason.contains(why)
                    && reason.contains(
                        "a URL must be absolute: `http://` or `https://`, a host, then the path"
                    ),
                "{name} {url:?}: {reason}"
            );
        }
    }
    // Another scheme stays a refusal of the policy's.
    let outcome = get_body.run(&Args::strings(["ftp://127.0.0.1/"])).unwrap();
    assert_eq!(outcome.status, status::ACCESS_DENIED);
    assert!(server.requests().is_empty());
}

#[test]
fn redirects_of_other_methods_follow_the_fetch_standard() {
    let server = Server::start(|request| {
        let landing = |status| Reply::redirect(status, "/landing");
        match request.path.as_str() {
            "/moved" => landing(301),
            "/found" => landing(302),
            "/see-other" => landing(303),
            "/temporary" => landing(307),
            "/permanent" => landing(308),
            _ => Reply::ok(format!(
                "{} {}",
                request.method,
                String::from_utf8_lossy(&request.body)
            )),
        }
    });
    let http = Http::new().allow(&server.origin());
    let headers = "Content-Type: text/plain\nContent-Language: en\nX-Kept: yes";
    for (method, path, landed) in [
        ("PUT", "/moved", "PUT body"),
        ("PATCH", "/found", "PATCH body"),
        ("DELETE", "/moved", "DELETE body"),
        ("POST", "/moved", "GET "),
        ("POST", "/found", "GET "),
        ("PUT", "/see-other", "GET "),
        ("DELETE", "/see-other", "GET "),
        ("HEAD", "/see-other", "HEAD "),
        ("PUT", "/temporary", "PUT body"),
        ("DELETE", "/permanent", "DELETE body"),
    ] {
        let body = if method == "HEAD" { "" } else { "body" };
        let outcome = request(http.clone(), method, &server.url(path), headers, body);
        let reply = reply(&outcome);
        let seen = server.requests().pop().unwrap();
        assert_eq!(seen.path, "/landing");
        if method != "HEAD" {
            assert_eq!(reply.2, landed.as_bytes(), "{method} {path}");
        }
        assert_eq!(
            format!("{} {}", seen.method, String::from_utf8_lossy(&seen.body)),
            landed,
            "{method} {path}"
        );
        // The body's headers go when the method turns into a GET; the
        // rest stay.
        let to_get = landed.starts_with("GET ");
        for name in ["content-type", "content-language"] {
            assert_eq!(
                seen.header(name).is_some(),
                !to_get,
                "{method} {path}: {name}"
            );
        }
        assert_eq!(seen.header("x-kept"), Some("yes"));
    }
}

#[test]
fn credential_headers_never_cross_origins_and_the_host_can_name_more() {
    let other = Server::start(|_| Reply::ok("other"));
    let other_origin = other.origin();
    let server = Server::start(move |request| match request.path.as_str() {
        "/same" => Reply::redirect(307, "/landing"),
        "/cross" => Reply::redirect(307, &format!("{other_origin}/landing")),
        _ => Reply::ok("landed"),
    });
    // From `tape.toml`, as a host writes it: the request id may cross, an
    // API key listed as safe still may not, and a header of the host's own
    // is a credential even though it is listed as safe too.
    let manifest = tape_caps::Manifest::parse(
        &format!(
            "[http]\nallow = [\"{}\", \"{}\"]\n\
             cross-origin-headers = [\"X-Request-Id\", \"X-Api-Key\", \"X-Tenant-Secret\"]\n\
             credential-headers = [\"x-tenant-secret\"]\n",
            server.origin(),
            other.origin()
        ),
        "tape.toml",
    )
    .unwrap();
    let request = request_program(&manifest.grants().unwrap(), 0);
    let headers = "Authorization: Bearer secret\nCookie: session=1\nX-Api-Key: key\n\
                   Api-Key: key2\nX-Auth-Token: t\nX-Access-Token: a\n\
                   X-Tenant-Secret: s\nX-Custom: custom\n\
                   X-Request-Id: 42\nAccept: text/plain";
    let never = [
        "authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-tenant-secret",
        "x-custom",
    ];
    let crossing = [("x-request-id", "42"), ("accept", "text/plain")];
    let run = |path: &str| {
        let outcome = request
            .run(&Args::strings([
                "PUT",
                server.url(path).as_str(),
                headers,
                "data",
            ]))
            .unwrap();
        assert_eq!(reply(&outcome).0, 200, "{path}");
    };

    run("/cross");
    let landed = other.requests().pop().unwrap();
    assert_eq!(
        (landed.method.as_str(), &landed.body[..]),
        ("PUT", &b"data"[..])
    );
    for name in never {
        assert_eq!(landed.header(name), None, "{name} crossed");
    }
    for (name, value) in crossing {
        assert_eq!(landed.header(name), Some(value), "{name}");
    }

    // On its own origin a redirect keeps every header.
    run("/same");
    let landed = server.requests().pop().unwrap();
    assert_eq!(landed.path, "/landing");
    for name in never {
        assert!(
            landed.header(name).is_some(),
            "{name} dropped on its origin"
        );
    }
}

#[test]
fn a_redirect_header_name_that_is_not_one_fails_the_link_and_names_it() {
    for http in [
        Http::new()
            .allow("https://ok.example")
            .credential_header("bad name"),
        Http::new()
            .allow("https://ok.example")
            .cross_origin_header("x:y"),
    ] {
        let error = crate::engine()
            .compile_str("t.wat", GET_BODY, &tape_caps::grants().grant(http))
            .expect_err("a bad header name");
        assert!(
            error.to_string().contains("is not a header name"),
            "{error}"
        );
    }
}
