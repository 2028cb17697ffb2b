//! The SSRF list, `tests/security/ssrf.toml`: URL forms the `http`
//! capability must refuse or let through, each group under its own
//! allow-list, run by a guest against real servers on loopback. The file
//! says how to add a case; this runner checks every case on its own and
//! reports each failure with its group and URL.

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tape_caps::Http;
use tape_rt::{Args, status};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use ureq::http::Uri;

use crate::http::GET_BODY;
use crate::program;
use tape_testkit::server::{Reply, Server};

const LIST: &str = include_str!("../../../tests/security/ssrf.toml");

/// The issue that asked for the list wanted at least this many forms; a
/// list that shrank below it by accident should not pass quietly.
const AT_LEAST: usize = 60;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct List {
    group: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Group {
    about: String,
    allow: Vec<String>,
    #[serde(default)]
    allow_private: bool,
    #[serde(default)]
    redirect: bool,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    url: String,
    expect: Expect,
    reason: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Expect {
    Ok,
    Denied,
    Invalid,
    Failed,
}

impl Expect {
    fn status(self) -> i32 {
        match self {
            Expect::Ok => status::OK,
            Expect::Denied => status::ACCESS_DENIED,
            Expect::Invalid => status::INVALID_ARGUMENT,
            Expect::Failed => status::IO_FAILURE,
        }
    }
}

#[test]
fn every_form_on_the_ssrf_list_gets_its_expected_status_and_reason() {
    let list: List = toml::from_str(LIST).unwrap_or_else(|e| panic!("ssrf.toml: {e}"));
    let port = Server::start(|_| Reply::ok("reached"));
    let other = Server::start(|_| Reply::ok("reached"));
    let fill = |text: &str| {
        text.replace("{port}", &port.port().to_string())
            .replace("{other}", &other.port().to_string())
    };
    let mut failures = Vec::new();
    let mut cases = 0;
    for group in &list.group {
        let urls: Vec<String> = group.cases.iter().map(|case| fill(&case.url)).collect();
        // Answers `/N` with a redirect to the group's Nth URL.
        let redirector = group.redirect.then(|| {
            let locations = urls.clone();
            Server::start(move |request| {
                let n = request.path[1..].parse::<usize>().unwrap_or(usize::MAX);
                match locations.get(n) {
                    Some(location) => Reply::redirect(302, location),
                    None => Reply::status(404, ""),
                }
            })
        });
        let mut http = Http::new().allow_private(group.allow_private);
        for origin in &group.allow {
            http = http.allow(&fill(origin));
        }
        if let Some(redirector) = &redirector {
            http = http.allow(&redirector.origin());
        }
        let program = program(GET_BODY, &tape_caps::grants().grant(http.clone()));
        for (n, (case, url)) in group.cases.iter().zip(&urls).enumerate() {
            cases += 1;
            let request = match &redirector {
                Some(redirector) => redirector.url(&format!("/{n}")),
                None => url.clone(),
            };
            let failure = check(
                &program,
                &http,
                case,
                url,
                &request,
                &[&port, &other],
                &fill,
            );
            if let Some(failure) = failure {
                failures.push(format!("[{}] {url:?}: {failure}", group.about));
            }
        }
    }
    assert!(cases >= AT_LEAST, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} SSRF cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs one case: what went wrong, if anything did.
fn check(
    program: &tape_rt::Program,
    http: &Http,
    case: &Case,
    url: &str,
    request: &str,
    servers: &[&Server],
    fill: &dyn Fn(&str) -> String,
) -> Option<String> {
    if !stays_on_this_machine(http, url) {
        return Some(
            "the policy would let it through to a host off this machine; not sent".to_string(),
        );
    }
    let before: Vec<usize> = servers.iter().map(|s| s.requests().len()).collect();
    let (outcome, logged) = logged(|| program.run(&Args::strings([request])));
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => return Some(format!("the run failed: {error}")),
    };
    let reached = servers
        .iter()
        .zip(&before)
        .any(|(server, &before)| server.requests().len() > before);
    let reason = logged.join("; ");
    let name = |code| status::name(code).unwrap_or("?");
    if outcome.status != case.expect.status() {
        return Some(format!(
            "expected {}, got {} ({reason})",
            name(case.expect.status()),
            name(outcome.status)
        ));
    }
    if case.expect == Expect::Ok {
        if outcome.result::<&str>(0).ok() != Some("reached") || !reached {
            return Some(format!("did not reach a loopback server: {outcome:?}"));
        }
    } else if reached {
        return Some(format!(
            "{} as expected, but only after a request reached a loopback server",
            name(outcome.status)
        ));
    }
    let wanted = case.reason.as_deref().map(fill);
    match wanted {
        Some(wanted) if !reason.contains(&wanted) => {
            Some(format!("the reason `{reason}` does not say `{wanted}`"))
        }
        _ => None,
    }
}

/// Whether a request for `url`, direct or as a redirect hop, can only
/// reach this machine: the policy refuses it before any lookup, or its
/// host is a loopback one. Nothing else is sent, whatever the policy says.
fn stays_on_this_machine(http: &Http, url: &str) -> bool {
    // A scheme-relative redirect keeps the redirector's `http`.
    let url = match url.strip_prefix("//") {
        Some(rest) => format!("http://{rest}"),
        None => url.to_string(),
    };
    if http.refusal(&url).is_some() {
        return true;
    }
    let Some(authority) = url
        .parse::<Uri>()
        .ok()
        .and_then(|uri| uri.authority().cloned())
    else {
        return false;
    };
    let host = authority.host();
    !authority.as_str().contains('@')
        && (host == "127.0.0.1" || host == "[::1]" || host.eq_ignore_ascii_case("localhost"))
}

/// Runs `f`, and returns what it returned with every message logged to
/// `tape::…` targets on this thread meanwhile: the reasons the host gets
/// for a refused request.
fn logged<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let messages = Arc::new(Mutex::new(Vec::new()));
    let capture = Capture(messages.clone());
    let result = tracing::subscriber::with_default(capture, f);
    let messages = std::mem::take(&mut *messages.lock().unwrap());
    (result, messages)
}

/// A `tracing` subscriber that keeps the message of each event from Tape.
struct Capture(Arc<Mutex<Vec<String>>>);

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("tape::")
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        struct Message(String);
        impl Visit for Message {
            fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0.lock().unwrap().push(message.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
