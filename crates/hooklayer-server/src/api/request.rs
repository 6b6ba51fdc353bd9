//! Request checks shared by the handlers: the Layer `Accept` header, the body size limit, the
//! JSON nesting limit, and "the body is a JSON object".

use super::error::ApiError;
use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use hooklayer_core::json_depth::within_depth;
use serde_json::{Map, Value};

/// Deepest accepted JSON nesting (the top-level value is level 1).
pub const MAX_JSON_DEPTH: usize = 64;

/// Which `Accept` values a route takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AcceptRule {
    /// The Layer media type, version 1.0 or 2.0 (the webhooks API).
    Layer,
    /// The Layer media type or `application/json` (the delivery log).
    LayerOrJson,
    /// `text/event-stream` (listener streams).
    EventStream,
}

/// Checks `Accept` (406 `invalid_header` otherwise).
pub fn check_accept(headers: &HeaderMap, rule: AcceptRule) -> Result<(), ApiError> {
    let refused = || match rule {
        AcceptRule::EventStream => ApiError::invalid_accept_event_stream(),
        _ => ApiError::invalid_accept(),
    };
    let Some(value) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Err(refused());
    };
    let ok = value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<String> = parts
            .map(|p| {
                let p = p.replace(' ', "").to_ascii_lowercase();
                // A parameter value may be a quoted string (RFC 9110): version="2.0".
                match p.split_once('=') {
                    Some((name, value)) => format!("{name}={}", value.trim_matches('"')),
                    None => p,
                }
            })
            .collect();
        let layer_version = params
            .iter()
            .any(|p| p == "version=1.0" || p == "version=2.0");
        (media == "application/vnd.layer.webhooks+json" && layer_version)
            || (rule == AcceptRule::LayerOrJson && media == "application/json")
            || (rule == AcceptRule::EventStream && media == "text/event-stream")
    });
    if ok {
        Ok(())
    } else {
        Err(refused())
    }
}

/// Reads the body, refusing it (413) once it passes `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::request_too_large(limit))
}

/// Parses a body as JSON (400 on bad syntax or nesting deeper than [`MAX_JSON_DEPTH`]).
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if !within_depth(bytes, MAX_JSON_DEPTH) {
        return Err(ApiError::invalid_request(
            "The request body nests JSON deeper than 64 levels.",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|_| ApiError::invalid_request("The request body is not valid JSON."))
}

/// Parses a body that must be a JSON object (400 otherwise).
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match parse_json(bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid_request(
            "The request body must be a JSON object.",
        )),
    }
}

/// Like [`parse_object`], but an empty body is an empty object (bodyless POSTs).
pub fn parse_optional_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(Map::new())
    } else {
        parse_object(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str, rule: AcceptRule) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        check_accept(&h, rule).is_ok()
    }

    #[test]
    fn layer_media_types_are_accepted() {
        assert!(accept(
            "application/vnd.layer.webhooks+json; version=2.0",
            AcceptRule::Layer
        ));
        assert!(accept(
            "application/vnd.layer.webhooks+json;version=1.0",
            AcceptRule::Layer
        ));
        assert!(accept(
            "application/vnd.layer.webhooks+json; version=\"2.0\"",
            AcceptRule::Layer
        ));
        assert!(!accept(
            "application/vnd.layer.webhooks+json; version=3.0",
            AcceptRule::Layer
        ));
        assert!(!accept("application/json", AcceptRule::Layer));
        assert!(accept("application/json", AcceptRule::LayerOrJson));
        assert!(!accept("text/html", AcceptRule::LayerOrJson));
    }
}
