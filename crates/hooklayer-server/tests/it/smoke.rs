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

/// The event of the README's tour, as written there.
fn readme_tour_event() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let start = readme.find("<<'JSON'\n").expect("the tour's event") + "<<'JSON'\n".len();
    let len = readme[start..]
        .find("\nJSON\n")
        .expect("the end of the tour's event");
    readme[start..start + len].to_owned()
}

crate::both_backends!(
    the_readme_tour_event_arrives_as_layer_receivers_read_it,
    |db| {
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
        let event: serde_json::Value = serde_json::from_str(&readme_tour_event()).expect("JSON");
        let (status, body) = app.publish(&uuid, &token, &event).await;
        assert_eq!((status, &body["deliveries"]), (202, &json!(1)), "{body}");

        let requests = receiver.wait_for_requests(2, Duration::from_secs(5)).await;
        let delivered: serde_json::Value = serde_json::from_slice(&requests[1].body).expect("JSON");
        // What Layer's receiver libraries read from every message: its sender and the actor.
        assert_eq!(delivered["message"], event["message"]);
        assert_eq!(delivered["message"]["sender"]["user_id"], "1234");
        assert_eq!(delivered["event"]["actor"], event["actor"]);
        app.stop().await;
    }
);
