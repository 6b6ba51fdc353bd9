//! Authentication of API requests: app tokens (see [`crate::service::tokens`]) and the admin
//! token.
//!
//! SECURITY: the admin token is compared in constant time over fixed-length digests.

use super::error::ApiError;
use crate::service::tokens::hash_token;
use crate::state::AppState;
use axum::http::{header, HeaderMap};
use hooklayer_core::ids::AppId;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The bearer token of a request, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Authenticates an app request for the app in the path: 401 without a known token, 403 when
/// the token belongs to another app (whether or not the path's app exists), 429 when the app
/// is over its rate limit.
pub async fn authorize_app(
    state: &AppState,
    headers: &HeaderMap,
    app_in_path: &str,
) -> Result<AppId, ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::authentication_required)?;
    let app = state
        .store
        .app_for_token(&hash_token(token))
        .await?
        .ok_or_else(ApiError::authentication_required)?;
    if app_in_path.parse::<AppId>().ok() != Some(app) {
        return Err(ApiError::invalid_app_id());
    }
    state
        .rate_limiter
        .check(app)
        .map_err(ApiError::rate_limited)?;
    Ok(app)
}

/// Authenticates an admin request. With no admin token configured the admin API does not exist.
pub fn authorize_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = state.config.admin_token.as_deref() else {
        return Err(ApiError::invalid_endpoint());
    };
    let given = bearer(headers).ok_or_else(ApiError::authentication_required)?;
    let equal: bool = Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into();
    if equal {
        Ok(())
    } else {
        Err(ApiError::authentication_required())
    }
}
