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
    admit(state, app, app_in_path)
}

/// [`authorize_app`] for the publish route, whose token lookups are remembered (see
/// [`super::publish_tokens`]). Returns the app and the token's hash, which the route forgets
/// when the app turns out to be gone.
pub async fn authorize_publish(
    state: &AppState,
    headers: &HeaderMap,
    app_in_path: &str,
) -> Result<(AppId, String), ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::authentication_required)?;
    let token_hash = hash_token(token);
    let app = match state.publish_tokens.app_for(&token_hash) {
        Some(app) => app,
        None => {
            let app = state
                .store
                .app_for_token(&token_hash)
                .await?
                .ok_or_else(ApiError::authentication_required)?;
            state.publish_tokens.remember(token_hash.clone(), app);
            app
        }
    };
    Ok((admit(state, app, app_in_path)?, token_hash))
}

/// The checks after the token: the path's app is the token's (403), within its rate (429).
fn admit(state: &AppState, app: AppId, app_in_path: &str) -> Result<AppId, ApiError> {
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
