//! Crash safety through the real binary: `kill -9` mid-delivery and SIGTERM during delivery.
//! Every published event must arrive at least once after a restart on the same database.

use crate::support::app::ADMIN_TOKEN;
use crate::support::process::{duplicates, wait_all_arrived, ProcessClient, ServerProcess};
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use std::path::PathBuf;
use std::time::Duration;

struct Env {
    dir: tempfile::TempDir,
    _ca: TestCa,
    receiver: TestReceiver,
    vars: Vec<(&'static str, String)>,
}

impl Env {
    async fn new() -> Self {
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
        Self {
            dir,
            _ca: ca,
            receiver,
            vars,
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("hooklayer.log")
    }

    async fn start(&self) -> ServerProcess {
        ServerProcess::start(&self.vars, &self.log()).await
    }

    /// An app with an active webhook on the receiver; returns (client, app uuid, token).
    async fn prepare(&self, server: &ServerProcess) -> (ProcessClient, String, String) {
        let client = ProcessClient::new(&server.base);
        let (uuid, token) = client.create_app("crash").await;
        let hook = client
            .register(&uuid, &token, &self.receiver.url("/hook"))
            .await;
        client.wait_for_status(&uuid, &token, &hook, "active").await;
        (client, uuid, token)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_after_kill_9_mid_delivery() {
    let e = Env::new().await;
    let first = e.start().await;
    let (client, uuid, token) = e.prepare(&first).await;
    // A slow receiver keeps many attempts in flight when the process dies.
    e.receiver
        .set_default(Behavior::Sleep(Duration::from_millis(20)));
    let ids = client.publish(&uuid, &token, 2000, 100).await;
    e.receiver
        .wait_for_requests(300, Duration::from_secs(30))
        .await;
    first.kill9().await;
    let before_restart = crate::support::process::arrivals(&e.receiver.requests()).len();

    e.receiver.set_default(Behavior::EchoChallenge);
    let second = e.start().await;
    let seen = wait_all_arrived(&e.receiver, &ids, Duration::from_secs(90)).await;
    eprintln!(
        "kill -9: {before_restart} of 2000 events had arrived before the kill; after restart all arrived, {} duplicate deliveries",
        duplicates(&seen)
    );
    second.sigterm(Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_delivery_exits_zero_and_loses_nothing() {
    let e = Env::new().await;
    let first = e.start().await;
    let (client, uuid, token) = e.prepare(&first).await;
    e.receiver
        .set_default(Behavior::Sleep(Duration::from_millis(300)));
    let ids = client.publish(&uuid, &token, 300, 100).await;
    e.receiver
        .wait_for_requests(20, Duration::from_secs(30))
        .await;
    let status = first.sigterm(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");

    e.receiver.set_default(Behavior::EchoChallenge);
    let second = e.start().await;
    let seen = wait_all_arrived(&e.receiver, &ids, Duration::from_secs(60)).await;
    eprintln!(
        "SIGTERM: all 300 events arrived after restart, {} duplicates",
        duplicates(&seen)
    );
    second.sigterm(Duration::from_secs(15)).await;
}
