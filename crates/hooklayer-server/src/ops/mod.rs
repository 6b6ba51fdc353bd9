//! Operations routes (SPEC §9): `/healthz`, `/readyz`, `/metrics`, `/openapi.json`. They need
//! no token and are not rate-limited, and they are the only routes of a `role=worker` process.
//!
//! - `/healthz` answers `200 ok` whenever the process serves HTTP: a liveness probe.
//! - `/readyz` answers `200 ready` when the database answers a real query within
//!   [`READY_TIMEOUT`], else `503 database unavailable` (plain text: probes read the status,
//!   people read the text; the cause goes to the log at `warn`).
//! - `/metrics` is OpenMetrics text; the gauges are read from the database at scrape time.
//! - `/openapi.json` is the OpenAPI 3.1 document of every route ([`openapi`]).

pub mod event_schemas;
pub mod openapi;
pub mod schemas;

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hooklayer_core::time::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// How long `/readyz` waits for the database; also bounds the store reads of `/metrics`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

const TEXT_UTF8: &str = "text/plain; charset=utf-8";

/// The ops routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_UTF8))],
        body,
    )
        .into_response()
}

/// Liveness: the process runs and serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The process runs.", body = String, content_type = "text/plain", example = "ok")))]
pub async fn healthz() -> Response {
    text(StatusCode::OK, "ok")
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses(
        (status = 200, description = "The database answers.", body = String, content_type = "text/plain", example = "ready"),
        (status = 503, description = "The database does not answer within 2 s (cause in the log).", body = String, content_type = "text/plain", example = "database unavailable")))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => text(StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            text(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            tracing::warn!(timeout = ?READY_TIMEOUT, "not ready: the database did not answer in time");
            text(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Every `hooklayer_*` metric.", body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let store = &state.store;
    let (depth, webhooks) = tokio::join!(
        tokio::time::timeout(READY_TIMEOUT, store.queue_depth(Timestamp::now())),
        tokio::time::timeout(READY_TIMEOUT, store.count_webhooks()),
    );
    // When the database does not answer, the counters are still worth scraping; the gauges
    // keep their last values and the failure is logged (and visible on /readyz).
    match depth {
        Ok(Ok(depth)) => state.metrics.set_queue_depth(&depth),
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: reading the queue depth failed"),
        Err(_) => tracing::warn!("metrics: reading the queue depth timed out"),
    }
    match webhooks {
        Ok(Ok(counts)) => state.metrics.set_webhooks(&counts),
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: counting webhooks failed"),
        Err(_) => tracing::warn!("metrics: counting webhooks timed out"),
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of every route.", body = Object, content_type = "application/json")))]
pub async fn openapi_json(State(state): State<Arc<AppState>>) -> Response {
    crate::api::json_body(&openapi::document(&state.config.public_url))
}
