//! Prometheus metrics (SPEC §9), with `prometheus-client`, rendered as OpenMetrics text.
//!
//! Counters and histograms are recorded by the API and the workers as things happen; the
//! gauges (queue depth, webhooks by status) describe the database, so the `/metrics` handler
//! reads them from the store at scrape time and sets them with [`Metrics::set_queue_depth`]
//! and [`Metrics::set_webhooks`] just before [`Metrics::render`].
//!
//! CONCURRENCY: the recording methods are on the delivery hot path. Every labelled counter is
//! looked up once, at construction, so recording is one atomic add: no label hashing, no
//! family lock, no allocation. Histograms take their own short mutex for a bucket update
//! (never held across an await).

use hooklayer_core::webhook::WebhookStatus;
use hooklayer_store::QueueDepth;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::fmt::Write as _;
use std::time::Duration;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Attempt duration buckets, seconds: from a fast local receiver to past any sane timeout.
const ATTEMPT_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Event created → success buckets, seconds: first-attempt deliveries land in the first
/// few; the retry schedule (~28 min by default) and outages fill the rest.
const LAG_BUCKETS: [f64; 16] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0,
    3600.0,
];

/// How a finished delivery, attempt or verification ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Succeeded,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

/// One counter per outcome, resolved once so recording is a single atomic add.
struct ByOutcome {
    succeeded: Counter,
    failed: Counter,
}

impl ByOutcome {
    /// Registers `hooklayer_<name>_total{outcome}` with both series present from the start
    /// (so `rate()` and alerts see a 0 before the first failure).
    fn register(registry: &mut Registry, name: &str, help: &str) -> Self {
        let family = Family::<OutcomeLabel, Counter>::default();
        registry.register(name, help, family.clone());
        let get = |outcome| family.get_or_create_owned(&OutcomeLabel { outcome });
        Self {
            succeeded: get(Outcome::Succeeded),
            failed: get(Outcome::Failed),
        }
    }

    fn inc(&self, outcome: Outcome) {
        match outcome {
            Outcome::Succeeded => self.succeeded.inc(),
            Outcome::Failed => self.failed.inc(),
        };
    }
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    events_ingested: Counter,
    deliveries: ByOutcome,
    attempts: ByOutcome,
    verifications: ByOutcome,
    attempt_duration: Histogram,
    delivery_lag: Histogram,
    queue_pending: Gauge,
    queue_due: Gauge,
    queue_failed: Gauge,
    /// `hooklayer_deliveries_waiting{reason}`: held by a rate limit, behind an order line.
    waiting_rate_limit: Gauge,
    waiting_order: Gauge,
    /// Indexed like [`WebhookStatus::ALL`].
    webhooks: [Gauge; 3],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hooklayer");
        let events_ingested = Counter::default();
        registry.register(
            "events_ingested",
            "Events accepted by the publish API (idempotent repeats included)",
            events_ingested.clone(),
        );
        let deliveries = ByOutcome::register(
            &mut registry,
            "deliveries",
            "Deliveries that reached a final state: succeeded, or failed after the last attempt",
        );
        let attempts = ByOutcome::register(
            &mut registry,
            "attempts",
            "Delivery attempts (HTTP requests to targets) by outcome",
        );
        let verifications = ByOutcome::register(
            &mut registry,
            "verifications",
            "Verification handshakes by outcome",
        );
        let attempt_duration = Histogram::new(ATTEMPT_BUCKETS);
        registry.register_with_unit(
            "attempt_duration",
            "Duration of one delivery attempt",
            Unit::Seconds,
            attempt_duration.clone(),
        );
        let delivery_lag = Histogram::new(LAG_BUCKETS);
        registry.register_with_unit(
            "delivery_lag",
            "Time from an event's created_at to the success of one of its deliveries",
            Unit::Seconds,
            delivery_lag.clone(),
        );
        let queue = Family::<StateLabel, Gauge>::default();
        registry.register(
            "queue_depth",
            "Deliveries by state: pending (all), due (pending and due now), failed (kept for replay)",
            queue.clone(),
        );
        let state = |state| queue.get_or_create_owned(&StateLabel { state });
        let (queue_pending, queue_due, queue_failed) =
            (state("pending"), state("due"), state("failed"));
        let waiting = Family::<ReasonLabel, Gauge>::default();
        registry.register(
            "deliveries_waiting",
            "Pending deliveries held by their webhook's delivery settings: due but over its rate limit (rate_limit), or behind the head of its ordered line (order)",
            waiting.clone(),
        );
        let reason = |reason| waiting.get_or_create_owned(&ReasonLabel { reason });
        let (waiting_rate_limit, waiting_order) = (reason("rate_limit"), reason("order"));
        let hooks = Family::<StatusLabel, Gauge>::default();
        registry.register("webhooks", "Webhooks by status", hooks.clone());
        let webhooks = WebhookStatus::ALL
            .map(|s| hooks.get_or_create_owned(&StatusLabel { status: s.as_str() }));
        Self {
            registry,
            events_ingested,
            deliveries,
            attempts,
            verifications,
            attempt_duration,
            delivery_lag,
            queue_pending,
            queue_due,
            queue_failed,
            waiting_rate_limit,
            waiting_order,
            webhooks,
        }
    }

    /// `n` events were accepted by the publish API.
    pub fn events_ingested(&self, n: u64) {
        self.events_ingested.inc_by(n);
    }

    /// One attempt finished (`hooklayer_attempts_total`, `hooklayer_attempt_duration_seconds`).
    pub fn attempt(&self, outcome: Outcome, duration: Duration) {
        self.attempts.inc(outcome);
        self.attempt_duration.observe(duration.as_secs_f64());
    }

    /// A delivery reached a final state (`hooklayer_deliveries_total`); `lag` is event
    /// created → success, for successes.
    pub fn delivery_finished(&self, outcome: Outcome, lag: Option<Duration>) {
        self.deliveries.inc(outcome);
        if let Some(lag) = lag {
            self.delivery_lag.observe(lag.as_secs_f64());
        }
    }

    /// A verification handshake finished (`hooklayer_verifications_total`).
    pub fn verification(&self, outcome: Outcome) {
        self.verifications.inc(outcome);
    }

    /// Sets `hooklayer_queue_depth` from the store's answer.
    pub fn set_queue_depth(&self, depth: &QueueDepth) {
        self.queue_pending.set(gauge_value(depth.pending));
        self.queue_due.set(gauge_value(depth.due));
        self.queue_failed.set(gauge_value(depth.failed));
        self.waiting_rate_limit.set(gauge_value(depth.rate_limited));
        self.waiting_order.set(gauge_value(depth.in_line));
    }

    /// Sets `hooklayer_webhooks` from the store's counts; a status it does not list is 0.
    pub fn set_webhooks(&self, counts: &[(WebhookStatus, u64)]) {
        for (status, gauge) in WebhookStatus::ALL.iter().zip(&self.webhooks) {
            let n = counts
                .iter()
                .filter(|(s, _)| s == status)
                .map(|(_, n)| *n)
                .sum();
            gauge.set(gauge_value(n));
        }
    }

    /// Every metric, as OpenMetrics text (served with [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail; an encoding error would be a bug in a label type.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn every_series_is_present_from_the_start_with_the_spec_names() {
        let text = Metrics::new().render();
        for series in [
            "hooklayer_events_ingested_total 0",
            "hooklayer_deliveries_total{outcome=\"succeeded\"} 0",
            "hooklayer_deliveries_total{outcome=\"failed\"} 0",
            "hooklayer_attempts_total{outcome=\"failed\"} 0",
            "hooklayer_verifications_total{outcome=\"succeeded\"} 0",
            "hooklayer_attempt_duration_seconds_count 0",
            "hooklayer_delivery_lag_seconds_count 0",
            "hooklayer_queue_depth{state=\"due\"} 0",
            "hooklayer_webhooks{status=\"unverified\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == series),
                "{series} missing in\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn recordings_move_the_right_series() {
        let m = Metrics::new();
        m.events_ingested(3);
        m.attempt(Outcome::Failed, Duration::from_millis(20));
        m.attempt(Outcome::Succeeded, Duration::from_millis(30));
        m.delivery_finished(Outcome::Succeeded, Some(Duration::from_millis(70)));
        m.delivery_finished(Outcome::Failed, None);
        m.verification(Outcome::Failed);
        m.set_queue_depth(&QueueDepth {
            pending: 5,
            due: 2,
            failed: 1,
            rate_limited: 3,
            in_line: 7,
        });
        m.set_webhooks(&[(WebhookStatus::Active, 4)]);
        let text = m.render();
        for (prefix, want) in [
            ("hooklayer_events_ingested_total ", "3"),
            ("hooklayer_attempts_total{outcome=\"failed\"} ", "1"),
            ("hooklayer_attempts_total{outcome=\"succeeded\"} ", "1"),
            ("hooklayer_deliveries_total{outcome=\"succeeded\"} ", "1"),
            ("hooklayer_deliveries_total{outcome=\"failed\"} ", "1"),
            ("hooklayer_verifications_total{outcome=\"failed\"} ", "1"),
            ("hooklayer_attempt_duration_seconds_count ", "2"),
            (
                "hooklayer_attempt_duration_seconds_bucket{le=\"0.025\"} ",
                "1",
            ),
            ("hooklayer_delivery_lag_seconds_count ", "1"),
            ("hooklayer_delivery_lag_seconds_bucket{le=\"0.1\"} ", "1"),
            ("hooklayer_queue_depth{state=\"pending\"} ", "5"),
            ("hooklayer_queue_depth{state=\"failed\"} ", "1"),
            ("hooklayer_deliveries_waiting{reason=\"rate_limit\"} ", "3"),
            ("hooklayer_deliveries_waiting{reason=\"order\"} ", "7"),
            ("hooklayer_webhooks{status=\"active\"} ", "4"),
            ("hooklayer_webhooks{status=\"inactive\"} ", "0"),
        ] {
            let got = line(&text, prefix).map(|l| &l[prefix.len()..]);
            assert_eq!(got, Some(want), "{prefix} in\n{text}");
        }
    }
}
