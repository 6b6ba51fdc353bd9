//! Secrets and tokens never show again after creation (SPEC §8): the real binary runs at debug
//! level, in text and in JSON, through a webhook's whole life, and neither its responses nor
//! its log lines (nor the CLI's) contain a webhook secret or a token.

use crate::support::app::{registration, Reply, ADMIN_TOKEN, LAYER_ACCEPT};
use crate::support::binary::{finish, hooklayer_command, ServeProcess};
use crate::support::db::TestDb;
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "s3cr3t-d0-n0t-l0g-7f2a9c41e8";
/// A secret ending in NUL: refused, and not echoed either (its text before the NUL is what
/// must never show, however a log would escape the NUL).
const REFUSED_SECRET: &str = "r3fus3d-s3cr3t-x9\u{0}";
const WAIT: Duration = Duration::from_secs(10);

/// Calls the server and keeps every response (status, headers, body) for the final check.
struct Client<'a> {
    server: &'a ServeProcess,
    http: reqwest::Client,
    seen: Vec<String>,
}

impl Client<'_> {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, self.server.url(path))
            .bearer_auth(token)
            .header("accept", LAYER_ACCEPT);
        if let Some(body) = body {
            request = request.json(body);
        }
        let reply = crate::support::app::send(request).await;
        self.seen.push(format!(
            "{} {:?} {}",
            reply.status, reply.headers, reply.text
        ));
        reply
    }

    /// Polls a webhook (bounded) until it has `status`.
    async fn wait_for(&mut self, path: &str, token: &str, status: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.call(Method::GET, path, token, None).await.json["status"] != status {
            assert!(
                tokio::time::Instant::now() < deadline,
                "webhook never became {status}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Creates an app with the CLI, runs `serve` with `HOOKLAYER_LOG=debug` and the given log
/// format, walks a webhook through its life, and checks every output for the secrets.
async fn nothing_shows_a_secret_or_token(log_format: &str) {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let db = TestDb::sqlite();
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), ca.ca_pem()).unwrap();
    let cli = |args: &[&str]| {
        let mut cmd = hooklayer_command();
        cmd.args(args)
            .args(["--database-url", &db.url])
            .env("HOOKLAYER_LOG", "debug")
            .env("HOOKLAYER_LOG_FORMAT", log_format);
        finish(cmd)
    };
    let created = cli(&["apps", "create", "--name", "demo"]).await;
    assert_eq!(created.code, Some(0), "{}", created.stderr);
    let app: Value = serde_json::from_str(&created.stdout).expect("app JSON");
    let (uuid, token) = (
        app["uuid"].as_str().unwrap(),
        app["token"].as_str().unwrap(),
    );
    let mut serve = hooklayer_command();
    serve
        .env("HOOKLAYER_DATABASE_URL", &db.url)
        .env("HOOKLAYER_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("HOOKLAYER_TRUSTED_CA", ca_file.path())
        .env("HOOKLAYER_ALLOW_TARGETS", "127.0.0.0/8,::1/128")
        .env("HOOKLAYER_RETRY_SCHEDULE", "50ms")
        .env("HOOKLAYER_LOG", "debug")
        .env("HOOKLAYER_LOG_FORMAT", log_format);
    let server = ServeProcess::start(serve).await;
    let mut client = Client {
        server: &server,
        http: reqwest::Client::new(),
        seen: Vec::new(),
    };
    let hooks = format!("/apps/{uuid}/webhooks");
    let wrong_token = format!("{token}-wrong");

    // A webhook's life: register, read, deactivate, re-activate, deliver (one failure first).
    let mut body = registration(&receiver.url("/hook"), &["message.sent"]);
    body["secret"] = json!(SECRET);
    let hook = client.call(Method::POST, &hooks, token, Some(&body)).await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let one = format!(
        "{hooks}/{}",
        hook.json["id"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
    );
    client.wait_for(&one, token, "active").await;
    client.call(Method::GET, &hooks, token, None).await;
    client
        .call(Method::POST, &format!("{one}/deactivate"), token, None)
        .await;
    client
        .call(Method::POST, &format!("{one}/activate"), token, None)
        .await;
    client.wait_for(&one, token, "active").await;
    client
        .call(Method::POST, &format!("{one}/activate"), token, None)
        .await;
    receiver.push_once(Behavior::Status(500));
    let event = json!({"type": "message.sent", "message": {"id": "m1", "text": "hello"}});
    assert_eq!(
        client
            .call(
                Method::POST,
                &format!("/apps/{uuid}/events"),
                token,
                Some(&event)
            )
            .await
            .status,
        202
    );
    let requests = receiver.wait_for_requests(4, WAIT).await;
    assert_eq!(
        requests.iter().filter(|r| r.method == "POST").count(),
        2,
        "one failure, one retry"
    );

    // Refusals: a secret with a NUL, a wrong token, an app token on the admin API.
    body["secret"] = json!(REFUSED_SECRET);
    assert_eq!(
        client
            .call(Method::POST, &hooks, token, Some(&body))
            .await
            .status,
        422
    );
    assert_eq!(
        client
            .call(Method::GET, &hooks, &wrong_token, None)
            .await
            .status,
        401
    );
    assert_eq!(
        client
            .call(Method::GET, "/admin/apps", token, None)
            .await
            .status,
        401
    );
    assert_eq!(
        client
            .call(Method::GET, "/admin/apps", ADMIN_TOKEN, None)
            .await
            .status,
        200
    );
    // A second token: shown by its creation response (set aside), then used.
    let issued = client
        .call(
            Method::POST,
            &format!("/admin/apps/{uuid}/tokens"),
            ADMIN_TOKEN,
            None,
        )
        .await;
    client.seen.pop();
    let second = issued.json["token"]
        .as_str()
        .expect("second token")
        .to_owned();
    assert_eq!(
        client.call(Method::GET, &one, &second, None).await.status,
        200
    );
    let responses = client.seen.join("\n");
    let stopped = server.stop().await;
    let listed = cli(&["apps", "list"]).await;

    assert_eq!(stopped.code, Some(0), "{}", stopped.stderr);
    assert!(
        stopped.stderr.lines().count() > 10,
        "debug logs were written: {}",
        stopped.stderr
    );
    let outputs = [
        ("responses", responses.as_str()),
        ("serve stderr", &stopped.stderr),
        ("serve stdout", &stopped.stdout),
        ("apps create stderr", &created.stderr),
        ("apps list stdout", &listed.stdout),
        ("apps list stderr", &listed.stderr),
    ];
    for needle in [
        SECRET,
        REFUSED_SECRET.trim_end_matches('\0'),
        token,
        &second,
        &wrong_token,
        ADMIN_TOKEN,
    ] {
        for (what, text) in outputs {
            assert!(!text.contains(needle), "{what} shows {needle}:\n{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_response_or_text_log_line_shows_a_secret_or_token() {
    nothing_shows_a_secret_or_token("text").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_response_or_json_log_line_shows_a_secret_or_token() {
    nothing_shows_a_secret_or_token("json").await;
}
