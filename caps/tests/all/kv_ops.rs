//! The `kv` capability's expiry, atomic increment, compare-and-set and
//! delete by prefix, each test run on every backend: a store in memory, a
//! file held open, and a file processes take turns with.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use tape_caps::Kv;
use tape_rt::{Args, Outcome, Program, status};

use tape_testkit::redis::RedisServer;

use crate::kv::Gate;
use crate::wat_prelude::guest;

/// A clock the test moves by hand, in milliseconds.
#[derive(Clone)]
pub(crate) struct Clock(Arc<AtomicU64>);

impl Clock {
    fn new() -> Clock {
        Clock(Arc::new(AtomicU64::new(1_700_000_000_000)))
    }

    fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    fn kv(&self, kv: Kv) -> Kv {
        let now = self.0.clone();
        kv.clock(move || UNIX_EPOCH + Duration::from_millis(now.load(Ordering::SeqCst)))
    }
}

/// Opens a backend's store in a directory.
type Open = fn(&Path) -> Kv;

/// Runs `test` on each backend, with a clock of its own: a store in
/// memory, a file held open, a file processes take turns with, and a real
/// Redis server.
pub(crate) fn on_every_backend(test: impl Fn(&str, Kv, &Clock)) {
    let dir = tempfile::tempdir().unwrap();
    let backends: [(&str, Open); 3] = [
        ("in memory", |_| Kv::in_memory().unwrap()),
        ("held file", |dir| Kv::open(dir.join("held.redb")).unwrap()),
        ("shared file", |dir| {
            Kv::shared(dir.join("shared.redb")).unwrap()
        }),
    ];
    for (name, open) in backends {
        let _on = On(name);
        let clock = Clock::new();
        test(name, clock.kv(open(dir.path())), &clock);
    }
    let redis = RedisServer::start();
    let _on = On("redis");
    let clock = Clock::new();
    test("redis", clock.kv(Kv::redis(&redis.url()).unwrap()), &clock);
}

/// Says which backend a test failed on.
struct On(&'static str);

impl Drop for On {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("(on the {} backend)", self.0);
        }
    }
}

/// Programs for each operation, taking operands as arguments: strings,
/// then numbers.
struct Ops {
    /// `get`, `set`, `delete` and `list`.
    basic: crate::kv::Ops,
    set_ttl: Program,
    ttl: Program,
    incr: Program,
    cas: Program,
    delete_prefix: Program,
}

impl Ops {
    fn new(kv: Kv) -> Ops {
        let grants = tape_caps::grants().grant(kv.clone());
        let program = |body: &str| guest(body, &grants);
        Ops {
            basic: crate::kv::Ops::new(kv),
            set_ttl: program(
                r#"(func $run (result i32)
                     (call $kv.set_ttl (call $arg (i32.const 0)) (call $arg (i32.const 1))
                       (i64.load offset=4 (call $arg (i32.const 2)))))"#,
            ),
            ttl: program(
                r#"(func $run (result i32)
                     (local $ms i64) (local $status i32)
                     (call $kv.ttl (call $arg (i32.const 0)))
                     (local.set $status) (local.set $ms)
                     (if (local.get $status) (then (return (local.get $status))))
                     (call $emit64 (local.get $ms))
                     (i32.const 0))"#,
            ),
            incr: program(
                r#"(func $run (result i32)
                     (local $sum i64) (local $status i32)
                     (call $kv.incr (call $arg (i32.const 0))
                       (i64.load offset=4 (call $arg (i32.const 1))))
                     (local.set $status) (local.set $sum)
                     (if (local.get $status) (then (return (local.get $status))))
                     (call $emit64 (local.get $sum))
                     (i32.const 0))"#,
            ),
            // Flags in argument 3: 1, no expected value; 2, no new one.
            cas: program(
                r#"(func $run (result i32)
                     (local $flags i32) (local $swapped i32) (local $status i32)
                     (local.set $flags (i32.load offset=4 (call $arg (i32.const 3))))
                     (call $kv.cas (call $arg (i32.const 0))
                       (select (i32.const 0) (call $arg (i32.const 1))
                         (i32.and (local.get $flags) (i32.const 1)))
                       (select (i32.const 0) (call $arg (i32.const 2))
                         (i32.and (local.get $flags) (i32.const 2))))
                     (local.set $status) (local.set $swapped)
                     (if (local.get $status) (then (return (local.get $status))))
                     (call $emit (local.get $swapped))
                     (i32.const 0))"#,
            ),
            delete_prefix: program(
                r#"(func $run (result i32)
                     (local $count i32) (local $status i32)
                     (call $kv.delete_prefix (call $arg (i32.const 0)))
                     (local.set $status) (local.set $count)
                     (if (local.get $status) (then (return (local.get $status))))
                     (call $emit (local.get $count))
                     (i32.const 0))"#,
            ),
        }
    }

    fn get(&self, key: &str) -> Result<String, i32> {
        self.basic.get(key)
    }

    fn set(&self, key: &str, value: &str) -> i32 {
        self.basic.set(key, value)
    }

    fn set_ttl(&self, key: &str, value: &str, ttl: i64) -> Outcome {
        let args = Args::strings([key, value]).push(&(ttl,)).unwrap();
        self.set_ttl.run(&args).unwrap()
    }

    fn ttl(&self, key: &str) -> Result<i64, i32> {
        number(&self.ttl.run(&Args::strings([key])).unwrap())
    }

    fn incr_outcome(&self, key: &str, delta: i64) -> Outcome {
        let args = Args::strings([key]).push(&(delta,)).unwrap();
        self.incr.run(&args).unwrap()
    }

    fn incr(&self, key: &str, delta: i64) -> Result<i64, i32> {
        number(&self.incr_outcome(key, delta))
    }

    fn cas(&self, key: &str, expected: Option<&str>, new: Option<&str>) -> Result<i32, i32> {
        let flags = i32::from(expected.is_none()) | (i32::from(new.is_none()) << 1);
        let args = Args::strings([key, expected.unwrap_or(""), new.unwrap_or("")])
            .push(&(flags,))
            .unwrap();
        let outcome = self.cas.run(&args).unwrap();
        match outcome.status {
            0 => Ok(outcome.result::<(i32,)>(0).unwrap().0),
            status => Err(status),
        }
    }

    fn delete_prefix(&self, prefix: &str) -> Result<i32, i32> {
        let outcome = self.delete_prefix.run(&Args::strings([prefix])).unwrap();
        match outcome.status {
            0 => Ok(outcome.result::<(i32,)>(0).unwrap().0),
            status => Err(status),
        }
    }

    /// The keys with `prefix`, all of them.
    fn list(&self, prefix: &str) -> Vec<String> {
        let (keys, status) = self.basic.list(prefix);
        assert_eq!(
            status, 0,
            "more than one reply's keys start with {prefix:?}"
        );
        keys
    }
}

fn number(outcome: &Outcome) -> Result<i64, i32> {
    match outcome.status {
        0 => Ok(outcome.result::<(i64,)>(0).unwrap().0),
        status => Err(status),
    }
}

/// The text of the reason the run's last failing call gave.
fn reason(outcome: &Outcome) -> String {
    outcome
        .reasons
        .last()
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[test]
fn a_key_with_a_time_to_live_is_gone_for_get_list_and_ttl_when_it_expires() {
    on_every_backend(|backend, kv, clock| {
        let ops = Ops::new(kv);
        assert_eq!(ops.set_ttl("session", "ada", 1000).status, 0, "{backend}");
        assert_eq!(ops.set("plain", "x"), 0);
        assert_eq!(ops.ttl("session"), Ok(1000), "{backend}");
        assert_eq!(ops.ttl("plain"), Ok(-1), "{backend}: no expiry");
        assert_eq!(ops.ttl("absent"), Err(status::NOT_FOUND));
        clock.advance(999);
        assert_eq!(ops.get("session").as_deref(), Ok("ada"), "{backend}");
        assert_eq!(ops.ttl("session"), Ok(1), "{backend}");
        assert_eq!(ops.list(""), ["plain", "session"], "{backend}");
        clock.advance(1);
        assert_eq!(ops.get("session"), Err(status::NOT_FOUND), "{backend}");
        assert_eq!(ops.ttl("session"), Err(status::NOT_FOUND), "{backend}");
        assert_eq!(ops.list(""), ["plain"], "{backend}");
        assert_eq!(ops.list("s"), Vec::<String>::new(), "{backend}");

        // `set` makes a key last; setting it with a time to live again
        // starts that afresh.
        assert_eq!(ops.set_ttl("k", "1", 50).status, 0);
        assert_eq!(ops.set("k", "2"), 0);
        clock.advance(100);
        assert_eq!(ops.get("k").as_deref(), Ok("2"), "{backend}");
        assert_eq!(ops.ttl("k"), Ok(-1), "{backend}");
        assert_eq!(ops.set_ttl("k", "3", 10).status, 0);
        assert_eq!(ops.ttl("k"), Ok(10), "{backend}");
    });
}

#[test]
fn expired_keys_free_their_slot_under_the_key_cap() {
    on_every_backend(|backend, kv, clock| {
        let ops = Ops::new(kv.max_keys(2));
        assert_eq!(ops.set_ttl("a", "1", 10).status, 0, "{backend}");
        assert_eq!(ops.set("b", "1"), 0);
        assert_eq!(ops.set("c", "1"), status::TOO_LARGE, "{backend}: full");
        clock.advance(10);
        assert_eq!(ops.set("c", "1"), 0, "{backend}: `a` expired");
        assert_eq!(ops.list(""), ["b", "c"], "{backend}");
        assert_eq!(ops.incr("d", 1), Err(status::TOO_LARGE), "{backend}");
    });
}

#[test]
fn a_time_to_live_below_one_millisecond_is_refused_with_its_reason() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv);
        for ttl in [0, -5, i64::MIN] {
            let outcome = ops.set_ttl("k", "v", ttl);
            assert_eq!(outcome.status, status::INVALID_ARGUMENT, "{backend}");
            assert!(
                reason(&outcome).contains(&format!("the time to live is {ttl} ms")),
                "{backend}: {}",
                reason(&outcome)
            );
        }
        assert_eq!(ops.get("k"), Err(status::NOT_FOUND));
        // A time to live far in the future does not overflow.
        assert_eq!(ops.set_ttl("k", "v", i64::MAX).status, 0, "{backend}");
        assert!(ops.ttl("k").unwrap() > 1 << 60, "{backend}");
    });
}

#[test]
fn incr_starts_at_zero_writes_decimal_text_and_keeps_the_expiry() {
    on_every_backend(|backend, kv, clock| {
        let ops = Ops::new(kv);
        assert_eq!(ops.incr("n", 5), Ok(5), "{backend}");
        assert_eq!(ops.incr("n", -7), Ok(-2), "{backend}");
        assert_eq!(ops.get("n").as_deref(), Ok("-2"), "{backend}");
        assert_eq!(ops.set("m", "40"), 0);
        assert_eq!(ops.incr("m", 2), Ok(42), "{backend}: text set by hand");

        assert_eq!(ops.set_ttl("t", "1", 1000).status, 0);
        clock.advance(400);
        assert_eq!(ops.incr("t", 1), Ok(2), "{backend}");
        assert_eq!(ops.ttl("t"), Ok(600), "{backend}: expiry kept");
        clock.advance(600);
        assert_eq!(ops.incr("t", 1), Ok(1), "{backend}: expired, so from 0");
        assert_eq!(ops.ttl("t"), Ok(-1), "{backend}");
    });
}

#[test]
fn incr_refuses_a_value_that_is_not_a_number_and_an_overflow() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv);
        assert_eq!(ops.set("word", "twelve"), 0);
        let outcome = ops.incr_outcome("word", 1);
        assert_eq!(outcome.status, status::INVALID_ARGUMENT, "{backend}");
        assert!(
            reason(&outcome).contains("the value of `word` is not a decimal integer"),
            "{}",
            reason(&outcome)
        );
        assert_eq!(ops.set("big", &i64::MAX.to_string()), 0);
        let outcome = ops.incr_outcome("big", 1);
        assert_eq!(outcome.status, status::TOO_LARGE, "{backend}");
        assert!(
            reason(&outcome).contains("past the range of i64"),
            "{}",
            reason(&outcome)
        );
        assert_eq!(ops.get("big"), Ok(i64::MAX.to_string()), "unchanged");
        assert_eq!(ops.get("word").as_deref(), Ok("twelve"), "unchanged");
    });
}

#[test]
fn concurrent_increments_lose_no_update_and_each_gets_its_own_number() {
    on_every_backend(|backend, kv, _| {
        let ops = Arc::new(Ops::new(kv));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let ops = ops.clone();
                std::thread::spawn(move || {
                    (0..25)
                        .map(|_| ops.incr("counter", 1).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let seen: BTreeSet<i64> = threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();
        assert_eq!(seen, (1..=100).collect(), "{backend}");
        assert_eq!(ops.get("counter").as_deref(), Ok("100"), "{backend}");
    });
}

#[test]
fn incr_and_cas_stay_when_the_run_fails_and_its_buffered_writes_do_not() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv.clone());
        let failing = guest(
            r#"(func $run (result i32)
                 (call $must (call $kv.set "buffered" "1"))
                 (drop (call $ok64 (call $kv.incr "counted" (i64.const 1))))
                 (drop (call $ok (call $kv.cas "claimed" (i32.const 0) "me")))
                 unreachable)"#,
            &tape_caps::grants().grant(kv),
        );
        assert!(failing.run(&Args::new()).is_err());
        assert_eq!(ops.get("counted").as_deref(), Ok("1"), "{backend}");
        assert_eq!(ops.get("claimed").as_deref(), Ok("me"), "{backend}");
        assert_eq!(ops.get("buffered"), Err(status::NOT_FOUND), "{backend}");
    });
}

#[test]
fn cas_swaps_only_when_the_value_is_the_expected_one() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv);
        assert_eq!(ops.cas("lock", None, Some("a")), Ok(1), "{backend}: absent");
        assert_eq!(ops.cas("lock", None, Some("b")), Ok(0), "{backend}: taken");
        assert_eq!(ops.get("lock").as_deref(), Ok("a"));
        assert_eq!(ops.cas("lock", Some("x"), Some("b")), Ok(0), "{backend}");
        assert_eq!(ops.cas("lock", Some("a"), Some("b")), Ok(1), "{backend}");
        assert_eq!(ops.get("lock").as_deref(), Ok("b"));
        assert_eq!(ops.cas("lock", Some("b"), None), Ok(1), "{backend}: delete");
        assert_eq!(ops.get("lock"), Err(status::NOT_FOUND), "{backend}");
        assert_eq!(ops.cas("lock", Some(""), Some("c")), Ok(0), "{backend}");
        assert_eq!(ops.set("empty", ""), 0);
        assert_eq!(ops.cas("empty", Some(""), Some("full")), Ok(1), "{backend}");
        assert_eq!(ops.get("empty").as_deref(), Ok("full"));
    });
}

/// A run holds its snapshot while another run changes a key: a failed
/// `cas` shows it the value now in the store, and its retry succeeds.
#[test]
fn a_failed_cas_shows_the_run_the_value_now_so_a_retry_loop_ends() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv.clone());
        assert_eq!(ops.set("n", "1"), 0);
        let (gate, arrivals, release) = Gate::new();
        // Doubles `n` with get and cas until a cas holds; reports the
        // attempts.
        let doubler = guest(
            r#"(func $run (result i32)
                 (local $tries i32) (local $old i32) (local $new i32)
                 (local.set $old (call $ok (call $kv.get "n")))
                 (drop (call $gate.wait))
                 (loop $again
                   (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
                   (local.set $new (call $core.alloc (i32.const 8)))
                   (i32.store (local.get $new) (i32.const 1))
                   (i32.store8 offset=4 (local.get $new)
                     (i32.add (i32.const 48)
                       (i32.mul (i32.const 2)
                         (i32.sub (i32.load8_u offset=4 (local.get $old)) (i32.const 48)))))
                   (if (i32.eqz (call $ok (call $kv.cas "n" (local.get $old) (local.get $new))))
                     (then
                       (local.set $old (call $ok (call $kv.get "n")))
                       (br $again))))
                 (call $emit (local.get $tries))
                 (i32.const 0))"#,
            &tape_caps::grants().grant(kv).grant(gate),
        );
        let run = std::thread::spawn(move || doubler.run(&Args::new()).unwrap());
        arrivals.recv().unwrap();
        assert_eq!(ops.set("n", "3"), 0, "{backend}");
        release.send(()).unwrap();
        let outcome = run.join().unwrap();
        assert_eq!(outcome.status, 0, "{backend}: {:?}", outcome.reasons);
        assert_eq!(outcome.result::<(i32,)>(0).unwrap().0, 2, "{backend}");
        assert_eq!(ops.get("n").as_deref(), Ok("6"), "{backend}");
    });
}

#[test]
fn atomic_operations_refuse_a_key_the_run_has_a_buffered_write_for() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv.clone());
        let mixed = guest(
            r#"(func $run (result i32)
                 (call $must (call $kv.set "n" "1"))
                 (call $st64 (call $kv.incr "n" (i64.const 1))))"#,
            &tape_caps::grants().grant(kv.clone()),
        );
        let outcome = mixed.run(&Args::new()).unwrap();
        assert_eq!(outcome.status, status::INVALID_ARGUMENT, "{backend}");
        assert!(
            reason(&outcome).contains(
                "`n` has a write of this run that lands when the run ends, after kv.incr"
            ),
            "{}",
            reason(&outcome)
        );
        let cleared = guest(
            r#"(func $run (result i32)
                 (drop (call $ok (call $kv.delete_prefix "a/")))
                 (call $st (call $kv.cas "a/x" (i32.const 0) "1")))"#,
            &tape_caps::grants().grant(kv),
        );
        assert_eq!(
            cleared.run(&Args::new()).unwrap().status,
            status::INVALID_ARGUMENT,
            "{backend}"
        );
        assert_eq!(ops.get("n").as_deref(), Ok("1"), "{backend}: set committed");
    });
}

#[test]
fn delete_prefix_deletes_in_the_runs_view_and_later_writes_stand() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv.clone());
        for key in ["a/1", "a/2", "ab", "b/1"] {
            assert_eq!(ops.set(key, "v"), 0);
        }
        let run = guest(
            r#"(func $run (result i32)
                 (call $must (call $kv.set "a/3" "v"))
                 (call $emit (call $ok (call $kv.delete_prefix "a/")))
                 (call $emit (call $st (call $kv.get "a/1")))
                 (call $must (call $kv.set "a/4" "v"))
                 (call $out (call $ok (call $kv.list "")))
                 (i32.const 0))"#,
            &tape_caps::grants().grant(kv.clone()),
        );
        let outcome = run.run(&Args::new()).unwrap();
        assert_eq!(outcome.status, 0, "{backend}: {:?}", outcome.reasons);
        assert_eq!(outcome.result::<(i32,)>(0).unwrap().0, 3, "{backend}");
        assert_eq!(outcome.result::<(i32,)>(1).unwrap().0, status::NOT_FOUND);
        let listed = outcome.result::<Vec<String>>(2).unwrap();
        assert_eq!(listed, ["a/4", "ab", "b/1"], "{backend}");
        assert_eq!(ops.list(""), ["a/4", "ab", "b/1"], "{backend}: committed");
        assert_eq!(ops.delete_prefix(""), Ok(3), "{backend}: everything");
        assert_eq!(ops.list(""), Vec::<String>::new(), "{backend}");
        assert_eq!(ops.delete_prefix("none"), Ok(0), "{backend}");
    });
}

#[test]
fn delete_prefix_at_commit_takes_keys_other_runs_wrote_meanwhile() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv.clone());
        assert_eq!(ops.set("tmp/1", "v"), 0);
        let (gate, arrivals, release) = Gate::new();
        let clearing = guest(
            r#"(func $run (result i32)
                 (drop (call $ok (call $kv.delete_prefix "tmp/")))
                 (drop (call $gate.wait))
                 (i32.const 0))"#,
            &tape_caps::grants().grant(kv).grant(gate),
        );
        let run = std::thread::spawn(move || clearing.run(&Args::new()).unwrap());
        arrivals.recv().unwrap();
        assert_eq!(ops.set("tmp/2", "v"), 0, "{backend}");
        assert_eq!(ops.set("keep", "v"), 0, "{backend}");
        release.send(()).unwrap();
        assert_eq!(run.join().unwrap().status, 0);
        assert_eq!(ops.list(""), ["keep"], "{backend}");
    });
}

#[test]
fn a_failed_run_deletes_no_prefix() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv.clone());
        assert_eq!(ops.set("a/1", "v"), 0);
        let failing = guest(
            r#"(func $run (result i32)
                 (drop (call $ok (call $kv.delete_prefix "a/")))
                 unreachable)"#,
            &tape_caps::grants().grant(kv),
        );
        assert!(failing.run(&Args::new()).is_err());
        assert_eq!(ops.list("a/"), ["a/1"], "{backend}");
    });
}

/// The system clock is the default: a key set to live a day has about a
/// day left.
#[test]
fn the_default_clock_is_the_system_clock() {
    let ops = Ops::new(Kv::in_memory().unwrap());
    assert_eq!(ops.set_ttl("k", "v", 86_400_000).status, 0);
    let left = ops.ttl("k").unwrap();
    assert!((86_000_000..=86_400_000).contains(&left), "{left}");
}

/// The compare-and-set loop in `docs/capabilities.md`, run by four threads
/// at once, appends every one of its "!".
#[test]
fn the_cas_loop_from_the_docs_loses_no_update() {
    let docs = include_str!("../../../docs/capabilities.md");
    let example = docs
        .split("```wat\n")
        .map(|block| block.split("```").next().unwrap())
        .find(|block| block.contains(r#"to the value of "banner""#))
        .unwrap();
    on_every_backend(|backend, kv, _| {
        let program = crate::program(example, &tape_caps::grants().grant(kv.clone()));
        let program = Arc::new(program);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let program = program.clone();
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        assert_eq!(program.run(&Args::new()).unwrap().status, 0);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(Ops::new(kv).get("banner"), Ok("!".repeat(20)), "{backend}");
    });
}

/// A run that read a key and writes from what it read commits nothing when
/// another run changed the key meanwhile; a run that writes without
/// reading is not stopped.
#[test]
fn a_read_modify_write_that_lost_a_race_commits_nothing() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv.clone());
        assert_eq!(ops.set("n", "1"), 0);
        let (gate, arrivals, release) = Gate::new();
        let grants = tape_caps::grants().grant(kv.clone()).grant(gate);
        // Reads n, waits, writes n + 1; or, with argument "blind", only
        // writes.
        let program = guest(
            r#"(func $run (result i32)
                 (local $old i32)
                 (if (i32.eqz (i32.load (call $arg (i32.const 0))))
                   (then (local.set $old (call $ok (call $kv.get "n")))))
                 (drop (call $gate.wait))
                 (call $kv.set "n" "from the slow run"))"#,
            &grants,
        );
        let program = Arc::new(program);
        for (arg, commits) in [("", false), ("blind", true)] {
            let slow = program.clone();
            let run = std::thread::spawn(move || slow.run(&Args::strings([arg])));
            arrivals.recv().unwrap();
            assert_eq!(ops.set("n", "5"), 0, "{backend}");
            release.send(()).unwrap();
            let result = run.join().unwrap();
            if commits {
                assert_eq!(result.unwrap().status, 0, "{backend}");
                assert_eq!(ops.get("n").as_deref(), Ok("from the slow run"));
            } else {
                let error = result.unwrap_err().to_string();
                assert!(
                    error.contains(
                        "`n` in namespace `default` changed after this run read it (another run wrote it, or it expired)"
                    ),
                    "{backend}: {error}"
                );
                assert_eq!(ops.get("n").as_deref(), Ok("5"), "{backend}");
            }
        }
    });
}

/// Two grants naming one Redis server share its keys, as two processes or
/// two machines do; namespaces stay apart.
#[test]
fn grants_on_one_redis_server_share_keys_and_namespaces_stay_apart() {
    let redis = RedisServer::start();
    let one = Ops::new(Kv::redis(&redis.url()).unwrap());
    let other = Ops::new(Kv::redis(&redis.url()).unwrap());
    let elsewhere = Ops::new(Kv::redis(&redis.url()).unwrap().namespace("other"));
    assert_eq!(one.set("greeting", "hello"), 0);
    assert_eq!(other.get("greeting").as_deref(), Ok("hello"));
    assert_eq!(elsewhere.get("greeting"), Err(status::NOT_FOUND));
    assert_eq!(other.incr("count", 2), Ok(2));
    assert_eq!(one.incr("count", 3), Ok(5));
    assert_eq!(elsewhere.list(""), Vec::<String>::new());
    assert_eq!(one.list(""), ["count", "greeting"]);
}

/// A server that refuses is a failure at once, naming it; one that
/// accepts and never answers is TIMED_OUT at the run's deadline; a
/// password in the URL is never shown.
#[test]
fn an_unavailable_redis_is_a_status_within_the_deadline() {
    use std::time::Instant;
    use tape_rt::Limits;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let ops = Ops::new(Kv::redis(&format!("redis://:hunter2@127.0.0.1:{port}/0")).unwrap());
    let started = Instant::now();
    let outcome = ops.basic.get.run(&Args::strings(["k"])).unwrap();
    assert_eq!(outcome.status, status::IO_FAILURE);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let why = reason(&outcome);
    assert!(why.contains("cannot connect"), "{why}");
    assert!(!why.contains("hunter2"), "{why}");

    // Accepts connections, reads nothing, answers nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis://127.0.0.1:{}/0",
        silent.local_addr().unwrap().port()
    );
    let held = std::thread::spawn(move || {
        let streams: Vec<_> = silent.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(2));
        drop(streams);
    });
    let ops = Ops::new(Kv::redis(&url).unwrap());
    let limits = Limits {
        timeout: Some(Duration::from_millis(400)),
        ..Limits::default()
    };
    let started = Instant::now();
    let outcome = ops
        .basic
        .get
        .run_with(&Args::strings(["k"]), &limits)
        .unwrap();
    let took = started.elapsed();
    assert_eq!(outcome.status, status::TIMED_OUT, "{:?}", outcome.reasons);
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    assert!(reason(&outcome).contains("did not answer before the run's deadline"));
    held.join().unwrap();

    assert!(Kv::redis("http://127.0.0.1/").is_err());
}

/// Each run's own namespace (`Namespace`) works on Redis as on a file.
#[test]
fn run_namespaces_work_on_redis() {
    use tape_caps::kv::Namespace;
    use tape_rt::Run;

    let redis = RedisServer::start();
    let program = guest(
        r#"(func $run (result i32)
             (call $emit64 (call $ok64 (call $kv.incr "visits" (i64.const 1))))
             (i32.const 0))"#,
        &tape_caps::grants().grant(Kv::redis(&redis.url()).unwrap().namespace("app")),
    );
    let visit = |tenant: &str| {
        let outcome = Run::new(&program)
            .data(Namespace::new(tenant))
            .run()
            .unwrap();
        outcome.result::<(i64,)>(0).unwrap().0
    };
    assert_eq!(visit("acme"), 1);
    assert_eq!(visit("acme"), 2);
    assert_eq!(visit("globex"), 1);
}

/// What the commit checks is what the run saw: a key read when it had
/// expired, and removed since by another run's commit, has not changed;
/// a key read live that expires before the commit has.
#[test]
fn expiry_counts_as_a_change_only_when_the_run_saw_the_key() {
    on_every_backend(|backend, kv, clock| {
        let ops = Ops::new(kv.clone());
        let (gate, arrivals, release) = Gate::new();
        let program = Arc::new(guest(
            r#"(func $run (result i32)
                 (drop (call $st (call $kv.get (call $arg (i32.const 0)))))
                 (drop (call $gate.wait))
                 (call $kv.set "written" "by the slow run"))"#,
            &tape_caps::grants().grant(kv).grant(gate),
        ));

        assert_eq!(ops.set_ttl("gone", "x", 10).status, 0);
        clock.advance(10);
        let slow = program.clone();
        let run = std::thread::spawn(move || slow.run(&Args::strings(["gone"])));
        arrivals.recv().unwrap();
        assert_eq!(ops.set("other", "y"), 0, "a commit that removes `gone`");
        release.send(()).unwrap();
        assert_eq!(run.join().unwrap().unwrap().status, 0, "{backend}");

        assert_eq!(ops.set_ttl("fading", "x", 100).status, 0);
        let slow = program.clone();
        let run = std::thread::spawn(move || slow.run(&Args::strings(["fading"])));
        arrivals.recv().unwrap();
        clock.advance(100);
        release.send(()).unwrap();
        let error = run.join().unwrap().unwrap_err().to_string();
        assert!(
            error.contains("`fading` in namespace `default` changed after this run read it"),
            "{backend}: {error}"
        );
    });
}

/// Keys are any UTF-8: spaces, line breaks, brackets and what Redis's
/// range syntax uses are keys like any other, listed by prefix in order.
#[test]
fn any_utf8_key_is_stored_and_listed_by_prefix() {
    on_every_backend(|backend, kv, _| {
        let ops = Ops::new(kv);
        let keys = [
            "(a",
            "[a",
            "[b",
            "a b",
            "a\nb",
            "a}{b",
            "é",
            "日本",
            "\u{10ffff}",
        ];
        for key in keys {
            assert_eq!(ops.set(key, key), 0, "{backend}: {key:?}");
        }
        for key in keys {
            assert_eq!(ops.get(key).as_deref(), Ok(key), "{backend}: {key:?}");
        }
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        assert_eq!(ops.list(""), sorted, "{backend}");
        assert_eq!(ops.list("["), ["[a", "[b"], "{backend}");
        assert_eq!(ops.list("("), ["(a"], "{backend}");
        assert_eq!(ops.list("a"), ["a\nb", "a b", "a}{b"], "{backend}");
        assert_eq!(ops.delete_prefix("["), Ok(2), "{backend}");
        assert_eq!(ops.list("["), Vec::<String>::new(), "{backend}");
        assert_eq!(ops.list("("), ["(a"], "{backend}");
    });
}

/// A run that reads ever new keys, or changes them with kv.cas, keeps
/// each for its commit's check or its later reads: they count against
/// its byte cap, so the host's memory does not grow without end.
#[test]
fn the_keys_a_run_reads_count_against_its_byte_cap() {
    on_every_backend(|backend, kv, _| {
        let grants = tape_caps::grants().grant(kv.max_run_bytes(4096));
        // Reads (or claims with cas) keys k0, k1, … until a call fails;
        // hands over how many went through, and the failing status.
        let program = guest(
            r#"(func $run (result i32)
                 (local $i i32) (local $key i32) (local $status i32)
                 (loop $again
                   (local.set $key (call $std.str.concat "k" (call $std.i32.to_str (local.get $i))))
                   (if (i32.load (call $arg (i32.const 0)))
                     (then (local.set $status (call $st (call $kv.cas (local.get $key) "x" "y"))))
                     (else (local.set $status (call $st (call $kv.get (local.get $key))))))
                   (if (i32.eq (local.get $status) (i32.const 4))
                     (then
                       (call $emit (local.get $i))
                       (return (i32.const 0))))
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br_if $again (i32.lt_u (local.get $i) (i32.const 100000))))
                 (i32.const 1))"#,
            &grants,
        );
        for arg in ["", "cas"] {
            let outcome = program.run(&Args::strings([arg])).unwrap();
            assert_eq!(outcome.status, 0, "{backend} {arg:?}: never refused");
            let count = outcome.result::<(i32,)>(0).unwrap().0;
            assert!((40..=64).contains(&count), "{backend} {arg:?}: {count}");
            assert!(
                reason(&outcome).contains("keeps each"),
                "{}",
                reason(&outcome)
            );
        }
    });
}
