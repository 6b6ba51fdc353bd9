//! The Layer-compatible webhooks API (SPEC §3): register, list, get, activate, deactivate,
//! delete. Registration and activation queue the verification handshake (SPEC §4) and answer
//! at once; the verification worker does the rest.

use super::auth::authorize_app;
use super::error::ApiError;
use super::json_body;
use super::request::{check_accept, parse_object, read_body, AcceptRule};
use super::webhook_changes::DeliveryOut;
use crate::service;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hooklayer_core::ids::{webhook_uri, webhook_url, AppId};
use hooklayer_core::webhook::Webhook;
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The webhook object, keys in Layer's order; `secret` is never part of it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookOut<'a> {
    id: String,
    url: String,
    version: &'static str,
    target_url: &'a str,
    #[schema(value_type = Vec<crate::ops::openapi::EventTypeName>)]
    events: Vec<&'static str>,
    #[schema(value_type = crate::ops::openapi::WebhookStatusName)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<&'a str>,
    created_at: String,
    #[schema(value_type = Object)]
    config: &'a Map<String, Value>,
    /// Only when a delivery setting is not its default (SPEC §12).
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<DeliveryOut>,
}

impl<'a> WebhookOut<'a> {
    /// `default_in_flight` is `HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK`, shown for an unset cap.
    pub fn new(w: &'a Webhook, public_url: &str, default_in_flight: usize) -> Self {
        Self {
            id: webhook_uri(w.app, w.id),
            url: webhook_url(public_url, w.app, w.id),
            version: w.version.as_str(),
            target_url: w.target_url.as_str(),
            events: w.events.iter().map(|e| e.as_str()).collect(),
            status: w.status.as_str(),
            status_reason: w.status_reason.as_deref(),
            created_at: w.created_at.to_rfc3339(),
            config: &w.config,
            delivery: DeliveryOut::shown(&w.delivery, default_in_flight),
        }
    }
}

pub(super) fn render(state: &AppState, w: &Webhook) -> Response {
    json_body(&out(state, w))
}

fn out<'a>(state: &AppState, w: &'a Webhook) -> WebhookOut<'a> {
    WebhookOut::new(
        w,
        &state.config.public_url,
        state.config.max_in_flight_per_webhook,
    )
}

/// Authenticates, checks `Accept`, and finds the webhook: the first four steps of every
/// single-webhook route. Shared with the delivery-log routes.
pub async fn find_webhook(
    state: &AppState,
    headers: &HeaderMap,
    app: &str,
    webhook: &str,
    accept: AcceptRule,
) -> Result<Webhook, ApiError> {
    let app = authorize_app(state, headers, app).await?;
    check_accept(headers, accept)?;
    Ok(service::webhooks::find(state, app, webhook).await?)
}

/// Registers a webhook; its verification starts at once.
#[utoipa::path(post, path = "/apps/{app_uuid}/webhooks", operation_id = "create_webhook", tag = "webhooks", params(crate::ops::openapi::AppParams), request_body = crate::ops::openapi::Registration,
    responses((status = 201, description = "Registered, `unverified`.", body = WebhookOut<'static>,
        headers(("Location" = String, description = "The webhook's URL (its `url`); Layer clients ignore it."))),
        crate::ops::openapi::RegisterErrors))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(app): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let app: AppId = authorize_app(&state, &headers, &app).await?;
    check_accept(&headers, AcceptRule::Layer)?;
    let body = parse_object(&read_body(body, state.config.max_payload).await?)?;
    let webhook = service::webhooks::register(&state, app, &body).await?;
    // `Location` lets generic clients (and stateful API testers) follow the new webhook;
    // Layer's clients read the body only.
    let location = webhook_url(&state.config.public_url, webhook.app, webhook.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        render(&state, &webhook),
    )
        .into_response())
}

/// Lists the app's webhooks, oldest first.
#[utoipa::path(get, path = "/apps/{app_uuid}/webhooks", operation_id = "list_webhooks", tag = "webhooks", params(crate::ops::openapi::AppParams),
    responses((status = 200, description = "Every webhook of the app.", body = Vec<WebhookOut<'static>>), crate::ops::openapi::AppErrors))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let app = authorize_app(&state, &headers, &app).await?;
    check_accept(&headers, AcceptRule::Layer)?;
    let hooks = service::webhooks::list(&state, app).await?;
    let out: Vec<_> = hooks.iter().map(|w| out(&state, w)).collect();
    Ok(json_body(&out))
}

/// One webhook.
#[utoipa::path(get, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}", operation_id = "get_webhook", tag = "webhooks", params(crate::ops::openapi::WebhookParams),
    responses((status = 200, description = "The webhook.", body = WebhookOut<'static>), crate::ops::openapi::WebhookErrors))]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::Layer).await?;
    Ok(render(&state, &w))
}

/// Activates a webhook: unless already `active`, it becomes `unverified` and is verified again.
#[utoipa::path(post, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/activate", operation_id = "activate_webhook", tag = "webhooks", params(crate::ops::openapi::WebhookParams),
    responses((status = 200, description = "The webhook.", body = WebhookOut<'static>), crate::ops::openapi::WebhookBodyErrors))]
pub async fn activate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::Layer).await?;
    // Any body is ignored (some Layer clients send the webhook back), but its size is limited.
    read_body(body, state.config.max_payload).await?;
    let updated = service::webhooks::activate(&state, &w).await?;
    Ok(render(&state, &updated))
}

/// Deactivates a webhook (`inactive`, "Deactivated by User").
#[utoipa::path(post, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/deactivate", operation_id = "deactivate_webhook", tag = "webhooks", params(crate::ops::openapi::WebhookParams),
    responses((status = 200, description = "The webhook.", body = WebhookOut<'static>), crate::ops::openapi::WebhookBodyErrors))]
pub async fn deactivate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::Layer).await?;
    read_body(body, state.config.max_payload).await?;
    let updated = service::webhooks::deactivate(&state, &w).await?;
    Ok(render(&state, &updated))
}

/// Deletes a webhook; no delivery to it starts afterwards.
#[utoipa::path(delete, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}", operation_id = "delete_webhook", tag = "webhooks", params(crate::ops::openapi::WebhookParams),
    responses((status = 204, description = "Deleted."), crate::ops::openapi::WebhookErrors))]
pub async fn delete_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::Layer).await?;
    service::webhooks::delete(&state, &w).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
