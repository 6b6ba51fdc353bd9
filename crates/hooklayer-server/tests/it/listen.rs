//! Listener streams (SPEC §14) through the real server and the real `hooklayer listen`: the
//! secret line, one line per matching event, forwarding with the exact bytes and headers,
//! the stream limit, streams being neither webhooks nor deliveries, and streams closing when
//! their app is deleted or the server stops.

use crate::support::app::{send, TestApp, TestAppBuilder, ADMIN_TOKEN};
use crate::support::db::TestDb;
use crate::support::listener::{ForwardSink, ListenProcess};
use hooklayer_verify::{Scheme, Verifier};
use serde_json::{json, Value};
use std::time::Duration;

/// The nine delivery headers of SPEC §6.
const DELIVERY_HEADERS: [&str; 9] = [
    "content-type",
    "user-agent",
    "layer-webhook-event-type",
    "layer-webhook-id",
    "layer-webhook-request-id",
    "layer-webhook-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

fn message(kind: &str, text: &str) -> Value {
    json!({"type": kind, "message": {"id": "m-1", "parts": [{"body": text}], "n": 1.0}})
}

async fn server() -> (TestApp, TestDb, String, String) {
    let db = TestDb::sqlite();
    let app = TestAppBuilder::new().start(&db).await;
    let (uuid, token) = app.create_app("listen").await;
    (app, db, uuid, token)
}

fn stream_request(app: &TestApp, uuid: &str, token: &str, query: &str) -> reqwest::RequestBuilder {
    app.http
        .get(app.url(&format!("/apps/{uuid}/listen{query}")))
        .bearer_auth(token)
        .header("accept", "text/event-stream")
}

#[tokio::test]
async fn listen_prints_the_secret_then_one_line_per_matching_event_and_forwards_it_exactly() {
    let (app, _db, uuid, token) = server().await;
    let mut sink = ForwardSink::start().await;
    let mut listen = ListenProcess::start(
        &app.base,
        &uuid,
        &token,
        &["--events", "message.sent", "--forward-to", &sink.url],
    );
    let secret = listen.secret().await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    // Not subscribed: published first, so it would be printed first if it were sent.
    assert_eq!(
        app.publish(&uuid, &token, &message("message.read", "x"))
            .await
            .0,
        202
    );
    let (status, accepted) = app
        .publish(&uuid, &token, &message("message.sent", "héllo / ✓"))
        .await;
    assert_eq!(status, 202);
    assert_eq!(accepted["deliveries"], 0, "a stream is not a webhook");

    let line = listen.next_line().await;
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words.len(), 3, "{line}");
    assert_eq!(words[1], "message.sent", "{line}");
    let forwarded = sink.next().await;
    assert_eq!(
        forwarded.headers.get("layer-webhook-request-id").unwrap(),
        words[2]
    );
    let outcome = listen.next_line().await;
    assert!(outcome.starts_with("  -> 200 OK in "), "{outcome}");

    for name in DELIVERY_HEADERS {
        assert!(forwarded.headers.contains_key(name), "missing {name}");
    }
    let body = std::str::from_utf8(&forwarded.body).unwrap();
    assert!(body.starts_with(r#"{"event":{"created_at":"#), "{body}");
    assert!(body.contains(r#""message":{"id":"m-1","parts":[{"body":"héllo / ✓"}],"n":1.0}"#));
    assert!(body.contains(&format!(r#""id":"{}""#, accepted["id"].as_str().unwrap())));
    let verified = Verifier::new(&secret)
        .verify(&forwarded.headers, &forwarded.body)
        .expect("signed with the printed secret");
    assert_eq!(verified.schemes(), vec![Scheme::Layer, Scheme::Standard]);
    app.stop().await;
    listen.assert_closed_by_server().await;
}

#[tokio::test]
async fn the_eleventh_stream_of_an_app_is_refused_and_streams_are_neither_webhooks_nor_deliveries()
{
    let (app, _db, uuid, token) = server().await;
    let mut open = Vec::new();
    for _ in 0..10 {
        let response = stream_request(&app, &uuid, &token, "")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        open.push(response);
    }

    let reply = send(stream_request(&app, &uuid, &token, "")).await;
    reply.assert_error(429, "rate_limit_exceeded", 7);
    // Another app is not affected.
    let (other, other_token) = app.create_app("other").await;
    let response = stream_request(&app, &other, &other_token, "")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let (_, accepted) = app
        .publish(&uuid, &token, &message("message.sent", "x"))
        .await;
    assert_eq!(accepted["deliveries"], 0);
    let hooks = send(app.layer(
        reqwest::Method::GET,
        &format!("/apps/{uuid}/webhooks"),
        &token,
    ))
    .await;
    assert_eq!(hooks.json, json!([]));
    let depth = app
        .state
        .store
        .queue_depth(hooklayer_core::time::Timestamp::now())
        .await;
    assert_eq!(depth.unwrap(), hooklayer_store::QueueDepth::default());
    app.stop().await;
}

#[tokio::test]
async fn the_first_event_carries_the_secret_and_deliveries_follow_as_json() {
    let (app, _db, uuid, token) = server().await;
    let mut stream = stream_request(&app, &uuid, &token, "?events=message.read,message.sent")
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    while !text.contains("\n\n") {
        text.push_str(&String::from_utf8_lossy(&next_chunk(&mut stream).await));
    }
    assert!(
        text.starts_with("event: secret\ndata: {\"secret\":\"whsec_"),
        "{text}"
    );

    let (status, _) = app
        .publish(
            &uuid,
            &token,
            &json!([message("message.read", "a"), message("message.sent", "b")]),
        )
        .await;
    assert_eq!(status, 202);
    let mut frames = String::new();
    while frames.matches("\n\n").count() < 2 {
        frames.push_str(&String::from_utf8_lossy(&next_chunk(&mut stream).await));
    }
    let data: Vec<Value> = frames
        .split("\n\n")
        .filter_map(|block| block.strip_prefix("event: delivery\ndata: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let types: Vec<&str> = data
        .iter()
        .map(|d| d["headers"]["layer-webhook-event-type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["message.read", "message.sent"]);
    let keys: Vec<&str> = data[0]["headers"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, DELIVERY_HEADERS);
    assert!(data[0]["body"].as_str().unwrap().contains(r#""body":"a""#));
    app.stop().await;
}

async fn next_chunk(stream: &mut reqwest::Response) -> bytes::Bytes {
    tokio::time::timeout(Duration::from_secs(20), stream.chunk())
        .await
        .expect("the stream sent more in time")
        .expect("stream readable")
        .expect("stream still open")
}

#[tokio::test]
async fn deleting_the_app_closes_its_streams() {
    let (app, _db, uuid, token) = server().await;
    let mut listen = ListenProcess::start(&app.base, &uuid, &token, &[]);
    listen.secret().await;

    let deleted = app
        .http
        .delete(app.url(&format!("/admin/apps/{uuid}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    listen.assert_closed_by_server().await;
    app.stop().await;
}

#[tokio::test]
async fn an_open_stream_does_not_hold_the_server_at_shutdown() {
    let (app, _db, uuid, token) = server().await;
    let mut stream = stream_request(&app, &uuid, &token, "")
        .send()
        .await
        .unwrap();
    next_chunk(&mut stream).await;

    // Far below the 10 s bound of SPEC §9: the stream ends at once instead of lingering.
    tokio::time::timeout(Duration::from_secs(5), app.stop())
        .await
        .expect("stopped without waiting for the stream");
    let end = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await;
    assert!(matches!(end, Ok(Ok(None)) | Ok(Err(_))), "the stream ended");
}

#[tokio::test]
async fn bad_stream_requests_get_layer_errors() {
    let (app, _db, uuid, token) = server().await;
    let no_accept = app
        .http
        .get(app.url(&format!("/apps/{uuid}/listen")))
        .bearer_auth(&token);
    send(no_accept)
        .await
        .assert_error(406, "invalid_header", 107);
    send(stream_request(
        &app,
        &uuid,
        &token,
        "?events=message.sent,bogus",
    ))
    .await
    .assert_property("invalid_property", "events");
    send(stream_request(&app, &uuid, "wrong-token", ""))
        .await
        .assert_error(401, "authentication_required", 4);
    let other = uuid::Uuid::new_v4().to_string();
    send(stream_request(&app, &other, &token, ""))
        .await
        .assert_error(403, "invalid_app_id", 2);
    let listen = ListenProcess::start(&app.base, &uuid, "wrong-token", &[]);
    let (code, stderr) = listen.exit().await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("401"), "{stderr}");
    app.stop().await;
}
