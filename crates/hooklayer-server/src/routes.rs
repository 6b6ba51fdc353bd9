//! The routes of one process, assembled from the surfaces: an `api` (or `all`) process serves
//! the JSON API, the delivery log, the ops routes and (unless `HOOKLAYER_UI=false`) the
//! dashboard; a `worker` serves only the ops routes.
//! Anything else is answered with the Layer errors `invalid_endpoint` (404) and
//! `method_not_allowed` (405).

use crate::api::error::ApiError;
use crate::state::AppState;
use crate::{api, deliveries, ops, ui};
use axum::Router;
use std::sync::Arc;

/// Every route this process serves.
pub fn router(state: Arc<AppState>) -> Router {
    let routes = if state.config.role.runs_api() {
        let routes = api::router()
            .merge(deliveries::router())
            .merge(ops::router());
        if state.config.ui {
            routes.merge(ui::router())
        } else {
            routes
        }
    } else {
        ops::router()
    };
    routes
        .fallback(|| async { ApiError::invalid_endpoint() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
}
