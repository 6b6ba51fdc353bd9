//! Fan-out to active subscribed webhooks only, idempotent publishing, batches refused whole.

use super::*;
use crate::support::app::{registration, webhook_uuid, TestAppBuilder};
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use serde_json::json;
use std::time::Duration;

crate::both_backends!(fan_out_reaches_only_active_subscribed_webhooks, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    // Verification of the "pending" webhook sleeps, so it stays unverified while we publish.
    let app = TestAppBuilder::new()
        .trust(&ca)
        .set("delivery_timeout", "5s")
        .start(&db)
        .await;
    let (uuid, token) = app.create_app("fanout").await;
    let mut active = Vec::new();
    for i in 0..3 {
        let hook = app
            .register(
                &uuid,
                &token,
                registration(&receiver.url(&format!("/a{i}")), &["message.sent"]),
            )
            .await;
        app.wait_for_status(&uuid, &token, &webhook_uuid(&hook), "active")
            .await;
        active.push(hook);
    }
    let other = app
        .register(
            &uuid,
            &token,
            registration(&receiver.url("/other"), &["message.read"]),
        )
        .await;
    app.wait_for_status(&uuid, &token, &webhook_uuid(&other), "active")
        .await;
    let off = app
        .register(
            &uuid,
            &token,
            registration(&receiver.url("/off"), &["message.sent"]),
        )
        .await;
    app.wait_for_status(&uuid, &token, &webhook_uuid(&off), "active")
        .await;
    let resp = app
        .layer(
            reqwest::Method::POST,
            &format!("/apps/{uuid}/webhooks/{}/deactivate", webhook_uuid(&off)),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    receiver.push_once(Behavior::Sleep(Duration::from_secs(3)));
    let pending = app
        .register(
            &uuid,
            &token,
            registration(&receiver.url("/pending"), &["message.sent"]),
        )
        .await;
    assert_eq!(pending["status"], "unverified");
    let verifications = 6;

    let (status, answer) = app
        .publish(
            &uuid,
            &token,
            &json!({"type": "message.sent", "message": {"id": "m"}}),
        )
        .await;
    assert_eq!(
        (status, answer["deliveries"].as_u64()),
        (202, Some(3)),
        "{answer}"
    );
    let all = receiver.wait_for_requests(verifications + 3, WAIT).await;
    let mut paths: Vec<_> = posts(&all)
        .iter()
        .map(|r| r.path_and_query.clone())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/a0", "/a1", "/a2"]);
    // The sleeping verification ends with a 204 that does not echo: the webhook turns inactive
    // and no delivery ever reaches /pending, /off or /other.
    app.wait_for_status(&uuid, &token, &webhook_uuid(&pending), "inactive")
        .await;
    assert_eq!(posts(&receiver.requests()).len(), 3);
});

crate::both_backends!(
    publishing_the_same_event_id_twice_delivers_once_with_the_same_answer,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new(),
            registration("", &["message.sent"]),
        )
        .await;
        let event = json!({"type": "message.sent", "message": {"id": "m"}, "id": "0b6a1c4e-8c1f-4d3e-9a57-3f1f0d6c2b11"});
        let (s1, first) = s.app.publish(&s.uuid, &s.token, &event).await;
        let mut changed = event.clone();
        changed["message"]["id"] = json!("different body, same id");
        let (s2, second) = s.app.publish(&s.uuid, &s.token, &changed).await;
        assert_eq!((s1, s2), (202, 202));
        assert_eq!(first, second, "the first answer stands");
        // If-None-Match is the same key for a body without id.
        let resp = s
            .app
            .http
            .post(s.app.url(&format!("/apps/{}/events", s.uuid)))
            .bearer_auth(&s.token)
            .header("if-none-match", "0b6a1c4e-8c1f-4d3e-9a57-3f1f0d6c2b11")
            .json(&json!({"type": "message.sent", "message": {"id": "m"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        assert_eq!(resp.json::<Value>().await.unwrap(), first);
        let got = wait_posts(&s.receiver, 1).await;
        // One more event proves the pipeline is flowing, so a duplicate would have shown up by now.
        s.publish_message("marker").await;
        let all = wait_posts(&s.receiver, 2).await;
        assert_eq!(all.len(), 2, "{got:?}");
    }
);

crate::both_backends!(a_batch_with_one_bad_element_is_refused_whole, |db| {
    let s = setup(
        &db,
        TestAppBuilder::new(),
        registration("", &["message.sent"]),
    )
    .await;
    let batch = json!([
        {"type": "message.sent", "message": {"id": "ok"}, "id": "11111111-1111-4111-8111-111111111111"},
        {"type": "message.sent", "message": {"id": 5}},
    ]);
    let (status, body) = s.app.publish(&s.uuid, &s.token, &batch).await;
    assert_eq!(status, 422);
    assert_eq!(body["id"], "invalid_property");
    assert_eq!(body["data"], json!({"property": "message.id", "index": 1}));
    // Nothing was stored: publishing the good element alone now queues it as new.
    let (status, answer) = s
        .app
        .publish(&s.uuid, &s.token, &json!({"type": "message.sent", "message": {"id": "ok"}, "id": "11111111-1111-4111-8111-111111111111"}))
        .await;
    assert_eq!((status, answer["deliveries"].as_u64()), (202, Some(1)));
    let hook_id = webhook_uuid(&s.hook).parse().unwrap();
    let app_id = s.uuid.parse().unwrap();
    let page = s
        .app
        .state
        .store
        .list_deliveries(
            app_id,
            hook_id,
            &hooklayer_store::DeliveryQuery {
                status: None,
                limit: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
});
