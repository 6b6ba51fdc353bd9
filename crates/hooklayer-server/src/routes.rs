//! The routes of one process, assembled from the surfaces: an `api` (or `all`) process serves
//! the JSON API, the delivery log and the ops routes; a `worker` serves only the ops routes.
//! Anything else is answered with the Layer errors `invalid_endpoint` (404) and
//! `method_not_allowed` (405).

use crate::api::error::ApiError;
use crate::state::AppState;
use crate::{api, deliveries, ops};
use axum::Router;
use std::sync::Arc;

/// Every route this process serves.
pub fn router(state: Arc<AppState>) -> Router {
    let routes = if state.config.role.runs_api() {
        api::router()
            .merge(deliveries::router())
            .merge(ops::router())
    } else {
        ops::router()
    };
    routes
        .fallback(|| async { ApiError::invalid_endpoint() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
}
