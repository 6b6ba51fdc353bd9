//! Scale-out on PostgreSQL through the real binary: one `api` process and two `worker`
//! processes share one database. Every event arrives; with nothing killed, exactly once; with a
//! worker killed mid-run, the other takes over its leases after they expire.

use crate::support::app::ADMIN_TOKEN;
use crate::support::db::{Backend, TestDb};
use crate::support::process::{duplicates, wait_all_arrived, ProcessClient, ServerProcess};
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use std::time::Duration;

struct Cluster {
    api: ServerProcess,
    workers: Vec<ServerProcess>,
    client: ProcessClient,
    receiver: TestReceiver,
    uuid: String,
    token: String,
    _db: TestDb,
    _ca: TestCa,
    _dir: tempfile::TempDir,
}

async fn cluster() -> Option<Cluster> {
    let db = TestDb::new(Backend::Postgres).await?;
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.ca_pem()).unwrap();
    let receiver = TestReceiver::start(&ca).await;
    let vars = |role: &str| {
        vec![
            ("HOOKLAYER_DATABASE_URL", db.url.clone()),
            ("HOOKLAYER_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("HOOKLAYER_TRUSTED_CA", ca_path.display().to_string()),
            ("HOOKLAYER_ALLOW_TARGETS", "127.0.0.0/8".to_owned()),
            // Generous timeout and retries: a loaded CI machine must not exhaust the webhook.
            ("HOOKLAYER_DELIVERY_TIMEOUT", "2s".to_owned()),
            (
                "HOOKLAYER_RETRY_SCHEDULE",
                "100ms,200ms,400ms,800ms,1s,1s,1s,1s".to_owned(),
            ),
            ("HOOKLAYER_LEASE", "4s".to_owned()),
            ("HOOKLAYER_RATE_LIMIT", "0".to_owned()),
            ("HOOKLAYER_LOG", "warn".to_owned()),
            ("HOOKLAYER_ROLE", role.to_owned()),
        ]
    };
    let log = dir.path().join("cluster.log");
    let api = ServerProcess::start(&vars("api"), &log).await;
    let mut workers = Vec::new();
    for _ in 0..2 {
        workers.push(ServerProcess::start(&vars("worker"), &log).await);
    }
    let client = ProcessClient::new(&api.base);
    let (uuid, token) = client.create_app("scale").await;
    let hook = client.register(&uuid, &token, &receiver.url("/hook")).await;
    // Verified by one of the worker processes: the api process runs no worker.
    client.wait_for_status(&uuid, &token, &hook, "active").await;
    Some(Cluster {
        api,
        workers,
        client,
        receiver,
        uuid,
        token,
        _db: db,
        _ca: ca,
        _dir: dir,
    })
}

impl Cluster {
    async fn stop(self) {
        for w in self.workers {
            w.sigterm(Duration::from_secs(15)).await;
        }
        self.api.sigterm(Duration::from_secs(15)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_and_one_api_deliver_every_event_exactly_once() {
    let Some(c) = cluster().await else { return };
    let ids = c.client.publish(&c.uuid, &c.token, 5000, 500).await;
    let seen = wait_all_arrived(&c.receiver, &ids, Duration::from_secs(120)).await;
    assert_eq!(
        duplicates(&seen),
        0,
        "nothing was killed, so no lease expired and nothing was sent twice"
    );
    assert_eq!(seen.len(), 5000);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_worker_mid_run_loses_nothing() {
    let Some(mut c) = cluster().await else { return };
    c.receiver
        .set_default(Behavior::Sleep(Duration::from_millis(10)));
    let ids = c.client.publish(&c.uuid, &c.token, 2000, 500).await;
    c.receiver
        .wait_for_requests(200, Duration::from_secs(60))
        .await;
    let victim = c.workers.remove(0);
    victim.kill9().await;
    let seen = wait_all_arrived(&c.receiver, &ids, Duration::from_secs(120)).await;
    eprintln!(
        "scale-out kill -9: all 2000 events arrived; {} duplicates (attempts in flight in the killed worker)",
        duplicates(&seen)
    );
    c.stop().await;
}
