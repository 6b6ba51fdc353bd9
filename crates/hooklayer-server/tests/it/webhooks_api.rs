//! The Layer webhooks management API through a real server (SPEC §3): the seed's registration
//! example, list, get, delete, the per-app limit, and a restart. Status changes (activate,
//! deactivate) are in `webhook_status`.

use crate::support::app::{object_keys, registration, send, webhook_uuid, TestAppBuilder};
use crate::support::app::{started, webhook_path as path};
use crate::support::db::TestDb;
use crate::support::receiver::{TestCa, TestReceiver};
use reqwest::Method;
use serde_json::{json, Value};

const SECRET: &str = "1697f925ec7b1697f925ec7b";

/// The seed's example request, with its trailing comma removed and the target moved to
/// `target_url` (a local receiver: tests never reach the internet).
fn seed_body(target_url: &str) -> Value {
    json!({
        "version": "2.0",
        "target_url": target_url,
        "events": ["conversation.created", "message.sent"],
        "secret": SECRET,
        "config": {"key1": "value1", "key2": "value2"}
    })
}

crate::both_backends!(
    the_seed_example_registers_an_unverified_webhook_in_the_seed_shape,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new()
            .trust(&ca)
            .set("public_url", "https://hooks.example.com/")
            .start(&db)
            .await;
        let (uuid, token) = app.create_app("demo").await;
        let target = receiver.url("/my-webhook-endpoint");

        let reply = send(
            app.layer(Method::POST, &format!("/apps/{uuid}/webhooks"), &token)
                .json(&seed_body(&target)),
        )
        .await;

        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(
            reply.header("content-type"),
            "application/json; charset=utf-8"
        );
        let hook = &reply.json;
        assert_eq!(
            object_keys(hook),
            [
                "id",
                "url",
                "version",
                "target_url",
                "events",
                "status",
                "created_at",
                "config"
            ]
        );
        let id = hook["id"].as_str().unwrap();
        let webhook = id
            .strip_prefix(&format!("layer:///apps/{uuid}/webhooks/"))
            .expect("id format");
        uuid::Uuid::parse_str(webhook).expect("webhook uuid");
        assert_eq!(
            hook["url"],
            format!("https://hooks.example.com/apps/{uuid}/webhooks/{webhook}")
        );
        assert_eq!(hook["version"], "2.0");
        assert_eq!(hook["target_url"], target);
        assert_eq!(
            hook["events"],
            json!(["conversation.created", "message.sent"])
        );
        assert_eq!(hook["status"], "unverified");
        let created_at = hook["created_at"].as_str().unwrap();
        assert_eq!(
            (created_at.len(), &created_at[19..20], &created_at[23..]),
            (24, ".", "Z"),
            "{created_at}"
        );
        chrono::DateTime::parse_from_rfc3339(created_at).expect("RFC 3339");
        assert_eq!(object_keys(&hook["config"]), ["key1", "key2"]);
        assert_eq!(hook["config"], json!({"key1": "value1", "key2": "value2"}));
        assert!(
            !reply.text.contains("secret") && !reply.text.contains(SECRET),
            "{}",
            reply.text
        );
        app.wait_for_status(&uuid, &token, webhook, "active").await;
        app.stop().await;
    }
);

crate::both_backends!(
    webhooks_are_listed_oldest_first_and_fetched_one_by_one,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let (app, uuid, token) = started(&ca, &db).await;
        let mut created = Vec::new();
        for n in 0..3 {
            created.push(
                app.register(
                    &uuid,
                    &token,
                    registration(&receiver.url(&format!("/hook{n}")), &["message.sent"]),
                )
                .await,
            );
        }

        let list = send(app.layer(Method::GET, &format!("/apps/{uuid}/webhooks"), &token)).await;
        let one = send(app.layer(
            Method::GET,
            &path(&uuid, &webhook_uuid(&created[1]), ""),
            &token,
        ))
        .await;

        assert_eq!(list.status, 200, "{}", list.text);
        assert_eq!(
            list.header("content-type"),
            "application/json; charset=utf-8"
        );
        let ids: Vec<&Value> = list
            .json
            .as_array()
            .expect("array")
            .iter()
            .map(|w| &w["id"])
            .collect();
        assert_eq!(ids, created.iter().map(|w| &w["id"]).collect::<Vec<_>>());
        assert_eq!(one.status, 200, "{}", one.text);
        for key in [
            "id",
            "url",
            "version",
            "target_url",
            "events",
            "created_at",
            "config",
        ] {
            assert_eq!(one.json[key], created[1][key], "{key}");
        }
        assert!(!list.text.contains("secret") && !one.text.contains("secret"));
        app.stop().await;
    }
);

crate::both_backends!(a_deleted_webhook_is_gone_from_get_and_list, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let (app, uuid, token) = started(&ca, &db).await;
    let kept = app
        .register(
            &uuid,
            &token,
            registration(&receiver.url("/kept"), &["message.sent"]),
        )
        .await;
    let gone = webhook_uuid(
        &app.register(
            &uuid,
            &token,
            registration(&receiver.url("/gone"), &["message.sent"]),
        )
        .await,
    );

    let reply = send(app.layer(Method::DELETE, &path(&uuid, &gone, ""), &token)).await;

    assert_eq!(reply.status, 204);
    assert_eq!(reply.text, "");
    send(app.layer(Method::GET, &path(&uuid, &gone, ""), &token))
        .await
        .assert_error(404, "not_found", 102);
    send(app.layer(Method::DELETE, &path(&uuid, &gone, ""), &token))
        .await
        .assert_error(404, "not_found", 102);
    let list = send(app.layer(Method::GET, &format!("/apps/{uuid}/webhooks"), &token)).await;
    let ids: Vec<&Value> = list
        .json
        .as_array()
        .expect("array")
        .iter()
        .map(|w| &w["id"])
        .collect();
    assert_eq!(ids, [&kept["id"]]);
    app.stop().await;
});

crate::both_backends!(
    an_app_holds_at_most_100_webhooks_and_deleting_one_frees_a_slot,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let (app, uuid, token) = started(&ca, &db).await;
        let body = registration(&receiver.url("/hook"), &["message.sent"]);
        let mut first = None;
        for _ in 0..100 {
            let hook = app.register(&uuid, &token, body.clone()).await;
            first.get_or_insert(webhook_uuid(&hook));
        }
        let register = || {
            app.layer(Method::POST, &format!("/apps/{uuid}/webhooks"), &token)
                .json(&body)
        };

        let over = send(register()).await;
        over.assert_error(422, "invalid_operation", 9);
        let deleted = send(app.layer(
            Method::DELETE,
            &path(&uuid, first.as_deref().unwrap(), ""),
            &token,
        ))
        .await;
        let again = send(register()).await;

        assert_eq!(deleted.status, 204);
        assert_eq!(again.status, 201, "{}", again.text);
        send(register())
            .await
            .assert_error(422, "invalid_operation", 9);
        app.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_and_webhooks_survive_a_restart_on_the_same_sqlite_file() {
    let db = TestDb::sqlite();
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let (app, uuid, token) = started(&ca, &db).await;
    let hook = app
        .register(
            &uuid,
            &token,
            registration(&receiver.url("/hook"), &["message.read"]),
        )
        .await;
    let active = app
        .wait_for_status(&uuid, &token, &webhook_uuid(&hook), "active")
        .await;

    let app = app.restart().await;

    let list = send(app.layer(Method::GET, &format!("/apps/{uuid}/webhooks"), &token)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let restored = &list.json[0];
    for key in [
        "id",
        "version",
        "target_url",
        "events",
        "status",
        "created_at",
        "config",
    ] {
        assert_eq!(restored[key], active[key], "{key}");
    }
    let apps = send(app.admin(Method::GET, "/admin/apps")).await;
    assert_eq!(apps.json[0]["uuid"], uuid);
    app.stop().await;
}
