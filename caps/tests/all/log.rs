//! The `log` capability.

use std::sync::{Arc, Mutex};

use tape_caps::{LOG_MESSAGE_OVERHEAD, Level, Log};
use tape_rt::{Args, Grants, status};

use crate::program;

type Lines = Arc<Mutex<Vec<(Level, String)>>>;

fn capture(max_bytes: usize) -> (Grants, Lines) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let log = Log::new()
        .max_bytes(max_bytes)
        .sink(move |level, message| sink.lock().unwrap().push((level, message.to_string())));
    (tape_caps::grants().grant(log), lines)
}

#[test]
fn messages_reach_the_sink_at_their_level_with_control_characters_escaped() {
    let (grants, lines) = capture(1024);
    let outcome = program(
        r#"(func $run (result i32)
             (drop (call $log.write (i32.const 0) "boom"))
             (drop (call $log.write (i32.const 4) "line\nbreak \1b[31mred"))
             (call $log.write (i32.const 5) "no such level"))"#,
        &grants,
    )
    .run(&Args::new())
    .unwrap();
    assert_eq!(outcome.status, status::INVALID_ARGUMENT);
    let (name, usage) = &outcome.usage.capabilities[0];
    assert_eq!(name, "log");
    assert_eq!((usage.calls, usage.bytes_in), (3, 4 + 19));
    assert_eq!(
        *lines.lock().unwrap(),
        [
            (Level::Error, "boom".to_string()),
            (Level::Trace, "line\\nbreak \\u{1b}[31mred".to_string()),
        ]
    );
}

#[test]
fn the_byte_budget_is_per_run_and_says_once_that_it_is_spent() {
    // Room for one six-byte message and its framing, not two.
    let (grants, lines) = capture(2 * LOG_MESSAGE_OVERHEAD + 6);
    let program = program(
        r#"(func $run (result i32)
             (drop (call $log.write (i32.const 2) "123456"))
             (drop (call $log.write (i32.const 2) "123456"))
             (call $log.write (i32.const 2) "123456"))"#,
        &grants,
    );
    for _ in 0..2 {
        lines.lock().unwrap().clear();
        let outcome = program.run(&Args::new()).unwrap();
        assert_eq!(outcome.status, status::TOO_LARGE);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0], (Level::Info, "123456".to_string()));
        assert_eq!(lines[1].0, Level::Warn);
        assert!(lines[1].1.contains("log budget of 38 bytes spent"));
    }
}

/// The bytes a sink receives, each message counted with its framing.
fn written(lines: &Lines) -> usize {
    let lines = lines.lock().unwrap();
    lines
        .iter()
        .filter(|(level, _)| *level != Level::Warn)
        .map(|(_, message)| message.len() + LOG_MESSAGE_OVERHEAD)
        .sum()
}

/// Empty messages were free, and escaping multiplied what was written: a
/// 1 MiB budget let out 14.7 MB. The budget now counts what is written.
#[test]
fn the_budget_bounds_what_is_written_however_the_messages_are_made() {
    let budget = 64 << 10;
    // 100,000 empty messages; then messages of control bytes, each of
    // which escapes to six (`\u{1b}`); then a message over the budget.
    let (grants, lines) = capture(budget);
    let outcome = program(
        r#"(func $run (result i32) (local $i i32) (local $big i32)
             (loop $empty
               (drop (call $log.write (i32.const 2) ""))
               (br_if $empty (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                       (i32.const 100000))))
             (call $log.write (i32.const 2) ""))"#,
        &grants,
    )
    .run(&Args::new())
    .unwrap();
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert_eq!(
        lines.lock().unwrap().len(),
        budget / LOG_MESSAGE_OVERHEAD + 1,
        "every message fitting, and one warning"
    );
    assert!(written(&lines) <= budget);

    let (grants, lines) = capture(budget);
    let escapes = "\\1b".repeat(1000);
    let outcome = program(
        &format!(
            r#"(func $run (result i32) (local $i i32)
                 (loop $again
                   (drop (call $log.write (i32.const 2) "{escapes}"))
                   (br_if $again (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                           (i32.const 1000))))
                 (call $log.write (i32.const 2) "{escapes}"))"#
        ),
        &grants,
    )
    .run(&Args::new())
    .unwrap();
    assert_eq!(outcome.status, status::TOO_LARGE);
    let count = lines.lock().unwrap().len() - 1;
    assert_eq!(
        count,
        budget / (6000 + LOG_MESSAGE_OVERHEAD),
        "messages that fit"
    );
    assert!(written(&lines) <= budget, "{} bytes", written(&lines));

    // One message larger than the whole budget is refused outright.
    let (grants, lines) = capture(budget);
    let outcome = program(
        r#"(func $run (result i32) (local $big i32)
             (local.set $big (call $core.alloc (i32.const 200000)))
             (i32.store (local.get $big) (i32.const 199996))
             (call $log.write (i32.const 2) (local.get $big)))"#,
        &grants,
    )
    .run(&Args::new())
    .unwrap();
    assert_eq!(outcome.status, status::TOO_LARGE);
    assert_eq!(written(&lines), 0);
}
