//! JSON logs of the real binary: one object per line, the stable span fields on request and
//! attempt lines, and no secret, token or payload at `info`.

use super::WAIT;
use crate::support::app::{
    hooklayer_command, plain_http_client, registration, send, webhook_uuid, ServeProcess,
    ADMIN_TOKEN, LAYER_ACCEPT,
};
use crate::support::db::TestDb;
use crate::support::receiver::{TestCa, TestReceiver};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

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
    let http = plain_http_client();

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
