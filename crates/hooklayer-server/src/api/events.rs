//! The publish API (SPEC §5): `POST /apps/:app_uuid/events` with one event or an array of up
//! to 1000. The answer (202) is sent only after the events and their deliveries are committed
//! in one transaction; then the delivery workers are woken.

use super::auth::authorize_publish;
use super::error::ApiError;
use super::json_body;
use super::request::{parse_json, read_body};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hooklayer_core::event::{NewEvent, MAX_BATCH};
use hooklayer_core::ids::EventId;
use hooklayer_core::time::Timestamp;
use hooklayer_core::validation::PropertyError;
use hooklayer_store::IngestAnswer;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;

/// The answer for one published event.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    id: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::ops::openapi::EventTypeName)]
    event_type: &'static str,
    created_at: String,
    deliveries: u32,
}

impl From<&IngestAnswer> for Accepted {
    fn from(a: &IngestAnswer) -> Self {
        Self {
            id: a.id.to_string(),
            event_type: a.event_type.as_str(),
            created_at: a.created_at.to_rfc3339(),
            deliveries: a.deliveries,
        }
    }
}

/// A fresh event id: a random (version 4) UUID, as SPEC §5 says.
fn new_event_id() -> EventId {
    EventId::from_uuid(uuid::Uuid::new_v4())
}

/// `If-None-Match: <uuid>`, the idempotency key of a single event.
fn if_none_match(headers: &HeaderMap) -> Result<Option<EventId>, ApiError> {
    match headers.get("if-none-match") {
        None => Ok(None),
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| ApiError::invalid_request_id())?
                .trim()
                .trim_matches('"');
            text.parse()
                .map(Some)
                .map_err(|_| ApiError::invalid_request_id())
        }
    }
}

/// Publishes one event or a batch; answers once they and their deliveries are committed.
#[utoipa::path(post, path = "/apps/{app_uuid}/events", tag = "events", params(crate::ops::openapi::PublishParams), request_body = crate::ops::openapi::Publish,
    responses((status = 202, description = "Accepted: one answer, or an array for a batch.", body = crate::ops::openapi::Published), crate::ops::openapi::PublishErrors))]
pub async fn publish(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(app): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (app, token_hash) = authorize_publish(&state, &headers, &app).await?;
    let key = if_none_match(&headers)?;
    let bytes = read_body(body, state.config.max_payload).await?;
    let body = parse_json(&bytes)?;
    // Valid JSON is valid UTF-8; the published text renders the payload (SPEC §6 numbers).
    let raw = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::invalid_request("The request body is not valid JSON."))?;
    let now = Timestamp::now();
    let (events, batch) = match &body {
        Value::Object(map) => {
            let event = NewEvent::parse(map, raw, key.unwrap_or_else(new_event_id), now)?;
            if key.is_some_and(|k| k != event.id) {
                return Err(PropertyError::invalid(
                    "id",
                    "The id property differs from the If-None-Match header.",
                )
                .into());
            }
            (vec![event], false)
        }
        Value::Array(items) => (parse_batch(items, raw, now)?, true),
        _ => {
            return Err(ApiError::invalid_request(
                "The request body must be an event object or an array of events.",
            ))
        }
    };
    let count = events.len() as u64;
    // A copy for this process's listener streams, only while one is open (SPEC §14).
    let listened = state.listeners.is_listening(app).then(|| events.clone());
    let answers = state.ingest.ingest(app, events).await.map_err(|err| {
        if err.app_is_gone() {
            // Deleted with its tokens since the token was remembered: as an unknown token.
            state.publish_tokens.forget(&token_hash);
            return ApiError::authentication_required();
        }
        ApiError::from(err)
    })?;
    state.metrics.events_ingested(count);
    state.listeners.published(app, &answers, listened);
    let response = if batch {
        json_body(&answers.iter().map(Accepted::from).collect::<Vec<_>>())
    } else {
        match answers.first() {
            Some(a) => json_body(&Accepted::from(a)),
            None => {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "ingest returned no answer"
                )))
            }
        }
    };
    Ok((StatusCode::ACCEPTED, response).into_response())
}

/// Validates a batch: 1 to 1000 event objects; the first bad element answers, with its index.
/// `raw` is the batch's published text.
fn parse_batch(items: &[Value], raw: &str, now: Timestamp) -> Result<Vec<NewEvent>, ApiError> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(PropertyError::invalid("events", "A batch must hold 1 to 1000 events.").into());
    }
    let raw_items: Vec<&RawValue> = serde_json::from_str(raw)
        .map_err(|_| ApiError::invalid_request("The request body is not valid JSON."))?;
    items
        .iter()
        .zip(raw_items)
        .enumerate()
        .map(|(index, (item, raw))| match item {
            Value::Object(map) => NewEvent::parse(map, raw.get(), new_event_id(), now)
                .map_err(|e| e.at_index(index).into()),
            _ => Err(PropertyError::invalid(
                "event",
                "Each element of the batch must be an event object.",
            )
            .at_index(index)
            .into()),
        })
        .collect()
}
