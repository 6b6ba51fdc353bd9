//! `/openapi.json` says exactly what the server enforces, so that generated clients and API
//! fuzzers (`.ci/schemathesis` runs one) agree with the server: typed parameters, the event
//! and registration rules as schema keywords, every error each route can answer, unique
//! operation ids, and a `Location` on a created webhook. Where a rule is checked here, the
//! server is asked too.

use super::get;
use crate::support::app::{registration, send, TestApp, TestAppBuilder};
use crate::support::db::TestDb;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn document(app: &TestApp) -> Value {
    let (status, text) = get(app, "/openapi.json").await;
    assert_eq!(status, 200);
    serde_json::from_str(&text).expect("the document is JSON")
}

/// The parameter `name` of an operation.
fn parameter<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_every_rule_the_server_enforces() {
    let db = TestDb::sqlite();
    let app = TestAppBuilder::new().start(&db).await;
    let doc = document(&app).await;
    let paths = &doc["paths"];
    let schemas = &doc["components"]["schemas"];

    // Operation ids are unique (OpenAPI requires it).
    let ids: Vec<&str> = paths
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| item.as_object().expect("path item").values())
        .map(|op| op["operationId"].as_str().expect("operationId"))
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");

    // `Accept` lists the values the server takes.
    let hook = &paths["/apps/{app_uuid}/webhooks/{webhook_uuid}"]["get"];
    assert_eq!(
        parameter(hook, "Accept")["schema"]["enum"],
        json!([
            "application/vnd.layer.webhooks+json; version=1.0",
            "application/vnd.layer.webhooks+json; version=2.0"
        ])
    );
    let log = &paths["/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries"]["get"];
    assert_eq!(
        parameter(log, "Accept")["schema"]["enum"][2],
        "application/json"
    );

    // The delivery log's query is typed.
    assert_eq!(
        parameter(log, "status")["schema"]["enum"],
        json!(["pending", "succeeded", "failed"])
    );
    let limit = &parameter(log, "limit")["schema"];
    assert_eq!(
        (&limit["type"], &limit["minimum"], &limit["maximum"]),
        (&json!("integer"), &json!(1), &json!(250))
    );
    assert!(parameter(log, "cursor")["schema"]["pattern"].is_string());

    // An event: a message or conversation event with its entity object and the entity's id;
    // a batch of 1 to 1000.
    let event = &schemas["NewEvent"]["oneOf"];
    assert_eq!(event[0]["required"], json!(["type", "message"]));
    assert_eq!(event[1]["required"], json!(["type", "conversation"]));
    assert_eq!(event[0]["properties"]["message"]["required"], json!(["id"]));
    let batch = &schemas["Publish"]["oneOf"][1];
    assert_eq!(
        (&batch["minItems"], &batch["maxItems"]),
        (&json!(1), &json!(1000))
    );

    // Registration and app names.
    let reg = &schemas["Registration"]["properties"];
    assert_eq!(reg["events"]["uniqueItems"], true);
    assert!(reg["target_url"]["pattern"]
        .as_str()
        .is_some_and(|p| p.starts_with("^https://")));
    assert!(reg["secret"]["pattern"].is_string());
    assert!(schemas["NewApp"]["properties"]["name"]["pattern"].is_string());

    // Retry reads (and limits) a body: 400 and 413 are among its answers.
    let retry = &paths["/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}/retry"]
        ["post"]["responses"];
    assert!(
        retry["400"].is_object() && retry["413"].is_object(),
        "{retry}"
    );

    // A created webhook is followed by its Location.
    let created = &paths["/apps/{app_uuid}/webhooks"]["post"]["responses"]["201"];
    assert!(created["headers"]["Location"].is_object(), "{created}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_agrees_with_the_document_where_it_was_looser() {
    let db = TestDb::sqlite();
    let app = TestAppBuilder::new().start(&db).await;
    let (uuid, token) = app.create_app("exact").await;
    let hooks = format!("/apps/{uuid}/webhooks");

    // A created webhook answers with its Location: the webhook's own URL.
    let created = send(app.layer(Method::POST, &hooks, &token).json(&registration(
        "https://hooks.example.com/in",
        &["message.sent"],
    )))
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.header("location"),
        created.json["url"].as_str().unwrap()
    );

    // A host that is not a DNS name is refused (the URL standard lets `*` through).
    let odd = send(app.layer(Method::POST, &hooks, &token).json(&registration(
        "https://a*b.example.com/in",
        &["message.sent"],
    )))
    .await;
    odd.assert_property("invalid_property", "target_url");

    // A cursor is exactly what the API hands out: no sign, no leading zero, lowercase id.
    let id = created.json["id"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let log = format!("{hooks}/{id}/deliveries");
    let request = "0b5f3c1e-4a8d-4f6e-9c2b-7d1e8f9a0b1c";
    for (cursor, status) in [
        (format!("1764662400000_{request}"), 200),
        (format!("+1764662400000_{request}"), 422),
        (format!("01764662400000_{request}"), 422),
        (format!("1764662400000_{}", request.to_uppercase()), 422),
    ] {
        let reply = send(app.layer(
            Method::GET,
            &format!("{log}?cursor={}", urlencode(&cursor)),
            &token,
        ))
        .await;
        assert_eq!(reply.status, status, "{cursor}: {}", reply.text);
    }
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
