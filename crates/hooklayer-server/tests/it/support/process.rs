//! The real `hooklayer` binary as a child process, for tests that crash or signal it
//! (`kill -9`, SIGTERM) and for tests of its command line and logs.

use super::app::ADMIN_TOKEN;
use super::receiver::{RecordedRequest, TestCa, TestReceiver};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
        Self::start_wrapped(&[binary(), "serve"], env, log_file)
            .await
            .expect("hooklayer did not become healthy")
    }

    /// Like [`ServerProcess::start`] with the command line `argv` (a wrapper that execs the
    /// binary); `None` when it never becomes healthy.
    pub async fn start_wrapped(
        argv: &[&str],
        env: &[(&str, String)],
        log_file: &Path,
    ) -> Option<Self> {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_file)
            .expect("log file");
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .env("HOOKLAYER_LISTEN", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log clone")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn hooklayer");
        let base = format!("http://127.0.0.1:{port}");
        let http = super::app::plain_http_client();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
                if r.status() == 200 {
                    return Some(Self { child, base });
                }
            }
            let exited = matches!(child.try_wait(), Ok(Some(_)));
            if exited || tokio::time::Instant::now() >= deadline {
                let _ = child.start_kill();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }

    /// Sends SIGTERM and waits for the exit status (panics after `within`).
    pub async fn sigterm(self, within: Duration) -> std::process::ExitStatus {
        self.try_sigterm(within)
            .await
            .expect("hooklayer did not exit in time after SIGTERM")
    }

    /// Sends SIGTERM and waits for the exit status; `None` when the process is still running
    /// after `within` (it is then killed).
    pub async fn try_sigterm(mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().expect("child pid");
        let sent = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => Some(status.expect("wait")),
            Err(_) => {
                self.kill9().await;
                None
            }
        }
    }
}

/// A receiver trusted through a generated CA and the settings of a `hooklayer serve` that
/// delivers to it on `database_url`; the log goes to a file in a temporary folder.
pub struct ProcessEnv {
    dir: tempfile::TempDir,
    _ca: TestCa,
    pub receiver: TestReceiver,
    pub vars: Vec<(&'static str, String)>,
}

impl ProcessEnv {
    pub async fn new(database_url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.ca_pem()).unwrap();
        let receiver = TestReceiver::start(&ca).await;
        let vars = vec![
            ("HOOKLAYER_DATABASE_URL", database_url.to_owned()),
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
        Self {
            dir,
            _ca: ca,
            receiver,
            vars,
        }
    }

    /// The CA the server trusts (for more receivers).
    pub fn ca(&self) -> &TestCa {
        &self._ca
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("hooklayer.log")
    }

    pub async fn start(&self) -> ServerProcess {
        ServerProcess::start(&self.vars, &self.log()).await
    }

    /// An app with an active webhook on the receiver; returns (client, app uuid, token).
    pub async fn prepare(&self, server: &ServerProcess) -> (ProcessClient, String, String) {
        let client = ProcessClient::new(&server.base);
        let (uuid, token) = client.create_app("crash").await;
        let hook = client
            .register(&uuid, &token, &self.receiver.url("/hook"))
            .await;
        client.wait_for_status(&uuid, &token, &hook, "active").await;
        (client, uuid, token)
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
        self.register_body(
            app,
            token,
            &super::app::registration(target, &["message.sent"]),
        )
        .await
    }

    /// Registers a webhook with this registration body; returns the webhook object.
    pub async fn register_body(&self, app: &str, token: &str, body: &Value) -> Value {
        self.http
            .post(format!("{}/apps/{app}/webhooks", self.base))
            .bearer_auth(token)
            .header("accept", super::app::LAYER_ACCEPT)
            .json(body)
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

    /// Publishes one event or a batch; asserts the `202`.
    pub async fn publish_body(&self, app: &str, token: &str, body: &Value) {
        let resp = self
            .http
            .post(format!("{}/apps/{app}/events", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("publish");
        assert_eq!(resp.status(), 202);
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
