//! Webhook status changes through a real server (SPEC §3, §4): `activate` is a no-op on an
//! active webhook and re-verifies any other; `deactivate` says who did it.

use crate::support::app::{object_keys, registration, send, webhook_uuid};
use crate::support::app::{started, webhook_path as path};
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

crate::both_backends!(
    activating_an_active_webhook_is_a_no_op_without_a_new_challenge,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let (app, uuid, token) = started(&ca, &db).await;
        let hook = app
            .register(
                &uuid,
                &token,
                registration(&receiver.url("/first"), &["message.sent"]),
            )
            .await;
        let first = webhook_uuid(&hook);
        app.wait_for_status(&uuid, &token, &first, "active").await;

        let reply = send(app.layer(Method::POST, &path(&uuid, &first, "/activate"), &token)).await;

        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json["status"], "active");
        assert!(reply.json.get("status_reason").is_none(), "{}", reply.text);
        // A second webhook's verification is the signal that the verifier has run since: by then
        // a challenge for the first one would have been sent too.
        let second = app
            .register(
                &uuid,
                &token,
                registration(&receiver.url("/second"), &["message.sent"]),
            )
            .await;
        app.wait_for_status(&uuid, &token, &webhook_uuid(&second), "active")
            .await;
        let paths: Vec<String> = receiver
            .requests()
            .iter()
            .map(|r| r.path_and_query.split('?').next().unwrap().to_owned())
            .collect();
        assert_eq!(paths, ["/first", "/second"]);
        assert_eq!(
            app.wait_for_status(&uuid, &token, &first, "active").await["status"],
            "active"
        );
        app.stop().await;
    }
);

crate::both_backends!(
    deactivating_makes_a_webhook_inactive_deactivated_by_user,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let (app, uuid, token) = started(&ca, &db).await;
        let hook = webhook_uuid(
            &app.register(
                &uuid,
                &token,
                registration(&receiver.url("/hook"), &["message.sent"]),
            )
            .await,
        );
        app.wait_for_status(&uuid, &token, &hook, "active").await;

        let reply = send(app.layer(Method::POST, &path(&uuid, &hook, "/deactivate"), &token)).await;

        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json["status"], "inactive");
        assert_eq!(reply.json["status_reason"], "Deactivated by User");
        let keys = object_keys(&reply.json);
        assert_eq!(
            &keys[5..],
            ["status", "status_reason", "created_at", "config"]
        );
        let fetched = send(app.layer(Method::GET, &path(&uuid, &hook, ""), &token)).await;
        assert_eq!(
            (&fetched.json["status"], &fetched.json["status_reason"]),
            (&json!("inactive"), &json!("Deactivated by User"))
        );
        app.stop().await;
    }
);

crate::both_backends!(activating_a_deactivated_webhook_verifies_it_again, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let (app, uuid, token) = started(&ca, &db).await;
    let hook = webhook_uuid(
        &app.register(
            &uuid,
            &token,
            registration(&receiver.url("/hook"), &["message.sent"]),
        )
        .await,
    );
    app.wait_for_status(&uuid, &token, &hook, "active").await;
    send(app.layer(Method::POST, &path(&uuid, &hook, "/deactivate"), &token)).await;

    let reply = send(app.layer(Method::POST, &path(&uuid, &hook, "/activate"), &token)).await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["status"], "unverified");
    assert!(reply.json.get("status_reason").is_none(), "{}", reply.text);
    let requests = receiver.wait_for_requests(2, WAIT).await;
    assert!(requests[1].query_param("verification_challenge").is_some());
    let active = app.wait_for_status(&uuid, &token, &hook, "active").await;
    assert!(active.get("status_reason").is_none(), "{active}");
    app.stop().await;
});

crate::both_backends!(
    activating_a_webhook_that_failed_verification_verifies_it_again,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        receiver.push_once(Behavior::Status(404));
        let (app, uuid, token) = started(&ca, &db).await;
        let hook = webhook_uuid(
            &app.register(
                &uuid,
                &token,
                registration(&receiver.url("/hook"), &["message.sent"]),
            )
            .await,
        );
        let failed = app.wait_for_status(&uuid, &token, &hook, "inactive").await;
        let reason = failed["status_reason"].as_str().expect("a reason");
        assert!(
            reason.starts_with("Verification failed") && reason.contains("404"),
            "{reason}"
        );

        let reply = send(app.layer(Method::POST, &path(&uuid, &hook, "/activate"), &token)).await;

        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json["status"], "unverified");
        assert!(reply.json.get("status_reason").is_none(), "{}", reply.text);
        app.wait_for_status(&uuid, &token, &hook, "active").await;
        assert_eq!(receiver.requests().len(), 2);
        app.stop().await;
    }
);
