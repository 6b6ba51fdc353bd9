//! `PATCH` (SPEC §11): each key alone and all together, each validation error, `{}`, the
//! change history, and a new target verified before it gets the held deliveries.

use super::{changes, patch};
use crate::delivery::{setup, wait_posts, SECRET};
use crate::support::app::{object_keys, registration, webhook_uuid, TestAppBuilder};
use crate::support::receiver::Behavior;
use serde_json::{json, Value};
use std::time::Duration;

const LAYER_KEYS: [&str; 9] = [
    "id",
    "url",
    "version",
    "target_url",
    "events",
    "status",
    "created_at",
    "config",
    "delivery",
];

crate::both_backends!(each_key_changes_alone_and_all_together, |db| {
    let s = setup(
        &db,
        TestAppBuilder::new(),
        registration("", &["message.sent"]),
    )
    .await;
    // The Layer shape, without `delivery`, while the settings are the defaults.
    assert_eq!(object_keys(&s.hook), LAYER_KEYS[..8].to_vec());
    let cases = [
        json!({"events": ["message.read", "message.sent"]}),
        json!({"config": {"team": "blue"}}),
        json!({"secret": "a-brand-new-secret-0001"}),
        json!({"delivery": {"rate_limit": 50}}),
        json!({"target_url": s.receiver.url("/moved")}),
    ];
    for body in &cases {
        let reply = patch(&s, body).await;
        assert_eq!(reply.status, 200, "{body}: {}", reply.text);
        let (key, value) = body.as_object().unwrap().iter().next().unwrap();
        match key.as_str() {
            "secret" => assert!(!reply.text.contains("a-brand-new-secret")),
            "delivery" => assert_eq!(
                reply.json["delivery"],
                json!({"rate_limit": 50, "max_in_flight": 16, "ordered": false})
            ),
            "target_url" => assert_eq!(reply.json["status"], "unverified"),
            _ => assert_eq!(&reply.json[key], value),
        }
        assert!(reply.json.get("secret").is_none());
    }
    s.app
        .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&s.hook), "active")
        .await;

    let all = json!({
        "target_url": s.receiver.url("/again"),
        "events": ["conversation.created"],
        "secret": "another-new-secret-0002",
        "config": {},
        "delivery": {"rate_limit": null, "max_in_flight": 3, "ordered": true},
        "unknown": "ignored",
    });
    let reply = patch(&s, &all).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(object_keys(&reply.json), LAYER_KEYS.to_vec());
    assert_eq!(reply.json["target_url"], s.receiver.url("/again"));
    assert_eq!(reply.json["events"], json!(["conversation.created"]));
    assert_eq!(reply.json["config"], json!({}));
    assert_eq!(
        reply.json["delivery"],
        json!({"rate_limit": null, "max_in_flight": 3, "ordered": true})
    );
    assert_eq!(reply.json["status"], "unverified");

    // Back to the defaults: the Layer shape again.
    let reply = patch(
        &s,
        &json!({"delivery": {"max_in_flight": 16, "ordered": false}}),
    )
    .await;
    assert!(
        reply.json.get("delivery").is_some(),
        "an explicit cap is shown"
    );
    let history = changes(&s).await;
    assert_eq!(history.status, 200, "{}", history.text);
    let keys: Vec<Value> = history.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["keys"].clone())
        .collect();
    assert_eq!(
        keys,
        vec![
            json!(["delivery"]),
            json!(["target_url", "events", "secret", "config", "delivery"]),
            json!(["target_url"]),
            json!(["delivery"]),
            json!(["secret"]),
            json!(["config"]),
            json!(["events"]),
        ]
    );
    assert!(history.json["data"][0]["at"]
        .as_str()
        .is_some_and(|at| at.ends_with('Z')));
    assert!(!history.text.contains("secret-000"), "no secret values");
});

crate::both_backends!(an_empty_change_changes_nothing, |db| {
    let s = setup(
        &db,
        TestAppBuilder::new(),
        registration("", &["message.sent"]),
    )
    .await;
    for body in [json!({}), json!({"version": "1.0", "status": "inactive"})] {
        let reply = patch(&s, &body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json, s.hook_now().await);
        assert_eq!(reply.json["status"], "active");
        assert_eq!(reply.json["version"], "2.0");
    }
    // The same value again is no change either.
    let reply = patch(&s, &json!({"events": ["message.sent"], "secret": SECRET})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(changes(&s).await.json, json!({"data": []}));
});

crate::both_backends!(each_bad_value_is_the_registration_error, |db| {
    let s = setup(
        &db,
        TestAppBuilder::new(),
        registration("", &["message.sent"]),
    )
    .await;
    let before = s.hook_now().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"target_url": null}), "target_url"),
        (
            json!({"target_url": "http://example.com/hook"}),
            "target_url",
        ),
        (json!({"target_url": "https://10.0.0.1/hook"}), "target_url"),
        (json!({"target_url": 7}), "target_url"),
        (json!({"events": null}), "events"),
        (json!({"events": []}), "events"),
        (
            json!({"events": ["message.sent", "message.sent"]}),
            "events",
        ),
        (json!({"events": ["user.created"]}), "events"),
        (json!({"secret": null}), "secret"),
        (json!({"secret": ""}), "secret"),
        (json!({"config": null}), "config"),
        (json!({"config": [1]}), "config"),
        (json!({"delivery": null}), "delivery"),
        (json!({"delivery": 5}), "delivery"),
        (
            json!({"delivery": {"rate_limit": 0}}),
            "delivery.rate_limit",
        ),
        (
            json!({"delivery": {"rate_limit": 100001}}),
            "delivery.rate_limit",
        ),
        (
            json!({"delivery": {"rate_limit": "5"}}),
            "delivery.rate_limit",
        ),
        (
            json!({"delivery": {"max_in_flight": 0}}),
            "delivery.max_in_flight",
        ),
        (
            json!({"delivery": {"max_in_flight": 257}}),
            "delivery.max_in_flight",
        ),
        (
            json!({"delivery": {"max_in_flight": null}}),
            "delivery.max_in_flight",
        ),
        (json!({"delivery": {"ordered": "yes"}}), "delivery.ordered"),
        (json!({"delivery": {"burst": 10}}), "delivery.burst"),
        // Checked in order: the first bad key answers.
        (
            json!({"config": 1, "events": [], "target_url": 7}),
            "target_url",
        ),
        (json!({"delivery": [], "secret": ""}), "secret"),
    ];
    for (body, property) in cases {
        let reply = patch(&s, &body).await;
        reply.assert_property("invalid_property", property);
    }
    // Registration takes the same `delivery` checks.
    let mut reg = registration(&s.receiver.url("/other"), &["message.sent"]);
    reg["delivery"] = json!({"ordered": 1});
    let path = format!("/apps/{}/webhooks", s.uuid);
    let reply = crate::support::app::send(
        s.app
            .layer(reqwest::Method::POST, &path, &s.token)
            .json(&reg),
    )
    .await;
    reply.assert_property("invalid_property", "delivery.ordered");
    // Nothing of the refused changes stuck.
    assert_eq!(s.hook_now().await, before);
    assert_eq!(changes(&s).await.json, json!({"data": []}));
});

crate::both_backends!(
    a_new_target_is_verified_then_gets_the_held_deliveries,
    |db| {
        // Slow retries: the deliveries wait, pending, while the target changes.
        let s = setup(
            &db,
            TestAppBuilder::new().set("retry_schedule", "2s,2s,2s"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver.set_default(Behavior::Status(500));
        for i in 0..3 {
            s.publish_message(&format!("m{i}")).await;
        }
        let failed = wait_posts(&s.receiver, 3).await;
        let mut original: Vec<String> = failed
            .iter()
            .map(|r| r.header("layer-webhook-request-id").unwrap().to_owned())
            .collect();
        original.sort();
        s.receiver.set_default(Behavior::EchoChallenge);

        let reply = patch(&s, &json!({"target_url": s.receiver.url("/new")})).await;
        assert_eq!(reply.json["status"], "unverified");
        let all = s
            .receiver
            .wait_for_requests(1 + 3 + 1 + 3, Duration::from_secs(10))
            .await;
        let after: Vec<_> = all[4..].iter().collect();
        assert_eq!(after[0].method, "GET", "verification comes first");
        assert!(after[0]
            .path_and_query
            .starts_with("/new?verification_challenge="));
        let mut resent: Vec<String> = after[1..]
            .iter()
            .map(|r| {
                assert_eq!(
                    (r.method.as_str(), r.path_and_query.as_str()),
                    ("POST", "/new")
                );
                r.header("layer-webhook-request-id").unwrap().to_owned()
            })
            .collect();
        resent.sort();
        assert_eq!(resent, original, "the original request-ids");
        assert!(
            all.iter()
                .filter(|r| r.path_and_query.starts_with("/hook"))
                .count()
                == 4
        );
        let hook = s.hook_now().await;
        assert_eq!(hook["status"], "active");
        for id in &original {
            let d = crate::delivery::wait_for_delivery_status(&s, id, "succeeded").await;
            assert_eq!(
                d.attempts.len(),
                2,
                "the budget went on: one failure, one success"
            );
        }
    }
);
