//! What `/metrics` reports, in the OpenMetrics text format (which
//! Prometheus reads), encoded by `prometheus-client`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `/metrics`'s content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    /// The program's name; `source` for source sent in requests.
    pub program: String,
    /// `ok`, or the `error.kind` of the answer: `status`, `trap`,
    /// `timeout`, `out-of-fuel`…
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProgramLabels {
    pub program: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectedLabels {
    /// `unauthorized`, `too-large`, `overloaded`, `client-limit`,
    /// `bad-request`, `not-found`, `forbidden`, `compile`.
    pub reason: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub runs: Family<RunLabels, Counter>,
    pub rejected: Family<RejectedLabels, Counter>,
    pub run_seconds: HistogramFamily<ProgramLabels>,
    pub queue_seconds: Histogram,
    pub running: Gauge,
    pub queued: Gauge,
}

/// 1 ms to about 65 s, doubling.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tape");
        let runs = Family::<RunLabels, Counter>::default();
        registry.register(
            "runs",
            "Runs, by program and outcome (`ok` or the error kind)",
            runs.clone(),
        );
        let rejected = Family::<RejectedLabels, Counter>::default();
        registry.register(
            "rejected_requests",
            "Requests answered without a run, by reason",
            rejected.clone(),
        );
        let run_seconds: HistogramFamily<ProgramLabels> = Family::new_with_constructor(seconds);
        registry.register(
            "run_duration_seconds",
            "Time from a run's start to its end, by program",
            run_seconds.clone(),
        );
        let queue_seconds = seconds();
        registry.register(
            "queue_wait_seconds",
            "Time requests waited for a run slot",
            queue_seconds.clone(),
        );
        let running = Gauge::default();
        registry.register("running", "Runs in progress", running.clone());
        let queued = Gauge::default();
        registry.register("queued", "Requests waiting for a run slot", queued.clone());
        Metrics {
            registry,
            runs,
            rejected,
            run_seconds,
            queue_seconds,
            running,
            queued,
        }
    }

    pub fn reject(&self, reason: &str) {
        self.rejected
            .get_or_create(&RejectedLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn run(&self, program: &str, outcome: &str, seconds: f64) {
        self.runs
            .get_or_create(&RunLabels {
                program: program.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        self.run_seconds
            .get_or_create(&ProgramLabels {
                program: program.to_string(),
            })
            .observe(seconds);
    }

    /// The text `/metrics` answers with.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
