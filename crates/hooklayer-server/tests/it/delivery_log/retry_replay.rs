//! Manual retry (same request-id, fresh attempt budget) and replay after reactivation
//! (exactly the matching deliveries since the given time).

use super::{by_event, event, Hook};
use crate::support::app::TestAppBuilder;
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use hooklayer_core::time::Timestamp;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// The request-ids of the POSTs the receiver got after its first `skip` requests.
fn posted_ids(receiver: &TestReceiver, skip: usize) -> Vec<String> {
    let requests = receiver.requests();
    let posts = requests[skip..].iter().filter(|r| r.method == "POST");
    posts
        .map(|r| {
            r.header("layer-webhook-request-id")
                .expect("request id")
                .to_owned()
        })
        .collect()
}

fn has_status(log: &[Value], event: &str, status: &str) -> bool {
    log.iter()
        .any(|d| d["event_id"] == event && d["status"] == status)
}

fn attempts(d: &Value) -> usize {
    d["attempts"].as_array().map_or(0, Vec::len)
}

/// Makes the webhook `active` again (the receiver must pass verification).
async fn reactivate(hook: &Hook<'_>, receiver: &TestReceiver) {
    receiver.set_default(Behavior::EchoChallenge);
    let (status, body) = hook.call(Method::POST, "/activate", None).await;
    assert_eq!(status, 200, "{body}");
    hook.app
        .wait_for_status(&hook.uuid, &hook.token, &hook.hook, "active")
        .await;
}

fn assert_activate_first(status: u16, body: &Value) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        (&body["id"], &body["code"]),
        (&json!("invalid_operation"), &json!(9))
    );
    assert_eq!(body["message"], "Activate the webhook first.");
}

crate::both_backends!(
    manual_retry_sends_a_succeeded_delivery_again_with_the_same_request_id,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
        let e = hook.publish("message.sent").await;
        let log = hook
            .wait_until("a success", |log| has_status(log, &e, "succeeded"))
            .await;
        let request_id = by_event(&log, &e)["request_id"]
            .as_str()
            .expect("id")
            .to_owned();
        let before = receiver.requests().len();

        let (status, queued) = hook
            .call(
                Method::POST,
                &format!("/deliveries/{request_id}/retry"),
                None,
            )
            .await;

        assert_eq!(status, 202, "{queued}");
        assert_eq!(
            (&queued["request_id"], &queued["status"]),
            (&json!(request_id), &json!("pending"))
        );
        assert!(queued["next_attempt_at"].is_string(), "{queued}");
        receiver.wait_for_requests(before + 1, WAIT).await;
        assert_eq!(posted_ids(&receiver, before), vec![request_id.clone()]);
        let resent = &receiver.requests()[before];
        assert_eq!(resent.header("webhook-id"), Some(request_id.as_str()));
        let log = hook
            .wait_until("the retry's success", |log| {
                log.iter()
                    .any(|d| d["event_id"] == e && d["status"] == "succeeded" && attempts(d) == 2)
            })
            .await;
        assert_eq!(log.len(), 1, "a retry is the same delivery, not a new one");
        app.stop().await;
    }
);

crate::both_backends!(
    a_retried_failed_delivery_gets_a_fresh_attempt_budget,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
        receiver.set_default(Behavior::Status(500));
        let e = hook.publish("message.sent").await;
        let log = hook
            .wait_until("an exhausted delivery", |log| has_status(log, &e, "failed"))
            .await;
        let request_id = by_event(&log, &e)["request_id"]
            .as_str()
            .expect("id")
            .to_owned();
        let retry = format!("/deliveries/{request_id}/retry");
        let (status, body) = hook.call(Method::POST, &retry, None).await;
        assert_activate_first(status, &body);

        reactivate(&hook, &receiver).await;
        // Two more failures fit in a fresh budget of three attempts; the third succeeds.
        receiver.push_once(Behavior::Status(500));
        receiver.push_once(Behavior::Status(500));
        let (status, body) = hook.call(Method::POST, &retry, None).await;
        assert_eq!(status, 202, "{body}");

        let log = hook
            .wait_until("success after 3 + 3 attempts", |log| {
                has_status(log, &e, "succeeded")
            })
            .await;
        assert_eq!(attempts(by_event(&log, &e)), 6);
        assert_eq!(hook.webhook().await["status"], "active");
        app.stop().await;
    }
);

crate::both_backends!(
    replay_after_reactivation_sends_exactly_the_failed_deliveries_since,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
        // Before `since`: a failure that exhausts the webhook.
        receiver.set_default(Behavior::Status(500));
        let old = hook.publish("message.sent").await;
        let log = hook
            .wait_until("the old failure", |log| has_status(log, &old, "failed"))
            .await;
        let old_created = by_event(&log, &old)["created_at"]
            .as_str()
            .expect("created_at")
            .to_owned();
        let since = Timestamp::parse_rfc3339(&old_created)
            .expect("time")
            .plus_millis(1)
            .to_rfc3339();
        // After it: a success, then two failures (which exhaust the webhook again).
        reactivate(&hook, &receiver).await;
        let ok = hook.publish("message.sent").await;
        hook.wait_until("the success", |log| has_status(log, &ok, "succeeded"))
            .await;
        receiver.set_default(Behavior::Status(500));
        let (status, body) = app
            .publish(
                &hook.uuid,
                &hook.token,
                &json!([event("message.sent"), event("message.sent")]),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let failed: Vec<String> = body
            .as_array()
            .expect("answers")
            .iter()
            .map(|a| a["id"].as_str().expect("id").to_owned())
            .collect();
        let log = hook
            .wait_until("two new failures", |log| {
                failed.iter().all(|f| has_status(log, f, "failed"))
            })
            .await;
        let want: BTreeSet<String> = failed
            .iter()
            .map(|f| {
                by_event(&log, f)["request_id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            })
            .collect();

        let (status, body) = hook
            .call(Method::POST, "/replay", Some(&json!({ "since": since })))
            .await;
        assert_activate_first(status, &body);
        reactivate(&hook, &receiver).await;
        let before = receiver.requests().len();
        let (status, body) = hook
            .call(Method::POST, "/replay", Some(&json!({ "since": since })))
            .await;

        assert_eq!((status, &body), (202, &json!({"queued": 2})));
        let log = hook
            .wait_until("the replayed successes", |log| {
                failed.iter().all(|f| has_status(log, f, "succeeded"))
            })
            .await;
        let resent: BTreeSet<String> = posted_ids(&receiver, before).into_iter().collect();
        assert_eq!(
            resent, want,
            "exactly the failed deliveries since `since`, each once"
        );
        assert_eq!(posted_ids(&receiver, before).len(), 2);
        let old_delivery = by_event(&log, &old);
        assert_eq!(
            (&old_delivery["status"], attempts(old_delivery)),
            (&json!("failed"), 3),
            "older failures stay"
        );
        assert_eq!(
            attempts(by_event(&log, &ok)),
            1,
            "successes are not replayed by default"
        );

        // `status: "succeeded"` replays the successes since `since`: now all three.
        let before = receiver.requests().len();
        let body = json!({"since": since, "status": "succeeded"});
        let (status, answer) = hook.call(Method::POST, "/replay", Some(&body)).await;
        assert_eq!((status, &answer), (202, &json!({"queued": 3})));
        receiver.wait_for_requests(before + 3, WAIT).await;
        app.stop().await;
    }
);
