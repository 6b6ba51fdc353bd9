//! The registration body's rules (SPEC §3, §8) through a real server: every rule answers with
//! its status, Layer id and code and names its property; the rules run in the SPEC's order.

use crate::support::app::{send, Reply, TestApp, TestAppBuilder};
use crate::support::receiver::{TestCa, TestReceiver};
use reqwest::Method;
use serde_json::{json, Value};

const MISSING: &str = "missing_property";
const INVALID: &str = "invalid_property";
/// A target that is allowed but where nothing listens: if a bad body were ever accepted, its
/// verification would stay on this machine.
const SAFE: &str = "https://127.0.0.1:1/hook";

/// A valid registration body for `target`.
fn valid(target: &str) -> Value {
    json!({
        "version": "2.0",
        "target_url": target,
        "events": ["message.sent"],
        "secret": "1697f925ec7b1697f925ec7b",
        "config": {"key1": "value1"}
    })
}

/// `body` with `key` set to `value`, or removed when `value` is `None`.
fn with(mut body: Value, key: &str, value: Option<Value>) -> Value {
    match value {
        Some(v) => body[key] = v,
        None => {
            body.as_object_mut().unwrap().remove(key);
        }
    }
    body
}

/// A server (trusting `ca` when given) with one app; returns (server, app uuid, token).
async fn server(
    builder: TestAppBuilder,
    db: &crate::support::db::TestDb,
) -> (TestApp, String, String) {
    let app = builder.start(db).await;
    let (uuid, token) = app.create_app("demo").await;
    (app, uuid, token)
}

async fn post(app: &TestApp, uuid: &str, token: &str, body: &Value) -> Reply {
    send(
        app.layer(Method::POST, &format!("/apps/{uuid}/webhooks"), token)
            .json(body),
    )
    .await
}

/// Sends `valid(target)` with `key` replaced by each case and checks the answer.
async fn expect_all(
    app: &TestApp,
    uuid: &str,
    token: &str,
    key: &str,
    cases: Vec<(Option<Value>, &str)>,
) {
    for (value, id) in cases {
        let body = with(valid(SAFE), key, value.clone());
        let reply = post(app, uuid, token, &body).await;
        assert_eq!(
            (reply.status, reply.json["data"]["property"].as_str()),
            (422, Some(key)),
            "{key} = {value:?}: {}",
            reply.text
        );
        reply.assert_property(id, key);
        assert!(
            reply.json["message"]
                .as_str()
                .is_some_and(|m| m.ends_with('.')),
            "{}",
            reply.text
        );
    }
}

crate::both_backends!(version_must_be_given_as_1_0_or_2_0, |db| {
    let (app, uuid, token) = server(TestAppBuilder::new(), &db).await;
    let cases = vec![
        (None, MISSING),
        (Some(Value::Null), MISSING),
        (Some(json!("3.0")), INVALID),
        (Some(json!("2")), INVALID),
        (Some(json!(2.0)), INVALID),
        (Some(json!("")), INVALID),
        (Some(json!(["2.0"])), INVALID),
    ];
    expect_all(&app, &uuid, &token, "version", cases).await;
    app.stop().await;
});

crate::both_backends!(
    target_url_must_be_a_short_absolute_https_url_without_userinfo,
    |db| {
        let (app, uuid, token) = server(TestAppBuilder::new(), &db).await;
        let too_long = format!("{SAFE}/{}", "a".repeat(2049 - SAFE.len() - 1));
        assert_eq!(too_long.len(), 2049);
        let cases = vec![
            (None, MISSING),
            (Some(Value::Null), MISSING),
            (Some(json!(443)), INVALID),
            (Some(json!({"url": "https://127.0.0.1:1/"})), INVALID),
            (Some(json!("http://127.0.0.1:1/hook")), INVALID),
            (Some(json!("ftp://127.0.0.1:1/hook")), INVALID),
            (Some(json!("https://")), INVALID),
            (Some(json!("https:///")), INVALID),
            (Some(json!("/relative/hook")), INVALID),
            (Some(json!("")), INVALID),
            (Some(json!("https://user:pass@127.0.0.1:1/hook")), INVALID),
            (Some(json!("https://user@127.0.0.1:1/hook")), INVALID),
            (Some(json!(too_long)), INVALID),
        ];
        expect_all(&app, &uuid, &token, "target_url", cases).await;
        app.stop().await;
    }
);

crate::both_backends!(target_url_may_not_be_a_blocked_ip_in_any_spelling, |db| {
    let (app, uuid, token) = server(TestAppBuilder::new().set("allow_targets", ""), &db).await;
    let blocked = [
        "https://127.0.0.1/hook",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::1]:8443/",
        "https://10.0.0.1/",
        "https://192.168.1.20/",
        "https://172.16.0.1/",
        "https://100.64.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://224.0.0.1/",
    ];
    let cases = blocked
        .iter()
        .map(|url| (Some(json!(url)), INVALID))
        .collect();
    expect_all(&app, &uuid, &token, "target_url", cases).await;
    let list = send(app.layer(Method::GET, &format!("/apps/{uuid}/webhooks"), &token)).await;
    assert_eq!(list.json, json!([]));
    app.stop().await;
});

crate::both_backends!(
    events_must_be_a_non_empty_array_of_known_distinct_types,
    |db| {
        let (app, uuid, token) = server(TestAppBuilder::new(), &db).await;
        let cases = vec![
            (None, MISSING),
            (Some(Value::Null), MISSING),
            (Some(json!([])), INVALID),
            (Some(json!("message.sent")), INVALID),
            (Some(json!({"message.sent": true})), INVALID),
            (Some(json!([1])), INVALID),
            (Some(json!([null])), INVALID),
            (Some(json!(["message.sent", "user.created"])), INVALID),
            (Some(json!(["Message.Sent"])), INVALID),
            (
                Some(json!(["message.sent", "message.read", "message.sent"])),
                INVALID,
            ),
        ];
        expect_all(&app, &uuid, &token, "events", cases).await;
        app.stop().await;
    }
);

crate::both_backends!(
    secret_must_be_a_non_empty_string_of_at_most_512_characters,
    |db| {
        let (app, uuid, token) = server(TestAppBuilder::new(), &db).await;
        let cases = vec![
            (None, MISSING),
            (Some(Value::Null), MISSING),
            (Some(json!("")), INVALID),
            (Some(json!("a".repeat(513))), INVALID),
            (Some(json!(1234567890123456789u64)), INVALID),
            (Some(json!(["1697f925ec7b1697f925ec7b"])), INVALID),
            (Some(json!("my\u{0}secret")), INVALID),
        ];
        expect_all(&app, &uuid, &token, "secret", cases).await;
        // A NUL is refused for what it is, not for a length it does not have.
        let reply = post(
            &app,
            &uuid,
            &token,
            &with(valid(SAFE), "secret", Some(json!("my\u{0}secret"))),
        )
        .await;
        assert_eq!(
            reply.json["message"],
            "The secret property must not contain a NUL character."
        );
        app.stop().await;
    }
);

crate::both_backends!(config_must_be_an_object_of_at_most_16_kib, |db| {
    let (app, uuid, token) = server(TestAppBuilder::new(), &db).await;
    let cases = vec![
        (Some(json!([1, 2])), INVALID),
        (Some(json!("key1=value1")), INVALID),
        (Some(json!(7)), INVALID),
        (Some(json!(true)), INVALID),
        (Some(json!({"big": "x".repeat(16 * 1024)})), INVALID),
    ];
    expect_all(&app, &uuid, &token, "config", cases).await;
    app.stop().await;
});

crate::both_backends!(the_first_failing_rule_in_spec_order_answers, |db| {
    let (app, uuid, token) = server(TestAppBuilder::new(), &db).await;
    let cases = [
        (json!({}), MISSING, "version"),
        (json!({"events": "x", "secret": 1}), MISSING, "version"),
        (
            json!({"version": "9", "target_url": "http://x"}),
            INVALID,
            "version",
        ),
        (
            json!({"version": "2.0", "events": []}),
            MISSING,
            "target_url",
        ),
        (
            json!({"version": "2.0", "target_url": "http://127.0.0.1:1/", "events": ["nope"]}),
            INVALID,
            "target_url",
        ),
        (
            json!({"version": "2.0", "target_url": "https://127.0.0.1:1/", "events": [], "secret": "x"}),
            INVALID,
            "events",
        ),
        (
            json!({"version": "2.0", "target_url": "https://127.0.0.1:1/", "events": ["message.sent"], "config": 1}),
            MISSING,
            "secret",
        ),
        (
            json!({"version": "2.0", "target_url": "https://127.0.0.1:1/", "events": ["message.sent"], "secret": "", "config": 1}),
            INVALID,
            "secret",
        ),
    ];
    for (body, id, property) in cases {
        let reply = post(&app, &uuid, &token, &body).await;
        assert_eq!(
            reply.json["data"]["property"], property,
            "{body}: {}",
            reply.text
        );
        reply.assert_property(id, property);
    }
    app.stop().await;
});

crate::both_backends!(
    unknown_keys_content_type_and_boundary_values_are_accepted,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let (app, uuid, token) = server(TestAppBuilder::new().trust(&ca), &db).await;
        let hooks = format!("/apps/{uuid}/webhooks");
        let all_events = [
            "message.sent",
            "message.delivered",
            "message.read",
            "message.deleted",
            "conversation.created",
            "conversation.updated.participants",
            "conversation.updated.metadata",
            "conversation.deleted",
        ];
        let url = receiver.url("/hook?team=7");
        let bodies = [
            with(
                with(valid(&url), "status", Some(json!("active"))),
                "id",
                Some(json!("layer:///apps/x/webhooks/y")),
            ),
            with(
                with(valid(&url), "secret", Some(json!("my secret"))),
                "config",
                None,
            ),
            with(valid(&url), "secret", Some(json!("Frodo is a Dodo"))),
            with(valid(&url), "secret", Some(json!("x"))),
            with(
                with(valid(&url), "secret", Some(json!("é".repeat(512)))),
                "config",
                Some(Value::Null),
            ),
            with(
                with(valid(&url), "version", Some(json!("1.0"))),
                "events",
                Some(json!(all_events)),
            ),
            with(
                valid(&url),
                "config",
                Some(json!({"big": "x".repeat(16 * 1024 - 10)})),
            ),
        ];

        for body in bodies {
            let reply = send(
                app.layer(Method::POST, &hooks, &token)
                    .header("content-type", "text/plain")
                    .body(body.to_string()),
            )
            .await;
            assert_eq!(reply.status, 201, "{body}: {}", reply.text);
            assert_eq!(reply.json["status"], "unverified");
            assert_eq!(reply.json["target_url"], url);
            assert_eq!(reply.json["version"], body["version"]);
            assert!(reply.json["config"].is_object(), "{}", reply.text);
            assert_ne!(reply.json["id"], "layer:///apps/x/webhooks/y");
        }
        let bare = send(
            app.layer(Method::POST, &hooks, &token)
                .body(valid(&url).to_string()),
        )
        .await;
        assert_eq!(bare.status, 201, "without a content type: {}", bare.text);
        app.stop().await;
    }
);
