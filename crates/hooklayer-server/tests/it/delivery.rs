//! The delivery engine through the real server: the request of SPEC §6 (headers, body,
//! both signatures recomputed here from the raw bytes), fan-out, idempotent ingest, retries,
//! `Retry-After`, exhaustion, and deleted webhooks.

use crate::support::app::{registration, webhook_uuid, TestApp, TestAppBuilder};
use crate::support::receiver::{Behavior, RecordedRequest, TestCa, TestReceiver};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "1697f925ec7b1697f925ec7b";
const WAIT: Duration = Duration::from_secs(10);

/// A server, one app and a receiver with one active webhook on `/hook`.
struct Setup {
    app: TestApp,
    uuid: String,
    token: String,
    receiver: TestReceiver,
    hook: Value,
    _ca: TestCa,
}

async fn setup(db: &crate::support::db::TestDb, builder: TestAppBuilder, body: Value) -> Setup {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let app = builder.trust(&ca).start(db).await;
    let (uuid, token) = app.create_app("deliveries").await;
    let mut body = body;
    body["target_url"] = json!(receiver.url("/hook"));
    let hook = app.register(&uuid, &token, body).await;
    app.wait_for_status(&uuid, &token, &webhook_uuid(&hook), "active")
        .await;
    Setup {
        app,
        uuid,
        token,
        receiver,
        hook,
        _ca: ca,
    }
}

fn posts(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests.iter().filter(|r| r.method == "POST").collect()
}

/// Waits until the receiver has seen `n` POSTs (plus the verification GET).
async fn wait_posts(receiver: &TestReceiver, n: usize) -> Vec<RecordedRequest> {
    let all = receiver.wait_for_requests(n + 1, WAIT).await;
    all.into_iter().filter(|r| r.method == "POST").collect()
}

fn layer_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn standard_signature(key: &[u8], id: &str, ts: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

crate::both_backends!(
    a_message_event_arrives_with_every_header_and_both_signatures,
    |db| {
        let mut body = registration("", &["message.sent"]);
        body["config"] = json!({"key1": "value1"});
        let s = setup(&db, TestAppBuilder::new(), body).await;
        let event = json!({"type": "message.sent", "actor": {"user_id": "1234"},
        "message": {"id": "layer:///messages/940de862", "parts": [{"mime_type": "text/plain", "body": "Grüße, 世界 / ok"}]},
        "id": "c12f340d-3b62-4cf1-9b93-ef4d754cfe69", "created_at": "2015-09-17T20:46:47.561Z"});
        let (status, answer) = s.app.publish(&s.uuid, &s.token, &event).await;
        assert_eq!(status, 202, "{answer}");
        let got = wait_posts(&s.receiver, 1).await;
        let r = got[0].clone();
        let raw = String::from_utf8(r.body.clone()).expect("UTF-8 body");
        assert_eq!(
            raw,
            r#"{"event":{"created_at":"2015-09-17T20:46:47.561Z","type":"message.sent","id":"c12f340d-3b62-4cf1-9b93-ef4d754cfe69","actor":{"user_id":"1234"}},"message":{"id":"layer:///messages/940de862","parts":[{"mime_type":"text/plain","body":"Grüße, 世界 / ok"}]},"config":{"key1":"value1"}}"#,
            "compact JSON, raw UTF-8, unescaped slash, Layer key order"
        );
        assert_eq!(r.path_and_query, "/hook", "origin-form request target");
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.layer.webhooks+json; version=2.0")
        );
        assert_eq!(r.header("user-agent"), Some("layer-webhooks/2.0"));
        assert_eq!(r.header("layer-webhook-event-type"), Some("message.sent"));
        assert_eq!(s.hook["id"].as_str(), r.header("layer-webhook-id"));
        let request_id = r.header("layer-webhook-request-id").expect("request id");
        assert!(uuid::Uuid::parse_str(request_id).is_ok());
        assert_eq!(r.header("webhook-id"), Some(request_id));
        assert_eq!(
            r.header("layer-webhook-signature"),
            Some(layer_signature(SECRET, &r.body).as_str())
        );
        let ts = r.header("webhook-timestamp").expect("timestamp");
        let now = chrono::Utc::now().timestamp();
        assert!((now - ts.parse::<i64>().unwrap()).abs() < 60);
        assert_eq!(
            r.header("webhook-signature"),
            Some(standard_signature(SECRET.as_bytes(), request_id, ts, &r.body).as_str())
        );
    }
);

crate::both_backends!(
    a_whsec_secret_keys_the_standard_signature_with_its_decoded_bytes,
    |db| {
        let mut body = registration("", &["conversation.created"]);
        body["secret"] = json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        body["version"] = json!("1.0");
        let s = setup(&db, TestAppBuilder::new(), body).await;
        s.app
            .publish(
                &s.uuid,
                &s.token,
                &json!({"type": "conversation.created", "conversation": {"id": "c1"}}),
            )
            .await;
        let r = wait_posts(&s.receiver, 1).await.remove(0);
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let id = r.header("webhook-id").unwrap();
        let ts = r.header("webhook-timestamp").unwrap();
        assert_eq!(
            r.header("webhook-signature"),
            Some(standard_signature(&key, id, ts, &r.body).as_str())
        );
        assert_eq!(r.header("user-agent"), Some("layer-webhooks/1.0"));
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.layer.webhooks+json; version=1.0")
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert!(
            body.get("config").is_none(),
            "no config key without a config"
        );
        assert!(
            body["event"].get("actor").is_none(),
            "no actor key without an actor"
        );
    }
);

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
        s.app
            .publish(
                &s.uuid,
                &s.token,
                &json!({"type": "message.sent", "message": {"id": "marker"}}),
            )
            .await;
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

crate::both_backends!(
    a_delivery_that_fails_twice_succeeds_on_the_third_attempt_with_the_same_request_id,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new().set("delivery_timeout", "300ms"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver.push_once(Behavior::Status(500));
        s.receiver
            .push_once(Behavior::Sleep(Duration::from_millis(800)));
        s.app
            .publish(
                &s.uuid,
                &s.token,
                &json!({"type": "message.sent", "message": {"id": "m"}}),
            )
            .await;
        let got = wait_posts(&s.receiver, 3).await;
        let ids: Vec<_> = got
            .iter()
            .map(|r| r.header("layer-webhook-request-id").unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "same request-id on every retry: {ids:?}"
        );
        let delivery = wait_for_delivery_status(&s, &ids[0], "succeeded").await;
        assert_eq!(delivery.attempts.len(), 3);
        assert_eq!(delivery.attempts[0].status_code, Some(500));
        assert_eq!(
            delivery.attempts[1].error.as_deref(),
            Some("request timed out after 300ms")
        );
        assert_eq!(delivery.attempts[2].status_code, Some(204));
        s.app
            .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&s.hook), "active")
            .await;
    }
);

crate::both_backends!(a_redirect_is_a_failed_attempt, |db| {
    let s = setup(
        &db,
        TestAppBuilder::new(),
        registration("", &["message.sent"]),
    )
    .await;
    s.receiver.push_once(Behavior::Redirect);
    s.app
        .publish(
            &s.uuid,
            &s.token,
            &json!({"type": "message.sent", "message": {"id": "m"}}),
        )
        .await;
    let got = wait_posts(&s.receiver, 2).await;
    assert!(
        got.iter().all(|r| r.path_and_query == "/hook"),
        "the redirect was not followed"
    );
    let id = got[0]
        .header("layer-webhook-request-id")
        .unwrap()
        .to_owned();
    let delivery = wait_for_delivery_status(&s, &id, "succeeded").await;
    assert_eq!(
        delivery.attempts[0].error.as_deref(),
        Some("unexpected response status: 302 Found")
    );
});

crate::both_backends!(
    exhaustion_deactivates_the_webhook_and_fails_its_pending_deliveries,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new().set("retry_schedule", "50ms,100ms"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver.set_default(Behavior::Status(500));
        s.app
            .publish(
                &s.uuid,
                &s.token,
                &json!({"type": "message.sent", "message": {"id": "m"}}),
            )
            .await;
        let hook = s
            .app
            .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&s.hook), "inactive")
            .await;
        assert_eq!(
        hook["status_reason"],
        "Delivery failed after 3 attempts: unexpected response status: 500 Internal Server Error"
    );
        assert_eq!(posts(&s.receiver.requests()).len(), 3);
        let app_id = s.uuid.parse().unwrap();
        let hook_id = webhook_uuid(&s.hook).parse().unwrap();
        let failed = hooklayer_store::DeliveryQuery {
            status: Some(hooklayer_store::DeliveryStatus::Failed),
            limit: 10,
            after: None,
        };
        let page = s
            .app
            .state
            .store
            .list_deliveries(app_id, hook_id, &failed)
            .await
            .unwrap();
        assert_eq!(
            page.items.len(),
            1,
            "the exhausted delivery is kept as failed"
        );
        // Events published while the webhook is inactive are not queued for it.
        let (_, answer) = s
            .app
            .publish(
                &s.uuid,
                &s.token,
                &json!({"type": "message.sent", "message": {"id": "late"}}),
            )
            .await;
        assert_eq!(answer["deliveries"], 0);
    }
);

crate::both_backends!(
    retry_after_on_503_is_honoured_within_twice_the_schedule,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new().set("retry_schedule", "200ms"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver.push_once(Behavior::RetryAfter(503, "1".into()));
        s.app
            .publish(
                &s.uuid,
                &s.token,
                &json!({"type": "message.sent", "message": {"id": "m"}}),
            )
            .await;
        let got = wait_posts(&s.receiver, 2).await;
        let gap = got[1].received_at.duration_since(got[0].received_at);
        // Retry-After: 1 s asks for more than 2 × 200 ms, so the wait is clamped to 400 ms.
        assert!(gap >= Duration::from_millis(390), "waited {gap:?}");
        assert!(
            gap < Duration::from_millis(1000),
            "Retry-After must be clamped to 2× the schedule, waited {gap:?}"
        );
    }
);

crate::both_backends!(a_deleted_webhook_gets_no_new_attempts, |db| {
    let s = setup(
        &db,
        TestAppBuilder::new().set("retry_schedule", "300ms"),
        registration("", &["message.sent"]),
    )
    .await;
    s.receiver.push_once(Behavior::Status(500));
    s.app
        .publish(
            &s.uuid,
            &s.token,
            &json!({"type": "message.sent", "message": {"id": "m"}}),
        )
        .await;
    wait_posts(&s.receiver, 1).await;
    let resp = s
        .app
        .layer(
            reqwest::Method::DELETE,
            &format!("/apps/{}/webhooks/{}", s.uuid, webhook_uuid(&s.hook)),
            &s.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // Well past the 300 ms retry: a second webhook's delivery proves the worker kept running.
    let other = s
        .app
        .register(
            &s.uuid,
            &s.token,
            registration(&s.receiver.url("/other"), &["message.read"]),
        )
        .await;
    s.app
        .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&other), "active")
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.app
        .publish(
            &s.uuid,
            &s.token,
            &json!({"type": "message.read", "message": {"id": "r"}}),
        )
        .await;
    let all = s.receiver.wait_for_requests(4, WAIT).await;
    let to_deleted = posts(&all)
        .iter()
        .filter(|r| r.path_and_query == "/hook")
        .count();
    assert_eq!(to_deleted, 1, "no retry after delete");
});

/// Polls the store until the delivery has `status` (bounded).
async fn wait_for_delivery_status(
    s: &Setup,
    request_id: &str,
    status: &str,
) -> hooklayer_store::Delivery {
    let app_id = s.uuid.parse().unwrap();
    let hook_id = webhook_uuid(&s.hook).parse().unwrap();
    let id = request_id.parse().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(d) = s
            .app
            .state
            .store
            .get_delivery(app_id, hook_id, id)
            .await
            .unwrap()
        {
            if d.status.as_str() == status {
                return d;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
