//! The request of SPEC §6: body bytes, every header, both signatures, versions.

use super::*;
use crate::support::app::{registration, TestAppBuilder};
use serde_json::json;

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

crate::both_backends!(
    numbers_arrive_with_the_exact_text_they_were_published_with,
    |db| {
        let mut body = registration("", &["message.sent"]);
        body["config"] =
            serde_json::from_str(r#"{"ratio": 1.50, "big": 18446744073709551616}"#).unwrap();
        let s = setup(&db, TestAppBuilder::new(), body).await;
        // Each of these would change under a round trip through f64 or i64.
        let numbers = r#"[1e2, -0, 1.0, 18446744073709551616, 0.30000000000000004, -1.5E-7, 123456789012345678901234567890]"#;
        let event = format!(
            r#"{{"type": "message.sent", "actor": {{"user_id": "1234", "score": 2.50}},
                "message": {{"id": "m1", "numbers": {numbers}}},
                "id": "7d0f6a53-8c2b-4d0e-9b1a-3f1f6b7e2c44", "created_at": "2015-09-17T20:46:47.561Z"}}"#
        );
        let answer = s
            .app
            .layer(
                reqwest::Method::POST,
                &format!("/apps/{}/events", s.uuid),
                &s.token,
            )
            .body(event)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202);
        let got = wait_posts(&s.receiver, 1).await;
        let raw = String::from_utf8(got[0].body.clone()).expect("UTF-8 body");
        assert_eq!(
            raw,
            format!(
                r#"{{"event":{{"created_at":"2015-09-17T20:46:47.561Z","type":"message.sent","id":"7d0f6a53-8c2b-4d0e-9b1a-3f1f6b7e2c44","actor":{{"user_id":"1234","score":2.50}}}},"message":{{"id":"m1","numbers":{}}},"config":{{"ratio":1.50,"big":18446744073709551616}}}}"#,
                numbers.replace(' ', "")
            )
        );
    }
);
