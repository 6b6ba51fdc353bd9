//! The one HTTP error type. Every failure of every route becomes a Layer error body,
//! `{"id","code","message","url","data"?}` (keys in that order), with its status. Our own
//! faults (5xx) are logged once with their cause chain and answered opaquely.

use crate::service::ServiceError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hooklayer_core::validation::{PropertyError, PropertyErrorKind};
use serde::Serialize;
use serde_json::{json, Value};

/// The `url` of every error body: the value Layer's own webhooks errors carried, kept so that
/// clients written for Layer see the same body (decision recorded in docs/API.md).
pub const ERROR_DOCS_URL: &str = "https://developer.layer.com/docs/webhooks";

/// An API error: status, Layer id and code, message, optional data.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub id: &'static str,
    pub code: u16,
    pub message: String,
    /// Boxed: most errors have none, and it keeps `Result<_, ApiError>` small.
    pub data: Option<Box<Value>>,
    /// Extra headers (`Allow`, `Retry-After`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// The Layer error body, `{"id","code","message","url","data"?}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LayerError)]
pub struct Body<'a> {
    id: &'a str,
    code: u16,
    message: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
}

impl ApiError {
    fn new(status: StatusCode, id: &'static str, code: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            id,
            code,
            message: message.into(),
            data: None,
            headers: Vec::new(),
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(Box::new(data));
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", 10, message)
    }
    pub fn invalid_request_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_id",
            3,
            "The If-None-Match header must be a UUID.",
        )
        .with_data(json!({"header": "If-None-Match"}))
    }
    pub fn authentication_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_required",
            4,
            "A valid bearer token is required.",
        )
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }
    pub fn invalid_app_id() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "invalid_app_id",
            2,
            "The token does not grant access to this app.",
        )
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            102,
            format!("No such {what}."),
        )
    }
    pub fn invalid_endpoint() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_endpoint",
            106,
            "There is no such endpoint.",
        )
    }
    /// axum's router adds the `Allow` header to this response.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            109,
            "The method is not allowed on this endpoint.",
        )
    }
    pub fn invalid_accept() -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "invalid_header",
            107,
            "Invalid Accept header; must be of form application/vnd.layer.webhooks+json; version=x.y",
        )
        .with_data(json!({"header": "Accept"}))
    }
    /// The process is shutting down (a listener stream cannot open any more).
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            1,
            "The server is shutting down; retry later.",
        )
        .with_header(
            header::RETRY_AFTER,
            HeaderValue::from(RETRY_AFTER_UNAVAILABLE),
        )
    }
    pub fn invalid_accept_event_stream() -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "invalid_header",
            107,
            "Invalid Accept header; a listener stream must accept text/event-stream",
        )
        .with_data(json!({"header": "Accept"}))
    }
    pub fn request_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            11,
            format!("The request body is larger than {limit} bytes."),
        )
    }
    pub fn invalid_operation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_operation",
            9,
            message,
        )
    }
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let value = HeaderValue::from(retry_after_secs.max(1));
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            7,
            "Too many requests for this app; retry later.",
        )
        .with_header(header::RETRY_AFTER, value)
    }
    /// A missing or invalid property (`data.property`, and `data.index` in a batch).
    pub fn property(err: PropertyError) -> Self {
        let (id, code) = match err.kind {
            PropertyErrorKind::Missing => ("missing_property", 104),
            PropertyErrorKind::Invalid => ("invalid_property", 105),
        };
        let mut data = json!({"property": err.property});
        if let Some(index) = err.index {
            data["index"] = json!(index);
        }
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, id, code, err.message).with_data(data)
    }
    /// The database is out of reach or out of room (Layer's `service_unavailable`, code 1):
    /// nothing was stored; the same request may be sent again after `Retry-After` seconds.
    pub fn service_unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database unavailable; answering 503");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            1,
            "The service is temporarily unavailable; retry later.",
        )
        .with_header(
            header::RETRY_AFTER,
            HeaderValue::from(RETRY_AFTER_UNAVAILABLE),
        )
    }
    /// Our fault: logged here with its cause chain, opaque to the caller.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let err = err.into();
        tracing::error!(error = format!("{err:#}"), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            100,
            "Something went wrong on our side.",
        )
    }
}

/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_UNAVAILABLE: u64 = 2;

impl From<hooklayer_store::StoreError> for ApiError {
    fn from(err: hooklayer_store::StoreError) -> Self {
        if err.is_unavailable() {
            Self::service_unavailable(&err)
        } else {
            Self::internal(err)
        }
    }
}

impl From<crate::ingest::IngestError> for ApiError {
    fn from(err: crate::ingest::IngestError) -> Self {
        match &err {
            crate::ingest::IngestError::Store(cause) if cause.is_unavailable() => {
                Self::service_unavailable(cause)
            }
            _ => Self::internal(err),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::InvalidOperation(message) => Self::invalid_operation(message),
            ServiceError::Property(err) => Self::property(err),
            ServiceError::Store(err) => Self::internal(err),
        }
    }
}

impl From<PropertyError> for ApiError {
    fn from(err: PropertyError) -> Self {
        Self::property(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            id: self.id,
            code: self.code,
            message: &self.message,
            url: ERROR_DOCS_URL,
            data: self.data.as_deref(),
        };
        let mut response = (self.status, super::json_body(&body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
