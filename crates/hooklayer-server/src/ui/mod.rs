//! The dashboard at `/ui/` (SPEC §13): server-rendered pages for the operator (admin token)
//! and for an app's owner (app token), built on the same application functions as the JSON
//! API ([`crate::service`]). Plain HTML forms do everything; one small script of ours
//! refreshes the live parts of a page. Templates are `maud` macros, checked at compile time.
//!
//! ## Layout
//! - [`session`]: sign-in, the session cookie, CSRF and `Origin` checks; [`throttle`]: failed
//!   sign-ins per address.
//! - [`signin`]: the sign-in and sign-out routes; [`apps`]: the operator's pages;
//!   [`webhooks`]: an app's webhooks; [`settings`]: a webhook's changes, secret rotation and
//!   change history; [`deliveries`]: a webhook's log, retry and replay.
//! - [`charts`], [`queue_chart`]: the SVG charts (statistics, queue samples).
//! - [`layout`], [`assets`], [`error`], [`form`]: the shell, the stylesheet and script, the
//!   error pages, form parsing.
//!
//! A form sent back with an error next to a field (sign-in, registration, a new app's name)
//! is answered `200`, like any page: a 4xx there would be reported as an error in the
//! browser's console although nothing went wrong on the page. Refusals (403, 404, 429) keep
//! their status.
//!
//! Every response carries `Content-Security-Policy: default-src 'self'; frame-ancestors
//! 'none'` (plus `form-action 'self'; base-uri 'none'`), `no-store`, `nosniff` and a
//! same-origin referrer policy, so no page can be framed, cached on a shared machine, or
//! leak a URL to another site.

pub mod apps;
pub mod assets;
pub mod charts;
pub mod deliveries;
pub mod error;
pub mod form;
pub mod layout;
pub mod queue_chart;
pub mod register;
pub mod session;
pub mod settings;
pub mod signin;
pub mod throttle;
pub mod webhooks;

use crate::state::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// The dashboard's content security policy: our own assets only, no inline script or style,
/// never framed, forms post only to us.
pub const CSP: &str =
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Every dashboard route.
pub fn router() -> Router<Arc<AppState>> {
    let wh = "/ui/apps/{app}/webhooks/{webhook}";
    Router::new()
        .route("/ui", get(signin::home))
        .route("/ui/", get(signin::home))
        .route("/ui/signin", post(signin::sign_in))
        .route("/ui/signout", post(signin::sign_out))
        .route("/ui/assets/app.css", get(assets::css))
        .route("/ui/assets/app.js", get(assets::js))
        .route(assets::ICON_PATH, get(assets::icon))
        .route("/ui/apps", get(apps::list).post(apps::create))
        .route("/ui/system", get(apps::system))
        .route("/ui/apps/{app}", get(webhooks::list))
        .route("/ui/apps/{app}/tokens", post(apps::create_token))
        .route("/ui/apps/{app}/webhooks", post(webhooks::register))
        .route(wh, get(webhooks::show).post(webhooks::act))
        .route(&format!("{wh}/delete"), get(webhooks::confirm_delete))
        .route(&format!("{wh}/settings"), post(settings::change))
        .route(&format!("{wh}/secret"), post(settings::rotate))
        .route(
            &format!("{wh}/deliveries/{{request_id}}"),
            get(deliveries::show),
        )
        .route(
            &format!("{wh}/deliveries/{{request_id}}/retry"),
            post(deliveries::retry),
        )
        .route(&format!("{wh}/replay"), post(deliveries::replay))
        .layer(axum::middleware::from_fn(security_headers))
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}
