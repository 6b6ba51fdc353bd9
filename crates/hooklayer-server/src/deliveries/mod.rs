//! The delivery log, manual retry and replay (SPEC §7, a hooklayer extension):
//!
//! | route | success |
//! |---|---|
//! | `GET …/webhooks/:webhook_uuid/deliveries?status=&limit=&cursor=` | `200 {"data", "next_cursor"}` |
//! | `GET …/webhooks/:webhook_uuid/deliveries/:request_id` | `200` delivery |
//! | `POST …/webhooks/:webhook_uuid/deliveries/:request_id/retry` | `202` delivery (`pending`) |
//! | `POST …/webhooks/:webhook_uuid/replay` `{"since", "status"}` | `202 {"queued": n}` |
//!
//! Checks run in SPEC §3's order: auth → `Accept` (the Layer media type or
//! `application/json`) → unknown webhook (404) → unknown delivery (404) → body size (413) →
//! JSON (400) → fields (422) → webhook not `active` (422 `invalid_operation`).
//!
//! Decisions where the SPEC is silent:
//! - The "not active" check comes last: a malformed request is reported as such whatever the
//!   webhook's state, and an unknown delivery is a 404 even on an inactive webhook.
//! - Attempts carry `response_body` (at most 1 KiB of the target's answer, `null` if none).
//! - Query parameters: unknown ones are ignored, a repeated one takes its first value, and a
//!   present but empty one (`?cursor=`) is invalid like any other bad value.
//! - `retry` ignores its body but still limits its size and, when there is one, requires JSON.
//! - `since` may have any offset; it compares with the delivery's `created_at`, inclusively.
//!
//! The work itself is done by [`crate::service::deliveries`], which wakes this process's
//! delivery worker after queueing; other processes learn of the work through the store
//! (PostgreSQL `NOTIFY`) or their poll.

pub mod cli;
pub mod wire;

use crate::api::error::ApiError;
use crate::api::json_body;
use crate::api::request::{parse_optional_object, read_body, AcceptRule};
use crate::api::webhooks::find_webhook;
use crate::service;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use wire::{parse_list_query, DeliveryOut, PageOut, ReplayOut, ReplayRequest};

/// The delivery-log routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/apps/{app}/webhooks/{webhook}/deliveries", get(list))
        .route(
            "/apps/{app}/webhooks/{webhook}/deliveries/{request_id}",
            get(get_one),
        )
        .route(
            "/apps/{app}/webhooks/{webhook}/deliveries/{request_id}/retry",
            post(retry),
        )
        .route("/apps/{app}/webhooks/{webhook}/replay", post(replay))
}

/// Lists a webhook's deliveries, newest first.
#[utoipa::path(get, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries", tag = "deliveries", operation_id = "list_deliveries",
    params(crate::ops::openapi::LogParams, crate::ops::openapi::DeliveryListQuery),
    responses((status = 200, description = "A page of deliveries.", body = PageOut<'static>), crate::ops::openapi::LogErrors))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::LayerOrJson).await?;
    let query = parse_list_query(query.as_deref())?;
    let page = service::deliveries::list(&state, &w, &query).await?;
    Ok(json_body(&PageOut::from(&page)))
}

/// One delivery with its attempts (oldest first).
#[utoipa::path(get, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}", tag = "deliveries", operation_id = "get_delivery",
    params(crate::ops::openapi::DeliveryParams),
    responses((status = 200, description = "The delivery.", body = DeliveryOut<'static>), crate::ops::openapi::LogErrors))]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook, request_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::LayerOrJson).await?;
    let delivery = service::deliveries::find(&state, &w, &request_id).await?;
    Ok(json_body(&DeliveryOut::from(&delivery)))
}

/// Queues a delivery again now (same request id, fresh attempt budget), whatever its status.
#[utoipa::path(post, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}/retry", tag = "deliveries", operation_id = "retry_delivery",
    params(crate::ops::openapi::DeliveryParams),
    responses((status = 202, description = "Queued: the delivery, `pending`.", body = DeliveryOut<'static>), crate::ops::openapi::RetryErrors))]
pub async fn retry(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook, request_id)): Path<(String, String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::LayerOrJson).await?;
    let found = service::deliveries::find(&state, &w, &request_id).await?;
    parse_optional_object(&read_body(body, state.config.max_payload).await?)?;
    let queued = service::deliveries::retry(&state, &w, &found).await?;
    Ok((StatusCode::ACCEPTED, json_body(&DeliveryOut::from(&queued))).into_response())
}

/// Queues again every delivery of the webhook created since `since` with the given status.
#[utoipa::path(post, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/replay", tag = "deliveries", operation_id = "replay_deliveries",
    params(crate::ops::openapi::LogParams), request_body = crate::ops::openapi::Replay,
    responses((status = 202, description = "How many deliveries were queued.", body = ReplayOut), crate::ops::openapi::ReplayErrors))]
pub async fn replay(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((app, webhook)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let w = find_webhook(&state, &headers, &app, &webhook, AcceptRule::LayerOrJson).await?;
    let body = parse_optional_object(&read_body(body, state.config.max_payload).await?)?;
    let request = ReplayRequest::parse(&body)?;
    let queued = service::deliveries::replay(&state, &w, request.since, request.scope).await?;
    Ok((StatusCode::ACCEPTED, json_body(&ReplayOut { queued })).into_response())
}
