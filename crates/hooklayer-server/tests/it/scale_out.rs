//! Scale-out on PostgreSQL through the real binary: one `api` process and two `worker`
//! processes share one database. Every event arrives; with nothing killed, exactly once; with a
//! worker killed mid-run, the other takes over its leases after they expire.

use crate::support::app::{
    plain_http_client, registration, webhook_uuid, ADMIN_TOKEN, LAYER_ACCEPT,
};
use crate::support::db::{Backend, TestDb};
use crate::support::process::ServerProcess;
use crate::support::receiver::{Behavior, RecordedRequest, TestCa, TestReceiver};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

struct Cluster {
    api: ServerProcess,
    workers: Vec<ServerProcess>,
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
    let http = plain_http_client();
    let app: Value = http
        .post(format!("{}/admin/apps", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "scale"}))
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
        .post(format!("{}/apps/{uuid}/webhooks", api.base))
        .bearer_auth(&token)
        .header("accept", LAYER_ACCEPT)
        .json(&registration(&receiver.url("/hook"), &["message.sent"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("{}/apps/{uuid}/webhooks/{}", api.base, webhook_uuid(&hook));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
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
            "webhook not verified by a worker process: {w}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(Cluster {
        api,
        workers,
        receiver,
        uuid,
        token,
        _db: db,
        _ca: ca,
        _dir: dir,
    })
}

async fn publish(c: &Cluster, n: usize) -> Vec<String> {
    let http = plain_http_client();
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for chunk in ids.chunks(500) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"type": "message.sent", "message": {"id": "m"}, "id": id}))
            .collect();
        let resp = http
            .post(format!("{}/apps/{}/events", c.api.base, c.uuid))
            .bearer_auth(&c.token)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
    }
    ids
}

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

async fn wait_all(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_and_one_api_deliver_every_event_exactly_once() {
    let Some(c) = cluster().await else { return };
    let ids = publish(&c, 5000).await;
    let seen = wait_all(&c.receiver, &ids, Duration::from_secs(120)).await;
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert_eq!(
        duplicates, 0,
        "nothing was killed, so no lease expired and nothing was sent twice"
    );
    assert_eq!(seen.len(), 5000);
    for w in c.workers {
        w.sigterm(Duration::from_secs(15)).await;
    }
    c.api.sigterm(Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_worker_mid_run_loses_nothing() {
    let Some(mut c) = cluster().await else { return };
    c.receiver
        .set_default(Behavior::Sleep(Duration::from_millis(10)));
    let ids = publish(&c, 2000).await;
    c.receiver
        .wait_for_requests(200, Duration::from_secs(60))
        .await;
    let victim = c.workers.remove(0);
    victim.kill9().await;
    let seen = wait_all(&c.receiver, &ids, Duration::from_secs(120)).await;
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!("scale-out kill -9: all 2000 events arrived; {duplicates} duplicates (attempts in flight in the killed worker)");
    for w in c.workers {
        w.sigterm(Duration::from_secs(15)).await;
    }
    c.api.sigterm(Duration::from_secs(15)).await;
}
