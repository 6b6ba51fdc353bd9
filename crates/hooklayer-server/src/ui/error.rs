//! What a dashboard request can fail with, rendered as a page (never a stack trace, never a
//! token): the caller's fault as 4xx with a sentence, ours as an opaque 500 logged once.

use super::layout;
use crate::service::ServiceError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

/// A dashboard failure.
#[derive(Debug)]
pub enum UiError {
    /// No (valid) session: go to the sign-in page.
    SignInFirst,
    /// A write without the session's CSRF token, or from another site.
    Forbidden,
    /// Unknown (or not yours: the dashboard never reveals other apps).
    NotFound(&'static str),
    /// A request the page cannot act on, with the sentence to show.
    Rejected(StatusCode, String),
    /// Too many failed sign-ins from this address.
    Throttled(u64),
    /// Our fault.
    Internal,
}

impl UiError {
    /// Logs `err` with its cause chain and answers an opaque 500.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let err = err.into();
        tracing::error!(error = format!("{err:#}"), "dashboard internal error");
        Self::Internal
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::Rejected(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<ServiceError> for UiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(what) => Self::NotFound(what),
            ServiceError::InvalidOperation(message) => {
                Self::Rejected(StatusCode::UNPROCESSABLE_ENTITY, message)
            }
            ServiceError::Property(err) => {
                Self::Rejected(StatusCode::UNPROCESSABLE_ENTITY, err.message)
            }
            ServiceError::Store(err) => Self::internal(err),
        }
    }
}

impl From<hooklayer_store::StoreError> for UiError {
    fn from(err: hooklayer_store::StoreError) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            UiError::SignInFirst => return Redirect::to("/ui/").into_response(),
            UiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                "This form has expired or came from another site. Go back, reload the page and try again.".to_owned(),
            ),
            UiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("There is no such {what}."),
            ),
            UiError::Rejected(status, message) => (status, "Not done", message),
            UiError::Throttled(secs) => {
                let mut response = layout::bare_page(
                    "Too many attempts",
                    html! { h1 { "Too many attempts" } p { "Too many failed sign-ins from your address. Try again in " (secs) " seconds." } },
                );
                *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                if let Ok(v) = secs.to_string().parse() {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return response;
            }
            UiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side.".to_owned(),
            ),
        };
        let mut response = layout::bare_page(
            title,
            html! {
                h1 { (title) }
                p role="alert" { (message) }
                p { a href="/ui/" { "Back to the dashboard" } }
            },
        );
        *response.status_mut() = status;
        response
    }
}
