//! Reading `application/x-www-form-urlencoded` bodies of the dashboard's forms, limited to
//! `HOOKLAYER_MAX_PAYLOAD`. A repeated field keeps its first value, except where a page asks
//! for all of them (the event checkboxes).

use super::error::UiError;
use axum::body::Body;
use axum::http::StatusCode;

/// A submitted form: every field in order.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub async fn read(body: Body, limit: usize) -> Result<Self, UiError> {
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            UiError::Rejected(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is larger than this server accepts.".into(),
            )
        })?;
        Ok(Self(
            url::form_urlencoded::parse(&bytes).into_owned().collect(),
        ))
    }
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}
