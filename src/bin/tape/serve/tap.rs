//! Each run's log messages, to the request that started it.
//!
//! A program's grants, `log` among them, are built once at start, so its
//! log sink is shared by every run. A run executes on one thread from
//! start to end, and the `log` capability calls its sink on that thread,
//! so the sink hands each message to the tap that thread has set for the
//! run it is running: kept for the JSON answer, or sent at once as a
//! server-sent event. A message written with no tap set (none is) would
//! be dropped.

use std::cell::RefCell;

use axum::response::sse::Event;
use serde::Serialize;
use tape_caps::{Level, LogSink};
use tokio::sync::mpsc::UnboundedSender;

/// One log message, as the JSON answer and the `log` event give it.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub text: String,
}

/// Where one run's messages go.
enum Tap {
    /// Into the answer.
    Keep(Vec<LogLine>),
    /// To the client as they are written. Unbounded, as the `log`
    /// capability bounds what a run writes (1 MiB by default).
    Stream(UnboundedSender<Event>),
}

thread_local! {
    static TAP: RefCell<Option<Tap>> = const { RefCell::new(None) };
}

/// The sink every served program's `log` grant writes to.
pub fn sink() -> LogSink {
    LogSink::new(|level: Level, text: &str| {
        TAP.with_borrow_mut(|tap| match tap {
            Some(Tap::Keep(lines)) => lines.push(LogLine {
                level: level.as_str(),
                text: text.to_string(),
            }),
            Some(Tap::Stream(events)) => {
                let line = LogLine {
                    level: level.as_str(),
                    text: text.to_string(),
                };
                // A client that went away no longer reads them.
                let _ = events.send(event("log", &line));
            }
            None => {}
        });
    })
}

/// Runs `f` with this thread's messages kept, and returns them with its
/// result.
pub fn keep<R>(f: impl FnOnce() -> R) -> (R, Vec<LogLine>) {
    let (result, tap) = tapped(Tap::Keep(Vec::new()), f);
    match tap {
        Some(Tap::Keep(lines)) => (result, lines),
        _ => (result, Vec::new()),
    }
}

/// Runs `f` with this thread's messages sent to `events` as `log` events.
pub fn stream<R>(events: UnboundedSender<Event>, f: impl FnOnce() -> R) -> R {
    tapped(Tap::Stream(events), f).0
}

fn tapped<R>(tap: Tap, f: impl FnOnce() -> R) -> (R, Option<Tap>) {
    /// Takes the tap off even if `f` panics, so the thread's next run
    /// does not write into this one's.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            TAP.with_borrow_mut(|tap| *tap = None);
        }
    }
    TAP.with_borrow_mut(|slot| *slot = Some(tap));
    let reset = Reset;
    let result = f();
    let tap = TAP.with_borrow_mut(Option::take);
    drop(reset);
    (result, tap)
}

/// A server-sent event named `name` whose data is `value` as JSON.
pub fn event<T: Serialize>(name: &str, value: &T) -> Event {
    let data = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    Event::default().event(name).data(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_messages_reach_its_own_tap_and_no_other() {
        let write = |text: &str| {
            TAP.with_borrow_mut(|tap| {
                if let Some(Tap::Keep(lines)) = tap {
                    lines.push(LogLine {
                        level: "info",
                        text: text.to_string(),
                    });
                }
            });
        };
        let ((), lines) = keep(|| write("one"));
        assert_eq!(lines.len(), 1);
        write("after");
        let ((), lines) = keep(|| ());
        assert!(lines.is_empty(), "nothing written between runs is kept");
        let panicked = std::panic::catch_unwind(|| keep(|| panic!("run")));
        assert!(panicked.is_err());
        assert!(
            TAP.with_borrow(Option::is_none),
            "a panic takes the tap off"
        );
    }
}
