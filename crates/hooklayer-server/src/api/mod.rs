//! The HTTP API: one module per resource, each with its handlers and wire types.
//!
//! Every app route checks, in this order (SPEC §3): route (404/405, by the router) → auth
//! (401/403) → `Accept` (406) → unknown webhook (404) → body size (413) → JSON syntax (400)
//! → fields (422). Handlers call the steps in that order explicitly rather than hiding them in
//! extractors, so the order is visible where it matters.

pub mod admin;
pub mod auth;
pub mod error;
pub mod events;
pub mod publish_tokens;
pub mod request;
pub mod webhook_changes;
pub mod webhooks;

use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use error::ApiError;
use serde::Serialize;
use std::sync::Arc;

/// The `Content-Type` of every JSON response.
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Serializes `value` as a JSON response body with [`JSON_UTF8`].
pub fn json_body<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// The admin, webhooks and events routes (the whole service is assembled in
/// [`crate::routes`]).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/apps", post(admin::create_app).get(admin::list_apps))
        .route("/admin/apps/{app}", delete(admin::delete_app))
        .route("/admin/apps/{app}/tokens", post(admin::create_token))
        .route(
            "/apps/{app}/webhooks",
            post(webhooks::create).get(webhooks::list),
        )
        .route(
            "/apps/{app}/webhooks/{webhook}",
            get(webhooks::get_one)
                .delete(webhooks::delete_one)
                .patch(webhook_changes::change),
        )
        .route(
            "/apps/{app}/webhooks/{webhook}/changes",
            get(webhook_changes::history),
        )
        .route(
            "/apps/{app}/webhooks/{webhook}/activate",
            post(webhooks::activate),
        )
        .route(
            "/apps/{app}/webhooks/{webhook}/deactivate",
            post(webhooks::deactivate),
        )
        .route("/apps/{app}/events", post(events::publish))
        .route("/apps/{app}/listen", get(crate::listen::route::listen))
}
