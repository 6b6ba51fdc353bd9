//! The state shared by the API handlers and the workers of one process.

use crate::config::Config;
use crate::ingest::IngestQueue;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use hooklayer_core::target_url::TargetRules;
use hooklayer_store::Store;
use std::sync::Arc;
use tokio::sync::Notify;

/// Everything a handler or worker needs; shared behind an `Arc`.
pub struct AppState {
    pub config: Config,
    pub store: Arc<dyn Store>,
    /// What registration accepts as a target.
    pub target_rules: TargetRules,
    pub rate_limiter: RateLimiter,
    pub metrics: Metrics,
    /// Group commit for the publish API.
    pub ingest: IngestQueue,
    /// Wakes the delivery workers of this process when work was queued.
    pub delivery_wake: Notify,
    /// Wakes the verification worker of this process when a webhook awaits verification.
    pub verify_wake: Notify,
}

impl AppState {
    /// Builds the state; must run inside the tokio runtime (it starts the ingest task).
    pub fn new(config: Config, store: Arc<dyn Store>) -> Self {
        let target_rules = TargetRules {
            allow_http: config.allow_http_targets,
            addresses: config.address_policy(),
        };
        Self {
            rate_limiter: RateLimiter::new(config.rate_limit),
            metrics: Metrics::new(),
            ingest: IngestQueue::start(store.clone()),
            target_rules,
            store,
            config,
            delivery_wake: Notify::new(),
            verify_wake: Notify::new(),
        }
    }
}
