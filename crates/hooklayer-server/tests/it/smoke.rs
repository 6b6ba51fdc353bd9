//! A first end-to-end check of the harness: register, verify, publish, deliver.

use crate::support::app::{registration, webhook_uuid, TestAppBuilder};
use crate::support::receiver::{TestCa, TestReceiver};
use serde_json::json;
use std::time::Duration;

crate::both_backends!(an_event_reaches_a_verified_webhook, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let app = TestAppBuilder::new().trust(&ca).start(&db).await;
    let (uuid, token) = app.create_app("demo").await;
    let hook = app
        .register(
            &uuid,
            &token,
            registration(&receiver.url("/hook"), &["message.sent"]),
        )
        .await;
    app.wait_for_status(&uuid, &token, &webhook_uuid(&hook), "active")
        .await;
    let (status, body) = app
        .publish(
            &uuid,
            &token,
            &json!({"type": "message.sent", "message": {"id": "m1"}}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["deliveries"], 1);
    let requests = receiver.wait_for_requests(2, Duration::from_secs(5)).await;
    assert_eq!(requests[1].method, "POST");
    app.stop().await;
});
