//! Changing a webhook (SPEC §11) and its delivery settings (SPEC §12) through the real server:
//! `PATCH` and its validation, the change history, a new target's verification, secret
//! rotation, and the rate limit, in-flight cap and ordered delivery.

mod ordered;
mod patch;
mod processes;
mod rotation;
mod shaping;

use crate::delivery::Setup;
use crate::support::app::{send, webhook_path, webhook_uuid, Reply};
use crate::support::receiver::RecordedRequest;
use reqwest::Method;
use serde_json::Value;

/// `PATCH`es the setup's webhook with `body`.
pub async fn patch(s: &Setup, body: &Value) -> Reply {
    let path = webhook_path(&s.uuid, &webhook_uuid(&s.hook), "");
    send(s.app.layer(Method::PATCH, &path, &s.token).json(body)).await
}

/// The setup's webhook's change history.
pub async fn changes(s: &Setup) -> Reply {
    let path = webhook_path(&s.uuid, &webhook_uuid(&s.hook), "/changes");
    send(s.app.layer(Method::GET, &path, &s.token)).await
}

/// The `message.id` of a delivery request's body.
pub fn message_id(r: &RecordedRequest) -> String {
    let body: Value = serde_json::from_slice(&r.body).expect("delivery body is JSON");
    body["message"]["id"]
        .as_str()
        .expect("message id")
        .to_owned()
}
