//! Logging: `tracing` with an env-filter (`HOOKLAYER_LOG`), as text or JSON lines
//! (`HOOKLAYER_LOG_FORMAT=json`), to stderr; and the `http.request` span of every request.
//!
//! Field names are stable (`app.id`, `webhook.id`, `request.id`, `attempt`, `http.status`,
//! `duration_ms`, `http.method`, `http.route`). Payloads, secrets and tokens are never
//! logged at any level: spans carry ids only, and request logging sees neither headers nor
//! query strings nor bodies.

use crate::config::LogFormat;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Routes that probes and scrapers call every few seconds: logged at `debug`, not `info`.
const QUIET_ROUTES: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.json"];

/// Axum middleware: runs every request inside an `http.request` span with `http.method`,
/// `http.route` (the matched route template, never the raw URI, query string or headers) and,
/// when the path names them, `app.id` and `webhook.id`; then logs `http.status` and
/// `duration_ms` at `info` (`debug` for the ops routes).
pub async fn trace_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let route = route.as_deref().unwrap_or("unmatched");
    let span = tracing::info_span!(
        "http.request",
        http.method = %request.method(),
        http.route = route,
        app.id = tracing::field::Empty,
        webhook.id = tracing::field::Empty,
    );
    let (app, webhook) = ids_in_path(request.uri().path());
    if let Some(app) = app {
        span.record("app.id", tracing::field::display(app));
    }
    if let Some(webhook) = webhook {
        span.record("webhook.id", tracing::field::display(webhook));
    }
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if QUIET_ROUTES.contains(&route) {
            tracing::debug!(http.status = status, duration_ms, "request finished");
        } else {
            tracing::info!(http.status = status, duration_ms, "request finished");
        }
    });
    response
}

/// The app and webhook UUIDs of `/apps/<app>/webhooks/<webhook>/…` and `/admin/apps/<app>/…`.
/// Only values that parse as UUIDs are returned, so a caller cannot put arbitrary text in
/// the logs through the path.
fn ids_in_path(path: &str) -> (Option<Uuid>, Option<Uuid>) {
    let mut segments = path.trim_start_matches('/').split('/');
    let mut first = segments.next();
    if first == Some("admin") {
        first = segments.next();
    }
    if first != Some("apps") {
        return (None, None);
    }
    let app = segments.next().and_then(|s| Uuid::try_parse(s).ok());
    let webhook = match segments.next() {
        Some("webhooks") => segments.next().and_then(|s| Uuid::try_parse(s).ok()),
        _ => None,
    };
    (app, webhook)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_taken_from_app_and_webhook_paths_only_when_they_are_uuids() {
        let a = Uuid::new_v4();
        let w = Uuid::new_v4();
        assert_eq!(
            ids_in_path(&format!("/apps/{a}/webhooks/{w}/deliveries")),
            (Some(a), Some(w))
        );
        assert_eq!(
            ids_in_path(&format!("/admin/apps/{a}/tokens")),
            (Some(a), None)
        );
        assert_eq!(ids_in_path(&format!("/apps/{a}/events")), (Some(a), None));
        assert_eq!(
            ids_in_path("/apps/not-a-uuid%0Afake/webhooks/x"),
            (None, None)
        );
        assert_eq!(ids_in_path("/metrics"), (None, None));
    }
}
