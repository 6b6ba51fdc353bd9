//! Operations routes (being written): health, readiness, metrics, OpenAPI.

use crate::state::AppState;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// The ops routes; they need no token and are not rate-limited.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/healthz", get(|| async { "ok" }))
}
