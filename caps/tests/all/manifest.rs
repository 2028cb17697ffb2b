//! `tape.toml`: a manifest's grants and limits reach a real run, and every
//! mistake in one is an error with its line.

use std::time::Duration;

use tape_caps::{MANIFEST_NAME, Manifest, ManifestError};
use tape_rt::{Args, ErrorKind, Limits, status};

use crate::wat_prelude::{emitted, guest};

/// The manifest error for `text`, as `(line, column, message)`.
fn manifest_error(text: &str) -> (usize, usize, String) {
    match Manifest::parse(text, "dir/tape.toml") {
        Ok(manifest) => panic!("expected an error, got {manifest:?}"),
        Err(ManifestError::Invalid {
            path,
            line,
            column,
            message,
        }) => {
            assert_eq!(path, std::path::Path::new("dir/tape.toml"));
            (line, column, message)
        }
        Err(other) => panic!("expected a manifest error, got {other:?}"),
    }
}

const COUNTER: &str = r#"(func $run (result i32)
  (local $n i32)
  (local.set $n (i32.const 0))
  (if (i32.eqz (call $st (call $kv.get "runs")))
    (then (local.set $n (i32.load offset=4 (call $ok (call $kv.get "runs"))))))
  (local.set $n (i32.add (local.get $n) (i32.const 1)))
  (local $v i32)
  (local.set $v (call $core.alloc (i32.const 8)))
  (i32.store (local.get $v) (i32.const 4))
  (i32.store offset=4 (local.get $v) (local.get $n))
  (call $must (call $kv.set "runs" (local.get $v)))
  (call $emit (local.get $n))
  (i32.const 0))"#;

#[test]
fn a_kv_path_is_relative_to_the_manifest_and_the_store_persists() {
    let dir = tempfile::tempdir().unwrap();
    let manifest_path = dir.path().join(MANIFEST_NAME);
    std::fs::write(
        &manifest_path,
        "[kv]\npath = \"state.redb\"\nnamespace = \"counter\"\n",
    )
    .unwrap();
    let program_path = dir.path().join("counter.wat");
    let manifest = Manifest::beside(&program_path).unwrap().expect("found");
    assert_eq!(manifest.capabilities(), ["kv"]);
    for expected in 1..=2 {
        // A fresh grant each time, as separate `tape run`s would open it.
        let program = guest(COUNTER, &manifest.grants().unwrap());
        let outcome = program.run(&Args::new()).unwrap();
        assert_eq!(emitted(&outcome), [expected]);
    }
    assert!(dir.path().join("state.redb").is_file());
}

#[test]
fn a_kv_table_without_a_path_is_a_store_in_memory() {
    let manifest = Manifest::parse("[kv]\n", "tape.toml").unwrap();
    let program = guest(COUNTER, &manifest.grants().unwrap());
    assert_eq!(emitted(&program.run(&Args::new()).unwrap()), [1]);
    assert_eq!(emitted(&program.run(&Args::new()).unwrap()), [2]);
}

/// `[kv] url` puts the store on Redis: two grants from one manifest, as
/// two `tape run`s or two machines would make, share it. A table naming a
/// file and a server is refused, naming both.
#[test]
fn a_kv_url_puts_the_store_on_redis() {
    let redis = tape_testkit::redis::RedisServer::start();
    let text = format!("[kv]\nurl = \"{}\"\nnamespace = \"counter\"\n", redis.url());
    for expected in 1..=2 {
        let manifest = Manifest::parse(&text, "tape.toml").unwrap();
        let program = guest(COUNTER, &manifest.grants().unwrap());
        assert_eq!(emitted(&program.run(&Args::new()).unwrap()), [expected]);
    }
    let both = format!("{text}path = \"state.redb\"\n");
    let error = Manifest::parse(&both, "tape.toml")
        .and_then(|manifest| manifest.grants())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("names both a file (`path`) and a Redis server"),
        "{error}"
    );
}

#[test]
fn no_manifest_beside_a_program_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        Manifest::beside(dir.path().join("x.wat"))
            .unwrap()
            .is_none()
    );
    // Nor is a directory of that name.
    std::fs::create_dir(dir.path().join("tape.toml")).unwrap();
    assert!(
        Manifest::beside(dir.path().join("x.wat"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn only_the_tables_present_are_granted() {
    let manifest = Manifest::parse("[log]\n[json]\n", "tape.toml").unwrap();
    assert_eq!(manifest.capabilities(), ["log", "json"]);
    let source = r#"(func $run (result i32)
        (call $kv.delete "k"))"#;
    let error = crate::engine()
        .compile_str("t.wat", source, &manifest.grants().unwrap())
        .expect_err("kv is not granted");
    assert!(
        matches!(error.kind(), ErrorKind::NotGranted { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("kv"), "{error}");
}

#[test]
fn limits_replace_the_base_and_reach_the_run() {
    let manifest = Manifest::parse(
        "[limits]\nfuel = 10_000\ntimeout = \"1500ms\"\nmax-memory = \"2MiB\"\nmax-result-bytes = 64\n",
        "tape.toml",
    )
    .unwrap();
    let limits = manifest.limits(Limits::default());
    assert_eq!(limits.fuel, Some(10_000));
    assert_eq!(limits.timeout, Some(Duration::from_millis(1500)));
    assert_eq!(limits.max_memory, 2 << 20);
    assert_eq!(limits.max_result_bytes, 64);

    let spin = r#"(func $run (result i32) (loop $l (br $l)) (i32.const 0))"#;
    let program = guest(spin, &manifest.grants().unwrap());
    match program
        .run_with(&Args::new(), &limits)
        .map_err(tape_rt::Error::into_kind)
    {
        Err(ErrorKind::OutOfFuel { fuel, .. }) => assert_eq!(fuel, 10_000),
        other => panic!("expected out of fuel, got {other:?}"),
    }

    let unbounded = Manifest::parse("[limits]\nfuel = \"none\"\ntimeout = \"none\"\n", "t")
        .unwrap()
        .limits(Limits::default());
    assert_eq!((unbounded.fuel, unbounded.timeout), (None, None));
    let untouched = Manifest::parse("", "t").unwrap().limits(Limits::default());
    assert_eq!(untouched.fuel, Limits::default().fuel);
}

#[test]
fn deterministic_fixes_the_clock_and_the_seed() {
    let source = r#"(func $run (result i32)
        (call $emit64 (call $time.now))
        (call $emit64 (call $rand.u64))
        (i32.const 0))"#;
    let values = |text: &str| {
        let manifest = Manifest::parse(text, "tape.toml").unwrap();
        let outcome = guest(source, &manifest.grants().unwrap())
            .run(&Args::new())
            .unwrap();
        (0..2)
            .map(|i| outcome.result::<(i64,)>(i).unwrap().0)
            .collect::<Vec<_>>()
    };
    let fixed = values("deterministic = true\n[time]\n[rand]\n");
    assert_eq!(fixed[0], tape_caps::DETERMINISTIC_START);
    assert_eq!(fixed, values("deterministic = true\n[time]\n[rand]\n"));
    let seeded = values("[time]\nstart = \"2024-05-01T12:00:00Z\"\n[rand]\nseed = 7\n");
    assert_eq!(seeded[0], 1_714_564_800_000_000_000);
    assert_ne!(seeded[1], fixed[1], "seed 7 is not seed 0");
    assert_eq!(
        seeded,
        values("[time]\nstart = \"2024-05-01T12:00:00Z\"\n[rand]\nseed = 7\n")
    );
}

#[test]
fn an_fs_dir_is_relative_to_the_manifest_and_read_only_by_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/in.txt"), "inside").unwrap();
    let manifest = Manifest::parse("[fs]\ndir = \"data\"\n", dir.path().join("tape.toml")).unwrap();
    let source = r#"(func $run (result i32)
        (call $out (call $ok (call $fs.read "in.txt")))
        (call $emit (call $fs.write "out.txt" "x"))
        (i32.const 0))"#;
    let outcome = guest(source, &manifest.grants().unwrap())
        .run(&Args::new())
        .unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), "inside");
    assert_eq!(
        outcome.result::<(i32,)>(1).unwrap().0,
        status::ACCESS_DENIED
    );

    let missing = Manifest::parse("[fs]\ndir = \"nowhere\"\n", dir.path().join("tape.toml"))
        .unwrap()
        .grants()
        .unwrap_err();
    assert!(
        matches!(&missing, ManifestError::Grant { table: "fs", source, .. }
            if matches!(source.kind(), ErrorKind::Io { .. })),
        "{missing:?}"
    );
    assert!(
        missing.to_string().contains("tape.toml, [fs]: "),
        "{missing}"
    );
    assert!(missing.to_string().contains("nowhere"), "{missing}");
}

#[test]
fn an_unknown_field_is_an_error_with_its_line_and_the_fields_there_are() {
    let (line, column, message) = manifest_error("[limits]\nfuel = 5\nfule = 6\n");
    assert_eq!((line, column), (3, 1));
    assert!(message.contains("unknown field `fule`"), "{message}");
    assert!(
        message.contains("`fuel`"),
        "lists the known fields: {message}"
    );

    let (line, _, message) = manifest_error("\n\n[dns]\nserver = \"x\"\n");
    assert_eq!(line, 3);
    assert!(message.contains("unknown field `dns`"), "{message}");

    let (line, _, message) = manifest_error("[kv]\npath = \"a\"\nmax-key = 5\n");
    assert_eq!(line, 3);
    assert!(message.contains("`max-key-bytes`"), "{message}");
}

#[test]
fn a_value_of_the_wrong_form_is_an_error_at_the_value() {
    for (text, line, column, wanted) in [
        ("[limits]\ntimeout = \"soon\"\n", 2, 11, "not a duration"),
        ("[limits]\ntimeout = 5\n", 2, 11, "a duration such as"),
        ("[limits]\nmax-memory = \"lots\"\n", 2, 14, "not a size"),
        ("[limits]\nfuel = -1\n", 2, 8, "a number of fuel units"),
        (
            "[limits]\nfuel = \"many\"\n",
            2,
            8,
            "not a number of fuel units",
        ),
        ("[time]\nstart = \"yesterday\"\n", 2, 9, "RFC 3339"),
        ("[fs]\nwrite = true\n", 1, 1, "missing field `dir`"),
        ("[ai]\nmodel = \"m\"\n", 1, 1, "missing field `base-url`"),
        ("[log]\nmax-bytes = true\n", 2, 13, "a size such as"),
        ("deterministic = \"yes\"\n", 1, 17, "expected a boolean"),
        ("[limits\n", 1, 8, ""),
    ] {
        let (l, c, message) = manifest_error(text);
        assert_eq!((l, c), (line, column), "{text:?}: {message}");
        assert!(message.contains(wanted), "{text:?}: {message}");
    }
}

#[test]
fn every_allow_list_entry_is_checked_where_it_is_written() {
    let (line, column, message) = manifest_error(
        "[http]\nallow = [\n  \"https://api.example.com\",\n  \"ftp://files.example.com\",\n]\n",
    );
    assert_eq!((line, column), (4, 3));
    assert!(message.contains("`ftp://files.example.com`"), "{message}");
    let (line, _, message) = manifest_error("[http]\nallow = [\"https://example.com/api\"]\n");
    assert_eq!(line, 2);
    assert!(message.contains("origin only"), "{message}");
}

#[test]
fn an_http_grant_reaches_only_its_origins() {
    let manifest = Manifest::parse(
        "[http]\nallow = [\"https://api.example.com\"]\nmax-requests = 3\n",
        "tape.toml",
    )
    .unwrap();
    let http = manifest.http.as_ref().unwrap();
    assert_eq!(http.allow, ["https://api.example.com"]);
    assert_eq!(http.max_requests, Some(3));
    let http = http.http().unwrap();
    assert!(http.refusal("https://api.example.com/v1").is_none());
    assert!(http.refusal("https://evil.example.com/").is_some());
}

#[test]
fn redirect_header_lists_are_read_and_checked_where_they_are_written() {
    let manifest = Manifest::parse(
        "[http]\nallow = [\"https://api.example.com\"]\n\
         cross-origin-headers = [\"X-Request-Id\"]\ncredential-headers = [\"X-My-Token\"]\n",
        "tape.toml",
    )
    .unwrap();
    let http = manifest.http.as_ref().unwrap();
    assert_eq!(http.cross_origin_headers, ["X-Request-Id"]);
    assert_eq!(http.credential_headers, ["X-My-Token"]);
    let (line, column, message) =
        manifest_error("[http]\ncredential-headers = [\n  \"x-ok\",\n  \"not a name\",\n]\n");
    assert_eq!((line, column), (4, 3));
    assert!(
        message.contains("`not a name` is not a header name"),
        "{message}"
    );
    let (line, _, message) = manifest_error("[http]\ncross-origin-headers = [\"a:b\"]\n");
    assert_eq!(line, 2);
    assert!(message.contains("`a:b`"), "{message}");
}

#[test]
fn an_unreadable_manifest_names_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let error = Manifest::load(dir.path().join("missing.toml")).unwrap_err();
    assert!(error.to_string().contains("missing.toml"), "{error}");
}

/// Every `toml` example in `docs/manifest.md` and the manifest module's
/// docs is a manifest `Manifest::parse` accepts.
#[test]
fn the_manifests_in_the_docs_parse() {
    let docs = [
        include_str!("../../../docs/manifest.md"),
        include_str!("../../src/manifest.rs"),
    ];
    let mut parsed = 0;
    for doc in docs {
        for block in doc.split("```toml\n").skip(1) {
            let block = block.split("```").next().unwrap();
            let text: String = block
                .lines()
                .map(|line| line.strip_prefix("//! ").unwrap_or(line))
                .map(|line| format!("{}\n", line.strip_prefix("//!").unwrap_or(line)))
                .collect();
            if let Err(e) = Manifest::parse(&text, "docs/tape.toml") {
                panic!("{e}\n{text}");
            }
            parsed += 1;
        }
    }
    assert_eq!(parsed, 3);
}

#[test]
fn root_certificates_come_from_a_pem_file_beside_the_manifest() {
    let (server, ca) =
        tape_testkit::server::Server::start_tls(|_| tape_testkit::server::Reply::ok("tls"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/ca.pem"), ca).unwrap();
    let text = format!(
        "[http]\nallow = [\"{}\"]\nroot-certificates = \"certs/ca.pem\"\n",
        server.origin()
    );
    let manifest = Manifest::parse(&text, dir.path().join("tape.toml")).unwrap();
    let source = r#"(func $run (result i32)
        (call $out (call $ok (call $http.get_body (call $arg (i32.const 0)))))
        (i32.const 0))"#;
    let outcome = guest(source, &manifest.grants().unwrap())
        .run(&Args::strings([server.url("/")]))
        .unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), "tls");

    // A list of files: each authority is trusted, and only those.
    let (other, other_ca) =
        tape_testkit::server::Server::start_tls(|_| tape_testkit::server::Reply::ok("other"));
    let (stranger, _) =
        tape_testkit::server::Server::start_tls(|_| tape_testkit::server::Reply::ok("stranger"));
    std::fs::write(dir.path().join("other.pem"), other_ca).unwrap();
    let text = format!(
        "[http]\nallow = [\"{}\", \"{}\", \"{}\"]\n\
         root-certificates = [\"certs/ca.pem\", \"other.pem\"]\n",
        server.origin(),
        other.origin(),
        stranger.origin()
    );
    let manifest = Manifest::parse(&text, dir.path().join("tape.toml")).unwrap();
    let program = crate::program(crate::http::GET_BODY, &manifest.grants().unwrap());
    for (url, expected) in [
        (server.url("/"), Ok("tls")),
        (other.url("/"), Ok("other")),
        (stranger.url("/"), Err(status::IO_FAILURE)),
    ] {
        let outcome = program.run(&Args::strings([url.as_str()])).unwrap();
        let got = match outcome.status {
            status::OK => Ok(outcome.result::<&str>(0).unwrap()),
            other => Err(other),
        };
        assert_eq!(got, expected, "{url}");
    }
    assert!(stranger.requests().is_empty());

    let missing = Manifest::parse(
        "[http]\nroot-certificates = \"nowhere.pem\"\n",
        dir.path().join("tape.toml"),
    )
    .unwrap()
    .grants()
    .unwrap_err();
    assert!(
        matches!(&missing, ManifestError::Grant { table: "http", .. }),
        "{missing:?}"
    );
    assert!(
        missing.to_string().contains("tape.toml, [http]: "),
        "{missing}"
    );
    assert!(missing.to_string().contains("nowhere.pem"), "{missing}");
}
