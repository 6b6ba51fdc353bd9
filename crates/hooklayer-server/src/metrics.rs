//! Prometheus metrics (being written): the recording interface used by the API and workers.

use std::time::Duration;

/// The process's metrics.
#[derive(Default)]
pub struct Metrics {}

/// How a finished delivery or attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }
    /// `n` events were accepted by the publish API.
    pub fn events_ingested(&self, _n: u64) {}
    /// One attempt finished (`hooklayer_attempts_total`, `hooklayer_attempt_duration_seconds`).
    pub fn attempt(&self, _outcome: Outcome, _duration: Duration) {}
    /// A delivery reached a final state (`hooklayer_deliveries_total`); `lag` is event
    /// created → success, for successes.
    pub fn delivery_finished(&self, _outcome: Outcome, _lag: Option<Duration>) {}
    /// A verification handshake finished (`hooklayer_verifications_total`).
    pub fn verification(&self, _outcome: Outcome) {}
}
