//! Webhooks (SPEC §3): register, find, list, activate, deactivate, delete. Registration and
//! activation queue the verification handshake (SPEC §4) and wake this process's verifier;
//! deactivation and deletion stop deliveries already claimed.

use super::ServiceError;
use crate::state::AppState;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Registration, Webhook, WebhookStatus, DEACTIVATED_BY_USER};
use hooklayer_store::CreateWebhook;
use serde_json::{Map, Value};

/// Most webhooks one app may have.
pub const MAX_WEBHOOKS_PER_APP: u32 = 100;

/// The webhook `id` of a path or form (a UUID), as a webhook of `app`; a malformed id is
/// simply unknown.
pub async fn find(state: &AppState, app: AppId, id: &str) -> Result<Webhook, ServiceError> {
    let id: WebhookId = id.parse().map_err(|_| ServiceError::NotFound("webhook"))?;
    state
        .store
        .get_webhook(app, id)
        .await?
        .ok_or(ServiceError::NotFound("webhook"))
}

/// The app's webhooks, oldest first.
pub async fn list(state: &AppState, app: AppId) -> Result<Vec<Webhook>, ServiceError> {
    Ok(state.store.list_webhooks(app).await?)
}

/// Registers a webhook from a registration body; its verification starts at once.
pub async fn register(
    state: &AppState,
    app: AppId,
    body: &Map<String, Value>,
) -> Result<Webhook, ServiceError> {
    let reg = Registration::parse(body, &state.target_rules)?;
    let webhook = Webhook {
        id: WebhookId::new(),
        app,
        version: reg.version,
        target_url: reg.target_url,
        events: reg.events,
        secret: reg.secret,
        config: reg.config,
        status: WebhookStatus::Unverified,
        status_reason: None,
        created_at: Timestamp::now(),
        delivery: reg.delivery,
    };
    match state
        .store
        .create_webhook(&webhook, MAX_WEBHOOKS_PER_APP)
        .await?
    {
        CreateWebhook::Created => {}
        CreateWebhook::LimitReached => {
            return Err(ServiceError::InvalidOperation(
                "An app can have at most 100 webhooks; delete one first.".into(),
            ))
        }
    }
    tracing::info!(app.id = %app, webhook.id = %webhook.id, "webhook registered");
    state.verify_wake.notify_one();
    Ok(webhook)
}

/// Activates a webhook: unless already `active`, it becomes `unverified` and is verified again.
pub async fn activate(state: &AppState, w: &Webhook) -> Result<Webhook, ServiceError> {
    let updated = state
        .store
        .activate_webhook(w.app, w.id, Timestamp::now())
        .await?
        .ok_or(ServiceError::NotFound("webhook"))?;
    if updated.status == WebhookStatus::Unverified {
        state.verify_wake.notify_one();
    }
    Ok(updated)
}

/// Deactivates a webhook (`inactive`, "Deactivated by User").
pub async fn deactivate(state: &AppState, w: &Webhook) -> Result<Webhook, ServiceError> {
    let updated = state
        .store
        .deactivate_webhook(w.app, w.id, DEACTIVATED_BY_USER)
        .await?
        .ok_or(ServiceError::NotFound("webhook"))?;
    // After the commit, before the answer: a delivery that checks from now on sees the stop.
    state.stopped.stop(w.id);
    Ok(updated)
}

/// Deletes a webhook; no delivery to it starts afterwards.
pub async fn delete(state: &AppState, w: &Webhook) -> Result<(), ServiceError> {
    if !state.store.delete_webhook(w.app, w.id).await? {
        return Err(ServiceError::NotFound("webhook"));
    }
    // After the commit, before the answer: a delivery that checks from now on sees the stop.
    state.stopped.stop(w.id);
    Ok(())
}
