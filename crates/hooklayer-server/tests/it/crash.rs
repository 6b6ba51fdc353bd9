//! Crash safety through the real binary: `kill -9` mid-delivery and SIGTERM during delivery.
//! Every published event must arrive at least once after a restart on the same database.

use crate::support::app::{
    plain_http_client, registration, webhook_uuid, ADMIN_TOKEN, LAYER_ACCEPT,
};
use crate::support::process::ServerProcess;
use crate::support::receiver::{Behavior, RecordedRequest, TestCa, TestReceiver};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

struct Env {
    dir: tempfile::TempDir,
    ca: TestCa,
    receiver: TestReceiver,
    vars: Vec<(&'static str, String)>,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.ca_pem()).unwrap();
    let receiver = TestReceiver::start(&ca).await;
    let vars = vec![
        (
            "HOOKLAYER_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("h.db").display()),
        ),
        ("HOOKLAYER_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("HOOKLAYER_TRUSTED_CA", ca_path.display().to_string()),
        ("HOOKLAYER_ALLOW_TARGETS", "127.0.0.0/8".to_owned()),
        // Generous timeout and retries: a loaded CI machine must not exhaust the webhook.
        ("HOOKLAYER_DELIVERY_TIMEOUT", "2s".to_owned()),
        (
            "HOOKLAYER_RETRY_SCHEDULE",
            "100ms,200ms,400ms,800ms,1s,1s,1s,1s".to_owned(),
        ),
        // Short leases so the claims of the killed process come back quickly.
        ("HOOKLAYER_LEASE", "4s".to_owned()),
        ("HOOKLAYER_RATE_LIMIT", "0".to_owned()),
        ("HOOKLAYER_LOG", "warn".to_owned()),
    ];
    Env {
        dir,
        ca,
        receiver,
        vars,
    }
}

/// Creates an app and an active webhook through the API; returns (app uuid, token).
async fn prepare(server: &ServerProcess, receiver: &TestReceiver) -> (String, String) {
    let http = plain_http_client();
    let app: Value = http
        .post(format!("{}/admin/apps", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "crash"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (uuid, token) = (
        app["uuid"].as_str().unwrap().to_owned(),
        app["token"].as_str().unwrap().to_owned(),
    );
    let hook: Value = http
        .post(format!("{}/apps/{uuid}/webhooks", server.base))
        .bearer_auth(&token)
        .header("accept", LAYER_ACCEPT)
        .json(&registration(&receiver.url("/hook"), &["message.sent"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!(
        "{}/apps/{uuid}/webhooks/{}",
        server.base,
        webhook_uuid(&hook)
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let w: Value = http
            .get(&path)
            .bearer_auth(&token)
            .header("accept", LAYER_ACCEPT)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if w["status"] == "active" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhook not verified: {w}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (uuid, token)
}

/// Publishes `n` events in batches of 100; returns their ids.
async fn publish(base: &str, uuid: &str, token: &str, n: usize) -> Vec<String> {
    let http = plain_http_client();
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for chunk in ids.chunks(100) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"type": "message.sent", "message": {"id": "m"}, "id": id}))
            .collect();
        let resp = http
            .post(format!("{base}/apps/{uuid}/events"))
            .bearer_auth(token)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
    }
    ids
}

/// Event id → number of arrivals.
fn arrivals(requests: &[RecordedRequest]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for r in requests.iter().filter(|r| r.method == "POST") {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        *seen
            .entry(body["event"]["id"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    seen
}

/// Waits (bounded) until every id has arrived; returns the number of duplicate arrivals.
async fn wait_all_arrived(receiver: &TestReceiver, ids: &[String], within: Duration) -> usize {
    let want: HashSet<&String> = ids.iter().collect();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let seen = arrivals(&receiver.requests());
        let missing = want.iter().filter(|id| !seen.contains_key(**id)).count();
        if missing == 0 {
            return seen.values().map(|n| n - 1).sum();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} of {} events never arrived",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn log(dir: &Path) -> std::path::PathBuf {
    dir.join("hooklayer.log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_after_kill_9_mid_delivery() {
    let e = env().await;
    let first = ServerProcess::start(&e.vars, &log(e.dir.path())).await;
    let (uuid, token) = prepare(&first, &e.receiver).await;
    // A slow receiver keeps many attempts in flight when the process dies.
    e.receiver
        .set_default(Behavior::Sleep(Duration::from_millis(20)));
    let ids = publish(&first.base, &uuid, &token, 2000).await;
    e.receiver
        .wait_for_requests(300, Duration::from_secs(30))
        .await;
    first.kill9().await;
    let before_restart = arrivals(&e.receiver.requests()).len();

    e.receiver.set_default(Behavior::EchoChallenge);
    let second = ServerProcess::start(&e.vars, &log(e.dir.path())).await;
    let duplicates = wait_all_arrived(&e.receiver, &ids, Duration::from_secs(90)).await;
    eprintln!("kill -9: {before_restart} of 2000 events had arrived before the kill; after restart all arrived, {duplicates} duplicate deliveries");
    second.sigterm(Duration::from_secs(15)).await;
    drop(e.ca);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_delivery_exits_zero_and_loses_nothing() {
    let e = env().await;
    let first = ServerProcess::start(&e.vars, &log(e.dir.path())).await;
    let (uuid, token) = prepare(&first, &e.receiver).await;
    e.receiver
        .set_default(Behavior::Sleep(Duration::from_millis(300)));
    let ids = publish(&first.base, &uuid, &token, 300).await;
    e.receiver
        .wait_for_requests(20, Duration::from_secs(30))
        .await;
    let status = first.sigterm(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");

    e.receiver.set_default(Behavior::EchoChallenge);
    let second = ServerProcess::start(&e.vars, &log(e.dir.path())).await;
    let duplicates = wait_all_arrived(&e.receiver, &ids, Duration::from_secs(60)).await;
    eprintln!("SIGTERM: all 300 events arrived after restart, {duplicates} duplicates");
    second.sigterm(Duration::from_secs(15)).await;
}
