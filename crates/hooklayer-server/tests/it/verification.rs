//! The verification handshake through the whole server: the SSRF guard at connect time for a
//! hostname, and verification that survives a crash.

use crate::support::app::{registration, webhook_uuid, TestAppBuilder, ADMIN_TOKEN};
use crate::support::db::TestDb;
use crate::support::process::{ProcessClient, ServerProcess};
use crate::support::receiver::{TestCa, TestReceiver};
use std::time::Duration;

crate::both_backends!(
    a_hostname_resolving_to_loopback_is_refused_at_connect_time,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        // No allow-list: loopback is blocked. A hostname passes registration (it is judged after
        // DNS, at connect time) and then fails verification without a single connection.
        let app = TestAppBuilder::new()
            .trust(&ca)
            .set("allow_targets", "")
            .start(&db)
            .await;
        let (uuid, token) = app.create_app("ssrf").await;
        let url = format!("https://localhost:{}/hook", receiver.port());
        let hook = app
            .register(&uuid, &token, registration(&url, &["message.sent"]))
            .await;
        let hook = app
            .wait_for_status(&uuid, &token, &webhook_uuid(&hook), "inactive")
            .await;
        let reason = hook["status_reason"].as_str().unwrap();
        assert!(
            reason.starts_with("Verification failed: blocked address"),
            "{reason}"
        );
        assert!(reason.contains("HOOKLAYER_ALLOW_TARGETS"), "{reason}");
        assert_eq!(
            receiver.connections(),
            0,
            "the guard refused before connecting"
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_left_unverified_by_a_crash_is_verified_after_restart() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.ca_pem()).unwrap();
    let receiver = TestReceiver::start(&ca).await;
    let env = |role: &str| {
        vec![
            ("HOOKLAYER_DATABASE_URL", db.url.clone()),
            ("HOOKLAYER_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("HOOKLAYER_TRUSTED_CA", ca_path.display().to_string()),
            ("HOOKLAYER_ALLOW_TARGETS", "127.0.0.0/8".to_owned()),
            ("HOOKLAYER_LOG", "warn".to_owned()),
            ("HOOKLAYER_ROLE", role.to_owned()),
        ]
    };
    let log = dir.path().join("hooklayer.log");

    // An api-only process runs no verification worker, so the webhook is still unverified
    // (its handshake not yet run) when the process is killed.
    let first = ServerProcess::start(&env("api"), &log).await;
    let client = ProcessClient::new(&first.base);
    let (uuid, token) = client.create_app("crash").await;
    let hook = client.register(&uuid, &token, &receiver.url("/hook")).await;
    assert_eq!(hook["status"], "unverified");
    first.kill9().await;
    assert_eq!(
        receiver.requests().len(),
        0,
        "no handshake before the crash"
    );

    let second = ServerProcess::start(&env("all"), &log).await;
    ProcessClient::new(&second.base)
        .wait_for_status(&uuid, &token, &hook, "active")
        .await;
    let challenge = &receiver.requests()[0];
    assert_eq!(challenge.method, "GET");
    assert_eq!(
        challenge
            .query_param("verification_challenge")
            .map(|c| c.len()),
        Some(40)
    );
    second.sigterm(Duration::from_secs(15)).await;
}
