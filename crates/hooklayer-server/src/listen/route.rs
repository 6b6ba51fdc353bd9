//! `GET /apps/:app_uuid/listen[?events=type,…]` (SPEC §14): a server-sent events stream.
//! Its first event (`secret`) carries the stream's signing secret; then one `delivery` event
//! per matching event stored while it is open, with a heartbeat comment every 15 s.
//!
//! Checks, in the order of every app route: auth (401/403/429) → `Accept:
//! text/event-stream` (406) → `events` (422) → streams per app (429).

use super::hub::{OpenError, Subscription};
use crate::api::auth::authorize_app;
use crate::api::error::ApiError;
use crate::api::request::{check_accept, AcceptRule};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use hooklayer_core::event_type::EventType;
use hooklayer_core::validation::PropertyError;
use std::collections::HashSet;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// How often an idle stream gets a comment, so proxies and clients see it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Opens a listener stream.
#[utoipa::path(get, path = "/apps/{app_uuid}/listen", tag = "listen",
    params(crate::ops::openapi::ListenParams),
    responses(
        (status = 200, description = "A text/event-stream: first `event: secret` with data `{\"secret\": \"whsec_…\"}`, then one `event: delivery` per matching event with data `{\"headers\": {…the nine delivery headers…}, \"body\": \"<the exact body>\"}`; a comment every 15 s.", content_type = "text/event-stream", body = crate::ops::openapi::ListenEvent),
        crate::ops::openapi::ListenErrors))]
pub async fn listen(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(app): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let app = authorize_app(&state, &headers, &app).await?;
    check_accept(&headers, AcceptRule::EventStream)?;
    let types = parse_events(query.as_deref())?;
    let subscription = state.listeners.hub.open(app, types).map_err(|e| match e {
        OpenError::TooMany => ApiError::rate_limited(1),
        OpenError::Closed => ApiError::unavailable(),
    })?;
    tracing::info!(app.id = %app, "listener stream opened");
    let events = Frames {
        secret: Some(subscription.secret.clone()),
        subscription,
    };
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
        .into_response())
}

/// `events=type,type…`: the types to receive (all when absent or empty).
fn parse_events(query: Option<&str>) -> Result<Option<HashSet<EventType>>, ApiError> {
    let Some(query) = query else { return Ok(None) };
    let mut types = HashSet::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key != "events" {
            continue;
        }
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let t = name.parse::<EventType>().map_err(|_| {
                PropertyError::invalid(
                    "events",
                    "The events parameter must list Layer event types, separated by commas.",
                )
            })?;
            types.insert(t);
        }
    }
    Ok((!types.is_empty()).then_some(types))
}

/// The stream's events: the secret first, then the hub's frames until it closes the stream.
struct Frames {
    secret: Option<String>,
    subscription: Subscription,
}

impl futures_core::Stream for Frames {
    type Item = Result<Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(secret) = self.secret.take() {
            let data = serde_json::json!({ "secret": secret }).to_string();
            return Poll::Ready(Some(Ok(Event::default().event("secret").data(data))));
        }
        self.subscription
            .frames
            .poll_recv(cx)
            .map(|frame| frame.map(|f| Ok(Event::default().event("delivery").data(f))))
    }
}
