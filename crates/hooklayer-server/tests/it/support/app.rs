//! The app harness: a real hooklayer server on 127.0.0.1:0 with a real database, its own
//! shutdown signal, and small helpers to call its API as a Layer client would.

use super::db::TestDb;
use super::receiver::TestCa;
use hooklayer_server::app::App;
use hooklayer_server::config::Config;
use hooklayer_server::settings::RawSettings;
use hooklayer_server::state::AppState;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The Accept header of the Layer webhooks API.
pub const LAYER_ACCEPT: &str = "application/vnd.layer.webhooks+json; version=2.0";
/// The admin token every test server gets.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Settings for a test server; defaults suit most tests (millisecond retries, loopback
/// allowed, the test CA trusted).
pub struct TestAppBuilder {
    pub settings: RawSettings,
    ca_file: Option<tempfile::NamedTempFile>,
}

impl TestAppBuilder {
    pub fn new() -> Self {
        let mut settings = RawSettings::default();
        settings.set("admin_token", ADMIN_TOKEN);
        settings.set("allow_targets", "127.0.0.0/8,::1/128");
        settings.set("retry_schedule", "50ms,100ms");
        // Generous, so a loaded CI machine never times out a healthy receiver; tests of
        // timeouts set their own.
        settings.set("delivery_timeout", "5s");
        settings.set("rate_limit", "0");
        settings.set("log", "warn");
        Self {
            settings,
            ca_file: None,
        }
    }

    /// Trusts `ca` for target TLS.
    pub fn trust(mut self, ca: &TestCa) -> Self {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), ca.ca_pem()).expect("write CA");
        self.settings
            .set("trusted_ca", file.path().display().to_string());
        self.ca_file = Some(file);
        self
    }

    /// Sets any setting by its key (the env var without `HOOKLAYER_`, lowercased).
    pub fn set(mut self, key: &'static str, value: &str) -> Self {
        self.settings.set(key, value);
        self
    }

    /// Starts a server on `db`.
    pub async fn start(self, db: &TestDb) -> TestApp {
        let mut settings = self.settings.clone();
        settings.set("database_url", db.url.clone());
        TestApp::start(settings, self.ca_file).await
    }
}

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: Arc<AppState>,
    pub http: reqwest::Client,
    settings: RawSettings,
    ca_file: Option<tempfile::NamedTempFile>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    async fn start(mut settings: RawSettings, ca_file: Option<tempfile::NamedTempFile>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        settings.set("listen", addr.to_string());
        let mut config = Config::from_raw(&settings).expect("test config");
        config.poll_interval = Duration::from_millis(50);
        let app = App::build(config).await.expect("build app");
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            base: format!("http://{addr}"),
            state,
            http: plain_http_client(),
            settings,
            ca_file,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task").expect("server run");
        }
    }

    /// Stops the server and starts a new one on the same database and settings.
    pub async fn restart(mut self) -> TestApp {
        self.shutdown().await;
        let mut settings = self.settings.clone();
        settings.set("listen", "127.0.0.1:0");
        TestApp::start(settings, self.ca_file.take()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates an app through the admin API; returns (uuid, token).
    pub async fn create_app(&self, name: &str) -> (String, String) {
        let resp = self
            .http
            .post(self.url("/admin/apps"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .expect("create app");
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.expect("app json");
        (
            body["uuid"].as_str().expect("uuid").to_owned(),
            body["token"].as_str().expect("token").to_owned(),
        )
    }

    /// A request to the app API with the Layer Accept header and `token`.
    pub fn layer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("accept", LAYER_ACCEPT)
    }

    /// Registers a webhook; returns the response body.
    pub async fn register(&self, app: &str, token: &str, body: Value) -> Value {
        let resp = self
            .layer(
                reqwest::Method::POST,
                &format!("/apps/{app}/webhooks"),
                token,
            )
            .json(&body)
            .send()
            .await
            .expect("register");
        assert_eq!(resp.status(), 201, "register failed");
        resp.json().await.expect("webhook json")
    }

    /// Polls a webhook until its status is `status` (bounded); returns the webhook.
    pub async fn wait_for_status(
        &self,
        app: &str,
        token: &str,
        webhook_uuid: &str,
        status: &str,
    ) -> Value {
        let path = format!("/apps/{app}/webhooks/{webhook_uuid}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let body: Value = self
                .layer(reqwest::Method::GET, &path, token)
                .send()
                .await
                .expect("get webhook")
                .json()
                .await
                .expect("webhook json");
            if body["status"] == status {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "webhook never became {status}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Publishes one event or a batch; returns (status, body).
    pub async fn publish(&self, app: &str, token: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url(&format!("/apps/{app}/events")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("publish");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A client for the server's plain-HTTP API. reqwest insists on a process-wide rustls provider
/// even for plain HTTP, so the test process installs ring's once.
pub fn plain_http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The uuid part of a `layer:///apps/<app>/webhooks/<uuid>` id.
pub fn webhook_uuid(webhook: &Value) -> String {
    webhook["id"]
        .as_str()
        .and_then(|id| id.rsplit('/').next())
        .expect("webhook id")
        .to_owned()
}

/// A valid registration body for `target_url`.
pub fn registration(target_url: &str, events: &[&str]) -> Value {
    serde_json::json!({
        "version": "2.0",
        "target_url": target_url,
        "events": events,
        "secret": "1697f925ec7b1697f925ec7b",
    })
}

/// Runs `body` on a fresh database of each backend (PostgreSQL skipped, visibly, when
/// unreachable outside CI).
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($db: $crate::support::db::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::db::TestDb::sqlite()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::support::db::TestDb::new($crate::support::db::Backend::Postgres).await {
                    run(db).await
                }
            }
        }
    };
}

// ---- whole responses and Layer error bodies ------------------------------------------------

/// A response read whole: status, headers, the raw text, and the JSON it holds (`Null` when
/// the body is empty or not JSON).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// A header as text (empty when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a Layer error body (`{"id","code","message","url","data"?}`, keys in that
    /// order) with this status, id and code; returns its `data` (`Null` when absent).
    pub fn assert_error(&self, status: u16, id: &str, code: u64) -> &Value {
        assert_eq!(
            (
                self.status,
                self.json["id"].as_str(),
                self.json["code"].as_u64()
            ),
            (status, Some(id), Some(code)),
            "{}",
            self.text
        );
        let keys = object_keys(&self.json);
        assert!(
            keys == ["id", "code", "message", "url"]
                || keys == ["id", "code", "message", "url", "data"],
            "error keys {keys:?}"
        );
        assert!(
            self.header("content-type").starts_with("application/json"),
            "{:?}",
            self.headers
        );
        &self.json["data"]
    }

    /// Asserts a `missing_property` (104) or `invalid_property` (105) error naming `property`.
    pub fn assert_property(&self, id: &str, property: &str) {
        let code = if id == "missing_property" { 104 } else { 105 };
        let data = self.assert_error(422, id, code);
        assert_eq!(data["property"], property, "{}", self.text);
    }
}

/// Sends a request and reads the whole response.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let resp = request.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("response body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// The keys of a JSON object in the order they appear in the raw text (serde_json keeps it).
pub fn object_keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

impl TestApp {
    /// A request to the admin API with the test admin token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN)
    }
}

// ---- the real binary (in `binary`; re-exported for the tests that import it from here) ----

pub use super::binary::{hooklayer_command, ServeProcess};

/// A server trusting `ca`, with one app; returns (server, app uuid, token).
pub async fn started(ca: &TestCa, db: &TestDb) -> (TestApp, String, String) {
    let app = TestAppBuilder::new().trust(ca).start(db).await;
    let (uuid, token) = app.create_app("demo").await;
    (app, uuid, token)
}

/// `/apps/<app>/webhooks/<webhook><action>`, `action` being empty or e.g. `/activate`.
pub fn webhook_path(app: &str, webhook: &str, action: &str) -> String {
    format!("/apps/{app}/webhooks/{webhook}{action}")
}
