//! Per-app rate limits (SPEC §8): 429 with `Retry-After` and the Layer error body for the
//! app over its limit, on management and ingest; other apps, admin and ops routes unaffected.

use super::get;
use crate::support::app::{send, Reply, TestAppBuilder};
use crate::support::db::TestDb;
use reqwest::Method;
use serde_json::json;

/// Sends `request()` until a 429 (at most 20 times); returns the statuses before it and it.
async fn until_limited(request: impl Fn() -> reqwest::RequestBuilder) -> (Vec<u16>, Reply) {
    let mut before = Vec::new();
    for _ in 0..20 {
        let reply = send(request()).await;
        if reply.status == 429 {
            return (before, reply);
        }
        before.push(reply.status);
    }
    panic!("never rate-limited: {before:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_app_gets_429_with_retry_after_while_another_app_is_unaffected() {
    let db = TestDb::sqlite();
    let app = TestAppBuilder::new()
        .set("rate_limit", "2")
        .start(&db)
        .await;
    let (limited, limited_token) = app.create_app("limited").await;
    let (other, other_token) = app.create_app("other").await;
    let (ingest, ingest_token) = app.create_app("ingest").await;

    // 2 per second, a burst of 4: the bucket starts full.
    let hooks = format!("/apps/{limited}/webhooks");
    let (before, refused) = until_limited(|| app.layer(Method::GET, &hooks, &limited_token)).await;
    assert_eq!(before[..4], [200, 200, 200, 200], "the burst passes");
    refused.assert_error(429, "rate_limit_exceeded", 7);
    let retry_after: u64 = refused
        .header("retry-after")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");

    let reply = send(app.layer(
        Method::GET,
        &format!("/apps/{other}/webhooks"),
        &other_token,
    ))
    .await;
    assert_eq!(
        reply.status, 200,
        "another app keeps its own bucket: {}",
        reply.text
    );
    assert_eq!(
        send(app.admin(Method::GET, "/admin/apps")).await.status,
        200,
        "admin is not limited"
    );
    assert_eq!(
        get(&app, "/metrics").await.0,
        200,
        "ops routes are not limited"
    );

    // The ingest API is limited the same way.
    let event = json!({"type": "message.sent", "message": {"id": "m1"}});
    let events = format!("/apps/{ingest}/events");
    let (before, refused) = until_limited(|| {
        app.http
            .post(app.url(&events))
            .bearer_auth(&ingest_token)
            .json(&event)
    })
    .await;
    assert_eq!(before[..4], [202, 202, 202, 202]);
    refused.assert_error(429, "rate_limit_exceeded", 7);
    assert!(!refused.header("retry-after").is_empty());
    app.stop().await;
}
