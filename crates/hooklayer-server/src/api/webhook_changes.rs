//! Changing a webhook (SPEC §11): `PATCH /apps/:app/webhooks/:webhook` and the change history
//! `GET /apps/:app/webhooks/:webhook/changes`, plus the `delivery` object (SPEC §12) of the
//! webhook's JSON shape.

use super::error::ApiError;
use super::json_body;
use super::request::{parse_object, read_body, AcceptRule};
use super::webhooks::{find_webhook, render};
use crate::service;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use hooklayer_core::delivery_settings::DeliverySettings;
use hooklayer_store::WebhookChangeRecord;
use serde::Serialize;
use std::sync::Arc;

/// `"delivery"` in the webhook object: all three keys, shown only when a setting is not its
/// default (so a Layer client sees the Layer shape).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = DeliverySettings)]
pub struct DeliveryOut {
    /// Attempts started per second; `null` is no limit.
    rate_limit: Option<u32>,
    /// Concurrent attempts.
    max_in_flight: u32,
    /// First-in, first-out, one attempt at a time.
    ordered: bool,
}

impl DeliveryOut {
    /// The object to show, if any: `default_in_flight` fills an unset cap.
    pub fn shown(d: &DeliverySettings, default_in_flight: usize) -> Option<Self> {
        d.is_shaped().then(|| Self {
            rate_limit: d.rate_limit,
            max_in_flight: d
                .max_in_flight
                .unwrap_or(u32::try_from(default_in_flight).unwrap_or(u32::MAX)),
            ordered: d.ordered,
        })
    }
}

/// Changes any subset of a webhook's keys; a new target is verified again.
#[utoipa::path(patch, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}", tag = "webhooks", params(crate::ops::openapi::WebhookParams), request_body = crate::ops::openapi::WebhookPatch,
    responses((status = 200, description = "The changed webhook (`unverified` after a new `target_url`).", body = super::webhooks::WebhookOut<'static>), crate::ops::openapi::ChangeErrors))]
pub async fn change(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::Layer).await?;
    let body = parse_object(&read_body(body, state.config.max_payload).await?)?;
    let updated = service::changes::change(&state, &w, &body).await?;
    Ok(render(&state, &updated))
}

/// One entry of the change history.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangeOut {
    /// When the change was made (RFC 3339, milliseconds, `Z`).
    at: String,
    /// The keys whose value changed, e.g. `["target_url", "secret"]`; never values.
    keys: Vec<String>,
}

/// The change history answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangesOut {
    /// Newest first, at most 100.
    data: Vec<ChangeOut>,
}

impl From<WebhookChangeRecord> for ChangeOut {
    fn from(r: WebhookChangeRecord) -> Self {
        Self {
            at: r.at.to_rfc3339(),
            keys: r.keys,
        }
    }
}

/// The webhook's recent changes: when, and which keys (never secret values).
#[utoipa::path(get, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/changes", tag = "webhooks", params(crate::ops::openapi::LogParams),
    responses((status = 200, description = "The newest 100 changes, newest first.", body = ChangesOut), crate::ops::openapi::WebhookErrors))]
pub async fn history(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::LayerOrJson).await?;
    let changes = service::changes::history(&state, &w).await?;
    Ok(json_body(&ChangesOut {
        data: changes.into_iter().map(ChangeOut::from).collect(),
    }))
}
