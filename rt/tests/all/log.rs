//! The `log` capability.

use std::sync::{Arc, Mutex};

use tape_rt::{Args, Grants, Level, Log, status};

use crate::program;

type Lines = Arc<Mutex<Vec<(Level, String)>>>;

fn capture(max_bytes: usize) -> (Grants, Lines) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let log = Log::new()
        .max_bytes(max_bytes)
        .sink(move |level, message| sink.lock().unwrap().push((level, message.to_string())));
    (Grants::new().grant(log), lines)
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
    let (grants, lines) = capture(10);
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
        assert!(lines[1].1.contains("log budget of 10 bytes spent"));
    }
}
