//! Operations (SPEC §9, §8 rate limits): health and readiness against a database that goes
//! away, metrics after a known sequence of deliveries, the OpenAPI document, per-app rate
//! limits, and JSON logs of the real binary.

use crate::support::app::{
    hooklayer_command, registration, send, webhook_uuid, ServeProcess, TestApp, TestAppBuilder,
    ADMIN_TOKEN, LAYER_ACCEPT,
};
use crate::support::db::{postgres_admin_url, Backend, TestDb};
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// `GET path` without any token: (status, body).
async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let resp = app.http.get(app.url(path)).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// Polls `/readyz` (bounded) until it answers `status`.
async fn wait_for_readyz(app: &TestApp, status: u16) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (got, body) = get(app, "/readyz").await;
        if got == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz stayed {got} {body}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_the_sqlite_file_is_gone_and_200_once_it_is_back() {
    let db = TestDb::sqlite();
    let app = TestAppBuilder::new().start(&db).await;
    assert_eq!(get(&app, "/healthz").await, (200, "ok".to_owned()));
    assert_eq!(get(&app, "/readyz").await.0, 200);

    // Open connections would keep using a moved file; readiness must notice it is gone.
    let path = db.sqlite_path().expect("sqlite path");
    let moved = path.with_extension("moved");
    std::fs::rename(&path, &moved).expect("move the database away");
    assert_eq!(
        get(&app, "/readyz").await,
        (503, "database unavailable".to_owned())
    );
    assert_eq!(
        get(&app, "/healthz").await.0,
        200,
        "liveness does not depend on the database"
    );

    std::fs::rename(&moved, &path).expect("put the database back");
    wait_for_readyz(&app, 200).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_once_the_postgres_database_is_dropped() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let app = TestAppBuilder::new().start(&db).await;
    assert_eq!(get(&app, "/readyz").await.0, 200);

    let name = url::Url::parse(&db.url)
        .expect("url")
        .path()
        .trim_start_matches('/')
        .to_owned();
    let mut admin = PgConnection::connect(&postgres_admin_url())
        .await
        .expect("admin connection");
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
    wait_for_readyz(&app, 503).await;
    assert_eq!(get(&app, "/healthz").await.0, 200);
    app.stop().await;
}

// ---- metrics -------------------------------------------------------------------------------

/// The value of one series (`name{labels}` exactly as exposed); 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map(|v| v.trim().parse().expect("numeric sample"))
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let resp = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    resp.text().await.expect("metrics text")
}

const COUNTED: [&str; 10] = [
    "hooklayer_events_ingested_total",
    "hooklayer_attempts_total{outcome=\"succeeded\"}",
    "hooklayer_attempts_total{outcome=\"failed\"}",
    "hooklayer_deliveries_total{outcome=\"succeeded\"}",
    "hooklayer_deliveries_total{outcome=\"failed\"}",
    "hooklayer_verifications_total{outcome=\"succeeded\"}",
    "hooklayer_verifications_total{outcome=\"failed\"}",
    "hooklayer_attempt_duration_seconds_count",
    "hooklayer_delivery_lag_seconds_count",
    "hooklayer_delivery_lag_seconds_bucket{le=\"+Inf\"}",
];

crate::both_backends!(
    metrics_move_by_the_right_amounts_after_known_deliveries,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let before = scrape(&app).await;
        let (uuid, token) = app.create_app("metrics").await;
        let hook = app
            .register(
                &uuid,
                &token,
                registration(&receiver.url("/hook"), &["message.sent"]),
            )
            .await;
        app.wait_for_status(&uuid, &token, &webhook_uuid(&hook), "active")
            .await;

        // Three events; the first POST the receiver sees fails once, then everything succeeds.
        receiver.push_once(Behavior::Status(500));
        let events: Vec<Value> = (0..3)
            .map(|i| json!({"type": "message.sent", "message": {"id": format!("m{i}")}}))
            .collect();
        let (status, body) = app.publish(&uuid, &token, &Value::Array(events)).await;
        assert_eq!(status, 202, "{body}");
        let deadline = tokio::time::Instant::now() + WAIT;
        let after = loop {
            let text = scrape(&app).await;
            let done = sample(&text, COUNTED[3]) - sample(&before, COUNTED[3]);
            if done >= 3.0 {
                break text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "deliveries never finished:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };

        let delta: Vec<f64> = COUNTED
            .iter()
            .map(|s| sample(&after, s) - sample(&before, s))
            .collect();
        assert_eq!(
            delta,
            [3.0, 3.0, 1.0, 3.0, 0.0, 1.0, 0.0, 4.0, 3.0, 3.0],
            "{COUNTED:?}\n{after}"
        );
        for (series, want) in [
            ("hooklayer_queue_depth{state=\"pending\"}", 0.0),
            ("hooklayer_queue_depth{state=\"due\"}", 0.0),
            ("hooklayer_queue_depth{state=\"failed\"}", 0.0),
            ("hooklayer_webhooks{status=\"active\"}", 1.0),
            ("hooklayer_webhooks{status=\"inactive\"}", 0.0),
        ] {
            assert_eq!(sample(&after, series), want, "{series}\n{after}");
        }
        assert!(
            after.contains("hooklayer_queue_depth{state=\"pending\"}"),
            "gauges are exposed"
        );
        assert!(
            !after.contains(&token) && !after.contains("1697f925ec7b"),
            "no token or secret in metrics"
        );
        app.stop().await;
    }
);

// ---- OpenAPI -------------------------------------------------------------------------------

/// Every (method, path) of SPEC §2, §3, §5, §7 and §9, path parameters in the SPEC's names.
const SPEC_ROUTES: [(&str, &str); 19] = [
    ("post", "/admin/apps"),
    ("get", "/admin/apps"),
    ("post", "/admin/apps/{app_uuid}/tokens"),
    ("delete", "/admin/apps/{app_uuid}"),
    ("post", "/apps/{app_uuid}/webhooks"),
    ("get", "/apps/{app_uuid}/webhooks"),
    ("get", "/apps/{app_uuid}/webhooks/{webhook_uuid}"),
    ("post", "/apps/{app_uuid}/webhooks/{webhook_uuid}/activate"),
    (
        "post",
        "/apps/{app_uuid}/webhooks/{webhook_uuid}/deactivate",
    ),
    ("delete", "/apps/{app_uuid}/webhooks/{webhook_uuid}"),
    ("post", "/apps/{app_uuid}/events"),
    ("get", "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries"),
    (
        "get",
        "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}",
    ),
    (
        "post",
        "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}/retry",
    ),
    ("post", "/apps/{app_uuid}/webhooks/{webhook_uuid}/replay"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// Every `$ref` string anywhere in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_3_1_and_lists_every_route_with_its_errors() {
    let db = TestDb::sqlite();
    let app = TestAppBuilder::new().start(&db).await;
    let (status, text) = get(&app, "/openapi.json").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).expect("the document is JSON");

    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], app.base);
    let paths = doc["paths"].as_object().expect("paths");
    let listed: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let wanted: BTreeSet<(String, String)> = SPEC_ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        listed, wanted,
        "the document lists exactly the SPEC's routes"
    );

    for (method, path) in &wanted {
        let op = &paths[path][method];
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{method} {path}: no success response"
        );
        // Path parameters are declared.
        for name in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{method} {path}: {name} is not declared");
        }
        // App and admin routes list their errors, with the Layer error body.
        if path.starts_with("/apps") || path.starts_with("/admin") {
            assert!(
                responses.contains_key("401") && responses.contains_key("500"),
                "{method} {path}"
            );
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/LayerError"
            );
        }
        if path.starts_with("/apps") {
            assert!(
                responses["429"]["headers"]["Retry-After"].is_object(),
                "{method} {path}: 429 with Retry-After"
            );
        }
    }
    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "$ref {r} does not resolve"
        );
    }
    app.stop().await;
}

// ---- rate limits ---------------------------------------------------------------------------

/// Sends `request()` until a 429 (at most 20 times); returns the statuses before it and it.
async fn until_limited(
    request: impl Fn() -> reqwest::RequestBuilder,
) -> (Vec<u16>, crate::support::app::Reply) {
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

// ---- logs ----------------------------------------------------------------------------------

const SECRET: &str = "ops-log-secret-5d1c7e0a9b";
const PAYLOAD: &str = "ops-log-payload-marker-31f7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_stable_fields_and_no_secret_or_payload() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let db = TestDb::sqlite();
    let ca_file = tempfile::NamedTempFile::new().expect("CA file");
    std::fs::write(ca_file.path(), ca.ca_pem()).expect("write CA");
    let mut cmd = hooklayer_command();
    cmd.env("HOOKLAYER_DATABASE_URL", &db.url)
        .env("HOOKLAYER_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("HOOKLAYER_TRUSTED_CA", ca_file.path())
        .env("HOOKLAYER_ALLOW_TARGETS", "127.0.0.0/8")
        .env("HOOKLAYER_RETRY_SCHEDULE", "50ms")
        .env("HOOKLAYER_LOG", "info")
        .env("HOOKLAYER_LOG_FORMAT", "json");
    let server = ServeProcess::start(cmd).await;
    let http = reqwest::Client::new();

    let created: Value = http
        .post(server.url("/admin/apps"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "logs"}))
        .send()
        .await
        .expect("create app")
        .json()
        .await
        .expect("app JSON");
    let (uuid, token) = (
        created["uuid"].as_str().expect("uuid"),
        created["token"].as_str().expect("token"),
    );
    let mut body = registration(&receiver.url("/hook"), &["message.sent"]);
    body["secret"] = json!(SECRET);
    let hooks = format!("/apps/{uuid}/webhooks");
    let auth = |m: Method, path: &str| {
        http.request(m, server.url(path))
            .bearer_auth(token)
            .header("accept", LAYER_ACCEPT)
    };
    let hook = send(auth(Method::POST, &hooks).json(&body)).await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let hook_uuid = webhook_uuid(&hook.json);
    let deadline = tokio::time::Instant::now() + WAIT;
    while send(auth(Method::GET, &format!("{hooks}/{hook_uuid}")))
        .await
        .json["status"]
        != "active"
    {
        assert!(tokio::time::Instant::now() < deadline, "never verified");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let event = json!({"type": "message.sent", "message": {"id": "m1", "text": PAYLOAD}});
    let published = send(
        http.post(server.url(&format!("/apps/{uuid}/events")))
            .bearer_auth(token)
            .json(&event),
    )
    .await;
    assert_eq!(published.status, 202, "{}", published.text);
    receiver.wait_for_requests(2, WAIT).await;
    let stopped = server.stop().await;
    assert_eq!(stopped.code, Some(0), "{}", stopped.stderr);

    let lines: Vec<Value> = stopped
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))
        })
        .collect();
    for (line, raw) in lines.iter().zip(stopped.stderr.lines()) {
        assert!(
            line["level"].is_string() && line["message"].is_string(),
            "{raw}"
        );
        for needle in [SECRET, token, ADMIN_TOKEN, PAYLOAD] {
            assert!(!raw.contains(needle), "a log line shows {needle}: {raw}");
        }
    }
    let request = lines
        .iter()
        .find(|l| {
            l["message"] == "request finished" && l["span"]["http.route"] == "/apps/{app}/events"
        })
        .unwrap_or_else(|| panic!("no request line for the publish:\n{}", stopped.stderr));
    assert_eq!(request["span"]["name"], "http.request");
    assert_eq!(request["span"]["http.method"], "POST");
    assert_eq!(request["span"]["app.id"], uuid);
    assert_eq!(request["http.status"], 202);
    assert!(request["duration_ms"].is_u64());
    let attempt = lines
        .iter()
        .find(|l| l["message"] == "delivery attempt")
        .unwrap_or_else(|| panic!("no delivery attempt line:\n{}", stopped.stderr));
    assert_eq!(attempt["span"]["name"], "delivery");
    assert_eq!(attempt["span"]["app.id"], uuid);
    assert_eq!(attempt["span"]["webhook.id"], hook_uuid.as_str());
    assert!(attempt["span"]["request.id"].is_string());
    assert_eq!(attempt["span"]["attempt"], 1);
    assert_eq!(attempt["http.status"], 204);
    assert!(attempt["duration_ms"].is_u64());
}
