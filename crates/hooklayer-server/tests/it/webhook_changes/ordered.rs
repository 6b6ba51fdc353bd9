//! Ordered delivery (SPEC §12) through the real server: strictly in acceptance order with
//! head-of-line retries (`Retry-After` included), exhaustion, and replay in order.

use super::{message_id, patch};
use crate::delivery::setup;
use crate::support::app::{registration, send, webhook_path, webhook_uuid, TestAppBuilder};
use crate::support::receiver::{Behavior, RecordedRequest};
use serde_json::{json, Value};
use std::time::Duration;

/// Request positions (in the webhook's one-at-a-time stream) the receiver fails; never three
/// in a row, so no delivery runs out of its four attempts.
pub const FAIL_AT: [usize; 9] = [3, 10, 11, 40, 77, 78, 120, 160, 161];

/// Queues the receiver's answers: a failure at each of [`FAIL_AT`] (one a `Retry-After`),
/// success otherwise.
pub fn script_failures(receiver: &crate::support::receiver::TestReceiver, total: usize) {
    for k in 0..total {
        let behavior = match k {
            77 => Behavior::RetryAfter(503, "1".into()),
            k if FAIL_AT.contains(&k) => Behavior::Status(500),
            _ => Behavior::Status(204),
        };
        receiver.push_once(behavior);
    }
}

/// Publishes 200 events as acceptance order `0..200`: 50 singles, one batch of 100, 50 singles.
pub async fn publish_200(publish: impl AsyncFn(Value)) {
    let event = |i: usize| json!({"type": "message.sent", "message": {"id": format!("{i:03}")}});
    for i in 0..50 {
        publish(event(i)).await;
    }
    publish(Value::Array((50..150).map(event).collect())).await;
    for i in 150..200 {
        publish(event(i)).await;
    }
}

/// Asserts that the POSTs arrived strictly in order: the message indexes never go back (a
/// retry repeats the head), and the distinct ones are `0..n`.
pub fn assert_in_order(posts: &[&RecordedRequest], n: usize) {
    let indexes: Vec<usize> = posts
        .iter()
        .map(|r| message_id(r).parse().expect("numeric message id"))
        .collect();
    for (k, pair) in indexes.windows(2).enumerate() {
        assert!(
            pair[0] <= pair[1],
            "out of order at arrival {k}: {indexes:?}"
        );
    }
    let mut distinct = indexes.clone();
    distinct.dedup();
    assert_eq!(distinct, (0..n).collect::<Vec<_>>());
}

crate::both_backends!(
    ordered_deliveries_arrive_in_acceptance_order_through_retries,
    |db| {
        let mut reg = registration("", &["message.sent"]);
        reg["delivery"] = json!({"ordered": true});
        let s = setup(
            &db,
            TestAppBuilder::new().set("retry_schedule", "20ms,40ms,80ms"),
            reg,
        )
        .await;
        let total = 200 + FAIL_AT.len();
        script_failures(&s.receiver, total);
        publish_200(async |body| {
            let (status, _) = s.app.publish(&s.uuid, &s.token, &body).await;
            assert_eq!(status, 202);
        })
        .await;
        let all = s
            .receiver
            .wait_for_requests(1 + total, Duration::from_secs(60))
            .await;
        let posts: Vec<&RecordedRequest> = all.iter().filter(|r| r.method == "POST").collect();
        assert_eq!(posts.len(), total);
        assert_in_order(&posts, 200);
        for k in FAIL_AT {
            assert_eq!(
                message_id(posts[k]),
                message_id(posts[k + 1]),
                "the failed head is retried first"
            );
        }
    }
);

crate::both_backends!(
    an_exhausted_ordered_webhook_fails_the_rest_and_replay_keeps_the_order,
    |db| {
        let mut reg = registration("", &["message.sent"]);
        reg["delivery"] = json!({"ordered": true});
        let s = setup(
            &db,
            TestAppBuilder::new().set("retry_schedule", "20ms,20ms"),
            reg,
        )
        .await;
        s.receiver.set_default(Behavior::Status(500));
        for i in 0..5 {
            s.publish_message(&format!("{i:03}")).await;
        }
        let hook = webhook_uuid(&s.hook);
        let inactive = s
            .app
            .wait_for_status(&s.uuid, &s.token, &hook, "inactive")
            .await;
        assert!(inactive["status_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("Delivery failed after 3 attempts")));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let posts: Vec<RecordedRequest> = s
            .receiver
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect();
        let ids: Vec<String> = posts.iter().map(message_id).collect();
        assert_eq!(
            ids,
            ["000", "000", "000"],
            "only the head was ever attempted"
        );

        // Activate, then replay the failed ones: they go again, in their original order.
        s.receiver.set_default(Behavior::EchoChallenge);
        let activate = webhook_path(&s.uuid, &hook, "/activate");
        assert_eq!(
            send(s.app.layer(reqwest::Method::POST, &activate, &s.token))
                .await
                .status,
            200
        );
        s.app
            .wait_for_status(&s.uuid, &s.token, &hook, "active")
            .await;
        let replay = webhook_path(&s.uuid, &hook, "/replay");
        let reply = send(
            s.app
                .layer(reqwest::Method::POST, &replay, &s.token)
                .json(&json!({"since": "2000-01-01T00:00:00Z"})),
        )
        .await;
        assert_eq!((reply.status, &reply.json), (202, &json!({"queued": 5})));
        let all = s
            .receiver
            .wait_for_requests(1 + 3 + 1 + 5, Duration::from_secs(20))
            .await;
        let again: Vec<String> = all[5..].iter().map(message_id).collect();
        assert_eq!(again, ["000", "001", "002", "003", "004"]);
        // Switching order off is a change like any other.
        assert_eq!(
            patch(&s, &json!({"delivery": {"ordered": false}}))
                .await
                .status,
            200
        );
    }
);
