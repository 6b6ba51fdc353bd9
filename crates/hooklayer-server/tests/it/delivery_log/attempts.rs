//! What the log shows: every attempt with its status code, error and body, oldest first; the
//! deliveries newest first; `next_attempt_at` only while pending; the status filter.

use super::{by_event, Hook};
use crate::support::app::TestAppBuilder;
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use reqwest::Method;
use serde_json::Value;

const E500: &str = "unexpected response status: 500 Internal Server Error";
const E503: &str = "unexpected response status: 503 Service Unavailable";

/// (status_code, error) of each attempt.
fn codes(delivery: &Value) -> Vec<(Value, Value)> {
    let attempts = delivery["attempts"].as_array().expect("attempts array");
    attempts
        .iter()
        .map(|a| (a["status_code"].clone(), a["error"].clone()))
        .collect()
}

fn ok(code: u16) -> (Value, Value) {
    (code.into(), Value::Null)
}

fn failed(code: u16, error: &str) -> (Value, Value) {
    (code.into(), error.into())
}

crate::both_backends!(
    the_log_shows_success_failures_and_exhaustion_attempt_by_attempt,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let hook = Hook::active(&app, &receiver, &["message.sent"]).await;

        // A: succeeds at once.
        let a = hook.publish("message.sent").await;
        hook.wait_until("A succeeded", |log| {
            log.iter()
                .any(|d| d["event_id"] == a && d["status"] == "succeeded")
        })
        .await;
        // B: 500 with a long body, then 503, then 204.
        receiver.push_once(Behavior::Body(500, "x".repeat(3000)));
        receiver.push_once(Behavior::Status(503));
        let b = hook.publish("message.sent").await;
        hook.wait_until("B succeeded", |log| {
            log.iter()
                .any(|d| d["event_id"] == b && d["status"] == "succeeded")
        })
        .await;
        // C: 500 on every attempt, so it exhausts the schedule (3 attempts) and the webhook.
        receiver.set_default(Behavior::Status(500));
        let c = hook.publish("message.sent").await;
        let log = hook
            .wait_until("C failed", |log| {
                log.iter()
                    .any(|d| d["event_id"] == c && d["status"] == "failed")
            })
            .await;

        let order: Vec<&Value> = log.iter().map(|d| &d["event_id"]).collect();
        assert_eq!(
            order,
            [
                &Value::from(c.as_str()),
                &b.as_str().into(),
                &a.as_str().into()
            ],
            "newest first"
        );
        let (da, db_, dc) = (by_event(&log, &a), by_event(&log, &b), by_event(&log, &c));
        assert_eq!(codes(da), [ok(204)]);
        assert_eq!(codes(db_), [failed(500, E500), failed(503, E503), ok(204)]);
        assert_eq!(
            codes(dc),
            [failed(500, E500), failed(500, E500), failed(500, E500)]
        );
        assert_eq!(
            db_["attempts"][0]["response_body"].as_str().map(str::len),
            Some(1024),
            "bodies are cut at 1 KiB"
        );
        assert_eq!(
            da["attempts"][0]["response_body"],
            Value::Null,
            "an empty body is null"
        );
        for d in [da, db_, dc] {
            assert_eq!(
                d["next_attempt_at"],
                Value::Null,
                "finished deliveries have no next attempt"
            );
            assert_eq!(d["event_type"], "message.sent");
            let attempts = d["attempts"].as_array().expect("attempts");
            let times: Vec<&str> = attempts
                .iter()
                .map(|a| a["at"].as_str().expect("at"))
                .collect();
            assert!(
                times.windows(2).all(|w| w[0] <= w[1]),
                "attempts oldest first: {times:?}"
            );
            assert!(attempts.iter().all(|a| a["duration_ms"].is_u64()));
            let keys: Vec<&String> = d.as_object().expect("object").keys().collect();
            assert_eq!(
                keys,
                [
                    "request_id",
                    "event_id",
                    "event_type",
                    "status",
                    "created_at",
                    "next_attempt_at",
                    "attempts"
                ]
            );
        }
        let webhook = hook.webhook().await;
        assert_eq!(webhook["status"], "inactive");
        assert_eq!(
            webhook["status_reason"],
            format!("Delivery failed after 3 attempts: {E500}")
        );

        // One delivery by its request id is the same object as in the list.
        let request_id = dc["request_id"].as_str().expect("request id");
        let (status, one) = hook
            .call(Method::GET, &format!("/deliveries/{request_id}"), None)
            .await;
        assert_eq!((status, &one), (200, dc));

        // The status filter.
        let only = |body: Value| -> Vec<Value> {
            body["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|d| d["event_id"].clone())
                .collect()
        };
        assert_eq!(
            only(hook.page("status=failed").await),
            [Value::from(c.as_str())]
        );
        assert_eq!(
            only(hook.page("status=succeeded").await),
            [Value::from(b.as_str()), a.as_str().into()]
        );
        assert_eq!(only(hook.page("status=pending").await), Vec::<Value>::new());
        app.stop().await;
    }
);

crate::both_backends!(a_pending_delivery_shows_its_next_attempt, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    // A long retry delay keeps the delivery pending after its first failure.
    let app = TestAppBuilder::new()
        .trust(&ca)
        .set("retry_schedule", "1h")
        .start(&db)
        .await;
    let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
    receiver.set_default(Behavior::Status(500));
    let e = hook.publish("message.sent").await;
    let log = hook
        .wait_until("one failed attempt", |log| {
            log.iter().any(|d| {
                d["event_id"] == e && d["attempts"].as_array().is_some_and(|a| !a.is_empty())
            })
        })
        .await;
    let d = by_event(&log, &e);
    assert_eq!(d["status"], "pending");
    let next = d["next_attempt_at"]
        .as_str()
        .expect("a pending delivery has a next attempt");
    assert!(next > d["attempts"][0]["at"].as_str().expect("at"), "{d}");
    app.stop().await;
});
