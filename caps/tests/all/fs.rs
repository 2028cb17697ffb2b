//! The `fs` capability, on real files: reading, atomic writing and listing
//! inside one directory, and every way out of it refused.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tape_caps::Fs;
use tape_rt::{Args, ErrorKind, Program, status};
use tempfile::TempDir;

use crate::wat_prelude::guest;

/// One program per operation, taking its operands as arguments.
struct Ops {
    read: Program,
    write: Program,
    list: Program,
}

impl Ops {
    fn new(fs: Fs) -> Ops {
        let grants = tape_caps::grants().grant(fs);
        Ops {
            read: guest(
                r#"(func $run (result i32)
                     (local $reply i32) (local $status i32)
                     (call $fs.read (call $arg (i32.const 0)))
                     (local.set $status) (local.set $reply)
                     (if (local.get $status) (then (return (local.get $status))))
                     (call $out (local.get $reply))
                     (i32.const 0))"#,
                &grants,
            ),
            write: guest(
                r#"(func $run (result i32)
                     (call $fs.write (call $arg (i32.const 0)) (call $arg (i32.const 1))))"#,
                &grants,
            ),
            list: guest(
                r#"(func $run (result i32)
                     (local $reply i32) (local $status i32)
                     (call $fs.list (call $arg (i32.const 0)))
                     (local.set $status) (local.set $reply)
                     (if (local.get $reply) (then (call $out (local.get $reply))))
                     (local.get $status))"#,
                &grants,
            ),
        }
    }

    fn read(&self, path: impl AsRef<[u8]>) -> Result<Vec<u8>, i32> {
        let outcome = self.read.run(&wire([path.as_ref()])).unwrap();
        match outcome.status {
            0 => Ok(outcome.result::<Vec<u8>>(0).unwrap()),
            status => Err(status),
        }
    }

    fn read_str(&self, path: &str) -> Result<String, i32> {
        self.read(path)
            .map(|bytes| String::from_utf8(bytes).unwrap())
    }

    fn write(&self, path: impl AsRef<[u8]>, bytes: impl AsRef<[u8]>) -> i32 {
        self.write
            .run(&wire([path.as_ref(), bytes.as_ref()]))
            .unwrap()
            .status
    }

    fn list(&self, path: &str) -> (Vec<String>, i32) {
        let outcome = self.list.run(&Args::strings([path])).unwrap();
        let names = match outcome.results.len() {
            0 => Vec::new(),
            _ => outcome.result::<Vec<String>>(0).unwrap(),
        };
        (names, outcome.status)
    }
}

/// Arguments as `[len][bytes]`, which need not be UTF-8.
fn wire<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Args {
    values.into_iter().fold(Args::new(), |args, value| {
        let mut raw = (value.len() as u32).to_le_bytes().to_vec();
        raw.extend_from_slice(value);
        args.push_raw(raw)
    })
}

/// `tmp/root` is granted; `tmp/secret.txt` is outside it. Inside:
/// `hello.txt`, `sub/inner.txt`, and symlinks `etc -> /etc`, `up -> ..`,
/// `sub/out -> ../../secret.txt` (out), `ok -> hello.txt` and
/// `sub/back -> ../hello.txt` (in).
struct Sandbox {
    tmp: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("hello.txt"), "hello").unwrap();
        std::fs::write(root.join("sub/inner.txt"), "inner").unwrap();
        std::fs::write(tmp.path().join("secret.txt"), "secret").unwrap();
        let link =
            |target: &str, at: &str| std::os::unix::fs::symlink(target, root.join(at)).unwrap();
        link("/etc", "etc");
        link("..", "up");
        link("../../secret.txt", "sub/out");
        link("hello.txt", "ok");
        link("../hello.txt", "sub/back");
        Sandbox { tmp }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn outside(&self) -> &Path {
        self.tmp.path()
    }

    fn read_only(&self) -> Ops {
        Ops::new(Fs::read_only(self.root()).unwrap())
    }

    fn read_write(&self) -> Ops {
        Ops::new(Fs::read_write(self.root()).unwrap())
    }
}

#[test]
fn files_are_read_written_and_listed_inside_the_directory() {
    let sandbox = Sandbox::new();
    let ops = sandbox.read_write();
    assert_eq!(ops.read_str("hello.txt").as_deref(), Ok("hello"));
    assert_eq!(ops.read_str("./sub//inner.txt").as_deref(), Ok("inner"));
    assert_eq!(
        ops.read_str("ok").as_deref(),
        Ok("hello"),
        "a symlink inside"
    );
    assert_eq!(ops.read_str("sub/back").as_deref(), Ok("hello"));
    assert_eq!(ops.read_str("missing.txt"), Err(status::NOT_FOUND));

    assert_eq!(
        ops.write("notes/day/1.txt", "first"),
        0,
        "parents are created"
    );
    assert_eq!(ops.read_str("notes/day/1.txt").as_deref(), Ok("first"));
    assert_eq!(ops.write("notes/day/1.txt", "second"), 0);
    assert_eq!(
        std::fs::read_to_string(sandbox.root().join("notes/day/1.txt")).unwrap(),
        "second"
    );
    assert_eq!(ops.write("empty", ""), 0);
    assert_eq!(ops.read("empty"), Ok(vec![]));
    let binary: Vec<u8> = (0..=255).collect();
    assert_eq!(ops.write("binary", &binary), 0);
    assert_eq!(ops.read("binary"), Ok(binary));

    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        ops.list(""),
        (
            names(&[
                "binary",
                "empty",
                "etc",
                "hello.txt",
                "notes/",
                "ok",
                "sub/",
                "up"
            ]),
            0
        )
    );
    assert_eq!(ops.list("."), ops.list(""));
    assert_eq!(ops.list("notes/day"), (names(&["1.txt"]), 0));
    assert_eq!(ops.list("sub/"), (names(&["back", "inner.txt", "out"]), 0));
    assert_eq!(ops.list("missing"), (vec![], status::NOT_FOUND));
    assert_eq!(ops.list("hello.txt"), (vec![], status::INVALID_ARGUMENT));
    assert_eq!(
        ops.read("sub"),
        Err(status::INVALID_ARGUMENT),
        "a directory"
    );
    assert_eq!(ops.write("sub", "x"), status::INVALID_ARGUMENT);
    assert_eq!(ops.write("hello.txt/x", "x"), status::INVALID_ARGUMENT);
    assert_eq!(ops.read_str("hello.txt").as_deref(), Ok("hello"));
}

#[test]
fn the_copy_from_the_docs_copies() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.root().join("notes.txt"), "remember").unwrap();
    let program = guest(
        r#"(func $run (result i32)
             (local $bytes i32) (local $status i32)
             (call $fs.read "notes.txt")
             (local.set $status)
             (local.set $bytes)
             (if (local.get $status) (then (return (local.get $status))))
             (call $fs.write "backup/notes.txt" (local.get $bytes)))"#,
        &tape_caps::grants().grant(Fs::read_write(sandbox.root()).unwrap()),
    );
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(outcome.status, 0);
    assert_eq!(
        std::fs::read_to_string(sandbox.root().join("backup/notes.txt")).unwrap(),
        "remember"
    );
    let (name, usage) = &outcome.usage.capabilities[0];
    assert_eq!(name, "fs");
    assert_eq!(usage.calls, 2);
    assert_eq!(usage.bytes_in, 9 + 16 + 8);
    assert_eq!(usage.bytes_out, 8);
}

#[test]
fn every_way_out_of_the_directory_is_refused() {
    let sandbox = Sandbox::new();
    let ops = sandbox.read_write();
    let denied = status::ACCESS_DENIED;
    let invalid = status::INVALID_ARGUMENT;
    let long_path = "a/".repeat(600);
    let long_name = "x".repeat(300);
    let cases: &[(&[u8], i32)] = &[
        (b"../x", denied),
        (b"../secret.txt", denied),
        (b"a/../../x", denied),
        (b"sub/../hello.txt", denied),
        (b"/etc/passwd", denied),
        (b"//etc/passwd", denied),
        (b"etc/passwd", denied),
        (b"etc", denied),
        (b"up/secret.txt", denied),
        (b"up/root/hello.txt", denied),
        (b"sub/out", denied),
        (b"./../secret.txt", denied),
        (b"sub/./../../secret.txt", denied),
        (b".././root/hello.txt", denied),
        (b"", invalid),
        (b".", invalid),
        (b"./", invalid),
        (b"sub/", invalid),
        (b"hello.txt\0", invalid),
        (b"hel\0lo.txt", invalid),
        (b"\xff\xfe", invalid),
        (long_path.as_bytes(), status::TOO_LARGE),
        (long_name.as_bytes(), invalid),
    ];
    for &(path, expected) in cases {
        let shown = String::from_utf8_lossy(path);
        assert_eq!(ops.read(path), Err(expected), "read {shown:?}");
        let expected_write = match path {
            // These name a missing file inside, or a directory.
            b"." | b"./" | b"sub/" => invalid,
            _ => expected,
        };
        assert_eq!(ops.write(path, "pwned"), expected_write, "write {shown:?}");
    }
    for path in [
        "..",
        "/",
        "/etc",
        "etc",
        "up",
        "up/root",
        "sub/../..",
        "./..",
    ] {
        assert_eq!(ops.list(path), (vec![], denied), "list {path:?}");
    }
    assert_eq!(ops.write("etc/tape-escape-test", "pwned"), denied);
    assert_eq!(ops.write("up/escaped.txt", "pwned"), denied);
    assert_eq!(ops.write("up/new/escaped.txt", "pwned"), denied);

    // Nothing changed outside, and nothing was created there.
    assert!(!Path::new("/etc/tape-escape-test").exists());
    assert_eq!(
        std::fs::read_to_string(sandbox.outside().join("secret.txt")).unwrap(),
        "secret"
    );
    let mut outside: Vec<_> = std::fs::read_dir(sandbox.outside())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    outside.sort();
    assert_eq!(outside, ["root", "secret.txt"]);
    assert!(
        std::fs::symlink_metadata(sandbox.root().join("sub/out"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn a_longer_path_cap_lets_the_file_system_refuse_long_names() {
    let sandbox = Sandbox::new();
    let ops = Ops::new(
        Fs::read_write(sandbox.root())
            .unwrap()
            .max_path_bytes(1 << 16),
    );
    let deep = "d/".repeat(3000) + "x";
    assert_eq!(ops.write(&deep, "x"), status::INVALID_ARGUMENT);
    assert_eq!(ops.read(&deep), Err(status::INVALID_ARGUMENT));
}

#[test]
fn a_read_only_grant_refuses_every_write() {
    let sandbox = Sandbox::new();
    let ops = sandbox.read_only();
    assert_eq!(ops.write("new.txt", "x"), status::ACCESS_DENIED);
    assert_eq!(ops.write("hello.txt", "x"), status::ACCESS_DENIED);
    assert_eq!(ops.write("sub/dir/new.txt", "x"), status::ACCESS_DENIED);
    assert_eq!(ops.read_str("hello.txt").as_deref(), Ok("hello"));
    assert!(!sandbox.root().join("new.txt").exists());
    assert!(!sandbox.root().join("sub/dir").exists());
}

#[test]
fn size_caps_are_enforced_with_too_large() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.root().join("ten"), "0123456789").unwrap();
    std::fs::write(sandbox.root().join("eleven"), "0123456789a").unwrap();
    let fs = Fs::read_write(sandbox.root())
        .unwrap()
        .max_read_bytes(10)
        .max_write_bytes(4)
        .max_run_write_bytes(6)
        .max_list(2);
    let ops = Ops::new(fs.clone());
    assert_eq!(ops.read_str("ten").as_deref(), Ok("0123456789"));
    assert_eq!(ops.read("eleven"), Err(status::TOO_LARGE));
    assert_eq!(ops.write("w", "12345"), status::TOO_LARGE);
    assert!(!sandbox.root().join("w").exists());
    assert_eq!(ops.write("w", "1234"), 0, "each run has its own budget");
    assert_eq!(ops.write("w", "1234"), 0);
    let (names, status) = ops.list("");
    assert_eq!(status, status::TOO_LARGE);
    assert_eq!(names, ["eleven", "etc"], "the first names");

    let program = guest(
        r#"(func $run (result i32)
             (call $emit (call $fs.write "a" "1234"))
             (call $emit (call $fs.write "b" "123"))
             (call $emit (call $fs.write "c" "12"))
             (i32.const 0))"#,
        &tape_caps::grants().grant(fs),
    );
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(
        crate::wat_prelude::emitted(&outcome),
        [0, status::TOO_LARGE, 0]
    );
    assert!(!sandbox.root().join("b").exists());
}

#[test]
fn a_reader_never_sees_a_partial_write() {
    let sandbox = Sandbox::new();
    let ops = sandbox.read_write();
    let size = 1 << 20;
    let contents = [vec![b'a'; size], vec![b'b'; size]];
    let path = sandbox.root().join("big");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, done) = (path.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            // At least one read, of the last write if none came sooner.
            while reads == 0 || !done.load(Ordering::Relaxed) {
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                assert_eq!(bytes.len(), size, "a partial file");
                assert!(bytes.iter().all(|&b| b == bytes[0]), "a mix of two writes");
                reads += 1;
            }
            reads
        })
    };
    for i in 0..20 {
        assert_eq!(ops.write("big", &contents[i % 2]), 0);
    }
    done.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    let (names, _) = ops.list("");
    assert!(
        !names.iter().any(|n| n.starts_with(".tape-tmp")),
        "{names:?}"
    );
    let leftovers = std::fs::read_dir(sandbox.root())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .as_bytes()
                .starts_with(b".tape-tmp")
        })
        .count();
    assert_eq!(leftovers, 0, "temporary files are renamed away");
}

#[test]
fn special_files_and_odd_names_are_handled() {
    let sandbox = Sandbox::new();
    let root = sandbox.root();
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(
        root.join(std::ffi::OsStr::from_bytes(b"not-utf8-\xff")),
        "x",
    )
    .unwrap();
    std::fs::write(root.join(".tape-tmp-123-4"), "x").unwrap();

    let ops = Arc::new(sandbox.read_write());
    // Opening a FIFO would block until a writer came: it must be refused
    // without opening it.
    let (sent, answer) = std::sync::mpsc::channel();
    let reader = ops.clone();
    std::thread::spawn(move || sent.send(reader.read("fifo")).unwrap());
    let read = answer
        .recv_timeout(Duration::from_secs(10))
        .expect("blocked on a FIFO");
    assert_eq!(read, Err(status::INVALID_ARGUMENT));

    let (names, status) = ops.list("");
    assert_eq!(status, 0);
    assert!(names.contains(&"fifo".to_string()));
    assert!(
        !names.iter().any(|n| n.starts_with("not-utf8")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with(".tape-tmp")),
        "{names:?}"
    );
    assert_eq!(ops.read("not-utf8-\u{fffd}"), Err(status::NOT_FOUND));
}

#[test]
fn a_path_pointer_outside_memory_traps() {
    let sandbox = Sandbox::new();
    let program = guest(
        "(func $run (result i32) (call $st (call $fs.read (i32.const -4))))",
        &tape_caps::grants().grant(Fs::read_only(sandbox.root()).unwrap()),
    );
    let error = program.run(&Args::new()).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::BadPointer { .. }),
        "{error}"
    );
}

#[test]
fn granting_a_missing_directory_fails_naming_it() {
    let error = Fs::read_only("/no/such/dir").unwrap_err();
    assert!(error.to_string().contains("/no/such/dir"), "{error}");
}

/// The path was checked, then opened: a FIFO swapped in between the two
/// blocked the open, and the run with it, past its timeout. Here another
/// thread swaps a file and a FIFO at one name as fast as it can while the
/// guest reads it in a loop; every read must return.
#[test]
fn a_fifo_swapped_in_during_a_read_does_not_block_it() {
    let sandbox = Sandbox::new();
    let root = sandbox.root();
    std::fs::write(root.join("plain"), "plain").unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::copy(root.join("plain"), root.join("target")).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, root) = (stop.clone(), root.clone());
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for source in ["plain", "pipe"] {
                    // A hard link then a rename: `target` always exists.
                    let _ = std::fs::remove_file(root.join("next"));
                    std::fs::hard_link(root.join(source), root.join("next")).unwrap();
                    std::fs::rename(root.join("next"), root.join("target")).unwrap();
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let program = guest(
        r#"(func $run (result i32) (local $i i32) (local $ok i32) (local $refused i32)
             (loop $again
               (call $fs.read "target")
               (if (i32.eqz) (then (local.set $ok (i32.add (local.get $ok) (i32.const 1))))
                             (else (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
               (drop)
               (br_if $again (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                       (i32.const 20000))))
             (call $emit (local.get $ok))
             (call $emit (local.get $refused))
             (i32.const 0))"#,
        &tape_caps::grants().grant(Fs::read_only(&root).unwrap()),
    );
    let (sent, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sent.send(program.run(&Args::new()));
    });
    let outcome = answer.recv_timeout(Duration::from_secs(60));
    stop.store(true, Ordering::Relaxed);
    // A read stuck on the FIFO waits for a writer: be one, so the test
    // thread can end, then fail.
    if outcome.is_err() {
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .open(root.join("pipe"));
    }
    let swaps = swapper.join().unwrap();
    let outcome = outcome.expect("a read blocked on a FIFO").unwrap();
    let [ok, refused] = crate::wat_prelude::emitted(&outcome)[..] else {
        panic!("{outcome:?}")
    };
    assert_eq!(ok + refused, 20000);
    assert!(
        ok > 0 && refused > 0,
        "{ok} read, {refused} refused, {swaps} swaps"
    );
}
