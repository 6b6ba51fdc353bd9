//! The delivery log, manual retry and replay (SPEC §7).

use super::ServiceError;
use crate::state::AppState;
use hooklayer_core::ids::RequestId;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Webhook, WebhookStatus};
use hooklayer_store::{Delivery, DeliveryPage, DeliveryQuery, ReplayScope};

/// The message of SPEC §7 for retry and replay on a webhook that is not `active`.
pub const ACTIVATE_FIRST: &str = "Activate the webhook first.";

/// Retry and replay only queue work for an `active` webhook: the workers claim nothing else,
/// and queueing for an inactive one would surprise whoever activates it much later.
fn require_active(w: &Webhook) -> Result<(), ServiceError> {
    if w.status == WebhookStatus::Active {
        Ok(())
    } else {
        Err(ServiceError::InvalidOperation(ACTIVATE_FIRST.into()))
    }
}

/// A page of the webhook's deliveries, newest first.
pub async fn list(
    state: &AppState,
    w: &Webhook,
    query: &DeliveryQuery,
) -> Result<DeliveryPage, ServiceError> {
    Ok(state.store.list_deliveries(w.app, w.id, query).await?)
}

/// A delivery of `w` by its id (a UUID); a malformed id is simply unknown.
pub async fn find(state: &AppState, w: &Webhook, id: &str) -> Result<Delivery, ServiceError> {
    let id: RequestId = id.parse().map_err(|_| ServiceError::NotFound("delivery"))?;
    state
        .store
        .get_delivery(w.app, w.id, id)
        .await?
        .ok_or(ServiceError::NotFound("delivery"))
}

/// Queues a delivery again now (same request id, fresh attempt budget), whatever its status.
pub async fn retry(
    state: &AppState,
    w: &Webhook,
    delivery: &Delivery,
) -> Result<Delivery, ServiceError> {
    require_active(w)?;
    // The delivery may have gone (webhook deleted, retention) since it was found: then 404.
    let queued = state
        .store
        .retry_delivery(w.app, w.id, delivery.request_id, Timestamp::now())
        .await?
        .ok_or(ServiceError::NotFound("delivery"))?;
    state.delivery_wake.notify_one();
    tracing::info!(app.id = %w.app, webhook.id = %w.id, request.id = %queued.request_id, "delivery queued again by the user");
    Ok(queued)
}

/// Queues again every delivery of the webhook created since `since` in `scope`; returns how
/// many.
pub async fn replay(
    state: &AppState,
    w: &Webhook,
    since: Timestamp,
    scope: ReplayScope,
) -> Result<u64, ServiceError> {
    require_active(w)?;
    let queued = state
        .store
        .replay(w.app, w.id, since, scope, Timestamp::now())
        .await?;
    if queued > 0 {
        state.delivery_wake.notify_one();
    }
    tracing::info!(app.id = %w.app, webhook.id = %w.id, queued, "deliveries replayed");
    Ok(queued)
}

/// How many deliveries [`replay`] would queue now, so a person can see it before confirming.
pub async fn replay_count(
    state: &AppState,
    w: &Webhook,
    since: Timestamp,
    scope: ReplayScope,
) -> Result<u64, ServiceError> {
    require_active(w)?;
    Ok(state.store.replay_count(w.app, w.id, since, scope).await?)
}
