//! The real `hooklayer` binary as a child process, for tests that crash or signal it
//! (`kill -9`, SIGTERM) and for tests of its command line and logs.

use super::receiver::{RecordedRequest, TestReceiver};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_hooklayer")
}

/// A free port on 127.0.0.1 (bound and released; the child binds it right after).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind probe");
    l.local_addr().expect("probe addr").port()
}

/// A running `hooklayer serve`.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

impl ServerProcess {
    /// Starts `hooklayer serve` with `env` (plus a free `HOOKLAYER_LISTEN`) and waits until
    /// `/healthz` answers. Output goes to `log_file`.
    pub async fn start(env: &[(&str, String)], log_file: &Path) -> Self {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_file)
            .expect("log file");
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .env("HOOKLAYER_LISTEN", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log clone")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn hooklayer");
        let base = format!("http://127.0.0.1:{port}");
        let http = super::app::plain_http_client();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "hooklayer did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, base }
    }

    /// `kill -9`.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }

    /// Sends SIGTERM and waits for the exit status (panics after `within`).
    pub async fn sigterm(mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().expect("child pid");
        let sent = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        tokio::time::timeout(within, self.child.wait())
            .await
            .expect("hooklayer did not exit in time after SIGTERM")
            .expect("wait")
    }
}

/// A tenant's and an admin's client of a running process (`ServerProcess::base`).
pub struct ProcessClient {
    base: String,
    http: reqwest::Client,
}

impl ProcessClient {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: super::app::plain_http_client(),
        }
    }

    /// Creates an app through the admin API; returns (uuid, token).
    pub async fn create_app(&self, name: &str) -> (String, String) {
        let app: Value = self
            .http
            .post(format!("{}/admin/apps", self.base))
            .bearer_auth(super::app::ADMIN_TOKEN)
            .json(&json!({ "name": name }))
            .send()
            .await
            .expect("create app")
            .json()
            .await
            .expect("app json");
        (
            app["uuid"].as_str().expect("uuid").to_owned(),
            app["token"].as_str().expect("token").to_owned(),
        )
    }

    /// Registers a webhook for `message.sent` on `target`; returns the webhook object.
    pub async fn register(&self, app: &str, token: &str, target: &str) -> Value {
        self.http
            .post(format!("{}/apps/{app}/webhooks", self.base))
            .bearer_auth(token)
            .header("accept", super::app::LAYER_ACCEPT)
            .json(&super::app::registration(target, &["message.sent"]))
            .send()
            .await
            .expect("register")
            .json()
            .await
            .expect("webhook json")
    }

    /// Polls the webhook until it has `status` (bounded).
    pub async fn wait_for_status(&self, app: &str, token: &str, webhook: &Value, status: &str) {
        let path = format!(
            "{}/apps/{app}/webhooks/{}",
            self.base,
            super::app::webhook_uuid(webhook)
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let w: Value = self
                .http
                .get(&path)
                .bearer_auth(token)
                .header("accept", super::app::LAYER_ACCEPT)
                .send()
                .await
                .expect("get webhook")
                .json()
                .await
                .expect("webhook json");
            if w["status"] == status {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "webhook never became {status}: {w}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Publishes `n` `message.sent` events in batches of `batch`; returns their ids.
    pub async fn publish(&self, app: &str, token: &str, n: usize, batch: usize) -> Vec<String> {
        let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        for chunk in ids.chunks(batch) {
            let events: Vec<Value> = chunk
                .iter()
                .map(|id| json!({"type": "message.sent", "message": {"id": "m"}, "id": id}))
                .collect();
            let resp = self
                .http
                .post(format!("{}/apps/{app}/events", self.base))
                .bearer_auth(token)
                .json(&events)
                .send()
                .await
                .expect("publish");
            assert_eq!(resp.status(), 202);
        }
        ids
    }
}

/// Event id → number of arrivals at the receiver.
pub fn arrivals(requests: &[RecordedRequest]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for r in requests.iter().filter(|r| r.method == "POST") {
        let body: Value = serde_json::from_slice(&r.body).expect("delivery body");
        *seen
            .entry(body["event"]["id"].as_str().expect("event id").to_owned())
            .or_insert(0) += 1;
    }
    seen
}

/// Waits (bounded) until every id has arrived; returns the arrivals.
pub async fn wait_all_arrived(
    receiver: &TestReceiver,
    ids: &[String],
    within: Duration,
) -> HashMap<String, usize> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let seen = arrivals(&receiver.requests());
        let missing = ids.iter().filter(|id| !seen.contains_key(*id)).count();
        if missing == 0 {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} of {} events never arrived",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Duplicate arrivals in an arrivals map.
pub fn duplicates(seen: &HashMap<String, usize>) -> usize {
    seen.values().map(|n| n - 1).sum()
}
