//! The admin API (SPEC §2): apps and tokens under the admin bearer token, and what deleting an
//! app takes with it.

use crate::support::app::{
    object_keys, registration, send, webhook_uuid, TestApp, TestAppBuilder, ADMIN_TOKEN,
};
use crate::support::db::TestDb;
use crate::support::receiver::{TestCa, TestReceiver};
use hooklayer_core::ids::AppId;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

async fn create(app: &TestApp, body: Value) -> crate::support::app::Reply {
    send(app.admin(Method::POST, "/admin/apps").json(&body)).await
}

/// Whether `token` opens the app API of `uuid`.
async fn token_works(app: &TestApp, uuid: &str, token: &str) -> bool {
    send(app.layer(Method::GET, &format!("/apps/{uuid}/webhooks"), token))
        .await
        .status
        == 200
}

/// Rows in a table of the test database, whatever its backend.
async fn count_rows(db: &TestDb, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    if db.sqlite_path().is_some() {
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("sqlite");
        sqlx::query_scalar(&sql)
            .fetch_one(&mut conn)
            .await
            .expect("count")
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url)
            .await
            .expect("postgres");
        sqlx::query_scalar(&sql)
            .fetch_one(&mut conn)
            .await
            .expect("count")
    }
}

crate::both_backends!(creating_an_app_answers_201_with_its_first_token, |db| {
    let app = TestAppBuilder::new().start(&db).await;

    let reply = create(&app, json!({"name": "demo", "extra": true})).await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        "application/json; charset=utf-8"
    );
    assert_eq!(
        object_keys(&reply.json),
        ["id", "uuid", "name", "created_at", "token"]
    );
    let uuid = reply.json["uuid"].as_str().unwrap();
    uuid.parse::<AppId>().expect("a uuid");
    assert_eq!(reply.json["id"], format!("layer:///apps/{uuid}"));
    assert_eq!(reply.json["name"], "demo");
    let created_at = reply.json["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 24,
        "{created_at}"
    );
    let token = reply.json["token"].as_str().unwrap();
    assert!(
        token.len() >= 43,
        "a token of at least 32 random bytes: {token}"
    );
    assert!(token_works(&app, uuid, token).await);
    app.stop().await;
});

crate::both_backends!(app_names_must_be_strings_of_1_to_128_characters, |db| {
    let app = TestAppBuilder::new().start(&db).await;
    let cases = [
        (json!({}), "missing_property"),
        (json!({"name": null}), "missing_property"),
        (json!({"name": ""}), "invalid_property"),
        (json!({"name": "n".repeat(129)}), "invalid_property"),
        (json!({"name": 7}), "invalid_property"),
        (json!({"name": ["demo"]}), "invalid_property"),
    ];

    for (body, id) in cases {
        create(&app, body).await.assert_property(id, "name");
    }
    for name in ["x".repeat(128), "é".repeat(128)] {
        let reply = create(&app, json!({ "name": name })).await;
        assert_eq!(
            (reply.status, &reply.json["name"]),
            (201, &json!(name)),
            "{}",
            reply.text
        );
    }
    send(app.admin(Method::POST, "/admin/apps").body("{\"name\":"))
        .await
        .assert_error(400, "invalid_request", 10);
    send(app.admin(Method::POST, "/admin/apps").body("[]"))
        .await
        .assert_error(400, "invalid_request", 10);
    app.stop().await;
});

crate::both_backends!(apps_are_listed_oldest_first_without_tokens, |db| {
    let app = TestAppBuilder::new().start(&db).await;
    let mut created = Vec::new();
    for name in ["first", "second", "third"] {
        created.push(create(&app, json!({ "name": name })).await.json);
    }

    let reply = send(app.admin(Method::GET, "/admin/apps")).await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    let apps = reply.json.as_array().expect("array");
    assert_eq!(apps.len(), 3);
    for (listed, made) in apps.iter().zip(&created) {
        assert_eq!(object_keys(listed), ["id", "uuid", "name", "created_at"]);
        for key in ["id", "uuid", "name", "created_at"] {
            assert_eq!(listed[key], made[key], "{key}");
        }
        assert!(!reply.text.contains(made["token"].as_str().unwrap()));
    }
    app.stop().await;
});

crate::both_backends!(a_new_token_works_beside_the_first, |db| {
    let app = TestAppBuilder::new().start(&db).await;
    let (uuid, first) = app.create_app("demo").await;

    let reply = send(app.admin(Method::POST, &format!("/admin/apps/{uuid}/tokens"))).await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(object_keys(&reply.json), ["token"]);
    let second = reply.json["token"].as_str().unwrap();
    assert_ne!(second, first);
    assert!(token_works(&app, &uuid, second).await && token_works(&app, &uuid, &first).await);
    let unknown = send(app.admin(
        Method::POST,
        "/admin/apps/0b9c1a2e-5f4d-4c3b-8a79-6e5d4c3b2a19/tokens",
    ))
    .await;
    unknown.assert_error(404, "not_found", 102);
    send(app.admin(Method::POST, "/admin/apps/not-a-uuid/tokens"))
        .await
        .assert_error(404, "not_found", 102);
    app.stop().await;
});

crate::both_backends!(
    deleting_an_app_takes_its_tokens_webhooks_and_events_with_it,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let (kept, kept_token) = app.create_app("kept").await;
        let (doomed, token) = app.create_app("doomed").await;
        let second = send(app.admin(Method::POST, &format!("/admin/apps/{doomed}/tokens")))
            .await
            .json["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let hook = webhook_uuid(
            &app.register(
                &doomed,
                &token,
                registration(&receiver.url("/hook"), &["message.sent"]),
            )
            .await,
        );
        app.register(
            &kept,
            &kept_token,
            registration(&receiver.url("/kept"), &["message.read"]),
        )
        .await;
        app.wait_for_status(&doomed, &token, &hook, "active").await;
        let (status, _) = app
            .publish(
                &doomed,
                &token,
                &json!({"type": "message.sent", "message": {"id": "m1"}}),
            )
            .await;
        assert_eq!(status, 202);
        let delivered = receiver.wait_for_requests(3, WAIT).await;
        assert!(delivered.iter().any(|r| r.method == "POST"));
        assert_eq!(count_rows(&db, "events").await, 1);

        let reply = send(app.admin(Method::DELETE, &format!("/admin/apps/{doomed}"))).await;

        assert_eq!(reply.status, 204, "{}", reply.text);
        for t in [&token, &second] {
            let denied = send(app.layer(Method::GET, &format!("/apps/{doomed}/webhooks"), t)).await;
            denied.assert_error(401, "authentication_required", 4);
        }
        // The publish route remembers `token` from the publish above; the database refuses
        // the deleted app's event, and the route answers as for an unknown token, twice.
        for _ in 0..2 {
            let event = json!({"type": "message.sent", "message": {"id": "m2"}});
            let denied = send(
                app.layer(Method::POST, &format!("/apps/{doomed}/events"), &token)
                    .json(&event),
            )
            .await;
            denied.assert_error(401, "authentication_required", 4);
        }
        let id: AppId = doomed.parse().unwrap();
        assert!(app.state.store.list_webhooks(id).await.unwrap().is_empty());
        assert_eq!(count_rows(&db, "events").await, 0);
        assert_eq!(count_rows(&db, "deliveries").await, 0);
        assert_eq!(count_rows(&db, "webhooks").await, 1);
        let apps = send(app.admin(Method::GET, "/admin/apps")).await;
        assert_eq!(apps.json.as_array().unwrap().len(), 1);
        assert!(token_works(&app, &kept, &kept_token).await);
        send(app.admin(Method::DELETE, &format!("/admin/apps/{doomed}")))
            .await
            .assert_error(404, "not_found", 102);
        app.stop().await;
    }
);

crate::both_backends!(app_tokens_and_wrong_tokens_are_401_on_the_admin_api, |db| {
    let app = TestAppBuilder::new().start(&db).await;
    let (uuid, token) = app.create_app("demo").await;
    let routes = [
        (Method::POST, "/admin/apps".to_owned()),
        (Method::GET, "/admin/apps".to_owned()),
        (Method::POST, format!("/admin/apps/{uuid}/tokens")),
        (Method::DELETE, format!("/admin/apps/{uuid}")),
    ];

    for (method, path) in routes {
        for bearer in [
            token.as_str(),
            "wrong",
            &format!("{ADMIN_TOKEN}x"),
            &ADMIN_TOKEN[1..],
        ] {
            let reply = send(
                app.http
                    .request(method.clone(), app.url(&path))
                    .bearer_auth(bearer)
                    .json(&json!({"name": "x"})),
            )
            .await;
            reply.assert_error(401, "authentication_required", 4);
        }
        send(app.http.request(method, app.url(&path)))
            .await
            .assert_error(401, "authentication_required", 4);
    }
    assert!(token_works(&app, &uuid, &token).await, "the app survived");
    app.stop().await;
});

crate::both_backends!(without_an_admin_token_the_admin_routes_do_not_exist, |db| {
    let app = TestAppBuilder::new()
        .set("admin_token", "")
        .start(&db)
        .await;
    let uuid = "0b9c1a2e-5f4d-4c3b-8a79-6e5d4c3b2a19";
    let routes = [
        (Method::POST, "/admin/apps".to_owned()),
        (Method::GET, "/admin/apps".to_owned()),
        (Method::POST, format!("/admin/apps/{uuid}/tokens")),
        (Method::DELETE, format!("/admin/apps/{uuid}")),
    ];

    for (method, path) in routes {
        for request in [
            app.admin(method.clone(), &path),
            app.http.request(method, app.url(&path)),
        ] {
            send(request.json(&json!({"name": "x"})))
                .await
                .assert_error(404, "invalid_endpoint", 106);
        }
    }
    app.stop().await;
});
