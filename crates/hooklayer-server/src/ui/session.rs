//! Dashboard sessions (SPEC §13): sign-in with a token, a server-side session, CSRF.
//!
//! SECURITY decisions:
//! - The cookie holds a random 256-bit session id, never the token; the database keeps only
//!   the id's SHA-256, so neither a cookie nor a database row reveals a token, and a stolen
//!   table cannot be replayed as cookies. Sessions live in the database so they survive a
//!   restart, work across `api` processes on PostgreSQL, and end with their app
//!   (`ON DELETE CASCADE`).
//! - The cookie is `HttpOnly; SameSite=Strict; Path=/ui`, `Secure` when `HOOKLAYER_PUBLIC_URL`
//!   is https, and lasts 12 hours; the session row expires at the same time.
//! - Every write carries the session's CSRF token in a hidden field (compared in constant
//!   time), and a write whose `Origin` is another site is refused: both answer 403.
//! - An admin session ends when the process no longer has an admin token.

use super::error::UiError;
use super::form::Form;
use crate::service::tokens::hash_token;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use hooklayer_core::ids::AppId;
use hooklayer_core::time::Timestamp;
use hooklayer_store::UiSession;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "hooklayer_session";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// Who a signed-in request comes from.
#[derive(Clone, Debug)]
pub struct Session {
    id_hash: String,
    /// `None` for the admin.
    pub app: Option<AppId>,
    /// The CSRF token the pages of this session embed in their forms.
    pub csrf: String,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.app.is_none()
    }
    /// Whether this session may see `app`: the admin sees every app, an app only itself.
    pub fn may_open(&self, app: AppId) -> bool {
        self.app.is_none_or(|mine| mine == app)
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn same(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes())
        .ct_eq(&Sha256::digest(b.as_bytes()))
        .into()
}

/// Who `token` signs in as: `Some(None)` for the admin, `Some(Some(app))` for an app.
pub async fn who_is(state: &AppState, token: &str) -> Result<Option<Option<AppId>>, UiError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    if let Some(admin) = state.config.admin_token.as_deref() {
        if same(token, admin) {
            return Ok(Some(None));
        }
    }
    Ok(state
        .store
        .app_for_token(&hash_token(token))
        .await?
        .map(Some))
}

/// Starts a session for `app` (`None` = admin); returns the `Set-Cookie` value.
pub async fn start(state: &AppState, app: Option<AppId>) -> Result<HeaderValue, UiError> {
    let id = random_hex();
    let now = Timestamp::now();
    let session = UiSession {
        id_hash: hash_token(&id),
        app,
        csrf_token: random_hex(),
        created_at: now,
        expires_at: now.plus_millis(SESSION_HOURS * 3_600_000),
    };
    state.store.create_session(&session).await?;
    cookie(state, &id, SESSION_HOURS * 3600)
}

/// Ends the session; returns the `Set-Cookie` value that clears the cookie.
pub async fn end(state: &AppState, session: &Session) -> Result<HeaderValue, UiError> {
    state.store.delete_session(&session.id_hash).await?;
    cookie(state, "", 0)
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> Result<HeaderValue, UiError> {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(UiError::internal)
}

/// The session id in the request's cookies, if any.
fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// The signed-in session of a request, or `None`.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, UiError> {
    let Some(id) = cookie_value(headers) else {
        return Ok(None);
    };
    let Some(found) = state
        .store
        .get_session(&hash_token(id), Timestamp::now())
        .await?
    else {
        return Ok(None);
    };
    if found.app.is_none() && state.config.admin_token.is_none() {
        return Ok(None);
    }
    Ok(Some(Session {
        id_hash: found.id_hash,
        app: found.app,
        csrf: found.csrf_token,
    }))
}

/// A page that needs a session: without one the visitor is sent to sign in.
impl FromRequestParts<Arc<AppState>> for Session {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        current(state, &parts.headers)
            .await?
            .ok_or(UiError::SignInFirst)
    }
}

/// Refuses a write from another site (`Origin`): the `Origin` of a browser's form post must
/// be this service's, as `HOOKLAYER_PUBLIC_URL` or the `Host` the browser used names it.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), UiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Non-browser clients send none; the CSRF token still has to match.
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| UiError::Forbidden)?;
    let public = url::Url::parse(&state.config.public_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let by_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| {
            let scheme = if public.starts_with("https://") {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        });
    if origin == public || Some(origin) == by_host.as_deref() {
        Ok(())
    } else {
        Err(UiError::Forbidden)
    }
}

/// A write of a signed-in session, checked: extracting it reads the form and refuses (403)
/// a foreign `Origin` or a missing or wrong CSRF token, so no write handler can forget to.
pub struct Write {
    pub session: Session,
    pub form: Form,
}

impl FromRequest<Arc<AppState>> for Write {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, UiError> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let form = Form::read(body, state.config.max_payload).await?;
        check_write(state, &session, &parts.headers, &form)?;
        Ok(Self { session, form })
    }
}

/// Checks a write of this session: same-site `Origin` and the session's CSRF token.
fn check_write(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    form: &Form,
) -> Result<(), UiError> {
    check_origin(state, headers)?;
    match form.get("csrf") {
        Some(given) if same(given, &session.csrf) => Ok(()),
        _ => Err(UiError::Forbidden),
    }
}
