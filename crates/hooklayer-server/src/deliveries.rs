//! Delivery log routes (being written).

use crate::state::AppState;
use axum::Router;
use std::sync::Arc;

/// The delivery-log routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
}
