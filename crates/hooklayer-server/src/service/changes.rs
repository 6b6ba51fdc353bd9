//! Changing a webhook (SPEC §11): any subset of its keys, a secret rotation with an overlap
//! window, the delivery settings (SPEC §12), and the change history. A new target stops what
//! was claimed for the old one and is verified again; new delivery settings wake the claim loop.

use super::ServiceError;
use crate::state::AppState;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::Webhook;
use hooklayer_core::webhook_change::WebhookChange;
use hooklayer_store::WebhookChangeRecord;
use serde_json::{Map, Value};

/// Most changes the history returns (the newest).
pub const HISTORY_LIMIT: u32 = 100;

/// Applies a change body (the keys of a `PATCH`) to `w`; returns the changed webhook.
pub async fn change(
    state: &AppState,
    w: &Webhook,
    body: &Map<String, Value>,
) -> Result<Webhook, ServiceError> {
    let change = WebhookChange::parse(body, &state.target_rules)?;
    let overlap = i64::try_from(state.config.secret_overlap.as_millis()).unwrap_or(i64::MAX);
    let (updated, applied) = state
        .store
        .change_webhook(w.app, w.id, change, overlap, Timestamp::now())
        .await?
        .ok_or(ServiceError::NotFound("webhook"))?;
    if !applied.keys.is_empty() {
        tracing::info!(app.id = %w.app, webhook.id = %w.id, changed = %applied.keys.join(","), "webhook changed");
    }
    if applied.target_changed() {
        // After the commit, before the answer: nothing claimed for the old target starts now.
        state.stopped.stop(w.id);
        state.verify_wake.notify_one();
    }
    if applied.delivery_changed() {
        state.delivery_wake.notify_one();
    }
    Ok(updated)
}

/// The webhook's most recent changes, newest first: when, and which keys (never values).
pub async fn history(
    state: &AppState,
    w: &Webhook,
) -> Result<Vec<WebhookChangeRecord>, ServiceError> {
    Ok(state.store.webhook_changes(w.id, HISTORY_LIMIT).await?)
}
