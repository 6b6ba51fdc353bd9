//! The state shared by the API handlers and the workers of one process.

use crate::config::Config;
use crate::ingest::IngestQueue;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use hooklayer_core::ids::WebhookId;
use hooklayer_core::target_url::TargetRules;
use hooklayer_store::Store;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
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
    pub delivery_wake: Arc<Notify>,
    /// Where an ingest hands its new deliveries to this process's delivery worker.
    pub handoff: Arc<crate::worker::handoff::HandoffDoor>,
    /// Wakes the verification worker of this process when a webhook awaits verification.
    pub verify_wake: Notify,
    /// Webhooks deleted, deactivated or exhausted since their deliveries were claimed.
    pub stopped: StoppedWebhooks,
    /// Open listener streams (SPEC §14).
    pub listeners: crate::listen::Listeners,
    /// Failed dashboard sign-ins per client address.
    pub sign_in_throttle: crate::ui::throttle::SignInThrottle,
    /// Tokens the publish route has looked up lately.
    pub publish_tokens: crate::api::publish_tokens::PublishTokens,
}

/// Webhooks whose already-claimed deliveries must not be sent: a delivery claimed while its
/// webhook was active may wait for a sending slot after the webhook was deleted, deactivated
/// or exhausted. Send tasks check this set once they have their slot.
#[derive(Default)]
pub struct StoppedWebhooks {
    // CONCURRENCY: a short critical section per check; never held across an await.
    ids: Mutex<HashSet<WebhookId>>,
}

impl StoppedWebhooks {
    pub fn stop(&self, id: WebhookId) {
        self.lock().insert(id);
    }
    pub fn resume(&self, id: WebhookId) {
        self.lock().remove(&id);
    }
    pub fn is_stopped(&self, id: WebhookId) -> bool {
        self.lock().contains(&id)
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<WebhookId>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AppState {
    /// Builds the state; must run inside the tokio runtime (it starts the ingest task).
    pub fn new(config: Config, store: Arc<dyn Store>) -> Self {
        let target_rules = TargetRules {
            allow_http: config.allow_http_targets,
            addresses: config.address_policy(),
        };
        let delivery_wake = Arc::new(Notify::new());
        let handoff = Arc::new(crate::worker::handoff::HandoffDoor::default());
        Self {
            rate_limiter: RateLimiter::new(config.rate_limit),
            metrics: Metrics::new(),
            ingest: IngestQueue::start(store.clone(), handoff.clone(), delivery_wake.clone()),
            handoff,
            target_rules,
            store,
            delivery_wake,
            verify_wake: Notify::new(),
            stopped: StoppedWebhooks::default(),
            sign_in_throttle: Default::default(),
            publish_tokens: Default::default(),
            // Other processes share the database only on PostgreSQL.
            listeners: crate::listen::Listeners::new(!config.database_url.starts_with("sqlite:")),
            config,
        }
    }
}
