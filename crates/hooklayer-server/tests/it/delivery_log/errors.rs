//! Bad requests to the delivery-log routes answer in the Layer error format, in SPEC §3's
//! order: auth → Accept → unknown webhook → unknown delivery → body size → JSON → fields →
//! webhook not active.

use super::Hook;
use crate::support::app::TestAppBuilder;
use crate::support::receiver::{TestCa, TestReceiver};
use reqwest::Method;
use serde_json::{json, Value};

/// Asserts a Layer error: status, id, and `data.property` when given.
fn assert_error(got: (u16, Value), status: u16, id: &str, property: Option<&str>) {
    let (code, body) = got;
    assert_eq!((code, body["id"].as_str()), (status, Some(id)), "{body}");
    let keys: Vec<&String> = body.as_object().expect("error object").keys().collect();
    assert_eq!(&keys[..4], ["id", "code", "message", "url"], "{body}");
    if let Some(property) = property {
        assert_eq!(body["data"]["property"], property, "{body}");
    }
}

/// A POST with a raw body.
async fn post_raw(hook: &Hook<'_>, rest: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let resp = hook
        .app
        .layer(Method::POST, &hook.path(rest), &hook.token)
        .body(body)
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

crate::both_backends!(bad_requests_answer_in_the_layer_error_format, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let app = TestAppBuilder::new().trust(&ca).start(&db).await;
    let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
    let (_, other_token) = app.create_app("other").await;
    let get = |rest: &'static str| hook.call(Method::GET, rest, None);
    let unknown = uuid::Uuid::new_v4();

    // Auth, then Accept.
    let resp = app
        .http
        .get(app.url(&hook.path("/deliveries")))
        .header("accept", "application/json")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 401);
    let resp = app
        .layer(Method::GET, &hook.path("/deliveries"), &other_token)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 403);
    let resp = app
        .http
        .get(app.url(&hook.path("/deliveries")))
        .bearer_auth(&hook.token)
        .header("accept", "text/html")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 406);
    let resp = app
        .http
        .get(app.url(&hook.path("/deliveries")))
        .bearer_auth(&hook.token)
        .header("accept", "application/json")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200, "application/json is accepted here");
    assert!(resp.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("application/json"));

    // Unknown webhook, unknown delivery.
    let path = format!("/apps/{}/webhooks/{unknown}/deliveries", hook.uuid);
    let resp = app
        .layer(Method::GET, &path, &hook.token)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 404);
    assert_error(get("/deliveries/not-a-uuid").await, 404, "not_found", None);
    assert_error(
        hook.call(Method::GET, &format!("/deliveries/{unknown}"), None)
            .await,
        404,
        "not_found",
        None,
    );
    assert_error(
        post_raw(&hook, &format!("/deliveries/{unknown}/retry"), "").await,
        404,
        "not_found",
        None,
    );

    // Query parameters.
    for (query, property) in [
        ("status=done", "status"),
        ("status=", "status"),
        ("limit=0", "limit"),
        ("limit=251", "limit"),
        ("limit=many", "limit"),
        ("cursor=nonsense", "cursor"),
        ("cursor=12_34", "cursor"),
    ] {
        let got = hook
            .call(Method::GET, &format!("/deliveries?{query}"), None)
            .await;
        assert_error(got, 422, "invalid_property", Some(property));
    }

    // The replay body: size, JSON, then fields.
    assert_error(
        post_raw(&hook, "/replay", vec![b' '; 300 * 1024]).await,
        413,
        "request_too_large",
        None,
    );
    assert_error(
        post_raw(&hook, "/replay", "{not json").await,
        400,
        "invalid_request",
        None,
    );
    assert_error(
        post_raw(&hook, "/replay", "[]").await,
        400,
        "invalid_request",
        None,
    );
    assert_error(
        post_raw(&hook, "/replay", "").await,
        422,
        "missing_property",
        Some("since"),
    );
    for (body, id, property) in [
        (json!({"since": null}), "missing_property", "since"),
        (json!({"since": "yesterday"}), "invalid_property", "since"),
        (json!({"since": 1_700_000_000}), "invalid_property", "since"),
        (json!({"since": "2026-11-30"}), "invalid_property", "since"),
        (
            json!({"since": "2026-11-30T07:00:00Z", "status": "pending"}),
            "invalid_property",
            "status",
        ),
        (
            json!({"since": "2026-11-30T07:00:00Z", "status": 1}),
            "invalid_property",
            "status",
        ),
    ] {
        assert_error(
            hook.call(Method::POST, "/replay", Some(&body)).await,
            422,
            id,
            Some(property),
        );
    }
    let (status, body) = hook
        .call(
            Method::POST,
            "/replay",
            Some(&json!({"since": "2000-01-01T00:00:00+02:00", "ignored": true})),
        )
        .await;
    assert_eq!((status, body), (202, json!({"queued": 0})));
    let resp = app
        .layer(Method::DELETE, &hook.path("/deliveries"), &hook.token)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 405);

    // On an inactive webhook: fields are still checked first, then the state.
    let (status, _) = hook.call(Method::POST, "/deactivate", None).await;
    assert_eq!(status, 200);
    assert_error(
        hook.call(Method::POST, "/replay", Some(&json!({"since": "soon"})))
            .await,
        422,
        "invalid_property",
        Some("since"),
    );
    assert_error(
        hook.call(
            Method::POST,
            "/replay",
            Some(&json!({"since": "2026-11-30T07:00:00Z"})),
        )
        .await,
        422,
        "invalid_operation",
        None,
    );
    assert_error(
        post_raw(&hook, &format!("/deliveries/{unknown}/retry"), "").await,
        404,
        "not_found",
        None,
    );
    assert_eq!(
        hook.page("").await,
        json!({"data": [], "next_cursor": null}),
        "the log stays readable"
    );
    app.stop().await;
});
